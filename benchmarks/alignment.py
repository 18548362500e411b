"""Which image to resample, and how, when the HSI and MSI grids do not nest (``pfs2c2.alignment``).

Run from the repository root (../shared/data beside it), about 12 minutes on 2 cores:

    OMP_NUM_THREADS=1 python benchmarks/alignment.py              # table printed and written to docs/benchmarks.md
    OMP_NUM_THREADS=1 python benchmarks/alignment.py --scenes pavia --methods average --no-doc   # a quick look

Simulation. A real cube of ../shared/data is the ground truth T, piecewise constant on a 5 m grid
(EPSG:32632, near the east edge of UTM zone 32, lat 45 N). Both sensors integrate the same ground:

* MSI (10 m, the output grid): the 2 x 2 average of T, projected with the sensor's SRF;
* HSI (40 m, ratio 4): every LR pixel is the Gaussian-weighted mean (FWHM = 40 m, support = the pixel,
  as in the Wald protocol of ``pfs2c2.simulate``) of T over its footprint, fractional overlaps included,
  so an HSI grid can sit anywhere on the ground without interpolating the truth;
* cases: "aligned" (the HSI grid nests: the target); "shift A": the HSI grid moved by (0.125, 0.125) LR
  pixel = half an MSI pixel (the worst phase for resampling); "shift B": by (0.3, 0.7) LR pixel
  = (1.2, 2.8) MSI pixels. (Shifts of 0.25 or 0.5 LR pixel are whole MSI pixels at ratio 4 and nest
  already.) "UTM 33": the HSI on a north-up 40 m grid of the neighbouring zone EPSG:32633 (rotated
  by about 2.5 deg against the MSI grid); T is carried into zone 33 with ``rasterio.warp.reproject``
  (nearest at 2.5 m, which keeps it piecewise constant) before integrating.

Every case is aligned with each choice (resample the HSI onto blocks of the MSI grid, or the MSI onto
the HSI grid split 4 x 4) and kernel (``guided``: bilinear corrected with the MSI, HSI only), fused with ``pfs2c2.fuse`` (preset ``fast``, one thread, seed 0,
masks from the alignment) and scored with ``pfs2c2.metrics.evaluate`` against T averaged over the
output grid's own 10 m pixels (exact for either grid), on the pixels valid in both aligned images.
"aligned pair" is the nesting pair's fused cube scored over the same MSI pixels as the resample-HSI
output; "ignored" fuses the shifted HSI as if it nested (what a user gets without alignment).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from pfs2c2 import FusionConfig, RunOptions, fuse
from pfs2c2.alignment import METHODS, align_pair
from pfs2c2.benchmark import load_reference, sensor_srf, update_doc
from pfs2c2.io import RasterMeta
from pfs2c2.metrics import evaluate
from pfs2c2.sensors import band_support

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RATIO = 4
FINE = 5.0  # truth pixel (m)
MSI_PX = 10.0
LR_PX = MSI_PX * RATIO
X0, Y0 = 700000.0, 5000000.0  # upper-left corner of the truth / MSI grid in EPSG:32632
CRS, NEIGHBOUR = "EPSG:32632", "EPSG:32633"
SHIFTS = {"shift A": (0.125, 0.125), "shift B": (0.3, 0.7)}  # in LR pixels (x, y)
SCENES = {"pavia": "ikonos", "cave": "nikon"}
CONFIG = [FusionConfig.preset_config("fast")]  # set in main() (--preset, --psf-size)
RESAMPLES = ["hsi", "msi"]  # set in main() (--resample)


# ==================================================================================================
# Simulation
# ==================================================================================================
def truth(scene: str) -> tuple[np.ndarray, np.ndarray, str]:
    """``(C, N, N)`` truth on the 5 m grid, the SRF ``(C, c)`` and a description."""
    import scipy.io

    if scene == "cave":  # a 192 x 192 crop of the 256 x 256 field of view (the benchmark's 128 is small here)
        x = scipy.io.loadmat(DATA / "hsi/cave_chart_and_stuffed_toy_ms_256.mat")["NRD"].astype(np.float32) / 65535
        x, wl, desc = x[32:224, 32:224].transpose(2, 0, 1).copy(), np.arange(400, 701, 10.0), "CAVE 192x192x31 crop"
    else:
        x, wl, desc = load_reference(scene, DATA)
    n = x.shape[1] // (2 * RATIO) * 2 * RATIO
    srf, bands = sensor_srf(SCENES[scene], wl, DATA)
    return x[:, :n, :n].astype(np.float64), srf, f"{desc} ({n}x{n} at 5 m), {bands}"


def weights(edges0: float, step: float, count: int, fine0: float, fine: float, nfine: int, gauss: bool) -> np.ndarray:
    """``(count, nfine)`` weights of fine pixels in output pixels ``[edges0 + k step, +step)``: the overlap
    length, times a Gaussian (FWHM = step) at the pixel centre when ``gauss``; rows sum to 1."""
    lo = edges0 + step * np.arange(count)[:, None]
    f_lo = fine0 + fine * np.arange(nfine)[None, :]
    overlap = np.clip(np.minimum(lo + step, f_lo + fine) - np.maximum(lo, f_lo), 0, None)
    if gauss:
        sigma = step / (2 * math.sqrt(2 * math.log(2)))
        overlap = overlap * np.exp(-0.5 * ((f_lo + fine / 2 - lo - step / 2) / sigma) ** 2)
    return overlap / overlap.sum(axis=1, keepdims=True)


def integrate(
    t: np.ndarray,
    grid: tuple[float, float, float],
    shape: tuple[int, int],
    fine: tuple[float, float, float],
    gauss: bool,
) -> np.ndarray:
    """Integrate the truth ``t`` (fine grid ``(x0, y0, px)``) over output pixels of grid ``(x0, y0, px)``."""
    gx, gy, step = grid
    fx, fy, fp = fine
    wx = weights(gx, step, shape[1], fx, fp, t.shape[2], gauss)
    wy = weights(-gy, step, shape[0], -fy, fp, t.shape[1], gauss)  # rows run south: flip the y axis
    out = wy @ np.nan_to_num(t) @ wx.T
    touched = wy @ np.isnan(t[0]).astype(np.float64) @ wx.T
    out[:, touched > 0] = np.nan  # an output pixel over ground outside the truth
    return out


def simulate_case(t: np.ndarray, srf: np.ndarray, case: str) -> dict[str, object]:
    """The MSI (nested with T), the HSI of ``case`` and their metadata."""
    n_fine = t.shape[1]
    msi_shape = (n_fine // 2, n_fine // 2)
    ref = integrate(t, (X0, Y0, MSI_PX), msi_shape, (X0, Y0, FINE), gauss=False)
    msi = np.einsum("cyx,ck->kyx", ref, srf).astype(np.float32)
    msi_meta = RasterMeta(crs=CRS, transform=(MSI_PX, 0, X0, 0, -MSI_PX, Y0))
    out: dict[str, object] = {"msi": msi, "msi_meta": msi_meta, "ref": ref, "fine": (t, (X0, Y0, FINE), CRS)}
    if case == "UTM 33":
        from rasterio.warp import reproject, transform, transform_bounds

        b = transform_bounds(CRS, NEIGHBOUR, X0, Y0 - n_fine * FINE, X0 + n_fine * FINE, Y0)
        f33 = FINE / 2
        nx, ny = math.ceil((b[2] - b[0]) / f33), math.ceil((b[3] - b[1]) / f33)
        t33 = np.full((t.shape[0], ny, nx), np.nan)
        from affine import Affine

        reproject(
            t,
            t33,
            src_transform=Affine(FINE, 0, X0, 0, -FINE, Y0),
            src_crs=CRS,
            src_nodata=np.nan,
            dst_transform=Affine(f33, 0, b[0], 0, -f33, b[3]),
            dst_crs=NEIGHBOUR,
            dst_nodata=np.nan,
        )
        # the largest north-up zone-33 LR grid inside the rotated truth footprint (one LR pixel margin)
        xs, ys = transform(
            CRS,
            NEIGHBOUR,
            [X0, X0 + n_fine * FINE, X0, X0 + n_fine * FINE],
            [Y0, Y0, Y0 - n_fine * FINE, Y0 - n_fine * FINE],
        )
        left, right = max(xs[0], xs[2]) + LR_PX, min(xs[1], xs[3]) - LR_PX
        top, bottom = min(ys[0], ys[1]) - LR_PX, max(ys[2], ys[3]) + LR_PX
        hx, hy = math.floor(left) + 0.37, math.floor(top) - 0.61  # no particular phase
        shape = (int((hy - bottom) // LR_PX), int((right - hx) // LR_PX))
        hsi = integrate(t33, (hx, hy, LR_PX), shape, (b[0], b[3], f33), gauss=True)
        out.update(
            hsi=hsi.astype(np.float32),
            hsi_meta=RasterMeta(crs=NEIGHBOUR, transform=(LR_PX, 0, hx, 0, -LR_PX, hy)),
            fine=(t33, (b[0], b[3], f33), NEIGHBOUR),
        )
        return out
    sx, sy = SHIFTS.get(case, (0.0, 0.0))
    hx, hy = X0 + sx * LR_PX, Y0 - sy * LR_PX
    extent = n_fine * FINE
    shape = (int((extent - sy * LR_PX) // LR_PX), int((extent - sx * LR_PX) // LR_PX))
    hsi = integrate(t, (hx, hy, LR_PX), shape, (X0, Y0, FINE), gauss=True)
    out.update(hsi=hsi.astype(np.float32), hsi_meta=RasterMeta(crs=CRS, transform=(LR_PX, 0, hx, 0, -LR_PX, hy)))
    return out


def reference_on(sim: dict[str, object], meta: RasterMeta, shape: tuple[int, int]) -> np.ndarray:
    """T averaged over the 10 m pixels of an output grid (in the grid's CRS)."""
    t, fine, crs = sim["fine"]  # type: ignore[misc]
    assert meta.transform is not None and str(meta.crs) == crs, (meta.crs, crs)
    return integrate(t, (meta.transform[2], meta.transform[5], meta.transform[0]), shape, fine, gauss=False)


# ==================================================================================================
# Fuse and score
# ==================================================================================================
def fuse_score(hsi, msi, hsi_valid, msi_valid, srf, ref) -> tuple[float, float, float]:
    cfg = CONFIG[0]
    start = time.perf_counter()
    res = fuse(
        hsi,
        msi,
        ratio=RATIO,
        srf_support=band_support(srf),
        hsi_mask=hsi_valid,
        msi_mask=msi_valid,
        mask_nonfinite=True,
        config=cfg,
        run=RunOptions(device="cpu", threads=1),
    )
    fused = np.asarray(res.fused)
    mask = msi_valid & np.repeat(np.repeat(hsi_valid, RATIO, 0), RATIO, 1) & np.all(np.isfinite(ref), 0)
    mask &= np.all(np.isfinite(fused), 0)
    m = evaluate(fused, ref.astype(np.float32), RATIO, mask=mask)
    return m["psnr"], m["sam"], time.perf_counter() - start


def run_scene(scene: str, methods: list[str], log=print) -> tuple[str, list[dict[str, object]]]:
    t, srf, desc = truth(scene)
    rows: list[dict[str, object]] = []
    base = simulate_case(t, srf, "aligned")
    aligned = fuse(
        base["hsi"],
        base["msi"],
        ratio=RATIO,
        srf_support=band_support(srf),
        config=CONFIG[0],
        run=RunOptions(device="cpu", threads=1),
    )
    aligned_fused = np.asarray(aligned.fused)
    m = evaluate(aligned_fused, base["ref"].astype(np.float32), RATIO)
    rows.append({"scene": scene, "case": "aligned", "choice": "(nests)", "psnr": m["psnr"], "sam": m["sam"]})
    log(f"{scene} aligned: {m['psnr']:.2f} dB")
    for case in [*SHIFTS, "UTM 33"]:
        sim = simulate_case(t, srf, case)
        if case in SHIFTS:  # what ignoring the shift gives: the HSI taken as nested with the MSI origin
            h, w = sim["hsi"].shape[1:]
            ones = np.ones((h, w), bool)
            psnr, sam_, _ = fuse_score(
                sim["hsi"],
                sim["msi"][:, : h * RATIO, : w * RATIO],
                ones,
                np.ones((h * RATIO, w * RATIO), bool),
                srf,
                sim["ref"][:, : h * RATIO, : w * RATIO],
            )
            rows.append({"scene": scene, "case": case, "choice": "ignored", "psnr": psnr, "sam": sam_})
        for resample in RESAMPLES:
            for method in methods:
                if resample == "msi" and method == "guided":  # guided corrects the HSI only
                    continue
                pair = align_pair(
                    sim["hsi"], sim["hsi_meta"], sim["msi"], sim["msi_meta"], resample=resample, method=method
                )
                ref_meta = pair.msi_meta if resample == "hsi" else pair.msi_meta
                if resample == "hsi":
                    r0, c0, hh, ww = pair.record.msi_window
                    ref = sim["ref"][:, r0 : r0 + hh, c0 : c0 + ww]
                else:
                    ref = reference_on(sim, ref_meta, pair.msi.shape[1:])
                psnr, sam_, secs = fuse_score(pair.hsi, pair.msi, pair.hsi_valid, pair.msi_valid, srf, ref)
                row = {"scene": scene, "case": case, "choice": f"{resample} {method}", "psnr": psnr, "sam": sam_}
                if resample == "hsi":  # the target over the same MSI pixels
                    mask = pair.msi_valid & np.repeat(np.repeat(pair.hsi_valid, RATIO, 0), RATIO, 1)
                    a = aligned_fused[:, r0 : r0 + hh, c0 : c0 + ww]
                    row["target"] = evaluate(a, ref.astype(np.float32), RATIO, mask=mask)["psnr"]
                rows.append(row)
                log(f"{scene} {case} {resample} {method}: {psnr:.2f} dB, SAM {sam_:.2f} ({secs:.0f} s)")
    return desc, rows


def to_markdown(descs: list[str], rows: list[dict[str, object]], methods: list[str], minutes: float) -> str:
    scenes = list(dict.fromkeys(r["scene"] for r in rows))
    cases = [*SHIFTS, "UTM 33"]
    lines = []
    for scene in scenes:
        sr = [r for r in rows if r["scene"] == scene]
        al = next(r for r in sr if r["case"] == "aligned")
        lines += [f"**{scene}** (aligned pair, whole scene: {al['psnr']:.2f} dB, SAM {al['sam']:.2f} deg)", ""]
        lines += ["PSNR dB / SAM deg (PSNR - the aligned pair's PSNR on the same pixels):", ""]
        lines += ["| choice | " + " | ".join(cases) + " | mean PSNR | mean SAM |", "|---" * (len(cases) + 3) + "|"]
        choices = [f"{r} {m}" for r in RESAMPLES for m in methods if (r, m) != ("msi", "guided")]
        for choice in ["ignored", *choices]:
            cells, ps, ss = [], [], []
            for case in cases:
                r = next((r for r in sr if r["case"] == case and r["choice"] == choice), None)
                gap = "" if r is None or "target" not in r else f" ({r['psnr'] - r['target']:+.2f})"
                cells.append("-" if r is None else f"{r['psnr']:.2f} / {r['sam']:.2f}{gap}")
                if r is not None:
                    ps.append(r["psnr"])
                    ss.append(r["sam"])
            mean = f"{np.mean(ps):.2f} | {np.mean(ss):.2f}" if ps else "- | -"
            lines.append(f"| {choice} | " + " | ".join(cells) + f" | {mean} |")
        lines.append("")
    # means over scenes and cases per choice, and the gap to the target
    lines += [
        "Means over all scenes and cases (PSNR dB / SAM deg; gap = PSNR - aligned-pair target on the same pixels, resample-HSI only):",
        "",
    ]
    lines += ["| choice | mean PSNR | mean SAM | mean gap to target |", "|---|---|---|---|"]
    for choice in [f"{r} {m}" for r in RESAMPLES for m in methods if (r, m) != ("msi", "guided")]:
        rr = [r for r in rows if r["choice"] == choice]
        gap = [r["psnr"] - r["target"] for r in rr if "target" in r]
        g = f"{np.mean(gap):+.2f}" if gap else "-"
        lines.append(
            f"| {choice} | {np.mean([r['psnr'] for r in rr]):.2f} | {np.mean([r['sam'] for r in rr]):.2f} | {g} |"
        )
    lines.append("")
    lines.append(
        "Scenes: "
        + "; ".join(descs)
        + f". Fusion: preset {CONFIG[0].preset}, psf_size {CONFIG[0].psf_size}. Wall time {minutes:.1f} min."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=list(SCENES), choices=list(SCENES))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--preset", default="fast", choices=["fast", "default"])
    parser.add_argument("--resample", nargs="+", default=["hsi", "msi"], choices=["hsi", "msi"])
    parser.add_argument(
        "--psf-size", type=int, default=RATIO + 2, help="PSF kernel the fusion learns (default ratio + 2)"
    )
    parser.add_argument("--from-json", type=Path, help="re-render a run's saved numbers into docs/benchmarks.md")
    args = parser.parse_args()
    if args.from_json:
        run = json.loads(args.from_json.read_text())
        RESAMPLES[:] = run["resample"]
        CONFIG[0] = dataclasses.replace(FusionConfig.preset_config(run["preset"]), psf_size=run["psf_size"])
        section = to_markdown(run["descs"], run["rows"], run["methods"], run["minutes"])
        update_doc(ROOT / "docs" / "benchmarks.md", run["key"], f"{run['title']}\n\n`{run['command']}`\n\n{section}\n")
        return
    CONFIG[0] = dataclasses.replace(FusionConfig.preset_config(args.preset), psf_size=args.psf_size)
    RESAMPLES[:] = args.resample
    start = time.perf_counter()
    descs, rows = [], []
    for scene in args.scenes:
        d, r = run_scene(scene, args.methods)
        descs.append(d)
        rows += r
    minutes = (time.perf_counter() - start) / 60
    section = to_markdown(descs, rows, args.methods, minutes)
    print(section)
    if not args.no_doc:
        name = f"{args.preset} psf{args.psf_size}"
        run = {
            "key": f"alignment {name}",
            "title": f"### Measured: preset {args.preset}, PSF size {args.psf_size}",
            "command": ("OMP_NUM_THREADS=1 python benchmarks/alignment.py " + " ".join(sys.argv[1:])).strip(),
            "descs": descs,
            "methods": args.methods,
            "resample": args.resample,
            "preset": args.preset,
            "psf_size": args.psf_size,
            "minutes": minutes,
            "rows": rows,
        }
        (ROOT / "docs" / f"benchmark_alignment_{name.replace(' ', '_')}.json").write_text(json.dumps(run, indent=1))
        update_doc(ROOT / "docs" / "benchmarks.md", run["key"], f"{run['title']}\n\n`{run['command']}`\n\n{section}\n")


if __name__ == "__main__":
    main()
