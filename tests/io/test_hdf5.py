"""Tests for pfs2c2.io.formats.hdf5: HDF5 / netCDF-4 cubes (layouts, CF attributes), probing, writing."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from pfs2c2.io import RasterMeta, open_cube, read_cube, write_cube

from .conftest import assert_windows_match, one_line, random_hwc, to_chw


def test_h5_auto_select_layout_and_wavelengths(tmp_path):
    hwc = random_hwc(c=3)
    p = tmp_path / "a.h5"
    with h5py.File(p, "w") as f:
        ds = f.create_dataset("data/cube", data=hwc)
        ds.attrs["wavelength"] = [0.45, 0.55, 0.65]
        f.create_dataset("other/vector", data=np.arange(10.0))
    cube, meta = read_cube(p)
    np.testing.assert_array_equal(cube, to_chw(hwc))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])

    p2 = tmp_path / "b.nc"
    with h5py.File(p2, "w") as f:
        ds = f.create_dataset("reflectance", data=to_chw(hwc))
        ds.attrs["layout"] = "CHW"
        f.create_dataset("sensor/wavelengths", data=[450.0, 550.0, 650.0])
        f.create_dataset("cube2", data=hwc)
    with pytest.raises(ValueError) as exc:
        read_cube(p2)
    msg = one_line(exc)
    assert "/reflectance" in msg and "/cube2" in msg and ":VAR" in msg
    cube, meta = read_cube(f"{p2}:/reflectance")
    np.testing.assert_array_equal(cube, to_chw(hwc))
    np.testing.assert_allclose(meta.wavelengths_nm, [450, 550, 650])
    cube, _ = read_cube(f"{p2}:cube2", window=(0, 1, 2, 2))
    np.testing.assert_array_equal(cube, to_chw(hwc)[:, 0:2, 1:3])


def test_h5_netcdf_dimension_names(tmp_path):
    hwc = random_hwc(h=4, w=5, c=3)
    p = tmp_path / "dims.nc"
    with h5py.File(p, "w") as f:
        for name, n in (("bands", 3), ("y", 4), ("x", 5)):
            f.create_dataset(name, data=np.arange(n, dtype=np.float64))
            f[name].make_scale(name)
        ds = f.create_dataset("radiance", data=to_chw(hwc))
        for i, name in enumerate(("bands", "y", "x")):
            ds.dims[i].attach_scale(f[name])
    cube, _ = read_cube(p)
    np.testing.assert_array_equal(cube, to_chw(hwc))
    assert open_cube(p).shape == (3, 4, 5)


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
    src = open_cube(p)  # the recorded scale/offset come from the attributes, not the pixels
    assert src.meta == meta and src.meta.scale == meta.scale and src.meta.offset == meta.offset


def test_open_cube_h5_layout_windows_and_grid(tmp_path):
    hwc = random_hwc(h=6, w=8, c=4)
    p = tmp_path / "g.h5"
    with h5py.File(p, "w") as f:
        ds = f.create_dataset("scene/cube", data=np.transpose(hwc, (0, 2, 1)))  # (H, C, W)
        ds.attrs["interleave"] = "bil"
        ds.attrs["wavelength"] = [450.0, 550.0, 650.0, 750.0]
        ds.attrs["crs"] = "EPSG:32633"
        ds.attrs["transform"] = [10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0]
        ds.attrs["band_names"] = np.asarray(["b1x", "b2x", "b3x", "b4x"], dtype=h5py.string_dtype())
    with open_cube(p) as src:
        assert src.shape == (4, 6, 8) and src.format == "HDF5/netCDF-4"
        assert src.meta == read_cube(p)[1] and src.meta.source == f"{p}:/scene/cube"
        assert_windows_match(src, p, (None, (0, 0, 1, 1), (3, 5, 2, 3)))
        assert src.window_meta((3, 5, 1, 1)).transform == (10.0, 0.0, 500050.0, 0.0, -10.0, 3999970.0)
    assert src.closed
    with pytest.raises(ValueError, match="closed"):
        src.read()


def test_open_cube_h5_errors_match_read_cube(tmp_path):
    p = tmp_path / "e.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("psf", data=np.ones((5, 5)))
    with pytest.raises(ValueError) as want:
        read_cube(p)
    with pytest.raises(ValueError) as got:
        open_cube(p)
    assert one_line(got) == one_line(want)
    (tmp_path / "c3.nc").write_bytes(b"CDF\x01" + b"\x00" * 40)
    with pytest.raises(ValueError, match="netCDF-3 classic"):
        open_cube(tmp_path / "c3.nc")


def test_h5_layout(tmp_path):
    cube = np.random.default_rng(3).random((6, 7, 9)).astype(np.float32)
    meta = RasterMeta(
        crs="EPSG:32633",
        transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0),
        wavelengths_nm=np.array([445.0, 480.5, 552.0, 610.0, 655.3, 700.0]),
        fwhm_nm=np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0]),
        nodata=-9999.0,
    )
    out = write_cube(tmp_path / "f.h5", cube, meta)
    with h5py.File(out) as f:
        assert f["fused"].shape == (7, 9, 6)
        assert f["fused"].attrs["layout"] == "HWC"
