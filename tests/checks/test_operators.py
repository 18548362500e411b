"""The operator checks (:mod:`pfs2c2._checks.operators`): PSF, SRF, and the images the physics applies them to."""

from __future__ import annotations

import numpy as np
import pytest

import pfs2c2
from pfs2c2 import _checks

C, c = 10, 3  # HSI bands, MSI bands


@pytest.mark.parametrize(
    "psf, message",
    [
        (np.ones((3, 4)), "square"),
        (np.ones((2, 2)), "smaller than the ratio"),
        (np.ones((5, 5)), "must be even"),
        (-np.ones((4, 4)), "non-negative"),
        (np.full((4, 4), np.nan), "finite"),
    ],
)
def test_bad_psf_is_rejected_with_reason(psf, message):
    with pytest.raises(ValueError, match=message):
        _checks.check_psf(psf, 4)


def test_check_psf_normalises_and_refuses_a_sum_away_from_one_only_when_asked():
    kernel = np.ones((4, 4))
    np.testing.assert_array_equal(_checks.check_psf(kernel, 4), np.full((4, 4), 1 / 16))
    with pytest.raises(pfs2c2.InputError, match="PSF sums to 16"):
        _checks.check_psf(kernel, 4, sum_to_one=True)
    with pytest.raises(pfs2c2.InputError, match="numbers"):
        _checks.check_psf(np.full((4, 4), "a"), 4)
    with pytest.raises(pfs2c2.InputError, match="square"):
        _checks.check_psf(np.ones((0, 0)), 4)
    with pytest.raises(pfs2c2.InputError, match="psf_size 5"):
        _checks.check_psf_size(5, 4)
    _checks.check_psf_size(None, 4)
    _checks.check_psf_size(6, 4)


def test_check_srf_coerces_to_float64_and_names_the_matrix():
    m = _checks.check_srf(np.ones((C, c), np.float32), C, c)
    assert m.dtype == np.float64 and m.shape == (C, c)
    with pytest.raises(pfs2c2.InputError, match=r"^SRF support has shape \(3, 10\).*: transpose it$"):
        _checks.check_srf(np.ones((c, C)), C, c, "SRF support")
    with pytest.raises(pfs2c2.InputError, match="non-negative"):
        _checks.check_srf(-np.ones((C, c)), C, c)
    file_srf = _checks.check_srf_matrix(np.array([[1.0, -1e-12], [0.0, 1.0]]), "srf.csv")
    assert file_srf.min() == 0.0  # rounding negatives of a CSV are clipped
    with pytest.raises(pfs2c2.InputError, match=r"^srf\.csv: the SRF matrix has negative entries"):
        _checks.check_srf_matrix(np.array([[1.0, -0.5], [0.0, 1.0]]), "srf.csv")


def test_the_physics_preconditions():
    _checks.check_kernel_size(4, 4)
    with pytest.raises(pfs2c2.InputError, match="PSF kernel size 3 is smaller than the ratio 4"):
        _checks.check_kernel_size(3, 4)
    with pytest.raises(pfs2c2.InputError, match="sigma must be positive"):
        _checks.check_sigma(float("nan"))
    _checks.check_image_or_batch((1, 2, 3))
    with pytest.raises(pfs2c2.InputError, match=r"image \(C, H, W\) or batch \(N, C, H, W\), got shape \(2, 3\)"):
        _checks.check_image_or_batch((2, 3))
    _checks.check_image_fits_psf(8, 8, 8, 4)
    _checks.check_image_fits_psf(0, 4, 4, 4)  # a ratio x ratio kernel needs no padding
    with pytest.raises(pfs2c2.InputError, match="not divisible by the ratio 4"):
        _checks.check_image_fits_psf(10, 8, 4, 4)
    with pytest.raises(pfs2c2.InputError, match="reflect padding of 4 pixels needs at least 5"):
        _checks.check_image_fits_psf(4, 8, 12, 4)
    with pytest.raises(pfs2c2.InputError, match="SRF has 5 rows but the image has 6 bands"):
        _checks.check_srf_rows(5, 6)
