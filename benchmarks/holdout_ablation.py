"""Ablation of the stage-3 hold-out (FusionConfig.holdout_fraction) over the standard benchmark cases.

    python benchmarks/holdout_ablation.py 0.15     # one JSON line per case: PSNR, SAM, seconds
    python benchmarks/holdout_ablation.py 0

Runs the default preset with only holdout_fraction changed, one torch thread, on the cases of
pfs2c2.benchmark.STANDARD_CASES (../shared/data beside the repository).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import torch

from pfs2c2 import FusionConfig, evaluate, fuse
from pfs2c2.benchmark import STANDARD_CASES, Case, make_problem

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

if __name__ == "__main__":
    torch.set_num_threads(1)
    fraction = float(sys.argv[1])
    for spec in STANDARD_CASES:
        problem = make_problem(Case.parse(spec), DATA)
        config = FusionConfig()
        config = dataclasses.replace(config, holdout_fraction=fraction)
        result = fuse(
            problem.lr_hsi, problem.hr_msi, ratio=problem.case.ratio, config=config, srf_support=problem.srf_support
        )
        scores = evaluate(result.fused, problem.reference, problem.case.ratio)
        print(
            json.dumps(
                {
                    "case": spec,
                    "holdout": fraction,
                    "psnr": scores["psnr"],
                    "sam": scores["sam"],
                    "s": result.timings["total"],
                }
            ),
            flush=True,
        )
