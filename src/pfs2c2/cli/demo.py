"""``pfs2c2 demo``: blind fusion of the built-in synthetic scene, scored against its truth."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from .._checks import check_not_existing
from .errors import user_errors
from .options import overwrite_option, preset_option
from .terminal import StageProgress, format_metrics

DEMO_FILES = (
    "fused.npy",
    "reference.npy",
    "lr_hsi.npy",
    "hr_msi.npy",
    "psf.csv",
    "srf.csv",
    "history.csv",
    "config.yaml",
    "metrics.json",
    "report.png",
)
"""What the demo writes into --out."""


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="pfs2c2-demo", show_default=True)
@preset_option
@overwrite_option("Replace an earlier demo's outputs.")
def demo(out_dir: str, preset: str, overwrite: bool) -> None:
    """Run blind fusion on the built-in synthetic scene and print metrics against its truth."""
    from .. import runs
    from ..baselines import bicubic_upsample
    from ..config import FusionConfig, RunOptions
    from ..fusion import fuse as run_fusion
    from ..io import atomic_write, write_cube
    from ..metrics import evaluate as run_evaluate
    from ..plots import write_report
    from ..scenes import synthetic_scene
    from ..sensors import band_support, load_srf
    from ..simulation import simulate as run_simulation

    with user_errors():
        out = Path(out_dir)
        check_not_existing([out / n for n in DEMO_FILES], overwrite)
        out.mkdir(parents=True, exist_ok=True)
        cube, wavelengths = synthetic_scene()
        srf = load_srf("sentinel2a", hsi_wavelengths_nm=wavelengths, bands=["B2", "B3", "B4", "B5", "B6", "B7", "B8"])
        sim = run_simulation(cube, 4, srf)
        click.echo(
            f"demo scene: {cube.shape[1]}x{cube.shape[2]} pixels, {cube.shape[0]} bands (400-1000 nm); "
            "Sentinel-2 B2-B8; ratio 4"
        )
        config = FusionConfig.preset_config(preset)
        progress = StageProgress(config.ensemble)
        try:
            result = run_fusion(
                sim.lr_hsi, sim.hr_msi, config=config, run=RunOptions(callback=progress), srf_support=band_support(srf)
            )
        finally:
            progress.close()
        scores = run_evaluate(result.fused, sim.reference, 4)
        baseline = run_evaluate(bicubic_upsample(sim.lr_hsi, 4), sim.reference, 4)
        cubes = (("fused", result.fused), ("reference", sim.reference), ("lr_hsi", sim.lr_hsi), ("hr_msi", sim.hr_msi))
        for name, data in cubes:
            write_cube(out / f"{name}.npy", data, None, overwrite=overwrite)
        runs.write_operators(
            result.psf, result.srf, wavelengths, psf_path=out / "psf.csv", srf_path=out / "srf.csv", overwrite=overwrite
        )
        runs.write_text(out / "history.csv", runs.history_csv(result.history))
        atomic_write(out / "config.yaml", result.config.to_yaml)
        runs.write_text(out / "metrics.json", json.dumps({"pfs2c2": scores, "bicubic": baseline}, indent=2) + "\n")
        write_report(
            out,
            lr_hsi=sim.lr_hsi,
            hr_msi=sim.hr_msi,
            fused=result.fused,
            psf=result.psf,
            srf=result.srf,
            history=result.history,
            reference=sim.reference,
            hsi_wavelengths=wavelengths,
            true_psf=sim.psf,
            true_srf=sim.srf,
            ratio=4,
        )
    click.echo(f"PFS2C2 ({preset}, blind): {format_metrics(scores)}")
    click.echo(f"bicubic upsampling:     {format_metrics(baseline)}")
    click.echo(
        f"learned PSF max error {np.abs(result.psf - sim.psf).max():.4f}; {result.timings['total']:.1f} s on {result.device}"
    )
    click.echo(f"outputs written to {out.resolve()}")
