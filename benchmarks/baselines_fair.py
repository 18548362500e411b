"""Fair baselines (issue 14 item 4): the oracle, a PSF estimated from the data, local maps.

Run from the repository root (../shared/data beside it), well under a minute on one core:

    OMP_NUM_THREADS=1 python benchmarks/baselines_fair.py
    OMP_NUM_THREADS=1 python benchmarks/baselines_fair.py --presets default --cases "r4 shift 1 px"   # + pfs2c2, blind

Cases: the Pavia crop (100 x 100, 96 x 96 at ratio 8), IKONOS B/G/R/NIR, noise-free, ratio 4 and 8,
built with ``pfs2c2.simulation.simulate``. PSFs: the centred Gaussian of the paper's protocol
(``gaussian_psf(r)``, FWHM = r, r x r), and the same Gaussian shifted by one HR pixel down and right on
a ``default_psf_size(r)`` kernel (8 at ratio 4, 16 at ratio 8). Columns (PSNR dB, ``pfs2c2.metrics``):

* ``lr``: ``linear_regression`` blind (Gaussian guess);
* ``oracle``: ``linear_regression`` given the true PSF;
* ``lr_est``: ``lr_est_psf`` blind (PSF estimated by ``estimate_psf``); ``psf_err``: that estimate's
  max-abs error against the truth (the Gaussian guess's in brackets);
* ``local``: ``local_linear_regression`` with the Gaussian guess (``psf_estimate=False``); ``local_est``:
  blind with the estimated PSF (the default);
* ``hysure_old``: ``hysure`` blind with the Gaussian guess (``psf_estimate=False``); ``hysure_new``:
  blind with the estimated PSF (the new default).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from pfs2c2 import FusionConfig, fuse
from pfs2c2.baselines import (
    default_psf_size,
    estimate_psf,
    hysure,
    linear_regression,
    local_linear_regression,
    lr_est_psf,
)
from pfs2c2.benchmark import load_reference, sensor_srf
from pfs2c2.metrics import psnr
from pfs2c2.physics import gaussian_psf
from pfs2c2.simulation import simulate

DATA = Path("../shared/data")


def shifted_gaussian(ratio: int, shift: float = 1.0) -> np.ndarray:
    """Gaussian of FWHM = ratio on a ``default_psf_size(ratio)`` kernel, centre moved by ``shift`` HR
    pixels along both axes."""
    size = default_psf_size(ratio)
    o = np.arange(size) - (size - 1) / 2.0 - shift
    sigma = ratio / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    g = np.exp(-(o[:, None] ** 2 + o[None] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets", nargs="*", default=[], help="also run these pfs2c2 presets, blind (minutes a case)"
    )
    parser.add_argument(
        "--cases", nargs="*", default=None, help="case names to run, e.g. 'r4 shift 1 px' (default all)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    reference, wavelengths, _ = load_reference("pavia", DATA)
    srf, _ = sensor_srf("ikonos", wavelengths, DATA)
    columns = ["lr", "oracle", "lr_est", "local", "local_est", "hysure_old", "hysure_new", *args.presets]
    print(f"| case | {' | '.join(columns)} | psf_err (guess) |")
    print("|---" * (len(columns) + 2) + "|")
    rows = []
    start = time.perf_counter()
    for ratio in (4, 8):
        size = (reference.shape[1] // ratio) * ratio
        for name, psf in (("centred", gaussian_psf(ratio)), ("shift 1 px", shifted_gaussian(ratio))):
            if args.cases is not None and f"r{ratio} {name}" not in args.cases:
                continue
            sim = simulate(reference[:, :size, :size], ratio, srf, psf=psf)
            lr, ms, truth = sim.lr_hsi, sim.hr_msi, sim.reference
            est = estimate_psf(lr, ms, ratio)
            pad = (est.shape[0] - psf.shape[0]) // 2
            true_padded = np.pad(sim.psf, pad)
            guess = np.pad(gaussian_psf(ratio), (est.shape[0] - ratio) // 2)
            scores = [
                psnr(linear_regression(lr, ms), truth),
                psnr(linear_regression(lr, ms, psf=sim.psf), truth),
                psnr(lr_est_psf(lr, ms), truth),
                psnr(local_linear_regression(lr, ms, psf_estimate=False), truth),
                psnr(local_linear_regression(lr, ms), truth),
                psnr(hysure(lr, ms, psf_estimate=False), truth),
                psnr(hysure(lr, ms), truth),
            ]
            for preset in args.presets:
                fused = fuse(lr, ms, ratio=ratio, config=FusionConfig.preset_config(preset)).fused
                scores.append(psnr(fused, truth))
            rows.append(scores)
            err, guess_err = np.abs(est - true_padded).max(), np.abs(guess - true_padded).max()
            cells = " | ".join(f"{s:.2f}" for s in scores)
            print(f"| r{ratio} {name} | {cells} | {err:.4f} ({guess_err:.4f}) |", flush=True)
    means = " | ".join(f"{s:.2f}" for s in np.mean(rows, 0))
    print(f"| mean | {means} | |")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
