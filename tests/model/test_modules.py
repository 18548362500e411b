"""The four modules one by one: shapes, refusals, float64 gradcheck, the SpatialUp inverse, SRF support."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pfs2c2.model.modules import (
    MODULE_NAMES,
    Modules,
    SpatialDown,
    SpatialUp,
    SpectralDown,
    SpectralUp,
    spectral_widths,
)
from pfs2c2.physics import gaussian_psf


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_spectral_up_maps_msi_bands_to_hsi_bands():
    module = SpectralUp(3, 20, attention=True, linear_skip=True)
    assert module(torch.rand(2, 3, 5, 7)).shape == (2, 20, 5, 7)
    assert spectral_widths(3, 20) == [3, 6, 12]
    assert spectral_widths(8, 12) == [8, 16]  # fewer than twice the bands: still one hidden layer


def test_spatial_modules_change_the_size_by_the_ratio():
    assert SpatialUp.inverse_of(4)(torch.rand(2, 5, 3, 6)).shape == (2, 5, 12, 24)
    assert SpatialDown.blind(4)(torch.rand(2, 5, 12, 24)).shape == (2, 5, 3, 6)
    assert SpatialDown.blind(4, size=8, init="gaussian")(torch.rand(1, 2, 16, 16)).shape == (1, 2, 4, 4)


def test_spectral_down_maps_hsi_bands_to_msi_bands():
    srf = np.random.default_rng(0).random((10, 3))
    assert SpectralDown(srf)(torch.rand(2, 10, 4, 5)).shape == (2, 3, 4, 5)
    assert SpectralDown.known(srf)(torch.rand(1, 10, 4, 5)).shape == (1, 3, 4, 5)


def test_blind_and_known_constructors():
    psf = gaussian_psf(4)
    known = SpatialDown.known(4, psf)
    assert not known.learnable and not list(known.parameters())
    torch.testing.assert_close(known.psf, torch.as_tensor(psf / psf.sum(), dtype=torch.float32))
    blind = SpatialDown.blind(4)
    assert blind.learnable
    torch.testing.assert_close(blind.psf, torch.full((4, 4), 1 / 16))
    gaussian = SpatialDown.blind(4, size=6, init="gaussian")
    torch.testing.assert_close(gaussian.psf, torch.as_tensor(gaussian_psf(4, 6), dtype=torch.float32))
    srf = np.eye(4, 2) + 0.1
    assert not SpectralDown.known(srf).learnable and SpectralDown(srf).learnable
    assert not isinstance(SpectralDown(srf, learn_gain=False).log_gain, torch.nn.Parameter)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: SpectralUp(5, 5), "MSI bands < HSI bands"),
        (lambda: SpectralUp(6, 3), "MSI bands < HSI bands"),
        (lambda: SpectralUp(3, 10, output_activation="relu"), "output_activation"),
        (lambda: SpatialUp(4, np.ones((3, 3)) / 9), "at least 4x4"),
        (lambda: SpatialUp(2, np.ones(4) / 4), "square"),
        (lambda: SpatialDown(2, np.ones((2, 3)) / 6), "square"),
        (lambda: SpectralDown(np.ones(5)), r"\(C, c\)"),
        (lambda: SpectralDown.from_data(np.ones((2, 4)), np.ones((6, 4)), np.ones((5, 2))), "support"),
    ],
)
def test_bad_construction_is_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="divisible by the ratio"):
        SpatialDown.blind(4)(torch.rand(1, 2, 10, 12))
    with pytest.raises(ValueError, match="rows but the image has"):
        SpectralDown(np.ones((10, 3)))(torch.rand(1, 9, 4, 4))
    with pytest.raises(RuntimeError, match="linear_skip"):
        SpectralUp(3, 10).init_linear(torch.rand(1, 3, 2, 2), torch.rand(1, 10, 2, 2))


def _double_gradcheck(module: torch.nn.Module, x: torch.Tensor) -> None:
    module = module.double()
    x = x.double().requires_grad_()
    params = [p for p in module.parameters() if p.requires_grad]

    def f(x, *values):
        with torch.no_grad():
            for p, v in zip(params, values):
                p.copy_(v)
        return module(x)

    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-4)
    # and with respect to every parameter, through torch.func.functional_call
    names = [n for n, p in module.named_parameters() if p.requires_grad]
    values = tuple(p.detach().clone().requires_grad_() for p in params)

    def g(*values):
        return torch.func.functional_call(module, dict(zip(names, values)), (x.detach(),))

    assert torch.autograd.gradcheck(g, values, eps=1e-6, atol=1e-4)


@pytest.mark.parametrize(
    "module, shape",
    [
        (lambda: SpectralUp(2, 5, attention=True, linear_skip=True), (1, 2, 3, 3)),
        (lambda: SpectralUp(2, 5, attention=False, output_activation="none"), (2, 2, 2, 3)),
        (lambda: SpatialUp(2, gaussian_psf(2)), (1, 2, 2, 3)),
        (lambda: SpatialDown.blind(2), (1, 2, 4, 6)),
        (lambda: SpatialDown.blind(2, size=4, init="gaussian"), (1, 2, 6, 6)),
        (lambda: SpectralDown(np.random.default_rng(1).random((5, 2))), (1, 5, 2, 3)),
    ],
)
def test_float64_gradcheck(module, shape):
    _double_gradcheck(module(), torch.rand(shape))


def test_spatial_down_of_spatial_up_is_the_identity_at_init():
    """The docstring's promise for a ratio x ratio PSF: SpaUp starts as the pseudo-inverse of SpaDown."""
    y = torch.rand(1, 4, 5, 6, dtype=torch.float64)
    for ratio, psf in [(4, gaussian_psf(4)), (3, np.full((3, 3), 1 / 9)), (2, np.array([[0.1, 0.2], [0.3, 0.4]]))]:
        down, up = SpatialDown.known(ratio, psf).double(), SpatialUp.inverse_of(ratio, psf).double()
        torch.testing.assert_close(down(up(y)), y, rtol=1e-6, atol=1e-6)
        blind = SpatialDown(ratio, psf, learn=True).double()
        torch.testing.assert_close(blind(up(y)), y, rtol=1e-5, atol=1e-5)  # through softmax(log psf)


def test_spatial_up_of_a_wider_psf_uses_its_central_block():
    """With a k > ratio PSF SpaUp inverts only the central ratio x ratio block, so SpaDown(SpaUp(y)) == y
    does NOT hold: a constant image comes back scaled by sum(psf * tiled block) / sum(block**2) (what the
    code does; stage 1 and 3 train SpaUp from there)."""
    psf = gaussian_psf(2, 4)
    up = SpatialUp.inverse_of(2, psf)
    centre = psf[1:3, 1:3]
    torch.testing.assert_close(up.kernel, torch.as_tensor(centre / np.sum(centre**2), dtype=torch.float32))
    down = SpatialDown.known(2, psf).double()
    up = up.double()
    flat = torch.full((1, 1, 4, 4), 0.7, dtype=torch.float64)
    # a constant LR image gives a block-periodic HR image; its blur mixes neighbouring blocks equally
    expected = 0.7 * float(np.sum(psf * np.tile(centre, (2, 2))) / np.sum(centre**2))
    torch.testing.assert_close(down(up(flat)), torch.full_like(flat, expected))
    assert expected / 0.7 > 1.2  # far from the identity for this PSF


def test_spectral_down_keeps_the_support():
    """A learned SRF is zero outside each MSI band's support, at the start and after training steps."""
    rng = np.random.default_rng(2)
    support = np.zeros((8, 2), bool)
    support[:5, 0], support[3:, 1] = True, True
    lr_hsi = rng.random((8, 50)) * 3.0
    lr_msi = rng.random((2, 50))
    module = SpectralDown.from_data(lr_msi, lr_hsi, support, hsi_scale=3.0)
    srf = module.srf.detach().numpy()
    assert np.all(srf[~support] == 0) and np.all(srf[support] > 0)
    shape = support / support.sum(0)
    np.testing.assert_allclose(srf / srf.sum(0), shape, rtol=1e-6)  # starts flat over the support
    projected = shape.T @ lr_hsi.mean(axis=1) / 3.0
    np.testing.assert_allclose(srf.sum(0), lr_msi.mean(axis=1) / projected, rtol=1e-5)  # gain = ratio of means
    opt = torch.optim.Adam(module.parameters(), lr=0.1)
    x, target = torch.rand(1, 8, 4, 4), torch.rand(1, 2, 4, 4)
    for _ in range(20):
        opt.zero_grad()
        (module(x) - target).abs().mean().backward()
        opt.step()
    srf = module.srf.detach().numpy()
    assert np.all(srf[~support] == 0) and np.all(srf[support] > 0)
    assert module.logits.grad is not None and torch.all(module.logits.grad[torch.as_tensor(~support)] == 0)


def test_spectral_down_default_support_is_every_band():
    module = SpectralDown.from_data(np.ones((2, 3)), np.ones((6, 3)))
    np.testing.assert_allclose(module.srf.detach().numpy(), np.full((6, 2), 1 / 6), rtol=1e-6)
    assert torch.all(module.support)


def test_init_linear_fits_the_least_squares_map():
    torch.manual_seed(0)
    module = SpectralUp(3, 6, linear_skip=True, output_activation="none")
    msi = torch.rand(1, 3, 8, 8)
    w, b = torch.rand(6, 3), torch.rand(6)
    hsi = torch.einsum("kc,nchw->nkhw", w, msi) + b[None, :, None, None]
    module.init_linear(msi, hsi)
    torch.testing.assert_close(module(msi), hsi, rtol=1e-4, atol=1e-4)


def test_modules_are_named_once():
    psf = gaussian_psf(2)
    modules = Modules(
        spe_up=SpectralUp(2, 5),
        spa_up=SpatialUp.inverse_of(2),
        spe_down=SpectralDown(np.ones((5, 2))),
        spa_down=SpatialDown.known(2, psf),
    )
    assert tuple(modules.as_dict()) == MODULE_NAMES == ("spe_up", "spa_up", "spe_down", "spa_down")
    assert modules.as_dict()["spe_up"] is modules.spe_up
