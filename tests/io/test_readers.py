"""Tests for pfs2c2.io.readers: format dispatch, errors common to every format, read_array, open_cube."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from pfs2c2.io import (
    READ_FORMATS,
    SUPPORTED_EXTENSIONS,
    CubeReader,
    open_cube,
    read_array,
    read_cube,
    read_matrix_csv,
    write_cube,
    write_matrix_csv,
)
from pfs2c2.io.formats import CUBE_FORMATS

from .conftest import one_line, random_hwc


def test_import_is_lazy():
    code = "import sys, pfs2c2.io; print('rasterio' in sys.modules, 'scipy.io' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_format_table():
    assert list(READ_FORMATS) == ["GeoTIFF/COG", "ENVI", "MATLAB", "NumPy", "HDF5/netCDF-4"]
    assert list(CUBE_FORMATS) == ["tif", "envi", "mat", "npy", "h5"]
    assert SUPPORTED_EXTENSIONS == tuple(e for f in CUBE_FORMATS.values() for e in f.extensions)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        read_cube(tmp_path / "nope.tif")
    assert "nope.tif" in one_line(exc)
    with pytest.raises(FileNotFoundError):
        read_cube(f"{tmp_path / 'nope.mat'}:VAR")
    with pytest.raises(FileNotFoundError):
        open_cube(tmp_path / "nope.tif")


@pytest.mark.parametrize("name", ["bad.tif", "bad.mat", "bad.npy", "bad.h5", "bad.nc", "bad.img"])
def test_corrupt_file_one_line(tmp_path, name):
    if name.endswith((".tif", ".img")):
        pytest.importorskip("rasterio")
    p = tmp_path / name
    p.write_bytes(b"this is not a raster \x00\x01\x02 garbage" * 20)
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    msg = one_line(exc)
    assert msg.startswith(f"cannot read {p}:"), msg
    assert len(msg) < 400
    with pytest.raises(ValueError) as exc:
        open_cube(p)
    assert one_line(exc) == msg


def test_unknown_extension_lists_supported(tmp_path):
    p = tmp_path / "cube.xyz"
    p.write_bytes(b"1")
    with pytest.raises(ValueError) as exc:
        read_cube(p)
    msg = one_line(exc)
    assert "cube.xyz" in msg and all(e in msg for e in SUPPORTED_EXTENSIONS)
    (tmp_path / "m.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match="text tables hold 2-D matrices"):
        open_cube(tmp_path / "m.csv")


def test_wavelengths_override(tmp_path):
    p = tmp_path / "c.npy"
    np.save(p, random_hwc(c=3))
    _, meta = read_cube(p, wavelengths=[0.4, 0.5, 0.6])
    np.testing.assert_allclose(meta.wavelengths_nm, [400, 500, 600])
    with pytest.raises(ValueError) as exc:
        read_cube(p, wavelengths=[400, 500])
    assert "2 wavelengths" in one_line(exc) and "3 bands" in str(exc.value)
    src = open_cube(p, wavelengths=[0.4, 0.5, 0.6])
    assert src.meta == meta and src.read()[1] == meta and src.window_meta((1, 1, 1, 1)) == meta
    with pytest.raises(ValueError, match="2 wavelengths given for a cube with 3 bands"):
        open_cube(p, wavelengths=[400, 500])


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
    assert "read_cube" in one_line(exc)
    with pytest.raises(ValueError, match="non-numeric"):
        (tmp_path / "bad.csv").write_text("a,b\n1,x\n")
        read_array(tmp_path / "bad.csv")
    (tmp_path / "k.png").write_bytes(b"1")
    with pytest.raises(ValueError, match="as a matrix: unknown extension '.png'"):
        read_array(tmp_path / "k.png")


# ---------------------------------------------------------------------------------------------
# open_cube: the handle itself (per-format probes are tested in test_<format>.py)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".tif", ".hdr", ".npy", ".mat", ".h5"])
def test_open_cube_equals_read_cube_for_every_format(tmp_path, ext):
    if ext in (".tif", ".hdr"):
        pytest.importorskip("rasterio")
    from pfs2c2.io import RasterMeta

    cube = np.random.default_rng(1).random((5, 8, 6)).astype(np.float32)
    meta = RasterMeta(
        crs="EPSG:32633",
        transform=(20.0, 0.0, 1000.0, 0.0, -20.0, 9000.0),
        wavelengths_nm=[450.0, 500.0, 550.0, 600.0, 650.0],
        nodata=-1.0,
    )
    write_cube(tmp_path / f"c{ext}", cube, meta)
    spec = tmp_path / f"c{ext}"
    with open_cube(spec) as src:
        assert isinstance(src, CubeReader)
        assert src.shape == read_cube(spec)[0].shape == (5, 8, 6)
        assert src.meta == read_cube(spec)[1] and src.meta.source == read_cube(spec)[1].source
        assert src.path == spec and src.var is None and src.spec == str(spec)
        for window in (None, (0, 0, 8, 6), (0, 0, 1, 1), (3, 2, 4, 3)):
            got, got_meta = src.read(window)
            want, want_meta = read_cube(spec, window=window)
            assert got.dtype == want.dtype == np.float32 and got.tobytes() == want.tobytes()
            assert got_meta == want_meta == src.window_meta(window)
        again = pickle.loads(pickle.dumps(src))
        assert again.read((3, 2, 4, 3))[0].tobytes() == src.read((3, 2, 4, 3))[0].tobytes()
        assert repr(src).startswith("CubeReader(") and "shape=(5, 8, 6)" in repr(src)


def test_open_cube_window_errors(tmp_path):
    p = tmp_path / "c.npy"
    np.save(p, random_hwc(h=4, w=5))
    src = open_cube(p)
    with pytest.raises(ValueError) as exc:
        src.window_meta((0, 4, 1, 2))
    assert one_line(exc) == f"{p}: window (0, 4, 1, 2) (row_off, col_off, height, width) is outside the 4 x 5 image"
    with pytest.raises(ValueError, match="window must be"):
        src.window_meta("top-left")
    with pytest.raises(ValueError, match="outside"):
        src.read((0, 0, 5, 5))
