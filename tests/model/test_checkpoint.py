"""Checkpoints, resume and divergence roll-back of fuse() (API level; the CLI kill test is in test_cli_resume)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pfs2c2 import FusionConfig, FusionError, InputError, StageConfig, fuse
from pfs2c2.config import RunOptions
from pfs2c2.model.checkpoint import TrainingState, fingerprint, load_checkpoint, member_checkpoint, save_checkpoint
from pfs2c2.model.modules import SpectralUp


def small_config(**changes) -> FusionConfig:
    stages = {
        "stage1": StageConfig(60, 5e-3, 30),
        "stage2": StageConfig(120, 2e-2, 60),
        "stage3": StageConfig(120, 2e-3, 60),
    }
    return dataclasses.replace(FusionConfig.preset_config("fast"), **{**stages, "log_every": 10, **changes})


def run(**options) -> RunOptions:
    """One CPU thread, as the checkpoint tests always ran (reruns are then bit-identical)."""
    return RunOptions(device="cpu", threads=1, **options)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(5)
    endmembers = rng.random((12, 4))
    abundance = rng.dirichlet(np.ones(4), size=(32, 32)).transpose(2, 0, 1)
    hr_hsi = np.einsum("ck,khw->chw", endmembers, abundance)
    lr = hr_hsi.reshape(12, 8, 4, 8, 4).mean(axis=(2, 4))
    srf = np.zeros((12, 3))
    srf[0:4, 0], srf[4:8, 1], srf[8:12, 2] = 0.25, 0.25, 0.25
    hr = np.einsum("chw,cm->mhw", hr_hsi, srf)
    return lr.astype(np.float32), hr.astype(np.float32)


class Interrupt(Exception):
    pass


def interrupt_at(stage_at: int, iteration_at: int):
    def callback(stage, iteration, total, loss):
        if stage == stage_at and iteration >= iteration_at:
            raise Interrupt

    return callback


@pytest.mark.parametrize("stage_at, iteration_at", [(1, 40), (2, 70), (3, 60)])
def test_resume_after_interrupt_is_bit_identical(problem, tmp_path, stage_at, iteration_at):
    lr, hr = problem
    reference = fuse(lr, hr, config=small_config(), run=run())
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(Interrupt):
        fuse(
            lr,
            hr,
            config=small_config(),
            run=run(checkpoint=ckpt, checkpoint_every=0, callback=interrupt_at(stage_at, iteration_at)),
        )
    assert ckpt.exists()
    saved = torch.load(ckpt, weights_only=True)
    assert saved["stage"] == stage_at and 0 < saved["iteration"] < iteration_at
    resumed = fuse(lr, hr, config=small_config(), run=run(checkpoint=ckpt, resume=True))
    np.testing.assert_array_equal(resumed.fused, reference.fused)
    np.testing.assert_array_equal(resumed.psf, reference.psf)
    assert resumed.history == reference.history
    assert not ckpt.exists()  # removed after success


def test_checkpoint_refuses_other_run_and_unasked_resume(problem, tmp_path):
    lr, hr = problem
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(Interrupt):
        fuse(lr, hr, config=small_config(), run=run(checkpoint=ckpt, checkpoint_every=0, callback=interrupt_at(3, 30)))
    with pytest.raises(InputError, match="exists from an earlier run"):
        fuse(lr, hr, config=small_config(), run=run(checkpoint=ckpt))
    with pytest.raises(InputError, match="other inputs or settings"):
        fuse(lr, hr, config=small_config(seed=3), run=run(checkpoint=ckpt, resume=True))
    with pytest.raises(InputError, match="other inputs or settings"):
        fuse(lr * 1.01, hr, config=small_config(), run=run(checkpoint=ckpt, resume=True))
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot be read"):
        fuse(lr, hr, config=small_config(), run=run(checkpoint=ckpt, resume=True))


def nan_once_at(monkeypatch, call_number: int, times: int = 1) -> list[int]:
    """Make SpectralUp return NaN on calls call_number .. call_number + times - 1."""
    calls = [0]
    original = SpectralUp.forward

    def forward(self, msi):
        calls[0] += 1
        out = original(self, msi)
        if call_number <= calls[0] < call_number + times:
            return out * float("nan")
        return out

    monkeypatch.setattr(SpectralUp, "forward", forward)
    return calls


def test_nan_loss_rolls_back_lowers_lr_and_recovers(problem, monkeypatch, caplog):
    lr, hr = problem
    clean = fuse(lr, hr, config=small_config(), run=run())
    nan_once_at(monkeypatch, call_number=250)  # stage 3: stage 1 makes 120 SpeUp calls, stage 3 two per iteration
    with caplog.at_level("WARNING", logger="pfs2c2"):
        result = fuse(lr, hr, config=small_config(), run=run())
    events = [r for r in result.history if "rolled back" in r.get("event", "")]
    assert len(events) == 1 and events[0]["stage"] == 3 and "rolled back" in events[0]["event"]
    assert "diverged" in caplog.text
    assert np.all(np.isfinite(result.fused))
    # the run continued from the last good state with half the learning rate: close to the clean run
    rel = np.abs(result.fused - clean.fused).mean() / np.abs(clean.fused).mean()
    assert rel < 0.05, rel


def test_persistent_divergence_stops_with_error_and_keeps_good_checkpoint(problem, monkeypatch, tmp_path):
    lr, hr = problem
    nan_once_at(monkeypatch, call_number=250, times=10**6)
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(FusionError, match="kept diverging"):
        fuse(lr, hr, config=small_config(divergence_retries=3), run=run(checkpoint=ckpt, checkpoint_every=3600))
    saved = torch.load(ckpt, weights_only=True)
    assert saved["stage"] == 3 and saved["retries"] == 3
    assert all(torch.isfinite(v).all() for m in saved["modules"].values() for v in m.values() if v.is_floating_point())


def test_hold_out_selection_keeps_the_best_scoring_state_and_stops_early(problem):
    lr, hr = problem
    cfg = small_config(holdout_fraction=0.2, stage3=StageConfig(400, 2e-3, 200, patience=100))
    result = fuse(lr, hr, config=cfg, run=run())
    scores = [r for r in result.history if "holdout_mse" in r]
    assert scores[0]["iteration"] == 0 and len(scores) >= 3
    best = min(scores, key=lambda r: r["holdout_mse"])
    kept = next(r for r in result.history if "kept the modules" in r.get("event", ""))
    assert f"iteration {best['iteration']} " in kept["event"]
    stopped = [r for r in result.history if "stopped" in r.get("event", "")]
    if stopped:  # patience ran out: no score after the stop, and the stop is patience after the best
        assert stopped[0]["iteration"] - best["iteration"] >= 100
        assert scores[-1]["iteration"] <= stopped[0]["iteration"]
    else:
        assert scores[-1]["iteration"] == 400


def retrain_config() -> FusionConfig:
    return small_config(holdout_fraction=0.2, holdout_retrain=True, stage3=StageConfig(300, 2e-3, 150, patience=0))


def chosen_iterations(history) -> int:
    event = next(r for r in history if r.get("stage") == 4 and "event" in r)
    return int(event["event"].split("for the ")[1].split()[0])


def test_retrain_runs_stage_3_again_on_all_pixels_for_the_chosen_length(problem):
    lr, hr = problem
    result = fuse(lr, hr, config=retrain_config(), run=run())
    scores = [r for r in result.history if "holdout_mse" in r]
    best = min(scores, key=lambda r: r["holdout_mse"])["iteration"]
    assert chosen_iterations(result.history) == best
    stage4 = [r for r in result.history if r["stage"] == 4 and "loss" in r]
    assert stage4 and max(r["iteration"] for r in stage4) == best
    assert "stage4" in result.timings
    no_retrain = fuse(
        lr,
        hr,
        config=small_config(holdout_fraction=0.2, holdout_retrain=False, stage3=retrain_config().stage3),
        run=run(),
    )
    assert not any(r["stage"] == 4 for r in no_retrain.history)
    assert np.abs(result.fused - no_retrain.fused).max() > 1e-4  # the held-out pixels changed the result


def test_resume_inside_the_retraining_is_bit_identical(problem, tmp_path):
    lr, hr = problem
    reference = fuse(lr, hr, config=retrain_config(), run=run())
    n = chosen_iterations(reference.history)
    assert n >= 60, "the test needs a retraining long enough to checkpoint inside it"
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(Interrupt):
        fuse(
            lr,
            hr,
            config=retrain_config(),
            run=run(checkpoint=ckpt, checkpoint_every=0, callback=interrupt_at(4, n - 5)),
        )
    saved = torch.load(ckpt, weights_only=True)
    assert saved["stage"] == 4 and saved["selection"]["stop_at"] == n
    resumed = fuse(lr, hr, config=retrain_config(), run=run(checkpoint=ckpt, resume=True))
    np.testing.assert_array_equal(resumed.fused, reference.fused)
    assert resumed.history == reference.history


def test_resume_inside_the_second_run_of_an_ensemble_is_bit_identical(problem, tmp_path):
    lr, hr = problem
    reference = fuse(lr, hr, config=small_config(ensemble=2), run=run())
    ckpt = tmp_path / "run.ckpt"
    stages = []

    def interrupt_in_second_run(stage, iteration, total, loss):
        if stages and stage < stages[-1]:
            stages.append(-1)  # the second run has started
        stages.append(stage)
        if -1 in stages and stage == 2 and iteration >= 70:
            raise Interrupt

    with pytest.raises(Interrupt):
        fuse(
            lr,
            hr,
            config=small_config(ensemble=2),
            run=run(checkpoint=ckpt, checkpoint_every=0, callback=interrupt_in_second_run),
        )
    first, second = ckpt, tmp_path / "run.ckpt.member1"
    assert torch.load(first, weights_only=True)["stage"] == 5  # the first run finished
    assert torch.load(second, weights_only=True)["stage"] == 2
    with pytest.raises(InputError, match="exists from an earlier run"):
        fuse(lr, hr, config=small_config(ensemble=2), run=run(checkpoint=ckpt))
    resumed = fuse(lr, hr, config=small_config(ensemble=2), run=run(checkpoint=ckpt, resume=True))
    np.testing.assert_array_equal(resumed.fused, reference.fused)
    assert resumed.history == reference.history
    assert not first.exists() and not second.exists()


def test_fingerprint_hashes_inputs_and_the_whole_config():
    arrays = {"lr_hsi": np.ones((3, 2, 2), np.float32), "psf": None}
    base = fingerprint(arrays, FusionConfig().to_dict())
    assert base == fingerprint(dict(arrays), FusionConfig().to_dict())
    assert base != fingerprint(arrays, dataclasses.replace(FusionConfig(), log_every=10).to_dict())
    assert base != fingerprint({**arrays, "lr_hsi": np.zeros((3, 2, 2), np.float32)}, FusionConfig().to_dict())


def test_checkpoint_file_round_trip_and_member_names(tmp_path):
    module = torch.nn.Linear(2, 1)
    state = TrainingState.capture(3, 7, {"spe_up": module}, None, torch.Generator().manual_seed(1), lr_scale=0.5)
    assert type(state.stage) is int and state.stage == 3  # plain int, so torch.load(weights_only=True) reads it
    path = tmp_path / "run.ckpt"
    save_checkpoint(path, state, "abc")
    loaded = load_checkpoint(path, "abc")
    assert (loaded.stage, loaded.iteration, loaded.lr_scale) == (3, 7, 0.5)
    torch.testing.assert_close(loaded.modules["spe_up"]["weight"], module.weight.detach())
    with pytest.raises(InputError, match="other inputs or settings"):
        load_checkpoint(path, "other")
    assert member_checkpoint(path, 0) == path and member_checkpoint(path, 2).name == "run.ckpt.member2"
