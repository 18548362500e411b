"""`pfs2c2 simulate`: the Wald pair and the true operators from a reference cube (Pavia in test_round_trip)."""

from __future__ import annotations

import numpy as np

from .helpers import run


def test_simulate_writes_the_pair_operators_and_wavelengths(tmp_path, capsys):
    rng = np.random.default_rng(4)
    np.save(tmp_path / "ref.npy", rng.random((16, 16, 8)).astype(np.float32))
    srf = rng.random((8, 3))
    np.save(tmp_path / "srf.npy", srf / srf.sum(0))
    out = tmp_path / "sim"
    code, stdout, err = run(
        capsys,
        "simulate",
        tmp_path / "ref.npy",
        "--ratio",
        4,
        "--srf",
        tmp_path / "srf.npy",
        "--wavelengths",
        "400:900",
        "--out",
        out,
    )
    assert code == 0, err
    assert stdout.strip() == f"LR-HSI 4x4x8, HR-MSI 16x16x3 written to {out}"
    assert np.load(out / "lr_hsi.npy").shape == (4, 4, 8) and np.load(out / "hr_msi.npy").shape == (16, 16, 3)
    np.testing.assert_allclose(np.loadtxt(out / "psf.csv", delimiter=","), np.load(out / "psf.npy"), rtol=1e-6)
    header = (out / "srf.csv").read_text().splitlines()[0]
    assert header == "wavelength_nm,msi_band1,msi_band2,msi_band3"
    lines = (out / "wavelengths.csv").read_text().splitlines()
    assert lines[0] == "band,wavelength_nm" and len(lines) == 9 and lines[1] == "1,400.0000"
    code, _, err = run(
        capsys, "simulate", tmp_path / "ref.npy", "--ratio", 4, "--srf", tmp_path / "srf.npy", "--out", out
    )
    assert code == 2 and "--overwrite" in err


def test_simulate_sensor_name_needs_wavelengths(tmp_path, capsys):
    np.save(tmp_path / "ref.npy", np.ones((16, 16, 8), np.float32))
    code, _, err = run(
        capsys, "simulate", tmp_path / "ref.npy", "--ratio", 4, "--srf", "sentinel2a", "--out", tmp_path / "o"
    )
    assert code == 2 and "is a sensor name" in err and not (tmp_path / "o").exists()
