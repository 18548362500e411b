"""Training state of a fusion run: in-memory snapshots (for divergence roll-back) and checkpoint files.

A :class:`TrainingState` is the state *at the start of* an iteration: the four modules, the stage's
Adam state, the random generators, the learning-rate multiplier left by earlier roll-backs, the
history and the time spent so far. Restoring it and running on gives the same numbers as never
having stopped (bit-identical on the CPU with the same thread count).

Checkpoint files are written with :func:`torch.save` to a temporary name and renamed
(:func:`os.replace`), so a kill at any moment leaves either the previous checkpoint or the new one,
never a torn file. They hold tensors and plain Python values only (``torch.load`` with
``weights_only=True`` reads them). A fingerprint of the inputs and configuration is stored so that
``--resume`` refuses a checkpoint from another run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import check_checkpoint_run
from ..errors import InputError
from .stages import Stage

FORMAT = 2
"""Checkpoint format: 2 = stage 4 is the hold-out retraining and 5 = finished (1: 4 = finished)."""

ModuleStates = dict[str, dict[str, torch.Tensor]]
"""``{module name: state_dict}`` of the four modules (cloned tensors)."""


@dataclass
class TrainingState:
    """Everything needed to continue a run from the start of ``iteration`` of ``stage``.

    ``stage`` is a :class:`~pfs2c2.model.stages.Stage` stored as a plain int: 4 is stage 3 retrained
    on all pixels (hold-out runs); 5 means training finished: only the modules, history and timings
    matter. ``selection`` is the hold-out selection as a plain dict (see ``loop.Selection``).
    """

    stage: int
    iteration: int
    modules: ModuleStates
    optimizer: dict[str, Any]
    generator: torch.Tensor
    torch_rng: torch.Tensor
    lr_scale: float = 1.0
    retries: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    stage_elapsed: float = 0.0
    selection: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def capture(
        cls,
        stage: int,
        iteration: int,
        modules: dict[str, nn.Module],
        optimizer: torch.optim.Optimizer | None,
        generator: torch.Generator,
        **extra: Any,
    ) -> TrainingState:
        """Copy the live state (tensors are cloned, so later steps do not change the snapshot)."""
        return cls(
            stage=int(stage),
            iteration=iteration,
            modules=copy_states(modules),
            optimizer=copy.deepcopy(optimizer.state_dict()) if optimizer is not None else {},
            generator=generator.get_state(),
            torch_rng=torch.get_rng_state(),
            **extra,
        )

    @property
    def finished(self) -> bool:
        """True for the checkpoint of a run whose training ended."""
        return self.stage == Stage.FINISHED

    def restore(
        self, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer | None, generator: torch.Generator
    ) -> None:
        """Put this state back into the live modules, optimizer and generators."""
        for name, module in modules.items():
            module.load_state_dict(self.modules[name])
        if optimizer is not None:
            optimizer.load_state_dict(copy.deepcopy(self.optimizer))
        generator.set_state(self.generator)
        torch.set_rng_state(self.torch_rng)


def copy_states(modules: dict[str, nn.Module]) -> ModuleStates:
    """Detached clones of the modules' state dicts."""
    return {name: {k: v.detach().clone() for k, v in m.state_dict().items()} for name, m in modules.items()}


def fingerprint(arrays: dict[str, np.ndarray | None], config: dict[str, Any]) -> str:
    """A short hash of the inputs (shapes and bytes) and of the settings (``config``, hashed whole)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        arr = arrays[name]
        digest.update(name.encode())
        if arr is not None:
            a = np.ascontiguousarray(arr)
            digest.update(str((a.shape, a.dtype.str)).encode())
            digest.update(a.tobytes())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def save_checkpoint(path: str | Path, state: TrainingState, run_id: str) -> None:
    """Write ``state`` atomically to ``path`` (temporary file in the same folder, then rename).

    ``run_id`` is the run's :func:`fingerprint`, checked by :func:`load_checkpoint`.
    """
    path = Path(path)
    payload = {"format": FORMAT, "fingerprint": run_id, **state.__dict__}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path: str | Path, run_id: str) -> TrainingState:
    """Read a checkpoint written by :func:`save_checkpoint` for the same ``run_id`` (:func:`fingerprint`).

    Raises:
        InputError: if the file is unreadable or belongs to another run.
    """
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"checkpoint {path} cannot be read ({type(exc).__name__}); delete it to start over") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path} is not a pfs2c2 checkpoint of format {FORMAT}; delete it to start over")
    check_checkpoint_run(path, payload.get("fingerprint"), run_id)
    fields = {k: v for k, v in payload.items() if k not in ("format", "fingerprint")}
    return TrainingState(**fields)


def member_checkpoint(path: str | Path, member: int) -> Path:
    """Checkpoint file of run ``member`` of an ensemble (``FusionConfig.ensemble``).

    ``path`` itself for the first run, ``PATH.member<k>`` beside it for the others.
    """
    path = Path(path)
    return path if member == 0 else path.with_name(f"{path.name}.member{member}")


def checkpoint_files(path: str | Path) -> list[Path]:
    """The checkpoint files of a run that exist: ``path`` and its ensemble members' files."""
    path = Path(path)
    prefix = f"{path.name}.member"
    members = sorted(p for p in path.parent.iterdir() if p.name.startswith(prefix)) if path.parent.is_dir() else []
    return [p for p in [path, *members] if p.exists()]


def remove_checkpoint(path: str | Path) -> None:
    """Delete a run's checkpoint files (``path`` and its ensemble members' files)."""
    for file in checkpoint_files(path):
        file.unlink(missing_ok=True)
