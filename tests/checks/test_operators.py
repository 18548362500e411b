"""The operator checks (:mod:`pfs2c2._checks.operators`): PSF, SRF, and the images the physics applies them to."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import pfs2c2
from pfs2c2 import FusionConfig, StageConfig, _checks, fuse, simulate
from pfs2c2.baselines import METHODS
from pfs2c2.config import RunOptions
from pfs2c2.physics import combined_psf, gaussian_psf
from pfs2c2.scenes import synthetic_scene

C, c = 10, 3  # HSI bands, MSI bands


@pytest.mark.parametrize(
    "psf, convention, message",
    [
        (np.ones((3, 4)), "auto", "square"),
        (np.ones((2, 2)), "auto", "smaller than the ratio"),  # even: no blur either
        (np.ones((3, 3)), "combined", "smaller than the ratio"),
        (np.ones((5, 5)), "combined", "must be even"),
        (np.ones((6, 6)), "auto", "PSF size 6 minus the ratio 3 must be even"),
        (np.ones((4, 4)), "blur", "PSF size 4 is even"),
        (-np.ones((4, 4)), "auto", "non-negative"),
        (np.full((4, 4), np.nan), "auto", "finite"),
        (np.full((5, 5), np.nan), "auto", "finite"),
        (np.zeros((5, 5)), "blur", "not all zero"),
        (np.ones((4, 4)), "both", "convention must be one of auto, combined, blur"),
    ],
)
def test_bad_psf_is_rejected_with_reason(psf, convention, message):
    ratio = 3 if psf.shape == (6, 6) else 4
    with pytest.raises(ValueError, match=message):
        _checks.check_psf(psf, ratio, convention=convention)


def _old_check_psf(k, ratio):
    """check_psf before the conventions, for the kernels it accepted."""
    a = np.asarray(k).astype(np.float64, copy=False)
    assert a.shape[0] >= ratio and (a.shape[0] - ratio) % 2 == 0 and np.all(a >= 0)
    return a / a.sum()


@pytest.mark.parametrize("convention", ["auto", "combined"])
def test_every_kernel_accepted_before_is_unchanged_bit_for_bit(convention):
    rng = np.random.default_rng(0)
    kernels = [(gaussian_psf(r, k), r) for r, k in ((2, 2), (3, 3), (3, 5), (4, 4), (4, 6), (4, 12), (8, 8))]
    kernels += [(rng.random((k, k)).astype(dtype), r) for r, k, dtype in ((4, 4, np.float32), (5, 7, np.float64))]
    kernels += [(np.full((4, 4), 1 / 16).tolist(), 4), (np.eye(6), 4)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no note about a convention either
        for kernel, r in kernels:
            for sum_to_one in (False, True):
                if sum_to_one and abs(np.sum(kernel) - 1) > 0.01:
                    continue
                got = _checks.check_psf(kernel, r, sum_to_one=sum_to_one, convention=convention)
                np.testing.assert_array_equal(got, _old_check_psf(kernel, r))
                assert got.dtype == np.float64


@pytest.mark.parametrize("k, ratio", [(5, 4), (15, 4), (5, 8), (3, 4), (7, 2)])
def test_an_odd_blur_that_cannot_be_a_combined_kernel_is_converted_with_a_note(k, ratio):
    blur = gaussian_psf(1, kernel_size=k, sigma=k / 4)
    with pytest.warns(UserWarning, match=rf"PSF of size {k} at ratio {ratio} .* read as a blur applied before"):
        kernel = _checks.check_psf(blur, ratio, sum_to_one=True)
    np.testing.assert_array_equal(kernel, combined_psf(blur, ratio))
    assert kernel.shape == (k + ratio - 1,) * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit convention, and the combined kernel again, are silent
        np.testing.assert_array_equal(_checks.check_psf(blur, ratio, convention="blur"), kernel)
        np.testing.assert_array_equal(_checks.check_psf(kernel, ratio), kernel)


def test_convention_blur_converts_a_kernel_whose_size_would_also_fit_combined():
    blur = gaussian_psf(1, kernel_size=5, sigma=1.0)
    np.testing.assert_array_equal(_checks.check_psf(blur, 3), blur)  # auto: 5 - 3 even, the old meaning
    np.testing.assert_array_equal(_checks.check_psf(blur, 3, convention="blur"), combined_psf(blur, 3))


def _lanczos(size: int, scale: float, lobes: int) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    profile = np.sinc(x / scale) * np.sinc(x / (scale * lobes)) * (np.abs(x) < scale * lobes)
    kernel = np.outer(profile, profile)
    return kernel / kernel.sum()


def test_small_negative_lobes_are_accepted_and_large_ones_refused_in_one_line():
    sinc = _lanczos(9, 2.5, 2)  # separable Lanczos-2: negative mass 17.6 % of the positive
    assert sinc.min() < 0
    with pytest.warns(UserWarning, match="read as a blur"):
        kernel = _checks.check_psf(sinc, 4, sum_to_one=True)
    np.testing.assert_allclose(kernel, combined_psf(sinc, 4))
    np.testing.assert_allclose(kernel.sum(), 1.0)
    combined = gaussian_psf(4, 6)
    combined[[0, 0, -1, -1], [0, -1, 0, -1]] = -0.002  # a combined kernel with small dips
    np.testing.assert_array_equal(_checks.check_psf(combined, 4), combined / combined.sum())
    with pytest.raises(pfs2c2.InputError, match="non-negative"):
        _checks.check_psf(combined, 4, convention="combined")  # pfs2c2's own meaning stays non-negative
    sharpen = np.array([[0.0, -0.25, 0.0], [-0.25, 2.0, -0.25], [0.0, -0.25, 0.0]])  # sums to 1, 50 % negative
    for kernel, convention in ((sharpen, "auto"), (sharpen, "blur"), (_lanczos(9, 2.5, 3), "blur")):
        with pytest.raises(pfs2c2.InputError, match=r"negative lobes hold \d\d\.\d% .* more than the 25%") as info:
            _checks.check_psf(kernel, 4, convention=convention)
        assert "\n" not in str(info.value)


def _blur_problem(ratio: int, blur: np.ndarray):
    reference, wavelengths = synthetic_scene(size=8 * ratio, bands=12, seed=1)
    srf = np.exp(-0.5 * ((wavelengths[:, None] - np.array([480.0, 620.0, 800.0])[None, :]) / 60.0) ** 2)
    with pytest.warns(UserWarning, match="read as a blur"):
        return simulate(reference, ratio, srf / srf.sum(0), psf=blur)


@pytest.mark.parametrize(
    "ratio, blur", [(4, gaussian_psf(1, 5, 1.3)), (8, gaussian_psf(1, 5, 1.3)), (4, _lanczos(9, 2.5, 2))]
)
def test_fuse_and_the_baselines_accept_a_blur_and_use_the_combined_kernel(ratio, blur):
    sim = _blur_problem(ratio, blur)
    combined = combined_psf(blur, ratio)
    np.testing.assert_array_equal(sim.psf, combined)
    tiny = dataclasses.replace(
        FusionConfig.preset_config("fast"),
        stage1=StageConfig(5, 5e-3, 5),
        stage2=StageConfig(5, 2e-2, 5),
        stage3=StageConfig(5, 2e-3, 5),
    )
    with pytest.warns(UserWarning, match="read as a blur"):
        result = fuse(sim.lr_hsi, sim.hr_msi, srf=sim.srf, psf=blur, config=tiny, run=RunOptions(device="cpu"))
    assert not result.psf_learned and result.psf.shape == combined.shape
    np.testing.assert_allclose(result.psf, combined, atol=1e-7)  # FusionResult.psf is the combined kernel
    assert np.all(np.isfinite(result.fused))
    for method in ("linear_regression", "hysure", "cnmf"):
        with pytest.warns(UserWarning, match="read as a blur"):
            fused = METHODS[method](sim.lr_hsi, sim.hr_msi, ratio=ratio, srf=sim.srf, psf=blur)
        assert np.all(np.isfinite(fused)), method


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
