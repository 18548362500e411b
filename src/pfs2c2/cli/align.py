"""``pfs2c2 align``: write an HSI / MSI pair whose grids nest (one CRS, an integer ratio, aligned origins)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._checks import check_not_existing
from .errors import user_errors
from .options import overwrite_option


@click.command()
@click.option("--hsi", "hsi_spec", required=True, help="LR-HSI file or product (as for `pfs2c2 fuse`).")
@click.option("--msi", "msi_spec", required=True, help="HR-MSI file or Sentinel-2 L2A product.")
@click.option("--out-hsi", required=True, type=click.Path(dir_okay=False), help="Aligned HSI (.tif: a COG).")
@click.option("--out-msi", required=True, type=click.Path(dir_okay=False), help="Aligned MSI (.tif: a COG).")
@click.option("--ratio", type=int, help="Integer ratio N (default: the pixel-size ratio rounded).")
@click.option(
    "--resample",
    type=click.Choice(["hsi", "msi"]),
    help="Which image is resampled (default: the HSI, onto blocks of the MSI grid).",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "bilinear", "cubic", "average", "nearest", "guided"]),
    help="Resampling kernel (default: auto, see docs/benchmarks.md 'Grid alignment').",
)
@click.option("--msi-bands", help="Sentinel-2 product bands: 10m (default), 20m or names such as B02,B03,B8A.")
@overwrite_option("Replace existing outputs.")
def align(
    hsi_spec: str,
    msi_spec: str,
    out_hsi: str,
    out_msi: str,
    ratio: int | None,
    resample: str | None,
    method: str | None,
    msi_bands: str | None,
    overwrite: bool,
) -> None:
    """Reproject, resample and crop an HSI / MSI pair so that `pfs2c2 fuse` takes it without --align.

    Masked pixels (product clouds, nodata) are written as NaN. Prints what was done (the record that
    `pfs2c2 fuse --align` writes to run.json) as JSON.
    """
    from .. import runs
    from .._checks import check_output_path

    with user_errors():
        outs = [Path(out_hsi), Path(out_msi)]
        check_not_existing(outs, overwrite)
        for out in outs:
            check_output_path(out)
        record = runs.align_inputs(
            hsi_spec,
            msi_spec,
            out_hsi,
            out_msi,
            ratio=ratio,
            msi_bands=msi_bands,
            resample=resample,
            method=method,
            overwrite=overwrite,
        )
    click.echo(json.dumps(record))
