"""``pfs2c2 report``: redraw the report PNGs of a fusion run directory."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._checks import check_not_existing
from .errors import user_errors
from .options import overwrite_option


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@overwrite_option("Replace existing PNGs.")
def report(run_dir: str, overwrite: bool) -> None:
    """Draw the report PNGs of a fusion run directory (written by `pfs2c2 fuse`)."""
    from .. import runs
    from ..io import read_array, read_cube
    from ..plots import write_report

    with user_errors():
        directory = Path(run_dir)
        run_file = directory / "run.json"
        if not run_file.exists():
            raise FileNotFoundError(f"{run_file} not found; RUN_DIR must be the folder of a `pfs2c2 fuse` output")
        check_not_existing([directory / "report.png"], overwrite)
        run = json.loads(run_file.read_text())
        hsi, _, msi, msi_meta, _ = runs.read_pair(  # same crop (and alignment) as fuse
            run["hsi"], run["msi"], run["ratio"], msi_bands=run.get("msi_bands"), align="alignment" in run
        )
        fused, _ = read_cube(str(directory / run["fused"]))
        reference = read_cube(run["reference"])[0] if run.get("reference") else None
        history = runs.read_history_csv(directory / "history.csv")
        paths = write_report(
            directory,
            lr_hsi=hsi,
            hr_msi=msi,
            fused=fused,
            psf=read_array(directory / "psf.csv"),
            srf=read_array(directory / "srf.csv"),
            history=history,
            reference=reference,
            hsi_wavelengths=run.get("wavelengths_nm"),
            msi_wavelengths=msi_meta.wavelengths_nm,
            ratio=run["ratio"],
        )
    click.echo(f"wrote {len(paths)} figures to {directory}")
