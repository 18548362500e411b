"""Command line: ``pfs2c2 simulate | fuse | evaluate | demo``.

Heavy modules (torch, the model) are imported inside the commands so ``pfs2c2 --help`` stays fast.
Every input problem ends in a one-line ``Error: ...`` and exit code 2, with no output file left.
"""

from __future__ import annotations

import csv
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import click
import numpy as np

from . import __version__
from .errors import FusionError


class InputError(click.ClickException):
    """A problem with the user's input: printed as one line, exit code 2."""

    exit_code = 2


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's input errors into :class:`InputError`."""
    try:
        yield
    except FusionError as exc:
        raise click.ClickException(str(exc).strip().splitlines()[0]) from None
    except (ValueError, FileNotFoundError, FileExistsError, IsADirectoryError, PermissionError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        raise InputError(message) from None


def _refuse_existing(paths: Sequence[Path], overwrite: bool) -> None:
    if overwrite:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it")


def _atomic_text(path: Path, text: str) -> None:
    from .io import atomic_write

    atomic_write(path, lambda tmp: tmp.write_text(text, newline=""))


def _history_csv(history: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for record in history:
        keys += [k for k in record if k not in keys]
    rows = [",".join(keys)]
    rows += [",".join("" if k not in r else (f"{r[k]:.8g}" if isinstance(r[k], float) else str(r[k])) for k in keys) for r in history]
    return "\n".join(rows) + "\n"


def _wavelengths(spec: str | None, meta_wavelengths: Any, n_bands: int) -> np.ndarray | None:
    from .sensors import parse_wavelengths

    if spec:
        return parse_wavelengths(spec, n_bands)
    return None if meta_wavelengths is None else np.asarray(meta_wavelengths, dtype=np.float64)


def _resolve_srf(spec: str | None, wavelengths: np.ndarray | None, bands: str | None, n_hsi: int) -> np.ndarray | None:
    from .sensors import load_srf

    if spec is None:
        return None
    band_list = [b.strip() for b in bands.split(",")] if bands else None
    if wavelengths is None and not spec.lower().endswith((".npy", ".csv", ".txt", ".mat")):
        raise ValueError(f"--srf {spec} is a sensor name: give the HSI band centres with --wavelengths CSV|start:stop")
    matrix = load_srf(spec, hsi_wavelengths_nm=wavelengths, bands=band_list)
    if matrix.shape[0] != n_hsi:
        raise ValueError(f"SRF from {spec} has {matrix.shape[0]} rows but the HSI has {n_hsi} bands")
    return matrix


def _read_cube(spec: str) -> tuple[np.ndarray, Any]:
    from .io import read_cube

    return read_cube(spec)


def _run_config(preset: str, config_path: str | None, seed: int | None, device: str | None, ensemble: int | None = None) -> Any:
    """The preset, overlaid with a YAML file and the --seed/--device/--ensemble options, validated."""
    from .config import FusionConfig

    cfg = FusionConfig.preset_config(preset)
    if config_path:
        cfg = FusionConfig.from_yaml(config_path, base=cfg)
    if seed is not None:
        cfg.seed = seed
    if device is not None:
        cfg.device = device
    if ensemble is not None:
        cfg.ensemble = ensemble
    return cfg.validate()


class _Progress:
    """tqdm bars, one per stage (and per run of an ensemble); silent when stderr is not a terminal."""

    def __init__(self, runs: int = 1) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.bar: Any = None
        self.stage = 0
        self.runs, self.run = runs, 0
        self.desc = ""

    def __call__(self, stage: int, iteration: int, total: int, loss: float) -> None:
        if stage != self.stage:
            self.close()
            if stage < self.stage:  # the next run of an ensemble starts
                self.run += 1
            self.stage = stage
            self.desc = f"stage {stage}/3" if stage <= 3 else "stage 3, all pixels"
            if self.runs > 1:
                self.desc = f"run {self.run + 1}/{self.runs}, {self.desc}"
            self.bar = self._tqdm(total=total, desc=self.desc, unit="it", disable=None, leave=True)
        self.bar.update(iteration - self.bar.n)
        self.bar.set_postfix(loss=f"{loss:.3e}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pfs2c2")
def cli() -> None:
    """PFS2C2: fuse a low-resolution hyperspectral image with a high-resolution multispectral image."""


@cli.command()
@click.argument("reference")
@click.option("--ratio", type=int, required=True, help="Spatial scale factor (e.g. 4).")
@click.option("--srf", "srf_spec", required=True, help="Sensor name (e.g. sentinel2a, ikonos), response CSV, or (C, c) matrix (.npy/.csv).")
@click.option("--bands", help="Comma-separated MSI band names to keep (default: all but panchromatic).")
@click.option("--wavelengths", "wl_spec", help="HSI band centres: CSV file or start:stop in nm (default: from the file).")
@click.option("--snr", type=float, help="Add noise at this SNR in dB to both images.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def simulate(reference: str, ratio: int, srf_spec: str, bands: str | None, wl_spec: str | None, snr: float | None, seed: int, out_dir: str, overwrite: bool) -> None:
    """Simulate LR-HSI and HR-MSI from a REFERENCE HR-HSI (Wald protocol).

    Writes lr_hsi.npy, hr_msi.npy, reference.npy (cropped), all (H, W, C), and psf.npy/psf.csv,
    srf.npy/srf.csv (the true operators), wavelengths.csv when known.
    """
    from .io import write_cube
    from .simulation import simulate as run_simulation

    with user_errors():
        cube, meta = _read_cube(reference)
        wavelengths = _wavelengths(wl_spec, meta.wavelengths_nm, cube.shape[0])
        matrix = _resolve_srf(srf_spec, wavelengths, bands, cube.shape[0])
        sim = run_simulation(cube, ratio, matrix, snr_db=snr, seed=seed)
        out = Path(out_dir)
        names = ["lr_hsi.npy", "hr_msi.npy", "reference.npy", "psf.npy", "psf.csv", "srf.npy", "srf.csv"]
        _refuse_existing([out / n for n in names], overwrite)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in (("lr_hsi", sim.lr_hsi), ("hr_msi", sim.hr_msi), ("reference", sim.reference)):
            write_cube(out / f"{name}.npy", data, None, overwrite=overwrite)
        for name, matrix_out in (("psf", sim.psf), ("srf", sim.srf)):
            _atomic_npy(out / f"{name}.npy", matrix_out)
        _write_operators(out, sim.psf, sim.srf, wavelengths, overwrite)
        if wavelengths is not None:
            _atomic_text(out / "wavelengths.csv", "band,wavelength_nm\n" + "".join(f"{i + 1},{w:.4f}\n" for i, w in enumerate(wavelengths)))
    click.echo(
        f"LR-HSI {sim.lr_hsi.shape[1]}x{sim.lr_hsi.shape[2]}x{sim.lr_hsi.shape[0]}, HR-MSI "
        f"{sim.hr_msi.shape[1]}x{sim.hr_msi.shape[2]}x{sim.hr_msi.shape[0]} written to {out}"
    )


def _atomic_npy(path: Path, array: np.ndarray) -> None:
    from .io import atomic_write

    atomic_write(path, lambda tmp: np.save(tmp, array))


def _write_operators(directory: Path, psf: np.ndarray, srf: np.ndarray, wavelengths: np.ndarray | None, overwrite: bool) -> None:
    """``psf.csv`` (k x k) and ``srf.csv`` (one row per HSI band, indexed by wavelength when known)."""
    from .io import write_matrix_csv

    write_matrix_csv(directory / "psf.csv", psf, overwrite=overwrite)
    index = ("wavelength_nm", [float(w) for w in wavelengths]) if wavelengths is not None else ("hsi_band", list(range(1, srf.shape[0] + 1)))
    write_matrix_csv(directory / "srf.csv", srf, [f"msi_band{j + 1}" for j in range(srf.shape[1])], index, overwrite=overwrite)


def _load_psf(spec: str | None) -> np.ndarray | None:
    if spec is None:
        return None
    from .io import read_array

    return read_array(spec)


@cli.command()
@click.option("--hsi", "hsi_spec", required=True, help="LR-HSI file (.npy/.mat (H, W, C), GeoTIFF, ENVI, HDF5; FILE.mat:VAR).")
@click.option("--msi", "msi_spec", required=True, help="HR-MSI file, same formats.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Fused cube; format from the extension.")
@click.option("--ratio", type=int, help="Spatial scale factor (default: from the image sizes).")
@click.option("--srf", "srf_spec", help="Known SRF (non-blind): (C, c) matrix .npy/.csv, response CSV or sensor name.")
@click.option("--srf-support", "support_spec", help="Blind SRF: sensor or response CSV whose bands bound the learned SRF.")
@click.option("--bands", help="Comma-separated MSI band names of the sensor, in the MSI's order.")
@click.option("--wavelengths", "wl_spec", help="HSI band centres: CSV or start:stop in nm (default: from the file).")
@click.option("--psf", "psf_spec", help="Known PSF (non-blind): (k, k) .npy/.csv.")
@click.option("--preset", type=click.Choice(["default", "faithful", "fast"]), default="default", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML overriding preset values.")
@click.option("--seed", type=int, help="Random seed (overrides the config).")
@click.option("--ensemble", type=click.IntRange(min=1), help="Runs with consecutive seeds whose results are averaged (overrides the config; the default preset averages 2, 1 takes half the time).")
@click.option("--device", help="cpu, cuda, cuda:N or auto (overrides the config).")
@click.option("--reference", "ref_spec", help="Reference HR-HSI: also write metrics.json.")
@click.option("--mask-nan", is_flag=True, help="Treat NaN/Inf pixels as nodata instead of refusing the input.")
@click.option("--saturation", type=float, help="Pixels with any band at or above this value are excluded.")
@click.option("--validate", is_flag=True, help="First run the reduced-resolution check (fuse the inputs degraded by the ratio, compare with the LR-HSI).")
@click.option("--no-plots", is_flag=True, help="Do not write the report PNGs.")
@click.option("--tile-size", type=int, help="Tiled fusion: tile side in LR-HSI pixels, overlap included (default: from --max-memory).")
@click.option("--overlap", type=int, help="Tiled fusion: LR pixels shared by neighbouring tiles (default: 2 x (PSF reach + 2) + 4).")
@click.option("--max-memory", help="Memory budget, e.g. 4GB: tiles when the whole scene would not fit, and picks the tile size.")
@click.option("--workers", type=int, help="Tiled fusion on a Dask LocalCluster of N worker processes (pip install 'pfs2c2[dist]').")
@click.option("--scheduler", help="Tiled fusion on an existing Dask cluster: scheduler address or scheduler file.")
@click.option("--per-tile-operators", is_flag=True, help="Tiled fusion: learn the PSF/SRF in every tile instead of once per scene.")
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=60.0, show_default=True, help="Seconds between checkpoints of the training state (OUT.ckpt); 0 = at every snapshot.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint (same inputs and options).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (and discard an old checkpoint).")
def fuse(hsi_spec: str, msi_spec: str, out_path: str, ratio: int | None, srf_spec: str | None, support_spec: str | None, bands: str | None, wl_spec: str | None, psf_spec: str | None, preset: str, config_path: str | None, seed: int | None, ensemble: int | None, device: str | None, ref_spec: str | None, mask_nan: bool, saturation: float | None, validate: bool, no_plots: bool, checkpoint_every: float, resume: bool, overwrite: bool,
         tile_size: int | None = None, overlap: int | None = None, max_memory: str | None = None, workers: int | None = None,
         scheduler: str | None = None, per_tile_operators: bool = False) -> None:
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
    plots = not no_plots
    from .checkpoint import checkpoint_files, remove_checkpoint
    from .fusion import fuse as run_fusion
    from .io import atomic_write, write_cube
    from .masks import valid_pixels
    from .validation import check_output_path

    with user_errors():
        out = Path(out_path)
        sidecars = [out.with_name(n) for n in ("psf.csv", "srf.csv", "history.csv", "config.yaml", "run.json", "metrics.json")]
        pngs = [out.with_name("report.png")] if plots else []
        checkpoint = out.with_name(out.name + ".ckpt")
        interrupted = bool(checkpoint_files(checkpoint))
        if interrupted and not resume:
            if not overwrite:
                raise FileExistsError(f"{checkpoint} holds an interrupted run; pass --resume to continue it or --overwrite to start over")
            remove_checkpoint(checkpoint)
        # outputs left by the interrupted run being resumed are replaced (the checkpoint proves they are its own)
        overwrite = overwrite or (resume and interrupted)
        overwrite = overwrite or (resume and _tile_work_dir(out).exists())
        _refuse_existing([out, *sidecars, *pngs], overwrite)
        check_output_path(out)
        cfg = _run_config(preset, config_path, seed, device, ensemble)
        scene = _tiling_scene(hsi_spec, msi_spec, ratio, tile_size, overlap, max_memory, workers, scheduler, per_tile_operators)
        if scene is not None:
            if validate:
                raise ValueError("--validate needs the whole scene in memory; run it without tiling options (e.g. on a crop)")
            _fuse_tiled(scene, out, cfg, hsi_spec=hsi_spec, msi_spec=msi_spec, srf_spec=srf_spec, support_spec=support_spec,
                        bands=bands, wl_spec=wl_spec, psf_spec=psf_spec, ref_spec=ref_spec, mask_nan=mask_nan,
                        saturation=saturation, tile_size=tile_size, overlap=overlap, max_memory=max_memory, workers=workers,
                        scheduler=scheduler, per_tile_operators=per_tile_operators, resume=resume, overwrite=overwrite)
            return
        hsi, hsi_meta, msi, msi_meta, ratio = _read_pair(hsi_spec, msi_spec, ratio)
        wavelengths = _wavelengths(wl_spec, hsi_meta.wavelengths_nm, hsi.shape[0])
        srf = _resolve_srf(srf_spec, wavelengths, bands, hsi.shape[0])
        support = _resolve_srf(support_spec, wavelengths, bands, hsi.shape[0])
        if srf is None and support is None:
            support = _support_from_metadata(wavelengths, msi_meta)
        psf = _load_psf(psf_spec)
        reference = _read_cube(ref_spec)[0] if ref_spec else None
        options = dict(ratio=ratio, srf=srf, psf=psf, config=cfg, srf_support=support, mask_nonfinite=mask_nan,
                       hsi_mask=valid_pixels(hsi, hsi_meta.nodata, saturation), msi_mask=valid_pixels(msi, msi_meta.nodata, saturation))
        if validate:
            scores = _reduced_resolution_check(hsi, msi, options)
            run_validation = {"protocol": "reduced resolution (both inputs degraded by the ratio with a Gaussian PSF, FWHM = ratio)", **scores}
            click.echo(f"reduced-resolution check: {_format_metrics(scores)}")
        progress = _Progress(cfg.ensemble)
        try:
            result = run_fusion(hsi, msi, callback=progress, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                                resume=resume, keep_checkpoint=True, **options)
        finally:
            progress.close()
        if reference is not None and reference.shape != result.fused.shape:
            raise ValueError(f"reference has shape {reference.shape} but the fused cube {result.fused.shape}")
        # the fused cube lives on the MSI grid with the HSI's bands and units
        nodata = hsi_meta.nodata if hsi_meta.nodata is not None and np.isfinite(hsi_meta.nodata) else float("nan")
        meta = hsi_meta.with_grid(msi_meta).replace(wavelengths_nm=wavelengths, source=None, nodata=nodata)
        write_cube(out, np.where(np.isnan(result.fused), nodata, result.fused), meta, overwrite=overwrite)
        _write_operators(out.parent, result.psf, result.srf, wavelengths, overwrite)
        _atomic_text(sidecars[2], _history_csv(result.history))
        atomic_write(sidecars[3], result.config.to_yaml)
        run = {"hsi": _absolute_spec(hsi_spec), "msi": _absolute_spec(msi_spec), "fused": out.name,
               "reference": _absolute_spec(ref_spec) if ref_spec else None, "ratio": result.ratio,
               "wavelengths_nm": None if wavelengths is None else [float(w) for w in wavelengths],
               "psf_learned": result.psf_learned, "srf_learned": result.srf_learned, "timings_s": result.timings, "device": result.device}
        if validate:
            run["validation"] = run_validation
        run["no_reference"] = _no_reference(result.fused, hsi, msi, result.ratio)
        if reference is not None:
            from .metrics import evaluate

            scores = evaluate(result.fused, reference, result.ratio, mask=_common_valid(result.fused, reference))
            run["metrics"] = scores
            _atomic_text(sidecars[5], json.dumps(scores, indent=2) + "\n")
            click.echo(_format_metrics(scores))
        _atomic_text(sidecars[4], json.dumps(run, indent=2) + "\n")
        if plots:
            from .plots import write_report

            write_report(out.parent, lr_hsi=hsi, hr_msi=msi, fused=result.fused, psf=result.psf, srf=result.srf,
                         history=result.history, reference=reference, hsi_wavelengths=wavelengths,
                         msi_wavelengths=msi_meta.wavelengths_nm, true_psf=psf, true_srf=srf, ratio=result.ratio)
        remove_checkpoint(checkpoint)
    click.echo(f"fused {result.fused.shape[1]}x{result.fused.shape[2]}x{result.fused.shape[0]} in {result.timings['total']:.1f} s on {result.device} -> {out}")


def _read_pair(hsi_spec: str, msi_spec: str, ratio: int | None) -> tuple[np.ndarray, Any, np.ndarray, Any, int | None]:
    """Read both inputs; with georeferencing, check the grids nest and crop both to their overlap."""
    from .io import match_grids, read_cube

    hsi, hsi_meta = read_cube(hsi_spec)
    msi, msi_meta = read_cube(msi_spec)
    grid = match_grids(hsi_meta, hsi.shape[1:], msi_meta, msi.shape[1:], ratio)
    if grid.hsi_window is not None:
        hsi, hsi_meta = read_cube(hsi_spec, window=grid.hsi_window)
    if grid.msi_window is not None:
        msi, msi_meta = read_cube(msi_spec, window=grid.msi_window)
    return hsi, hsi_meta, msi, msi_meta, grid.ratio


def _support_from_metadata(wavelengths: np.ndarray | None, msi_meta: Any) -> np.ndarray | None:
    """Blind SRF support from the HSI wavelengths and the MSI band centres/FWHM in its metadata."""
    from .sensors import gaussian_response, srf_matrix

    centres, widths = msi_meta.wavelengths_nm, msi_meta.fwhm_nm
    if wavelengths is None or centres is None or widths is None:
        missing = [n for n, v in (("HSI wavelengths (--wavelengths)", wavelengths), ("MSI band centres", centres), ("MSI band widths", widths)) if v is None]
        click.echo(f"warning: the learned SRF may use every HSI band (missing: {', '.join(missing)}); "
                   "give --srf-support SENSOR_OR_CSV [--bands ...] with --wavelengths to bound it", err=True)
        return None
    grid = np.arange(min(centres - 2 * widths).clip(1), max(centres + 2 * widths), 1.0)
    return srf_matrix(gaussian_response(centres, widths, grid), wavelengths)


def _reduced_resolution_check(hsi: np.ndarray, msi: np.ndarray, options: dict[str, Any]) -> dict[str, float]:
    """Wald's reduced-resolution protocol: fuse (HSI, MSI) degraded by the ratio, compare with the HSI."""
    from .fusion import fuse as run_fusion
    from .fusion import infer_ratio
    from .masks import block_all
    from .metrics import evaluate
    from .physics import blur_downsample, crop_to_ratio, gaussian_psf

    ratio = options["ratio"] or infer_ratio(hsi.shape, msi.shape)
    kernel = options["psf"] if options["psf"] is not None else gaussian_psf(ratio)
    target = crop_to_ratio(hsi, ratio)
    h, w = target.shape[1:]
    if h // ratio < 2 or w // ratio < 2:
        raise ValueError(f"the HSI ({h}x{w}) is too small for the reduced-resolution check at ratio {ratio}")
    lr = blur_downsample(np.nan_to_num(target), kernel, ratio)
    hr = blur_downsample(np.nan_to_num(msi[:, : h * ratio, : w * ratio]), kernel, ratio)
    reduced = {**options, "msi_mask": block_all(options["msi_mask"][: h * ratio, : w * ratio], ratio), "hsi_mask": block_all(options["hsi_mask"][:h, :w], ratio)}
    fused = run_fusion(lr, hr, **reduced).fused
    return evaluate(fused, target, ratio, mask=_common_valid(fused, target) & options["hsi_mask"][:h, :w])


def _no_reference(fused: np.ndarray, hsi: np.ndarray, msi: np.ndarray, ratio: int) -> dict[str, float]:
    """D_lambda, D_s, QNR, D_lambda^K, HQNR on blocks of 8 LR pixels (2 for small images), NaN pixels excluded."""
    from .noref import no_reference

    lr_pixels = 8 if min(hsi.shape[1:]) >= 8 else 2
    valid = np.all(np.isfinite(fused), axis=0)
    return no_reference(np.nan_to_num(fused), np.nan_to_num(hsi), np.nan_to_num(msi), ratio, mask=valid, block_size=lr_pixels * ratio)


def _common_valid(fused: np.ndarray, reference: np.ndarray, nodata: float | None = None) -> np.ndarray:
    from .masks import valid_pixels

    return valid_pixels(reference, nodata) & np.all(np.isfinite(fused), axis=0)


def _absolute_spec(spec: str) -> str:
    """``spec`` with an absolute path, keeping a ``:VAR`` / ``:/dataset`` suffix."""
    path, sep, var = spec.rpartition(":") if not Path(spec).exists() and ":" in spec else (spec, "", "")
    return str(Path(path).resolve()) + sep + var


# --------------------------------------------------------------------------------------------------
# Tiled fusion (pfs2c2.tiling) and many scenes (pfs2c2.distributed)
# --------------------------------------------------------------------------------------------------
def _tile_work_dir(out: Path) -> Path:
    from .tiling import work_dir_for

    return work_dir_for(out)


def _tiling_scene(hsi_spec: str, msi_spec: str, ratio: int | None, tile_size: int | None, overlap: int | None,
                  max_memory: str | None, workers: int | None, scheduler: str | None, per_tile_operators: bool) -> Any:
    """The scene (:class:`pfs2c2.tiling.SceneInputs`) when the options ask for tiling, else None.

    Tiling engages with --tile-size, --workers, --scheduler, or a --max-memory that the untiled fusion
    of the whole scene would exceed (see :func:`pfs2c2.tiling.estimate_run_memory`).
    """
    if tile_size is None and max_memory is None and workers is None and scheduler is None:
        if overlap is not None or per_tile_operators:
            raise ValueError("--overlap and --per-tile-operators apply to tiled runs: add --tile-size, --max-memory, --workers or --scheduler")
        return None
    from .tiling import estimate_run_memory, format_bytes, open_scene, parse_memory

    if workers is not None and scheduler is not None:
        raise ValueError("give --workers (a new local cluster) or --scheduler (an existing one), not both")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be a positive number, got {workers}")
    if workers is not None or scheduler is not None:
        from .distributed import require_distributed

        require_distributed()  # "install pfs2c2[dist]" before any work
    if tile_size is not None and tile_size < 1:
        raise ValueError(f"--tile-size must be a positive number of LR pixels, got {tile_size}")
    budget = parse_memory(max_memory) if max_memory is not None else None
    scene = open_scene(hsi_spec, msi_spec, ratio)
    if tile_size is None and workers is None and scheduler is None and budget is not None:
        H, W = scene.hr_shape
        need = estimate_run_memory(H * W, scene.hsi_bands, scene.msi_bands)
        if need <= budget:
            if overlap is not None or per_tile_operators:
                click.echo(f"note: the whole scene fits --max-memory (about {format_bytes(need)}): fusing it untiled; "
                           "--overlap/--per-tile-operators are ignored", err=True)
            return None
    return scene


def _tiled_operators(scene: Any, *, srf_spec: str | None, support_spec: str | None, bands: str | None, wl_spec: str | None,
                     psf_spec: str | None) -> tuple[Any, Any, Any, Any]:
    """Wavelengths, known SRF, SRF support and known PSF of a tiled run (as the untiled path resolves them)."""
    hsi_wl = scene.hsi_meta.wavelengths_nm if scene.hsi_meta is not None else None
    wavelengths = _wavelengths(wl_spec, hsi_wl, scene.hsi_bands)
    srf = _resolve_srf(srf_spec, wavelengths, bands, scene.hsi_bands)
    support = _resolve_srf(support_spec, wavelengths, bands, scene.hsi_bands)
    if srf is None and support is None:
        support = _support_from_metadata(wavelengths, scene.msi_meta)
    return wavelengths, srf, support, _load_psf(psf_spec)


def _tiled_job(scene: Any, out: Path, cfg: Any, *, name: str, srf_spec: str | None, support_spec: str | None, bands: str | None,
               wl_spec: str | None, psf_spec: str | None, mask_nan: bool, saturation: float | None, tile_size: int | None,
               overlap: int | None, max_memory: str | None, workers: int | None, scheduler: str | None,
               per_tile_operators: bool, resume: bool, overwrite: bool) -> tuple[Any, Any]:
    """A :class:`pfs2c2.tiling.SceneJob` writing ``out`` (HSI bands on the MSI grid), and the wavelengths."""
    from .tiling import prepare_scene

    wavelengths, srf, support, psf = _tiled_operators(scene, srf_spec=srf_spec, support_spec=support_spec, bands=bands,
                                                      wl_spec=wl_spec, psf_spec=psf_spec)
    nodata = scene.hsi_meta.nodata if scene.hsi_meta.nodata is not None and np.isfinite(scene.hsi_meta.nodata) else float("nan")
    meta = scene.hsi_meta.with_grid(scene.msi_meta).replace(wavelengths_nm=wavelengths, source=None, nodata=nodata)
    if out.suffix.lower() in (".mat", ".h5", ".hdf5"):
        click.echo(f"warning: {out.suffix} outputs are assembled in memory; write .tif, ENVI (.hdr/.img) or .npy for bounded memory", err=True)
    job = prepare_scene(None, None, srf=srf, psf=psf, config=cfg, srf_support=support, saturation=saturation, mask_nonfinite=mask_nan,
                        tile_size=tile_size, overlap=overlap, max_memory=max_memory,
                        workers=(workers or 0) if scheduler is None else 1, per_tile_operators=per_tile_operators, out=out,
                        meta=meta, resume=resume, overwrite=overwrite, name=name, scene=scene)
    job.keep_work_dir = True  # removed once the sidecar files are written too
    return job, wavelengths


def _write_tiled_sidecars(out: Path, result: Any, paths: dict[str, Path], *, hsi_spec: str, msi_spec: str, ref_spec: str | None,
                          wavelengths: Any, executor: str, overwrite: bool) -> dict[str, float] | None:
    """psf.csv, srf.csv, history.csv, config.yaml, run.json (and metrics.json with a reference) of a tiled run."""
    from .io import atomic_write, write_matrix_csv

    write_matrix_csv(paths["psf"], result.psf, overwrite=overwrite)
    index = ("wavelength_nm", [float(w) for w in wavelengths]) if wavelengths is not None else ("hsi_band", list(range(1, result.srf.shape[0] + 1)))
    write_matrix_csv(paths["srf"], result.srf, [f"msi_band{j + 1}" for j in range(result.srf.shape[1])], index, overwrite=overwrite)
    _atomic_text(paths["history"], _history_csv(result.history))
    atomic_write(paths["config"], result.config.to_yaml)
    plan = result.plan
    run: dict[str, Any] = {
        "hsi": _absolute_spec(hsi_spec), "msi": _absolute_spec(msi_spec), "fused": out.name,
        "reference": _absolute_spec(ref_spec) if ref_spec else None, "ratio": plan.ratio,
        "wavelengths_nm": None if wavelengths is None else [float(w) for w in wavelengths],
        "psf_learned": result.psf_learned, "srf_learned": result.srf_learned, "timings_s": result.timings, "device": result.config.device,
        "tiling": {"tile_size_lr": plan.tile_size, "overlap_lr": plan.overlap, "margin_lr": plan.margin, "tiles": len(plan.tiles),
                   "grid": list(plan.grid_shape), "executor": executor, "per_tile_operators": result.per_tile_operators,
                   "resumed_tiles": result.resumed_tiles, "per_tile": result.tiles},
        "no_reference": None,
    }
    scores = None
    if ref_spec:
        from .metrics import evaluate

        fused, _ = _read_cube(str(result.path))
        reference = _read_cube(ref_spec)[0]
        if reference.shape != fused.shape:
            raise ValueError(f"reference has shape {reference.shape} but the fused cube {fused.shape}")
        scores = evaluate(fused, reference, plan.ratio, mask=_common_valid(fused, reference))
        run["metrics"] = scores
        _atomic_text(paths["metrics"], json.dumps(scores, indent=2) + "\n")
    _atomic_text(paths["run"], json.dumps(run, indent=2) + "\n")
    return scores


def _fuse_tiled(scene: Any, out: Path, cfg: Any, *, hsi_spec: str, msi_spec: str, srf_spec: str | None, support_spec: str | None,
                bands: str | None, wl_spec: str | None, psf_spec: str | None, ref_spec: str | None, mask_nan: bool,
                saturation: float | None, tile_size: int | None, overlap: int | None, max_memory: str | None,
                workers: int | None, scheduler: str | None, per_tile_operators: bool, resume: bool, overwrite: bool) -> None:
    """The tiled path of ``pfs2c2 fuse``."""
    from .distributed import make_executor, run_jobs
    from .tiling import TileProgress

    job, wavelengths = _tiled_job(scene, out, cfg, name=out.name, srf_spec=srf_spec, support_spec=support_spec, bands=bands,
                                  wl_spec=wl_spec, psf_spec=psf_spec, mask_nan=mask_nan, saturation=saturation,
                                  tile_size=tile_size, overlap=overlap, max_memory=max_memory, workers=workers,
                                  scheduler=scheduler, per_tile_operators=per_tile_operators, resume=resume, overwrite=overwrite)
    plan = job.plan
    with make_executor(workers=workers, scheduler=scheduler, threads=cfg.threads) as executor:
        where = executor.describe()
        click.echo(f"tiled fusion: {len(plan.tiles)} tiles ({plan.grid_shape[0]}x{plan.grid_shape[1]}) of up to {plan.tile_size} LR pixels, "
                   f"overlap {plan.overlap}; {where}", err=True)
        progress = TileProgress(echo=lambda line: click.echo(line, err=True))
        try:
            outcome = run_jobs([job], executor, progress)[0]
        finally:
            progress.close()
    if outcome.error is not None:
        if isinstance(outcome.error, (ValueError, OSError, FusionError)):
            raise outcome.error
        reason = " ".join(str(outcome.error).split())[:300]
        raise click.ClickException(f"tiled fusion stopped ({type(outcome.error).__name__}: {reason}); finished tiles are kept "
                                   f"in {job.store.dir}: run the same command with --resume")
    result = outcome.result
    names = {"psf": "psf.csv", "srf": "srf.csv", "history": "history.csv", "config": "config.yaml", "run": "run.json", "metrics": "metrics.json"}
    scores = _write_tiled_sidecars(out, result, {k: out.with_name(v) for k, v in names.items()}, hsi_spec=hsi_spec, msi_spec=msi_spec,
                                   ref_spec=ref_spec, wavelengths=wavelengths, executor=where, overwrite=True)
    job.store.remove()
    if scores is not None:
        click.echo(_format_metrics(scores))
    H, W = plan.hr_shape
    click.echo(f"fused {H}x{W}x{scene.hsi_bands} in {result.timings['total']:.1f} s, {len(plan.tiles)} tiles -> {result.path}")


_MANIFEST_KEYS = ("hsi", "msi", "out", "ratio", "srf", "srf_support", "bands", "wavelengths", "psf", "reference")


def _read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a batch manifest (CSV with a header); paths relative to the manifest's folder."""
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} not found")
    lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    missing = [k for k in ("hsi", "msi", "out") if k not in fields]
    if missing:
        raise ValueError(f"manifest {path} needs the columns hsi, msi, out (missing: {', '.join(missing)}); optional: {', '.join(_MANIFEST_KEYS[3:])}")
    unknown = [f for f in fields if f not in _MANIFEST_KEYS]
    if unknown:
        raise ValueError(f"manifest {path} has unknown column(s) {', '.join(unknown)}; known: {', '.join(_MANIFEST_KEYS)}")
    base = path.resolve().parent
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not all(row.get(k) for k in ("hsi", "msi", "out")):
            raise ValueError(f"manifest {path} line {number}: hsi, msi and out are required")
        for key in ("hsi", "msi", "out", "reference"):
            if row.get(key) and not Path(row[key]).is_absolute():
                row[key] = str(base / row[key])
        for key in ("srf", "srf_support", "psf", "wavelengths"):
            if row.get(key) and not Path(row[key]).is_absolute() and (base / row[key]).exists():
                row[key] = str(base / row[key])
        row["line"] = str(number)
        rows.append(row)
    if not rows:
        raise ValueError(f"manifest {path} lists no scene")
    outs = [str(Path(r["out"]).resolve()) for r in rows]
    dup = sorted({o for o in outs if outs.count(o) > 1})
    if dup:
        raise ValueError(f"manifest {path} writes {dup[0]} more than once; give every scene its own output")
    return rows


def _batch_sidecars(out: Path) -> dict[str, Path]:
    """``OUT_STEM.psf.csv`` etc. next to each output, so that scenes can share a folder."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    names = {"psf": "psf.csv", "srf": "srf.csv", "history": "history.csv", "config": "config.yaml", "run": "run.json", "metrics": "metrics.json"}
    return {k: out.with_name(f"{stem}.{v}") for k, v in names.items()}


@cli.command()
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--preset", type=click.Choice(["default", "faithful", "fast"]), default="default", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML overriding preset values.")
@click.option("--seed", type=int, help="Random seed (overrides the config).")
@click.option("--device", help="cpu, cuda, cuda:N or auto (overrides the config).")
@click.option("--tile-size", type=int, help="Tile side in LR-HSI pixels, overlap included (default: from --max-memory, else whole scenes).")
@click.option("--overlap", type=int, help="LR pixels shared by neighbouring tiles (default: 2 x (PSF reach + 2) + 4).")
@click.option("--max-memory", help="Memory budget of the run (per worker with --scheduler), e.g. 4GB; picks the tile size.")
@click.option("--workers", type=int, help="Run tiles on a Dask LocalCluster of N worker processes (pip install 'pfs2c2[dist]').")
@click.option("--scheduler", help="Run tiles on an existing Dask cluster: scheduler address or scheduler file.")
@click.option("--per-tile-operators", is_flag=True, help="Learn the PSF/SRF in every tile instead of once per scene.")
@click.option("--mask-nan", is_flag=True, help="Treat NaN/Inf pixels as nodata instead of refusing the input.")
@click.option("--saturation", type=float, help="Pixels with any band at or above this value are excluded.")
@click.option("--resume", is_flag=True, help="Keep the finished tiles of interrupted scenes (OUT.tiles/) and skip finished scenes.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs and start interrupted scenes over.")
def batch(manifest: str, preset: str, config_path: str | None, seed: int | None, device: str | None, tile_size: int | None,
          overlap: int | None, max_memory: str | None, workers: int | None, scheduler: str | None, per_tile_operators: bool,
          mask_nan: bool, saturation: float | None, resume: bool, overwrite: bool) -> None:
    """Fuse every scene pair of MANIFEST, a CSV with columns hsi, msi, out and optionally ratio, srf,
    srf_support, bands, wavelengths, psf, reference (as the options of `pfs2c2 fuse`; relative paths are
    relative to the manifest).

    Scenes run tile by tile as `pfs2c2 fuse` with tiling options does, sharing one Dask cluster with
    --workers/--scheduler. Beside each OUT it writes OUT_STEM.psf.csv, .srf.csv, .history.csv,
    .config.yaml, .run.json (and .metrics.json with a reference). A scene that fails does not stop the
    others; the exit code is then 1. With --resume, scenes whose output exists are skipped.
    """
    from .distributed import make_executor, run_jobs
    from .tiling import TileProgress, open_scene

    with user_errors():
        rows = _read_manifest(Path(manifest))
        cfg = _run_config(preset, config_path, seed, device)
        if workers is not None and scheduler is not None:
            raise ValueError("give --workers (a new local cluster) or --scheduler (an existing one), not both")
        jobs, extras = [], {}
        for row in rows:
            out = Path(row["out"])
            label = f"manifest line {row['line']} ({out.name})"
            if resume and out.exists() and not _tile_work_dir(out).exists():
                click.echo(f"[{out.name}] exists: skipped (--resume)", err=True)
                continue
            try:
                if not out.parent.exists():
                    raise FileNotFoundError(f"output directory {out.parent} does not exist; create it first")
                replace = overwrite or (resume and _tile_work_dir(out).exists())
                _refuse_existing([out, *_batch_sidecars(out).values()], replace)
                scene = open_scene(row["hsi"], row["msi"], int(row["ratio"]) if row.get("ratio") else None)
                job, wavelengths = _tiled_job(scene, out, cfg, name=out.name, srf_spec=row.get("srf") or None,
                                              support_spec=row.get("srf_support") or None, bands=row.get("bands") or None,
                                              wl_spec=row.get("wavelengths") or None, psf_spec=row.get("psf") or None,
                                              mask_nan=mask_nan, saturation=saturation, tile_size=tile_size, overlap=overlap,
                                              max_memory=max_memory, workers=workers, scheduler=scheduler,
                                              per_tile_operators=per_tile_operators, resume=resume, overwrite=replace)
            except (ValueError, OSError) as exc:
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ValueError(f"{label}: {message}") from None
            jobs.append(job)
            extras[id(job)] = (row, wavelengths)
        if not jobs:
            click.echo("nothing to do")
            return
        failures: list[str] = []
        executor = make_executor(workers=workers, scheduler=scheduler, threads=cfg.threads)

    def done(outcome: Any) -> None:
        job = outcome.job
        row, wavelengths = extras[id(job)]
        if outcome.error is None:
            try:
                _write_tiled_sidecars(job.out, outcome.result, _batch_sidecars(job.out), hsi_spec=row["hsi"], msi_spec=row["msi"],
                                      ref_spec=row.get("reference") or None, wavelengths=wavelengths, executor=where, overwrite=True)
                job.store.remove()
                return
            except Exception as exc:  # noqa: BLE001 - reported with the scene
                outcome.error = exc
        failures.append(f"{job.name}: {' '.join(str(outcome.error).split())[:300] or type(outcome.error).__name__}")

    with executor:
        where = executor.describe()
        total = sum(len(j.plan.tiles) for j in jobs)
        click.echo(f"batch: {len(jobs)} scene(s), {total} tile(s); {where}", err=True)
        progress = TileProgress(echo=lambda line: click.echo(line, err=True), scenes=len(jobs))
        try:
            run_jobs(jobs, executor, progress, on_done=done)
        finally:
            progress.close()
    click.echo(f"{len(jobs) - len(failures)} of {len(jobs)} scene(s) fused")
    if failures:
        raise click.ClickException(f"{len(failures)} scene(s) failed: " + "; ".join(failures))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace existing PNGs.")
def report(run_dir: str, overwrite: bool) -> None:
    """Draw the report PNGs of a fusion run directory (written by `pfs2c2 fuse`)."""
    from .io import read_array
    from .plots import write_report

    with user_errors():
        directory = Path(run_dir)
        run_file = directory / "run.json"
        if not run_file.exists():
            raise FileNotFoundError(f"{run_file} not found; RUN_DIR must be the folder of a `pfs2c2 fuse` output")
        _refuse_existing([directory / "report.png"], overwrite)
        run = json.loads(run_file.read_text())
        hsi, _, msi, msi_meta, _ = _read_pair(run["hsi"], run["msi"], run["ratio"])  # same crop as fuse
        fused, _ = _read_cube(str(directory / run["fused"]))
        reference = _read_cube(run["reference"])[0] if run.get("reference") else None
        history = list(csv.DictReader((directory / "history.csv").open()))
        history = [{k: (int(v) if k in ("stage", "iteration") else float(v)) for k, v in r.items() if v != ""} for r in history]
        paths = write_report(directory, lr_hsi=hsi, hr_msi=msi, fused=fused, psf=read_array(directory / "psf.csv"),
                             srf=read_array(directory / "srf.csv"), history=history, reference=reference,
                             hsi_wavelengths=run.get("wavelengths_nm"), msi_wavelengths=msi_meta.wavelengths_nm, ratio=run["ratio"])
    click.echo(f"wrote {len(paths)} figures to {directory}")


def _format_metrics(scores: dict[str, float]) -> str:
    units = {"sam": " deg", "psnr": " dB"}
    return "  ".join(f"{k.upper()} {v:.4g}{units.get(k, '')}" for k, v in scores.items())


@cli.command()
@click.argument("fused")
@click.argument("reference", required=False)
@click.option("--ratio", type=int, help="Spatial scale factor of the fusion (default: from --hsi and FUSED).")
@click.option("--hsi", "hsi_spec", help="LR-HSI input of the fusion: adds the no-reference indices D_lambda, D_s, QNR, HQNR.")
@click.option("--msi", "msi_spec", help="HR-MSI input of the fusion (with --hsi).")
@click.option("--peak", default="band", show_default=True, help="PSNR peak: 'band' (max of each reference band) or a number.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the metrics to this JSON file.")
@click.option("--overwrite", is_flag=True, help="Replace an existing JSON file.")
def evaluate(fused: str, reference: str | None, ratio: int | None, hsi_spec: str | None, msi_spec: str | None, peak: str, json_path: str | None, overwrite: bool) -> None:
    """Score a FUSED cube: against a REFERENCE (PSNR, SAM, ERGAS, RMSE, CC, SSIM, UIQI) and/or, with
    --hsi and --msi, without reference (D_lambda, D_s, QNR, D_lambda^K, HQNR)."""
    from .fusion import infer_ratio
    from .metrics import evaluate as run_evaluate

    with user_errors():
        if reference is None and not (hsi_spec and msi_spec):
            raise ValueError("give a REFERENCE cube, or --hsi and --msi for the no-reference indices")
        if bool(hsi_spec) != bool(msi_spec):
            raise ValueError("--hsi and --msi go together")
        if json_path:
            _refuse_existing([Path(json_path)], overwrite)
        a, _ = _read_cube(fused)
        scores: dict[str, float] = {}
        if hsi_spec and msi_spec:
            hsi, msi = _read_cube(hsi_spec)[0], _read_cube(msi_spec)[0]
            if msi.shape[1:] != a.shape[1:] or hsi.shape[0] != a.shape[0]:
                raise ValueError(f"fused cube {a.shape} does not match the HSI {hsi.shape} bands and the MSI {msi.shape} size")
            ratio = infer_ratio(hsi.shape, a.shape, ratio)
            scores.update(_no_reference(a, hsi, msi, ratio))
        if reference is not None:
            b, ref_meta = _read_cube(reference)
            if a.shape != b.shape:
                raise ValueError(f"fused cube {a.shape} and reference {b.shape} differ in shape (C, H, W)")
            if ratio is None:
                raise ValueError("--ratio is needed with a REFERENCE (for ERGAS)")
            try:
                peak_value: str | float = "band" if peak == "band" else float(peak)
            except ValueError:
                raise ValueError(f"--peak must be 'band' or a number, got {peak!r}") from None
            scores = {**run_evaluate(a, b, ratio, peak=peak_value, mask=_common_valid(a, b, ref_meta.nodata)), **scores}
        if json_path:
            _atomic_text(Path(json_path), json.dumps(scores, indent=2) + "\n")
    click.echo(_format_metrics(scores))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="pfs2c2-demo", show_default=True)
@click.option("--preset", type=click.Choice(["default", "faithful", "fast"]), default="default", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo's outputs.")
def demo(out_dir: str, preset: str, overwrite: bool) -> None:
    """Run blind fusion on the built-in synthetic scene and print metrics against its truth."""
    from .baselines import bicubic_upsample
    from .config import FusionConfig
    from .fusion import fuse as run_fusion
    from .io import atomic_write, write_cube
    from .metrics import evaluate as run_evaluate
    from .plots import write_report
    from .scenes import synthetic_scene
    from .sensors import band_support, load_srf
    from .simulation import simulate as run_simulation

    with user_errors():
        out = Path(out_dir)
        files = [out / n for n in ("fused.npy", "reference.npy", "lr_hsi.npy", "hr_msi.npy", "psf.csv", "srf.csv", "history.csv", "config.yaml", "metrics.json", "report.png")]
        _refuse_existing(files, overwrite)
        out.mkdir(parents=True, exist_ok=True)
        cube, wavelengths = synthetic_scene()
        srf = load_srf("sentinel2a", hsi_wavelengths_nm=wavelengths, bands=["B2", "B3", "B4", "B5", "B6", "B7", "B8"])
        sim = run_simulation(cube, 4, srf)
        click.echo(f"demo scene: {cube.shape[1]}x{cube.shape[2]} pixels, {cube.shape[0]} bands (400-1000 nm); Sentinel-2 B2-B8; ratio 4")
        config = FusionConfig.preset_config(preset)
        progress = _Progress(config.ensemble)
        try:
            result = run_fusion(sim.lr_hsi, sim.hr_msi, config=config, callback=progress, srf_support=band_support(srf))
        finally:
            progress.close()
        scores = run_evaluate(result.fused, sim.reference, 4)
        baseline = run_evaluate(bicubic_upsample(sim.lr_hsi, 4), sim.reference, 4)
        for name, data in (("fused", result.fused), ("reference", sim.reference), ("lr_hsi", sim.lr_hsi), ("hr_msi", sim.hr_msi)):
            write_cube(out / f"{name}.npy", data, None, overwrite=overwrite)
        _write_operators(out, result.psf, result.srf, wavelengths, overwrite)
        _atomic_text(out / "history.csv", _history_csv(result.history))
        atomic_write(out / "config.yaml", result.config.to_yaml)
        _atomic_text(out / "metrics.json", json.dumps({"pfs2c2": scores, "bicubic": baseline}, indent=2) + "\n")
        write_report(out, lr_hsi=sim.lr_hsi, hr_msi=sim.hr_msi, fused=result.fused, psf=result.psf, srf=result.srf,
                     history=result.history, reference=sim.reference, hsi_wavelengths=wavelengths,
                     true_psf=sim.psf, true_srf=sim.srf, ratio=4)
    click.echo(f"PFS2C2 ({preset}, blind): {_format_metrics(scores)}")
    click.echo(f"bicubic upsampling:     {_format_metrics(baseline)}")
    click.echo(f"learned PSF max error {np.abs(result.psf - sim.psf).max():.4f}; {result.timings['total']:.1f} s on {result.device}")
    click.echo(f"outputs written to {out.resolve()}")


@cli.command()
@click.option("--cases", "case_specs", multiple=True, help="scene/sensor/ratio[/snr_db], repeatable (default: the standard list of docs/benchmarks.md).")
@click.option("--methods", "method_list", help="Comma-separated baselines (default: all; 'none' for PFS2C2 only).")
@click.option("--presets", default="default", show_default=True, help="Comma-separated PFS2C2 presets to run ('none' for baselines only).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=str(Path("..") / "shared" / "data"), show_default=True, help="Folder with hsi/ and srf/ (the shared data).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Writes results.csv and results.md here.")
@click.option("--overwrite", is_flag=True, help="Replace existing results.")
def benchmark(case_specs: tuple[str, ...], method_list: str | None, presets: str, data_dir: str, out_dir: str, overwrite: bool) -> None:
    """Run PFS2C2 and the classical methods side by side on real scenes (Wald protocol, blind).

    Prints one line per case and method and writes results.csv and results.md (per-case and mean
    PSNR, SAM, ERGAS, SSIM, wall time, peak memory, and the machine).
    """
    from .benchmark import STANDARD_CASES, Case, environment, make_problem, method_table, run_case, to_csv, to_markdown

    with user_errors():
        out = Path(out_dir)
        _refuse_existing([out / "results.csv", out / "results.md"], overwrite)
        cases = [Case.parse(spec) for spec in (case_specs or STANDARD_CASES)]
        baselines = None if method_list is None else [m.strip() for m in method_list.split(",") if m.strip() and m.strip() != "none"]
        preset_names = [p.strip() for p in presets.split(",") if p.strip() and p.strip() != "none"]
        from .config import PRESETS

        bad = [p for p in preset_names if p not in PRESETS]
        if bad:
            raise ValueError(f"unknown preset(s) {', '.join(bad)}; choose from {', '.join(PRESETS)}")
        methods = method_table(preset_names, baselines)
        problems = [make_problem(case, Path(data_dir)) for case in cases]  # fail on missing data before any run
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for problem in problems:
            rows += run_case(problem, methods, log=click.echo)
        command = "pfs2c2 benchmark " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "pfs2c2 benchmark"
        _atomic_text(out / "results.csv", to_csv(rows))
        _atomic_text(out / "results.md", to_markdown(rows, environment(), command))
    click.echo(f"wrote {out / 'results.csv'} and {out / 'results.md'}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pfs2c2`` command; returns the exit code (tests call it in-process)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="pfs2c2", standalone_mode=False)
    except click.UsageError as exc:
        # one line, like every other input error, instead of click's usage block
        command = exc.ctx.command_path if exc.ctx is not None else "pfs2c2"
        click.echo(f"Error: {exc.format_message()} (see '{command} --help')", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
