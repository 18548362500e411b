"""optimise() and its hooks on a toy problem: the schedule, history, roll-back, hold-out selection, checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pfs2c2 import FusionConfig, FusionError, StageConfig
from pfs2c2.model.checkpoint import load_checkpoint
from pfs2c2.model.loop import (
    SNAPSHOT_EVERY,
    Checkpointer,
    HistoryLogger,
    HoldoutSelector,
    RollbackGuard,
    RunLog,
    Selection,
    StageRun,
    optimise,
)
from pfs2c2.model.stages import Stage


def toy_run(
    iterations: int = 100, lr: float = 0.05, patience: int = 0, schedule: StageConfig | None = None
) -> tuple[StageRun, torch.nn.Module]:
    torch.manual_seed(0)
    module = torch.nn.Linear(1, 1, bias=False)
    schedule = schedule or StageConfig(iterations, lr, iterations // 2, patience)
    iterations, lr = schedule.iterations, schedule.lr
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    run = StageRun(
        Stage.JOINT, schedule, opt, {"spe_up": module}, torch.Generator().manual_seed(0), RunLog(), iterations
    )
    return run, module


def quadratic(module: torch.nn.Module, target: float = 3.0):
    def step():
        return {"fit": (module.weight - target).pow(2).sum()}

    return step


def test_optimise_minimises_and_logs_on_schedule():
    run, module = toy_run(200, lr=0.1)
    seen = []
    logger = HistoryLogger(run, 50, lambda *a: seen.append(a))
    end = optimise(run, quadratic(module), RollbackGuard(run, 100.0, 5, None), logger)
    assert end == 200
    assert abs(module.weight.item() - 3.0) < 0.1
    logged = [r["iteration"] for r in run.log.history]
    assert logged == [1, 51, 101, 151, 200]
    assert all(set(r) == {"stage", "iteration", "loss", "fit"} and r["stage"] == 3 for r in run.log.history)
    assert type(run.log.history[0]["stage"]) is int
    assert seen[-1][:3] == (3, 200, 200) and "stage3" in run.log.timings


def rates_used(schedule: StageConfig) -> list[float]:
    """The learning rate the optimiser holds at each step of ``optimise`` on a toy problem."""
    run, module = toy_run(schedule=schedule)
    fit, used = quadratic(module), []

    def step():
        used.append(run.optimizer.param_groups[0]["lr"])
        return fit()

    optimise(run, step, RollbackGuard(run, 100.0, 5, None), HistoryLogger(run, 1000, None))
    return used


def authors_rates(lr0: float, iterations: int, decay_begin: int) -> list[float]:
    """The authors' loop (train.py of Welcome-to-LISA/PFS2C2): every epoch resets ``lr = lr0`` and, from
    epoch ``decay_begin`` on, gives the optimiser ``lr - lr0 / (iterations - decay_begin + 1)`` after
    its step; the next step uses what the optimiser holds."""
    held, used = lr0, []
    for epoch in range(1, iterations + 1):
        lr = lr0
        used.append(held)
        if epoch > decay_begin - 1:
            lr = lr - lr0 / (iterations - decay_begin + 1)
            held = lr
    return used


def test_faithful_stages_step_at_the_authors_rates():
    faithful = FusionConfig.preset_config("faithful")
    for stage in (faithful.stage1, faithful.stage2, faithful.stage3):
        # the preset's rule on a schedule short enough to run: 40 iterations, the rate drops at 20
        schedule = dataclasses.replace(stage, iterations=40, decay_start=20)
        used = rates_used(schedule)
        assert used == pytest.approx(authors_rates(stage.lr, 40, 20), rel=1e-12)
        assert used[19] == stage.lr and used[20] == pytest.approx(stage.lr * (1 - 1 / 21), rel=1e-12)


def test_linear_decay_steps_down_to_zero_unchanged():
    used = rates_used(StageConfig(10, 0.1, 4))
    assert used == pytest.approx([0.1] * 4 + [0.1 * (10 - i) / 6 for i in range(4, 10)], rel=1e-12)


def test_a_nan_loss_rolls_back_and_halves_the_learning_rate():
    run, module = toy_run(100)
    base = quadratic(module)
    calls = [0]

    def step():
        calls[0] += 1
        terms = base()
        return {"fit": terms["fit"] * float("nan")} if calls[0] == 60 else terms

    optimise(run, step, RollbackGuard(run, 100.0, 5, None), HistoryLogger(run, 1000, None))
    events = [r for r in run.log.history if "event" in r]
    assert len(events) == 1 and "rolled back to iteration 51" in events[0]["event"]
    assert run.lr_scale == 0.5 and run.retries == 1
    assert np.isfinite(module.weight.item())


def test_persistent_divergence_raises_and_saves_the_last_good_state(tmp_path):
    run, module = toy_run(100)
    base = quadratic(module)

    def step():
        return {"fit": base()["fit"] + float("nan")}

    checkpointer = Checkpointer(tmp_path / "c.ckpt", 3600.0, "id")
    with pytest.raises(FusionError, match="kept diverging after 2 roll-backs"):
        optimise(run, step, RollbackGuard(run, 100.0, 2, checkpointer), HistoryLogger(run, 1000, None))
    state = load_checkpoint(tmp_path / "c.ckpt", "id")
    assert state.stage == 3 and state.iteration == 0 and state.retries == 2


def test_snapshots_go_to_the_checkpoint_when_due(tmp_path):
    run, module = toy_run(60)
    checkpointer = Checkpointer(tmp_path / "c.ckpt", 0.0, "id")
    optimise(run, quadratic(module), RollbackGuard(run, 100.0, 5, checkpointer), HistoryLogger(run, 1000, None))
    state = load_checkpoint(tmp_path / "c.ckpt", "id")
    assert state.iteration == 2 * SNAPSHOT_EVERY and state.selection == Selection().to_dict()


def test_holdout_selector_keeps_the_best_modules_and_stops_by_patience():
    run, module = toy_run(400, lr=0.1, patience=100)
    # the score is best when the weight is near 1: the loss drives it on to 3, so the selection must stop it
    selector = HoldoutSelector(run, lambda: abs(module.weight.item() - 1.0), patience=100)
    end = optimise(run, quadratic(module), RollbackGuard(run, 100.0, 5, None), HistoryLogger(run, 1000, None), selector)
    scores = [r for r in run.log.history if "holdout_mse" in r]
    best = min(scores, key=lambda r: r["holdout_mse"])
    assert run.selection.iteration == best["iteration"] and end < 400
    assert any("stopped" in r.get("event", "") for r in run.log.history)
    kept = [r for r in run.log.history if "kept the modules" in r.get("event", "")]
    assert kept and f"iteration {best['iteration']} " in kept[0]["event"]
    assert abs(module.weight.item() - 1.0) == pytest.approx(best["holdout_mse"])


def test_selection_round_trips_through_a_plain_dict():
    states = {"spe_up": {"weight": torch.ones(1)}}
    selection = Selection(score=0.5, iteration=100, modules=states, start=states, stop_at=300)
    data = selection.to_dict()
    assert set(data) == {"score", "iteration", "modules", "start", "stop_at"}
    assert Selection.from_dict(data) == selection
    assert set(Selection().to_dict()) == {"score", "iteration", "modules"}
