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


class _Progress:
    """tqdm bars, one per stage; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.bar: Any = None
        self.stage = 0

    def __call__(self, stage: int, iteration: int, total: int, loss: float) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = self._tqdm(total=total, desc=f"stage {stage}/3", unit="it", disable=None, leave=True)
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
@click.option("--device", help="cpu, cuda, cuda:N or auto (overrides the config).")
@click.option("--reference", "ref_spec", help="Reference HR-HSI: also write metrics.json.")
@click.option("--mask-nan", is_flag=True, help="Treat NaN/Inf pixels as nodata instead of refusing the input.")
@click.option("--saturation", type=float, help="Pixels with any band at or above this value are excluded.")
@click.option("--validate", is_flag=True, help="First run the reduced-resolution check (fuse the inputs degraded by the ratio, compare with the LR-HSI).")
@click.option("--no-plots", is_flag=True, help="Do not write the report PNGs.")
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=60.0, show_default=True, help="Seconds between checkpoints of the training state (OUT.ckpt); 0 = at every snapshot.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint (same inputs and options).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (and discard an old checkpoint).")
def fuse(hsi_spec: str, msi_spec: str, out_path: str, ratio: int | None, srf_spec: str | None, support_spec: str | None, bands: str | None, wl_spec: str | None, psf_spec: str | None, preset: str, config_path: str | None, seed: int | None, device: str | None, ref_spec: str | None, mask_nan: bool, saturation: float | None, validate: bool, no_plots: bool, checkpoint_every: float, resume: bool, overwrite: bool) -> None:
    """Fuse an LR-HSI and an HR-MSI into an HR-HSI (blind unless --srf/--psf are given).

    Beside OUT it writes psf.csv, srf.csv, history.csv, config.yaml (the resolved configuration),
    run.json (inputs, ratio, timings, metrics), metrics.json with --reference, and report PNGs.
    While training, the state is checkpointed to OUT.ckpt; after a kill, run the same command with
    --resume. The checkpoint is deleted once every output is written.
    """
    plots = not no_plots
    from .config import FusionConfig
    from .fusion import fuse as run_fusion
    from .io import atomic_write, write_cube
    from .masks import valid_pixels

    with user_errors():
        out = Path(out_path)
        sidecars = [out.with_name(n) for n in ("psf.csv", "srf.csv", "history.csv", "config.yaml", "run.json", "metrics.json")]
        pngs = [out.with_name("report.png")] if plots else []
        checkpoint = out.with_name(out.name + ".ckpt")
        if checkpoint.exists() and not resume:
            if not overwrite:
                raise FileExistsError(f"{checkpoint} holds an interrupted run; pass --resume to continue it or --overwrite to start over")
            checkpoint.unlink()
        # outputs left by the interrupted run being resumed are replaced (the checkpoint proves they are its own)
        overwrite = overwrite or (resume and checkpoint.exists())
        _refuse_existing([out, *sidecars, *pngs], overwrite)
        if not out.parent.exists():
            raise FileNotFoundError(f"output directory {out.parent} does not exist; create it first")
        cfg = FusionConfig.preset_config(preset)
        if config_path:
            cfg = FusionConfig.from_yaml(config_path, base=cfg)
        if seed is not None:
            cfg.seed = seed
        if device is not None:
            cfg.device = device
        cfg.validate()
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
        progress = _Progress()
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
        checkpoint.unlink(missing_ok=True)
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
        progress = _Progress()
        try:
            result = run_fusion(sim.lr_hsi, sim.hr_msi, config=FusionConfig.preset_config(preset), callback=progress, srf_support=band_support(srf))
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pfs2c2`` command; returns the exit code (tests call it in-process)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="pfs2c2", standalone_mode=False)
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
