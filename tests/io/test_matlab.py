"""Tests for pfs2c2.io.formats.matlab: MATLAB v5 / v7.3 cubes and matrices, read, probed and written."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from pfs2c2.io import RasterMeta, open_cube, read_array, read_cube, write_cube
from pfs2c2.io.formats import matlab as matlab_mod

from .conftest import CRS, FWHM, TRANSFORM, WL, assert_windows_match, one_line, random_hwc, to_chw

REAL_MAT = Path(__file__).resolve().parents[3] / "shared/data/hsi/aviris_90x90x224_gatorsense.mat"


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
# reading
# ---------------------------------------------------------------------------------------------
def test_mat_v5_auto_variable_and_wavelengths(tmp_path):
    hwc = (random_hwc() * 1000).astype(np.int16)
    p = tmp_path / "scene.mat"
    scipy.io.savemat(p, {"img": hwc, "wavelengths": np.array([[0.45], [0.55], [0.65]]), "note": "x"})
    cube, meta = read_cube(p)
    assert cube.shape == (3, 4, 5) and cube.dtype == np.float32 and cube.flags.c_contiguous
    np.testing.assert_array_equal(cube, to_chw(hwc).astype(np.float32))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])
    assert meta.crs is None and meta.transform is None


def test_mat_var_selection_and_several_arrays_error(tmp_path):
    a, b = random_hwc(seed=1), random_hwc(c=2, seed=2)
    p = tmp_path / "two.mat"
    scipy.io.savemat(p, {"HSim": a, "MSim": b, "wavelength": np.array([400.0, 500.0, 600.0])})
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    msg = one_line(exc)
    assert "HSim" in msg and "MSim" in msg and f"{p}:VAR" in msg
    with pytest.warns(UserWarning, match="does not match the 2 bands"):
        cube, meta = read_cube(f"{p}:MSim")
    np.testing.assert_array_equal(cube, to_chw(b))
    assert meta.wavelengths_nm is None  # 3 wavelengths do not match 2 bands
    cube, meta = read_cube(f"{p}:HSim")
    np.testing.assert_array_equal(cube, to_chw(a))
    np.testing.assert_allclose(meta.wavelengths_nm, [400, 500, 600])
    with pytest.raises(ValueError) as exc:
        read_cube(f"{p}:nope")
    assert "nope" in one_line(exc) and "HSim" in str(exc.value)


def test_mat_v73_orientation(tmp_path):
    hwc = random_hwc(h=4, w=6, c=3)
    p = tmp_path / "v73.mat"
    write_mat73(p, {"cube": hwc, "wavelength": np.array([450.0, 550.0, 650.0])})
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(p)  # really a v7.3 file
    cube, meta = read_cube(p)
    assert cube.shape == (3, 4, 6)
    np.testing.assert_array_equal(cube, to_chw(hwc))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])
    win, _ = read_cube(f"{p}:cube", window=(1, 2, 2, 3))
    np.testing.assert_array_equal(win, to_chw(hwc)[:, 1:3, 2:5])


def test_mat_2d_error(tmp_path):
    p = tmp_path / "psf.mat"
    scipy.io.savemat(p, {"psf": np.ones((5, 5)) / 25})
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    assert "holds a 2-D array (5, 5); a cube needs 3 dimensions (H, W, bands)" in one_line(exc)
    np.testing.assert_allclose(read_array(p), np.ones((5, 5)) / 25)
    with pytest.raises(ValueError) as exc:
        open_cube(p)
    assert "holds a 2-D array (5, 5); a cube needs 3 dimensions (H, W, bands)" in one_line(exc)


@pytest.mark.skipif(not REAL_MAT.exists(), reason="shared data not present")
def test_real_aviris_mat():
    cube, meta = read_cube(REAL_MAT)
    assert cube.shape == (224, 90, 90) and cube.dtype == np.float32
    assert meta.wavelengths_nm is not None and meta.wavelengths_nm.shape == (224,)
    assert 360 < meta.wavelengths_nm[0] < 370 and 2490 < meta.wavelengths_nm[-1] < 2500
    raw = scipy.io.loadmat(REAL_MAT)["hsi_img"]
    np.testing.assert_array_equal(cube[10], raw[:, :, 10].astype(np.float32))
    with open_cube(REAL_MAT) as src:
        assert src.shape == cube.shape and src.meta == meta


# ---------------------------------------------------------------------------------------------
# open_cube
# ---------------------------------------------------------------------------------------------
def test_open_cube_mat_v5(tmp_path, monkeypatch):
    hwc = (random_hwc(h=6, w=7, c=3) * 1000).astype(np.int16)
    p = tmp_path / "scene.mat"
    scipy.io.savemat(
        p,
        {"img": hwc, "wavelength": np.array([450.0, 550.0, 650.0]), "transform": np.array([10.0, 0, 100, 0, -10, 900])},
    )
    loaded = []
    real_loadmat = scipy.io.loadmat
    monkeypatch.setattr(
        scipy.io, "loadmat", lambda *a, **kw: loaded.append(kw.get("variable_names")) or real_loadmat(*a, **kw)
    )
    with open_cube(p) as src:
        assert all("img" not in (names or ["img"]) for names in loaded)  # the cube itself is not loaded
        assert src.shape == (3, 6, 7) and src.format == "MATLAB" and src.var is None
        cube, meta = read_cube(p)
        assert src.meta == meta and src.meta.source == meta.source == f"{p}:img"
        assert_windows_match(src, p, (None, (0, 0, 1, 1), (2, 3, 4, 4)))
        assert src.window_meta((2, 3, 1, 1)).transform == (10.0, 0.0, 130.0, 0.0, -10.0, 880.0)


def test_open_cube_mat_v73_select_variable(tmp_path):
    a, b = random_hwc(h=4, w=6, c=3), random_hwc(h=4, w=6, c=2, seed=1)
    p = tmp_path / "v73.mat"
    write_mat73(p, {"a": a, "b": b, "wavelength": np.array([450.0, 550.0, 650.0])})
    with pytest.raises(ValueError) as exc:
        open_cube(p)
    assert "several 3-D arrays" in one_line(exc) and f"{p}:VAR" in str(exc.value)
    src = open_cube(f"{p}:a")
    assert src.shape == (3, 4, 6) and src.var == "a"
    np.testing.assert_allclose(src.meta.wavelengths_nm, [450, 550, 650])
    got, meta = src.read((1, 2, 2, 3))
    np.testing.assert_array_equal(got, to_chw(a)[:, 1:3, 2:5])
    assert meta == read_cube(f"{p}:a", window=(1, 2, 2, 3))[1]
    with pytest.warns(UserWarning, match="does not match the 2 bands"):
        assert open_cube(f"{p}:b").shape == (2, 4, 6)


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def test_mat_layout_and_v73(tmp_path, monkeypatch):
    cube = np.random.default_rng(3).random((6, 7, 9)).astype(np.float32)
    meta = RasterMeta(crs=CRS, transform=TRANSFORM, wavelengths_nm=WL, fwhm_nm=FWHM, nodata=-9999.0)
    out = write_cube(tmp_path / "f.mat", cube, meta)
    d = scipy.io.loadmat(out)
    assert d["fused"].shape == (7, 9, 6) and d["fused"].dtype == np.float32
    np.testing.assert_allclose(d["wavelength"].ravel(), WL)
    monkeypatch.setattr(matlab_mod, "MAT5_MAX_BYTES", 0)  # force the >2 GiB path
    out = write_cube(tmp_path / "big.mat", cube, meta)
    assert scipy.io.matlab.matfile_version(str(out))[0] == 2
    back, m = read_cube(out)
    np.testing.assert_array_equal(back, cube)
    np.testing.assert_allclose(m.wavelengths_nm, WL)
    assert m.crs == CRS and m.transform == pytest.approx(TRANSFORM)
