"""`pfs2c2 fuse` on a scene larger than --sample-pixels: trained on a sample, the output streamed; the
choice of --training and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pfs2c2.io import RasterMeta, open_cube, write_cube

from .helpers import TINY, run


@pytest.fixture(scope="module")
def tif_pair(pavia_problem, tmp_path_factory):
    """The Pavia simulation (25 x 25 LR, ratio 4) as georeferenced GeoTIFFs, and its reference."""
    sim = pavia_problem["sim"]
    folder = tmp_path_factory.mktemp("tif")
    lr_meta = RasterMeta(crs="EPSG:32632", transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 5000000.0))
    hr_meta = RasterMeta(crs="EPSG:32632", transform=(7.5, 0.0, 500000.0, 0.0, -7.5, 5000000.0))
    write_cube(folder / "lr.tif", sim.lr_hsi, lr_meta)
    write_cube(folder / "hr.tif", sim.hr_msi, hr_meta)
    write_cube(folder / "ref.tif", pavia_problem["reference"], hr_meta)
    np.save(folder / "srf.npy", sim.srf)
    (folder / "tiny.yaml").write_text(json.dumps({**TINY, "ensemble": 1}))
    return folder


def _common(d, out):
    return ["fuse", "--hsi", d / "lr.tif", "--msi", d / "hr.tif", "--out", out, "--config", d / "tiny.yaml"]


def test_a_scene_above_the_sample_budget_is_trained_on_a_sample_and_streamed(tif_pair, tmp_path, capsys):
    d = tif_pair
    out = tmp_path / "fused.tif"
    code, stdout, err = run(
        capsys, *_common(d, out), "--srf", d / "srf.npy", "--sample-pixels", 256, "--reference", d / "ref.tif"
    )
    assert code == 0, err
    assert "sampled training: 256 of 625 LR pixels" in err and "PSNR" in stdout
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["training"]["mode"] == "sample" and record["training"]["lr_pixels"] == 256
    assert record["metrics"]["psnr"] > 30
    fused, meta = open_cube(out).read()
    assert fused.shape == (tif_pair_bands(d), 100, 100) and meta.crs is not None
    assert meta.transform is not None and meta.transform[0] == pytest.approx(7.5)
    for name in ("psf.csv", "srf.csv", "history.csv", "config.yaml"):
        assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob(".*"))  # no partial file, journal or checkpoint left


def tif_pair_bands(d) -> int:
    return open_cube(d / "lr.tif").shape[0]


def test_a_scene_within_the_budget_is_fused_whole_as_before(tif_pair, tmp_path, capsys):
    code, _, err = run(capsys, *_common(tif_pair, tmp_path / "f.tif"), "--no-plots")
    assert code == 0, err
    assert "sampled training" not in err
    assert "training" not in json.loads((tmp_path / "run.json").read_text())


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--training", "sample", "--tile-size", "10"], "--training sample does not train per tile"),
        (["--training", "sample", "--rgb", "q.tif"], "--rgb need the whole scene in memory"),
        (["--sample-pixels", "100", "--saturation", "2"], "--saturation is applied by whole-scene runs only"),
        (["--sample-pixels", "100", "--max-memory", "200MB"], "--max-memory 200MB is too small"),
        (["--sample-pixels", "0"], "--sample-pixels"),
    ],
)
def test_contradicting_training_options_exit_2_with_one_line(tif_pair, tmp_path, capsys, extra, message):
    out = tmp_path / "f.tif"
    code, _, err = run(capsys, *_common(tif_pair, out), *extra)
    assert code == 2 and message in err and err.strip().count("\n") <= 1, err
    assert not out.exists()
