"""`pfs2c2 benchmark`: option refusals that need no data (runs on real scenes are in tests/test_benchmark.py)."""

from __future__ import annotations

from .helpers import run


def test_unknown_preset_is_refused_before_any_run(tmp_path, capsys):
    code, _, err = run(capsys, "benchmark", "--out", tmp_path / "b", "--presets", "default,bogus")
    assert code == 2 and "unknown preset(s) bogus; choose from default, faithful, fast, robust" in err
    assert not (tmp_path / "b").exists()


def test_existing_results_need_overwrite(tmp_path, capsys):
    (tmp_path / "results.csv").write_text("old")
    code, _, err = run(capsys, "benchmark", "--out", tmp_path)
    assert code == 2 and "--overwrite" in err and (tmp_path / "results.csv").read_text() == "old"
