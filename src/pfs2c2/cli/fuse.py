"""``pfs2c2 fuse``: one LR-HSI / HR-MSI pair, whole or tile by tile."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._checks import check_not_existing
from ..errors import one_line
from .errors import user_errors
from .options import (
    config_option,
    device_option,
    mask_options,
    overwrite_option,
    preset_option,
    product_options,
    resume_option,
    seed_option,
    training_options,
)
from .options import tiling_options as tiling_option_group
from .terminal import StageProgress, echo_err, format_metrics, note, warn

if TYPE_CHECKING:
    from ..config import FusionConfig, RunOptions
    from ..fusion import FusionResult
    from ..io import RasterMeta
    from ..runs import RunInputs, Sidecars
    from ..tiling import SceneInputs


@click.command()
@click.option(
    "--hsi",
    "hsi_spec",
    required=True,
    help="LR-HSI file (.npy/.mat (H, W, C), GeoTIFF, ENVI, HDF5; FILE.mat:VAR) or product (EnMAP L2A folder/.zip, "
    "PRISMA L2D .he5, EMIT L2A .nc).",
)
@click.option("--msi", "msi_spec", required=True, help="HR-MSI file, same formats, or a Sentinel-2 L2A .SAFE/.zip.")
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Fused cube; format from the extension."
)
@click.option("--ratio", type=int, help="Spatial scale factor (default: from the image sizes).")
@click.option("--srf", "srf_spec", help="Known SRF (non-blind): (C, c) matrix .npy/.csv, response CSV or sensor name.")
@click.option(
    "--srf-support", "support_spec", help="Blind SRF: sensor or response CSV whose bands bound the learned SRF."
)
@click.option("--bands", help="Comma-separated MSI band names of the sensor, in the MSI's order.")
@click.option("--wavelengths", "wl_spec", help="HSI band centres: CSV or start:stop in nm (default: from the file).")
@click.option("--psf", "psf_spec", help="Known PSF (non-blind): (k, k) .npy/.csv.")
@click.option(
    "--psf-convention",
    type=click.Choice(["auto", "combined", "blur"]),
    default="auto",
    show_default=True,
    help="What --psf means: blur = a blur applied before decimation (most tools), combined = pfs2c2's blur + "
    "decimation kernel, auto = combined when it can be one, else blur.",
)
@preset_option
@config_option
@seed_option
@click.option(
    "--ensemble",
    type=click.IntRange(min=1),
    help="Runs with consecutive seeds whose results are averaged (overrides the config; the default preset "
    "averages 2, 1 takes half the time).",
)
@device_option
@click.option("--reference", "ref_spec", help="Reference HR-HSI: also write metrics.json.")
@mask_options
@click.option(
    "--validate",
    is_flag=True,
    help="First run the reduced-resolution check (fuse the inputs degraded by the ratio, compare with the LR-HSI).",
)
@product_options
@click.option("--no-plots", is_flag=True, help="Do not write the report PNGs.")
@training_options
@tiling_option_group
@click.option(
    "--checkpoint-every",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds between checkpoints of the training state (OUT.ckpt); 0 = at every snapshot.",
)
@resume_option("Continue an interrupted run from its checkpoint (same inputs and options).")
@overwrite_option("Replace existing outputs (and discard an old checkpoint).")
def fuse(
    hsi_spec: str,
    msi_spec: str,
    out_path: str,
    ratio: int | None,
    preset: str,
    config_path: str | None,
    seed: int | None,
    ensemble: int | None,
    device: str | None,
    ref_spec: str | None,
    validate: bool,
    no_plots: bool,
    checkpoint_every: float,
    resume: bool,
    overwrite: bool,
    **options: Any,
) -> None:
    """Fuse an LR-HSI and an HR-MSI into an HR-HSI (blind unless --srf/--psf are given).

    Beside OUT it writes psf.csv, srf.csv, history.csv, config.yaml (the resolved configuration),
    run.json (inputs, ratio, timings, metrics), metrics.json with --reference, and report PNGs.
    While training, the state is checkpointed to OUT.ckpt; after a kill, run the same command with
    --resume. The checkpoint is deleted once every output is written.

    Large scenes: --tile-size, --workers/--scheduler, or a --max-memory the whole scene would exceed,
    fuse the scene tile by tile (PSF and SRF learned once on a few tiles unless given), keep finished
    tiles in OUT.tiles/ (--resume skips them) and write OUT block by block; no report PNGs then (run
    `pfs2c2 report` on the folder) and no no-reference indices in run.json.
    """
    from .. import runs
    from .._checks import check_output_path, check_validate_untiled
    from ..model import remove_checkpoint

    specs = {k: options.pop(v) for k, v in _SPEC_OPTIONS.items()}
    masks = {"mask_nonfinite": options.pop("mask_nan"), "saturation": options.pop("saturation")}
    extras = {k: options.pop(k) for k in ("msi_bands", "align", "out_bands", "rgb")}
    training, sample_pixels = options.pop("training"), options.pop("sample_pixels")
    tiling = options  # tile_size, overlap, max_memory, workers, scheduler, per_tile_operators
    with user_errors():
        out = Path(out_path)
        sidecars = runs.Sidecars.beside(out)
        pngs = [] if no_plots else [out.with_name("report.png")]
        checkpoint = runs.checkpoint_path(out)
        overwrite = runs.may_replace_outputs(out, resume=resume, overwrite=overwrite)
        rgb = [Path(extras["rgb"])] if extras["rgb"] else []
        check_not_existing([out, *sidecars.paths(), *pngs, *rgb], overwrite)
        check_output_path(out)
        cfg, run = runs.load_settings(preset, config_path, seed=seed, ensemble=ensemble, device=device)
        inputs = runs.RunInputs(hsi_spec, msi_spec, ref_spec)
        mode, described = runs.training_mode(
            training,
            hsi_spec,
            msi_spec,
            ratio,
            sample_pixels=sample_pixels,
            extras=extras,
            validate=validate,
            tiling=tiling,
        )
        if mode == "tiles":
            _check_untiled(hsi_spec, msi_spec, extras, tiling)
            scene = runs.tiled_scene(hsi_spec, msi_spec, ratio, **tiling, note=note)
            check_validate_untiled(validate, tiled=scene is not None)
            if scene is not None:
                _fuse_tiled(
                    scene, out, inputs, specs, cfg, run, masks=masks, tiling=tiling, resume=resume, overwrite=overwrite
                )
                return
        if mode == "sample":
            assert described is not None
            _fuse_sample(
                described,
                out,
                inputs,
                specs,
                cfg,
                run,
                sample_pixels=sample_pixels,
                max_memory=tiling["max_memory"],
                checkpoint=checkpoint,
                checkpoint_every=checkpoint_every,
                resume=resume,
                overwrite=overwrite,
                masks=masks,
            )
            return
        training_run = dataclasses.replace(
            run, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume, keep_checkpoint=True
        )
        result = _fuse_whole(
            out,
            inputs,
            specs,
            cfg,
            run,
            training_run,
            ratio=ratio,
            masks=masks,
            extras=extras,
            validate=validate,
            sidecars=sidecars,
            plots=not no_plots,
            overwrite=overwrite,
        )
        remove_checkpoint(checkpoint)
    shape = result.fused.shape
    click.echo(f"fused {shape[1]}x{shape[2]}x{shape[0]} in {result.timings['total']:.1f} s on {result.device} -> {out}")


_SPEC_OPTIONS = {
    "srf": "srf_spec",
    "srf_support": "support_spec",
    "bands": "bands",
    "wavelengths": "wl_spec",
    "psf": "psf_spec",
    "psf_convention": "psf_convention",
}
"""resolve_operators() keyword -> option name."""


def _fuse_sample(
    scene: SceneInputs,
    out: Path,
    inputs: RunInputs,
    specs: dict[str, Any],
    cfg: FusionConfig,
    run: RunOptions,
    *,
    sample_pixels: int,
    max_memory: str | None,
    checkpoint: Path,
    checkpoint_every: float,
    resume: bool,
    overwrite: bool,
    masks: dict[str, Any],
) -> None:
    """The sampled path: learn once from a sample of the scene, stream OUT block by block (resumable)."""
    from .. import runs
    from .._checks import check_sample_options
    from ..model import remove_checkpoint

    check_sample_options(saturation=masks["saturation"])
    plan = runs.plan_sample(
        scene.ratio, scene.hsi_bands, scene.msi_bands, sample_pixels=sample_pixels, max_memory=max_memory
    )
    H, W = scene.hr_shape
    echo_err(
        f"sampled training: {min(plan.sample_pixels, scene.lr_shape[0] * scene.lr_shape[1])} of "
        f"{scene.lr_shape[0] * scene.lr_shape[1]} LR pixels, output {H}x{W}x{scene.hsi_bands} in blocks of "
        f"{plan.block_lr} LR pixels (about {_gib(plan.peak_bytes)} GiB)"
    )
    training = dataclasses.replace(
        run, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume, keep_checkpoint=True
    )
    progress = StageProgress(cfg.ensemble)
    try:
        result, ops = runs.fuse_sampled(
            scene,
            out,
            specs,
            config=cfg,
            run=dataclasses.replace(training, callback=progress),
            plan=plan,
            overwrite=overwrite,
            warn=warn,
        )
    finally:
        progress.close()
    extra = {"training": {"mode": "sample", "block_lr": plan.block_lr, **result.sample}}
    scores = runs.write_run_outputs(
        result, out, inputs=inputs, wavelengths=ops.wavelengths, overwrite=True, extra=extra
    )
    remove_checkpoint(checkpoint)
    if scores is not None:
        click.echo(format_metrics(scores))
    click.echo(
        f"fused {H}x{W}x{scene.hsi_bands} in {result.timings['total']:.1f} s (training "
        f"{result.timings['training']:.1f} s on {result.sample['lr_pixels']} LR pixels) -> {result.path}"
    )


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f}"


def _check_untiled(hsi_spec: str, msi_spec: str, extras: dict[str, Any], tiling: dict[str, Any]) -> None:
    """Products, --align, --out-bands and --rgb are for untiled runs only."""
    from .. import runs
    from .._checks import check_untiled_inputs

    tiled = any(tiling[k] is not None for k in ("tile_size", "max_memory", "workers", "scheduler"))
    if not tiled:
        return
    check_untiled_inputs(tiled, runs.whole_only_inputs(hsi_spec, msi_spec, extras, validate=False))


def _fuse_whole(
    out: Path,
    inputs: RunInputs,
    specs: dict[str, Any],
    cfg: FusionConfig,
    run: RunOptions,
    training: RunOptions,
    *,
    ratio: int | None,
    masks: dict[str, Any],
    extras: dict[str, Any],
    validate: bool,
    sidecars: Sidecars,
    plots: bool,
    overwrite: bool,
) -> FusionResult:
    """The untiled path: the whole scene in memory, with the report PNGs.

    ``run`` has the device and threads (for the reduced-resolution check), ``training`` also the checkpoint.
    """
    from .. import runs
    from .._checks import check_reference_shape
    from ..fusion import fuse as run_fusion
    from ..io import read_cube

    pair = runs.read_inputs(
        inputs.hsi,
        inputs.msi,
        ratio,
        msi_bands=extras["msi_bands"],
        align=extras["align"],
        saturation=masks["saturation"],
    )
    hsi, hsi_meta, msi, msi_meta, ratio = pair.input_pair()
    specs = runs.product_operator_specs(pair, specs)
    ops = runs.resolve_operators(hsi_meta, msi_meta, hsi.shape[0], **specs, ratio=ratio, warn=warn)
    cfg = runs.aligned_config(cfg, pair, ops.psf is not None)
    out_meta = runs.output_meta(hsi_meta, msi_meta, ops.wavelengths)
    out_bands, rgb = _output_choices(out_meta, hsi.shape[0], extras)
    reference = read_cube(inputs.reference)[0] if inputs.reference else None
    problem: dict[str, Any] = dict(
        ratio=ratio,
        srf=ops.srf,
        psf=ops.psf,
        srf_support=ops.srf_support,
        mask_nonfinite=masks["mask_nonfinite"] or pair.mask_nonfinite,
        hsi_mask=pair.hsi_mask,
        msi_mask=pair.msi_mask,
    )
    validation = None
    if validate:
        check = runs.reduced_resolution_check(hsi, msi, **problem, config=cfg, run=run)
        validation = {"protocol": runs.REDUCED_RESOLUTION_PROTOCOL, **check}
        click.echo(f"reduced-resolution check: {format_metrics(check)}")
    progress = StageProgress(cfg.ensemble)
    try:
        result = run_fusion(hsi, msi, **problem, config=cfg, run=dataclasses.replace(training, callback=progress))
    finally:
        progress.close()
    if pair.mask_nonfinite:
        result = dataclasses.replace(result, fused=runs.masked_output(pair, result.fused))
    if reference is not None:
        check_reference_shape(reference.shape, result.fused.shape)
    runs.write_fused(out, result.fused, out_meta, overwrite=overwrite, bands=out_bands)
    if rgb is not None:
        from ..io import write_rgb_quicklook

        write_rgb_quicklook(result.fused, out_meta, rgb, overwrite=overwrite)
    extra: dict[str, Any] = {"masks": runs.masks_record(pair, result.fused)}
    if pair.alignment is not None:
        extra["alignment"] = pair.alignment
    if extras["msi_bands"]:
        extra["msi_bands"] = extras["msi_bands"]
    if out_bands is not None:
        extra["out_bands"] = [i + 1 for i in out_bands]
    no_reference = runs.no_reference_scores(result.fused, hsi, msi, result.ratio)
    scores = runs.write_run_outputs(
        result,
        out,
        inputs=inputs,
        wavelengths=ops.wavelengths,
        sidecars=sidecars,
        reference=reference,
        validation=validation,
        no_reference=no_reference,
        overwrite=overwrite,
        extra=extra,
    )
    if scores is not None:
        click.echo(format_metrics(scores))
    if plots:
        from ..plots import write_report

        write_report(
            out.parent,
            lr_hsi=hsi,
            hr_msi=msi,
            fused=result.fused,
            psf=result.psf,
            srf=result.srf,
            history=result.history,
            reference=reference,
            hsi_wavelengths=ops.wavelengths,
            msi_wavelengths=msi_meta.wavelengths_nm,
            true_psf=ops.psf,
            true_srf=ops.srf,
            ratio=result.ratio,
        )
    return result


def _output_choices(meta: RasterMeta, n_bands: int, extras: dict[str, Any]) -> tuple[list[int] | None, Path | None]:
    """``--out-bands`` as 0-based indices and the ``--rgb`` path, checked before the fusion runs."""
    from .._checks import parse_band_list
    from ..io import select_bands
    from ..io.quicklook import RGB_QUICKLOOK_NM

    bands = None
    if extras["out_bands"]:
        chosen = parse_band_list(extras["out_bands"], "--out-bands")
        bands = select_bands(meta, n_bands, chosen, what="--out-bands")
    rgb = Path(extras["rgb"]) if extras["rgb"] else None
    if rgb is not None:
        select_bands(meta, n_bands, list(RGB_QUICKLOOK_NM), what="--rgb")
    return bands, rgb


def _fuse_tiled(
    scene: SceneInputs,
    out: Path,
    inputs: RunInputs,
    specs: dict[str, Any],
    cfg: FusionConfig,
    run: RunOptions,
    *,
    masks: dict[str, Any],
    tiling: dict[str, Any],
    resume: bool,
    overwrite: bool,
) -> None:
    """The tiled path: tiles in this process or on a Dask cluster, OUT written block by block."""
    from .. import runs
    from ..errors import FusionError
    from ..tiling import make_executor, run_jobs
    from .progress import TileProgress

    ops = runs.resolve_operators(scene.hsi_meta, scene.msi_meta, scene.hsi_bands, **specs, ratio=scene.ratio, warn=warn)
    job = runs.tiled_job(
        scene, out, ops, config=cfg, run=run, **masks, **tiling, resume=resume, overwrite=overwrite, warn=warn
    )
    plan = job.plan
    with make_executor(workers=tiling["workers"], scheduler=tiling["scheduler"], threads=run.threads) as executor:
        where = executor.describe()
        echo_err(
            f"tiled fusion: {len(plan.tiles)} tiles ({plan.grid_shape[0]}x{plan.grid_shape[1]}) of up to "
            f"{plan.tile_size} LR pixels, overlap {plan.overlap}; {where}"
        )
        progress = TileProgress(echo=echo_err)
        try:
            outcome = run_jobs([job], executor, progress)[0]
        finally:
            progress.close()
    if outcome.error is not None:
        if isinstance(outcome.error, (ValueError, OSError, FusionError)):
            raise outcome.error
        reason = one_line(outcome.error)
        raise click.ClickException(
            f"tiled fusion stopped ({type(outcome.error).__name__}: {reason}); finished tiles are kept "
            f"in {job.store.dir}: run the same command with --resume"
        )
    result = outcome.result
    assert result is not None
    scores = runs.write_run_outputs(
        result, out, inputs=inputs, wavelengths=ops.wavelengths, executor=where, overwrite=True
    )
    job.store.remove()
    if scores is not None:
        click.echo(format_metrics(scores))
    H, W = plan.hr_shape
    click.echo(
        f"fused {H}x{W}x{scene.hsi_bands} in {result.timings['total']:.1f} s, {len(plan.tiles)} tiles -> {result.path}"
    )
