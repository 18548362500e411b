"""One run of PFS2C2 on one scene: the problem, the four modules and the three stages.

A :class:`Problem` is the data of a fusion, normalised and on the device; a :class:`Trainer` builds the
four modules for it (:mod:`pfs2c2.model.modules`), runs the stages (:class:`Stage`) with the losses of
:mod:`pfs2c2.model.losses` through :func:`pfs2c2.model.loop.optimise`, and returns the fused cube and
the operators. Stage 3 can hold out a share of the LR pixels to choose its length
(``FusionConfig.holdout_fraction``) and then run again on all pixels (``holdout_retrain``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._checks import check_lr_overlap, check_positive_peak
from ..config import FusionConfig, ProgressCallback, StageConfig, learned_psf_size
from ..masks import block_all
from .checkpoint import TrainingState, copy_states
from .loop import Checkpointer, HistoryLogger, HoldoutSelector, RollbackGuard, RunLog, Selection, StageRun, optimise
from .losses import HRBatch, Terms, holdout_mse, stage1_terms, stage2_terms, stage3_terms
from .modules import Modules, SpatialDown, SpatialUp, SpectralDown, SpectralUp
from .psf_forms import centroid_window
from .residual import border_consistent, residual_upsample
from .stages import Stage

__all__ = ["Pixels", "Problem", "Stage", "Trainer"]


@dataclass(frozen=True, eq=False)
class Problem:
    """The data of one fusion inside the model: the images divided by their maxima, on the device.

    Attributes:
        lr_hsi: ``Y``, ``(1, C, h, w)`` float32, zero where not valid.
        hr_msi: ``Z``, ``(1, c, H, W)`` float32, zero where not valid.
        hsi: the zero-filled LR-HSI ``(C, h, w)`` in the input's units (for the SRF's start).
        msi_valid: ``(H, W)`` valid MSI pixels; lr_valid: ``(h, w)`` LR pixels usable in the LR losses
            (the HSI pixel and its whole MSI block are data).
        full_lr_mask: ``lr_valid`` as a ``(1, 1, h, w)`` tensor, or None when every LR pixel is valid.
        ratio: spatial scale factor.
        hsi_scale, msi_scale: the maxima the images were divided by.
        psf: known ``(k, k)`` PSF or None (learned); srf: known ``(C, c)`` SRF in the inputs' units or
            None; srf_support: ``(C, c)`` support of a learned SRF or None (all bands).
        device: where the tensors live.
    """

    lr_hsi: torch.Tensor
    hr_msi: torch.Tensor
    hsi: np.ndarray
    msi_valid: np.ndarray
    lr_valid: np.ndarray
    full_lr_mask: torch.Tensor | None
    ratio: int
    hsi_scale: float
    msi_scale: float
    psf: np.ndarray | None
    srf: np.ndarray | None
    srf_support: np.ndarray | None
    device: torch.device

    @classmethod
    def build(
        cls,
        lr_hsi: np.ndarray,
        hr_msi: np.ndarray,
        hsi_valid: np.ndarray,
        msi_valid: np.ndarray,
        ratio: int,
        *,
        psf: np.ndarray | None = None,
        srf: np.ndarray | None = None,
        srf_support: np.ndarray | None = None,
        device: torch.device | None = None,
    ) -> Problem:
        """Normalise checked ``(C, h, w)`` / ``(c, H, W)`` float32 inputs and their valid masks.

        Raises:
            InputError: if an image has no positive value, or no LR pixel is valid in both images.
        """
        device = device or torch.device("cpu")
        y_scale, z_scale = check_positive_peak(lr_hsi, hsi_valid), check_positive_peak(hr_msi, msi_valid)
        # invalid pixels are zero-filled and weighted out of every loss
        y, z = np.where(hsi_valid, lr_hsi, 0.0), np.where(msi_valid, hr_msi, 0.0)
        lr_valid = hsi_valid & block_all(msi_valid, ratio)
        check_lr_overlap(lr_valid)
        return cls(
            lr_hsi=torch.from_numpy(y / y_scale).float()[None].to(device),
            hr_msi=torch.from_numpy(z / z_scale).float()[None].to(device),
            hsi=y,
            msi_valid=msi_valid,
            lr_valid=lr_valid,
            full_lr_mask=None
            if lr_valid.all()
            else torch.from_numpy(lr_valid.astype(np.float32))[None, None].to(device),
            ratio=ratio,
            hsi_scale=y_scale,
            msi_scale=z_scale,
            psf=psf,
            srf=srf,
            srf_support=srf_support,
            device=device,
        )


@dataclass(frozen=True, eq=False)
class Pixels:
    """The pixels the losses use: masks (None = all valid) and the pool HR batches are drawn from.

    Attributes:
        lr_mask: ``(1, 1, h, w)``; hr_mask: ``(1, 1, H, W)`` valid MSI pixels; hr_pair_mask: MSI
            pixels whose LR pixel is in use; valid_index: flat indices of the LR pixels in use;
            batch_pixels: LR pixels per sampled HR batch.
    """

    lr_mask: torch.Tensor | None
    hr_mask: torch.Tensor | None
    hr_pair_mask: torch.Tensor | None
    valid_index: torch.Tensor
    batch_pixels: int

    @classmethod
    def select(cls, lr_valid: np.ndarray, problem: Problem, batch_fraction: float) -> Pixels:
        """Train on the LR pixels where ``lr_valid`` ``(h, w)`` is True (and their HR blocks)."""
        r, msi_valid, device = problem.ratio, problem.msi_valid, problem.device
        all_valid = bool(lr_valid.all() and msi_valid.all())

        def to_mask(m: np.ndarray) -> torch.Tensor | None:
            return None if all_valid else torch.from_numpy(m.astype(np.float32))[None, None].to(device)

        valid_index = torch.from_numpy(np.flatnonzero(lr_valid.ravel())).to(device)
        return cls(
            lr_mask=to_mask(lr_valid),
            hr_mask=to_mask(msi_valid),
            hr_pair_mask=to_mask(msi_valid & np.kron(lr_valid, np.ones((r, r), bool)).astype(bool)),
            valid_index=valid_index,
            batch_pixels=max(1, round(batch_fraction * len(valid_index))),
        )


def build_modules(problem: Problem, cfg: FusionConfig) -> Modules:
    """The four modules at their start for ``problem`` (constructed in the order that fixes the RNG draws)."""
    p, ratio, device = problem, problem.ratio, problem.device
    hsi_bands, msi_bands = p.lr_hsi.shape[1], p.hr_msi.shape[1]
    spa_down = (
        SpatialDown.known(ratio, p.psf)
        if p.psf is not None
        else SpatialDown.blind(ratio, learned_psf_size(cfg.psf_size, ratio), cfg.psf_init, cfg.psf_form)
    )
    spa_up = SpatialUp.inverse_of(ratio, p.psf)
    spe_up = SpectralUp(msi_bands, hsi_bands, cfg.attention, cfg.output_activation, cfg.linear_skip).to(device)
    if p.srf is not None:
        spe_down = SpectralDown.known((p.srf * p.hsi_scale / p.msi_scale).astype(np.float32))
    else:
        lr_msi = spa_down(p.hr_msi).detach().cpu().numpy()[0][:, p.lr_valid]
        spe_down = SpectralDown.from_data(
            lr_msi, p.hsi[:, p.lr_valid], p.srf_support, hsi_scale=p.hsi_scale, learn_gain=cfg.learn_srf_gain
        )
    for module in (spa_down, spa_up, spe_up, spe_down):
        module.to(device)
    return Modules(spe_up=spe_up, spa_up=spa_up, spe_down=spe_down, spa_down=spa_down)


class Trainer:
    """Holds the four modules of one run (seed ``config.seed``) and runs the stages on a :class:`Problem`.

    Args:
        problem: the data.
        config: the method's settings.
        callback: ``callback(stage, iteration, total, loss)`` for progress.
        checkpointer: where snapshots are written (None = no checkpoints).
        resume: the checkpointed state to continue from (None = start).
    """

    def __init__(
        self,
        problem: Problem,
        config: FusionConfig,
        *,
        callback: ProgressCallback | None = None,
        checkpointer: Checkpointer | None = None,
        resume: TrainingState | None = None,
    ) -> None:
        self.problem, self.cfg, self.callback = problem, config, callback
        self.checkpointer, self.resume_state = checkpointer, resume
        lr_valid = problem.lr_valid
        # hold out a random share of the LR pixels from every loss: stage 3 is judged on them
        holdout = np.zeros_like(lr_valid)
        n_holdout = int(config.holdout_fraction * lr_valid.sum())
        if n_holdout > 0:
            pick = np.random.default_rng(config.seed).permutation(np.flatnonzero(lr_valid.ravel()))[:n_holdout]
            holdout.ravel()[pick] = True
        self.holdout_mask = (
            torch.from_numpy(holdout.astype(np.float32))[None, None].to(problem.device) if n_holdout else None
        )
        self.pixels = Pixels.select(lr_valid & ~holdout, problem, config.batch_fraction)
        self.modules = build_modules(problem, config)
        self.log = RunLog()
        # the HR terms can be computed on a random subset of LR pixels and their ratio x ratio blocks;
        # exact when the PSF is ratio x ratio (blocks do not overlap), so only then
        self.sampled = config.batch_fraction < 1.0 and self.modules.spa_down.psf.shape[-1] == problem.ratio
        self.generator = torch.Generator().manual_seed(config.seed)
        self._stage3_start: dict[str, dict[str, torch.Tensor]] | None = None

    def hr_batch(self) -> HRBatch:
        """MSI and LR-HSI for the HR loss terms of one iteration, with their masks.

        Without sampling these are the whole images and masks. Otherwise ``n`` random valid LR pixels
        are taken and their ``r x r`` MSI blocks stacked vertically, ``z (1, c, n*r, r)`` and
        ``y (1, C, n, 1)``: blur + decimation of the stack gives exactly the stacked LR pixels, the
        spectral attention pools over the sampled pixels, and every sampled pixel is valid (masks None).
        """
        p, px = self.problem, self.pixels
        if not self.sampled:
            return HRBatch(p.hr_msi, p.lr_hsi, px.lr_mask, px.hr_mask)
        r, (_, hsi_bands, h, w), msi_bands = p.ratio, p.lr_hsi.shape, p.hr_msi.shape[1]
        pick = torch.randperm(len(px.valid_index), generator=self.generator)[: px.batch_pixels]
        idx = px.valid_index[pick.to(p.device)]
        rows, cols = idx // w, idx % w
        blocks = p.hr_msi[0].reshape(msi_bands, h, r, w, r).permute(0, 1, 3, 2, 4)[:, rows, cols]  # (c, n, r, r)
        z = blocks.reshape(1, msi_bands, -1, r)
        y = p.lr_hsi[0][:, rows, cols].reshape(1, hsi_bands, -1, 1)
        return HRBatch(z, y, None, None)

    def _run(
        self,
        stage: Stage,
        schedule: StageConfig,
        trained: list[nn.Module],
        step: Callable[[], Terms],
        score: Callable[[], float] | None = None,
        stop_at: int | None = None,
        selection: Selection | None = None,
    ) -> Selection:
        """Optimise the ``trained`` modules for one stage (from the checkpoint when resuming it).

        ``score``: the hold-out score (see :class:`~pfs2c2.model.loop.HoldoutSelector`). ``stop_at``
        ends the stage after that many iterations, on ``schedule``'s learning rates. ``selection`` is
        kept with every snapshot. Returns the (hold-out) selection.
        """
        params = [p for m in trained for p in m.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=schedule.lr) if params else None
        end = schedule.iterations if stop_at is None else min(stop_at, schedule.iterations)
        modules, selection = self.modules.as_dict(), selection or Selection()
        start, lr_scale, retries, elapsed = 0, 1.0, 0, 0.0
        resume = self.resume_state
        if resume is not None and resume.stage == stage:
            resume.restore(modules, opt, self.generator)
            start, lr_scale, retries, elapsed = resume.iteration, resume.lr_scale, resume.retries, resume.stage_elapsed
            self.log.history, self.log.timings = list(resume.history), dict(resume.timings)
            selection = Selection.from_dict(resume.selection) if resume.selection else selection
            self.resume_state = None
        started = time.perf_counter() - elapsed
        if opt is None or end == 0:
            self.log.timings[f"stage{int(stage)}"] = 0.0
            return selection
        run = StageRun(
            stage, schedule, opt, modules, self.generator, self.log, end, start, lr_scale, retries, started, selection
        )
        cfg = self.cfg
        guard = RollbackGuard(run, cfg.divergence_factor, cfg.divergence_retries, self.checkpointer)
        selector = HoldoutSelector(run, score, schedule.patience) if score is not None else None
        optimise(run, step, guard, HistoryLogger(run, cfg.log_every, self.callback), selector)
        return run.selection

    def train(self) -> None:
        """Run the three stages (from the checkpointed stage when resuming), and the retraining."""
        resume = self.resume_state
        first = Stage(resume.stage) if resume is not None else Stage.PRETRAIN
        if resume is not None and resume.finished:
            resume.restore(self.modules.as_dict(), None, self.generator)
            self.log.history, self.log.timings = list(resume.history), dict(resume.timings)
            return
        if first <= Stage.PRETRAIN:
            self.stage1()
        if first <= Stage.DEGRADATIONS:
            self.stage2()
        # iterations the hold-out chose for stage 3 (None without a hold-out)
        chosen = self.stage3() if first <= Stage.JOINT else self._resumed_stop_at(resume)
        if self.holdout_mask is not None and self.cfg.holdout_retrain and chosen is not None:
            self.retrain(chosen)
        if self.checkpointer is not None:
            finished = TrainingState.capture(
                Stage.FINISHED,
                0,
                self.modules.as_dict(),
                None,
                self.generator,
                history=list(self.log.history),
                timings=dict(self.log.timings),
            )
            self.checkpointer.save(finished)

    @staticmethod
    def _resumed_stop_at(resume: TrainingState | None) -> int | None:
        """The retraining length stored in a checkpoint taken during the retraining."""
        return None if resume is None else resume.selection.get("stop_at")

    def stage1(self) -> None:
        """Pretrain SpectralUp and SpatialUp from the original images (:func:`~.losses.stage1_terms`)."""
        cfg, m, p = self.cfg, self.modules, self.problem
        with torch.no_grad():
            lr_msi0 = m.spa_down(p.hr_msi)
        if cfg.linear_skip:
            m.spe_up.init_linear(lr_msi0, p.lr_hsi, self.pixels.lr_mask)

        def step() -> Terms:
            batch = self.hr_batch() if cfg.agreement_weight > 0 else None
            pair_mask = self.pixels.hr_pair_mask if not self.sampled else None
            return stage1_terms(
                m,
                p.lr_hsi,
                lr_msi0,
                self.pixels.lr_mask,
                batch,
                pair_mask,
                anchor_weight=cfg.anchor_weight,
                agreement_weight=cfg.agreement_weight,
            )

        self._run(Stage.PRETRAIN, cfg.stage1, [m.spe_up, m.spa_up], step)

    def stage2(self) -> None:
        """Learn the degradations so that SpectralDown(LR-HSI) = SpatialDown(HR-MSI)."""
        m, p = self.modules, self.problem

        def step() -> Terms:
            return stage2_terms(m, p.lr_hsi, p.hr_msi, self.pixels.lr_mask)

        self._run(Stage.DEGRADATIONS, self.cfg.stage2, [m.spe_down, m.spa_down], step)

    def stage3(self) -> int | None:
        """Optimise all four modules under the cycle constraints (:func:`~.losses.stage3_terms`).

        Returns the number of iterations chosen on the hold-out pixels (None without a hold-out).
        """
        cfg, m, p = self.cfg, self.modules, self.problem
        start = self.resume_state is None or self.resume_state.stage != Stage.JOINT
        if start:
            self._spa_up_from_psf()
            self._refit_linear()
        # the state stage 3 starts from, kept (also in checkpoints) for the retraining on all pixels
        keep_start = start and self.holdout_mask is not None and cfg.holdout_retrain
        selection = Selection(start=copy_states(m.as_dict())) if keep_start else Selection()
        score = None
        if self.holdout_mask is not None:
            holdout = self.holdout_mask

            def score() -> float:
                return holdout_mse(m, p.lr_hsi, p.hr_msi, holdout)

        chosen = self._run(Stage.JOINT, cfg.stage3, self._all(), self._stage3_step(), score, selection=selection)
        if score is None:
            return None
        self._stage3_start = chosen.start
        return int(chosen.iteration)

    def retrain(self, iterations: int) -> None:
        """Stage 3 again from its start, on all LR pixels (the hold-out included), for ``iterations``.

        ``iterations`` is the length the hold-out chose; the learning rates follow stage 3's schedule.
        """
        resuming = self.resume_state is not None and self.resume_state.stage == Stage.RETRAIN
        self.pixels = Pixels.select(self.problem.lr_valid, self.problem, self.cfg.batch_fraction)
        if not resuming:
            if self._stage3_start is None:
                raise RuntimeError("retrain() needs stage3() run with a hold-out and holdout_retrain first")
            for name, module in self.modules.as_dict().items():
                module.load_state_dict(self._stage3_start[name])
            self._spa_up_from_psf()
            self._refit_linear()
            message = f"stage 3 again on all pixels for the {iterations} iterations the hold-out chose"
            self.log.history.append({"stage": int(Stage.RETRAIN), "iteration": 0, "event": message})
        self._run(
            Stage.RETRAIN,
            self.cfg.stage3,
            self._all(),
            self._stage3_step(),
            stop_at=iterations,
            selection=Selection(stop_at=iterations),
        )

    def _all(self) -> list[nn.Module]:
        m = self.modules
        return [m.spe_up, m.spa_up, m.spe_down, m.spa_down]

    @torch.no_grad()
    def _spa_up_from_psf(self) -> None:
        """Restart SpaUp from the learned PSF's window around its centroid (``spa_up_from_psf``)."""
        m, r = self.modules, self.problem.ratio
        if self.cfg.spa_up_from_psf and m.spa_down.learnable:
            window = centroid_window(m.spa_down.psf.double().cpu().numpy(), r)
            m.spa_up.kernel.copy_(SpatialUp(r, window).kernel.to(m.spa_up.kernel))

    def _refit_linear(self) -> None:
        """Refit SpectralUp's linear path through the current PSF (``refit_linear``), keeping the MLP."""
        m, p = self.modules, self.problem
        if self.cfg.linear_skip and self.cfg.refit_linear:
            with torch.no_grad():
                m.spe_up.init_linear(m.spa_down(p.hr_msi), p.lr_hsi, self.pixels.lr_mask, keep_mlp=True)

    def _stage3_step(self) -> Callable[[], Terms]:
        """The loss terms of one stage-3 iteration, on the pixels in use (see :class:`Pixels`)."""
        cfg, m, p = self.cfg, self.modules, self.problem
        learn_degradation = any(q.requires_grad for module in (m.spe_down, m.spa_down) for q in module.parameters())

        def step() -> Terms:
            return stage3_terms(
                m,
                p.lr_hsi,
                p.hr_msi,
                self.pixels.lr_mask,
                self.pixels.hr_pair_mask,
                self.hr_batch(),
                learn_degradation=learn_degradation,
                spectral_consistency_weight=cfg.spectral_consistency_weight,
            )

        return step

    @torch.no_grad()
    def fused(self) -> np.ndarray:
        """SpectralUp(MSI) ``(C, H, W)`` in the HSI's units, NaN where the MSI is not valid.

        With ``residual_correction``, plus the LR residual ``LR-HSI - SpatialDown(SpectralUp(MSI))`` (zero
        where the LR pixel is not valid) upsampled per ``residual_upsampling`` (:mod:`.residual`).
        """
        m, p = self.modules, self.problem
        out = m.spe_up(p.hr_msi)
        if self.cfg.residual_correction:
            prediction = m.spa_down(out)
            residual = p.lr_hsi - prediction
            method = self.cfg.residual_upsampling
            mask = p.full_lr_mask
            keep = border_consistent(residual, prediction, m.spa_down.psf, p.ratio, p.lr_valid)
            if not bool(keep.all()):  # outer LR rings darker than predicted (zero-filled edges): left out
                border = keep.to(residual.dtype)[None, None]
                mask = border if mask is None else mask * border
            out = out + residual_upsample(residual, m.spa_down.psf, p.ratio, method, mask)
        fused = (out[0] * p.hsi_scale).float().cpu().numpy()
        fused[:, ~p.msi_valid] = np.nan
        return fused

    @torch.no_grad()
    def operators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(psf (k, k), srf shape (C, c), gain (c,))`` in the inputs' units (see ``FusionResult``)."""
        m, p = self.modules, self.problem
        psf = m.spa_down.psf.double().cpu().numpy()
        srf_model = m.spe_down.srf.double().cpu().numpy() * p.msi_scale / p.hsi_scale  # in input units
        gain = srf_model.sum(0)
        return psf / psf.sum(), srf_model / gain, gain
