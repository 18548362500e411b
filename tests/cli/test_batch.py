"""`pfs2c2 batch`: manifests refused before any work (a full batch run is in test_fuse_tiled)."""

from __future__ import annotations

import pytest

from .helpers import run


@pytest.mark.parametrize(
    "text, message",
    [
        ("hsi,msi\nx,y\n", "needs the columns hsi, msi, out (missing: out)"),
        ("hsi,msi,out,colour\nx,y,z,red\n", "unknown column(s) colour"),
        ("hsi,msi,out\nx,,z\n", "line 2: hsi, msi and out are required"),
        ("hsi,msi,out\n# only a comment\n", "lists no scene"),
        ("hsi,msi,out\na,b,o.tif\nc,d,o.tif\n", "more than once"),
    ],
)
def test_bad_manifests_exit_2_before_any_work(tmp_path, capsys, text, message):
    manifest = tmp_path / "scenes.csv"
    manifest.write_text(text)
    code, _, err = run(capsys, "batch", manifest)
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_missing_manifest_and_both_executors(tmp_path, capsys):
    code, _, err = run(capsys, "batch", tmp_path / "nope.csv")
    assert code == 2 and "not found" in err
    (tmp_path / "m.csv").write_text("hsi,msi,out\na,b,c.tif\n")
    code, _, err = run(capsys, "batch", tmp_path / "m.csv", "--workers", 2, "--scheduler", "tcp://x:1")
    assert code == 2 and "not both" in err


def test_a_row_error_names_its_line(tmp_path, capsys):
    (tmp_path / "m.csv").write_text("hsi,msi,out\nmissing_lr.npy,missing_hr.npy,nofolder/c.tif\n")
    code, _, err = run(capsys, "batch", tmp_path / "m.csv")
    assert code == 2 and "manifest line 2 (c.tif): output directory" in err
