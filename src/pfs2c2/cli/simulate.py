"""``pfs2c2 simulate``: an LR-HSI / HR-MSI pair from a reference HR-HSI (Wald protocol)."""

from __future__ import annotations

from pathlib import Path

import click

from .._checks import check_not_existing
from .errors import user_errors
from .options import overwrite_option


@click.command()
@click.argument("reference")
@click.option("--ratio", type=int, required=True, help="Spatial scale factor (e.g. 4).")
@click.option(
    "--srf",
    "srf_spec",
    required=True,
    help="Sensor name (e.g. sentinel2a, ikonos), response CSV, or (C, c) matrix (.npy/.csv).",
)
@click.option("--bands", help="Comma-separated MSI band names to keep (default: all but panchromatic).")
@click.option(
    "--wavelengths", "wl_spec", help="HSI band centres: CSV file or start:stop in nm (default: from the file)."
)
@click.option("--snr", type=float, help="Add noise at this SNR in dB to both images.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output directory.")
@overwrite_option()
def simulate(
    reference: str,
    ratio: int,
    srf_spec: str,
    bands: str | None,
    wl_spec: str | None,
    snr: float | None,
    seed: int,
    out_dir: str,
    overwrite: bool,
) -> None:
    """Simulate LR-HSI and HR-MSI from a REFERENCE HR-HSI (Wald protocol).

    Writes lr_hsi.npy, hr_msi.npy, reference.npy (cropped), all (H, W, C), and psf.npy/psf.csv,
    srf.npy/srf.csv (the true operators), wavelengths.csv when known.
    """
    from .. import runs
    from ..io import read_cube, write_cube
    from ..simulation import simulate as run_simulation

    with user_errors():
        cube, meta = read_cube(reference)
        wavelengths = runs.hsi_wavelengths(wl_spec, meta.wavelengths_nm, cube.shape[0])
        matrix = runs.srf_from_spec(srf_spec, wavelengths, bands, cube.shape[0])
        sim = run_simulation(cube, ratio, matrix, snr_db=snr, seed=seed)
        out = Path(out_dir)
        names = ["lr_hsi.npy", "hr_msi.npy", "reference.npy", "psf.npy", "psf.csv", "srf.npy", "srf.csv"]
        check_not_existing([out / n for n in names], overwrite)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in (("lr_hsi", sim.lr_hsi), ("hr_msi", sim.hr_msi), ("reference", sim.reference)):
            write_cube(out / f"{name}.npy", data, None, overwrite=overwrite)
        runs.write_npy(out / "psf.npy", sim.psf)
        runs.write_npy(out / "srf.npy", sim.srf)
        runs.write_operators(
            sim.psf, sim.srf, wavelengths, psf_path=out / "psf.csv", srf_path=out / "srf.csv", overwrite=overwrite
        )
        if wavelengths is not None:
            rows = "".join(f"{i + 1},{w:.4f}\n" for i, w in enumerate(wavelengths))
            runs.write_text(out / "wavelengths.csv", "band,wavelength_nm\n" + rows)
    click.echo(
        f"LR-HSI {sim.lr_hsi.shape[1]}x{sim.lr_hsi.shape[2]}x{sim.lr_hsi.shape[0]}, HR-MSI "
        f"{sim.hr_msi.shape[1]}x{sim.hr_msi.shape[2]}x{sim.hr_msi.shape[0]} written to {out}"
    )
