"""fuse(): quality (a fast synthetic scene; the real Pavia scene in the slow suite), generality,
repeatability, ensembles, progress and input errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pfs2c2 import FusionConfig, StageConfig, evaluate, fuse
from pfs2c2.baselines import bicubic_upsample, linear_regression_fusion
from pfs2c2.config import RunOptions
from pfs2c2.fusion import FusionResult, RunResult
from pfs2c2.scenes import synthetic_scene
from pfs2c2.sensors import band_support
from pfs2c2.simulation import simulate

CPU = RunOptions(device="cpu")


def tiny_config(**changes) -> FusionConfig:
    cfg = FusionConfig.preset_config("fast")
    stages = {
        "stage1": StageConfig(20, 5e-3, 10),
        "stage2": StageConfig(40, 2e-2, 20),
        "stage3": StageConfig(20, 2e-3, 10),
    }
    return dataclasses.replace(cfg, **{**stages, **changes})


@pytest.fixture(scope="module")
def synthetic_problem():
    """A 32 x 32 x 24 synthetic scene, ratio 4, a smooth 4-band SRF, Gaussian PSF (the regression scene)."""
    reference, wavelengths = synthetic_scene(size=32, bands=24, seed=3)
    centres = np.array([460.0, 560.0, 660.0, 840.0])
    srf = np.exp(-0.5 * ((wavelengths[:, None] - centres[None, :]) / 45.0) ** 2)
    srf /= srf.sum(0, keepdims=True)
    return simulate(reference, 4, srf)


@pytest.fixture(scope="module")
def blind_fast(synthetic_problem):
    sim = synthetic_problem
    return fuse(sim.lr_hsi, sim.hr_msi, config=FusionConfig.preset_config("fast"), run=CPU)


def test_blind_fast_preset_beats_bicubic_by_10_db_and_learns_the_psf(synthetic_problem, blind_fast):
    """The fast stand-in of the Pavia quality tests below (a few seconds)."""
    sim = synthetic_problem
    fused = evaluate(blind_fast.fused, sim.reference, 4)
    bicubic = evaluate(bicubic_upsample(sim.lr_hsi, 4), sim.reference, 4)
    assert fused["psnr"] >= bicubic["psnr"] + 10.0, (fused, bicubic)
    assert fused["sam"] < bicubic["sam"]
    assert blind_fast.psf_learned and blind_fast.srf_learned
    assert np.all(blind_fast.psf >= 0) and blind_fast.psf.sum() == pytest.approx(1.0)
    assert np.abs(blind_fast.psf - sim.psf).max() < 0.01
    np.testing.assert_allclose(blind_fast.srf.sum(0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(blind_fast.srf_gain, 1.0, atol=0.02)  # the simulated MSI has unit gain


def test_result_records_three_stages(blind_fast):
    assert isinstance(blind_fast, FusionResult) and isinstance(blind_fast, RunResult)
    stages = {record["stage"] for record in blind_fast.history}
    assert stages == {1, 2, 3}
    assert all(type(record["stage"]) is int for record in blind_fast.history)  # plain ints, not the Stage enum
    assert set(blind_fast.timings) == {"stage1", "stage2", "stage3", "total"}
    losses = [r for r in blind_fast.history if r["stage"] == 3 and "loss" in r]
    assert losses[-1]["loss"] < losses[0]["loss"]
    assert set(blind_fast.modules) == {"spe_up", "spa_up", "spe_down", "spa_down"}
    assert blind_fast.device == "cpu"


@pytest.fixture(scope="module")
def blind_pavia(pavia_problem):
    sim = pavia_problem["sim"]
    return fuse(sim.lr_hsi, sim.hr_msi, srf_support=band_support(pavia_problem["srf"]))


@pytest.mark.slow
def test_blind_default_beats_bicubic_by_10_db_on_pavia(pavia_problem, blind_pavia):
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    fused = evaluate(blind_pavia.fused, reference, 4)
    bicubic = evaluate(bicubic_upsample(sim.lr_hsi, 4), reference, 4)
    assert fused["psnr"] >= bicubic["psnr"] + 10.0, (fused, bicubic)
    assert fused["sam"] < bicubic["sam"]


@pytest.mark.slow
def test_default_preset_runs_in_time_on_pavia(blind_pavia):
    # the target is < 120 s on 2 idle cores; one run takes ~40 s, the default averages two. The test allows twice
    # the target so that a loaded machine does not fail it, while a gross slowdown still does (slow suite only).
    assert blind_pavia.timings["total"] < 240.0, blind_pavia.timings


@pytest.mark.slow
def test_blind_learns_the_true_psf_and_srf(pavia_problem, blind_pavia):
    sim = pavia_problem["sim"]
    assert blind_pavia.psf.shape == (4, 4)
    assert np.all(blind_pavia.psf >= 0) and blind_pavia.psf.sum() == pytest.approx(1.0)
    assert np.abs(blind_pavia.psf - sim.psf).max() < 0.01
    assert blind_pavia.srf.shape == (102, 4)
    np.testing.assert_allclose(blind_pavia.srf.sum(0), 1.0, rtol=1e-5)
    assert np.abs(blind_pavia.srf - sim.srf).max() < 0.03
    np.testing.assert_allclose(blind_pavia.srf_gain, 1.0, atol=0.02)  # the simulated MSI has unit gain


@pytest.mark.slow
def test_pavia_result_records_three_stages(blind_pavia):
    stages = {record["stage"] for record in blind_pavia.history}
    assert stages == {1, 2, 3}
    assert set(blind_pavia.timings) == {"stage1", "stage2", "stage3", "total"}
    losses = [r for r in blind_pavia.history if r["stage"] == 3 and "loss" in r]
    assert losses[-1]["loss"] < losses[0]["loss"]


@pytest.mark.slow
def test_default_beats_the_closed_form_baseline_on_pavia(pavia_problem, blind_pavia):
    """Issue 4: the default preset must beat linear regression + residual on a real crop."""
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    ours = evaluate(blind_pavia.fused, reference, 4)
    baseline = evaluate(linear_regression_fusion(sim.lr_hsi, sim.hr_msi, 4), reference, 4)
    # measured: 47.76 dB / 9.59 deg against 46.90 dB / 9.70 deg
    assert ours["psnr"] > baseline["psnr"] + 0.4, (ours, baseline)
    assert ours["sam"] < baseline["sam"], (ours, baseline)


@pytest.mark.slow
def test_non_blind_is_at_least_as_good_as_blind(pavia_problem, blind_pavia):
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    known = fuse(sim.lr_hsi, sim.hr_msi, srf=sim.srf, psf=sim.psf)
    assert not known.psf_learned and not known.srf_learned
    np.testing.assert_allclose(known.psf, sim.psf)
    psnr_known = evaluate(known.fused, reference, 4)["psnr"]
    psnr_blind = evaluate(blind_pavia.fused, reference, 4)["psnr"]
    # blind learns the PSF to 1e-4 here, so both solve nearly the same problem; over seeds 0-2 the
    # blind runs gave 47.39-47.46 dB and the non-blind 47.27-47.52 dB: allow that seed spread
    assert psnr_known >= psnr_blind - 0.3, (psnr_known, psnr_blind)


def test_non_blind_fast_preset_keeps_the_known_operators(synthetic_problem, blind_fast):
    """The fast stand-in of the non-blind Pavia test: the known PSF/SRF come back, quality as blind."""
    sim = synthetic_problem
    known = fuse(sim.lr_hsi, sim.hr_msi, srf=sim.srf, psf=sim.psf, config=FusionConfig.preset_config("fast"), run=CPU)
    assert not known.psf_learned and not known.srf_learned
    np.testing.assert_allclose(known.psf, sim.psf)
    np.testing.assert_allclose(known.srf * known.srf_gain, sim.srf, rtol=1e-5, atol=1e-7)
    psnr_known = evaluate(known.fused, sim.reference, 4)["psnr"]
    psnr_blind = evaluate(blind_fast.fused, sim.reference, 4)["psnr"]
    assert psnr_known >= psnr_blind - 1.0, (psnr_known, psnr_blind)


@pytest.mark.parametrize("msi_bands, hsi_bands, ratio", [(2, 3, 2), (3, 31, 3), (8, 12, 5), (4, 20, 4)])
def test_any_band_counts_and_ratio(msi_bands, hsi_bands, ratio):
    rng = np.random.default_rng(0)
    lr = rng.random((hsi_bands, 4, 5)).astype(np.float32)
    hr = rng.random((msi_bands, 4 * ratio, 5 * ratio)).astype(np.float32)
    result = fuse(lr, hr, config=tiny_config())
    assert result.ratio == ratio
    assert result.fused.shape == (hsi_bands, 4 * ratio, 5 * ratio)
    assert result.psf.shape == (ratio, ratio) and result.srf.shape == (hsi_bands, msi_bands)
    assert np.all(np.isfinite(result.fused))


def test_hwc_layout_round_trips_and_known_psf_only():
    rng = np.random.default_rng(1)
    lr, hr = rng.random((5, 5, 10)), rng.random((20, 20, 3))
    result = fuse(lr, hr, psf=np.full((4, 4), 1 / 16), config=tiny_config(), layout="hwc")
    assert result.fused.shape == (20, 20, 10)
    assert not result.psf_learned and result.srf_learned
    np.testing.assert_allclose(result.psf, 1 / 16)


def test_same_seed_gives_identical_cpu_results_and_other_seed_differs():
    rng = np.random.default_rng(2)
    lr, hr = rng.random((10, 6, 6)), rng.random((3, 24, 24))
    a = fuse(lr, hr, config=tiny_config(seed=7), run=CPU)
    b = fuse(lr, hr, config=tiny_config(seed=7), run=CPU)
    c = fuse(lr, hr, config=tiny_config(seed=8), run=CPU)
    np.testing.assert_array_equal(a.fused, b.fused)
    assert not np.array_equal(a.fused, c.fused)


def test_run_options_do_not_change_the_result():
    rng = np.random.default_rng(2)
    lr, hr = rng.random((10, 6, 6)), rng.random((3, 24, 24))
    plain = fuse(lr, hr, config=tiny_config(seed=7), run=CPU)
    seen = []
    observed = fuse(
        lr, hr, config=tiny_config(seed=7), run=RunOptions(device="cpu", callback=lambda *a: seen.append(a))
    )
    np.testing.assert_array_equal(plain.fused, observed.fused)
    assert seen and plain.history == observed.history


def test_ensemble_is_the_mean_of_runs_with_consecutive_seeds():
    rng = np.random.default_rng(4)
    lr, hr = rng.random((10, 6, 6)), rng.random((3, 24, 24))
    runs = [fuse(lr, hr, config=tiny_config(seed=seed), run=CPU) for seed in (7, 8)]
    both = fuse(lr, hr, config=tiny_config(seed=7, ensemble=2), run=CPU)
    np.testing.assert_array_equal(
        both.fused, np.mean([r.fused for r in runs], axis=0, dtype=np.float64).astype(np.float32)
    )
    np.testing.assert_allclose(both.psf, (runs[0].psf + runs[1].psf) / 2, rtol=1e-12)
    np.testing.assert_allclose(both.srf, (runs[0].srf + runs[1].srf) / 2, rtol=1e-12)
    assert both.history == [{**rec, "member": k} for k, r in enumerate(runs) for rec in r.history]
    assert set(both.timings) == set(runs[0].timings)
    assert both.config.seed == 7 and both.config.ensemble == 2


def test_callback_sees_every_stage():
    seen = []
    rng = np.random.default_rng(3)
    fuse(
        rng.random((6, 4, 4)),
        rng.random((2, 8, 8)),
        config=tiny_config(),
        run=RunOptions(callback=lambda *a: seen.append(a)),
    )
    assert {s for s, *_ in seen} == {1, 2, 3}
    assert all(it <= total for _, it, total, _ in seen)


def test_fuse_takes_everything_after_the_images_by_keyword():
    rng = np.random.default_rng(3)
    with pytest.raises(TypeError):
        fuse(rng.random((6, 4, 4)), rng.random((2, 8, 8)), 2)  # type: ignore[misc]


def test_both_stage_1_weights_zero_is_refused_before_training():
    """Used to pass validation and then die in fuse with AttributeError ('int' object has no attribute 'item')."""
    with pytest.raises(ValueError, match="anchor_weight and agreement_weight are both 0") as info:
        fuse(np.ones((6, 4, 4)), np.ones((2, 8, 8)), config=tiny_config(anchor_weight=0.0, agreement_weight=0.0))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "lr_shape, hr_shape, kwargs, message",
    [
        ((6, 4), (2, 8, 8), {}, "3-D"),
        ((6, 4, 4), (2, 9, 8), {}, "integer multiple"),
        ((6, 4, 4), (2, 8, 8), {"ratio": 3}, "contradicts"),
        ((6, 4, 4), (7, 8, 8), {}, "more bands"),
        ((6, 4, 4), (2, 8, 8), {"srf": np.ones((5, 2))}, "SRF has shape"),
        ((6, 4, 4), (2, 8, 8), {"srf": np.ones((2, 6))}, "transpose"),
        ((6, 4, 4), (2, 4, 4), {}, "ratio >= 2"),
    ],
)
def test_bad_inputs_raise_one_line_errors(lr_shape, hr_shape, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        fuse(np.ones(lr_shape), np.ones(hr_shape), config=tiny_config(), **kwargs)
    assert "\n" not in str(info.value)


def test_nan_input_is_rejected():
    lr = np.ones((6, 4, 4))
    lr[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fuse(lr, np.ones((2, 8, 8)), config=tiny_config())
