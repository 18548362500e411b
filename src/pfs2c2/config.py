"""Run configuration: stage schedules, loss weights, module options, seed and device; YAML in/out.

Presets:

* ``faithful``: the authors' published schedule (20k/30k/30k iterations, Adam 1e-3, linear decay
  from 10k/20k/20k), their losses only, uniform PSF start, SRF columns constrained to sum 1.
* ``default``: our choice, justified in docs/benchmarks.md: a short schedule with larger learning
  rates, stage 1 anchored on the LR pair so it cannot collapse to zero, a spectral-consistency
  term in stage 3, and the average of two runs with different seeds.
* ``fast``: the default with fewer iterations and one run, for smoke runs and tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class StageConfig:
    """Schedule of one stage: Adam with ``lr``, constant until ``decay_start``, then linear to 0.

    ``patience`` > 0 (stage 3 with a hold-out, see ``FusionConfig.holdout_fraction``): stop once the
    hold-out error has not improved for this many iterations; ``iterations`` is then the cap.
    """

    iterations: int
    lr: float
    decay_start: int
    patience: int = 0

    def validate(self, name: str) -> None:
        if self.iterations < 0:
            raise ValueError(f"{name}.iterations must be >= 0, got {self.iterations}")
        if not self.lr > 0:
            raise ValueError(f"{name}.lr must be positive, got {self.lr}")
        if self.patience < 0:
            raise ValueError(f"{name}.patience must be >= 0, got {self.patience}")
        if not 0 <= self.decay_start <= max(self.iterations, 0):
            raise ValueError(f"{name}.decay_start must be in [0, iterations={self.iterations}], got {self.decay_start}")

    def lr_factor(self, iteration: int) -> float:
        """Multiplier of ``lr`` at a 0-based iteration: 1 before ``decay_start``, then linear to 0."""
        if iteration < self.decay_start:
            return 1.0
        return max(0.0, (self.iterations - iteration) / max(1, self.iterations - self.decay_start))


@dataclass
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
        psf_size: side of the learned PSF in HR pixels (None = ratio).
        psf_init: start of a learned PSF, "uniform" (authors) or "gaussian" (FWHM = ratio).
        learn_srf_gain: learn a gain per MSI band (needed when the images are in different units).
        support_threshold: SRF support is where the response is >= this fraction of its peak.
        seed: random seed (CPU runs with the same seed and thread count are bit-identical).
        device: "auto" (CUDA if present, else CPU), "cpu", "cuda", "cuda:1", ...
        threads: torch CPU threads (None = torch's default).
        log_every: record losses in the history every this many iterations.
        divergence_factor: a loss above this times the stage's best loss (floor 1e-3) counts as
            diverged, like a NaN/Inf loss: the run rolls back to its last good state and halves the
            learning rate.
        divergence_retries: roll-backs allowed per stage before the run stops with FusionError.
    """

    preset: str = "default"
    stage1: StageConfig = field(default_factory=lambda: StageConfig(200, 5e-3, 100))
    stage2: StageConfig = field(default_factory=lambda: StageConfig(3000, 2e-2, 1500))
    stage3: StageConfig = field(default_factory=lambda: StageConfig(2000, 2e-3, 1000, patience=500))
    anchor_weight: float = 1.0
    agreement_weight: float = 0.1
    spectral_consistency_weight: float = 1.0
    batch_fraction: float = 0.25
    residual_correction: bool = True
    attention: bool = True
    linear_skip: bool = True
    refit_linear: bool = True
    holdout_fraction: float = 0.0
    holdout_retrain: bool = True
    ensemble: int = 2
    output_activation: str = "leaky_relu"
    psf_size: int | None = None
    psf_init: str = "uniform"
    learn_srf_gain: bool = True
    support_threshold: float = 0.05
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    log_every: int = 50
    divergence_factor: float = 100.0
    divergence_retries: int = 5

    @classmethod
    def preset_config(cls, name: str) -> "FusionConfig":
        """The configuration of a named preset ("default", "faithful", "fast")."""
        if name == "default":
            return cls()
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
                stage1=StageConfig(20000, 1e-3, 10000),
                stage2=StageConfig(30000, 1e-3, 20000),
                stage3=StageConfig(30000, 1e-3, 20000),
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
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")

    def validate(self) -> "FusionConfig":
        """Check values; raise ValueError with a one-line message naming the bad field."""
        for name in ("stage1", "stage2", "stage3"):
            getattr(self, name).validate(name)
        for name in ("anchor_weight", "agreement_weight", "spectral_consistency_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.psf_init not in ("uniform", "gaussian"):
            raise ValueError(f"psf_init must be 'uniform' or 'gaussian', got {self.psf_init!r}")
        if self.output_activation not in ("leaky_relu", "none"):
            raise ValueError(f"output_activation must be 'leaky_relu' or 'none', got {self.output_activation!r}")
        if not 0 <= self.holdout_fraction < 0.5:
            raise ValueError(f"holdout_fraction must be in [0, 0.5), got {self.holdout_fraction}")
        if self.ensemble < 1:
            raise ValueError(f"ensemble must be >= 1 (the number of runs averaged), got {self.ensemble}")
        if not 0 < self.batch_fraction <= 1:
            raise ValueError(f"batch_fraction must be in (0, 1], got {self.batch_fraction}")
        if not 0 <= self.support_threshold < 1:
            raise ValueError(f"support_threshold must be in [0, 1), got {self.support_threshold}")
        if not self.divergence_factor > 1:
            raise ValueError(f"divergence_factor must be > 1, got {self.divergence_factor}")
        if self.divergence_retries < 0:
            raise ValueError(f"divergence_retries must be >= 0, got {self.divergence_retries}")
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: "FusionConfig | None" = None) -> "FusionConfig":
        """Overlay ``data`` on ``base`` (or on the preset named in ``data``, else the default).

        Raises:
            ValueError: for an unknown key or a malformed stage.
        """
        data = dict(data)
        if base is None:
            base = cls.preset_config(data.get("preset", "default"))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown configuration key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
        values = base.to_dict()
        for key, value in data.items():
            if key.startswith("stage"):
                if not isinstance(value, dict):
                    raise ValueError(f"{key} must be a mapping with iterations, lr, decay_start")
                bad = sorted(set(value) - {"iterations", "lr", "decay_start", "patience"})
                if bad:
                    raise ValueError(f"unknown key(s) {', '.join(bad)} in {key}; use iterations, lr, decay_start, patience")
                values[key] = {**values[key], **value}
            else:
                values[key] = value
        stages = {k: StageConfig(**values.pop(k)) for k in ("stage1", "stage2", "stage3")}
        return cls(**values, **stages).validate()

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_yaml(cls, path: str | Path, base: "FusionConfig | None" = None) -> "FusionConfig":
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"cannot parse YAML config {path}: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ValueError(f"config file {path} must hold a mapping of keys to values")
        return cls.from_dict(data, base)


PRESETS = ("default", "faithful", "fast")
