"""Checks of the method's settings (:class:`pfs2c2.FusionConfig` and its stage schedules)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # the config layer sits above this one: no import at run time
    from ..config import FusionConfig, RunOptions, StageConfig

__all__ = [
    "PRESETS",
    "check_stage",
    "check_config",
    "check_preset",
    "check_presets",
    "check_config_keys",
    "check_stage_mapping",
    "check_run_options",
]

STAGE_DECAYS = ("linear", "authors")
"""Learning-rate schedules after ``decay_start`` (:class:`pfs2c2.StageConfig` ``decay``)."""

PRESETS = ("default", "faithful", "fast", "robust")
"""Names of the presets of :meth:`pfs2c2.FusionConfig.preset_config` (``config.PRESETS`` is this tuple)."""


def check_stage(stage: StageConfig, name: str) -> None:
    """Refuse a stage schedule with negative iterations or patience, a learning rate <= 0, a
    ``decay_start`` outside ``[0, iterations]`` or a ``decay`` other than "linear" and "authors";
    ``name`` (``"stage1"``) prefixes the message.

    Raises:
        InputError: one line naming the field.
    """
    if stage.iterations < 0:
        raise InputError(f"{name}.iterations must be >= 0, got {stage.iterations}")
    if not stage.lr > 0:
        raise InputError(f"{name}.lr must be positive, got {stage.lr}")
    if stage.patience < 0:
        raise InputError(f"{name}.patience must be >= 0, got {stage.patience}")
    if not 0 <= stage.decay_start <= max(stage.iterations, 0):
        raise InputError(f"{name}.decay_start must be in [0, iterations={stage.iterations}], got {stage.decay_start}")
    if stage.decay not in STAGE_DECAYS:
        raise InputError(f"{name}.decay must be one of {', '.join(map(repr, STAGE_DECAYS))}, got {stage.decay!r}")


def check_config(cfg: FusionConfig) -> None:
    """Refuse a configuration with an unknown preset name, a bad stage, a negative loss weight, both stage-1 weights 0 (stage 1
    would have no loss), an unknown choice, or a value out of its range.

    Raises:
        InputError: one line naming the field.
    """
    check_preset(cfg.preset)
    for name in ("stage1", "stage2", "stage3"):
        check_stage(getattr(cfg, name), name)
    for name in ("anchor_weight", "agreement_weight", "spectral_consistency_weight"):
        if getattr(cfg, name) < 0:
            raise InputError(f"{name} must be >= 0, got {getattr(cfg, name)}")
    if cfg.anchor_weight == 0 and cfg.agreement_weight == 0:
        raise InputError(
            "anchor_weight and agreement_weight are both 0: stage 1 would have no loss; set one of them > 0"
        )
    if cfg.psf_init not in ("uniform", "gaussian"):
        raise InputError(f"psf_init must be 'uniform' or 'gaussian', got {cfg.psf_init!r}")
    if cfg.psf_form not in ("free", "gaussian"):
        raise InputError(f"psf_form must be 'free' or 'gaussian', got {cfg.psf_form!r}")
    if cfg.residual_upsampling not in ("bicubic", "psf"):
        raise InputError(f"residual_upsampling must be 'bicubic' or 'psf', got {cfg.residual_upsampling!r}")
    if cfg.output_activation not in ("leaky_relu", "none"):
        raise InputError(f"output_activation must be 'leaky_relu' or 'none', got {cfg.output_activation!r}")
    if not 0 <= cfg.holdout_fraction < 0.5:
        raise InputError(f"holdout_fraction must be in [0, 0.5), got {cfg.holdout_fraction}")
    if cfg.ensemble < 1:
        raise InputError(f"ensemble must be >= 1 (the number of runs averaged), got {cfg.ensemble}")
    if not 0 < cfg.batch_fraction <= 1:
        raise InputError(f"batch_fraction must be in (0, 1], got {cfg.batch_fraction}")
    if not 0 <= cfg.support_threshold < 1:
        raise InputError(f"support_threshold must be in [0, 1), got {cfg.support_threshold}")
    if not cfg.divergence_factor > 1:
        raise InputError(f"divergence_factor must be > 1, got {cfg.divergence_factor}")
    if cfg.divergence_retries < 0:
        raise InputError(f"divergence_retries must be >= 0, got {cfg.divergence_retries}")
    if cfg.log_every < 1:
        raise InputError(f"log_every must be >= 1, got {cfg.log_every}")


def check_preset(name: str) -> None:
    """Refuse a preset name that is not one of :data:`PRESETS`.

    Raises:
        InputError: ``"unknown preset ...; choose one of: default, faithful, fast"``.
    """
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")


def check_presets(names: Iterable[str]) -> None:
    """Refuse a list of preset names (``pfs2c2 benchmark --presets``) with names not in :data:`PRESETS`.

    Raises:
        InputError: ``"unknown preset(s) ...; choose from ..."`` naming every unknown one.
    """
    bad = [p for p in names if p not in PRESETS]
    if bad:
        raise InputError(f"unknown preset(s) {', '.join(bad)}; choose from {', '.join(PRESETS)}")


def check_config_keys(keys: Iterable[str], known: Iterable[str]) -> None:
    """Refuse configuration keys (of a mapping or YAML file) that are not among the ``known`` field names.

    Raises:
        InputError: naming the unknown keys and the known ones, sorted.
    """
    known = set(known)
    unknown = sorted(set(keys) - known)
    if unknown:
        raise InputError(f"unknown configuration key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")


def check_stage_mapping(key: str, value: Any) -> None:
    """Refuse the value of a stage key (``"stage1"``) of a configuration mapping unless it is a mapping with
    only the keys iterations, lr, decay_start, patience, decay.

    Raises:
        InputError: one line naming the stage.
    """
    if not isinstance(value, dict):
        raise InputError(f"{key} must be a mapping with iterations, lr, decay_start")
    bad = sorted(set(value) - {"iterations", "lr", "decay_start", "patience", "decay"})
    if bad:
        raise InputError(f"unknown key(s) {', '.join(bad)} in {key}; use iterations, lr, decay_start, patience, decay")


_DEVICE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(:[0-9]+)?")


def check_run_options(run: RunOptions) -> None:
    """Refuse :class:`~pfs2c2.RunOptions` that no run could use: a device string that is not of the form
    ``TYPE`` or ``TYPE:INDEX`` (``"auto"``, ``"cpu"``, ``"cuda:1"``; torch checks the type itself), a
    thread count that is not an integer >= 0 (0 and None = torch's default), or a negative
    ``checkpoint_every`` (seconds; 0 = at every snapshot).

    Raises:
        InputError: one line naming the option.
    """
    device = run.device
    if isinstance(device, str) and not _DEVICE.fullmatch(device):
        raise InputError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or another torch device, got {device!r}")
    threads = run.threads
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0):
        raise InputError(
            f"threads must be a whole number of CPU threads >= 1 (0 or None: torch's default), got {threads!r}"
        )
    if not run.checkpoint_every >= 0:
        raise InputError(f"checkpoint_every must be >= 0 seconds (0: at every snapshot), got {run.checkpoint_every}")


def check_streamable_residual(method: str) -> None:
    """Refuse a residual step that block-wise (streaming) inference cannot reproduce: ``"psf"``
    back-projection is global over the scene; only ``"bicubic"`` is local.

    Raises:
        InputError: one line naming the fix.
    """
    if method != "bicubic":
        raise InputError(
            f"streaming inference supports residual_upsampling='bicubic' only, got {method!r}; "
            'use residual_upsampling="bicubic" or whole-image fusion'
        )


def check_sample_budget(lr_pixels: int, patch: int) -> None:
    """Refuse a scene sample budget or patch side below one pixel (``pfs2c2.scene.draw_sample``).

    Raises:
        InputError: one line naming the value and the fix.
    """
    if int(lr_pixels) < 1:
        raise InputError(f"the training sample needs at least 1 LR pixel, got {lr_pixels}; give a positive budget")
    if int(patch) < 1:
        raise InputError(f"the sample's patch side must be at least 1 LR pixel, got {patch}")
