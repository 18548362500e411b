"""`pfs2c2 report`: refusals (redrawing a run's figures is in test_round_trip and test_real_data)."""

from __future__ import annotations

from .helpers import run


def test_report_needs_a_fuse_output_folder(tmp_path, capsys):
    code, _, err = run(capsys, "report", tmp_path)
    assert code == 2 and "RUN_DIR must be the folder of a `pfs2c2 fuse` output" in err


def test_report_refuses_to_replace_pngs(tmp_path, capsys):
    (tmp_path / "run.json").write_text("{}")
    (tmp_path / "report.png").write_bytes(b"png")
    code, _, err = run(capsys, "report", tmp_path)
    assert code == 2 and "--overwrite" in err and (tmp_path / "report.png").read_bytes() == b"png"
