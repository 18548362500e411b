"""pfs2c2.metrics.reference: metrics checked against independent oracles (sewar, scikit-image, scipy, brute force).

Real data: a 64 x 64 x 20 crop of the Pavia (ROSIS) ABU beach scene from ../shared/data; the
"fused" image is the reference blurred a little plus fixed-seed noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.io
import torch
from scipy.ndimage import gaussian_filter
from scipy.stats import pearsonr

from pfs2c2 import metrics

from ..conftest import data_path

sewar = pytest.importorskip("sewar.full_ref")
skm = pytest.importorskip("skimage.metrics")

RTOL = 1e-9  # conventions match exactly: only float64 round-off differs
SCENE = "hsi/abu-beach-4_pavia_rosis.mat"


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    """(fused, reference), both (C, H, W) = (20, 64, 64) float64."""
    cube = scipy.io.loadmat(data_path(SCENE))["data"]  # (100, 100, 102), [0, 1]
    reference = np.ascontiguousarray(cube[:64, :64, :20].transpose(2, 0, 1), dtype=np.float64)
    rng = np.random.default_rng(0)
    fused = gaussian_filter(reference, sigma=(0, 0.8, 0.8)) + 0.01 * rng.standard_normal(reference.shape)
    return fused, reference


def hwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(1, 2, 0))


# --- oracles: conventions identical, tight tolerance -------------------------------------


def test_psnr_band_peak_matches_sewar_and_skimage(pair):
    fused, ref = pair
    ours = metrics.psnr(fused, ref)
    by_sewar = np.mean([sewar.psnr(r, f, MAX=r.max()) for f, r in zip(fused, ref)])
    by_skimage = np.mean([skm.peak_signal_noise_ratio(r, f, data_range=r.max()) for f, r in zip(fused, ref)])
    assert ours == pytest.approx(by_sewar, rel=RTOL)
    assert ours == pytest.approx(by_skimage, rel=RTOL)


def test_psnr_fixed_peak_one(pair):
    fused, ref = pair
    ours = metrics.psnr(fused, ref, peak=1.0)
    by_skimage = np.mean([skm.peak_signal_noise_ratio(r, f, data_range=1.0) for f, r in zip(fused, ref)])
    assert ours == pytest.approx(by_skimage, rel=RTOL)
    assert ours > metrics.psnr(fused, ref)  # every band max of this crop is < 1
    assert metrics.evaluate(fused, ref, 4, peak=1.0)["psnr"] == ours


def test_sam_matches_sewar_in_degrees(pair):
    fused, ref = pair
    assert metrics.sam(fused, ref) == pytest.approx(math.degrees(sewar.sam(hwc(ref), hwc(fused))), rel=RTOL)


def test_ergas_matches_sewar_inverse_ratio(pair):
    fused, ref = pair
    # sewar's r is low/high resolution (0.25 for a 4x fusion); ours is the GSD ratio 4
    assert metrics.ergas(fused, ref, 4) == pytest.approx(sewar.ergas(hwc(ref), hwc(fused), r=0.25), rel=RTOL)


def test_rmse_matches_sewar(pair):
    fused, ref = pair
    assert metrics.rmse(fused, ref) == pytest.approx(sewar.rmse(hwc(ref), hwc(fused)), rel=RTOL)


def test_cc_matches_scipy_pearsonr(pair):
    fused, ref = pair
    expected = np.mean([pearsonr(f.ravel(), r.ravel())[0] for f, r in zip(fused, ref)])
    assert metrics.cc(fused, ref) == pytest.approx(expected, rel=RTOL)


def test_ssim_matches_skimage(pair):
    fused, ref = pair
    # skimage with these options is Wang et al.: 11x11 Gaussian window (truncate 3.5), population
    # statistics, mean over the windows fully inside the image; data_range per reference band
    expected = np.mean(
        [
            skm.structural_similarity(
                r,
                f,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=r.max() - r.min(),
            )
            for f, r in zip(fused, ref)
        ]
    )
    assert metrics.ssim(fused, ref) == pytest.approx(expected, rel=RTOL)


def _uiqi_brute_force(fused: np.ndarray, ref: np.ndarray, block: int) -> float:
    def q(x: np.ndarray, y: np.ndarray) -> float:
        mx, my = x.mean(), y.mean()
        cov = ((x - mx) * (y - my)).mean()
        return 4 * cov * mx * my / ((x.var() + y.var()) * (mx**2 + my**2))

    _, h, w = ref.shape
    per_band = [
        np.mean(
            [
                q(f[i : i + block, j : j + block], r[i : i + block, j : j + block])
                for i in range(h - block + 1)
                for j in range(w - block + 1)
            ]
        )
        for f, r in zip(fused, ref)
    ]
    return float(np.mean(per_band))


def test_uiqi_matches_brute_force_windows(pair):
    # Oracle: Wang-Bovik Q straight from its definition on every 32x32 window (stride 1) fully
    # inside the image. sewar.uqi is not used: sewar 0.4.10 feeds window *means*
    # (uniform_filter) into img_qi.m's formula written for window *sums*, so it is not Q (0.97
    # instead of 0.91 on this pair), and its border crop also drops the last row/column of windows.
    fused, ref = pair
    fused, ref = fused[:4, :40, :44], ref[:4, :40, :44]
    assert metrics.uiqi(fused, ref) == pytest.approx(_uiqi_brute_force(fused, ref, 32), rel=RTOL)
    assert metrics.uiqi(fused, ref, block_size=8) == pytest.approx(_uiqi_brute_force(fused, ref, 8), rel=RTOL)


# --- properties --------------------------------------------------------------------------


def test_evaluate_keys_and_individual_functions(pair):
    fused, ref = pair
    result = metrics.evaluate(fused, ref, 4)
    assert list(result) == ["psnr", "sam", "ergas", "rmse", "cc", "ssim", "uiqi"]
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.values())
    assert result["ergas"] == metrics.ergas(fused, ref, 4)
    assert result["uiqi"] == metrics.uiqi(fused, ref)


def test_identical_inputs_are_perfect(pair):
    _, ref = pair
    result = metrics.evaluate(ref.copy(), ref, 4)
    assert result["psnr"] == math.inf
    assert result["sam"] == pytest.approx(0.0, abs=1e-5)  # arccos(1 - eps) ~ 1e-6 degrees
    assert result["ergas"] == 0.0
    assert result["rmse"] == 0.0
    assert result["cc"] == pytest.approx(1.0, abs=1e-12)
    assert result["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert result["uiqi"] == pytest.approx(1.0, abs=1e-12)


def test_torch_input_gives_same_numbers(pair):
    fused, ref = pair
    expected = metrics.evaluate(fused, ref, 4)
    got = metrics.evaluate(torch.from_numpy(fused), torch.from_numpy(ref), 4)
    assert got == pytest.approx(expected, rel=1e-12)


def test_rectangular_mask_equals_crop_and_ignores_corrupted_pixels(pair):
    fused, ref = pair
    rows, cols = slice(5, 50), slice(8, 60)
    mask = np.zeros(ref.shape[1:], dtype=bool)
    mask[rows, cols] = True
    corrupt_f, corrupt_r = fused.copy(), ref.copy()
    corrupt_f[:, ~mask] = 1e6
    corrupt_r[:, ~mask] = np.nan
    masked = metrics.evaluate(corrupt_f, corrupt_r, 4, mask=mask)
    cropped = metrics.evaluate(fused[:, rows, cols], ref[:, rows, cols], 4)
    assert masked == pytest.approx(cropped, rel=RTOL)


def test_irregular_mask_ignores_corrupted_pixels(pair):
    fused, ref = pair
    mask = np.ones(ref.shape[1:], dtype=bool)
    mask[:8, :8] = False  # a nodata corner
    mask[:, -1] = False  # a bad column
    mask[[20, 40, 41], [30, 12, 50]] = False  # scattered bad pixels
    clean = metrics.evaluate(fused, ref, 4, mask=mask)
    corrupt = fused.copy()
    corrupt[:, ~mask] = 1e6
    assert metrics.evaluate(corrupt, ref, 4, mask=mask) == pytest.approx(clean, rel=RTOL)
    assert all(math.isfinite(v) for v in clean.values())
    unmasked = metrics.evaluate(corrupt, ref, 4)
    assert unmasked["rmse"] > 1e3 * clean["rmse"]  # the corruption does matter without the mask

    # pixel-wise metrics on the valid pixels match sewar on those pixels laid out as (N, 1, C)
    f_valid, r_valid = fused[:, mask].T[:, None, :], ref[:, mask].T[:, None, :]
    assert clean["rmse"] == pytest.approx(sewar.rmse(r_valid, f_valid), rel=RTOL)
    assert clean["sam"] == pytest.approx(math.degrees(sewar.sam(r_valid, f_valid)), rel=RTOL)
    assert clean["ergas"] == pytest.approx(sewar.ergas(r_valid, f_valid, r=0.25), rel=RTOL)


def test_sam_skips_all_zero_spectra(pair):
    fused, ref = pair
    ref, fused = ref.copy(), fused.copy()
    ref[:, :3, :5] = 0.0  # zero reference spectra
    fused[:, 10, 10] = 0.0  # a zero fused spectrum
    value = metrics.sam(fused, ref)
    assert math.isfinite(value)
    # sewar also skips zero-norm spectra
    assert value == pytest.approx(math.degrees(sewar.sam(hwc(ref), hwc(fused))), rel=RTOL)


def test_shape_mismatch_raises(pair):
    fused, ref = pair
    with pytest.raises(ValueError, match=r"\(20, 64, 63\).*\(20, 64, 64\)"):
        metrics.evaluate(fused[:, :, :63], ref, 4)
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(fused[:10], ref)


def test_bad_arguments_raise(pair):
    fused, ref = pair
    with pytest.raises(ValueError, match="mask"):
        metrics.evaluate(fused, ref, 4, mask=np.ones((64, 63), dtype=bool))
    with pytest.raises(ValueError, match="peak"):
        metrics.psnr(fused, ref, peak="max")
    with pytest.raises(ValueError, match="ratio"):
        metrics.ergas(fused, ref, 0)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        metrics.rmse(fused[0], ref[0])


def test_window_metrics_nan_when_no_window_fits(pair):
    fused, ref = pair
    small = metrics.evaluate(fused[:, :20, :20], ref[:, :20, :20], 4)
    assert math.isnan(small["uiqi"])  # no 32x32 window in a 20x20 image
    assert math.isfinite(small["ssim"]) and math.isfinite(small["psnr"])
