"""Tiled fusion of a large synthetic scene: wall time and peak memory vs tile size, workers, scene size.

The scene is built from the real spectra of a ../shared/data crop (default: ROSIS Pavia beach-4,
100x100x102): an N x N HR-HSI mosaic of randomly flipped / transposed copies of the crop, made on the
fly block by block (it is never held whole), degraded with the Wald protocol (Gaussian PSF, FWHM =
ratio, on a ratio x ratio kernel; IKONOS blue/green/red/nir SRF, columns summing to 1) into a
georeferenced LR-HSI GeoTIFF (30 m) and HR-MSI GeoTIFF (7.5 m). Every measured run is the real
command line, ``pfs2c2 fuse ... --tile-size T [--workers W]`` writing a GeoTIFF, in a fresh process;
its peak memory is the largest sum of the resident set sizes of the process and all its children
(Dask workers included), sampled every 0.1 s (shared library pages count once per process, so this
overstates what the machine really uses).

Run from the repository root:

    python benchmarks/large_scene.py                     # 2048^2 x 102 scene, tiles 64 and 128, 0 vs 2 workers, 3 sizes
    python benchmarks/large_scene.py --sizes 512 1024 --tiles 64 --workers 0 2   # shorter
    python benchmarks/large_scene.py --calibrate          # re-measure the memory model of pfs2c2.tiling
    python benchmarks/large_scene.py --quality            # tiled vs untiled on the real Pavia crop (~10 min)

The default training schedule is short (``--schedule 10,50,20`` iterations of the three stages): peak
memory does not depend on it, and wall time grows linearly with the iterations (``--preset fast`` or
``default`` for the real schedules, hours at this size on 2 cores). The table is printed and written to
docs/benchmarks.md between ``<!-- large-scene:start -->`` and ``<!-- large-scene:end -->``.

``--quality`` compares tiled and untiled fusion on the real 100x100 Pavia crop (Wald protocol, ratio 4,
IKONOS B/G/R/NIR) with the same schedule, blind and with known operators: PSNR/SAM/ERGAS of both, and a
seam check (the error in the overlap zones relative to the rest, tiled vs untiled), with the error maps
drawn to docs/tiling_seams.png; its table goes between ``<!-- tiling-quality:start -->`` and
``<!-- tiling-quality:end -->``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- large-scene:start -->", "<!-- large-scene:end -->"
QSTART, QEND = "<!-- tiling-quality:start -->", "<!-- tiling-quality:end -->"
FIGURE = ROOT / "docs" / "tiling_seams.png"
RATIO = 4


# ==================================================================================================
# The synthetic scene
# ==================================================================================================
def crop_spectra() -> tuple[np.ndarray, np.ndarray]:
    """Pavia beach-4 (C, 100, 100) min-max normalised to [0, 1], and its band centres (nm)."""
    import scipy.io

    cube = scipy.io.loadmat(DATA / "hsi/abu-beach-4_pavia_rosis.mat")["data"].astype(np.float64)
    cube = (cube - cube.min()) / (cube.max() - cube.min())
    return cube.transpose(2, 0, 1).astype(np.float32), np.linspace(430.0, 860.0, cube.shape[2])


def mosaic_block(crop: np.ndarray, seed: int, r0: int, c0: int, h: int, w: int, piece: int = 100) -> np.ndarray:
    """Rows ``r0:r0+h``, cols ``c0:c0+w`` of the mosaic: piece (i, j) is the crop flipped/transposed at random."""
    out = np.empty((crop.shape[0], h, w), np.float32)
    for pi in range(r0 // piece, (r0 + h - 1) // piece + 1):
        for pj in range(c0 // piece, (c0 + w - 1) // piece + 1):
            code = np.random.default_rng([seed, pi, pj]).integers(8)
            tile = crop
            if code & 1:
                tile = tile[:, ::-1]
            if code & 2:
                tile = tile[:, :, ::-1]
            if code & 4:
                tile = tile.transpose(0, 2, 1)
            y0, y1 = max(r0, pi * piece), min(r0 + h, (pi + 1) * piece)
            x0, x1 = max(c0, pj * piece), min(c0 + w, (pj + 1) * piece)
            out[:, y0 - r0 : y1 - r0, x0 - c0 : x1 - c0] = tile[
                :, y0 - pi * piece : y1 - pi * piece, x0 - pj * piece : x1 - pj * piece
            ]
    return out


def build_scene(size: int, directory: Path, seed: int = 0) -> tuple[Path, Path, dict]:
    """Write ``lr_hsi.tif`` (C, size/4, size/4) and ``hr_msi.tif`` (4, size, size); reuse them if present."""
    from pfs2c2.io import RasterMeta
    from pfs2c2.io.writers import open_cube_writer
    from pfs2c2.physics import blur_downsample, gaussian_psf
    from pfs2c2.sensors import load_srf

    directory.mkdir(parents=True, exist_ok=True)
    lr_path, hr_path, info_path = directory / "lr_hsi.tif", directory / "hr_msi.tif", directory / "scene.json"
    crop, wl = crop_spectra()
    info = {
        "size": size,
        "bands": crop.shape[0],
        "ratio": RATIO,
        "seed": seed,
        "source": "hsi/abu-beach-4_pavia_rosis.mat",
    }
    if lr_path.exists() and hr_path.exists() and info_path.exists() and json.loads(info_path.read_text()) == info:
        return lr_path, hr_path, info
    srf = load_srf(
        str(DATA / "srf/sensors/IKONOS2_rsr.csv"), hsi_wavelengths_nm=wl, bands=["blue", "green", "red", "nir"]
    )
    psf = gaussian_psf(RATIO)
    lr_meta = RasterMeta(crs="EPSG:32632", transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 5000000.0), wavelengths_nm=wl)
    hr_meta = RasterMeta(crs="EPSG:32632", transform=(7.5, 0.0, 500000.0, 0.0, -7.5, 5000000.0))
    C, block = crop.shape[0], 256
    with (
        open_cube_writer(lr_path, (C, size // RATIO, size // RATIO), lr_meta, overwrite=True) as lr_out,
        open_cube_writer(hr_path, (4, size, size), hr_meta, overwrite=True) as hr_out,
    ):
        for r0 in range(0, size, block):
            for c0 in range(0, size, block):
                h, w = min(block, size - r0), min(block, size - c0)
                ref = mosaic_block(crop, seed, r0, c0, h, w)
                hr_out.write(np.einsum("chw,cm->mhw", ref, srf).astype(np.float32), r0, c0)
                lr_out.write(blur_downsample(ref, psf, RATIO), r0 // RATIO, c0 // RATIO)
    info_path.write_text(json.dumps(info))
    return lr_path, hr_path, info


# ==================================================================================================
# Measuring a command
# ==================================================================================================
def measure(cmd: list[str], interval: float = 0.1) -> tuple[float, int, int, str]:
    """Run ``cmd``; return (wall seconds, peak RSS of the process tree, peak process count, stderr tail)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak, procs, done = [0], [0], threading.Event()

    def poll() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for p in tree:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)
            procs[0] = max(procs[0], len(tree))
            time.sleep(interval)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    out, err = proc.communicate()
    done.set()
    thread.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return seconds, peak[0], procs[0], err


def fuse_command(
    lr: Path, hr: Path, out: Path, tile: int | None, workers: int, args: argparse.Namespace, config: Path | None
) -> list[str]:
    """The measured command; ``tile=None`` lets ``--max-memory`` (the budget) pick the tile size."""
    cmd = [
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
        "--preset",
        args.preset,
        "--srf-support",
        str(DATA / "srf/sensors/IKONOS2_rsr.csv"),
        "--bands",
        "blue,green,red,nir",
        "--no-plots",
    ]
    cmd += ["--tile-size", str(tile)] if tile is not None else ["--max-memory", args.budget]
    if config is not None:
        cmd += ["--config", str(config)]
    if workers:
        cmd += ["--workers", str(workers)]
    return cmd


def schedule_config(args: argparse.Namespace, directory: Path) -> Path | None:
    """YAML with the iterations of ``--schedule`` and the torch threads of ``--threads`` (None if neither)."""
    values: dict = {}
    if args.schedule:
        for stage, n in zip(("stage1", "stage2", "stage3"), (int(v) for v in args.schedule.split(","))):
            values[stage] = {"iterations": n, "decay_start": n // 2}
    if args.threads:
        values["threads"] = args.threads
    if not values:
        return None
    path = directory / "schedule.yaml"
    path.write_text(json.dumps(values))
    return path


# ==================================================================================================
# Memory model calibration
# ==================================================================================================
CALIBRATION_SNIPPET = r"""
import json, resource, sys, numpy as np, psutil, torch
torch.set_num_threads(1)
import dataclasses
from pfs2c2 import FusionConfig, StageConfig, fuse
from pfs2c2.tiling import CubeSource, Tile, TileTask, run_tile
side, C, c = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
cfg = dataclasses.replace(FusionConfig.preset_config("fast"), stage1=StageConfig(5, 5e-3, 2),
                          stage2=StageConfig(5, 2e-2, 2), stage3=StageConfig(5, 2e-3, 2))
warm = fuse(rng.random((C, 4, 4), dtype=np.float32) + 0.1, rng.random((c, 16, 16), dtype=np.float32) + 0.1, ratio=4, config=cfg)
del warm
base = psutil.Process().memory_info().rss
y = np.load(sys.argv[4], mmap_mode="r"); z = np.load(sys.argv[5], mmap_mode="r")
src_y, src_z = CubeSource(spec=sys.argv[4]), CubeSource(spec=sys.argv[5])
h = side // 4
tile = Tile(0, (0, 0), (0, 0, h, h), (0, 0, side, side), (0, 0, side, side))
srf = rng.random((C, c)); srf /= srf.sum(0)
task = TileTask("cal", tile, src_y, src_z, 4, cfg, psf=None, srf=None, threads=1)
result = run_tile(task)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"side": side, "C": C, "c": c, "base": base, "peak": peak, "extra": peak - base}))
"""


def calibrate(directory: Path) -> list[dict]:
    """Peak RSS of one blind tile task (read from .npy + fuse + result) above the process baseline."""
    rows = []
    rng = np.random.default_rng(0)
    for C, c, sides in ((102, 4, (128, 256, 512, 768, 1024)), (200, 8, (256, 512, 768)), (31, 3, (512, 1024))):
        for side in sides:
            y_path, z_path = directory / f"cal_y_{C}_{side}.npy", directory / f"cal_z_{c}_{side}.npy"
            np.save(y_path, (rng.random((side // 4, side // 4, C), dtype=np.float32) + 0.1))
            np.save(z_path, (rng.random((side, side, c), dtype=np.float32) + 0.1))
            out = subprocess.run(
                [sys.executable, "-c", CALIBRATION_SNIPPET, str(side), str(C), str(c), str(y_path), str(z_path)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"side {side:5d} C {C:3d} c {c}: base {row['base'] / 2**20:6.0f} MiB, task peak above base {row['extra'] / 2**20:7.0f} MiB",
                flush=True,
            )
            y_path.unlink()
            z_path.unlink()
    return rows


def calibration_table(rows: list[dict]) -> str:
    from pfs2c2.tiling import estimate_task_memory

    lines = [
        "| HR tile side | HSI bands | MSI bands | measured task peak above baseline (MiB) | model (MiB) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        model = estimate_task_memory(r["side"] ** 2, r["C"], r["c"])
        lines.append(f"| {r['side']} | {r['C']} | {r['c']} | {r['extra'] / 2**20:.0f} | {model / 2**20:.0f} |")
    return "\n".join(lines)


# ==================================================================================================
# The doc section
# ==================================================================================================
def write_doc(section: str, start: str = START, end: str = END) -> None:
    """Replace the text between ``start`` and ``end`` in docs/benchmarks.md (append the block if absent)."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{section.rstrip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


# ==================================================================================================
# Quality: tiled vs untiled on the real crop
# ==================================================================================================
def quality(args: argparse.Namespace) -> str:
    """Tiled vs untiled fusion of the Pavia crop with the same schedule; returns the doc section."""
    import matplotlib

    matplotlib.use("Agg")
    import dataclasses

    import matplotlib.pyplot as plt
    import torch

    from pfs2c2 import FusionConfig, RunOptions, StageConfig, evaluate, fuse, simulate
    from pfs2c2.sensors import band_support, load_srf
    from pfs2c2.tiling import fuse_tiled

    torch.set_num_threads(args.threads or torch.get_num_threads())
    reference, wl = crop_spectra()
    srf = load_srf(
        str(DATA / "srf/sensors/IKONOS2_rsr.csv"), hsi_wavelengths_nm=wl, bands=["blue", "green", "red", "nir"]
    )
    sim = simulate(reference, RATIO, srf)
    reference = sim.reference
    cfg = FusionConfig.preset_config(args.preset)
    run = RunOptions(threads=args.threads or None)
    if args.quality_schedule:
        its = [int(v) for v in args.quality_schedule.split(",")]
        stages = {f"stage{i + 1}": StageConfig(n, getattr(cfg, f"stage{i + 1}").lr, n // 2) for i, n in enumerate(its)}
        cfg = dataclasses.replace(cfg, **stages)
    rows, maps = [], {}
    for mode, kw in (
        ("blind", {"srf_support": band_support(srf)}),
        ("known PSF+SRF", {"psf": sim.psf, "srf": sim.srf}),
    ):
        t = time.perf_counter()
        untiled = fuse(sim.lr_hsi, sim.hr_msi, config=cfg, run=run, **kw)
        t_untiled = time.perf_counter() - t
        for tile, overlap in ((12, 6), (16, 8)):
            t = time.perf_counter()
            tiled = fuse_tiled(
                sim.lr_hsi,
                sim.hr_msi,
                config=cfg,
                run=RunOptions(threads=run.threads),
                tile_size=tile,
                overlap=overlap,
                **kw,
            )
            t_tiled = time.perf_counter() - t
            a, b = evaluate(untiled.fused, reference, RATIO), evaluate(tiled.fused, reference, RATIO)
            cover = np.zeros(tiled.plan.hr_shape, int)
            for tl in tiled.plan.tiles:
                kr, kc, kh, kw_ = tl.keep
                cover[kr : kr + kh, kc : kc + kw_] += 1
            seams = cover > 1
            err_t, err_u = np.abs(tiled.fused - reference).mean(0), np.abs(untiled.fused - reference).mean(0)
            ratio_t, ratio_u = err_t[seams].mean() / err_t[~seams].mean(), err_u[seams].mean() / err_u[~seams].mean()
            rows.append(
                {
                    "mode": mode,
                    "tile": tile,
                    "overlap": overlap,
                    "tiles": len(tiled.plan.tiles),
                    "untiled": a,
                    "tiled": b,
                    "t_untiled": t_untiled,
                    "t_tiled": t_tiled,
                    "seam_t": ratio_t,
                    "seam_u": ratio_u,
                    "maxdiff": float(np.abs(tiled.fused - untiled.fused).max() / reference.max()),
                }
            )
            print(
                f"{mode} tile {tile}: untiled {a['psnr']:.2f} dB / tiled {b['psnr']:.2f} dB; seam ratio {ratio_t:.3f} vs {ratio_u:.3f}",
                flush=True,
            )
            if mode == "blind" and tile == 12:
                maps = {
                    "untiled": err_u,
                    "tiled": err_t,
                    "diff": np.abs(tiled.fused - untiled.fused).mean(0),
                    "plan": tiled.plan,
                }
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), constrained_layout=True)
    vmax = float(np.percentile(np.concatenate([maps["untiled"].ravel(), maps["tiled"].ravel()]), 99))
    for ax, key, title in zip(
        axes,
        ("untiled", "tiled", "diff"),
        ("|untiled - reference|", "|tiled - reference| (16 tiles)", "|tiled - untiled|"),
    ):
        im = ax.imshow(maps[key], cmap="magma", vmin=0, vmax=vmax if key != "diff" else None)
        for tl in maps["plan"].tiles:  # dashed: where each tile's weight starts / ends (the blend zones lie between)
            kr, kc, kh, kw_ = tl.keep
            ax.add_patch(plt.Rectangle((kc - 0.5, kr - 0.5), kw_, kh, fill=False, ls="--", lw=0.6, color="cyan"))
        ax.set_title(title + ", mean over bands")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8)
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110)
    plt.close(fig)
    lines = [
        "## Tiled vs untiled fusion on a real crop",
        "",
        f"Command: `python benchmarks/large_scene.py {' '.join(sys.argv[1:])}`  ",
        f"Machine: {machine()}.",
        "",
        f"ROSIS Pavia beach-4 100x100x102 (Wald protocol, ratio {RATIO}, IKONOS B/G/R/NIR), preset `{args.preset}`"
        + (f" with stage iterations {args.quality_schedule}" if args.quality_schedule else "")
        + ", the same configuration for both. Tiled: `fuse_tiled` with tiles of 12 or 16 LR pixels (48 or 64 HR, a fifth to "
        "a third of the scene side) and overlaps of 6 or 8 LR pixels (margin 2 + blend 2 or 4); blind runs learn the "
        "PSF and SRF once on 3 tiles (stage 2 only). Seam ratio = mean error in the overlap zones (pixels two or four "
        "tiles blend) / mean error elsewhere; seams would make the tiled ratio larger than the untiled one. "
        "Max diff = largest |tiled - untiled| over the cube, relative to the reference maximum. "
        "Error maps (blind, 16 tiles): [tiling_seams.png](tiling_seams.png).",
        "",
        "| operators | tile / overlap (LR px) | tiles | PSNR untiled | PSNR tiled | SAM untiled | SAM tiled | ERGAS untiled | ERGAS tiled "
        "| seam ratio untiled | seam ratio tiled | max diff | time untiled (s) | time tiled (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a, b = r["untiled"], r["tiled"]
        lines.append(
            f"| {r['mode']} | {r['tile']} / {r['overlap']} | {r['tiles']} | {a['psnr']:.2f} | {b['psnr']:.2f} | {a['sam']:.2f} | "
            f"{b['sam']:.2f} | {a['ergas']:.2f} | {b['ergas']:.2f} | {r['seam_u']:.3f} | {r['seam_t']:.3f} | {r['maxdiff']:.3f} | "
            f"{r['t_untiled']:.0f} | {r['t_tiled']:.0f} |"
        )
    return "\n".join(lines)


def machine() -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"torch {torch.__version__}, Python {platform.python_version()}; run {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=int, default=2048, help="HR side of the main scene (>= 2048 for the issue's figure)."
    )
    parser.add_argument(
        "--tiles", type=int, nargs="+", default=[64, 128], help="Tile sides (LR pixels) to compare on the main scene."
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[0, 2], help="0 = in-process, N = Dask LocalCluster of N workers."
    )
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[512, 1024, 2048], help="HR sides for the scaling runs (in-process)."
    )
    parser.add_argument("--scaling-tile", type=int, default=64, help="Tile side (LR pixels) of the scaling runs.")
    parser.add_argument(
        "--budget", default="4GB", help="Memory budget the peaks are checked against (and shown with --max-memory)."
    )
    parser.add_argument("--preset", default="fast", choices=["default", "fast", "faithful"])
    parser.add_argument(
        "--schedule", default="10,50,20", help="Iterations of stages 1,2,3 overriding the preset ('' = the preset's)."
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="Torch threads per task (0 = torch's default in-process, CPUs/workers on Dask).",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pfs2c2-large-scene",
        help="Folder for inputs and outputs.",
    )
    parser.add_argument("--calibrate", action="store_true", help="Only measure the memory model of one tile task.")
    parser.add_argument(
        "--quality", action="store_true", help="Only compare tiled and untiled fusion on the real Pavia crop."
    )
    parser.add_argument("--quality-schedule", default="", help="Stage iterations for --quality ('' = the preset's).")
    parser.add_argument("--no-doc", action="store_true", help="Print the table only.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/large_scene.py " + " ".join(sys.argv[1:])

    if args.quality:
        section = quality(args)
        print(section)
        if not args.no_doc:
            write_doc(section, QSTART, QEND)
        return
    if args.calibrate:
        rows = calibrate(args.work)
        print(calibration_table(rows))
        (args.work / "calibration.json").write_text(json.dumps(rows, indent=1))
        return

    from pfs2c2.tiling import choose_tile_size, default_overlap, estimate_run_memory, format_bytes, parse_memory

    budget = parse_memory(args.budget)
    config = schedule_config(args, args.work)
    # every finished run is kept in runs.json under a key of its settings, so an interrupted benchmark
    # resumes where it stopped (delete the file, or use another --work, to measure again)
    cache_file = args.work / "runs.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    runs: list[dict] = []

    def run(size: int, tile: int | None, workers: int, kind: str) -> None:
        key = json.dumps(
            [size, tile if tile is not None else args.budget, workers, args.preset, args.schedule, args.threads]
        )
        if key in cache:
            runs.append({**cache[key], "kind": kind})
            print(f"{kind:8s} {size}^2: tile {tile}, workers {workers}: cached in {cache_file}", flush=True)
            return
        lr, hr, info = build_scene(size, args.work / f"scene_{size}")
        out = args.work / f"fused_{size}_{tile}_{workers}.tif"
        load0 = os.getloadavg()[0]
        seconds, peak, procs, err = measure(fuse_command(lr, hr, out, tile, workers, args, config))
        load = (load0 + os.getloadavg()[0]) / 2
        tiling = json.loads((args.work / "run.json").read_text())["tiling"]
        tile = tiling["tile_size_lr"]
        n_tiles = tiling["tiles"]
        per_tile = float(np.mean([t["seconds"] for t in tiling["per_tile"]]))
        est = estimate_run_memory(min(tile, size // RATIO) ** 2 * RATIO**2, info["bands"], 4, workers)
        row = {
            "kind": kind,
            "size": size,
            "bands": info["bands"],
            "tile": tile,
            "workers": workers,
            "tiles": n_tiles,
            "seconds": seconds,
            "peak": peak,
            "procs": procs,
            "estimate": est,
            "out_bytes": out.stat().st_size,
            "load": load,
            "per_tile": per_tile,
        }
        runs.append(row)
        cache[key] = row
        cache_file.write_text(json.dumps(cache, indent=1))
        print(
            f"{kind:8s} {size}^2 x {info['bands']}: tile {tile} LR ({n_tiles} tiles), workers {workers}: {seconds:7.1f} s, "
            f"peak {format_bytes(peak)} (model {format_bytes(est)}), {procs} processes, load {load:.1f}",
            flush=True,
        )
        out.unlink()

    for tile in args.tiles:
        for workers in args.workers:
            run(args.size, tile, workers, "tiles")
    for workers in args.workers:
        run(args.size, None, workers, f"--max-memory {args.budget}")
    for size in args.sizes:
        run(size, args.scaling_tile, 0, "scaling")
    chosen = {
        w: choose_tile_size(
            budget, (args.size // RATIO,) * 2, RATIO, 102, 4, workers=w, overlap=default_overlap(RATIO, RATIO)
        )
        for w in sorted(set(args.workers))
    }
    print(render(args, command, runs, budget, chosen))


def render(args: argparse.Namespace, command: str, runs: list[dict], budget: int, chosen: dict[int, int]) -> str:
    """The doc section of the large-scene runs (written to docs/benchmarks.md unless --no-doc)."""
    from pfs2c2.tiling import format_bytes

    lines = [
        "## Large scenes: tiled fusion, time and memory",
        "",
        f"Command: `{command.strip()}`  ",
        f"Machine: {machine()}.",
        "",
        f"Scene: a mosaic of randomly flipped/transposed copies of the real ROSIS Pavia beach-4 crop (102 bands), "
        f"Wald-protocol degraded by {RATIO} (Gaussian PSF, IKONOS B/G/R/NIR SRF) into georeferenced GeoTIFFs; blind fusion "
        f"(PSF and SRF learned once on 3 tiles, then every tile non-blind), output GeoTIFF written block by block. "
        f"Preset `{args.preset}`"
        + (
            f" with stage iterations {args.schedule} (memory does not depend on them; time grows linearly with them)"
            if args.schedule
            else ""
        )
        + ", "
        + (
            f"{args.threads} torch thread(s) per task (on this shared 2-core machine two-thread torch slows down several-fold "
            "whenever another job takes a core). "
            if args.threads
            else "torch's default threads. "
        )
        + "'load' is the machine's 1-minute load average around the run: this run's own processes (1, or 2 with 2 workers) "
        "plus other users' jobs. 's per tile' is the mean wall time of one tile task (read + train + return). "
        "Peak = largest sum of the resident set sizes of the `pfs2c2 fuse` process "
        f"and all its children (Dask workers included), sampled every 0.1 s; budget {args.budget} = {format_bytes(budget)}. "
        "Model = `pfs2c2.tiling.estimate_run_memory`.",
        "",
        "| run | HR scene | bands | tile (LR px) | tiles | workers | wall time (s) | s per tile | s per HR Mpx | peak memory | model | under budget | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['kind']} | {r['size']}x{r['size']} | {r['bands']} | {r['tile']} | {r['tiles']} | "
            f"{r['workers'] or 'in-process'} | {r['seconds']:.0f} | {r.get('per_tile', float('nan')):.1f} | "
            f"{r['seconds'] / (r['size'] ** 2 / 1e6):.0f} | "
            f"{format_bytes(r['peak'])} | {format_bytes(r['estimate'])} | {'yes' if r['peak'] <= budget else 'NO'} | {r['load']:.1f} |"
        )
    pairs = [
        (a, b)
        for a in runs
        for b in runs
        if a["kind"] == b["kind"] == "tiles" and a["tile"] == b["tile"] and a["workers"] == 0 and b["workers"] > 1
    ]
    if pairs:
        lines += [
            "",
            "Workers: "
            + "; ".join(
                f"tile {a['tile']}: {b['workers']} workers take {b['seconds'] / a['seconds']:.2f}x the in-process time "
                f"({a['per_tile']:.1f} s per tile alone, {b['per_tile']:.1f} s each when {b['workers']} train at once)"
                for a, b in pairs
            )
            + ". Tiles are independent, so the time divides by the workers as long as each has a free core and its own "
            "memory bandwidth; on this 2-vCPU virtual machine, shared with other users, two tiles training at once slow "
            "each other down (shared memory bandwidth and cache, other jobs taking part of a core), which eats most of "
            "the gain. Each worker adds a process (~0.4 GiB) and a task to the memory, as the model says.",
        ]
    scaling = sorted((r for r in runs if r["kind"] == "scaling"), key=lambda r: r["size"])
    if len(scaling) >= 2:
        a, b = scaling[0], scaling[-1]
        pixels = (b["size"] / a["size"]) ** 2
        lines += [
            "",
            f"Growth with scene size (tile {a['tile']} LR px, in-process): from {a['size']}^2 to {b['size']}^2 HR pixels "
            f"({pixels:.0f}x the pixels, {b['tiles'] / max(1, a['tiles']):.1f}x the tiles) the wall time grows "
            f"{b['seconds'] / a['seconds']:.1f}x (it follows the number of tiles: each tile costs the same) while the peak "
            f"memory goes from {format_bytes(a['peak'])} to {format_bytes(b['peak'])}: it depends on the tile, not on the "
            "scene (the output is assembled and written in 256x256 blocks).",
        ]
    lines += [
        "",
        "Tile size `--max-memory "
        + args.budget
        + "` picks for this scene: "
        + ", ".join(f"{t} LR px ({'in-process' if w == 0 else f'{w} workers'})" for w, t in chosen.items())
        + ".",
    ]
    calibration = args.work / "calibration.json"
    if calibration.exists():
        lines += [
            "",
            "Memory model (`pfs2c2.tiling.estimate_task_memory`) against the peaks of single blind tile tasks measured by "
            "`python benchmarks/large_scene.py --calibrate` (fresh process per size, 1 thread):",
            "",
            calibration_table(json.loads(calibration.read_text())),
        ]
    section = "\n".join(lines)
    if not args.no_doc:
        write_doc(section)
    return section


if __name__ == "__main__":
    main()
