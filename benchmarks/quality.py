"""Quality, time and memory of PFS2C2 presets against the classical methods (Wald protocol, blind).

Run from the repository root (../shared/data beside it):

    python benchmarks/quality.py                                   # standard cases, default preset + all baselines
    python benchmarks/quality.py --presets default faithful --cases pavia/ikonos/4   # the authors' schedule (~1 h a case)
    python benchmarks/quality.py --validation                      # the scenes the default was not tuned on
    python benchmarks/quality.py --box-psf                         # a blur none of the methods assumes

It is `pfs2c2 benchmark` plus the bookkeeping of docs/benchmarks.md: the table is printed, written
to docs/benchmarks.md between markers named after the presets, and to docs/benchmark_<presets>.csv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pfs2c2.benchmark import (
    BOX_PSF_CASES,
    STANDARD_CASES,
    VALIDATION_CASES,
    Case,
    environment,
    make_problem,
    method_table,
    run_case,
    to_csv,
    to_markdown,
    update_doc,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

#: Case sets chosen by a flag: flag -> (cases, doc section key suffix, section title suffix, CSV name suffix).
CASE_SETS = {
    "validation": (VALIDATION_CASES, " validation", ", validation cases", "_validation"),
    "box_psf": (BOX_PSF_CASES, " box-psf", ", box PSF", "_box_psf"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", help="scene/sensor/ratio[/snr_db] (default: the standard cases)")
    parser.add_argument(
        "--validation", action="store_true", help="run the validation cases (scenes the default was not tuned on)"
    )
    parser.add_argument(
        "--box-psf", action="store_true", help="run the standard cases simulated with a box PSF (no method's guess)"
    )
    parser.add_argument("--presets", nargs="+", default=["default"])
    parser.add_argument("--baselines", nargs="*", help="default: all (give none for PFS2C2 only)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/")
    args = parser.parse_args()
    cases, key_suffix, title_suffix, csv_suffix = next(
        (CASE_SETS[flag] for flag in CASE_SETS if getattr(args, flag)), (STANDARD_CASES, "", "", "")
    )
    args.cases = args.cases or list(cases)
    methods = method_table(args.presets, args.baselines)
    rows = []
    for spec in args.cases:
        rows += run_case(make_problem(Case.parse(spec), DATA), methods)
    command = "python benchmarks/quality.py " + " ".join(sys.argv[1:])
    section = to_markdown(rows, environment(), command.strip())
    print(section)
    if not args.no_doc:
        key = "quality " + ",".join(args.presets) + key_suffix
        title = f"## Benchmark: presets {', '.join(args.presets)}{title_suffix}"
        update_doc(ROOT / "docs" / "benchmarks.md", key, f"{title}\n\n{section}")
        (ROOT / "docs" / f"benchmark_{'_'.join(args.presets)}{csv_suffix}.csv").write_text(to_csv(rows))


if __name__ == "__main__":
    main()
