"""How much of PFS2C2's result is its learned PSF? The closed-form baseline given that PSF, side by side.

Run from the repository root (../shared/data beside it):

    python benchmarks/psf_decomposition.py                 # the nine box-PSF cases (~8 min on 2 idle cores)
    python benchmarks/psf_decomposition.py --cases pavia/ikonos/4 cave/nikon/8

For each case it runs the default preset (blind), then linear regression + residual three times: with
its usual Gaussian guess, with the PSF PFS2C2 learned in that run, and with the true PSF. The table
goes to docs/benchmarks.md between ``<!-- BEGIN psf decomposition -->`` markers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from pfs2c2 import fuse
from pfs2c2.baselines import linear_regression
from pfs2c2.benchmark import BOX_PSF_CASES, Case, environment, make_problem, update_doc
from pfs2c2.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(BOX_PSF_CASES), help="scene/sensor/ratio[/snr][/box]")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    lines = [
        "| case | PFS2C2 default (blind) | LR, Gaussian guess | LR, PSF learned by PFS2C2 | LR, true PSF | PSF error (max, rel.) |",
        "|---|---|---|---|---|---|",
    ]
    sums = np.zeros((4, 2))
    for spec in args.cases:
        problem = make_problem(Case.parse(spec), DATA)
        r = problem.case.ratio
        start = time.perf_counter()
        result = fuse(problem.lr_hsi, problem.hr_msi, ratio=r, srf_support=problem.srf_support)
        seconds = time.perf_counter() - start
        outputs = [
            result.fused,
            linear_regression(problem.lr_hsi, problem.hr_msi, r),
            linear_regression(problem.lr_hsi, problem.hr_msi, r, psf=result.psf),
            linear_regression(problem.lr_hsi, problem.hr_msi, r, psf=problem.true_psf),
        ]
        scores = [evaluate(x, problem.reference, r) for x in outputs]
        sums += [[s["psnr"], s["sam"]] for s in scores]
        error = np.abs(result.psf - problem.true_psf).max() / problem.true_psf.max()
        cells = [f"{s['psnr']:.2f} / {s['sam']:.2f}" for s in scores]
        lines.append(f"| {problem.case.name} | {cells[0]} ({seconds:.0f} s) | {' | '.join(cells[1:])} | {error:.3f} |")
        print(lines[-1], flush=True)
    mean = sums / len(args.cases)
    lines.append(f"| mean of {len(args.cases)} | " + " | ".join(f"{p:.2f} / {s:.2f}" for p, s in mean) + " | |")
    env = environment()
    command = "python benchmarks/psf_decomposition.py " + " ".join(sys.argv[1:])
    section = (
        f"## How much of the result is the learned PSF\n\nCommand: `{command.strip()}`  \n"
        f"Machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores, torch {env.get('torch', '?')}, "
        f"{env.get('torch_threads', '?')} threads; run {env.get('date', '?')}.\n\n"
        "PSNR (dB) / SAM (deg). LR = linear regression + residual (closed form, under a second).\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(section)
    if not args.no_doc:
        update_doc(ROOT / "docs" / "benchmarks.md", "psf decomposition", section)


if __name__ == "__main__":
    main()
