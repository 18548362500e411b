"""Tests for pfs2c2.io.writers: round trips, ENVI/GeoTIFF metadata, overwrite, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from pfs2c2.io import (
    WRITE_EXTENSIONS,
    RasterMeta,
    read_array,
    read_cube,
    read_matrix_csv,
    write_cube,
    write_matrix_csv,
)
from pfs2c2.io import writers as writers_mod

CRS = "EPSG:32633"
TRANSFORM = (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)
WL = np.array([445.0, 480.5, 552.0, 610.0, 655.3, 700.0])
FWHM = np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0])


@pytest.fixture
def cube() -> np.ndarray:
    return np.random.default_rng(3).random((6, 7, 9)).astype(np.float32)


@pytest.fixture
def meta() -> RasterMeta:
    return RasterMeta(crs=CRS, transform=TRANSFORM, wavelengths_nm=WL, fwhm_nm=FWHM, nodata=-9999.0)


def _listing(d: Path) -> list[str]:
    return sorted(os.listdir(d))


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".tif", ".hdr", ".img", ".npy", ".mat", ".h5"])
def test_round_trip(tmp_path, cube, meta, ext):
    if ext in (".tif", ".hdr", ".img"):
        pytest.importorskip("rasterio")
    out = write_cube(tmp_path / f"fused{ext}", cube, meta)
    assert out.exists()
    back, m = read_cube(out if ext != ".hdr" else tmp_path / "fused.hdr")
    assert back.shape == cube.shape and back.dtype == np.float32
    np.testing.assert_array_equal(back, cube)
    if ext == ".npy":
        assert m.wavelengths_nm is None  # .npy carries no metadata
        return
    np.testing.assert_allclose(m.wavelengths_nm, WL)
    np.testing.assert_allclose(m.fwhm_nm, FWHM)
    assert m.crs == CRS
    assert m.transform == pytest.approx(TRANSFORM)
    assert m.nodata == -9999.0
    assert m.band_names is None
    assert m.scale is None and m.offset is None
    # nothing but the outputs is left in the directory
    expected = {".hdr": ["fused.hdr", "fused.img"], ".img": ["fused.hdr", "fused.img"]}
    assert _listing(tmp_path) == expected.get(ext, [f"fused{ext}"])


def test_round_trip_without_metadata_and_torch_input(tmp_path, cube):
    torch = pytest.importorskip("torch")
    for ext in (".tif", ".mat", ".h5"):
        out = write_cube(tmp_path / f"x{ext}", torch.from_numpy(cube))
        back, m = read_cube(out)
        np.testing.assert_array_equal(back, cube)
        assert m.crs is None and m.transform is None and m.wavelengths_nm is None


def test_mat_layout_and_v73(tmp_path, cube, meta, monkeypatch):
    out = write_cube(tmp_path / "f.mat", cube, meta)
    d = scipy.io.loadmat(out)
    assert d["fused"].shape == (7, 9, 6) and d["fused"].dtype == np.float32
    np.testing.assert_allclose(d["wavelength"].ravel(), WL)
    monkeypatch.setattr(writers_mod, "MAT5_MAX_BYTES", 0)  # force the >2 GiB path
    out = write_cube(tmp_path / "big.mat", cube, meta)
    assert scipy.io.matlab.matfile_version(str(out))[0] == 2
    back, m = read_cube(out)
    np.testing.assert_array_equal(back, cube)
    np.testing.assert_allclose(m.wavelengths_nm, WL)
    assert m.crs == CRS and m.transform == pytest.approx(TRANSFORM)


def test_h5_layout(tmp_path, cube, meta):
    import h5py

    out = write_cube(tmp_path / "f.h5", cube, meta)
    with h5py.File(out) as f:
        assert f["fused"].shape == (7, 9, 6)
        assert f["fused"].attrs["layout"] == "HWC"


# ---------------------------------------------------------------------------------------------
# ENVI / GeoTIFF specifics
# ---------------------------------------------------------------------------------------------
def test_envi_header_content(tmp_path, cube, meta):
    rasterio = pytest.importorskip("rasterio")
    data = write_cube(tmp_path / "out.hdr", cube, meta)
    assert data == tmp_path / "out.img"
    hdr = (tmp_path / "out.hdr").read_text()
    assert "wavelength = {" in hdr
    assert "fwhm = {" in hdr
    assert "wavelength units = Nanometers" in hdr
    assert "data ignore value = -9999" in hdr
    # nearest to 650, 550, 460 nm: 655.3 (5), 552 (3), 445 (1) -- 1-based
    assert "default bands = {5, 3, 1}" in hdr
    assert "map info = {UTM" in hdr
    assert ".tmp" not in hdr  # the description names the final file
    with rasterio.open(data) as src:
        assert (src.count, src.height, src.width) == (6, 7, 9)
        assert src.crs.to_epsg() == 32633
        np.testing.assert_array_equal(src.read(), cube)
        envi = src.tags(ns="ENVI")
        assert [float(v) for v in envi["wavelength"].strip("{}").split(",")] == pytest.approx(WL)
    assert _listing(tmp_path) == ["out.hdr", "out.img"]


def test_geotiff_profile_and_tags(tmp_path, cube, meta):
    rasterio = pytest.importorskip("rasterio")
    out = write_cube(tmp_path / "out.tif", cube, meta)
    with rasterio.open(out) as src:
        assert src.dtypes[0] == "float32"
        assert src.compression.name.lower() == "deflate"
        assert src.profile["tiled"]
        assert src.nodata == -9999.0
        assert src.descriptions[4] == "655.3 nm"
        assert src.tags(5)["wavelength"] == "655.3"
        assert src.tags(5)["wavelength_units"] == "nm"
        assert src.tags(5)["fwhm"] == "14"
    assert _listing(tmp_path) == ["out.tif"]


def test_band_names_round_trip(tmp_path, cube, meta):
    pytest.importorskip("rasterio")
    names = [f"b{i}" for i in range(6)]
    m = meta.replace(band_names=names)
    for ext in (".tif", ".img", ".h5"):
        _, back = read_cube(write_cube(tmp_path / f"n{ext}", cube, m))
        assert back.band_names == names, ext


# ---------------------------------------------------------------------------------------------
# overwrite, errors, atomicity
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".npy", ".tif", ".hdr"])
def test_overwrite_protection(tmp_path, cube, meta, ext):
    if ext != ".npy":
        pytest.importorskip("rasterio")
    out = tmp_path / f"o{ext}"
    write_cube(out, cube, meta)
    with pytest.raises(FileExistsError) as exc:
        write_cube(out, cube * 2, meta)
    assert str(exc.value) == f"{out} exists; pass --overwrite to replace it"
    np.testing.assert_array_equal(read_cube(out)[0], cube)
    write_cube(out, cube * 2, meta, overwrite=True)
    np.testing.assert_array_equal(read_cube(out)[0], cube * 2)


def test_envi_header_alone_blocks_write(tmp_path, cube):
    (tmp_path / "o.hdr").write_text("ENVI\n")
    with pytest.raises(FileExistsError):
        write_cube(tmp_path / "o.img", cube)


def test_stale_aux_xml_removed(tmp_path, cube, meta):
    pytest.importorskip("rasterio")
    aux = tmp_path / "o.tif.aux.xml"
    aux.write_text("<PAMDataset><PAMRasterBand band='1'><Description>stale</Description>"
                   "</PAMRasterBand></PAMDataset>")
    write_cube(tmp_path / "o.tif", cube, meta)
    assert not aux.exists()
    assert read_cube(tmp_path / "o.tif")[1].band_names is None


def test_bad_inputs(tmp_path, cube, meta):
    with pytest.raises(ValueError) as exc:
        write_cube(tmp_path / "o.png", cube)
    msg = str(exc.value)
    assert "\n" not in msg and all(e in msg for e in WRITE_EXTENSIONS)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        write_cube(tmp_path / "o.npy", cube[0])
    with pytest.raises(ValueError, match="5 bands but its metadata lists 6"):
        write_cube(tmp_path / "o.npy", cube[:5], meta)
    assert _listing(tmp_path) == []


def _boom(*args, **kwargs):
    raise RuntimeError("disk full (simulated)")


def test_failed_npy_write_leaves_nothing(tmp_path, cube, monkeypatch):
    def partial_save(fh, arr, **kw):
        fh.write(b"\x93NUMPY partial")
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(writers_mod.np, "save", partial_save)
    with pytest.raises(RuntimeError, match="simulated"):
        write_cube(tmp_path / "o.npy", cube)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("ext", [".tif", ".hdr"])
def test_failed_raster_write_leaves_nothing(tmp_path, cube, meta, monkeypatch, ext):
    rasterio = pytest.importorskip("rasterio")
    import rasterio.io

    out = tmp_path / f"o{ext}"
    write_cube(out, cube, meta)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(rasterio.io.DatasetWriter, "write", _boom)
    with pytest.raises(RuntimeError, match="simulated"):
        write_cube(out, cube * 3, meta, overwrite=True)
    # the previous output is intact and no temporary file is left
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failed_mat_and_h5_write_leaves_nothing(tmp_path, cube, meta, monkeypatch):
    import h5py

    monkeypatch.setattr(scipy.io, "savemat", _boom)
    with pytest.raises(RuntimeError):
        write_cube(tmp_path / "o.mat", cube, meta)
    monkeypatch.setattr(h5py.Group, "create_dataset", _boom)
    with pytest.raises(RuntimeError):
        write_cube(tmp_path / "o.h5", cube, meta)
    assert _listing(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# matrices
# ---------------------------------------------------------------------------------------------
def test_write_matrix_csv(tmp_path, monkeypatch):
    srf = np.random.default_rng(0).random((5, 3))
    out = write_matrix_csv(
        tmp_path / "srf.csv", srf, ["blue", "green", "red"], ("wavelength_nm", WL[:5])
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "wavelength_nm,blue,green,red"
    assert lines[1].startswith("445.0,")
    m, header, index = read_matrix_csv(out)
    np.testing.assert_array_equal(m, srf)  # exact float64 round trip
    assert header == ["blue", "green", "red"] and index[0] == "wavelength_nm"
    np.testing.assert_array_equal(read_array(out), srf)

    psf = np.full((3, 3), 1 / 9)
    p2 = write_matrix_csv(tmp_path / "psf.csv", psf)
    np.testing.assert_array_equal(read_array(p2), psf)

    with pytest.raises(FileExistsError, match="pass --overwrite"):
        write_matrix_csv(out, srf)
    write_matrix_csv(out, srf * 2, overwrite=True)
    np.testing.assert_array_equal(read_array(out), srf * 2)
    with pytest.raises(ValueError, match="2 column names"):
        write_matrix_csv(tmp_path / "bad.csv", srf, ["a", "b"])
    with pytest.raises(ValueError, match="index values"):
        write_matrix_csv(tmp_path / "bad.csv", srf, None, ("wl", [1, 2]))

    def bad_replace(*a):
        raise OSError("simulated")

    monkeypatch.setattr(writers_mod.os, "replace", bad_replace)
    with pytest.raises(OSError):
        write_matrix_csv(tmp_path / "new.csv", srf)
    assert _listing(tmp_path) == ["psf.csv", "srf.csv"]
