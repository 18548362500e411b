"""Shared by the CLI tests: a short schedule and an in-process runner."""

from __future__ import annotations

from pfs2c2.cli import main

TINY = {
    "stage1": {"iterations": 20, "decay_start": 10},
    "stage2": {"iterations": 50, "decay_start": 25},
    "stage3": {"iterations": 20, "decay_start": 10},
}
"""A schedule of 90 iterations: enough to run every stage, seconds on the CPU."""


def run(capsys, *argv: object) -> tuple[int, str, str]:
    """``pfs2c2 ARGV`` in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
