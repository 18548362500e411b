"""The stage losses term by term: zero when the modules are the exact operators, named as in the history."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pfs2c2.model.losses import (
    HRBatch,
    holdout_mse,
    masked_l1,
    stage1_terms,
    stage2_terms,
    stage3_terms,
    total_loss,
)
from pfs2c2.model.modules import Modules, SpatialDown, SpatialUp, SpectralDown, SpectralUp

RATIO = 2


def test_masked_l1_is_the_mean_over_the_mask():
    a, b = torch.zeros(1, 2, 2, 2), torch.ones(1, 2, 2, 2)
    b[..., 0, 0] = 100.0
    m = torch.ones(1, 1, 2, 2)
    m[..., 0, 0] = 0
    assert masked_l1(a, b, m).item() == pytest.approx(1.0)
    assert masked_l1(a, b, None).item() == pytest.approx(torch.nn.functional.l1_loss(a, b).item())
    assert masked_l1(a, b, torch.zeros(1, 1, 2, 2)).item() == 0.0  # an empty mask gives 0, not NaN


def test_total_loss_sums_left_to_right_and_refuses_no_term():
    terms = {"a": torch.tensor(1.5), "b": torch.tensor(2.0)}
    assert total_loss(terms).item() == 3.5
    with pytest.raises(ValueError, match="no loss term"):
        total_loss({})


@pytest.fixture
def exact():
    """A scene whose modules are exact: HR-HSI X = W Z with Z block-constant, a box PSF, SRF with R^T W = I.

    The modules hold float32 parameters (as in a run), so "zero" means below 1e-6 here.
    """
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    w = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 2.0]])  # (C, c)
    srf = w / (w**2).sum(0)  # disjoint supports: srf.T @ w = I
    lr_msi = rng.random((2, 3, 4)) + 0.5
    z = np.kron(lr_msi, np.ones((RATIO, RATIO)))  # (c, H, W), constant on each ratio x ratio block
    x = np.einsum("Cc,chw->Chw", w, z)
    y = x.reshape(6, 3, RATIO, 4, RATIO).mean(axis=(2, 4))
    psf = np.full((RATIO, RATIO), 1 / RATIO**2)
    spe_up = SpectralUp(2, 6, attention=False, output_activation="none", linear_skip=True).double()
    Z, Y = torch.as_tensor(z)[None], torch.as_tensor(y)[None]
    spe_up.init_linear(Z, torch.as_tensor(x)[None])  # the least-squares map is W exactly (MLP silenced)
    modules = Modules(
        spe_up=spe_up,
        spa_up=SpatialUp.inverse_of(RATIO, psf).double(),
        spe_down=SpectralDown.known(srf).double(),
        spa_down=SpatialDown.known(RATIO, psf).double(),
    )
    return modules, Y, Z


def test_stage1_terms_are_zero_for_exact_modules(exact):
    modules, y, z = exact
    lr_msi0 = modules.spa_down(z)
    terms = stage1_terms(
        modules, y, lr_msi0, None, HRBatch(z, y, None, None), None, anchor_weight=1.0, agreement_weight=0.1
    )
    assert list(terms) == ["agreement", "anchor"]
    for name, value in terms.items():
        assert value.item() == pytest.approx(0.0, abs=1e-6), name


def test_stage1_leaves_out_a_zero_weight_and_needs_a_batch_for_agreement(exact):
    modules, y, z = exact
    lr_msi0 = modules.spa_down(z)
    assert list(stage1_terms(modules, y, lr_msi0, None, None, None, anchor_weight=1.0, agreement_weight=0.0)) == [
        "anchor"
    ]
    assert stage1_terms(modules, y, lr_msi0, None, None, None, anchor_weight=0.0, agreement_weight=0.0) == {}
    with pytest.raises(ValueError, match="HR batch"):
        stage1_terms(modules, y, lr_msi0, None, None, None, anchor_weight=0.0, agreement_weight=1.0)


def test_stage1_weights_scale_their_terms(exact):
    modules, y, z = exact
    z_off = z * 1.1
    one = stage1_terms(
        modules,
        y,
        modules.spa_down(z_off),
        None,
        HRBatch(z_off, y, None, None),
        None,
        anchor_weight=1.0,
        agreement_weight=1.0,
    )
    two = stage1_terms(
        modules,
        y,
        modules.spa_down(z_off),
        None,
        HRBatch(z_off, y, None, None),
        None,
        anchor_weight=2.0,
        agreement_weight=0.5,
    )
    assert one["anchor"].item() > 0 and one["agreement"].item() > 0
    assert two["anchor"].item() == pytest.approx(2 * one["anchor"].item())
    assert two["agreement"].item() == pytest.approx(0.5 * one["agreement"].item())


def test_stage2_term_is_zero_for_the_true_degradations_and_not_for_a_wrong_psf(exact):
    modules, y, z = exact
    terms = stage2_terms(modules, y, z, None)
    assert list(terms) == ["degradation"] and terms["degradation"].item() == pytest.approx(0.0, abs=1e-6)
    # on any scene R(B(X)) = B(R(X)): the term vanishes for the true PSF and SRF, not for another PSF
    x = torch.rand(1, 6, 6, 8, dtype=torch.float64)
    y_rough, z_rough = modules.spa_down(x), modules.spe_down(x)
    assert stage2_terms(modules, y_rough, z_rough, None)["degradation"].item() == pytest.approx(0.0, abs=1e-6)
    wrong = Modules(
        modules.spe_up,
        modules.spa_up,
        modules.spe_down,
        SpatialDown.known(RATIO, np.array([[0.7, 0.1], [0.1, 0.1]])).double(),
    )
    assert stage2_terms(wrong, y_rough, z_rough, None)["degradation"].item() > 1e-3


def test_stage3_terms_are_zero_for_exact_modules(exact):
    modules, y, z = exact
    terms = stage3_terms(
        modules, y, z, None, None, HRBatch(z, y, None, None), learn_degradation=True, spectral_consistency_weight=1.0
    )
    assert list(terms) == ["spe_up_cycle", "spa_up_cycle", "fused_spatial", "degradation", "fused_spectral"]
    for name, value in terms.items():
        assert value.item() == pytest.approx(0.0, abs=1e-6), name
    fewer = stage3_terms(
        modules, y, z, None, None, HRBatch(z, y, None, None), learn_degradation=False, spectral_consistency_weight=0.0
    )
    assert list(fewer) == ["spe_up_cycle", "spa_up_cycle", "fused_spatial"]


def test_stage3_cycle_terms_train_only_the_inverses(exact):
    modules, y, z = exact
    wrong = Modules(
        modules.spe_up, modules.spa_up, SpectralDown(np.full((6, 2), 0.2)).double(), SpatialDown.blind(RATIO).double()
    )
    terms = stage3_terms(
        wrong,
        y,
        z * 1.05,
        None,
        None,
        HRBatch(z, y, None, None),
        learn_degradation=True,
        spectral_consistency_weight=1.0,
    )
    (terms["spe_up_cycle"] + terms["spa_up_cycle"]).backward()
    assert wrong.spe_down.logits.grad is None and wrong.spa_down.logits.grad is None  # inputs detached
    assert wrong.spe_up.skip.weight.grad is not None and wrong.spa_up.kernel.grad is not None


def test_holdout_mse_is_zero_for_exact_modules_and_counts_only_held_out_pixels(exact):
    modules, y, z = exact
    mask = torch.zeros(1, 1, 3, 4, dtype=torch.float64)
    mask[..., 0, :2] = 1
    base = holdout_mse(modules, y, z, mask)
    assert base == pytest.approx(0.0, abs=1e-12)
    y_off = y.clone()
    y_off[..., 2, 3] += 1.0  # outside the hold-out: not seen
    assert holdout_mse(modules, y_off, z, mask) == pytest.approx(base, abs=1e-12)
    y_off[..., 0, 0, 0] += 2.0  # one band of one held-out pixel: 4 / (2 pixels * 6 bands)
    assert holdout_mse(modules, y_off, z, mask) == pytest.approx(4.0 / 12, rel=1e-5)
