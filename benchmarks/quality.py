"""Quality and speed of PFS2C2 against baselines on real scenes of ../shared/data (Wald protocol).

Run from the repository root:

    python benchmarks/quality.py                        # default preset, 5 scenes, ~8 min on 2 cores
    python benchmarks/quality.py --presets default faithful --scenes pavia   # the authors' schedule (~45 min)

Every method runs in the same process on the same simulated inputs; the table is printed and written
to docs/benchmarks.md between markers (one section per preset list). Metrics follow pfs2c2.metrics.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.io
import torch

from pfs2c2 import FusionConfig, evaluate, fuse, simulate
from pfs2c2.baselines import bicubic_upsample, linear_regression_fusion
from pfs2c2.physics import blur_downsample, gaussian_psf
from pfs2c2.sensors import band_support, load_srf

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def _unit(cube: np.ndarray) -> np.ndarray:
    cube = cube.astype(np.float64)
    return ((cube - cube.min()) / (cube.max() - cube.min())).astype(np.float32)


def hyperion_wavelengths(bands_1based: np.ndarray) -> np.ndarray:
    """Approximate Hyperion band centres (nm) from 1-based band numbers (data README)."""
    b = bands_1based.astype(np.float64)
    return np.where(b <= 70, 355.59 + 10.1756 * (b - 1), 851.92 + 10.0907 * (b - 71))


def load_scene(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Reference (C, H, W) in [0, 1], its SRF (C, c) and a description."""
    if name == "pavia":
        x = _unit(scipy.io.loadmat(DATA / "hsi/abu-beach-4_pavia_rosis.mat")["data"]).transpose(2, 0, 1)
        wl = np.linspace(430, 860, x.shape[0])
        srf = load_srf(str(DATA / "srf/sensors/IKONOS2_rsr.csv"), wl, bands=["blue", "green", "red", "nir"])
        return x, srf, "ROSIS Pavia beach-4 100x100x102, IKONOS B/G/R/NIR"
    if name == "samson":
        x = _unit(np.load(DATA / "hsi/samson_95x95x156.npy")).transpose(2, 0, 1)
        wl = np.linspace(401, 889, x.shape[0])
        srf = load_srf("sentinel2a", wl, bands=["B2", "B3", "B4", "B5", "B6", "B7", "B8"])
        return x, srf, "SAMSON 92x92x156, Sentinel-2A B2-B8"
    if name == "aviris":
        d = scipy.io.loadmat(DATA / "hsi/aviris_90x90x224_gatorsense.mat")
        x = _unit(np.clip(d["hsi_img"], 0, None)).transpose(2, 0, 1)
        wl = d["wavelengths"].ravel().astype(np.float64)
        keep = x.max(axis=(1, 2)) > 0.01  # drop the dead water-absorption bands (all ~0)
        x, wl = x[keep], wl[keep]
        bands = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
        srf = load_srf("sentinel2a", wl, bands=bands)
        return x, srf, f"AVIRIS 88x88x{x.shape[0]} (366-2496 nm, dead bands dropped), Sentinel-2A 10 bands"
    if name == "cave":
        x = scipy.io.loadmat(DATA / "hsi/cave_chart_and_stuffed_toy_ms_256.mat")["NRD"].astype(np.float32) / 65535
        x = x[64:192, 64:192].transpose(2, 0, 1)
        srf = load_srf(str(DATA / "srf/hsi_grid/nikon_d700_cave31_31x3.csv"), np.arange(400, 701, 10.0))
        return x, srf, "CAVE chart_and_stuffed_toy 128x128x31 crop, Nikon D700 RGB"
    raise SystemExit(f"unknown scene {name}")


def paris_real_pair(ratio: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The real EO-1 pair over Paris: Hyperion HS (reference) and ALI MS on the same 30 m grid.

    As in HySure, the HS is degraded by ``ratio`` to make the LR-HSI; the MSI is the real ALI image,
    so the SRF and the radiometric gains are unknown. Returns (reference, lr_hsi, hr_msi, srf_support).
    """
    d = scipy.io.loadmat(DATA / "hsi/paris_hyperion_ali_hs_ms.mat")
    hs, ms = d["HSim"].astype(np.float32).transpose(2, 0, 1), d["MSim"].astype(np.float32).transpose(2, 0, 1)
    wl = hyperion_wavelengths(d["non_del_bands"].ravel())
    ali = ["MS1p", "MS1", "MS2", "MS3", "MS4", "MS4p", "MS5p", "MS5", "MS7"]
    support = load_srf(str(DATA / "srf/sensors/EO1_ALI_rsr.csv"), wl, bands=ali)
    lr = blur_downsample(hs, gaussian_psf(ratio), ratio)
    return hs, lr.astype(np.float32), ms, band_support(support)


def run_paris(rows: list, presets: list[str]) -> None:
    reference, lr, ms, support = paris_real_pair()
    description = "Paris EO-1 Hyperion 72x72x128 + real ALI MS (9 bands), ratio 3"
    runs = []
    for method, make in (("bicubic", lambda: bicubic_upsample(lr, 3)), ("linear regression + residual (Gaussian PSF guess)", lambda: linear_regression_fusion(lr, ms, 3))):
        t = time.perf_counter()
        fused = make()
        runs.append((method, fused, time.perf_counter() - t, ""))
    for preset in presets:
        blind = fuse(lr, ms, config=FusionConfig.preset_config(preset), srf_support=support)
        runs.append((f"PFS2C2 {preset}, blind PSF+SRF", blind.fused, blind.timings["total"], f"PSF err {np.abs(blind.psf - gaussian_psf(3)).max():.4f}"))
    for method, fused, seconds, note in runs:
        _record(rows, "paris", description, method, fused, reference, 3, seconds, note)


def _record(rows: list, scene: str, description: str, method: str, fused: np.ndarray, ref: np.ndarray, ratio: int, seconds: float, note: str) -> None:
    m = evaluate(fused, ref, ratio)
    rows.append((description, method, m["psnr"], m["sam"], m["ergas"], m["ssim"], seconds, note))
    print(f"{scene:8s} {method:50s} PSNR {m['psnr']:6.2f}  SAM {m['sam']:6.2f}  ERGAS {m['ergas']:6.2f}  SSIM {m['ssim']:.4f}  {seconds:7.1f} s  {note}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["pavia", "samson", "aviris", "cave", "paris"])
    parser.add_argument("--presets", nargs="+", default=["default"])
    parser.add_argument("--ratio", type=int, default=4)
    parser.add_argument("--blind-only", action="store_true", help="skip the non-blind runs (known PSF and SRF)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"shared data not found at {DATA}")

    rows = []
    for scene in args.scenes:
        if scene == "paris":
            run_paris(rows, args.presets)
            continue
        reference, srf, description = load_scene(scene)
        sim = simulate(reference, args.ratio, srf)
        ref = sim.reference
        runs: list[tuple[str, np.ndarray, float, str]] = []
        t = time.perf_counter()
        runs.append(("bicubic", bicubic_upsample(sim.lr_hsi, args.ratio), time.perf_counter() - t, ""))
        t = time.perf_counter()
        runs.append(("linear regression + residual (Gaussian PSF guess)", linear_regression_fusion(sim.lr_hsi, sim.hr_msi, args.ratio), time.perf_counter() - t, ""))
        for preset in args.presets:
            cfg = FusionConfig.preset_config(preset)
            blind = fuse(sim.lr_hsi, sim.hr_msi, config=cfg, srf_support=band_support(sim.srf))
            note = f"PSF err {np.abs(blind.psf - sim.psf).max():.4f}, SRF err {np.abs(blind.srf - sim.srf).max():.4f}"
            runs.append((f"PFS2C2 {preset}, blind PSF+SRF", blind.fused, blind.timings["total"], note))
            if not args.blind_only:
                known = fuse(sim.lr_hsi, sim.hr_msi, srf=sim.srf, psf=sim.psf, config=cfg)
                runs.append((f"PFS2C2 {preset}, known PSF+SRF", known.fused, known.timings["total"], ""))
        for method, fused, seconds, note in runs:
            _record(rows, scene, description, method, fused, ref, args.ratio, seconds, note)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, Python {platform.python_version()}"
    command = "python benchmarks/quality.py " + " ".join(sys.argv[1:])
    table = ["| scene | method | PSNR (dB) | SAM (deg) | ERGAS | SSIM | time (s) | notes |", "|---|---|---|---|---|---|---|---|"]
    table += [f"| {d} | {meth} | {p:.2f} | {s:.2f} | {e:.2f} | {q:.4f} | {t:.1f} | {n} |" for d, meth, p, s, e, q, t, n in rows]
    title = f"## Preset(s) {', '.join(args.presets)} on {len(args.scenes)} scene(s)" + (" (blind only)" if args.blind_only else "")
    section = "\n".join([title, "", f"Command: `{command.strip()}`  ", f"Machine: {machine}; run {time.strftime('%Y-%m-%d')}.", "", *table, ""])
    print(section)
    if not args.no_doc:
        key = "quality " + ",".join(args.presets) + (" blind" if args.blind_only else "")
        begin, end = f"<!-- BEGIN {key} -->", f"<!-- END {key} -->"
        text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
        block = f"{begin}\n{section}{end}"
        if begin in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)


if __name__ == "__main__":
    main()
