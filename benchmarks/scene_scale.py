"""Whole scenes in minutes (issue 15): sampled training + streamed output against today's default.

The scene is built from real spectra: an N x N HR-HSI mosaic of randomly flipped / transposed copies of
the AVIRIS Jasper Ridge crop (100 x 100 x 198 bands, 380-2500 nm, ../shared/data), made block by block
(never whole), degraded with the Wald protocol at ratio 3 (Gaussian PSF, FWHM = 3, on a 3 x 3 kernel)
into a georeferenced LR-HSI GeoTIFF (30 m) and an 8-band Sentinel-2 HR-MSI GeoTIFF (10 m: B2 B3 B4 B5
B6 B8 B11 B12, responses from pyrsr, columns summing to 1). 3000 x 3000 HR is the issue's
1000 x 1000 x 198 EnMAP-like scene with a Sentinel-2 tile.

Every measured run is the real command line in a fresh process, writing a GeoTIFF (COG), blind, with
the default preset and the Sentinel-2 band support::

    pfs2c2 fuse --hsi lr_hsi.tif --msi hr_msi.tif --out fused.tif --srf-support sentinel2a --bands ... [--training ...]

Its wall time and peak memory (the largest sum of the resident set sizes of the process and all its
children, sampled every 0.1 s) are measured as benchmarks/large_scene.py does. Quality (PSNR, SAM
against the reference) is computed afterwards block by block, regenerating the reference mosaic, so no
cube is ever held whole.

Run from the repository root (OMP_NUM_THREADS is left to the runs: torch uses the 2 cores):

    python benchmarks/scene_scale.py                          # the four sizes, new path (about 40 min)
    python benchmarks/scene_scale.py --sizes 3000             # the 15-minute target alone
    python benchmarks/scene_scale.py --sizes 513 --old        # side by side with today's default, untiled
    python benchmarks/scene_scale.py --sizes 1026 --old-tiles # today's tiled default, one tile timed, extrapolated

The tables go to docs/benchmarks.md between ``<!-- scene-scale:start -->`` and ``<!-- scene-scale:end -->``
(one row per run, appended to the rows already there for other sizes and paths).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from large_scene import measure, mosaic_block

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- scene-scale:start -->", "<!-- scene-scale:end -->"
RATIO = 3
BANDS = "B2,B3,B4,B5,B6,B8,B11,B12"
BLOCK = 300  # HR pixels per side of the blocks the scene is built and scored in (a multiple of the ratio)


def crop_spectra() -> tuple[np.ndarray, np.ndarray]:
    """Jasper Ridge (198, 100, 100) scaled to [0, 1] and its band centres (nm)."""
    sys.path.insert(0, str(ROOT / "src"))
    from pfs2c2.benchmark import load_reference

    x, wl, _ = load_reference("jasper", DATA)
    return np.ascontiguousarray(x, dtype=np.float32), wl


def srf(wl: np.ndarray) -> np.ndarray:
    """``(198, 8)`` Sentinel-2A SRF at the HSI band centres, columns summing to 1."""
    from pfs2c2.sensors import load_srf

    m = load_srf("sentinel2a", wl, bands=BANDS.split(","))
    return m / m.sum(0, keepdims=True)


def build_scene(size: int, directory: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``lr_hsi.tif`` (198, size/3, size/3) and ``hr_msi.tif`` (8, size, size); reuse them if present."""
    from pfs2c2.io import RasterMeta, open_cube_writer
    from pfs2c2.physics import blur_downsample, gaussian_psf

    directory.mkdir(parents=True, exist_ok=True)
    lr_path, hr_path, info_path = directory / "lr_hsi.tif", directory / "hr_msi.tif", directory / "scene.json"
    info = {"size": size, "ratio": RATIO, "seed": seed, "source": "jasper", "bands": BANDS}
    if lr_path.exists() and hr_path.exists() and info_path.exists() and json.loads(info_path.read_text()) == info:
        return lr_path, hr_path
    crop, wl = crop_spectra()
    m = srf(wl)
    psf = gaussian_psf(RATIO)
    lr_meta = RasterMeta(crs="EPSG:32610", transform=(30.0, 0.0, 550000.0, 0.0, -30.0, 4140000.0), wavelengths_nm=wl)
    hr_meta = RasterMeta(crs="EPSG:32610", transform=(10.0, 0.0, 550000.0, 0.0, -10.0, 4140000.0))
    C = crop.shape[0]
    with (
        open_cube_writer(lr_path, (C, size // RATIO, size // RATIO), lr_meta, overwrite=True) as lr_out,
        open_cube_writer(hr_path, (m.shape[1], size, size), hr_meta, overwrite=True) as hr_out,
    ):
        for r0 in range(0, size, BLOCK):
            for c0 in range(0, size, BLOCK):
                h, w = min(BLOCK, size - r0), min(BLOCK, size - c0)
                ref = mosaic_block(crop, seed, r0, c0, h, w)
                hr_out.write(np.einsum("chw,cm->mhw", ref, m).astype(np.float32), r0, c0)
                lr_out.write(blur_downsample(ref, psf, RATIO).astype(np.float32), r0 // RATIO, c0 // RATIO)
    info_path.write_text(json.dumps(info))
    return lr_path, hr_path


def score(fused: Path, size: int, seed: int = 0, window: tuple[int, int, int, int] | None = None) -> dict[str, float]:
    """PSNR (mean over bands, peak = the band's maximum) and SAM (degrees) of ``fused`` against the
    reference mosaic, block by block; ``window`` ``(r0, c0, h, w)`` scores that part of the scene only."""
    from pfs2c2.io import open_cube

    crop, _ = crop_spectra()
    reader = open_cube(fused)
    r0w, c0w, hw, ww = window or (0, 0, size, size)
    C = crop.shape[0]
    sse, peak = np.zeros(C), np.zeros(C)
    angles, n = 0.0, 0
    for r0 in range(0, hw, BLOCK):
        for c0 in range(0, ww, BLOCK):
            h, w = min(BLOCK, hw - r0), min(BLOCK, ww - c0)
            ref = mosaic_block(crop, seed, r0w + r0, c0w + c0, h, w).reshape(C, -1).astype(np.float64)
            got = reader.read((r0, c0, h, w))[0].reshape(C, -1).astype(np.float64)
            sse += ((got - ref) ** 2).sum(axis=1)
            peak = np.maximum(peak, ref.max(axis=1))
            dot = (got * ref).sum(0) / np.maximum(np.linalg.norm(got, axis=0) * np.linalg.norm(ref, axis=0), 1e-12)
            angles += float(np.degrees(np.arccos(np.clip(dot, -1, 1))).sum())
            n += h * w
    mse = sse / n
    return {"psnr": float(np.mean(10 * np.log10(peak**2 / mse))), "sam": angles / n}


def fuse_cmd(lr: Path, hr: Path, out: Path, extra: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pfs2c2",
        "fuse",
        "--hsi",
        str(lr),
        "--msi",
        str(hr),
        "--out",
        str(out),
        "--overwrite",
        "--srf-support",
        "sentinel2a",
        "--bands",
        BANDS,
        "--no-plots",
        *extra,
    ]


def crop_scene(lr: Path, hr: Path, lr_side: int, directory: Path) -> tuple[Path, Path]:
    """The top-left ``lr_side`` x ``lr_side`` LR pixels of the scene (and their HR block) as files."""
    from pfs2c2.io import open_cube, write_cube

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for src, side, name in ((lr, lr_side, "lr_hsi.tif"), (hr, lr_side * RATIO, "hr_msi.tif")):
        cube, meta = open_cube(src).read((0, 0, side, side))
        write_cube(directory / name, cube, meta, overwrite=True)
        out.append(directory / name)
    return out[0], out[1]


def run_one(size: int, path: str, work: Path, args: argparse.Namespace) -> dict[str, object]:
    """One measured run: ``path`` "sample" (the new default for large scenes), "whole" (today's
    default, untiled) or "tiles" (today's tiled default, one tile timed and extrapolated)."""
    lr, hr = build_scene(size, work / f"scene{size}")
    out = work / f"fused_{size}_{path}.tif"
    row: dict[str, object] = {"size": size, "path": path}
    if path == "tiles":
        # today's tiled default trains the whole method in every tile: time one tile of the plan that
        # --max-memory 4GB gives, on a crop of that size, and multiply by the number of tiles
        tile, overlap = args.tile, 2 * (0 + 2) + 4
        lr_c, hr_c = crop_scene(lr, hr, tile, work / f"tile{tile}")
        seconds, peak, _, _ = measure(fuse_cmd(lr_c, hr_c, out, ["--training", "whole"]))
        step = tile - overlap
        tiles = math.ceil((size // RATIO - overlap) / step) ** 2
        row.update(
            seconds=seconds * tiles,
            peak_gib=peak / 2**30,
            note=f"one {tile}x{tile}-LR tile timed ({seconds:.0f} s) x {tiles} tiles; quality on that tile",
        )
        row.update(score(out, tile * RATIO, window=(0, 0, tile * RATIO, tile * RATIO)))
        return row
    extra = ["--training", path]
    seconds, peak, _, err = measure(fuse_cmd(lr, hr, out, extra))
    record = json.loads((out.parent / "run.json").read_text())
    row.update(seconds=seconds, peak_gib=peak / 2**30, timings=record["timings_s"])
    row.update(score(out, size))
    if path == "sample":
        row["training_s"] = record["timings_s"]["training"]
        row["inference_s"] = record["timings_s"]["inference"]
        row["lr_pixels"] = record["training"]["lr_pixels"]
    return row


def markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| HR size | path | wall time | training | inference + write | peak memory | PSNR | SAM | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (int(r["size"]), str(r["path"]))):  # type: ignore[call-overload]
        training = f"{r['training_s']:.0f} s" if "training_s" in r else ""
        inference = f"{r['inference_s']:.0f} s" if "inference_s" in r else ""
        lines.append(
            f"| {r['size']}^2 | {r['path']} | {float(r['seconds']):.0f} s ({float(r['seconds']) / 60:.1f} min) | "  # type: ignore[arg-type]
            f"{training} | {inference} | {float(r['peak_gib']):.2f} GiB | {float(r['psnr']):.2f} dB | "  # type: ignore[arg-type]
            f"{float(r['sam']):.3f} deg | {r.get('note', '')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[513, 1026, 2049, 3000])
    parser.add_argument("--old", action="store_true", help="also run today's default untiled (--training whole)")
    parser.add_argument("--old-tiles", action="store_true", help="also time today's tiled default (extrapolated)")
    parser.add_argument("--no-new", action="store_true", help="skip the sampled path")
    parser.add_argument("--tile", type=int, default=128, help="LR tile side of --old-tiles")
    parser.add_argument("--work", type=Path, default=None, help="folder for the scenes (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "scene_scale.json")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pfs2c2-scene-"))
    rows = json.loads(args.json.read_text()) if args.json.exists() else []
    for size in args.sizes:
        paths = (
            ([] if args.no_new else ["sample"])
            + (["whole"] if args.old else [])
            + (["tiles"] if args.old_tiles else [])
        )
        for path in paths:
            row = run_one(size, path, work, args)
            print(json.dumps(row), flush=True)
            rows = [r for r in rows if (r["size"], r["path"]) != (size, path)] + [row]
            args.json.write_text(json.dumps(rows, indent=1))
    table = markdown(rows)
    print(table)
    text = DOC.read_text()
    if START in text:
        head, rest = text.split(START, 1)
        text = head + START + "\n" + table + "\n" + END + rest.split(END, 1)[1]
        DOC.write_text(text)


if __name__ == "__main__":
    main()
