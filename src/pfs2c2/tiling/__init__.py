"""Tiled fusion: windows on the LR grid, overlap, feathered blending, bounded memory.

A large scene (e.g. a 1000x1000 PRISMA/EnMAP HSI fused with a 10 m MSI: a 3000x3000 cube of 200+ bands,
about 7 GB in float32) does not fit one :func:`pfs2c2.fusion.fuse` call. :func:`fuse_tiled` cuts it
into tiles, fuses each tile on its own (in this process, or on a Dask cluster through
:mod:`pfs2c2.tiling.executors`), and blends the tiles into the output, so that peak memory depends on the
tile size, not on the scene.

Operators (PSF and SRF) are properties of the scene, not of a tile
    Unless the user asks for ``per_tile_operators``, the unknown operators are learned once: a blind
    :func:`~pfs2c2.fusion.fuse` restricted to stage 2 (the stage that learns the degradations from
    ``|SpeDown(LR-HSI) - SpaDown(HR-MSI)|``; stages 1 and 3 get 0 iterations) runs on up to
    ``sample_count`` tiles spread over the scene (centre first); the PSFs are averaged (and
    renormalised) and so are the SRFs in input units (``srf * srf_gain``). Every tile then runs
    :func:`~pfs2c2.fusion.fuse` non-blind with these operators. On Pavia, stage 2 alone gives the same
    operators as the whole blind run (PSF error 2e-4 vs 2e-4, SRF error 0.016 vs 0.015) in 1/16 of the
    time. Operators the user gives are used as they are.

The package, one concept per module (imports go plan/memory/sources/store -> task -> job -> executors
-> this module, never back):

* :mod:`~pfs2c2.tiling.plan`: tile geometry, overlap and blending weights;
* :mod:`~pfs2c2.tiling.memory`: size strings, the memory model and the tile size a budget allows;
* :mod:`~pfs2c2.tiling.sources`: the two inputs, read window by window;
* :mod:`~pfs2c2.tiling.store`: the work directory (``OUT.tiles/``) and resume;
* :mod:`~pfs2c2.tiling.task`: the task a worker runs;
* :mod:`~pfs2c2.tiling.job`: one scene as a job of tasks, assembly of the output;
* :mod:`~pfs2c2.tiling.executors`: in-process and Dask executors and the driver's loop.

This module checks the inputs and options of a run (:func:`prepare_scene`) and runs it (:func:`fuse_tiled`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import (
    check_executor_options,
    check_not_existing,
    check_output_extension,
    check_output_path,
    check_overlap,
    check_psf,
    check_psf_size,
    check_sample_count,
    check_srf,
    check_tile_size,
    check_tiled_residual,
    check_tiled_run_options,
    format_bytes,
    parse_memory,
)
from ..config import FusionConfig, RunOptions, learned_psf_size
from ..io import WRITE_EXTENSIONS
from .executors import (
    DIST_HINT,
    DaskExecutor,
    InProcessExecutor,
    JobOutcome,
    make_executor,
    require_distributed,
    run_jobs,
)
from .job import ASSEMBLY_BLOCK, SceneJob, TileCallback, TiledResult, assemble
from .memory import (
    DASK_DRIVER_BYTES,
    PROCESS_BASE_BYTES,
    TASK_BYTES_PER_PIXEL,
    TASK_BYTES_PER_PIXEL_BAND,
    TASK_BYTES_PER_PIXEL_MSI_BAND,
    TASK_FIXED_BYTES,
    choose_tile_size,
    estimate_run_memory,
    estimate_task_memory,
)
from .plan import (
    DEFAULT_BLEND,
    RESIDUAL_REACH_LR,
    Tile,
    TilePlan,
    Window,
    default_overlap,
    plan_tiles,
    sample_tiles,
    tile_margin,
)
from .sources import READ_GDAL_CACHE_BYTES, CubeSource, SceneInputs, open_scene
from .store import TileStore, work_dir_for
from .task import MIN_VALID_PER_PARAMETER, TileResult, TileTask, combine_operators, operator_config, run_tile


def prepare_scene(
    hsi: Any,
    msi: Any,
    *,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    srf_support: Any = None,
    config: FusionConfig | None = None,
    run: RunOptions | None = None,
    saturation: float | None = None,
    mask_nonfinite: bool = False,
    tile_size: int | None = None,
    overlap: int | None = None,
    max_memory: str | int | None = None,
    workers: int = 0,
    per_tile_operators: bool = False,
    sample_count: int = 3,
    out: str | os.PathLike | None = None,
    meta: Any = None,
    work_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    name: str = "scene",
    scene: SceneInputs | None = None,
) -> SceneJob:
    """Check the inputs and options of one tiled run and build its :class:`SceneJob`.

    See :func:`fuse_tiled` for the arguments. ``workers`` is the number of tasks that run at once (0 =
    in this process); it only matters for choosing the tile size from ``max_memory``. ``meta``
    overrides the output metadata (default: the HSI's bands on the MSI's grid, as the untiled CLI).
    ``scene`` is the pair already opened by :func:`open_scene` (``hsi`` and ``msi`` are then ignored).
    Of ``run`` the tiles use ``device``; the thread count is the executor's (:func:`run_jobs`).

    Raises:
        InputError: bad options (tile too small for the overlap, memory too small, bad operators).
        FileExistsError: the output or the work directory exists (see ``resume`` / ``overwrite``).
    """
    cfg = config or FusionConfig()
    run = run or RunOptions()
    check_tiled_run_options(run)
    check_tiled_residual(cfg.residual_upsampling)
    scene = scene or open_scene(hsi, msi, ratio)
    C, c, r = scene.hsi_bands, scene.msi_bands, scene.ratio
    srf_known = None if srf is None else check_srf(srf, C, c, "SRF")
    support = None if srf_support is None else check_srf(srf_support, C, c, "SRF support")
    # as fuse(): a PSF that does not sum to 1 is refused, not rescaled
    psf_known = None if psf is None else check_psf(psf, r, sum_to_one=True)
    check_psf_size(cfg.psf_size, r)
    psf_size = psf_known.shape[0] if psf_known is not None else learned_psf_size(cfg.psf_size, r)
    plan = _plan(scene, psf_size, cfg.residual_correction, tile_size, overlap, max_memory, workers)
    check_sample_count(sample_count)
    out_path = None if out is None else Path(out)
    if out_path is not None:
        meta = _check_output(out_path, overwrite, scene, meta)
    temporary = work_dir is None and out_path is None
    if work_dir is None:
        work_dir = work_dir_for(out_path) if out_path is not None else Path(tempfile.mkdtemp(prefix="pfs2c2-tiles-"))
    fingerprint = {  # what plan.json holds: a resumed run must match it
        "hsi": scene.hsi.describe(),
        "msi": scene.msi.describe(),
        "ratio": r,
        "plan": plan.to_dict(),
        "config": cfg.to_dict(),
        "per_tile_operators": per_tile_operators,
        "sample_tiles": sample_count,
        "psf": None if psf_known is None else psf_known.tolist(),
        "srf": None if srf_known is None else srf_known.tolist(),
        "srf_support": None if support is None else (support > 0).astype(int).tolist(),
        "saturation": saturation,
        "mask_nonfinite": mask_nonfinite,
    }
    return SceneJob(
        name,
        scene,
        plan,
        cfg,
        srf=srf_known,
        psf=psf_known,
        srf_support=support,
        saturation=saturation,
        mask_nonfinite=mask_nonfinite,
        per_tile_operators=per_tile_operators,
        sample_count=sample_count,
        out=out_path,
        meta=meta,
        work_dir=Path(work_dir),
        resume=resume,
        overwrite=overwrite,
        fingerprint=fingerprint,
        temporary_work_dir=temporary,
        device=run.device,
    )


def _plan(
    scene: SceneInputs,
    psf_size: int,
    residual_correction: bool,
    tile_size: int | None,
    overlap: int | None,
    max_memory: str | int | None,
    workers: int,
) -> TilePlan:
    """The tile plan of ``scene``: overlap from the PSF reach (default), tile size from the budget (default)."""
    r = scene.ratio
    margin = tile_margin(r, psf_size, residual_correction)
    if overlap is None:
        overlap = default_overlap(r, psf_size, residual_correction)
    overlap = check_overlap(overlap)
    if tile_size is None:
        if max_memory is None:
            tile_size = max(scene.lr_shape)
        else:
            budget = parse_memory(max_memory)
            bands = scene.hsi_bands, scene.msi_bands
            tile_size = choose_tile_size(
                budget, scene.lr_shape, r, *bands, workers=workers, overlap=overlap, label=str(max_memory)
            )
    return plan_tiles(scene.lr_shape, r, check_tile_size(tile_size), overlap, margin)


def _check_output(out: Path, overwrite: bool, scene: SceneInputs, meta: Any) -> Any:
    """Refuse an output that cannot (or must not) be written; return its metadata (default: HSI bands on the
    MSI grid, nodata kept when finite)."""
    check_output_extension(out, WRITE_EXTENSIONS)
    check_not_existing([out], overwrite)
    check_output_path(out)
    if meta is None and scene.hsi_meta is not None:
        hsi_nodata = scene.hsi_meta.nodata
        nodata = hsi_nodata if hsi_nodata is not None and np.isfinite(hsi_nodata) else float("nan")
        meta = scene.hsi_meta.with_grid(scene.msi_meta).replace(source=None, nodata=nodata)
    return meta


def fuse_tiled(
    lr_hsi: Any,
    hr_msi: Any,
    out: str | os.PathLike | None = None,
    *,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    srf_support: Any = None,
    mask_nonfinite: bool = False,
    config: FusionConfig | None = None,
    run: RunOptions | None = None,
    tile_size: int | None = None,
    overlap: int | None = None,
    max_memory: str | int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    per_tile_operators: bool = False,
    sample_count: int = 3,
    saturation: float | None = None,
    meta: Any = None,
    work_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callback: TileCallback | None = None,
) -> TiledResult:
    """Fuse a scene tile by tile with bounded memory, in this process or on a Dask cluster.

    Args:
        lr_hsi, hr_msi: ``(C, h, w)`` / ``(c, H, W)`` arrays, or file specs (read window by window
            inside the tasks; georeferenced files are matched as by the CLI).
        out: output file (GeoTIFF/ENVI/.npy/.h5/.mat), written block by block and atomically; without it
            the fused cube is returned in memory.
        ratio, srf, psf, srf_support, mask_nonfinite, config: as :func:`pfs2c2.fusion.fuse` (``srf`` in
            the inputs' units).
        run: ``device`` and ``threads`` (torch threads per task) as :func:`pfs2c2.fusion.fuse`; tiled runs
            keep finished tiles instead of checkpoints (``callback``, ``checkpoint``, ``resume`` and
            ``keep_checkpoint`` are refused: use ``callback``, ``work_dir`` and ``resume`` below).
        tile_size: tile side in LR pixels, overlap included (default: from ``max_memory``, else one tile).
        overlap: LR pixels shared by neighbouring tiles (default :func:`default_overlap`).
        max_memory: memory budget (``"4GB"``) for the driver and the concurrent tasks; picks ``tile_size``.
        workers: run tiles on a Dask ``LocalCluster`` of this many worker processes (``pfs2c2[dist]``).
        scheduler: address of an existing Dask scheduler instead (``max_memory`` is then per worker).
        per_tile_operators: learn the PSF/SRF in every tile instead of once per scene.
        sample_count: how many tiles the scene's operators are learned on.
        saturation: pixels with a band at or above this value are nodata (as the CLI's ``--saturation``).
        meta: output metadata (default: HSI bands on the MSI grid).
        work_dir: where finished tiles are kept (default ``OUT.tiles``, or a temporary directory).
        resume: reuse the finished tiles of ``work_dir``.
        overwrite: replace an existing output / start over in an existing work directory.
        callback: told about every tile and scene (a :class:`TileCallback`, e.g. the CLI's
            :class:`pfs2c2.cli.progress.TileProgress`); closed at the end.

    Returns:
        A :class:`TiledResult`.
    """
    run = run or RunOptions()
    n_workers = workers or 0
    job = prepare_scene(
        lr_hsi,
        hr_msi,
        ratio=ratio,
        srf=srf,
        psf=psf,
        srf_support=srf_support,
        config=config,
        run=run,
        saturation=saturation,
        mask_nonfinite=mask_nonfinite,
        tile_size=tile_size,
        overlap=overlap,
        max_memory=max_memory,
        workers=n_workers if scheduler is None else 1,
        per_tile_operators=per_tile_operators,
        sample_count=sample_count,
        out=out,
        meta=meta,
        work_dir=work_dir,
        resume=resume,
        overwrite=overwrite,
    )
    try:
        with make_executor(workers=workers, scheduler=scheduler, threads=run.threads) as executor:
            outcomes = run_jobs([job], executor, callback)
    finally:
        if callback is not None:
            callback.close()
    outcome = outcomes[0]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


__all__ = [
    # running a scene
    "prepare_scene",
    "fuse_tiled",
    "SceneJob",
    "TiledResult",
    "TileCallback",
    "assemble",
    "ASSEMBLY_BLOCK",
    # executors (was pfs2c2.distributed)
    "InProcessExecutor",
    "DaskExecutor",
    "JobOutcome",
    "check_executor_options",
    "make_executor",
    "require_distributed",
    "run_jobs",
    "DIST_HINT",
    # memory
    "parse_memory",
    "format_bytes",
    "estimate_task_memory",
    "estimate_run_memory",
    "choose_tile_size",
    "PROCESS_BASE_BYTES",
    "DASK_DRIVER_BYTES",
    "TASK_FIXED_BYTES",
    "TASK_BYTES_PER_PIXEL_BAND",
    "TASK_BYTES_PER_PIXEL_MSI_BAND",
    "TASK_BYTES_PER_PIXEL",
    # plan
    "Window",
    "Tile",
    "TilePlan",
    "plan_tiles",
    "sample_tiles",
    "tile_margin",
    "default_overlap",
    "RESIDUAL_REACH_LR",
    "DEFAULT_BLEND",
    # sources
    "CubeSource",
    "SceneInputs",
    "open_scene",
    "READ_GDAL_CACHE_BYTES",
    # store
    "TileStore",
    "work_dir_for",
    # task
    "TileTask",
    "TileResult",
    "run_tile",
    "combine_operators",
    "operator_config",
    "MIN_VALID_PER_PARAMETER",
]
