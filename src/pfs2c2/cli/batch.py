"""``pfs2c2 batch``: every scene pair of a manifest, tile by tile, on one executor."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from .._checks import ALIGN_HINT, check_not_existing
from ..errors import one_line
from .errors import first_line, user_errors
from .options import (
    config_option,
    device_option,
    mask_options,
    overwrite_option,
    preset_option,
    resume_option,
    seed_option,
)
from .options import tiling_options as tiling_option_group
from .terminal import echo_err, warn

if TYPE_CHECKING:
    from ..config import FusionConfig, RunOptions
    from ..tiling import JobOutcome, SceneJob


@click.command()
@click.argument("manifest", type=click.Path(dir_okay=False))
@preset_option
@config_option
@seed_option
@device_option
@tiling_option_group
@mask_options
@click.option(
    "--align",
    is_flag=True,
    help="Grids that do not nest (another CRS, a shifted origin, a non-integer ratio), or product inputs: "
    "reproject, resample and crop each pair first, as `pfs2c2 align` does (reading the pair whole once), into "
    "OUT.aligned/ (removed once the scene is written); recorded in OUT_STEM.run.json.",
)
@resume_option("Keep the finished tiles of interrupted scenes (OUT.tiles/) and skip finished scenes.")
@overwrite_option("Replace existing outputs and start interrupted scenes over.")
def batch(
    manifest: str,
    preset: str,
    config_path: str | None,
    seed: int | None,
    device: str | None,
    mask_nan: bool,
    saturation: float | None,
    align: bool,
    resume: bool,
    overwrite: bool,
    **tiling: Any,
) -> None:
    """Fuse every scene pair of MANIFEST, a CSV with columns hsi, msi, out and optionally ratio, srf,
    srf_support, bands, wavelengths, psf, reference (as the options of `pfs2c2 fuse`; relative paths are
    relative to the manifest).

    Scenes run tile by tile as `pfs2c2 fuse` with tiling options does, sharing one Dask cluster with
    --workers/--scheduler. Beside each OUT it writes OUT_STEM.psf.csv, .srf.csv, .history.csv,
    .config.yaml, .run.json (and .metrics.json with a reference). A scene that fails does not stop the
    others; the exit code is then 1. With --resume, scenes whose output exists are skipped.

    With --align, every pair is first made to nest as `pfs2c2 align` does (masked pixels NaN, masked in the
    fusion), written to OUT.aligned/ and fused from there; --resume of an interrupted scene reuses it. Product
    inputs (EnMAP, PRISMA, Sentinel-2, EMIT) need --align.
    """
    from .. import runs
    from ..tiling import check_executor_options, make_executor, run_jobs
    from .progress import TileProgress

    masks = {"mask_nonfinite": mask_nan, "saturation": saturation}
    with user_errors():
        rows = runs.read_manifest(Path(manifest))
        cfg, run = runs.load_settings(preset, config_path, seed=seed, device=device)
        check_executor_options(tiling["workers"], tiling["scheduler"])
        jobs: list[SceneJob] = []
        rows_of: dict[int, tuple[dict[str, str], np.ndarray | None, dict[str, Any] | None]] = {}
        for row in rows:
            prepared = _scene_job(
                row, cfg, run, masks=masks, tiling=tiling, align=align, resume=resume, overwrite=overwrite
            )
            if prepared is not None:
                jobs.append(prepared[0])
                rows_of[id(prepared[0])] = (row, *prepared[1:])
        if not jobs:
            click.echo("nothing to do")
            return
        failures: list[str] = []
        executor = make_executor(workers=tiling["workers"], scheduler=tiling["scheduler"], threads=run.threads)

    def done(outcome: JobOutcome) -> None:
        job = outcome.job
        row, wavelengths, alignment = rows_of[id(job)]
        if outcome.error is None:
            try:
                result, out = outcome.result, Path(row["out"])
                assert result is not None  # a scene without error has its result
                inputs = runs.RunInputs(row["hsi"], row["msi"], row.get("reference") or None)
                runs.write_run_outputs(
                    result,
                    out,
                    inputs=inputs,
                    wavelengths=wavelengths,
                    sidecars=runs.Sidecars.beside(out, prefixed=True),
                    executor=where,
                    overwrite=True,
                    extra=_alignment_extra(alignment),
                )
                job.store.remove()
                if alignment is not None:
                    shutil.rmtree(_aligned_dir(out), ignore_errors=True)
                return
            except Exception as exc:  # reported with the scene
                outcome.error = exc
        failures.append(f"{job.name}: {one_line(outcome.error)}")

    with executor:
        where = executor.describe()
        total = sum(len(j.plan.tiles) for j in jobs)
        echo_err(f"batch: {len(jobs)} scene(s), {total} tile(s); {where}")
        progress = TileProgress(echo=echo_err, scenes=len(jobs))
        try:
            run_jobs(jobs, executor, progress, on_done=done)
        finally:
            progress.close()
    click.echo(f"{len(jobs) - len(failures)} of {len(jobs)} scene(s) fused")
    if failures:
        raise click.ClickException(f"{len(failures)} scene(s) failed: " + "; ".join(failures))


def _aligned_dir(out: str | Path) -> Path:
    """``OUT.aligned`` next to the output file: where ``batch --align`` writes a scene's aligned pair."""
    out = Path(out)
    return out.with_name(out.name + ".aligned")


def _scene_job(
    row: dict[str, str],
    cfg: FusionConfig,
    run: RunOptions,
    *,
    masks: dict[str, Any],
    tiling: dict[str, Any],
    align: bool,
    resume: bool,
    overwrite: bool,
) -> tuple[SceneJob, np.ndarray | None, dict[str, Any] | None] | None:
    """The job of one manifest row, its HSI wavelengths and (``align``) its alignment record, or None when
    --resume finds it done; errors name the row."""
    from .. import runs
    from ..tiling import open_scene, work_dir_for

    out = Path(row["out"])
    if resume and out.exists() and not work_dir_for(out).exists():
        echo_err(f"[{out.name}] exists: skipped (--resume)")
        return None
    try:
        if not out.parent.exists():
            raise FileNotFoundError(f"output directory {out.parent} does not exist; create it first")
        replace = overwrite or (resume and work_dir_for(out).exists())
        check_not_existing([out, *runs.Sidecars.beside(out, prefixed=True).paths()], replace)
        hsi, msi = row["hsi"], row["msi"]
        ratio = int(row["ratio"]) if row.get("ratio") else None
        alignment = None
        if align:
            hsi, msi, alignment = _aligned_pair(row, out, ratio, resume=resume, overwrite=overwrite)
            ratio = int(alignment["ratio"])
        else:
            _check_no_products(hsi, msi)
        scene = open_scene(hsi, msi, ratio)
        specs: dict[str, Any] = {k: row.get(k) or None for k in runs.OPERATOR_COLUMNS}
        ops = runs.resolve_operators(scene.hsi_meta, scene.msi_meta, scene.hsi_bands, **specs, warn=warn)
        options = {**masks, "mask_nonfinite": masks["mask_nonfinite"] or align}  # aligned pairs: NaN = masked
        config = _aligned_config(cfg, alignment, psf_known=ops.psf is not None)
        job = runs.tiled_job(
            scene, out, ops, config=config, run=run, **options, **tiling, resume=resume, overwrite=replace, warn=warn
        )
    except (ValueError, OSError) as exc:
        text = first_line(exc)
        if not align and any(w in text for w in _GRID_FIXES):
            text += ALIGN_HINT
        raise ValueError(f"manifest line {row['line']} ({out.name}): {text}") from None
    return job, ops.wavelengths, alignment


_GRID_FIXES = ("gdalwarp", "rio warp", "reproject one onto the other")
"""Words of the grid refusals that --align fixes (as :mod:`pfs2c2.runs.products` recognises them)."""


def _aligned_pair(
    row: dict[str, str], out: Path, ratio: int | None, *, resume: bool, overwrite: bool
) -> tuple[str, str, dict[str, Any]]:
    """The row's pair made to nest (:func:`pfs2c2.runs.align_inputs`) in ``OUT.aligned/``: (HSI path, MSI path,
    alignment record with ``masks``).

    Only the tiles of an interrupted scene (``OUT.tiles/``) depend on that pair: --resume reuses it, --overwrite
    aligns again, neither is refused (before anything is written); without tiles it is (re)written.
    """
    from .. import runs
    from ..tiling import work_dir_for

    folder, tiles = _aligned_dir(out), work_dir_for(out)
    hsi, msi, record = folder / "hsi.tif", folder / "msi.tif", folder / "alignment.json"
    if tiles.exists() and resume and all(p.exists() for p in (hsi, msi, record)):
        echo_err(f"[{out.name}] aligned pair reused from {folder.name}/ (--resume)")
        return str(hsi), str(msi), json.loads(record.read_text())
    if tiles.exists() and not (resume or overwrite):
        raise FileExistsError(
            f"{tiles} holds the tiles of an interrupted run; pass --resume to continue it or --overwrite to start over"
        )
    folder.mkdir(exist_ok=True)
    done = runs.align_inputs(row["hsi"], row["msi"], hsi, msi, ratio=ratio, overwrite=True)
    record.write_text(json.dumps(done, indent=1) + "\n")
    moved = "only cropped" if done.get("resampled") is None else f"{done['resampled']} resampled"
    echo_err(f"[{out.name}] aligned: ratio {done['ratio']}, {moved} -> {folder.name}/")
    return str(hsi), str(msi), done


def _check_no_products(hsi: str, msi: str) -> None:
    """Products (EnMAP, PRISMA, Sentinel-2, EMIT) are read whole: a batch takes them with --align only."""
    from ..errors import InputError
    from ..products import detect_product

    names = [n for n in (detect_product(s) for s in (hsi, msi) if Path(s).exists()) if n]
    if names:
        raise InputError(
            f"product input ({', '.join(names)}): batch fuses files tile by tile; pass --align to read the "
            "product and write its aligned pair first, or convert it with `pfs2c2 align`"
        )


def _aligned_config(cfg: FusionConfig, alignment: dict[str, Any] | None, *, psf_known: bool) -> FusionConfig:
    """``cfg`` with the PSF size the alignment asks for, as :func:`pfs2c2.runs.aligned_config` gives `fuse --align`."""
    size = (alignment or {}).get("psf_size")
    if size is None or psf_known or cfg.psf_size is not None:
        return cfg
    return dataclasses.replace(cfg, psf_size=int(size))


def _alignment_extra(alignment: dict[str, Any] | None) -> dict[str, Any] | None:
    """run.json's ``alignment`` and ``masks`` (as `fuse --align` records them) of an aligned scene."""
    if alignment is None:
        return None
    record = {k: v for k, v in alignment.items() if k != "masks"}
    return {"alignment": record, "masks": alignment.get("masks")}
