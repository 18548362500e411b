"""check_fusion_inputs (:mod:`pfs2c2._checks.inputs`) on its own: the catalogue entries that fuse() delegates
to it, what it resolves, and the other input checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import pfs2c2
from pfs2c2 import _checks
from pfs2c2._checks import check_fusion_inputs

_SHARPEN = np.array([[0.0, -0.5, 0.0], [-0.5, 3.0, -0.5], [0.0, -0.5, 0.0]])
"""An unsharp-mask kernel (sums to 1): its negative lobes are 2/3 of its positive mass, not a blur."""

C, c, h, r = 10, 3, 8, 4  # HSI bands, MSI bands, LR size, ratio: 8x8x10 LR-HSI, 32x32x3 HR-MSI


def _problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (0.1 + rng.random((C, h, h))).astype(np.float32), (0.1 + rng.random((c, h * r, h * r))).astype(np.float32)


def _with(array: np.ndarray, index: Any, value: float) -> np.ndarray:
    out = array.copy()
    out[index] = value
    return out


LR, HR = _problem()
NEG_SRF = _with(np.ones((C, c)), (2, 1), -0.5)


@pytest.mark.parametrize(
    "lr, hr, kwargs, message",
    [
        pytest.param(LR[0], HR, {}, "3-D cube", id="wrong_rank"),
        pytest.param(LR.astype(str), HR, {}, "numbers", id="not_numeric"),
        pytest.param(LR[:, :0], HR, {}, "empty", id="empty"),
        pytest.param(LR, HR[:1], {}, "panchromatic", id="one_band_msi"),
        pytest.param(LR[:3], HR, {}, "more bands", id="msi_as_many_bands"),
        pytest.param(LR, HR[:, :30], {}, "not an integer multiple", id="size_mismatch"),
        pytest.param(LR, HR, {"ratio": 1}, "integer >= 2", id="ratio_one"),
        pytest.param(LR, HR, {"ratio": 0}, "integer >= 2", id="ratio_zero"),
        pytest.param(LR, HR, {"ratio": -4}, "integer >= 2", id="ratio_negative"),
        pytest.param(LR, HR, {"ratio": 2.5}, "integer >= 2", id="ratio_fraction"),
        pytest.param(LR, HR, {"ratio": 2}, "contradicts", id="ratio_contradicts"),
        pytest.param(LR, HR, {"srf": np.ones((c, C))}, "transpose", id="srf_transposed"),
        pytest.param(LR, HR, {"srf": NEG_SRF}, "negative entries", id="srf_negative"),
        pytest.param(
            LR, HR, {"srf": _with(np.ones((C, c)), (slice(None), 0), 0)}, r"column\(s\) \[0\]", id="srf_empty_column"
        ),
        pytest.param(LR, HR, {"srf": _with(np.ones((C, c)), (0, 0), np.nan)}, "NaN", id="srf_nan"),
        pytest.param(LR, HR, {"srf_support": np.ones((C, c + 1))}, "SRF support has shape", id="support_shape"),
        pytest.param(LR, HR, {"psf": np.ones((r, r))}, "sums to 16", id="psf_sum"),
        pytest.param(LR, HR, {"psf": np.full((r, r), 0.98 / r**2)}, "sums to 0.98", id="psf_sum_2_percent_off"),
        pytest.param(LR, HR, {"psf": np.full((2, 2), 0.25)}, "smaller than the ratio", id="psf_small"),
        pytest.param(LR, HR, {"psf": _SHARPEN}, "negative lobes hold 66.7%", id="psf_sharpening_lobes"),
        pytest.param(LR, HR, {"psf": -np.full((r, r), 1 / 16)}, "non-negative", id="psf_negative"),
        pytest.param(_with(LR, (0, 1, 1), np.nan), HR, {}, "LR-HSI contains 1 NaN", id="nan"),
        pytest.param(LR, _with(HR, (0, 1, 1), -np.inf), {}, "HR-MSI contains 1 NaN or Inf", id="inf"),
        pytest.param(np.full_like(LR, np.nan), HR, {"mask_nonfinite": True}, "no valid pixel", id="all_nan_masked"),
        pytest.param(np.zeros_like(LR), HR, {}, "no valid pixel", id="all_zero"),
        pytest.param(LR, HR, {"hsi_mask": np.zeros((h, h), bool)}, "no valid pixel", id="all_masked"),
        pytest.param(LR, HR, {"msi_mask": np.ones((h, h), bool)}, "msi_mask has shape", id="mask_shape"),
        pytest.param(
            _with(LR, (slice(4, 7),), 0.3),
            HR,
            {},
            r"band\(s\) \[4-6\] \(0-based, 3 of 10\) are constant",
            id="constant_bands",
        ),
        pytest.param(LR, _with(HR, (2,), 0.0), {}, r"HR-MSI band\(s\) \[2\]", id="constant_msi_band"),
        pytest.param(LR - 0.6, HR, {}, r"LR-HSI has \d+\.\d% negative values .*standardised", id="negative_share"),
        pytest.param(LR, _with(HR, (slice(None), 3, 4), -9999.0), {}, "value of -9999.*fill value", id="fill_value"),
        pytest.param(-LR, HR, {}, "no positive value", id="all_negative"),
    ],
)
def test_check_fusion_inputs_refuses(lr, hr, kwargs, message):
    with pytest.raises(pfs2c2.InputError, match=message) as info:
        check_fusion_inputs(lr, hr, **kwargs)
    assert "\n" not in str(info.value)


def test_check_fusion_inputs_accepts_real_world_quirks():
    lr, hr = _problem(1)
    check_fusion_inputs(lr, hr)
    check_fusion_inputs(
        lr, hr, ratio=4.0, srf=np.ones((C, c)), psf=np.full((r, r), 1.005 / 16), srf_support=np.eye(C, c)
    )
    # negatives from atmospheric correction are fine: 20% of the values, down to -20% of the maximum
    noisy = lr.copy()
    noisy.reshape(-1)[::5] *= -0.2
    check_fusion_inputs(noisy, hr)
    # NaN pixels when they are masked; zero-filled nodata borders; a user mask
    check_fusion_inputs(_with(lr, (slice(None), 0, 0), np.nan), hr, mask_nonfinite=True)
    check_fusion_inputs(_with(lr, (slice(None), 0), 0.0), _with(hr, (slice(None), slice(0, r)), 0.0))
    mask = np.ones((h, h), bool)
    mask[0] = False
    check_fusion_inputs(lr, hr, hsi_mask=mask, msi_mask=np.ones((h * r, h * r), bool))
    # float64, tensors, a single LR pixel (no constant-band test possible)
    import torch

    check_fusion_inputs(torch.from_numpy(lr), torch.from_numpy(hr.astype(np.float64)))
    check_fusion_inputs(lr[:, :1, :1], hr[:, :r, :r])


def test_check_fusion_inputs_is_cheap():
    """No copy of an image: the extra memory at the peak stays below the size of the larger image (a
    float32 copy of it alone would reach it). Measured with tracemalloc, so it cannot flake with the
    machine's load as a wall-clock limit could."""
    import tracemalloc

    rng = np.random.default_rng(3)
    lr = rng.random((50, 64, 64), dtype=np.float32)
    hr = rng.random((4, 512, 512), dtype=np.float32)
    tracemalloc.start()
    try:
        check_fusion_inputs(lr, hr)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < hr.nbytes, (peak, hr.nbytes)


def test_check_fusion_inputs_returns_the_resolved_ratio_and_operators():
    import torch

    lr, hr = _problem(2)
    psf = np.full((r, r), 1.005 / 16)
    checked = check_fusion_inputs(lr, hr, ratio=4.0, srf=torch.ones(C, c), psf=psf, srf_support=np.eye(C, c))
    assert checked.ratio == 4 and isinstance(checked.ratio, int)
    assert checked.srf is not None and checked.srf.dtype == np.float64 and np.array_equal(checked.srf, np.ones((C, c)))
    assert checked.srf_support is not None and np.array_equal(checked.srf_support, np.eye(C, c))
    np.testing.assert_array_equal(checked.psf, psf / psf.sum())
    blind = check_fusion_inputs(lr, hr)
    assert (blind.ratio, blind.srf, blind.srf_support, blind.psf) == (4, None, None, None)


def test_check_band_counts():
    _checks.check_band_counts(10, 3)
    _checks.check_band_counts(10, 1, min_msi_bands=1)
    with pytest.raises(pfs2c2.InputError, match="panchromatic"):
        _checks.check_band_counts(10, 1)
    with pytest.raises(pfs2c2.InputError, match="more bands, the MSI fewer bands"):
        _checks.check_band_counts(3, 3)


def test_check_positive_peak_and_lr_overlap():
    x = np.array([[[1.0, 5.0], [-2.0, 3.0]]])
    valid = np.array([[True, False], [True, True]])
    assert _checks.check_positive_peak(x, valid) == 3.0
    with pytest.raises(pfs2c2.InputError, match="all zero or negative"):
        _checks.check_positive_peak(x, np.zeros((2, 2), bool))
    _checks.check_lr_overlap(valid)
    with pytest.raises(pfs2c2.InputError, match="no LR pixel has valid data in both images"):
        _checks.check_lr_overlap(np.zeros((2, 2), bool))
