"""``pfs2c2 evaluate``: scores of a fused cube, with and/or without a reference."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._checks import check_not_existing
from .errors import user_errors
from .options import overwrite_option
from .terminal import format_metrics


@click.command()
@click.argument("fused")
@click.argument("reference", required=False)
@click.option("--ratio", type=int, help="Spatial scale factor of the fusion (default: from --hsi and FUSED).")
@click.option(
    "--hsi", "hsi_spec", help="LR-HSI input of the fusion: adds the no-reference indices D_lambda, D_s, QNR, HQNR."
)
@click.option("--msi", "msi_spec", help="HR-MSI input of the fusion (with --hsi).")
@click.option(
    "--peak", default="band", show_default=True, help="PSNR peak: 'band' (max of each reference band) or a number."
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the metrics to this JSON file.")
@overwrite_option("Replace an existing JSON file.")
def evaluate(
    fused: str,
    reference: str | None,
    ratio: int | None,
    hsi_spec: str | None,
    msi_spec: str | None,
    peak: str,
    json_path: str | None,
    overwrite: bool,
) -> None:
    """Score a FUSED cube: against a REFERENCE (PSNR, SAM, ERGAS, RMSE, CC, SSIM, UIQI) and/or, with
    --hsi and --msi, without reference (D_lambda, D_s, QNR, D_lambda^K, HQNR)."""
    from .. import runs
    from .._checks import (
        check_evaluate_inputs,
        check_fused_inputs_shape,
        check_fused_reference_shape,
        check_ratio_given,
        infer_ratio,
        parse_peak,
    )
    from ..io import read_cube

    with user_errors():
        check_evaluate_inputs(reference, hsi_spec, msi_spec)
        if json_path:
            check_not_existing([Path(json_path)], overwrite)
        a, _ = read_cube(fused)
        scores: dict[str, float] = {}
        if hsi_spec and msi_spec:
            hsi, msi = read_cube(hsi_spec)[0], read_cube(msi_spec)[0]
            check_fused_inputs_shape(a.shape, hsi.shape, msi.shape)
            ratio = infer_ratio(hsi.shape, a.shape, ratio)
            scores.update(runs.no_reference_scores(a, hsi, msi, ratio))
        if reference is not None:
            b, ref_meta = read_cube(reference)
            check_fused_reference_shape(a.shape, b.shape)
            ratio = check_ratio_given(ratio)
            peak_value = parse_peak(peak)
            scores = {**runs.reference_scores(a, b, ratio, nodata=ref_meta.nodata, peak=peak_value), **scores}
        if json_path:
            runs.write_text(Path(json_path), json.dumps(scores, indent=2) + "\n")
    click.echo(format_metrics(scores))
