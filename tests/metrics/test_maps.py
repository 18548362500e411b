"""pfs2c2.metrics.maps: the NaN-aware per-pixel and per-band errors agree with the scalar metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pfs2c2 import metrics
from pfs2c2.metrics import band_rmse_psnr, finite_pixels, masked_mean, rmse_map, sam_map


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    """(fused, reference), (8, 24, 20) float64, positive spectra."""
    rng = np.random.default_rng(5)
    reference = 0.2 + rng.random((8, 24, 20))
    fused = reference + 0.02 * rng.standard_normal(reference.shape)
    return fused, reference


def test_maps_reduce_to_the_scalar_metrics(pair: tuple[np.ndarray, np.ndarray]) -> None:
    fused, ref = pair
    rm, sm = rmse_map(fused, ref), sam_map(fused, ref)
    assert rm.shape == sm.shape == ref.shape[1:]
    assert math.sqrt(float(np.mean(rm**2))) == pytest.approx(metrics.rmse(fused, ref), rel=1e-12)
    assert float(np.mean(sm)) == pytest.approx(metrics.sam(fused, ref), rel=1e-6)
    band_rmse, band_psnr = band_rmse_psnr(fused, ref)
    assert band_rmse.shape == band_psnr.shape == (ref.shape[0],)
    np.testing.assert_allclose(band_rmse, np.sqrt(((fused - ref) ** 2).mean(axis=(1, 2))), rtol=1e-12)
    assert float(np.mean(band_psnr)) == pytest.approx(metrics.psnr(fused, ref), rel=1e-12)


def test_nan_pixels_are_blank_and_left_out(pair: tuple[np.ndarray, np.ndarray]) -> None:
    fused, ref = pair
    fused = fused.copy()
    fused[:, 2:5, 3:7] = np.nan
    fused[3, 10, 10] = np.nan  # one band missing: the pixel is nodata
    valid = finite_pixels(fused, ref)
    assert not valid[2:5, 3:7].any() and not valid[10, 10] and valid.sum() == valid.size - 13
    rm, sm = rmse_map(fused, ref), sam_map(fused, ref)
    np.testing.assert_array_equal(np.isnan(rm), ~valid)
    np.testing.assert_array_equal(np.isnan(sm), ~valid)
    clean = np.where(valid, fused, ref)
    assert math.sqrt(float(np.nanmean(rm**2))) == pytest.approx(metrics.rmse(clean, ref, mask=valid), rel=1e-12)
    band_rmse, _ = band_rmse_psnr(fused, ref)
    assert np.all(np.isfinite(band_rmse))  # per band, only that band's missing pixels are dropped


def test_zero_spectra_and_exact_bands() -> None:
    ref = np.ones((3, 4, 4))
    fused = ref.copy()
    fused[:, 0, 0] = 0.0
    sm = sam_map(fused, ref)
    assert math.isnan(sm[0, 0]) and np.nanmax(sm) == pytest.approx(0.0, abs=1e-6)
    _, psnr = band_rmse_psnr(ref, ref)
    assert np.all(psnr == np.inf)  # exact bands
    _, psnr = band_rmse_psnr(ref, np.zeros_like(ref))
    assert np.all(np.isnan(psnr))  # non-positive peak


def test_masked_mean_empty_is_nan() -> None:
    x = np.arange(6.0).reshape(2, 3)
    valid = np.array([[True, False, True], [False, False, False]])
    np.testing.assert_array_equal(masked_mean(x, valid, axis=1), [1.0, np.nan])
