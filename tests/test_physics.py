"""The forward model: PSF properties, simulation reproduces the inputs, float64 gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from pfs2c2 import InputError, simulate
from pfs2c2.physics import (
    blur_downsample,
    blur_downsample_tensor,
    combined_psf,
    gaussian_psf,
    srf_project,
    srf_project_tensor,
)


@pytest.mark.parametrize("ratio", [2, 3, 4, 5, 8])
def test_gaussian_psf_is_normalised_symmetric_and_has_fwhm_ratio(ratio):
    psf = gaussian_psf(ratio)
    assert psf.shape == (ratio, ratio)
    assert np.all(psf > 0) and psf.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(psf, psf.T)
    np.testing.assert_allclose(psf, psf[::-1, ::-1])
    # FWHM = ratio: a wide kernel's centre profile falls to half its peak at +-ratio/2
    wide = gaussian_psf(ratio, kernel_size=ratio + 40)
    centre = (wide.shape[0] - 1) / 2
    sigma = ratio / (2 * np.sqrt(2 * np.log(2)))
    x = np.arange(wide.shape[0]) - centre
    # the package's kernel itself: log(profile) is a parabola -x^2 / (2 sigma^2) whose width is FWHM = ratio
    profile = wide.sum(0)
    curvature = np.polyfit(x**2, np.log(profile), 1)[0]
    fwhm = 2 * np.sqrt(2 * np.log(2)) * np.sqrt(-1 / (2 * curvature))
    assert fwhm == pytest.approx(ratio, rel=1e-9)
    assert np.sum(profile * x**2) == pytest.approx(sigma**2, rel=1e-4)  # its variance
    expected = np.exp(-(x**2) / (2 * sigma**2))
    np.testing.assert_allclose(wide.sum(0), expected / expected.sum(), rtol=1e-9, atol=1e-300)


def test_blur_downsample_equals_blockwise_weighted_mean():
    rng = np.random.default_rng(0)
    x = rng.random((3, 12, 8))
    psf = gaussian_psf(4)
    out = blur_downsample(x, psf, 4)
    assert out.shape == (3, 3, 2)
    expected = np.einsum("cyaxb,ab->cyx", x.reshape(3, 3, 4, 2, 4), psf)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_constant_image_is_preserved_by_any_normalised_psf():
    x = np.full((2, 16, 16), 0.7)
    for psf in (gaussian_psf(4), gaussian_psf(4, kernel_size=8), np.full((4, 4), 1 / 16)):
        np.testing.assert_allclose(blur_downsample(x, psf, 4), 0.7, rtol=1e-12)


def test_srf_projection_is_matrix_product_per_pixel():
    rng = np.random.default_rng(1)
    x, srf = rng.random((10, 5, 6)), rng.random((10, 3))
    out = srf_project(x, srf)
    np.testing.assert_allclose(out[:, 2, 4], x[:, 2, 4] @ srf)


def test_operators_pass_float64_gradcheck():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    psf = torch.rand(4, 4, dtype=torch.float64, requires_grad=True)
    srf = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, k: blur_downsample_tensor(a, k, 4), (x, psf))
    wide = torch.rand(6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, k: blur_downsample_tensor(a, k, 2), (x, wide))
    assert torch.autograd.gradcheck(srf_project_tensor, (x, srf))


def test_size_not_divisible_by_ratio_is_rejected():
    with pytest.raises(ValueError, match="not divisible"):
        blur_downsample(np.zeros((1, 10, 8)), gaussian_psf(4), 4)


def _blur_then_decimate(x: np.ndarray, blur: np.ndarray, ratio: int, sampling: str) -> np.ndarray:
    """The other tools' convention, written out: convolve every band with ``blur``, then decimate."""
    blurred = np.stack([ndimage.convolve(band, blur, mode="reflect") for band in x])
    if sampling == "point":
        return blurred[:, ratio // 2 :: ratio, ratio // 2 :: ratio]
    c, h, w = blurred.shape
    return blurred.reshape(c, h // ratio, ratio, w // ratio, ratio).mean((2, 4))


def _interior(y: np.ndarray, blur_size: int, ratio: int) -> np.ndarray:
    """LR pixels whose footprint stays a whole blur away from the borders (where the two paddings differ)."""
    m = (blur_size + ratio) // ratio + 1
    return y[..., m:-m, m:-m]


@pytest.mark.parametrize("sampling", ["box", "point"])
@pytest.mark.parametrize("k, ratio", [(5, 4), (15, 4), (5, 8), (3, 8), (7, 3), (1, 4)])
def test_combined_psf_is_blur_then_decimation(k, ratio, sampling):
    rng = np.random.default_rng(k * 10 + ratio)
    blur = rng.random((k, k))  # asymmetric, so a flipped or shifted kernel would show
    blur /= blur.sum()
    kernel = combined_psf(blur, ratio, sampling=sampling)
    size = k + ratio - 1 if sampling == "box" else max(ratio, k + 1 - ratio % 2)
    assert kernel.shape == (size, size) and (size - ratio) % 2 == 0
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    x = rng.random((2, 24 * ratio, 24 * ratio))
    np.testing.assert_allclose(
        _interior(blur_downsample(x, kernel, ratio), k, ratio),
        _interior(_blur_then_decimate(x, blur, ratio, sampling), k, ratio),
        rtol=0,
        atol=1e-13,
    )


def test_combined_psf_states_the_sampling_point_and_refuses_what_is_no_blur():
    impulse = np.ones((1, 1))
    np.testing.assert_array_equal(combined_psf(impulse, 4), np.full((4, 4), 1 / 16))  # box: the block mean
    point = combined_psf(impulse, 4, sampling="point")
    assert point[2, 2] == 1.0 and point.sum() == 1.0  # even ratio: HR pixel r i + r // 2 of each block
    assert combined_psf(impulse, 3, sampling="point")[1, 1] == 1.0  # odd ratio: the block's centre pixel
    with pytest.raises(InputError, match="PSF size 4 is even"):
        combined_psf(np.full((4, 4), 1 / 16), 4)
    with pytest.raises(InputError, match="PSF sums to 2"):
        combined_psf(np.full((3, 3), 2 / 9), 4)
    with pytest.raises(InputError, match="sampling must be 'box' or 'point'"):
        combined_psf(impulse, 4, sampling="nearest")


@pytest.mark.parametrize("ratio", [4, 8])
def test_simulate_with_a_5x5_blur_is_convolve_then_block_mean(ratio):
    rng = np.random.default_rng(ratio)
    reference = rng.random((6, 16 * ratio, 16 * ratio))
    srf = rng.random((6, 2))
    blur = gaussian_psf(1, kernel_size=5, sigma=1.2)
    with pytest.warns(UserWarning, match="read as a blur applied before decimation"):
        sim = simulate(reference, ratio, srf, psf=blur)
    np.testing.assert_array_equal(sim.psf, combined_psf(blur, ratio))
    np.testing.assert_allclose(
        _interior(sim.lr_hsi, 5, ratio),
        _interior(_blur_then_decimate(reference, blur, ratio, "box"), 5, ratio),
        atol=1e-6,
    )
