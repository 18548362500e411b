"""``pfs2c2 benchmark``: PFS2C2 and the classical methods side by side on real scenes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._checks import check_not_existing
from .errors import user_errors
from .options import overwrite_option


@click.command()
@click.option(
    "--cases",
    "case_specs",
    multiple=True,
    help="scene/sensor/ratio[/snr_db], repeatable (default: the standard list of docs/benchmarks.md).",
)
@click.option("--methods", "method_list", help="Comma-separated baselines (default: all; 'none' for PFS2C2 only).")
@click.option(
    "--presets",
    default="default",
    show_default=True,
    help="Comma-separated PFS2C2 presets to run ('none' for baselines only).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False),
    default=str(Path("..") / "shared" / "data"),
    show_default=True,
    help="Folder with hsi/ and srf/ (the shared data).",
)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Writes results.csv and results.md here."
)
@overwrite_option("Replace existing results.")
def benchmark(
    case_specs: tuple[str, ...], method_list: str | None, presets: str, data_dir: str, out_dir: str, overwrite: bool
) -> None:
    """Run PFS2C2 and the classical methods side by side on real scenes (Wald protocol, blind).

    Prints one line per case and method and writes results.csv and results.md (per-case and mean
    PSNR, SAM, ERGAS, SSIM, wall time, peak memory, and the machine).
    """
    from .. import runs
    from .._checks import check_presets
    from ..benchmark import STANDARD_CASES, Case, environment, make_problem, method_table, run_case, to_csv, to_markdown

    with user_errors():
        out = Path(out_dir)
        check_not_existing([out / "results.csv", out / "results.md"], overwrite)
        cases = [Case.parse(spec) for spec in (case_specs or STANDARD_CASES)]
        baselines = (
            None
            if method_list is None
            else [m.strip() for m in method_list.split(",") if m.strip() and m.strip() != "none"]
        )
        preset_names = [p.strip() for p in presets.split(",") if p.strip() and p.strip() != "none"]
        check_presets(preset_names)
        methods = method_table(preset_names, baselines)
        problems = [make_problem(case, Path(data_dir)) for case in cases]  # fail on missing data before any run
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for problem in problems:
            rows += run_case(problem, methods, log=click.echo)
        command = "pfs2c2 benchmark " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "pfs2c2 benchmark"
        runs.write_text(out / "results.csv", to_csv(rows))
        runs.write_text(out / "results.md", to_markdown(rows, environment(), command))
    click.echo(f"wrote {out / 'results.csv'} and {out / 'results.md'}")
