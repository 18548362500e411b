"""``pfs2c2 batch``: every scene pair of a manifest, tile by tile, on one executor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from .._checks import check_not_existing
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
        rows_of: dict[int, tuple[dict[str, str], np.ndarray | None]] = {}
        for row in rows:
            prepared = _scene_job(row, cfg, run, masks=masks, tiling=tiling, resume=resume, overwrite=overwrite)
            if prepared is not None:
                jobs.append(prepared[0])
                rows_of[id(prepared[0])] = (row, prepared[1])
        if not jobs:
            click.echo("nothing to do")
            return
        failures: list[str] = []
        executor = make_executor(workers=tiling["workers"], scheduler=tiling["scheduler"], threads=run.threads)

    def done(outcome: JobOutcome) -> None:
        job = outcome.job
        row, wavelengths = rows_of[id(job)]
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
                )
                job.store.remove()
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


def _scene_job(
    row: dict[str, str],
    cfg: FusionConfig,
    run: RunOptions,
    *,
    masks: dict[str, Any],
    tiling: dict[str, Any],
    resume: bool,
    overwrite: bool,
) -> tuple[SceneJob, np.ndarray | None] | None:
    """The job of one manifest row and its HSI wavelengths, or None when --resume finds it done; errors name the row."""
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
        scene = open_scene(row["hsi"], row["msi"], int(row["ratio"]) if row.get("ratio") else None)
        specs: dict[str, Any] = {k: row.get(k) or None for k in runs.OPERATOR_COLUMNS}
        ops = runs.resolve_operators(scene.hsi_meta, scene.msi_meta, scene.hsi_bands, **specs, warn=warn)
        job = runs.tiled_job(
            scene, out, ops, config=cfg, run=run, **masks, **tiling, resume=resume, overwrite=replace, warn=warn
        )
    except (ValueError, OSError) as exc:
        raise ValueError(f"manifest line {row['line']} ({out.name}): {first_line(exc)}") from None
    return job, ops.wavelengths
