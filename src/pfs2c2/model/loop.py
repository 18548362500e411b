"""The optimisation loop of one stage and its hooks.

:func:`optimise` is Adam with the stage's learning-rate schedule. Everything else a stage needs is a
hook with one job:

* :class:`RollbackGuard`: every ``SNAPSHOT_EVERY`` iterations whose loss is finite, keep the state at
  the start of that iteration in memory (the roll-back point, handed to the :class:`Checkpointer`).
  A NaN/Inf loss, or one above ``divergence_factor`` times the stage's best loss, restores the last
  snapshot and halves the learning rate; after ``divergence_retries`` such events the run stops with
  :class:`~pfs2c2.errors.FusionError`.
* :class:`HoldoutSelector`: score the modules every ``VALIDATE_EVERY`` iterations (lower is better,
  computed on pixels the losses do not see), stop once the score has not improved for ``patience``
  iterations (0 = never early) and end with the best-scoring modules.
* :class:`Checkpointer`: write a snapshot to the checkpoint file when ``every`` seconds have passed.
* :class:`HistoryLogger`: record the loss terms every ``log_every`` iterations and report progress.

Reading the loss makes a GPU wait, so the loop reads it only where a hook needs it (snapshots, logs,
progress); a NaN between two checks spoils the parameters, which the next check sees and rolls back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import ProgressCallback, StageConfig
from ..errors import FusionError
from .checkpoint import ModuleStates, TrainingState, copy_states, save_checkpoint
from .losses import Terms, total_loss
from .stages import Stage

logger = logging.getLogger("pfs2c2")

SNAPSHOT_EVERY = 25
"""Iterations between in-memory snapshots (the roll-back points and what checkpoints save)."""

VALIDATE_EVERY = 50
"""Iterations between hold-out scores in stage 3."""


@dataclass
class RunLog:
    """The history records and seconds per stage of one run (shared by its stages)."""

    history: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Selection:
    """What the hold-out chose, kept with every snapshot so that it survives a resume.

    Attributes:
        score: best hold-out score so far; iteration: the iteration whose modules scored it.
        modules: those modules' states (None before the first score).
        start: the states stage 3 started from (for the retraining on all pixels), if kept.
        stop_at: the retraining's length (set while it runs).
    """

    score: float = float("inf")
    iteration: int = 0
    modules: ModuleStates | None = None
    start: ModuleStates | None = None
    stop_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for checkpoints (``start``/``stop_at`` only when set)."""
        out: dict[str, Any] = {"score": self.score, "iteration": self.iteration, "modules": self.modules}
        if self.start is not None:
            out["start"] = self.start
        if self.stop_at is not None:
            out["stop_at"] = self.stop_at
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass
class StageRun:
    """The live state of one stage's optimisation (what a snapshot captures, besides the modules)."""

    stage: Stage
    schedule: StageConfig
    optimizer: torch.optim.Optimizer
    modules: dict[str, nn.Module]
    generator: torch.Generator
    log: RunLog
    end: int
    start: int = 0
    lr_scale: float = 1.0
    retries: int = 0
    started: float = 0.0
    selection: Selection = field(default_factory=Selection)

    def capture(self, iteration: int, generator_state: torch.Tensor) -> TrainingState:
        """The state at the start of ``iteration``, with the HR-batch generator in ``generator_state``."""
        state = TrainingState.capture(
            self.stage,
            iteration,
            self.modules,
            self.optimizer,
            self.generator,
            lr_scale=self.lr_scale,
            retries=self.retries,
            history=list(self.log.history),
            timings=dict(self.log.timings),
            stage_elapsed=time.perf_counter() - self.started,
            selection=self.selection.to_dict(),
        )
        state.generator = generator_state
        return state

    def event(self, iteration: int, message: str) -> None:
        """Add an event record to the history."""
        self.log.history.append({"stage": int(self.stage), "iteration": iteration, "event": message})


class Checkpointer:
    """Writes training states to ``path`` (atomically), at most every ``every`` seconds when asked."""

    def __init__(self, path: Path, every: float, run_id: str) -> None:
        self.path, self.every, self.run_id = path, every, run_id
        self.last_save = time.perf_counter()

    def save(self, state: TrainingState) -> None:
        """Write ``state`` now."""
        save_checkpoint(self.path, state, self.run_id)
        self.last_save = time.perf_counter()

    def maybe_save(self, state: TrainingState) -> None:
        """Write ``state`` if ``every`` seconds have passed since the last write."""
        if time.perf_counter() - self.last_save >= self.every:
            self.save(state)


class RollbackGuard:
    """Keeps the last good state and rolls back to it when the loss diverges."""

    def __init__(self, run: StageRun, factor: float, retries: int, checkpointer: Checkpointer | None) -> None:
        self.run, self.factor, self.allowed, self.checkpointer = run, factor, retries, checkpointer
        self.best = float("inf")
        self.good = run.capture(run.start, run.generator.get_state())

    def snapshot_due(self, iteration: int) -> torch.Tensor | None:
        """The generator state at the start of a snapshot iteration, else None."""
        return self.run.generator.get_state() if iteration % SNAPSHOT_EVERY == 0 else None

    def check(self, iteration: int, value: float, generator_state: torch.Tensor | None) -> int | None:
        """After the loss ``value`` of ``iteration``: the iteration to go back to, or None if it is fine.

        A fine loss at a snapshot iteration becomes the new roll-back point (and maybe a checkpoint).
        """
        run = self.run
        if np.isfinite(value) and value <= self.factor * max(self.best, 1e-3):
            if generator_state is not None:
                self.good = run.capture(iteration, generator_state)
                if self.checkpointer is not None:
                    self.checkpointer.maybe_save(self.good)
            self.best = min(self.best, value)
            return None
        stage, good = int(run.stage), self.good
        run.retries += 1
        message = (
            f"stage {stage} iteration {iteration + 1}: loss {value:.3g} diverged; rolled back to iteration "
            f"{good.iteration + 1} with learning rate x{run.lr_scale / 2:g} (retry {run.retries}/{self.allowed})"
        )
        if run.retries > self.allowed:
            where = ""
            if self.checkpointer is not None:
                self.checkpointer.save(good)
                where = f"; the last good state is in {self.checkpointer.path}"
            raise FusionError(
                f"stage {stage} kept diverging after {self.allowed} roll-backs "
                f"(loss {value:.3g} at iteration {iteration + 1}){where}; lower the stage{stage} learning rate"
            )
        logger.warning(message)
        good.restore(run.modules, run.optimizer, run.generator)
        run.log.history = list(good.history)
        run.event(iteration + 1, message)
        run.lr_scale /= 2
        self.good = run.capture(good.iteration, good.generator)
        return good.iteration


class HoldoutSelector:
    """Scores the modules on held-out pixels, stops the stage early and keeps the best modules."""

    def __init__(self, run: StageRun, score: Callable[[], float], patience: int) -> None:
        self.run, self.score, self.patience = run, score, patience

    def _judge(self, iteration: int) -> bool:
        """Score the modules as they are at the start of ``iteration``; True when the stage should stop."""
        run, chosen = self.run, self.run.selection
        score = self.score()
        run.log.history.append({"stage": int(run.stage), "iteration": iteration, "holdout_mse": score})
        if score < chosen.score * (1 - 1e-4):
            chosen.score, chosen.iteration, chosen.modules = score, iteration, copy_states(run.modules)
        return self.patience > 0 and iteration - chosen.iteration >= self.patience

    def should_stop(self, iteration: int) -> bool:
        """Called before each iteration: score when due; True (and an event) when patience ran out."""
        run = self.run
        due = iteration % VALIDATE_EVERY == 0 and (iteration > run.start or run.selection.modules is None)
        if due and self._judge(iteration):
            run.event(iteration, f"stopped: hold-out error not improved since iteration {run.selection.iteration}")
            return True
        return False

    def finish(self, iteration: int) -> None:
        """After the loop: score the end state and load the best-scoring modules."""
        run = self.run
        if iteration == run.end:
            self._judge(iteration)
        chosen = run.selection
        if chosen.modules is not None:
            for name, module in run.modules.items():
                module.load_state_dict(chosen.modules[name])
            run.event(iteration, f"kept the modules of iteration {chosen.iteration} (best hold-out error)")


class HistoryLogger:
    """Records the loss terms every ``every`` iterations (and the last), and reports progress."""

    def __init__(self, run: StageRun, every: int, callback: ProgressCallback | None) -> None:
        self.run, self.every, self.callback = run, every, callback
        self.tick = max(1, run.schedule.iterations // 200)

    def _logs(self, iteration: int) -> bool:
        return iteration % self.every == 0 or iteration == self.run.end - 1

    def _reports(self, iteration: int) -> bool:
        return self.callback is not None and (iteration % self.tick == 0 or iteration == self.run.end - 1)

    def wants(self, iteration: int) -> bool:
        """True when ``iteration``'s loss value is needed."""
        return self._logs(iteration) or self._reports(iteration)

    def record(self, iteration: int, value: float, terms: Terms) -> None:
        """Log and report ``iteration`` (0-based) with total loss ``value``."""
        run = self.run
        if self._logs(iteration):
            record: dict[str, Any] = {"stage": int(run.stage), "iteration": iteration + 1, "loss": value}
            record.update({name: v.item() for name, v in terms.items()})
            run.log.history.append(record)
        if self.callback is not None and self._reports(iteration):
            self.callback(int(run.stage), iteration + 1, run.end, value)


def optimise(
    run: StageRun,
    step: Callable[[], Terms],
    guard: RollbackGuard,
    history: HistoryLogger,
    selector: HoldoutSelector | None = None,
) -> int:
    """Minimise the sum of ``step()``'s terms from ``run.start`` to ``run.end``; returns the last iteration + 1."""
    it, opt, schedule = run.start, run.optimizer, run.schedule
    while it < run.end:
        if selector is not None and selector.should_stop(it):
            break
        generator_state = guard.snapshot_due(it)
        for group in opt.param_groups:
            group["lr"] = schedule.lr * schedule.lr_factor(it) * run.lr_scale
        opt.zero_grad(set_to_none=True)
        terms = step()
        loss = total_loss(terms)
        if generator_state is None and not history.wants(it):
            loss.backward()
            opt.step()
            it += 1
            continue
        value = float(loss.item())
        back = guard.check(it, value, generator_state)
        if back is not None:
            it = back
            continue
        loss.backward()
        opt.step()
        history.record(it, value, terms)
        it += 1
    if selector is not None:
        selector.finish(it)
    run.log.timings[f"stage{int(run.stage)}"] = time.perf_counter() - run.started
    return it
