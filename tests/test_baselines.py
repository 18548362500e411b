"""Classical HS-MS fusion baselines: quality on the real Pavia crop (blind and with known operators),
use of the given operators, other ratios and sizes, the legacy call forms, and input errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from pfs2c2.baselines import (
    METHODS,
    bicubic,
    bicubic_upsample,
    cnmf,
    estimate_srf,
    glp_hs,
    linear_regression,
    linear_regression_fusion,
)
from pfs2c2.errors import InputError
from pfs2c2.metrics import ergas, psnr, sam
from pfs2c2.physics import blur_downsample, gaussian_psf
from pfs2c2.simulation import simulate

FUSION = [name for name in METHODS if name != "bicubic"]
# PSNR floors (dB) on the Pavia problem, ~1.5 dB under what the methods give blind (linear regression
# 46.9, GSA 44.6, GLP-HS 46.8, CNMF 46.5, HySure 44.5; bicubic 31.6)
FLOOR = {"linear_regression": 45.5, "gsa": 43.0, "glp_hs": 45.5, "cnmf": 45.0, "hysure": 43.0}
# fewer iterations for the iterative methods where a test checks wiring rather than final quality
QUICK = {"cnmf": {"outer_iterations": 1, "inner_iterations": 50}, "hysure": {"iterations": 50}}


def scores(fused: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """PSNR, SAM and ERGAS (ratio 4): the metrics of :func:`pfs2c2.metrics.evaluate` that are cheap."""
    return {"psnr": psnr(fused, reference), "sam": sam(fused, reference), "ergas": ergas(fused, reference, 4)}


@pytest.fixture(scope="module")
def bicubic_scores(pavia_problem):
    sim = pavia_problem["sim"]
    return scores(bicubic_upsample(sim.lr_hsi, 4), pavia_problem["reference"])


def check_output(fused: np.ndarray, shape: tuple[int, ...]) -> None:
    assert fused.shape == shape
    assert fused.dtype == np.float32
    assert np.all(np.isfinite(fused))


def test_registry_lists_every_method_with_the_shared_call_form():
    assert set(METHODS) == {"bicubic", "linear_regression", "gsa", "glp_hs", "cnmf", "hysure"}
    for name, method in METHODS.items():
        params = list(inspect.signature(method).parameters.values())
        assert [p.name for p in params[:5]] == ["lr_hsi", "hr_msi", "ratio", "srf", "psf"], name
        assert all(p.default is None for p in params[2:5]), name
        assert all(p.kind is p.KEYWORD_ONLY for p in params[5:]), name


def test_bicubic_wrapper_matches_bicubic_upsample(pavia_problem, bicubic_scores):
    sim = pavia_problem["sim"]
    fused = bicubic(sim.lr_hsi, sim.hr_msi)
    check_output(fused, sim.reference.shape)
    np.testing.assert_allclose(fused, bicubic_upsample(sim.lr_hsi, 4), atol=1e-5)
    assert 31.0 < bicubic_scores["psnr"] < 32.5


@pytest.mark.parametrize("name", FUSION)
def test_blind_method_beats_bicubic_on_pavia(name, pavia_problem, bicubic_scores):
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    fused = METHODS[name](sim.lr_hsi, sim.hr_msi)  # ratio, SRF and PSF unknown
    check_output(fused, reference.shape)
    got = scores(fused, reference)
    assert got["psnr"] >= bicubic_scores["psnr"] + 10.0, got
    assert got["psnr"] >= FLOOR[name], got
    assert got["sam"] < bicubic_scores["sam"] - 2.0, got
    assert got["ergas"] < bicubic_scores["ergas"] / 2, got


@pytest.mark.parametrize("name", FUSION)
def test_known_operators_form_runs_on_pavia(name, pavia_problem, bicubic_scores):
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    fused = METHODS[name](sim.lr_hsi, sim.hr_msi, 4, pavia_problem["srf"], sim.psf)
    check_output(fused, reference.shape)
    got = scores(fused, reference)
    assert got["psnr"] >= FLOOR[name], got
    assert got["sam"] < bicubic_scores["sam"] - 2.0, got


@pytest.fixture(scope="module")
def wide_psf_problem(pavia_problem):
    """A 48 x 48 Pavia crop degraded by an 8 x 8 Gaussian PSF of FWHM 6, wider than the blind guess."""
    psf = gaussian_psf(4, kernel_size=8, fwhm=6.0)
    return simulate(pavia_problem["reference"][:, :48, :48], 4, pavia_problem["srf"], psf=psf)


@pytest.mark.parametrize("name", FUSION)
def test_given_psf_is_used(name, wide_psf_problem):
    sim = wide_psf_problem
    method, quick = METHODS[name], QUICK.get(name, {})
    blind = psnr(method(sim.lr_hsi, sim.hr_msi, **quick), sim.reference)
    known = psnr(method(sim.lr_hsi, sim.hr_msi, psf=sim.psf, **quick), sim.reference)
    # measured gains 4.5 (HySure) to 14 dB (linear regression, GLP-HS)
    assert known >= blind + 3.0, (blind, known)


@pytest.mark.parametrize("name", ["gsa", "cnmf", "hysure"])
def test_given_srf_is_used(name, pavia_problem):
    sim = simulate(pavia_problem["reference"][:, :48, :48], 4, pavia_problem["srf"])
    right = psnr(METHODS[name](sim.lr_hsi, sim.hr_msi, srf=sim.srf), sim.reference)
    wrong = psnr(METHODS[name](sim.lr_hsi, sim.hr_msi, srf=sim.srf[:, ::-1]), sim.reference)
    assert right >= wrong + 5.0, (right, wrong)  # measured 10 (CNMF) to 15 dB


def test_blind_srf_estimate_recovers_the_simulation_srf(pavia_problem):
    sim = pavia_problem["sim"]
    estimated = estimate_srf(sim.lr_hsi, blur_downsample(sim.hr_msi.astype(np.float64), sim.psf, 4))
    assert estimated.shape == sim.srf.shape and np.all(estimated >= 0)
    np.testing.assert_allclose(estimated, sim.srf, atol=2e-3)


@pytest.mark.parametrize("name", FUSION)
def test_ratio_3_on_a_non_square_crop(name, pavia_problem):
    sim = simulate(pavia_problem["reference"][:, :60, :81], 3, pavia_problem["srf"])
    assert sim.lr_hsi.shape == (102, 20, 27)
    fused = METHODS[name](sim.lr_hsi, sim.hr_msi, **QUICK.get(name, {}))  # ratio 3 inferred from the sizes
    check_output(fused, (102, 60, 81))
    baseline = psnr(bicubic_upsample(sim.lr_hsi, 3), sim.reference)
    assert psnr(fused, sim.reference) >= baseline + 8.0  # measured 12 (GSA) to 15 dB


def test_cnmf_is_non_negative_and_repeatable(wide_psf_problem):
    sim = wide_psf_problem
    first = cnmf(sim.lr_hsi, sim.hr_msi, outer_iterations=1, inner_iterations=20)
    assert first.min() >= 0
    np.testing.assert_array_equal(first, cnmf(sim.lr_hsi, sim.hr_msi, outer_iterations=1, inner_iterations=20))


def test_glp_hs_regression_injection(pavia_problem, bicubic_scores):
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    fused = glp_hs(sim.lr_hsi, sim.hr_msi, injection="regression")
    check_output(fused, reference.shape)
    assert psnr(fused, reference) >= FLOOR["glp_hs"]
    with pytest.raises(InputError, match="injection"):
        glp_hs(sim.lr_hsi, sim.hr_msi, injection="additive")  # type: ignore[arg-type]


def test_legacy_call_forms_still_work(pavia_problem):
    sim = pavia_problem["sim"]
    legacy = linear_regression_fusion(sim.lr_hsi, sim.hr_msi, 4)
    check_output(legacy, sim.reference.shape)
    np.testing.assert_array_equal(legacy, linear_regression(sim.lr_hsi, sim.hr_msi))
    np.testing.assert_array_equal(linear_regression_fusion(sim.lr_hsi, sim.hr_msi, 4, sim.psf), legacy)
    assert psnr(legacy, sim.reference) >= FLOOR["linear_regression"]


def _bad_inputs() -> list[tuple[str, np.ndarray, np.ndarray, dict, str]]:
    rng = np.random.default_rng(0)
    lr, ms = rng.random((10, 8, 8)), rng.random((3, 32, 32))
    srf = rng.random((10, 3))
    return [
        ("2-D HSI", lr[0], ms, {}, "lr_hsi must be a 3-D"),
        ("2-D MSI", lr, ms[0], {}, "hr_msi must be a 3-D"),
        ("MSI with as many bands", lr, rng.random((10, 32, 32)), {}, "fewer bands"),
        ("MSI with more bands", lr[:3], rng.random((4, 32, 32)), {}, "fewer bands"),
        ("non-integer ratio", lr, ms, {"ratio": 2.5}, "ratio must be an integer"),
        ("contradicting ratio", lr, ms, {"ratio": 3}, "contradicts"),
        ("sizes not a multiple", lr, ms[:, :, :30], {}, "not an integer multiple"),
        ("same size", lr, ms[:, :8, :8], {}, "same size"),
        ("transposed SRF", lr, ms, {"srf": srf.T}, "transpose"),
        ("negative SRF", lr, ms, {"srf": -srf}, "non-negative"),
        ("PSF smaller than ratio", lr, ms, {"psf": np.ones((3, 3))}, "smaller than the ratio"),
        ("NaN in HSI", np.where(lr > 0.99, np.nan, lr), ms, {}, "NaN"),
    ]


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda case: case[0])
def test_bad_inputs_raise_one_line_input_error(name, case):
    _, lr, ms, kwargs, message = case
    with pytest.raises(InputError, match=message) as info:
        METHODS[name](lr, ms, **kwargs)
    assert "\n" not in str(info.value)


def test_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        linear_regression_fusion(np.ones((4, 4, 4)), np.ones((4, 8, 8)), 2)
