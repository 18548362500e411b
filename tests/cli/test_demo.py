"""`pfs2c2 demo`: the built-in scene, metrics against its truth, refusal to overwrite."""

from __future__ import annotations

import json

from .helpers import run


def test_demo_runs_and_reports(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--preset", "fast")
    assert code == 0, err
    assert "PSNR" in out and "outputs written to" in out
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert metrics["pfs2c2"]["psnr"] > metrics["bicubic"]["psnr"] + 5
    assert (tmp_path / "demo" / "report.png").exists()
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--preset", "fast")
    assert code == 2 and "--overwrite" in err
