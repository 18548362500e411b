"""The registry (:mod:`pfs2c2.baselines`): every method's call form, and its quality on the real Pavia crop
(blind and with known operators), use of the given operators, other ratios and sizes."""

from __future__ import annotations

import inspect

import pytest

from pfs2c2.baselines import METHODS, bicubic_upsample
from pfs2c2.metrics import psnr
from pfs2c2.simulation import simulate

from .conftest import ESTIMATE_PSF, FLOOR, FUSION, QUICK, check_output, scores


def test_registry_lists_every_method_with_the_shared_call_form():
    assert set(METHODS) == {
        "bicubic",
        "linear_regression",
        "gsa",
        "glp_hs",
        "cnmf",
        "hysure",
        "lr_est_psf",
        "local_linear_regression",
    }
    for name, method in METHODS.items():
        params = list(inspect.signature(method).parameters.values())
        assert [p.name for p in params[:5]] == ["lr_hsi", "hr_msi", "ratio", "srf", "psf"], name
        assert all(p.default is None for p in params[2:5]), name
        assert all(p.kind is p.KEYWORD_ONLY for p in params[5:]), name


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


@pytest.mark.parametrize("name", FUSION)
def test_given_psf_is_used(name, wide_psf_problem):
    sim = wide_psf_problem
    method, quick = METHODS[name], QUICK.get(name, {})
    blind = psnr(method(sim.lr_hsi, sim.hr_msi, **quick), sim.reference)
    known = psnr(method(sim.lr_hsi, sim.hr_msi, psf=sim.psf, **quick), sim.reference)
    if name in ESTIMATE_PSF:  # the blind PSF is estimated: close to the known one
        assert blind >= known - 1.5, (blind, known)
    else:  # measured gains 4.5 (HySure with the Gaussian guess) to 14 dB (linear regression, GLP-HS)
        assert known >= blind + 3.0, (blind, known)


@pytest.mark.parametrize("name", ["gsa", "cnmf", "hysure"])
def test_given_srf_is_used(name, pavia_problem):
    sim = simulate(pavia_problem["reference"][:, :48, :48], 4, pavia_problem["srf"])
    right = psnr(METHODS[name](sim.lr_hsi, sim.hr_msi, srf=sim.srf), sim.reference)
    wrong = psnr(METHODS[name](sim.lr_hsi, sim.hr_msi, srf=sim.srf[:, ::-1]), sim.reference)
    assert right >= wrong + 5.0, (right, wrong)  # measured 10 (CNMF) to 15 dB


@pytest.mark.parametrize("name", FUSION)
def test_ratio_3_on_a_non_square_crop(name, pavia_problem):
    sim = simulate(pavia_problem["reference"][:, :60, :81], 3, pavia_problem["srf"])
    assert sim.lr_hsi.shape == (102, 20, 27)
    fused = METHODS[name](sim.lr_hsi, sim.hr_msi, **QUICK.get(name, {}))  # ratio 3 inferred from the sizes
    check_output(fused, (102, 60, 81))
    baseline = psnr(bicubic_upsample(sim.lr_hsi, 3), sim.reference)
    assert psnr(fused, sim.reference) >= baseline + 8.0  # measured 12 (GSA) to 15 dB
