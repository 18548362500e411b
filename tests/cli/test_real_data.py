"""The command line on georeferenced files: grids nest, outputs keep CRS, transform and wavelengths."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from pfs2c2.io import RasterMeta, read_cube, write_cube

from .helpers import TINY, run

UTM = "EPSG:32631"


@pytest.fixture
def geo_pair(tmp_path):
    """A 6x6-pixel, 30 m HSI and a 20x20-pixel, 10 m MSI reaching one MSI pixel beyond it on every side."""
    rng = np.random.default_rng(0)
    wavelengths = np.linspace(450, 900, 12)
    x0, y0 = 500000.0, 4800000.0
    hsi_meta = RasterMeta(
        crs=UTM, transform=(30.0, 0.0, x0, 0.0, -30.0, y0), wavelengths_nm=wavelengths, fwhm_nm=np.full(12, 10.0)
    )
    msi_meta = RasterMeta(
        crs=UTM,
        transform=(10.0, 0.0, x0 - 10, 0.0, -10.0, y0 + 10),
        wavelengths_nm=np.array([490.0, 560.0, 665.0]),
        fwhm_nm=np.array([65.0, 35.0, 30.0]),
    )
    write_cube(tmp_path / "hsi.tif", rng.random((12, 6, 6)).astype(np.float32) + 0.1, hsi_meta)
    write_cube(tmp_path / "msi.tif", rng.random((3, 20, 20)).astype(np.float32) + 0.1, msi_meta)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return tmp_path, wavelengths, x0, y0


def test_fuse_georeferenced_pair_keeps_grid_and_wavelengths(geo_pair, capsys):
    t, wavelengths, x0, y0 = geo_pair
    code, out, err = run(
        capsys,
        "fuse",
        "--hsi",
        t / "hsi.tif",
        "--msi",
        t / "msi.tif",
        "--out",
        t / "fused.tif",
        "--config",
        t / "tiny.yaml",
        "--no-plots",
    )
    assert code == 0, err
    assert "warning" not in err  # the SRF support came from the band centres and widths in the files
    fused, meta = read_cube(t / "fused.tif")
    assert fused.shape == (12, 18, 18)  # the MSI was cropped to the HSI footprint
    assert meta.crs is not None and "32631" in str(meta.crs) or "UTM zone 31N" in str(meta.crs)
    assert tuple(meta.transform)[:6] == pytest.approx((10.0, 0.0, x0, 0.0, -10.0, y0))
    np.testing.assert_allclose(meta.wavelengths_nm, wavelengths, rtol=1e-5)
    run_info = json.loads((t / "run.json").read_text())
    assert run_info["ratio"] == 3 and set(run_info["no_reference"]) >= {"d_lambda", "d_s", "qnr"}
    code, out, err = run(capsys, "report", t)  # redraws from run.json with the same crop
    assert code == 0, err
    assert (t / "report.png").stat().st_size > 0


def test_envi_output_has_wavelengths_for_spectral_readers(geo_pair, capsys):
    t, wavelengths, _, _ = geo_pair
    code, out, err = run(
        capsys,
        "fuse",
        "--hsi",
        t / "hsi.tif",
        "--msi",
        t / "msi.tif",
        "--out",
        t / "fused.hdr",
        "--config",
        t / "tiny.yaml",
        "--no-plots",
    )
    assert code == 0, err
    header = (t / "fused.hdr").read_text().lower()
    assert "wavelength = {" in header and "fwhm = {" in header and "default bands" in header
    fused, meta = read_cube(t / "fused.hdr")
    assert fused.shape == (12, 18, 18)
    np.testing.assert_allclose(meta.wavelengths_nm, wavelengths, rtol=1e-4)
    spectral = pytest.importorskip("spectral")
    image = spectral.open_image(str(t / "fused.hdr"))
    assert image.shape == (18, 18, 12)
    np.testing.assert_allclose(image.bands.centers, wavelengths, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(image.load())[:, :, 0], fused[0], rtol=1e-6)


def test_misaligned_grids_are_refused_with_a_fix(geo_pair, capsys):
    t, _, x0, y0 = geo_pair
    rng = np.random.default_rng(1)
    shifted = RasterMeta(crs=UTM, transform=(10.0, 0.0, x0 + 5, 0.0, -10.0, y0))
    write_cube(t / "msi_shifted.tif", rng.random((3, 18, 18)).astype(np.float32) + 0.1, shifted)
    code, out, err = run(
        capsys,
        "fuse",
        "--hsi",
        t / "hsi.tif",
        "--msi",
        t / "msi_shifted.tif",
        "--out",
        t / "f.tif",
        "--config",
        t / "tiny.yaml",
    )
    assert code == 2 and "offset" in err and "warp" in err
    assert not (t / "f.tif").exists()


def test_validate_and_no_reference_evaluation(geo_pair, capsys):
    t, _, _, _ = geo_pair
    code, out, err = run(
        capsys,
        "fuse",
        "--hsi",
        t / "hsi.tif",
        "--msi",
        t / "msi.tif",
        "--out",
        t / "fused.npy",
        "--config",
        t / "tiny.yaml",
        "--validate",
        "--no-plots",
    )
    assert code == 0, err
    assert "reduced-resolution check" in out
    validation = json.loads((t / "run.json").read_text())["validation"]
    assert np.isfinite(validation["psnr"]) and validation["sam"] >= 0
    code, out, err = run(capsys, "evaluate", t / "fused.npy", "--hsi", t / "hsi.tif", "--msi", t / "msi.tif")
    assert code == 2 and "does not match" in err  # the MSI must be cropped like the fused cube
