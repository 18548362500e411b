"""Method configuration (stage schedules, loss weights, module options, seed) and run options; YAML in/out.

:class:`FusionConfig` holds everything that changes the fused cube; it is frozen (override with
``dataclasses.replace(cfg, seed=1)``) and checked when built. :class:`RunOptions` holds what does
not change the result: device, threads, progress callback and checkpoints.

Presets:

* ``faithful``: the authors' published schedule (20k/30k/30k iterations, Adam 1e-3) with the learning
  rate their code really uses (``decay="authors"``: constant, one step down at 10k/20k/20k, see
  :class:`StageConfig`), their losses only, uniform PSF start, SRF columns constrained to sum 1.
* ``default``: our choice, justified in docs/benchmarks.md: a short schedule with larger learning
  rates, stage 1 anchored on the LR pair so it cannot collapse to zero, a spectral-consistency
  term in stage 3, and the average of two runs with different seeds.
* ``fast``: the default with fewer iterations and one run, for smoke runs and tests.
* ``robust``: the default with a PSF that can hold a shift and a blur wider than the ratio
  (``psf_size="auto"``, ``psf_form="gaussian"``) and the residual step through it
  (``residual_upsampling="psf"``); for pairs whose registration or blur is not what anyone assumed
  (docs/benchmarks.md, "A PSF that can be right"). About 3x the default's time; not for tiled runs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ._checks import PRESETS as PRESETS  # the one tuple of preset names, re-exported
from ._checks import check_config, check_config_keys, check_preset, check_run_options, check_stage, check_stage_mapping
from .errors import InputError

Preset = Literal["default", "faithful", "fast", "robust"]
PsfInit = Literal["uniform", "gaussian"]
PsfForm = Literal["free", "gaussian"]
OutputActivation = Literal["leaky_relu", "none"]
LrDecay = Literal["linear", "authors"]

RUN_OPTION_KEYS = ("device", "threads")
"""Keys that older config files held beside the method settings; they are run options now."""

ProgressCallback = Callable[[int, int, int, float], None]
"""Called as ``callback(stage, iteration, total_iterations, loss)`` during training."""


@dataclass(frozen=True)
class StageConfig:
    """Schedule of one stage: Adam with ``lr``, constant until ``decay_start``, then ``decay``.

    ``decay``: "linear" (ours and the paper's text): from ``decay_start`` down to 0 at ``iterations``.
    "authors": what the authors' code does. Their loop sets ``lr = lr0`` at the top of every epoch and,
    from epoch ``decay_start`` on, ``lr - lr0 / (iterations - decay_start + 1)`` after the step, so the
    "decay" is one step down by ``1 / (iterations - decay_start + 1)`` that is never compounded: the
    rate stays ``lr0 (1 - 1 / (iterations - decay_start + 1))`` to the end (see :meth:`lr_factor`).

    ``patience`` > 0 (stage 3 with a hold-out, see ``FusionConfig.holdout_fraction``): stop once the
    hold-out error has not improved for this many iterations; ``iterations`` is then the cap.
    """

    iterations: int
    lr: float
    decay_start: int
    patience: int = 0
    decay: LrDecay = "linear"

    def validate(self, name: str) -> None:
        """Refuse out-of-range values (InputError naming ``name``, e.g. "stage1"); FusionConfig calls it."""
        check_stage(self, name)

    def lr_factor(self, iteration: int) -> float:
        """Multiplier of ``lr`` at a 0-based iteration: 1 before ``decay_start``, then per ``decay``.

        "linear": ``(iterations - iteration) / (iterations - decay_start)``, reaching 0 at the end.
        "authors": ``1 - 1 / (iterations - decay_start + 1)`` from ``decay_start`` on (the first
        iteration always runs at ``lr``: their new rate is set after the step of epoch ``decay_start``).
        """
        if self.decay == "authors":
            if iteration < max(self.decay_start, 1):
                return 1.0
            return 1.0 - 1.0 / (self.iterations - self.decay_start + 1)
        if iteration < self.decay_start:
            return 1.0
        return max(0.0, (self.iterations - iteration) / max(1, self.iterations - self.decay_start))


@dataclass(frozen=True)
class FusionConfig:
    """Everything that decides a fusion run (besides the data and the known PSF/SRF).

    Attributes:
        preset: name of the preset this configuration started from.
        stage1, stage2, stage3: schedules of the three stages.
        anchor_weight: stage 1 weight of ``|SpeUp(SpaDown0(MSI)) - LR-HSI|``, which ties SpeUp to the
            data with the initial PSF (0 = the authors' unanchored stage 1, which can collapse).
        agreement_weight: stage 1 weight of ``|SpaUp(LR-HSI) - SpeUp(MSI)|`` (the paper's stage 1 loss).
        spectral_consistency_weight: stage 3 weight of ``|SpeDown(SpeUp(MSI)) - MSI|`` (0 = authors).
        batch_fraction: fraction of LR pixels (with their HR blocks) drawn at random for the HR loss
            terms each iteration (1 = whole images, as the authors; used only with a ratio x ratio PSF).
        residual_correction: add the bicubic-upsampled LR residual to SpeUp(MSI) at the end (ours; the
            paper's output is SpeUp(MSI) alone).
        residual_upsampling: how the residual step spreads the LR residual onto the HR grid: "bicubic"
            (block-centred pixels) or "psf" (through the PSF: its centroid and back-projection; ours).
        attention: spectral attention in SpeUp.
        linear_skip: SpeUp gets a linear path started at the least-squares LR spectral map (ours).
        refit_linear: at the start of stage 3, refit SpeUp's linear path by least squares through the
            PSF learned in stage 2 (to what the stage-1 MLP leaves), instead of keeping the stage-1 fit
            made through the PSF's starting guess (ours).
        holdout_fraction: share of the valid LR pixels left out of every loss; stage 3 is scored on
            them (``|SpaDown(SpeUp(MSI)) - LR-HSI|^2``) every 50 iterations, keeps its best-scoring
            modules and stops early by ``stage3.patience`` (ours; 0 = train on all pixels, no
            selection). It stops stage 3 from overfitting when the LR grid is small (ratio 8).
        ensemble: number of independent runs (seeds ``seed``, ``seed + 1``, ...) whose fused cubes are
            averaged, and whose PSFs and SRFs are averaged (ours; 1 = one run, as the authors). Each
            run is the whole method; averaging removes part of the seed-to-seed spread of SpeUp.
        holdout_retrain: once the hold-out has chosen stage 3's length, run stage 3 again from its
            start on all LR pixels for that many iterations, so no pixel is lost to the selection
            (ours; recorded as stage 4 in the history). Without it the held-out pixels stay unused.
        output_activation: last activation of SpeUp, "leaky_relu" (authors) or "none".
        psf_size: side of the learned PSF in HR pixels (None = ratio; "auto" = ``ratio + 2 ceil(ratio / 2)``,
            room for a shift of half an LR pixel and a blur wider than the ratio: 8 at ratio 4, 16 at 8).
        psf_init: start of a learned PSF, "uniform" (authors) or "gaussian" (FWHM = ratio).
        psf_form: form of a learned PSF: "free" (a softmax over the ``k x k`` kernel, the paper's) or
            "gaussian" (a pixel-integrated anisotropic Gaussian with a sub-pixel offset, five
            parameters, starting centred with FWHM = ratio; ``psf_init`` is then unused; ours).
        spa_up_from_psf: at the start of stage 3 (and of the retraining), re-initialise SpaUp as the
            pseudo-inverse of the ``ratio x ratio`` window of the learned PSF around its centroid,
            so it follows a shifted PSF (ours; blind PSF only).
        learn_srf_gain: learn a gain per MSI band (needed when the images are in different units).
        support_threshold: SRF support is where the response is >= this fraction of its peak.
        seed: random seed (CPU runs with the same seed and thread count are bit-identical).
        log_every: record losses in the history every this many iterations.
        divergence_factor: a loss above this times the stage's best loss (floor 1e-3) counts as
            diverged, like a NaN/Inf loss: the run rolls back to its last good state and halves the
            learning rate.
        divergence_retries: roll-backs allowed per stage before the run stops with FusionError.

    The device and the thread count are run options (:class:`RunOptions`): they do not change what
    the method computes.

    Raises:
        InputError: when built with a value out of range (one line naming the field).
    """

    preset: Preset = "default"
    stage1: StageConfig = field(default_factory=lambda: StageConfig(200, 5e-3, 100))
    stage2: StageConfig = field(default_factory=lambda: StageConfig(3000, 2e-2, 1500))
    stage3: StageConfig = field(default_factory=lambda: StageConfig(2000, 2e-3, 1000, patience=500))
    anchor_weight: float = 1.0
    agreement_weight: float = 0.1
    spectral_consistency_weight: float = 1.0
    batch_fraction: float = 0.25
    residual_correction: bool = True
    residual_upsampling: Literal["bicubic", "psf"] = "bicubic"
    attention: bool = True
    linear_skip: bool = True
    refit_linear: bool = True
    holdout_fraction: float = 0.0
    holdout_retrain: bool = True
    ensemble: int = 2
    output_activation: OutputActivation = "leaky_relu"
    psf_size: int | Literal["auto"] | None = None
    psf_init: PsfInit = "uniform"
    psf_form: PsfForm = "free"
    spa_up_from_psf: bool = False
    learn_srf_gain: bool = True
    support_threshold: float = 0.05
    seed: int = 0
    log_every: int = 50
    divergence_factor: float = 100.0
    divergence_retries: int = 5

    @classmethod
    def preset_config(cls, name: str) -> FusionConfig:
        """The configuration of a named preset ("default", "faithful", "fast", "robust").

        Raises:
            InputError: an unknown name.
        """
        check_preset(name)
        if name == "default":
            return cls()
        if name == "robust":
            return cls(preset="robust", psf_size="auto", psf_form="gaussian", residual_upsampling="psf")
        if name == "fast":
            return cls(
                preset="fast",
                stage1=StageConfig(100, 5e-3, 50),
                stage2=StageConfig(1000, 2e-2, 500),
                stage3=StageConfig(600, 2e-3, 300, patience=200),
                ensemble=1,
            )
        if name == "faithful":
            return cls(
                preset="faithful",
                stage1=StageConfig(20000, 1e-3, 10000, decay="authors"),
                stage2=StageConfig(30000, 1e-3, 20000, decay="authors"),
                stage3=StageConfig(30000, 1e-3, 20000, decay="authors"),
                anchor_weight=0.0,
                agreement_weight=1.0,
                spectral_consistency_weight=0.0,
                linear_skip=False,
                batch_fraction=1.0,
                residual_correction=False,
                learn_srf_gain=False,
                refit_linear=False,
                holdout_fraction=0.0,
                holdout_retrain=False,
                ensemble=1,
                log_every=1000,
            )
        raise AssertionError(f"preset {name!r} is in PRESETS but has no settings here")  # a programming error

    def __post_init__(self) -> None:
        check_config(self)

    def validate(self) -> FusionConfig:
        """Kept for compatibility: a FusionConfig is checked when it is built. Returns ``self``."""
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict of every field (the stages as dicts); what YAML and fingerprints hold."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: FusionConfig | None = None) -> FusionConfig:
        """Overlay ``data`` on ``base`` (or on the preset named in ``data``, else the default).

        Raises:
            InputError: for an unknown key, a malformed stage or a value out of range.
        """
        data = dict(data)
        if base is None:
            base = cls.preset_config(data.get("preset", "default"))
        known = {f.name for f in dataclasses.fields(cls)}
        check_config_keys(data, known)
        values = base.to_dict()
        for key, value in data.items():
            if key.startswith("stage"):
                check_stage_mapping(key, value)
                values[key] = {**values[key], **value}
            else:
                values[key] = value
        stages: dict[str, Any] = {k: StageConfig(**values.pop(k)) for k in ("stage1", "stage2", "stage3")}
        return cls(**values, **stages)

    def to_yaml(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as YAML."""
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_yaml(cls, path: str | Path, base: FusionConfig | None = None) -> FusionConfig:
        """:meth:`from_dict` of a YAML file (see :func:`read_config_file` for files with run options)."""
        return cls.from_dict(read_yaml(path), base)


def learned_psf_size(psf_size: int | str | None, ratio: int) -> int:
    """The side in HR pixels of a learned PSF for ``FusionConfig.psf_size`` at ``ratio``."""
    if psf_size is None:
        return ratio
    if psf_size == "auto":
        return ratio + 2 * math.ceil(ratio / 2)
    return int(psf_size)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping a YAML config file holds (an empty file is ``{}``).

    Raises:
        InputError: if the file is not YAML or does not hold a mapping.
    """
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"cannot parse YAML config {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"config file {path} must hold a mapping of keys to values")
    return data


def split_run_options(mapping: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a config mapping into ``(method settings, run options)``.

    Older config files held ``device`` and ``threads`` beside the method settings; they are
    :class:`RunOptions` now. Returns copies; the first goes to :meth:`FusionConfig.from_dict`, the
    second to ``RunOptions(**run)``.
    """
    config = {k: v for k, v in mapping.items() if k not in RUN_OPTION_KEYS}
    run = {k: v for k, v in mapping.items() if k in RUN_OPTION_KEYS}
    return config, run


def read_config_file(path: str | Path, base: FusionConfig | None = None) -> tuple[FusionConfig, dict[str, Any]]:
    """A YAML config file as ``(FusionConfig overlaid on base, run options found in it)``.

    The run options are the legacy keys ``device`` / ``threads`` (see :func:`split_run_options`).
    """
    config, run = split_run_options(read_yaml(path))
    return FusionConfig.from_dict(config, base), run


@dataclass(frozen=True)
class RunOptions:
    """How to run a fusion, without changing its result (so not part of the checkpoint fingerprint).

    Attributes:
        device: "auto" (CUDA if present, else CPU), "cpu", "cuda", "cuda:1", ...
        threads: torch CPU threads (None = torch's default). CPU runs with the same seed and thread
            count are bit-identical.
        callback: ``callback(stage, iteration, total, loss)`` for progress reporting.
        checkpoint: file for the training state, written atomically every ``checkpoint_every``
            seconds (and when training ends); None = no checkpoints.
        checkpoint_every: seconds between checkpoint writes.
        resume: continue from ``checkpoint`` if it exists (it must come from the same inputs and
            settings); the result equals an uninterrupted run's (bit-identical on the CPU with the
            same thread count).
        keep_checkpoint: leave the checkpoint file after success (the CLI deletes it only once the
            outputs are written); by default it is removed.

    Checked when built: a malformed device string, threads < 0 or checkpoint_every < 0 raise InputError.
    """

    device: str = "auto"
    threads: int | None = None
    callback: ProgressCallback | None = None
    checkpoint: str | Path | None = None
    checkpoint_every: float = 60.0
    resume: bool = False
    keep_checkpoint: bool = False

    def __post_init__(self) -> None:
        check_run_options(self)
