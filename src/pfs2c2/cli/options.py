"""Options shared by several commands, declared once (rasterio's ``rio/options.py`` style)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..config import PRESETS

F = TypeVar("F", bound=Callable[..., Any])


def _all(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply ``decorators`` so that ``--help`` lists the options in the order given."""

    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


preset_option = click.option("--preset", type=click.Choice(list(PRESETS)), default="default", show_default=True)
config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="YAML overriding preset values."
)
seed_option = click.option("--seed", type=int, help="Random seed (overrides the config).")
device_option = click.option("--device", help="cpu, cuda, cuda:N or auto (overrides the config).")

mask_options = _all(
    click.option("--mask-nan", is_flag=True, help="Treat NaN/Inf pixels as nodata instead of refusing the input."),
    click.option("--saturation", type=float, help="Pixels with any band at or above this value are excluded."),
)

training_options = _all(
    click.option(
        "--training",
        type=click.Choice(["auto", "whole", "sample", "tiles"]),
        default="auto",
        show_default=True,
        help="whole = train on the whole scene in memory; sample = learn once from --sample-pixels LR pixels "
        "drawn over the scene, then stream the output block by block (minutes for a full product); tiles = "
        "train again in every tile; auto = tiles with --tile-size/--workers/--scheduler, whole for products, "
        "--align, --validate, --out-bands, --rgb or a scene within --sample-pixels, else sample.",
    ),
    click.option(
        "--sample-pixels",
        type=click.IntRange(min=1),
        default=4096,
        show_default=True,
        help="LR pixels the sampled training learns from (patches drawn over the whole scene).",
    ),
)

tiling_options = _all(
    click.option(
        "--tile-size",
        type=int,
        help="Tiled fusion: tile side in LR-HSI pixels, overlap included (default: from --max-memory, else whole scenes).",
    ),
    click.option(
        "--overlap",
        type=int,
        help="Tiled fusion: LR pixels shared by neighbouring tiles (default: 2 x (PSF reach + 2) + 4).",
    ),
    click.option(
        "--max-memory",
        help="Memory budget of the run (per worker with --scheduler), e.g. 4GB: bounds the sample and the output "
        "blocks of a sampled run, picks the tile size of a tiled one (a whole-scene run that would not fit "
        "is sampled).",
    ),
    click.option(
        "--workers",
        type=int,
        help="Run tiles on a Dask LocalCluster of N worker processes (pip install 'pfs2c2[dist]').",
    ),
    click.option("--scheduler", help="Run tiles on an existing Dask cluster: scheduler address or scheduler file."),
    click.option(
        "--per-tile-operators",
        is_flag=True,
        help="Tiled fusion: learn the PSF/SRF in every tile instead of once per scene.",
    ),
)


def overwrite_option(help: str = "Replace existing outputs.") -> Callable[[F], F]:
    """``--overwrite``, with what it replaces in this command."""
    return click.option("--overwrite", is_flag=True, help=help)


def resume_option(help: str) -> Callable[[F], F]:
    """``--resume``, with what it resumes in this command."""
    return click.option("--resume", is_flag=True, help=help)


product_options = _all(
    click.option(
        "--msi-bands",
        help="Sentinel-2 product bands: 10m (B02,B03,B04,B08; the default), 20m, or names such as B02,B03,B8A.",
    ),
    click.option(
        "--align",
        is_flag=True,
        help="Grids that do not nest (another CRS, a shifted origin, a non-integer ratio): reproject, resample "
        "and crop the pair first (pfs2c2.alignment) instead of refusing; recorded in run.json.",
    ),
    click.option(
        "--out-bands",
        help="Write only these bands to OUT: 1-based band numbers or wavelengths such as 650nm, comma-separated.",
    ),
    click.option(
        "--rgb",
        type=click.Path(dir_okay=False),
        help="Also write an 8-bit RGB quicklook GeoTIFF (COG) of the fused cube.",
    ),
)
