"""simulate -> fuse -> evaluate -> report on a real scene (Pavia, IKONOS bands), in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from ..conftest import data_path
from .helpers import run


def test_simulate_fuse_evaluate_round_trip_on_pavia(tmp_path, capsys):
    pavia = data_path("hsi/abu-beach-4_pavia_rosis.mat")
    ikonos = data_path("srf/sensors/IKONOS2_rsr.csv")
    sim = tmp_path / "sim"
    code, out, err = run(
        capsys,
        "simulate",
        pavia,
        "--ratio",
        4,
        "--srf",
        ikonos,
        "--bands",
        "blue,green,red,nir",
        "--wavelengths",
        "430:860",
        "--out",
        sim,
    )
    assert code == 0, err
    lr, hr, ref = (np.load(sim / f"{n}.npy") for n in ("lr_hsi", "hr_msi", "reference"))
    assert lr.shape == (25, 25, 102) and hr.shape == (100, 100, 4) and ref.shape == (100, 100, 102)
    assert np.load(sim / "srf.npy").shape == (102, 4)

    fused = tmp_path / "run" / "fused.npy"
    fused.parent.mkdir()
    code, out, err = run(
        capsys,
        "fuse",
        "--hsi",
        sim / "lr_hsi.npy",
        "--msi",
        sim / "hr_msi.npy",
        "--out",
        fused,
        "--preset",
        "fast",
        "--srf-support",
        ikonos,
        "--bands",
        "blue,green,red,nir",
        "--wavelengths",
        "430:860",
        "--reference",
        sim / "reference.npy",
    )
    assert code == 0, err
    assert np.load(fused).shape == (100, 100, 102)
    for name in (
        "psf.csv",
        "srf.csv",
        "history.csv",
        "config.yaml",
        "run.json",
        "metrics.json",
        "report.png",
        "srf.png",
    ):
        assert (fused.parent / name).stat().st_size > 0, name
    assert yaml.safe_load((fused.parent / "config.yaml").read_text())["preset"] == "fast"
    history = (fused.parent / "history.csv").read_text().splitlines()
    assert history[0].startswith("stage,iteration,loss") and len(history) > 10
    psf = np.loadtxt(fused.parent / "psf.csv", delimiter=",")
    assert psf.shape == (4, 4) and psf.sum() == pytest.approx(1.0, abs=1e-6)

    code, out, err = run(capsys, "evaluate", fused, sim / "reference.npy", "--ratio", 4, "--json", tmp_path / "m.json")
    assert code == 0, err
    scores = json.loads((tmp_path / "m.json").read_text())
    assert set(scores) == {"psnr", "sam", "ergas", "rmse", "cc", "ssim", "uiqi"}
    assert scores["psnr"] > 43.0  # bicubic gives ~31.6 dB on this scene
    assert scores == pytest.approx(json.loads((fused.parent / "metrics.json").read_text()))

    code, out, err = run(
        capsys,
        "evaluate",
        fused,
        "--hsi",
        sim / "lr_hsi.npy",
        "--msi",
        sim / "hr_msi.npy",
        "--json",
        tmp_path / "nr.json",
    )
    assert code == 0, err
    no_ref = json.loads((tmp_path / "nr.json").read_text())
    assert 0 < no_ref["hqnr"] <= 1 and 0 <= no_ref["d_s"] < 0.2

    (tmp_path / "run" / "report.png").unlink()
    code, out, err = run(capsys, "report", fused.parent)
    assert code == 0, err
    assert (fused.parent / "report.png").exists()
