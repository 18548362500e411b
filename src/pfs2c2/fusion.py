"""The three stages of PFS2C2 and :func:`fuse`.

Notation (all inside the model, images normalised by their own maximum):
``Y`` LR-HSI ``(1, C, h, w)``, ``Z`` HR-MSI ``(1, c, H, W)``, ``F`` SpeUp, ``G`` SpaUp, ``R`` SpeDown,
``B`` SpaDown, ``B0`` the PSF before learning.

1. Pretrain the inverses: ``|G(Y) - F(Z)|`` (the paper) plus the anchor ``|F(B0(Z)) - Y|``.
2. Learn the degradations: ``|R(Y) - B(Z)|``.
3. Jointly: ``|R(Y) - B(Z)| + |F(B(Z)) - Y| + |G(R(Y)) - Z| + |B(F(Z)) - Y|`` plus the
   spectral-consistency term ``|R(F(Z)) - Z|``.

All losses are L1 means. The fused cube is ``F(Z)`` rescaled to the HSI's units (plus the LR
residual with ``residual_correction``), averaged over ``ensemble`` runs with consecutive seeds.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
from torch import nn

from .checkpoint import TrainingState, checkpoint_files, fingerprint, load_checkpoint, member_checkpoint, remove_checkpoint, save_checkpoint
from .config import FusionConfig, StageConfig
from .errors import FusionError, InputError
from .io.grids import ratio_from_shapes
from .masks import block_all, masked_l1, valid_pixels
from .modules import SpatialDown, SpatialUp, SpectralDown, SpectralUp
from .physics import bicubic_upsample_tensor, check_psf, gaussian_psf
from .validation import check_fusion_inputs, check_psf_size

logger = logging.getLogger("pfs2c2")

SNAPSHOT_EVERY = 25
"""Iterations between in-memory snapshots (the roll-back points and what checkpoints save)."""

VALIDATE_EVERY = 50
"""Iterations between hold-out scores in stage 3."""

RETRAIN_STAGE = 4
"""Stage number (history, checkpoints, timings) of stage 3 run again on all pixels after the hold-out
has chosen its length (``FusionConfig.holdout_retrain``)."""

FINISHED = 5
"""Stage number of a checkpoint written after training ended."""


def _copy_states(modules: dict[str, nn.Module]) -> dict[str, dict[str, torch.Tensor]]:
    return {name: {k: v.detach().clone() for k, v in m.state_dict().items()} for name, m in modules.items()}

Layout = Literal["chw", "hwc"]
ProgressCallback = Callable[[int, int, int, float], None]
"""Called as ``callback(stage, iteration, total_iterations, loss)`` during training."""


@dataclass
class FusionResult:
    """What :func:`fuse` returns.

    Attributes:
        fused: fused HR-HSI, float32, in the layout of the inputs and the LR-HSI's units.
        psf: ``(k, k)`` PSF (learned or the known one), non-negative, sums to 1.
        srf: ``(C, c)`` SRF shape, each column non-negative and summing to 1.
        srf_gain: ``(c,)`` gain per MSI band such that ``MSI ~= HSI @ (srf * srf_gain)`` in the inputs' units.
        ratio: spatial scale factor used.
        history: one record per logged iteration: ``stage``, ``iteration``, ``loss`` and each loss term;
            with ``config.ensemble`` > 1 the runs' records one after the other, each tagged ``member``
            (0-based; run k used seed ``config.seed + k``).
        timings: seconds per stage (``stage1``, ``stage2``, ``stage3``, ``stage4`` = stage 3 again on all
            pixels when a hold-out chose its length), summed over an ensemble's runs, and ``total``.
        config: the resolved configuration.
        device: the torch device the run used.
        psf_learned, srf_learned: whether the operator was learned (blind) or given.
        modules: the trained SpeUp, SpaUp, SpeDown and SpaDown (of the first run of an ensemble).

    With ``config.ensemble`` > 1, ``fused``, ``psf``, ``srf`` and ``srf_gain`` are the means over the runs.
    """

    fused: np.ndarray
    psf: np.ndarray
    srf: np.ndarray
    srf_gain: np.ndarray
    ratio: int
    history: list[dict[str, Any]]
    timings: dict[str, float]
    config: FusionConfig
    device: str
    psf_learned: bool
    srf_learned: bool
    modules: dict[str, nn.Module] = field(default_factory=dict, repr=False)


def to_chw(x: Any, layout: Layout, name: str) -> np.ndarray:
    """Return a float32 ``(C, H, W)`` copy of a 3-D array given in ``layout``.

    Raises:
        InputError: if the array is not 3-D.
    """
    arr = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    if arr.ndim != 3:
        raise InputError(f"{name} must be a 3-D cube ({layout.upper()}), got shape {arr.shape}")
    if layout not in ("chw", "hwc"):
        raise InputError(f"layout must be 'chw' or 'hwc', got {layout!r}")
    if layout == "hwc":
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr, dtype=np.float32)


def infer_ratio(hsi_shape: tuple[int, ...], msi_shape: tuple[int, ...], ratio: int | None = None) -> int:
    """Spatial ratio from ``(C, h, w)`` and ``(c, H, W)`` shapes; check a given ratio against them.

    Raises:
        InputError: if the sizes are not an integer ratio apart or contradict ``ratio``.
    """
    return ratio_from_shapes(*hsi_shape[1:], *msi_shape[1:], ratio)


def check_srf(srf: Any, hsi_bands: int, msi_bands: int) -> np.ndarray:
    """Validate a ``(C, c)`` SRF matrix (float64, finite, non-negative, no empty column)."""
    m = np.asarray(srf, dtype=np.float64)
    if m.shape != (hsi_bands, msi_bands):
        if m.shape == (msi_bands, hsi_bands):
            raise InputError(f"SRF has shape {m.shape}; expected (HSI bands, MSI bands) = ({hsi_bands}, {msi_bands}): transpose it")
        raise InputError(f"SRF has shape {m.shape}; expected (HSI bands, MSI bands) = ({hsi_bands}, {msi_bands})")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise InputError("SRF must be finite and non-negative")
    if np.any(m.sum(0) <= 0):
        raise InputError(f"SRF column(s) {np.flatnonzero(m.sum(0) <= 0).tolist()} are all zero: each MSI band needs a response")
    return m


def select_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _data_max(x: np.ndarray, valid: np.ndarray) -> float:
    peak = float(np.max(x[:, valid])) if valid.any() else 0.0
    if peak <= 0:
        raise InputError("an input image is all zero or negative; check the file and its scaling")
    return peak


def _combine_mask(valid: np.ndarray, mask: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    if mask is None:
        return valid
    m = np.asarray(mask, dtype=bool)
    if m.shape != tuple(shape):
        raise InputError(f"{name} has shape {m.shape}; expected the image size {tuple(shape)}")
    return valid & m


class _Trainer:
    """Holds the four modules and the normalised images; runs the stages."""

    def __init__(
        self,
        y: np.ndarray,
        z: np.ndarray,
        hsi_valid: np.ndarray,
        msi_valid: np.ndarray,
        ratio: int,
        srf_known: np.ndarray | None,
        srf_support: np.ndarray | None,
        psf_known: np.ndarray | None,
        cfg: FusionConfig,
        device: torch.device,
        callback: ProgressCallback | None,
        checkpoint: Path | None = None,
        checkpoint_every: float = 60.0,
        fingerprint_: str = "",
        resume_state: TrainingState | None = None,
    ) -> None:
        self.cfg, self.ratio, self.callback, self.device = cfg, ratio, callback, device
        self.checkpoint, self.checkpoint_every, self.fingerprint = checkpoint, checkpoint_every, fingerprint_
        self.resume_state = resume_state
        self.last_save = time.perf_counter()
        self.y_scale, self.z_scale = _data_max(y, hsi_valid), _data_max(z, msi_valid)
        # invalid pixels are zero-filled and weighted out of every loss
        y, z = np.where(hsi_valid, y, 0.0), np.where(msi_valid, z, 0.0)
        self.Y = torch.from_numpy(y / self.y_scale).float()[None].to(device)
        self.Z = torch.from_numpy(z / self.z_scale).float()[None].to(device)
        self.msi_valid = msi_valid
        C, c = y.shape[0], z.shape[0]
        # LR pixels usable in the LR losses: the HSI pixel and its whole MSI block are data
        lr_valid = hsi_valid & block_all(msi_valid, ratio)
        if not lr_valid.any():
            raise InputError("no LR pixel has valid data in both images; check nodata values and that the images overlap")
        # hold out a random share of the LR pixels from every loss: stage 3 is judged on them
        holdout = np.zeros_like(lr_valid)
        n_holdout = int(cfg.holdout_fraction * lr_valid.sum())
        if n_holdout > 0:
            pick = np.random.default_rng(cfg.seed).permutation(np.flatnonzero(lr_valid.ravel()))[:n_holdout]
            holdout.ravel()[pick] = True
        self.full_lr_mask = None if lr_valid.all() else torch.from_numpy(lr_valid.astype(np.float32))[None, None].to(device)
        self.holdout_mask = torch.from_numpy(holdout.astype(np.float32))[None, None].to(device) if n_holdout else None
        self.all_lr_valid = lr_valid
        self._use_pixels(lr_valid & ~holdout)

        k = cfg.psf_size or ratio
        if psf_known is not None:
            self.B = SpatialDown(ratio, psf_known, learn=False)
        else:
            start = gaussian_psf(ratio, k) if cfg.psf_init == "gaussian" else np.full((k, k), 1.0 / k**2)
            self.B = SpatialDown(ratio, start, learn=True)
        self.G = SpatialUp(ratio, psf_known if psf_known is not None else gaussian_psf(ratio))
        self.F = SpectralUp(c, C, cfg.attention, cfg.output_activation, cfg.linear_skip).to(device)

        if srf_known is not None:
            self.R = SpectralDown((srf_known * self.y_scale / self.z_scale).astype(np.float32), learn=False)
        else:
            support = np.ones((C, c), bool) if srf_support is None else np.asarray(srf_support) > 0
            shape = support / support.sum(0, keepdims=True)
            # start each gain at the ratio of means, so the first SRF already matches the MSI's units
            lr_msi0 = self.B(self.Z).detach().cpu().numpy()[0][:, lr_valid].mean(axis=1)
            projected = shape.T @ y[:, lr_valid].mean(axis=1) / self.y_scale
            gain = np.where(projected > 0, lr_msi0 / np.maximum(projected, 1e-12), 1.0)
            self.R = SpectralDown((shape * gain).astype(np.float32), learn=True, learn_gain=cfg.learn_srf_gain)
        for module in (self.B, self.G, self.F, self.R):
            module.to(device)
        self.history: list[dict[str, Any]] = []
        self.timings: dict[str, float] = {}
        # the HR terms can be computed on a random subset of LR pixels and their ratio x ratio blocks;
        # exact when the PSF is ratio x ratio (blocks do not overlap), so only then
        self.sampled = cfg.batch_fraction < 1.0 and self.B.psf.shape[-1] == ratio
        self.generator = torch.Generator().manual_seed(cfg.seed)

    def _use_pixels(self, lr_valid: np.ndarray) -> None:
        """Train on the LR pixels where ``lr_valid`` ``(h, w)`` is True (and their HR blocks): sets the
        loss masks and the pool the HR batches are drawn from."""
        r, msi_valid, device = self.ratio, self.msi_valid, self.device
        all_valid = bool(lr_valid.all() and msi_valid.all())
        to_mask = lambda m: None if all_valid else torch.from_numpy(m.astype(np.float32))[None, None].to(device)  # noqa: E731
        self.lr_mask = to_mask(lr_valid)
        self.hr_mask = to_mask(msi_valid)
        self.hr_pair_mask = to_mask(msi_valid & np.kron(lr_valid, np.ones((r, r), bool)).astype(bool))
        self.valid_index = torch.from_numpy(np.flatnonzero(lr_valid.ravel())).to(device)
        self.batch_pixels = max(1, round(self.cfg.batch_fraction * len(self.valid_index)))

    def hr_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """MSI and LR-HSI for the HR loss terms of one iteration, with their masks.

        Returns ``(z, y, lr_mask, hr_mask)``. Without sampling these are the whole images and masks.
        Otherwise ``n`` random valid LR pixels are taken and their ``r x r`` MSI blocks stacked
        vertically, ``z (1, c, n*r, r)`` and ``y (1, C, n, 1)``: blur + decimation of the stack gives
        exactly the stacked LR pixels, the spectral attention pools over the sampled pixels, and every
        sampled pixel is valid (masks None).
        """
        if not self.sampled:
            return self.Z, self.Y, self.lr_mask, self.hr_mask
        r, (_, C, h, w), c = self.ratio, self.Y.shape, self.Z.shape[1]
        pick = torch.randperm(len(self.valid_index), generator=self.generator)[: self.batch_pixels]
        idx = self.valid_index[pick.to(self.device)]
        rows, cols = idx // w, idx % w
        blocks = self.Z[0].reshape(c, h, r, w, r).permute(0, 1, 3, 2, 4)[:, rows, cols]  # (c, n, r, r)
        z = blocks.reshape(1, c, -1, r)
        y = self.Y[0][:, rows, cols].reshape(1, C, -1, 1)
        return z, y, None, None

    def _modules(self) -> dict[str, nn.Module]:
        return {"spe_up": self.F, "spa_up": self.G, "spe_down": self.R, "spa_down": self.B}

    def _save(self, state: TrainingState) -> None:
        if self.checkpoint is not None:
            save_checkpoint(self.checkpoint, state, self.fingerprint)
            self.last_save = time.perf_counter()

    def _run(self, stage: int, sched: StageConfig, modules: list[nn.Module], step: Callable[[], dict[str, torch.Tensor]],
             validate: Callable[[], float] | None = None, stop_at: int | None = None,
             keep: dict[str, Any] | None = None) -> dict[str, Any]:
        """Adam on ``modules`` for one stage, with roll-back on divergence and periodic checkpoints.

        Every ``SNAPSHOT_EVERY`` iterations whose loss is finite, the state at the start of that
        iteration is kept in memory (and written to the checkpoint file when ``checkpoint_every``
        seconds have passed). A NaN/Inf loss, or one above ``divergence_factor`` times the best loss of
        the stage, restores the last snapshot and halves the learning rate; after
        ``divergence_retries`` such events the run stops with :class:`FusionError`.

        With ``validate`` (a score, lower is better, computed without training on it), the modules are
        scored every ``VALIDATE_EVERY`` iterations; the stage stops once the score has not improved for
        ``sched.patience`` iterations (0 = never stops early) and ends with the best-scoring modules.

        ``stop_at`` ends the stage after that many iterations, on ``sched``'s learning-rate schedule.
        ``keep`` is stored with every snapshot (so it survives a resume). Returns the selection:
        ``iteration`` (of the kept modules), ``score`` and ``keep``'s entries.
        """
        cfg = self.cfg
        params = [p for m in modules for p in m.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=sched.lr) if params else None
        start_it, lr_scale, retries, elapsed = 0, 1.0, 0, 0.0
        selection: dict[str, Any] = {"score": float("inf"), "iteration": 0, "modules": None, **(keep or {})}
        end = sched.iterations if stop_at is None else min(stop_at, sched.iterations)
        resume = self.resume_state
        if resume is not None and resume.stage == stage:
            resume.restore(self._modules(), opt, self.generator)
            start_it, lr_scale, retries, elapsed = resume.iteration, resume.lr_scale, resume.retries, resume.stage_elapsed
            self.history, self.timings = list(resume.history), dict(resume.timings)
            selection = dict(resume.selection) if resume.selection else selection
            self.resume_state = None
        start = time.perf_counter() - elapsed
        if opt is None or end == 0:
            self.timings[f"stage{stage}"] = 0.0
            return selection
        every = cfg.log_every
        tick = max(1, sched.iterations // 200)
        best = float("inf")

        def snapshot(it: int, generator_state: torch.Tensor) -> TrainingState:
            state = TrainingState.capture(stage, it, self._modules(), opt, self.generator, lr_scale=lr_scale, retries=retries,
                                          history=list(self.history), timings=dict(self.timings),
                                          stage_elapsed=time.perf_counter() - start, selection=dict(selection))
            state.generator = generator_state
            return state

        good = snapshot(start_it, self.generator.get_state())
        it = start_it
        def judge(it: int) -> bool:
            """Score the modules as they are at the start of ``it``; True when the stage should stop."""
            score = validate()
            self.history.append({"stage": stage, "iteration": it, "holdout_mse": score})
            if score < selection["score"] * (1 - 1e-4):
                selection.update(score=score, iteration=it, modules=_copy_states(self._modules()))
            return sched.patience > 0 and it - selection["iteration"] >= sched.patience

        while it < end:
            if validate is not None and it % VALIDATE_EVERY == 0 and (it > start_it or selection["modules"] is None) and judge(it):
                self.history.append({"stage": stage, "iteration": it, "event": f"stopped: hold-out error not improved since iteration {selection['iteration']}"})
                break
            generator_state = self.generator.get_state() if it % SNAPSHOT_EVERY == 0 else None
            for group in opt.param_groups:
                group["lr"] = sched.lr * sched.lr_factor(it) * lr_scale
            opt.zero_grad(set_to_none=True)
            terms = step()
            loss = sum(terms.values())
            last = it == end - 1
            report = self.callback is not None and (it % tick == 0 or last)
            # reading the loss makes a GPU wait: do it only where it is needed (snapshots, logs, progress);
            # a NaN between two checks spoils the parameters, which the next check sees and rolls back
            if generator_state is None and not (it % every == 0 or last or report):
                loss.backward()
                opt.step()
                it += 1
                continue
            value = float(loss.item())
            if not np.isfinite(value) or value > cfg.divergence_factor * max(best, 1e-3):
                retries += 1
                message = (f"stage {stage} iteration {it + 1}: loss {value:.3g} diverged; rolled back to iteration "
                           f"{good.iteration + 1} with learning rate x{lr_scale / 2:g} (retry {retries}/{cfg.divergence_retries})")
                if retries > cfg.divergence_retries:
                    self._save(good)
                    where = f"; the last good state is in {self.checkpoint}" if self.checkpoint is not None else ""
                    raise FusionError(f"stage {stage} kept diverging after {cfg.divergence_retries} roll-backs "
                                      f"(loss {value:.3g} at iteration {it + 1}){where}; lower the stage{stage} learning rate")
                logger.warning(message)
                good.restore(self._modules(), opt, self.generator)
                self.history = list(good.history)
                self.history.append({"stage": stage, "iteration": it + 1, "event": message})
                lr_scale /= 2
                it = good.iteration
                good = snapshot(it, good.generator)
                continue
            if generator_state is not None:
                good = snapshot(it, generator_state)
                if self.checkpoint is not None and time.perf_counter() - self.last_save >= self.checkpoint_every:
                    self._save(good)
            best = min(best, value)
            loss.backward()
            opt.step()
            if it % every == 0 or last:
                record = {"stage": stage, "iteration": it + 1, "loss": value}
                record.update({name: v.item() for name, v in terms.items()})
                self.history.append(record)
            if report:
                self.callback(stage, it + 1, end, value)
            it += 1
        if validate is not None:
            if it == end:
                judge(it)
            if selection["modules"] is not None:
                for name, module in self._modules().items():
                    module.load_state_dict(selection["modules"][name])
                self.history.append({"stage": stage, "iteration": it, "event": f"kept the modules of iteration {selection['iteration']} (best hold-out error)"})
        self.timings[f"stage{stage}"] = time.perf_counter() - start
        return selection

    def train(self) -> None:
        """Run the three stages (from the checkpointed stage when resuming)."""
        first = self.resume_state.stage if self.resume_state is not None else 1
        if self.resume_state is not None and first == FINISHED:
            self.resume_state.restore(self._modules(), None, self.generator)
            self.history, self.timings = list(self.resume_state.history), dict(self.resume_state.timings)
            return
        if first <= 1:
            self.stage1()
        if first <= 2:
            self.stage2()
        # iterations the hold-out chose for stage 3 (None without a hold-out)
        chosen = self.stage3() if first <= 3 else self.resume_state.selection["stop_at"]
        if self.holdout_mask is not None and self.cfg.holdout_retrain and chosen is not None:
            self.retrain(chosen)
        if self.checkpoint is not None:
            self._save(TrainingState.capture(FINISHED, 0, self._modules(), None, self.generator,
                                             history=list(self.history), timings=dict(self.timings)))

    def stage1(self) -> None:
        """Pretrain SpeUp and SpaUp from the original images."""
        cfg = self.cfg
        with torch.no_grad():
            lr_msi0 = self.B(self.Z)
        if cfg.linear_skip:
            self.F.init_linear(lr_msi0, self.Y, self.lr_mask)

        def step() -> dict[str, torch.Tensor]:
            terms = {}
            if cfg.agreement_weight > 0:
                z, y, _, _ = self.hr_batch()
                pair_mask = self.hr_pair_mask if not self.sampled else None
                terms["agreement"] = cfg.agreement_weight * masked_l1(self.G(y), self.F(z), pair_mask)
            if cfg.anchor_weight > 0:
                terms["anchor"] = cfg.anchor_weight * masked_l1(self.F(lr_msi0), self.Y, self.lr_mask)
            return terms

        self._run(1, cfg.stage1, [self.F, self.G], step)

    def stage2(self) -> None:
        """Learn the degradations so that SpeDown(LR-HSI) = SpaDown(HR-MSI)."""

        def step() -> dict[str, torch.Tensor]:
            return {"degradation": masked_l1(self.R(self.Y), self.B(self.Z), self.lr_mask)}

        self._run(2, self.cfg.stage2, [self.R, self.B], step)

    def stage3(self) -> int | None:
        """Optimise all four modules under the cycle constraints.

        Returns the number of iterations chosen on the hold-out pixels (None without a hold-out).
        """
        cfg = self.cfg
        start = self.resume_state is None or self.resume_state.stage != 3
        if start:
            self._refit_linear()
        # the state stage 3 starts from, kept (also in checkpoints) for the retraining on all pixels
        keep = {"start": _copy_states(self._modules())} if start and self.holdout_mask is not None and cfg.holdout_retrain else {}
        validate = None
        if self.holdout_mask is not None:
            n = self.holdout_mask.sum()

            @torch.no_grad()
            def validate() -> float:
                """Mean squared error of SpaDown(SpeUp(MSI)) against the held-out LR-HSI pixels."""
                return float((((self.B(self.F(self.Z)) - self.Y) ** 2) * self.holdout_mask).sum() / (n * self.Y.shape[1]))

        selection = self._run(3, cfg.stage3, [self.F, self.G, self.R, self.B], self._stage3_step(), validate, keep=keep)
        if validate is None:
            return None
        self._stage3_start = selection.get("start")
        return int(selection["iteration"])

    def retrain(self, iterations: int) -> None:
        """Stage 3 again from its start, on all LR pixels (the hold-out included), for ``iterations``
        (the length the hold-out chose), on stage 3's learning-rate schedule."""
        resuming = self.resume_state is not None and self.resume_state.stage == RETRAIN_STAGE
        self._use_pixels(self.all_lr_valid)
        if not resuming:
            for name, module in self._modules().items():
                module.load_state_dict(self._stage3_start[name])
            self._refit_linear()
            self.history.append({"stage": RETRAIN_STAGE, "iteration": 0,
                                 "event": f"stage 3 again on all pixels for the {iterations} iterations the hold-out chose"})
        self._run(RETRAIN_STAGE, self.cfg.stage3, [self.F, self.G, self.R, self.B], self._stage3_step(),
                  stop_at=iterations, keep={"stop_at": iterations})

    def _refit_linear(self) -> None:
        """Refit SpeUp's linear path through the current PSF (``refit_linear``), keeping the MLP."""
        if self.cfg.linear_skip and self.cfg.refit_linear:
            with torch.no_grad():
                self.F.init_linear(self.B(self.Z), self.Y, self.lr_mask, keep_mlp=True)

    def _stage3_step(self) -> Callable[[], dict[str, torch.Tensor]]:
        """The loss terms of one stage-3 iteration, on the pixels in use (see :meth:`_use_pixels`)."""
        cfg = self.cfg
        learn_degradation = any(p.requires_grad for m in (self.R, self.B) for p in m.parameters())

        def step() -> dict[str, torch.Tensor]:
            lr_msi_spatial = self.B(self.Z)
            lr_msi_spectral = self.R(self.Y)
            z, y, lr_mask, hr_mask = self.hr_batch()
            fused = self.F(z)
            terms = {
                "spe_up_cycle": masked_l1(self.F(lr_msi_spatial.detach()), self.Y, self.lr_mask),
                "spa_up_cycle": masked_l1(self.G(lr_msi_spectral.detach()), self.Z, self.hr_pair_mask),
                "fused_spatial": masked_l1(self.B(fused), y, lr_mask),
            }
            if learn_degradation:
                terms["degradation"] = masked_l1(lr_msi_spectral, lr_msi_spatial, self.lr_mask)
            if cfg.spectral_consistency_weight > 0:
                terms["fused_spectral"] = cfg.spectral_consistency_weight * masked_l1(self.R(fused), z, hr_mask)
            return terms

        return step

    @torch.no_grad()
    def fused(self) -> np.ndarray:
        """SpeUp(MSI) in the HSI's units; with ``residual_correction``, plus the bicubic-upsampled LR
        residual ``LR-HSI - SpaDown(SpeUp(MSI))`` (zero where the LR pixel is not valid)."""
        out = self.F(self.Z)
        if self.cfg.residual_correction:
            residual = self.Y - self.B(out)
            if self.full_lr_mask is not None:
                residual = residual * self.full_lr_mask
            out = out + bicubic_upsample_tensor(residual, self.ratio)
        fused = (out[0] * self.y_scale).float().cpu().numpy()
        fused[:, ~self.msi_valid] = np.nan
        return fused

    @torch.no_grad()
    def operators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        psf = self.B.psf.double().cpu().numpy()
        srf_model = self.R.srf.double().cpu().numpy() * self.z_scale / self.y_scale  # in input units
        gain = srf_model.sum(0)
        return psf / psf.sum(), srf_model / gain, gain


def fuse(
    lr_hsi: Any,
    hr_msi: Any,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    config: FusionConfig | None = None,
    callback: ProgressCallback | None = None,
    *,
    layout: Layout = "chw",
    srf_support: Any = None,
    hsi_mask: Any = None,
    msi_mask: Any = None,
    mask_nonfinite: bool = False,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 60.0,
    resume: bool = False,
    keep_checkpoint: bool = False,
) -> FusionResult:
    """Fuse a low-resolution HSI with a high-resolution MSI of the same scene (PFS2C2).

    Args:
        lr_hsi: LR-HSI, ``(C, h, w)`` or ``(h, w, C)`` per ``layout``; numpy array or tensor.
        hr_msi: HR-MSI, ``(c, H, W)`` or ``(H, W, c)``, with ``H = ratio * h``, ``W = ratio * w``, ``c < C``.
        ratio: spatial scale factor; inferred from the shapes when omitted.
        srf: known ``(C, c)`` SRF (non-blind spectral mode), in the inputs' units: ``MSI = HSI @ srf``.
        psf: known ``(k, k)`` PSF (non-blind spatial mode); non-negative, summing to 1 (within 1%).
        config: run configuration; default ``FusionConfig()`` (the default preset).
        callback: ``callback(stage, iteration, total, loss)`` for progress reporting.
        layout: ``"chw"`` or ``"hwc"``, the axis order of both inputs and of the returned cube.
        srf_support: ``(C, c)`` matrix whose non-zeros say which HSI bands each MSI band may cover when
            the SRF is learned (from wavelengths and a sensor, see :mod:`pfs2c2.sensors`); default all.
        hsi_mask, msi_mask: ``(h, w)`` / ``(H, W)`` bool, True = valid data (e.g. from
            :func:`pfs2c2.masks.valid_pixels` with the file's nodata value). All-zero spectra are
            always treated as nodata. Invalid pixels are left out of every loss; MSI-invalid pixels
            are NaN in the fused cube.
        mask_nonfinite: treat NaN/Inf pixels as nodata instead of refusing the input.
        checkpoint: file for the training state, written atomically every ``checkpoint_every``
            seconds (and when training ends); None = no checkpoints.
        checkpoint_every: seconds between checkpoint writes.
        resume: continue from ``checkpoint`` if it exists (it must come from the same inputs and
            settings); the result equals an uninterrupted run's (bit-identical on the CPU with the
            same thread count).
        keep_checkpoint: leave the checkpoint file after success (the CLI deletes it only once the
            outputs are written); by default it is removed.

    Returns:
        A :class:`FusionResult`.

    Raises:
        InputError: a one-line message for inconsistent or invalid inputs (a ValueError).
        FusionError: the loss kept diverging after ``config.divergence_retries`` roll-backs.
    """
    cfg = (config or FusionConfig()).validate()
    y = to_chw(lr_hsi, layout, "LR-HSI")
    z = to_chw(hr_msi, layout, "HR-MSI")
    check_fusion_inputs(y, z, ratio, srf, psf, srf_support, hsi_mask=hsi_mask, msi_mask=msi_mask, mask_nonfinite=mask_nonfinite)
    for cube, name in ((y, "LR-HSI"), (z, "HR-MSI")):
        if not mask_nonfinite and not np.all(np.isfinite(cube)):
            raise InputError(f"{name} contains NaN or Inf values; fill them, or mask them (mask_nonfinite=True, CLI --mask-nan)")
    if z.shape[0] >= y.shape[0]:
        raise InputError(
            f"the MSI has {z.shape[0]} bands and the HSI {y.shape[0]}: the HSI must have more bands "
            "(are the two inputs swapped, or the layout wrong?)"
        )
    ratio = infer_ratio(y.shape, z.shape, ratio)
    srf_known = None if srf is None else check_srf(srf, y.shape[0], z.shape[0])
    support = None if srf_support is None else check_srf(srf_support, y.shape[0], z.shape[0])
    psf_known = None if psf is None else check_psf(psf, ratio)
    hsi_valid = _combine_mask(valid_pixels(y), hsi_mask, y.shape[1:], "hsi_mask")
    msi_valid = _combine_mask(valid_pixels(z), msi_mask, z.shape[1:], "msi_mask")
    check_psf_size(cfg.psf_size, ratio)

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = select_device(cfg.device)
    t0 = time.perf_counter()
    ckpt = None if checkpoint is None else Path(checkpoint)
    leftover = [] if ckpt is None or resume else checkpoint_files(ckpt)
    if leftover:
        raise InputError(f"checkpoint {leftover[0]} exists from an earlier run; resume it (resume=True, CLI --resume) or delete it")
    arrays = {"lr_hsi": y, "hr_msi": z, "srf": srf_known, "psf": psf_known, "support": support,
              "hsi_valid": hsi_valid, "msi_valid": msi_valid}
    runs = []
    for member in range(cfg.ensemble):
        member_cfg = cfg if member == 0 else dataclasses.replace(cfg, seed=cfg.seed + member)
        member_ckpt = None if ckpt is None else member_checkpoint(ckpt, member)
        runs.append(_train_member(y, z, hsi_valid, msi_valid, ratio, srf_known, support, psf_known, member_cfg, device,
                                  callback, member_ckpt, checkpoint_every, arrays))
    if ckpt is not None and not keep_checkpoint:
        remove_checkpoint(ckpt)
    run = _average_runs(runs)
    run.timings["total"] = time.perf_counter() - t0
    return FusionResult(
        fused=run.fused if layout == "chw" else run.fused.transpose(1, 2, 0).copy(),
        psf=run.psf,
        srf=run.srf,
        srf_gain=run.gain,
        ratio=ratio,
        history=run.history,
        timings=run.timings,
        config=cfg,
        device=str(device),
        psf_learned=psf_known is None,
        srf_learned=srf_known is None,
        modules=run.modules,
    )


@dataclass
class _Run:
    """What one run of an ensemble leaves: fused cube ``(C, H, W)`` in the HSI's units, operators,
    history, timings and the trained modules."""

    fused: np.ndarray
    psf: np.ndarray
    srf: np.ndarray
    gain: np.ndarray
    history: list[dict[str, Any]]
    timings: dict[str, float]
    modules: dict[str, nn.Module]


def _train_member(y: np.ndarray, z: np.ndarray, hsi_valid: np.ndarray, msi_valid: np.ndarray, ratio: int,
                  srf_known: np.ndarray | None, support: np.ndarray | None, psf_known: np.ndarray | None,
                  cfg: FusionConfig, device: torch.device, callback: ProgressCallback | None, ckpt: Path | None,
                  checkpoint_every: float, arrays: dict[str, np.ndarray | None]) -> _Run:
    """Train one run (seed ``cfg.seed``), resuming from ``ckpt`` when it exists, and keep its results.

    The checkpoint is left in place (a finished run's says so), so that an interrupted ensemble
    resumes without training its finished runs again.
    """
    torch.manual_seed(cfg.seed)
    run_id, resume_state = "", None
    if ckpt is not None:
        settings = {k: v for k, v in cfg.to_dict().items() if k not in ("device", "threads", "log_every")}
        run_id = fingerprint(arrays, {"ratio": ratio, **settings})
        if ckpt.exists():
            resume_state = load_checkpoint(ckpt, run_id)
            logger.info("resuming from %s at stage %d iteration %d", ckpt, resume_state.stage, resume_state.iteration + 1)
    trainer = _Trainer(y, z, hsi_valid, msi_valid, ratio, srf_known, support, psf_known, cfg, device, callback,
                       ckpt, checkpoint_every, run_id, resume_state)
    trainer.train()
    psf, srf, gain = trainer.operators()
    modules = {"spe_up": trainer.F, "spa_up": trainer.G, "spe_down": trainer.R, "spa_down": trainer.B}
    return _Run(trainer.fused(), psf, srf, gain, trainer.history, trainer.timings, modules)


def _average_runs(runs: list[_Run]) -> _Run:
    """Combine an ensemble: mean fused cube, PSF, SRF and gain; histories tagged with ``member``
    (0-based, the seed offset) and concatenated; seconds per stage summed; the first run's modules.
    One run is returned as is (with its own copy of the timings)."""
    if len(runs) == 1:
        return dataclasses.replace(runs[0], timings=dict(runs[0].timings))
    fused = np.mean([run.fused for run in runs], axis=0, dtype=np.float64).astype(np.float32)
    psf = np.mean([run.psf for run in runs], axis=0)
    srf = np.mean([run.srf for run in runs], axis=0)
    gain = np.mean([run.gain for run in runs], axis=0)
    history = [{**record, "member": member} for member, run in enumerate(runs) for record in run.history]
    timings: dict[str, float] = {}
    for run in runs:
        for key, seconds in run.timings.items():
            timings[key] = timings.get(key, 0.0) + seconds
    return _Run(fused, psf / psf.sum(), srf, gain, history, timings, runs[0].modules)
