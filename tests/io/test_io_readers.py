"""Tests for pfs2c2.io.readers and pfs2c2.io.meta (fixtures are tiny files made in tmp_path)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from pfs2c2.io import (
    SUPPORTED_EXTENSIONS,
    RasterMeta,
    read_array,
    read_cube,
    read_matrix_csv,
    wavelengths_to_nm,
    write_matrix_csv,
)

REAL_MAT = Path(__file__).resolve().parents[3] / "shared/data/hsi/aviris_90x90x224_gatorsense.mat"


def _hwc(h: int = 4, w: int = 5, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, c)).astype(np.float32)


def _chw(hwc: np.ndarray) -> np.ndarray:
    return np.transpose(hwc, (2, 0, 1))


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    return msg


def write_mat73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """Write a MATLAB v7.3 file the way MATLAB does: HDF5 with a 512-byte header, arrays transposed."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, arr in variables.items():
            arr = np.asarray(arr)
            if arr.ndim == 1:
                arr = arr.reshape(-1, 1)  # MATLAB has no 1-D arrays
            ds = f.create_dataset(name, data=arr.T)  # column-major -> stored reversed
            cls = {"float32": "single", "float64": "double", "int16": "int16", "uint16": "uint16"}
            ds.attrs["MATLAB_class"] = np.bytes_(cls[arr.dtype.name])
        grp = f.create_group("#refs#")
        grp.create_dataset("a", data=np.zeros((2, 2, 2)))
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan 1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")


# ---------------------------------------------------------------------------------------------
# meta
# ---------------------------------------------------------------------------------------------
def test_wavelengths_to_nm_units_and_guess():
    np.testing.assert_allclose(wavelengths_to_nm([0.45, 0.55]), [450.0, 550.0])
    np.testing.assert_allclose(wavelengths_to_nm([450, 550]), [450.0, 550.0])
    np.testing.assert_allclose(wavelengths_to_nm([0.45], "Micrometers"), [450.0])
    np.testing.assert_allclose(wavelengths_to_nm([450], "Nanometers"), [450.0])
    np.testing.assert_allclose(wavelengths_to_nm([0.45], "Unknown"), [450.0])
    with pytest.raises(ValueError):
        wavelengths_to_nm([np.nan])


def test_raster_meta_helpers():
    m = RasterMeta(
        crs="EPSG:32633",
        transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0),
        wavelengths_nm=[0.45, 0.55, 0.65],
        fwhm_nm=[0.01, 0.01, 0.01],
    )
    np.testing.assert_allclose(m.wavelengths_nm, [450, 550, 650])
    np.testing.assert_allclose(m.fwhm_nm, [10, 10, 10])
    assert m.pixel_size() == (30.0, 30.0)
    assert m.is_georeferenced
    assert not RasterMeta().is_georeferenced
    assert RasterMeta().pixel_size() is None
    other = RasterMeta(crs="EPSG:4326", transform=(1e-4, 0, 10, 0, -1e-4, 50))
    g = m.with_grid(other)
    assert g.crs == "EPSG:4326" and g.transform == other.transform
    np.testing.assert_allclose(g.wavelengths_nm, m.wavelengths_nm)
    assert m.crs == "EPSG:32633"  # original unchanged
    assert RasterMeta.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="4 bands but its metadata lists 3"):
        m.check_bands(4)
    with pytest.raises(ValueError, match="FWHM"):
        RasterMeta(wavelengths_nm=[450, 550], fwhm_nm=[10])


def test_import_is_lazy():
    code = "import sys, pfs2c2.io; print('rasterio' in sys.modules, 'scipy.io' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------------------------------
# MATLAB
# ---------------------------------------------------------------------------------------------
def test_mat_v5_auto_variable_and_wavelengths(tmp_path):
    hwc = (_hwc() * 1000).astype(np.int16)
    p = tmp_path / "scene.mat"
    scipy.io.savemat(p, {"img": hwc, "wavelengths": np.array([[0.45], [0.55], [0.65]]), "note": "x"})
    cube, meta = read_cube(p)
    assert cube.shape == (3, 4, 5) and cube.dtype == np.float32 and cube.flags.c_contiguous
    np.testing.assert_array_equal(cube, _chw(hwc).astype(np.float32))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])
    assert meta.crs is None and meta.transform is None


def test_mat_var_selection_and_several_arrays_error(tmp_path):
    a, b = _hwc(seed=1), _hwc(c=2, seed=2)
    p = tmp_path / "two.mat"
    scipy.io.savemat(p, {"HSim": a, "MSim": b, "wavelength": np.array([400.0, 500.0, 600.0])})
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    msg = _one_line(exc)
    assert "HSim" in msg and "MSim" in msg and f"{p}:VAR" in msg
    with pytest.warns(UserWarning, match="does not match the 2 bands"):
        cube, meta = read_cube(f"{p}:MSim")
    np.testing.assert_array_equal(cube, _chw(b))
    assert meta.wavelengths_nm is None  # 3 wavelengths do not match 2 bands
    cube, meta = read_cube(f"{p}:HSim")
    np.testing.assert_array_equal(cube, _chw(a))
    np.testing.assert_allclose(meta.wavelengths_nm, [400, 500, 600])
    with pytest.raises(ValueError) as exc:
        read_cube(f"{p}:nope")
    assert "nope" in _one_line(exc) and "HSim" in str(exc.value)


def test_mat_v73_orientation(tmp_path):
    hwc = _hwc(h=4, w=6, c=3)
    p = tmp_path / "v73.mat"
    write_mat73(p, {"cube": hwc, "wavelength": np.array([450.0, 550.0, 650.0])})
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(p)  # really a v7.3 file
    cube, meta = read_cube(p)
    assert cube.shape == (3, 4, 6)
    np.testing.assert_array_equal(cube, _chw(hwc))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])
    win, _ = read_cube(f"{p}:cube", window=(1, 2, 2, 3))
    np.testing.assert_array_equal(win, _chw(hwc)[:, 1:3, 2:5])


def test_mat_2d_error(tmp_path):
    p = tmp_path / "psf.mat"
    scipy.io.savemat(p, {"psf": np.ones((5, 5)) / 25})
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    assert "holds a 2-D array (5, 5); a cube needs 3 dimensions (H, W, bands)" in _one_line(exc)
    np.testing.assert_allclose(read_array(p), np.ones((5, 5)) / 25)


# ---------------------------------------------------------------------------------------------
# NumPy, HDF5
# ---------------------------------------------------------------------------------------------
def test_npy_cube_window_and_2d_error(tmp_path):
    hwc = _hwc(h=6, w=7, c=4)
    p = tmp_path / "c.npy"
    np.save(p, hwc)
    cube, meta = read_cube(p)
    np.testing.assert_array_equal(cube, _chw(hwc))
    win, _ = read_cube(p, window=(2, 3, 3, 2))
    np.testing.assert_array_equal(win, _chw(hwc)[:, 2:5, 3:5])
    with pytest.raises(ValueError, match="outside"):
        read_cube(p, window=(5, 0, 3, 3))
    p2 = tmp_path / "m.npy"
    np.save(p2, np.zeros((8, 9)))
    with pytest.raises(ValueError) as exc:
        read_cube(p2)
    assert _one_line(exc) == (
        f"{p2} holds a 2-D array (8, 9); a cube needs 3 dimensions (H, W, bands)"
    )


def test_h5_auto_select_layout_and_wavelengths(tmp_path):
    hwc = _hwc(c=3)
    p = tmp_path / "a.h5"
    with h5py.File(p, "w") as f:
        ds = f.create_dataset("data/cube", data=hwc)
        ds.attrs["wavelength"] = [0.45, 0.55, 0.65]
        f.create_dataset("other/vector", data=np.arange(10.0))
    cube, meta = read_cube(p)
    np.testing.assert_array_equal(cube, _chw(hwc))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])

    p2 = tmp_path / "b.nc"
    with h5py.File(p2, "w") as f:
        ds = f.create_dataset("reflectance", data=_chw(hwc))
        ds.attrs["layout"] = "CHW"
        f.create_dataset("sensor/wavelengths", data=[450.0, 550.0, 650.0])
        f.create_dataset("cube2", data=hwc)
    with pytest.raises(ValueError) as exc:
        read_cube(p2)
    msg = _one_line(exc)
    assert "/reflectance" in msg and "/cube2" in msg and ":VAR" in msg
    cube, meta = read_cube(f"{p2}:/reflectance")
    np.testing.assert_array_equal(cube, _chw(hwc))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])
    cube, _ = read_cube(f"{p2}:cube2", window=(0, 1, 2, 2))
    np.testing.assert_array_equal(cube, _chw(hwc)[:, 0:2, 1:3])


def test_h5_netcdf_dimension_names(tmp_path):
    hwc = _hwc(h=4, w=5, c=3)
    p = tmp_path / "dims.nc"
    with h5py.File(p, "w") as f:
        for name, n in (("bands", 3), ("y", 4), ("x", 5)):
            f.create_dataset(name, data=np.arange(n, dtype=np.float64))
            f[name].make_scale(name)
        ds = f.create_dataset("radiance", data=_chw(hwc))
        for i, name in enumerate(("bands", "y", "x")):
            ds.dims[i].attach_scale(f[name])
    cube, _ = read_cube(p)
    np.testing.assert_array_equal(cube, _chw(hwc))


def test_h5_cf_scale_and_fill(tmp_path):
    dn = np.full((3, 4, 2), 100, dtype=np.int16)
    dn[0, 0, :] = -1
    p = tmp_path / "cf.h5"
    with h5py.File(p, "w") as f:
        ds = f.create_dataset("r", data=dn)
        ds.attrs["scale_factor"] = 0.01
        ds.attrs["add_offset"] = 0.5
        ds.attrs["_FillValue"] = -1
    cube, meta = read_cube(p)
    assert cube[0, 1, 1] == pytest.approx(1.5)
    assert np.all(cube[:, 0, 0] == -1)  # fill pixels keep their value
    assert meta.scale == pytest.approx(0.01) and meta.offset == pytest.approx(0.5)
    assert meta.nodata == -1


# ---------------------------------------------------------------------------------------------
# GeoTIFF / ENVI written directly with rasterio (not with our writer)
# ---------------------------------------------------------------------------------------------
def test_geotiff_dn_scale_descriptions(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    dn = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5) + 10
    dn[:, 0, 0] = 0
    p = tmp_path / "dn.tif"
    with rasterio.open(
        p, "w", driver="GTiff", width=5, height=4, count=3, dtype="uint16", nodata=0,
        crs="EPSG:32633", transform=Affine(10, 0, 500000, 0, -10, 4000000),
    ) as dst:
        dst.write(dn)
        dst.scales = (1e-4, 1e-4, 1e-4)
        for i, d in enumerate(["490.5 nm", "560 nm", "665.2 nm"]):
            dst.set_band_description(i + 1, d)
    cube, meta = read_cube(p)
    assert cube.dtype == np.float32
    np.testing.assert_allclose(cube[:, 1:, :], dn[:, 1:, :] * 1e-4, rtol=1e-6)
    assert np.all(cube[:, 0, 0] == 0)
    np.testing.assert_allclose(meta.wavelengths_nm, [490.5, 560, 665.2])
    assert meta.scale == pytest.approx(1e-4) and meta.offset == 0.0 and meta.nodata == 0
    assert meta.crs == "EPSG:32633" and meta.transform == (10, 0, 500000, 0, -10, 4000000)
    assert meta.band_names is None  # descriptions carried only wavelengths
    win, wmeta = read_cube(p, window=(1, 2, 2, 2))
    np.testing.assert_array_equal(win, cube[:, 1:3, 2:4])
    assert wmeta.transform == (10, 0, 500020, 0, -10, 3999990)


@pytest.mark.filterwarnings("ignore:Dataset has no geotransform")
def test_envi_micrometres_header_and_reflectance_scale(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    dn = np.full((2, 3, 4), 5000, dtype=np.int16)
    p = tmp_path / "scene.bsq"
    with rasterio.open(p, "w", driver="ENVI", width=4, height=3, count=2, dtype="int16") as dst:
        dst.write(dn)
        dst.update_tags(ns="ENVI", wavelength="{0.5, 0.6}", fwhm="{0.01, 0.02}",
                        wavelength_units="Micrometers", reflectance_scale_factor="10000")
    for spec in (p, tmp_path / "scene.hdr"):
        cube, meta = read_cube(spec)
        np.testing.assert_allclose(cube, 0.5)
        np.testing.assert_allclose(meta.wavelengths_nm, [500, 600])
        np.testing.assert_allclose(meta.fwhm_nm, [10, 20])
        assert meta.scale == pytest.approx(1e-4)
        assert meta.crs is None and meta.transform is None


@pytest.mark.filterwarnings("ignore:Dataset has no geotransform")
def test_envi_sibling_header_without_extension(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    p = tmp_path / "raw_scene"
    with rasterio.open(p, "w", driver="ENVI", width=2, height=2, count=3, dtype="float32") as dst:
        dst.write(np.ones((3, 2, 2), np.float32))
    assert (tmp_path / "raw_scene.hdr").exists()
    cube, _ = read_cube(p)
    assert cube.shape == (3, 2, 2)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        read_cube(tmp_path / "nope.tif")
    assert "nope.tif" in _one_line(exc)
    with pytest.raises(FileNotFoundError):
        read_cube(f"{tmp_path / 'nope.mat'}:VAR")


@pytest.mark.parametrize("name", ["bad.tif", "bad.mat", "bad.npy", "bad.h5", "bad.nc", "bad.img"])
def test_corrupt_file_one_line(tmp_path, name):
    if name.endswith((".tif", ".img")):
        pytest.importorskip("rasterio")
    p = tmp_path / name
    p.write_bytes(b"this is not a raster \x00\x01\x02 garbage" * 20)
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    msg = _one_line(exc)
    assert msg.startswith(f"cannot read {p}:"), msg
    assert len(msg) < 400


def test_unknown_extension_lists_supported(tmp_path):
    p = tmp_path / "cube.xyz"
    p.write_bytes(b"1")
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    msg = _one_line(exc)
    assert "cube.xyz" in msg and all(e in msg for e in SUPPORTED_EXTENSIONS)


def test_wavelengths_override(tmp_path):
    p = tmp_path / "c.npy"
    np.save(p, _hwc(c=3))
    _, meta = read_cube(p, wavelengths=[0.4, 0.5, 0.6])
    np.testing.assert_allclose(meta.wavelengths_nm, [400, 500, 600])
    with pytest.raises(ValueError) as exc:
        read_cube(p, wavelengths=[400, 500])
    assert "2 wavelengths" in _one_line(exc) and "3 bands" in str(exc.value)


# ---------------------------------------------------------------------------------------------
# read_array
# ---------------------------------------------------------------------------------------------
def test_read_array_formats(tmp_path):
    m = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    np.save(tmp_path / "m.npy", m)
    np.testing.assert_array_equal(read_array(tmp_path / "m.npy"), m)

    csv = write_matrix_csv(
        tmp_path / "srf.csv", m, header=["b", "g", "r"], index=("wavelength_nm", [400, 500, 600, 700])
    )
    np.testing.assert_array_equal(read_array(csv), m)
    mat, header, index = read_matrix_csv(csv)
    assert header == ["b", "g", "r"] and index == ("wavelength_nm", [400.0, 500.0, 600.0, 700.0])

    txt = tmp_path / "psf.txt"
    txt.write_text("# a kernel\n0.25 0.25\n0.25 0.25\n")
    np.testing.assert_array_equal(read_array(txt), np.full((2, 2), 0.25))

    scipy.io.savemat(tmp_path / "k.mat", {"srf": m, "wl": np.arange(4.0)})
    np.testing.assert_array_equal(read_array(tmp_path / "k.mat"), m)

    np.save(tmp_path / "c.npy", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError) as exc:
        read_array(tmp_path / "c.npy")
    assert "read_cube" in _one_line(exc)
    with pytest.raises(ValueError, match="non-numeric"):
        (tmp_path / "bad.csv").write_text("a,b\n1,x\n")
        read_array(tmp_path / "bad.csv")


# ---------------------------------------------------------------------------------------------
# the real file shipped with the project data
# ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(not REAL_MAT.exists(), reason="shared data not present")
def test_real_aviris_mat():
    cube, meta = read_cube(REAL_MAT)
    assert cube.shape == (224, 90, 90) and cube.dtype == np.float32
    assert meta.wavelengths_nm is not None and meta.wavelengths_nm.shape == (224,)
    assert 360 < meta.wavelengths_nm[0] < 370 and 2490 < meta.wavelengths_nm[-1] < 2500
    raw = scipy.io.loadmat(REAL_MAT)["hsi_img"]
    np.testing.assert_array_equal(cube[10], raw[:, :, 10].astype(np.float32))


def test_truncated_envi_is_refused(tmp_path):
    pytest.importorskip("rasterio")
    from pfs2c2.io import write_cube

    data = write_cube(tmp_path / "t.hdr", np.ones((3, 8, 8), np.float32))
    with open(data, "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(ValueError) as exc:
        read_cube(tmp_path / "t.hdr")
    assert "truncated" in _one_line(exc)
