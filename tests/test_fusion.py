"""fuse(): quality on a real scene (blind and non-blind), generality, repeatability, input errors."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import FusionConfig, StageConfig, evaluate, fuse
from pfs2c2.baselines import bicubic_upsample, linear_regression_fusion
from pfs2c2.sensors import band_support


def tiny_config(**changes) -> FusionConfig:
    cfg = FusionConfig.preset_config("fast")
    cfg.stage1, cfg.stage2, cfg.stage3 = StageConfig(20, 5e-3, 10), StageConfig(40, 2e-2, 20), StageConfig(20, 2e-3, 10)
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


@pytest.fixture(scope="module")
def blind_pavia(pavia_problem):
    sim = pavia_problem["sim"]
    return fuse(sim.lr_hsi, sim.hr_msi, srf_support=band_support(pavia_problem["srf"]))


def test_blind_default_beats_bicubic_by_10_db_on_pavia(pavia_problem, blind_pavia):
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    fused = evaluate(blind_pavia.fused, reference, 4)
    bicubic = evaluate(bicubic_upsample(sim.lr_hsi, 4), reference, 4)
    assert fused["psnr"] >= bicubic["psnr"] + 10.0, (fused, bicubic)
    assert fused["sam"] < bicubic["sam"]
    # the target is < 120 s on 2 idle cores; one run takes ~40 s, the default averages two. The test allows twice
    # the target so that a loaded CI machine does not fail it, while a gross slowdown still does.
    assert blind_pavia.timings["total"] < 240.0, blind_pavia.timings


def test_blind_learns_the_true_psf_and_srf(pavia_problem, blind_pavia):
    sim = pavia_problem["sim"]
    assert blind_pavia.psf.shape == (4, 4)
    assert np.all(blind_pavia.psf >= 0) and blind_pavia.psf.sum() == pytest.approx(1.0)
    assert np.abs(blind_pavia.psf - sim.psf).max() < 0.01
    assert blind_pavia.srf.shape == (102, 4)
    np.testing.assert_allclose(blind_pavia.srf.sum(0), 1.0, rtol=1e-5)
    assert np.abs(blind_pavia.srf - sim.srf).max() < 0.03
    np.testing.assert_allclose(blind_pavia.srf_gain, 1.0, atol=0.02)  # the simulated MSI has unit gain


def test_result_records_three_stages(blind_pavia):
    stages = {record["stage"] for record in blind_pavia.history}
    assert stages == {1, 2, 3}
    assert set(blind_pavia.timings) == {"stage1", "stage2", "stage3", "total"}
    losses = [r for r in blind_pavia.history if r["stage"] == 3 and "loss" in r]
    assert losses[-1]["loss"] < losses[0]["loss"]


def test_default_beats_the_closed_form_baseline_on_pavia(pavia_problem, blind_pavia):
    """Issue 4: the default preset must beat linear regression + residual (GUIDE section 6) on a real crop."""
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    ours = evaluate(blind_pavia.fused, reference, 4)
    baseline = evaluate(linear_regression_fusion(sim.lr_hsi, sim.hr_msi, 4), reference, 4)
    # measured: 47.76 dB / 9.59 deg against 46.90 dB / 9.70 deg
    assert ours["psnr"] > baseline["psnr"] + 0.4, (ours, baseline)
    assert ours["sam"] < baseline["sam"], (ours, baseline)



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
    a = fuse(lr, hr, config=tiny_config(seed=7, device="cpu"))
    b = fuse(lr, hr, config=tiny_config(seed=7, device="cpu"))
    c = fuse(lr, hr, config=tiny_config(seed=8, device="cpu"))
    np.testing.assert_array_equal(a.fused, b.fused)
    assert not np.array_equal(a.fused, c.fused)


def test_ensemble_is_the_mean_of_runs_with_consecutive_seeds():
    rng = np.random.default_rng(4)
    lr, hr = rng.random((10, 6, 6)), rng.random((3, 24, 24))
    runs = [fuse(lr, hr, config=tiny_config(seed=seed, device="cpu")) for seed in (7, 8)]
    both = fuse(lr, hr, config=tiny_config(seed=7, device="cpu", ensemble=2))
    np.testing.assert_array_equal(both.fused, np.mean([r.fused for r in runs], axis=0, dtype=np.float64).astype(np.float32))
    np.testing.assert_allclose(both.psf, (runs[0].psf + runs[1].psf) / 2, rtol=1e-12)
    np.testing.assert_allclose(both.srf, (runs[0].srf + runs[1].srf) / 2, rtol=1e-12)
    assert both.history == [{**rec, "member": k} for k, r in enumerate(runs) for rec in r.history]
    assert set(both.timings) == set(runs[0].timings)


def test_default_preset_averages_two_runs_and_faithful_one():
    assert FusionConfig().ensemble == 2
    assert FusionConfig.preset_config("faithful").ensemble == 1


def test_callback_sees_every_stage():
    seen = []
    rng = np.random.default_rng(3)
    fuse(rng.random((6, 4, 4)), rng.random((2, 8, 8)), config=tiny_config(), callback=lambda *a: seen.append(a))
    assert {s for s, *_ in seen} == {1, 2, 3}
    assert all(it <= total for _, it, total, _ in seen)


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
