"""The bad-input catalogue on the command line: every kind gives one ``Error:`` line and exit code 2, and
touches nothing in the output directory; usage errors are one line too.

The catalogue itself (and its API form) is in tests/checks/test_catalogue.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pfs2c2.cli import main

from ..checks.test_catalogue import CATALOGUE, KINDS, Inputs, make_inputs


@pytest.fixture
def inputs(tmp_path: Path) -> Inputs:
    return make_inputs(tmp_path)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else b"") for p in sorted(directory.rglob("*"))
    }


@pytest.mark.parametrize("name", KINDS)
def test_cli_bad_input_gives_one_error_line_and_exit_2(inputs, capsys, name):
    t = inputs
    try:
        bad = CATALOGUE[name](t)
        out = bad.out or t.dir / "out" / "fused.npy"
        options: dict[str, Any] = {
            "--hsi": t.path("lr.npy"),
            "--msi": t.path("hr.npy"),
            "--out": out,
            "--config": t.path("tripwire.yaml"),
            "--srf-support": t.path("support.npy"),
        }
        options.update(bad.options)
        argv = ["fuse", "--no-plots"] + [str(a) for k, v in options.items() if v is not None for a in (k, v)]
        before = _snapshot(t.dir / "out")
        code = main(argv)
        stdout, stderr = capsys.readouterr()
        after = _snapshot(t.dir / "out")
    finally:
        (t.dir / "out").chmod(0o700)
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    assert code == 2, (code, stdout, stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert "Traceback" not in stderr
    assert re.search(bad.message, lines[0]), lines[0]
    assert after == before, "the command created or changed files in the output directory"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["fuse", "--hsi", "a.npy", "--msi", "b.npy", "--ratio", "2.5", "--out", "x.tif"],
            "'2.5' is not a valid integer",
        ),
        (["fuse", "--bogus"], "No such option '--bogus'"),
        (["fuse", "--hsi", "a.npy"], "Missing option"),
        (["nosuch"], "No such command"),
    ],
)
def test_cli_usage_errors_are_one_line_too(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and message in err[0] and "--help" in err[0]
