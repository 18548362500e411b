"""The ``faithful`` preset against the authors' published code on the GUIDE section 6 case.

The case is ``pavia/ikonos/4`` of :mod:`pfs2c2.benchmark`: ROSIS Pavia beach-4 (min-max to [0, 1]),
ratio 4, IKONOS blue/green/red/nir sampled at 102 bands over 430-860 nm (support >= 5 % of peak),
Gaussian PSF with FWHM = ratio, fused blind (SRF support given). The authors' code gives 45.60 dB,
SAM 10.14 deg, ERGAS 3.55 there (GUIDE section 6, 43 min).

Run from the repository root (../shared/data beside it), one thread, about an hour a run on a loaded
two-core machine:

    OMP_NUM_THREADS=1 python benchmarks/faithful_fidelity.py                  # decay "authors" (the preset)
    OMP_NUM_THREADS=1 python benchmarks/faithful_fidelity.py --decay authors linear   # and the true decay
    python benchmarks/faithful_fidelity.py --scale 0.01                       # a smoke run of 1 % the iterations

It prints one row per schedule beside the authors' numbers; nothing is written to the docs.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from pfs2c2 import FusionConfig, RunOptions, fuse
from pfs2c2.benchmark import Case, make_problem
from pfs2c2.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CASE = "pavia/ikonos/4"

#: The authors' code on this case (GUIDE section 6): PSNR dB, SAM deg, ERGAS, minutes.
AUTHORS = {"psnr": 45.60, "sam": 10.14, "ergas": 3.55, "minutes": 43.0}


def faithful(decay: str, seed: int, scale: float) -> FusionConfig:
    """The faithful preset with every stage's ``decay`` set, its iterations times ``scale``."""
    cfg = FusionConfig.preset_config("faithful")
    stages = {}
    for name in ("stage1", "stage2", "stage3"):
        stage = getattr(cfg, name)
        n = max(1, round(stage.iterations * scale))
        stages[name] = dataclasses.replace(
            stage, iterations=n, decay_start=min(n, round(stage.decay_start * scale)), decay=decay
        )
    return dataclasses.replace(cfg, seed=seed, **stages)


def progress(stage: int, iteration: int, total: int, loss: float) -> None:
    # the callback comes every total // 200 iterations, counted from 1 (1, 101, 201, ... and the last)
    if (iteration - 1) % 5000 == 0 or iteration == total:
        print(f"  {time.strftime('%H:%M:%S')} stage {stage} {iteration}/{total} loss {loss:.5f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decay", nargs="+", default=["authors"], choices=["authors", "linear"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the preset's iterations (smoke runs)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()

    problem = make_problem(Case.parse(CASE), args.data)
    print(f"{CASE}: {problem.description}", flush=True)
    rows = []
    for decay in args.decay:
        cfg = faithful(decay, args.seed, args.scale)
        print(f"faithful, decay={decay}, seed {args.seed}, iterations x{args.scale:g}", flush=True)
        start = time.perf_counter()
        result = fuse(
            problem.lr_hsi,
            problem.hr_msi,
            ratio=problem.case.ratio,
            srf_support=problem.srf_support,
            config=cfg,
            run=RunOptions(device="cpu", threads=args.threads, callback=progress),
        )
        seconds = time.perf_counter() - start
        scores = evaluate(result.fused, problem.reference, problem.case.ratio)
        psf_err = float(np.abs(result.psf - problem.true_psf).max()) if problem.true_psf is not None else float("nan")
        rows.append((f"faithful, decay={decay}", scores, seconds / 60, psf_err))
        print(f"  done: PSNR {scores['psnr']:.2f} SAM {scores['sam']:.2f} ERGAS {scores['ergas']:.2f}", flush=True)

    print("\n| run | PSNR | SAM (deg) | ERGAS | minutes | PSF max err |\n|---|---|---|---|---|---|")
    a = AUTHORS
    print(
        f"| authors' code (GUIDE section 6) | {a['psnr']:.2f} | {a['sam']:.2f} | {a['ergas']:.2f} | {a['minutes']:.0f} | |"
    )
    for name, s, minutes, psf_err in rows:
        print(
            f"| {name}, seed {args.seed} | {s['psnr']:.2f} | {s['sam']:.2f} | {s['ergas']:.2f} | {minutes:.1f} | {psf_err:.4f} |"
        )


if __name__ == "__main__":
    main()
