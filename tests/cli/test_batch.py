"""`pfs2c2 batch`: manifests refused before any work (a full batch run is in test_fuse_tiled), and --align."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from pfs2c2.io import RasterMeta, read_cube, write_cube

from ..products.make_prisma import make_prisma_zip
from .helpers import TINY, run


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


X0, Y0 = 500000.0, 4800000.0  # MSI corner, UTM 31N


def _shifted_pair(folder: Path) -> tuple[Path, Path]:
    """A 60x60x3 MSI (10 m) and a 16x16x12 HSI (30 m) whose grid is shifted by a fraction of a pixel: no nesting."""
    wl = np.linspace(450, 900, 12)

    def scene(rows: int, cols: int, bands: int, step: float, x0: float, y0: float) -> np.ndarray:
        gx, gy = np.meshgrid(x0 + step * (np.arange(cols) + 0.5), y0 - step * (np.arange(rows) + 0.5))
        u, v, k = (gx - X0) / 300.0, (Y0 - gy) / 300.0, np.arange(bands)[:, None, None]
        return (0.3 + 0.1 * np.sin(u[None] * (1 + 0.1 * k)) * np.cos(v[None] * 0.7) + 0.01 * k).astype(np.float32)

    hx, hy = X0 + 34.0, Y0 - 47.0  # 0.4 / 0.7 MSI pixels off the MSI edges
    msi_meta = RasterMeta(
        crs="EPSG:32631", transform=(10.0, 0.0, X0, 0.0, -10.0, Y0), wavelengths_nm=[490.0, 560.0, 665.0]
    )
    hsi_meta = RasterMeta(crs="EPSG:32631", transform=(30.0, 0.0, hx, 0.0, -30.0, hy), wavelengths_nm=wl)
    write_cube(folder / "hsi.tif", scene(16, 16, 12, 30.0, hx, hy), hsi_meta)
    write_cube(folder / "msi.tif", scene(60, 60, 3, 10.0, X0, Y0), msi_meta)
    (folder / "tiny.yaml").write_text(yaml.safe_dump({**TINY, "threads": 1}))
    return folder / "hsi.tif", folder / "msi.tif"


def test_align_makes_a_shifted_pair_nest_per_scene(tmp_path, capsys):
    hsi, msi = _shifted_pair(tmp_path)
    (tmp_path / "out").mkdir()
    manifest = tmp_path / "scenes.csv"
    manifest.write_text(f"hsi,msi,out\n{hsi},{msi},out/a.tif\n")
    options = ["--config", tmp_path / "tiny.yaml", "--tile-size", 16]
    code, _, err = run(capsys, "batch", manifest, *options)
    assert code == 2 and "manifest line 2 (a.tif)" in err and "or pass --align" in err and err.count("\n") == 1, err

    aligned = tmp_path / "out" / "a.tif.aligned"
    aligned.mkdir()
    (aligned / "hsi.tif").write_text("left over from a run that stopped before its tiles: replaced")
    code, stdout, err = run(capsys, "batch", manifest, *options, "--align")
    assert code == 0 and "1 of 1 scene(s) fused" in stdout, (stdout, err)
    assert "[a.tif] aligned: ratio 3, hsi resampled" in err
    fused, meta = read_cube(str(tmp_path / "out" / "a.tif"))
    # the 16 shifted HSI pixels cover 15 whole MSI blocks of 3 x 3 per axis: the overlap, on the MSI grid
    assert fused.shape == (12, 45, 45) and "32631" in meta.crs and meta.transform[0] == 10.0
    record = json.loads((tmp_path / "out" / "a.run.json").read_text())
    assert record["alignment"]["ratio"] == 3 and record["alignment"]["resampled"] == "hsi"
    assert record["alignment"]["psf_size"] == 5 and "masks" not in record["alignment"]
    assert set(record["masks"]) >= {"hsi", "msi"}
    assert yaml.safe_load((tmp_path / "out" / "a.config.yaml").read_text())["psf_size"] == 5  # ratio + 2
    assert not aligned.exists() and not (tmp_path / "out" / "a.tif.tiles").exists()  # work folders removed


def test_align_resume_reuses_the_aligned_pair_of_an_interrupted_scene(tmp_path, capsys, monkeypatch):
    import pfs2c2.runs

    hsi, msi = _shifted_pair(tmp_path)
    (tmp_path / "out").mkdir()
    manifest = tmp_path / "scenes.csv"
    manifest.write_text(f"hsi,msi,out\n{hsi},{msi},out/a.tif\n")
    options = ["--config", tmp_path / "tiny.yaml", "--tile-size", 16, "--align"]
    real = pfs2c2.runs.write_run_outputs

    def interrupted(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pfs2c2.runs, "write_run_outputs", interrupted)
    code, _, err = run(capsys, "batch", manifest, *options)
    assert code == 1 and "disk full" in err, err
    aligned = tmp_path / "out" / "a.tif.aligned"
    assert (aligned / "hsi.tif").exists() and (tmp_path / "out" / "a.tif.tiles").exists()  # kept for --resume

    monkeypatch.setattr(pfs2c2.runs, "write_run_outputs", real)
    (tmp_path / "out" / "a.tif").unlink()  # as if stopped between tiles: only OUT.tiles/ and OUT.aligned/ are left
    code, _, err = run(capsys, "batch", manifest, *options)  # neither --resume nor --overwrite: refused
    assert code == 2 and "interrupted run; pass --resume" in err and err.count("\n") == 1, err
    code, stdout, err = run(capsys, "batch", manifest, *options, "--resume")
    assert code == 0 and "1 of 1 scene(s) fused" in stdout, (stdout, err)
    # not aligned again, also not by the refused run: a rewritten pair would not match the tiles' plan.json
    assert "aligned pair reused" in err and "aligned: ratio" not in err
    record = json.loads((tmp_path / "out" / "a.run.json").read_text())
    assert record["alignment"]["resampled"] == "hsi"
    assert not aligned.exists() and not (tmp_path / "out" / "a.tif.tiles").exists()


def test_a_prisma_zip_row_needs_align_and_is_fused_with_it(tmp_path, capsys):
    zipped = make_prisma_zip(tmp_path / "prisma", size=(20, 24))  # EPSG:32632, 30 m from (500000, 5000000)
    msi = 0.1 + 0.3 * np.random.default_rng(0).random((3, 60, 72)).astype(np.float32)
    meta = RasterMeta(crs="EPSG:32632", transform=(10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0))
    write_cube(tmp_path / "msi.tif", msi, meta.replace(wavelengths_nm=[490.0, 560.0, 665.0]))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump({**TINY, "threads": 1}))
    (tmp_path / "out").mkdir()
    manifest = tmp_path / "scenes.csv"
    manifest.write_text(f"hsi,msi,out\n{zipped},msi.tif,out/p.tif\n")
    options = ["--config", tmp_path / "tiny.yaml", "--tile-size", 24]
    code, _, err = run(capsys, "batch", manifest, *options)
    assert code == 2 and "product input (prisma)" in err and "pass --align" in err and err.count("\n") == 1, err

    code, stdout, err = run(capsys, "batch", manifest, *options, "--align")
    assert code == 0 and "1 of 1 scene(s) fused" in stdout, (stdout, err)
    assert "[p.tif] aligned: ratio 3, only cropped" in err  # the grids nest: nothing resampled
    fused, _ = read_cube(str(tmp_path / "out" / "p.tif"))
    assert fused.shape[1:] == (60, 72)
    record = json.loads((tmp_path / "out" / "p.run.json").read_text())
    assert record["masks"]["hsi"]["product"] == "prisma L2D" and record["masks"]["hsi"]["masked"] > 0  # padding
    assert record["alignment"]["resampled"] is None and record["alignment"]["psf_size"] is None
