"""Tiled runs from file specs: whether the options ask for tiling, and the scene job writing OUT."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .._checks import check_tile_size, check_tiling_only_options
from .inputs import Operators, Warn, _warn, output_meta

if TYPE_CHECKING:
    from ..config import FusionConfig, RunOptions
    from ..tiling import SceneInputs, SceneJob


def tiled_scene(
    hsi_spec: str,
    msi_spec: str,
    ratio: int | None = None,
    *,
    tile_size: int | None = None,
    overlap: int | None = None,
    max_memory: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    per_tile_operators: bool = False,
    note: Warn | None = None,
) -> SceneInputs | None:
    """The scene (:class:`pfs2c2.tiling.SceneInputs`) when the options ask for tiling, else None.

    Tiling engages with ``tile_size``, ``workers``, ``scheduler``, or a ``max_memory`` that the untiled
    fusion of the whole scene would exceed (see :func:`pfs2c2.tiling.estimate_run_memory`). ``note``
    (default :func:`warnings.warn`) hears about tiling options that a fitting scene makes moot.

    Raises:
        ValueError: tiling-only options without tiling, bad worker/tile counts, both executors.
        InputError: Dask missing for ``workers``/``scheduler`` ("install pfs2c2[dist]").
    """
    if tile_size is None and max_memory is None and workers is None and scheduler is None:
        check_tiling_only_options(overlap, per_tile_operators)
        return None
    from ..tiling import (
        check_executor_options,
        estimate_run_memory,
        format_bytes,
        open_scene,
        parse_memory,
        require_distributed,
    )

    check_executor_options(workers, scheduler)
    if workers is not None or scheduler is not None:
        require_distributed()  # "install pfs2c2[dist]" before any work
    if tile_size is not None:
        check_tile_size(tile_size)
    budget = parse_memory(max_memory) if max_memory is not None else None
    scene = open_scene(hsi_spec, msi_spec, ratio)
    if tile_size is None and workers is None and scheduler is None and budget is not None:
        H, W = scene.hr_shape
        need = estimate_run_memory(H * W, scene.hsi_bands, scene.msi_bands)
        if need <= budget:
            if overlap is not None or per_tile_operators:
                (note or _warn)(
                    f"the whole scene fits --max-memory (about {format_bytes(need)}): fusing it untiled; "
                    "--overlap/--per-tile-operators are ignored"
                )
            return None
    return scene


def tiled_job(
    scene: SceneInputs,
    out: Path,
    operators: Operators,
    *,
    config: FusionConfig,
    run: RunOptions,
    mask_nonfinite: bool = False,
    saturation: float | None = None,
    tile_size: int | None = None,
    overlap: int | None = None,
    max_memory: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    per_tile_operators: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    warn: Warn | None = None,
) -> SceneJob:
    """A :class:`pfs2c2.tiling.SceneJob` writing ``out``: the HSI's bands on the MSI grid (:func:`output_meta`).

    The job keeps its work directory (``OUT.tiles/``) after writing ``out``: remove it with
    ``job.store.remove()`` once the other outputs are written too.
    """
    from ..tiling import prepare_scene

    meta = output_meta(scene.hsi_meta, scene.msi_meta, operators.wavelengths)
    if out.suffix.lower() in (".mat", ".h5", ".hdf5"):
        (warn or _warn)(
            f"{out.suffix} outputs are assembled in memory; write .tif, ENVI (.hdr/.img) or .npy for bounded memory"
        )
    job = prepare_scene(
        None,
        None,
        srf=operators.srf,
        psf=operators.psf,
        config=config,
        run=run,
        srf_support=operators.srf_support,
        saturation=saturation,
        mask_nonfinite=mask_nonfinite,
        tile_size=tile_size,
        overlap=overlap,
        max_memory=max_memory,
        workers=(workers or 0) if scheduler is None else 1,
        per_tile_operators=per_tile_operators,
        out=out,
        meta=meta,
        resume=resume,
        overwrite=overwrite,
        name=out.name,
        scene=scene,
    )
    job.keep_work_dir = True  # removed once the sidecar files are written too
    return job
