"""Fuse an LR-HSI with an HR-MSI: :func:`fuse` and its result types.

:func:`fuse` checks and normalises the inputs (a :class:`~pfs2c2.model.trainer.Problem`), trains
``config.ensemble`` runs of the method with consecutive seeds (:class:`~pfs2c2.model.trainer.Trainer`:
the four modules of :mod:`pfs2c2.model.modules`, the stage losses of :mod:`pfs2c2.model.losses`) and
averages them. The fused cube is ``SpectralUp(MSI)`` rescaled to the HSI's units (plus the LR
residual with ``residual_correction``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ._checks import (
    Layout,
    PsfConvention,
    as_chw,
    check_dataarray_pair,
    check_fusion_inputs,
    check_no_leftover_checkpoint,
    check_psf_size,
    combine_mask,
)
from .config import FusionConfig, ProgressCallback, RunOptions
from .io.dataarray import from_dataarray, fused_meta, is_dataarray, to_dataarray, valid_coordinate
from .masks import valid_pixels
from .model.checkpoint import checkpoint_files, fingerprint, load_checkpoint, member_checkpoint, remove_checkpoint
from .model.loop import Checkpointer
from .model.trainer import Problem, Trainer

logger = logging.getLogger("pfs2c2")

__all__ = ["FusionResult", "Layout", "ProgressCallback", "RunResult", "fuse", "fuse_with_trainers", "select_device"]


@dataclass
class RunResult:
    """What every fusion run returns, tiled or not (:class:`FusionResult`, ``tiling.TiledResult``).

    Attributes:
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
    """

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


@dataclass
class FusionResult(RunResult):
    """What :func:`fuse` returns: a :class:`RunResult` plus the fused cube and the trained modules.

    Attributes:
        fused: fused HR-HSI, float32, in the layout of the inputs and the LR-HSI's units; an
            ``xarray.DataArray`` on the MSI grid (HSI wavelengths, MSI CRS) when the inputs were DataArrays.
        modules: the trained modules (of the first run of an ensemble), by name: ``spe_up``
            (SpectralUp), ``spa_up`` (SpatialUp), ``spe_down`` (SpectralDown), ``spa_down`` (SpatialDown).

    With ``config.ensemble`` > 1, ``fused``, ``psf``, ``srf`` and ``srf_gain`` are the means over the runs.
    """

    fused: np.ndarray = field(kw_only=True)
    modules: dict[str, nn.Module] = field(default_factory=dict, repr=False, kw_only=True)


def select_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def fuse(
    lr_hsi: Any,
    hr_msi: Any,
    *,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    srf_support: Any = None,
    hsi_mask: Any = None,
    msi_mask: Any = None,
    mask_nonfinite: bool = False,
    psf_convention: PsfConvention = "auto",
    layout: Layout = "chw",
    config: FusionConfig | None = None,
    run: RunOptions | None = None,
) -> FusionResult:
    """Fuse a low-resolution HSI with a high-resolution MSI of the same scene (PFS2C2).

    Args:
        lr_hsi: LR-HSI, ``(C, h, w)`` or ``(h, w, C)`` per ``layout``; numpy array or tensor.
            Also an ``xarray.DataArray`` (``pip install 'pfs2c2[xarray]'``): then ``hr_msi`` must be one too
            (same CRS; see :mod:`pfs2c2.dataarray`), the masks default to the valid pixels, and
            ``result.fused`` is a DataArray.
        hr_msi: HR-MSI, ``(c, H, W)`` or ``(H, W, c)``, with ``H = ratio * h``, ``W = ratio * w``, ``c < C``.
        ratio: spatial scale factor; inferred from the shapes when omitted.
        srf: known ``(C, c)`` SRF (non-blind spectral mode), in the inputs' units: ``MSI = HSI @ srf``.
        psf: known ``(k, k)`` PSF (non-blind spatial mode); non-negative, summing to 1 (within 1%).
        srf_support: ``(C, c)`` matrix whose non-zeros say which HSI bands each MSI band may cover when
            the SRF is learned (from wavelengths and a sensor, see :mod:`pfs2c2.sensors`); default all.
        hsi_mask, msi_mask: ``(h, w)`` / ``(H, W)`` bool, True = valid data (e.g. from
            :func:`pfs2c2.masks.valid_pixels` with the file's nodata value, or ``nodata=0`` for a
            zero-filled border). Without a mask only NaN/Inf pixels (``mask_nonfinite``) are nodata:
            all-zero spectra are data, with a warning when they touch the image edge. Invalid pixels
            are left out of every loss; MSI-invalid pixels are NaN in the fused cube.
        mask_nonfinite: treat NaN/Inf pixels as nodata instead of refusing the input.
        psf_convention: what ``psf`` means: ``"combined"`` (pfs2c2's blur + decimation kernel, ``k >= ratio``,
            ``k - ratio`` even), ``"blur"`` (an odd blur applied before decimation, as most tools state
            it; converted to the combined kernel of size ``k + ratio - 1``), or ``"auto"`` (combined when it
            can be one, else blur). ``result.psf`` is always the combined kernel.
        layout: ``"chw"`` or ``"hwc"``, the axis order of both inputs and of the returned cube.
        config: the method's settings; default ``FusionConfig()`` (the default preset).
        run: how to run it (device, threads, progress callback, checkpoints, resume); default
            ``RunOptions()``. It does not change the result.

    Returns:
        A :class:`FusionResult`.

    Raises:
        InputError: a one-line message for inconsistent or invalid inputs (a ValueError).
        FusionError: the loss kept diverging after ``config.divergence_retries`` roll-backs.
    """
    if is_dataarray(lr_hsi) or is_dataarray(hr_msi):
        return _fuse_dataarrays(
            lr_hsi,
            hr_msi,
            ratio=ratio,
            srf=srf,
            psf=psf,
            srf_support=srf_support,
            hsi_mask=hsi_mask,
            msi_mask=msi_mask,
            mask_nonfinite=mask_nonfinite,
            psf_convention=psf_convention,
            layout=layout,
            config=config,
            run=run,
        )
    return _fuse(
        lr_hsi,
        hr_msi,
        ratio=ratio,
        srf=srf,
        psf=psf,
        srf_support=srf_support,
        hsi_mask=hsi_mask,
        msi_mask=msi_mask,
        mask_nonfinite=mask_nonfinite,
        psf_convention=psf_convention,
        layout=layout,
        config=config,
        run=run,
    )[0]


def fuse_with_trainers(lr_hsi: Any, hr_msi: Any, **kwargs: Any) -> tuple[FusionResult, list[Trainer]]:
    """:func:`fuse` on numpy/tensor inputs that also returns every ensemble run's trained
    :class:`~pfs2c2.model.Trainer` (seed order), for inference elsewhere (:mod:`pfs2c2.scene` streams a
    scene through them). Same keywords as :func:`fuse` (no DataArrays)."""
    return _fuse(lr_hsi, hr_msi, keep_trainers=True, **kwargs)


def _fuse(
    lr_hsi: Any,
    hr_msi: Any,
    *,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    srf_support: Any = None,
    hsi_mask: Any = None,
    msi_mask: Any = None,
    mask_nonfinite: bool = False,
    psf_convention: PsfConvention = "auto",
    layout: Layout = "chw",
    config: FusionConfig | None = None,
    run: RunOptions | None = None,
    keep_trainers: bool = False,
) -> tuple[FusionResult, list[Trainer]]:
    """The body of :func:`fuse` (arrays in); the trainers are kept only with ``keep_trainers``."""
    cfg = config or FusionConfig()
    run = run or RunOptions()
    y = as_chw(lr_hsi, layout, "LR-HSI")
    z = as_chw(hr_msi, layout, "HR-MSI")
    checked = check_fusion_inputs(
        y,
        z,
        ratio,
        srf,
        psf,
        srf_support,
        hsi_mask=hsi_mask,
        msi_mask=msi_mask,
        mask_nonfinite=mask_nonfinite,
        psf_convention=psf_convention,
    )
    ratio, srf_known, support, psf_known = checked.ratio, checked.srf, checked.srf_support, checked.psf
    hsi_valid = combine_mask(
        valid_pixels(y, warn_zero_border=hsi_mask is None, name="LR-HSI"), hsi_mask, y.shape[1:], "hsi_mask"
    )
    msi_valid = combine_mask(
        valid_pixels(z, warn_zero_border=msi_mask is None, name="HR-MSI"), msi_mask, z.shape[1:], "msi_mask"
    )
    check_psf_size(cfg.psf_size, ratio)

    if run.threads:
        torch.set_num_threads(run.threads)
    device = select_device(run.device)
    t0 = time.perf_counter()
    ckpt = None if run.checkpoint is None else Path(run.checkpoint)
    leftover = [] if ckpt is None or run.resume else checkpoint_files(ckpt)
    check_no_leftover_checkpoint(leftover)
    arrays = {
        "lr_hsi": y,
        "hr_msi": z,
        "srf": srf_known,
        "psf": psf_known,
        "support": support,
        "hsi_valid": hsi_valid,
        "msi_valid": msi_valid,
    }
    problem = Problem.build(
        y, z, hsi_valid, msi_valid, ratio, psf=psf_known, srf=srf_known, srf_support=support, device=device
    )
    runs = []
    for member in range(cfg.ensemble):
        member_cfg = cfg if member == 0 else dataclasses.replace(cfg, seed=cfg.seed + member)
        member_ckpt = None if ckpt is None else member_checkpoint(ckpt, member)
        # the checkpoint fingerprint hashes the inputs and the member's configuration whole
        run_id = "" if ckpt is None else fingerprint(arrays, {"ratio": ratio, "config": member_cfg.to_dict()})
        runs.append(_train_member(problem, member_cfg, run, member_ckpt, run_id, keep_trainer=keep_trainers))
    if ckpt is not None and not run.keep_checkpoint:
        remove_checkpoint(ckpt)
    mean = _average_runs(runs)
    mean.timings["total"] = time.perf_counter() - t0
    result = FusionResult(
        fused=mean.fused if layout == "chw" else mean.fused.transpose(1, 2, 0).copy(),
        psf=mean.psf,
        srf=mean.srf,
        srf_gain=mean.gain,
        ratio=ratio,
        history=mean.history,
        timings=mean.timings,
        config=cfg,
        device=str(device),
        psf_learned=psf_known is None,
        srf_learned=srf_known is None,
        modules=mean.modules,
    )
    return result, [r.trainer for r in runs if r.trainer is not None]


def _fuse_dataarrays(
    lr_hsi: Any, hr_msi: Any, *, hsi_mask: Any, msi_mask: Any, mask_nonfinite: bool, layout: str, **kwargs: Any
) -> FusionResult:
    """:func:`fuse` on two xarray DataArrays: ``result.fused`` is a DataArray on the MSI grid.

    The layout comes from the dims; unless given, the masks are the valid pixels (finite, not the
    nodata value, a product's ``valid`` coordinate) and NaN pixels are masked.
    """
    y, y_meta = from_dataarray(lr_hsi) if is_dataarray(lr_hsi) else (lr_hsi, None)
    z, z_meta = from_dataarray(hr_msi) if is_dataarray(hr_msi) else (hr_msi, None)
    check_dataarray_pair(
        is_dataarray(lr_hsi), is_dataarray(hr_msi), getattr(y_meta, "crs", None), getattr(z_meta, "crs", None)
    )
    assert y_meta is not None and z_meta is not None  # both are DataArrays past the check
    if hsi_mask is None:
        hsi_mask = _valid_dataarray_pixels(lr_hsi, y, y_meta)
    if msi_mask is None:
        msi_mask = _valid_dataarray_pixels(hr_msi, z, z_meta)
    result = fuse(y, z, hsi_mask=hsi_mask, msi_mask=msi_mask, mask_nonfinite=True, **kwargs)
    fused = to_dataarray(np.asarray(result.fused, dtype=np.float32), fused_meta(y_meta, z_meta), name=lr_hsi.name)
    return dataclasses.replace(result, fused=fused)


def _valid_dataarray_pixels(da: Any, cube: np.ndarray, meta: Any) -> np.ndarray:
    """Valid pixels of a DataArray's cube: finite, not nodata, and its ``valid`` coordinate if any."""
    valid = valid_pixels(cube, meta.nodata, name=str(da.name or "DataArray"))
    coord = valid_coordinate(da)
    if coord is not None and coord.shape == valid.shape:
        valid &= coord
    return valid


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
    trainer: Trainer | None = None


def _train_member(
    problem: Problem, cfg: FusionConfig, run: RunOptions, ckpt: Path | None, run_id: str, *, keep_trainer: bool = False
) -> _Run:
    """Train one run (seed ``cfg.seed``), resuming from ``ckpt`` when it exists, and keep its results
    (the trainer too with ``keep_trainer``).

    The checkpoint is left in place (a finished run's says so), so that an interrupted ensemble
    resumes without training its finished runs again.
    """
    torch.manual_seed(cfg.seed)
    resume_state, checkpointer = None, None
    if ckpt is not None:
        if ckpt.exists():
            resume_state = load_checkpoint(ckpt, run_id)
            logger.info(
                "resuming from %s at stage %d iteration %d", ckpt, resume_state.stage, resume_state.iteration + 1
            )
        checkpointer = Checkpointer(ckpt, run.checkpoint_every, run_id)
    trainer = Trainer(problem, cfg, callback=run.callback, checkpointer=checkpointer, resume=resume_state)
    trainer.train()
    psf, srf, gain = trainer.operators()
    return _Run(
        trainer.fused(),
        psf,
        srf,
        gain,
        trainer.log.history,
        trainer.log.timings,
        trainer.modules.as_dict(),
        trainer if keep_trainer else None,
    )


def _average_runs(runs: list[_Run]) -> _Run:
    """Combine an ensemble: mean fused cube, PSF, SRF and gain; histories tagged with ``member``
    (0-based, the seed offset) and concatenated; seconds per stage summed; the first run's modules.
    One run is returned as is (with its own copy of the timings)."""
    if len(runs) == 1:
        return dataclasses.replace(runs[0], timings=dict(runs[0].timings))
    fused = cast(np.ndarray, np.mean([run.fused for run in runs], axis=0, dtype=np.float64)).astype(np.float32)
    psf = np.mean([run.psf for run in runs], axis=0)
    srf = np.mean([run.srf for run in runs], axis=0)
    gain = np.mean([run.gain for run in runs], axis=0)
    history = [{**record, "member": member} for member, run in enumerate(runs) for record in run.history]
    timings: dict[str, float] = {}
    for run in runs:
        for key, seconds in run.timings.items():
            timings[key] = timings.get(key, 0.0) + seconds
    return _Run(fused, psf / psf.sum(), srf, gain, history, timings, runs[0].modules)
