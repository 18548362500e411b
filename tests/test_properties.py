"""Property tests (hypothesis) of the forward model and the metrics on random shapes and values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pfs2c2
from pfs2c2 import metrics
from pfs2c2.physics import blur_downsample, gaussian_psf, srf_project

FAST = settings(max_examples=30, deadline=None, database=None)
seeds = st.integers(0, 2**32 - 1)


@st.composite
def blur_problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """``(x (C, h*r, w*r), psf (k, k) non-negative summing to 1, r)`` with ``k = r + 2*margin`` and the
    reflect padding ``margin`` smaller than the image."""
    r = draw(st.integers(1, 4))
    C, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    margin = draw(st.integers(0, 2))
    assume(margin < min(h, w) * r)
    rng = np.random.default_rng(draw(seeds))
    x = rng.normal(size=(C, h * r, w * r)) * draw(st.sampled_from([1e-3, 1.0, 1e4]))
    k = r + 2 * margin
    psf = rng.random((k, k)) if draw(st.booleans()) else gaussian_psf(r, k, sigma=draw(st.floats(0.2, 5.0)))
    return x, psf / psf.sum(), r


def brute_force_blur(x: np.ndarray, psf: np.ndarray, r: int) -> np.ndarray:
    """The documented model with loops: reflect-pad by (k - r) / 2, then every LR pixel is the PSF-weighted
    sum of the k x k window starting at its r x r block."""
    k = psf.shape[0]
    m = (k - r) // 2
    padded = np.pad(x, ((0, 0), (m, m), (m, m)), mode="reflect")
    C, H, W = x.shape
    out = np.zeros((C, H // r, W // r))
    for ch in range(C):
        for i in range(H // r):
            for j in range(W // r):
                for a in range(k):
                    for b in range(k):
                        out[ch, i, j] += psf[a, b] * padded[ch, i * r + a, j * r + b]
    return out


# --------------------------------------------------------------------------------------------------
# physics
# --------------------------------------------------------------------------------------------------
@FAST
@given(
    ratio=st.integers(1, 8),
    margin=st.integers(0, 6),
    sigma=st.one_of(st.none(), st.floats(1e-3, 100.0)),
    fwhm=st.one_of(st.none(), st.floats(0.01, 50.0)),
)
def test_gaussian_psf_is_non_negative_symmetric_and_sums_to_one(ratio, margin, sigma, fwhm):
    k = ratio + 2 * margin
    psf = gaussian_psf(ratio, k, sigma=sigma, fwhm=fwhm)
    assert psf.shape == (k, k)
    assert np.all(np.isfinite(psf)) and np.all(psf >= 0)
    assert psf.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(psf, psf.T, rtol=0, atol=1e-15)
    np.testing.assert_allclose(psf, psf[::-1, ::-1], rtol=0, atol=1e-15)


@FAST
@given(problem=blur_problems())
def test_blur_downsample_shape_and_brute_force(problem):
    x, psf, r = problem
    out = blur_downsample(x, psf, r)
    assert out.shape == (x.shape[0], x.shape[1] // r, x.shape[2] // r)
    scale = np.abs(x).max()
    np.testing.assert_allclose(out, brute_force_blur(x, psf, r), rtol=1e-10, atol=1e-12 * scale)


@FAST
@given(problem=blur_problems(), seed=seeds, a=st.floats(-100, 100), b=st.floats(-100, 100))
def test_blur_downsample_is_linear(problem, seed, a, b):
    x, psf, r = problem
    y = np.random.default_rng(seed).normal(size=x.shape)
    left = blur_downsample(a * x + b * y, psf, r)
    right = a * blur_downsample(x, psf, r) + b * blur_downsample(y, psf, r)
    scale = (abs(a) * np.abs(x).max() + abs(b) * np.abs(y).max()) or 1.0
    np.testing.assert_allclose(left, right, rtol=0, atol=1e-12 * scale)


@FAST
@given(problem=blur_problems(), value=st.floats(-1e6, 1e6))
def test_blur_downsample_preserves_constants(problem, value):
    x, psf, r = problem
    out = blur_downsample(np.full_like(x, value), psf, r)
    np.testing.assert_allclose(out, value, rtol=1e-12, atol=1e-300)


@FAST
@given(problem=blur_problems())
def test_blur_downsample_torch_equals_numpy(problem):
    x, psf, r = problem
    expected = blur_downsample(x, psf, r)
    got = blur_downsample(torch.from_numpy(x), psf, r)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12 * np.abs(x).max())
    batch = blur_downsample(torch.from_numpy(np.stack([x, 2 * x])), torch.from_numpy(psf), r)
    np.testing.assert_allclose(
        batch.numpy(), np.stack([expected, 2 * expected]), rtol=1e-12, atol=1e-12 * np.abs(x).max()
    )


@FAST
@given(r=st.integers(1, 4), h=st.integers(1, 2), w=st.integers(1, 3), extra=st.integers(0, 3))
def test_blur_downsample_refuses_a_psf_wider_than_the_image_with_a_typed_error(r, h, w, extra):
    margin = min(h, w) * r + extra  # reflect padding needs margin < image side
    with pytest.raises(pfs2c2.InputError, match="too small"):
        blur_downsample(np.ones((1, h * r, w * r)), gaussian_psf(r, r + 2 * margin), r)


@FAST
@given(C=st.integers(1, 6), c=st.integers(1, 4), h=st.integers(1, 5), w=st.integers(1, 5), seed=seeds)
def test_srf_project_equals_einsum_numpy_and_torch(C, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x, srf = rng.normal(size=(C, h, w)), rng.random((C, c))
    expected = np.einsum("chw,cm->mhw", x, srf)
    np.testing.assert_allclose(srf_project(x, srf), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(srf_project(torch.from_numpy(x), srf).numpy(), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------------
@st.composite
def cubes(draw: st.DrawFn, min_side: int = 2, max_side: int = 9, min_bands: int = 2) -> np.ndarray:
    """Any non-negative float64 cube of realistic magnitude (0 or 1e-6..1e4), zeros and constant bands
    included. (Magnitudes near 1e-160 or 1e160, where squares under- or overflow, are out of scope.)"""
    shape = (
        draw(st.integers(min_bands, 5)),
        draw(st.integers(min_side, max_side)),
        draw(st.integers(min_side, max_side)),
    )
    return draw(hnp.arrays(np.float64, shape, elements=st.one_of(st.just(0.0), st.floats(1e-6, 1e4))))


@st.composite
def positive_pairs(draw: st.DrawFn, min_side: int = 2, max_side: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Two random strictly positive cubes of one shape, over several orders of magnitude."""
    shape = (draw(st.integers(2, 5)), draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side)))
    rng = np.random.default_rng(draw(seeds))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e4]))
    return scale * (0.05 + rng.random(shape)), scale * (0.05 + rng.random(shape))


@FAST
@given(x=cubes())
def test_identical_cubes_have_infinite_psnr_and_zero_errors(x):
    assert metrics.psnr(x, x) == math.inf
    assert metrics.psnr(x, x, peak=1.0) == math.inf
    assert metrics.rmse(x, x) == 0.0
    angle = metrics.sam(x, x)
    assert math.isnan(angle) if not np.any(x) else 0.0 <= angle < 1e-4  # degrees; NaN only without data


@FAST
@given(pair=positive_pairs())
def test_ergas_zero_for_identical_and_scale_invariant(pair):
    f, ref = pair
    assert metrics.ergas(ref, ref, 4) == 0.0
    base = metrics.ergas(f, ref, 4)
    assert base > 0 and metrics.ergas(3.7 * f, 3.7 * ref, 4) == pytest.approx(base, rel=1e-9)
    assert metrics.ergas(f, ref, 2) == pytest.approx(2 * base, rel=1e-12)
    from torchmetrics.functional.image import error_relative_global_dimensionless_synthesis as tm_ergas

    as_image = lambda a: torch.from_numpy(a)[None]  # noqa: E731
    assert base == pytest.approx(float(tm_ergas(as_image(f), as_image(ref), ratio=4)), rel=1e-9)


@FAST
@given(x=cubes())
def test_ergas_of_identical_cubes_is_zero_even_with_empty_bands(x):
    assert metrics.ergas(x, x, 4) == 0.0


@FAST
@given(pair=positive_pairs(), seed=seeds)
def test_sam_is_invariant_to_positive_per_pixel_scaling(pair, seed):
    f, ref = pair
    s = np.exp(np.random.default_rng(seed).uniform(-3, 3, size=f.shape[1:]))
    base = metrics.sam(f, ref)
    assert 0 <= base <= 90
    assert metrics.sam(f * s, ref) == pytest.approx(base, rel=1e-9, abs=1e-9)
    assert metrics.sam(f, ref / s) == pytest.approx(base, rel=1e-9, abs=1e-9)
    assert metrics.sam(ref, f) == pytest.approx(base, rel=1e-12, abs=1e-12)


@FAST
@given(pair=positive_pairs(), a=st.floats(1e-3, 1e3), b=st.floats(-10, 10))
def test_rmse_psnr_cc_symmetry_and_scaling(pair, a, b):
    f, ref = pair
    e = metrics.rmse(f, ref)
    assert e >= 0 and e == metrics.rmse(ref, f)
    assert metrics.rmse(a * f, a * ref) == pytest.approx(a * e, rel=1e-9)
    assert metrics.psnr(a * f, a * ref) == pytest.approx(metrics.psnr(f, ref), rel=1e-9, abs=1e-9)
    cc = metrics.cc(f, ref)
    assert -1 - 1e-12 <= cc <= 1 + 1e-12
    assert metrics.cc(a * f + b * ref.mean(), ref) == pytest.approx(cc, rel=1e-6, abs=1e-9)
    assert metrics.cc(ref, ref) == pytest.approx(1.0, abs=1e-12)


@FAST
@given(pair=positive_pairs(), seed=seeds)
def test_masked_metrics_use_only_valid_pixels(pair, seed):
    f, ref = pair
    mask = np.random.default_rng(seed).random(f.shape[1:]) < 0.6
    assume(mask.any())
    junk = f.copy()
    junk[:, ~mask] = np.nan  # masked-out NaN never reaches a computation
    flat_f, flat_r = f[:, mask][:, None, :], ref[:, mask][:, None, :]
    assert metrics.rmse(junk, ref, mask=mask) == pytest.approx(metrics.rmse(flat_f, flat_r), rel=1e-12)
    assert metrics.sam(junk, ref, mask=mask) == pytest.approx(metrics.sam(flat_f, flat_r), rel=1e-9, abs=1e-9)
    assert metrics.psnr(junk, ref, mask=mask) == pytest.approx(metrics.psnr(flat_f, flat_r), rel=1e-12)


@settings(max_examples=10, deadline=None, database=None)
@given(pair=positive_pairs(min_side=32, max_side=34), a=st.floats(0.01, 100))
def test_evaluate_is_finite_on_random_positive_cubes_and_scale_invariant(pair, a):
    f, ref = pair
    scores = pfs2c2.evaluate(f, ref, 4)
    assert set(scores) == {"psnr", "sam", "ergas", "rmse", "cc", "ssim", "uiqi"}
    assert all(math.isfinite(v) for v in scores.values()), scores
    scaled = pfs2c2.evaluate(a * f, a * ref, 4)
    for name in ("psnr", "sam", "ergas", "cc", "ssim", "uiqi"):
        assert scaled[name] == pytest.approx(scores[name], rel=1e-6, abs=1e-9), name
    assert scaled["rmse"] == pytest.approx(a * scores["rmse"], rel=1e-9)
    same = pfs2c2.evaluate(ref, ref, 4)
    assert same["psnr"] == math.inf and same["ergas"] == 0 and same["rmse"] == 0
    assert (
        same["ssim"] == pytest.approx(1.0) and same["uiqi"] == pytest.approx(1.0) and same["cc"] == pytest.approx(1.0)
    )
