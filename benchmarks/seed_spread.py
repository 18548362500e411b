"""How much single runs of PFS2C2 vary with the seed, and what averaging runs (``ensemble``) gives.

For each case, runs the default preset with ``ensemble=1`` and seeds 0..N-1 (blind, as
benchmarks/quality.py), scores each run, the average of the first two runs (what the default's
``ensemble=2`` computes, bit for bit) and of all N, against linear regression + residual. Prints a
Markdown table with the means over the cases.

    python benchmarks/seed_spread.py                      # the nine standard cases with ratios 4 and 8, seeds 0-2 (~20 min, 1 thread)
    python benchmarks/seed_spread.py --cases cave/nikon/8 --seeds 5
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from pfs2c2.baselines import linear_regression_fusion
from pfs2c2.benchmark import STANDARD_CASES, Case, make_problem
from pfs2c2.config import FusionConfig
from pfs2c2.fusion import fuse
from pfs2c2.metrics import evaluate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=[c for c in STANDARD_CASES if not c.startswith("paris")])
    parser.add_argument("--seeds", type=int, default=3, help="single runs per case, seeds 0..N-1 (>= 2)")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds must be >= 2")
    single = dataclasses.replace(FusionConfig(), ensemble=1)
    averages = [2] if args.seeds == 2 else [2, args.seeds]
    columns = [f"seed {s}" for s in range(args.seeds)] + [f"mean of {n} runs" for n in averages] + ["linear regression"]
    print("| case | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    scores = []
    for spec in args.cases:
        problem = make_problem(Case.parse(spec), DATA)
        ratio = problem.case.ratio
        cubes = [
            fuse(
                problem.lr_hsi,
                problem.hr_msi,
                ratio=ratio,
                config=dataclasses.replace(single, seed=s),
                srf_support=problem.srf_support,
            ).fused
            for s in range(args.seeds)
        ]
        means = [np.mean(cubes[:n], axis=0, dtype=np.float64).astype(np.float32) for n in averages]
        baseline = linear_regression_fusion(problem.lr_hsi, problem.hr_msi, ratio)
        row = [evaluate(c, problem.reference, ratio) for c in (*cubes, *means, baseline)]
        scores.append([(r["psnr"], r["sam"]) for r in row])
        print(f"| {spec} | " + " | ".join(f"{r['psnr']:.2f} / {r['sam']:.3f}" for r in row) + " |", flush=True)
    mean = np.mean(scores, axis=0)
    print("| **mean** | " + " | ".join(f"{p:.3f} / {a:.4f}" for p, a in mean) + " |")


if __name__ == "__main__":
    main()
