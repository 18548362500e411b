"""Learned PSF forms (``FusionConfig.psf_form``, ``psf_size``) on a centred and a shifted blur.

Run from the repository root (../shared/data beside it), one thread, a few minutes:

    OMP_NUM_THREADS=1 python benchmarks/psf_forms.py
    OMP_NUM_THREADS=1 python benchmarks/psf_forms.py --ratio 8 --size 128 --shifts 1 --residuals psf

A 64 x 64 crop of Pavia at ratio 4 (by default; even ratios only; IKONOS SRF, fused blind with the band support, preset "fast") is
simulated with the protocol's Gaussian (FWHM = r, point-sampled) on a 2r x 2r combined kernel, centred
or shifted one HR pixel down. Each configuration (free ``r x r`` kernel = today, free "auto" (2r x 2r),
Gaussian form "auto", and the Gaussian form with ``spa_up_from_psf``) is fused with the bicubic and
the "psf" residual step. Linear regression + residual given the exact PSF is the oracle row. Printed:
PSNR and SAM against the reference, and the max abs error of the learned PSF (zero-padded to 2r x 2r).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from pfs2c2 import FusionConfig, fuse, simulate
from pfs2c2.baselines import linear_regression
from pfs2c2.benchmark import load_reference, sensor_srf
from pfs2c2.metrics import evaluate
from pfs2c2.sensors import band_support

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CONFIGS: dict[str, dict[str, Any]] = {
    "free r x r": {"psf_size": None},
    "free auto": {"psf_size": "auto"},
    "gaussian auto": {"psf_size": "auto", "psf_form": "gaussian"},
    "gaussian auto + spa_up": {"psf_size": "auto", "psf_form": "gaussian", "spa_up_from_psf": True},
}


def point_gaussian(ratio: int, shift: float) -> np.ndarray:
    """The protocol's Gaussian (FWHM = ratio, point-sampled) on a ``2 ratio`` kernel, ``shift`` HR pixels down."""
    k = 2 * ratio
    sigma = ratio / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    u = np.arange(k) - (k - 1) / 2.0
    g = np.outer(np.exp(-((u - shift) ** 2) / (2 * sigma**2)), np.exp(-(u**2) / (2 * sigma**2)))
    return g / g.sum()


def psf_error(learned: np.ndarray, truth: np.ndarray) -> float:
    """Max abs difference, the smaller kernel zero-padded (centred) to the larger."""
    pad = (truth.shape[0] - learned.shape[0]) // 2
    return float(np.abs(np.pad(learned, pad) - truth).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratio", type=int, default=4)
    parser.add_argument("--size", type=int, default=64, help="side of the HR crop (pixels)")
    parser.add_argument("--shifts", type=float, nargs="+", default=[0.0, 1.0], help="HR pixels down")
    parser.add_argument("--residuals", nargs="+", default=["bicubic", "psf"], choices=["bicubic", "psf"])
    args = parser.parse_args()
    ratio = args.ratio
    reference, wavelengths, _ = load_reference("pavia", DATA)
    reference = reference[:, : args.size, : args.size]
    srf, _ = sensor_srf("ikonos", wavelengths, DATA)
    base = FusionConfig.preset_config("fast")
    print("| truth | configuration | residual | PSNR dB | SAM deg | PSF max err | s |")
    print("|---|---|---|---|---|---|---|")
    for shift in args.shifts:
        label = f"r {ratio}, shift {shift:g}"
        truth = point_gaussian(ratio, shift)
        sim = simulate(reference, ratio, srf, psf=truth, seed=0, psf_convention="combined")
        oracle = linear_regression(sim.lr_hsi, sim.hr_msi, ratio, psf=sim.psf)
        m = evaluate(oracle, sim.reference, ratio)
        print(
            f"| {label} | linear regression, exact PSF (oracle) | bicubic | {m['psnr']:.2f} | {m['sam']:.3f} | 0 | - |"
        )
        for name, fields in CONFIGS.items():
            for residual in args.residuals:
                if fields.get("spa_up_from_psf") and residual == "bicubic":
                    continue
                cfg = dataclasses.replace(base, residual_upsampling=residual, **fields)
                t0 = time.perf_counter()
                result = fuse(sim.lr_hsi, sim.hr_msi, srf_support=band_support(sim.srf), config=cfg)
                elapsed = time.perf_counter() - t0
                m = evaluate(result.fused, sim.reference, ratio)
                err = psf_error(result.psf, sim.psf)
                print(
                    f"| {label} | {name} | {residual} | {m['psnr']:.2f} | {m['sam']:.3f} | {err:.4f} | {elapsed:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
