"""Tests for pfs2c2.dataarray and pfs2c2.io.dataarray: cubes as xarray DataArrays and back, and fusion
of two DataArrays."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.io import RasterMeta, from_dataarray, is_dataarray, to_dataarray, write_cube

from .io.conftest import CRS, FWHM, TRANSFORM, WL

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:rioxarray")

xr = pytest.importorskip("xarray")
pytest.importorskip("rioxarray")


@pytest.fixture
def cube() -> np.ndarray:
    return np.random.default_rng(3).random((6, 7, 9)).astype(np.float32)


@pytest.fixture
def meta() -> RasterMeta:
    return RasterMeta(crs=CRS, transform=TRANSFORM, wavelengths_nm=WL, fwhm_nm=FWHM, units="reflectance")


def test_to_dataarray_form(cube, meta):
    da = to_dataarray(cube, meta, name="reflectance")
    assert is_dataarray(da) and not is_dataarray(cube)
    assert da.dims == ("band", "y", "x") and da.name == "reflectance"
    np.testing.assert_array_equal(da.values, cube)
    np.testing.assert_array_equal(da.band, np.arange(1, 7))
    np.testing.assert_allclose(da.x, 500000.0 + 30.0 * (np.arange(9) + 0.5))  # pixel centres
    np.testing.assert_allclose(da.y, 4000000.0 - 30.0 * (np.arange(7) + 0.5))
    np.testing.assert_allclose(da.wavelength, WL)
    assert da.wavelength.dims == ("band",) and da.wavelength.attrs["units"] == "nm"
    np.testing.assert_allclose(da.fwhm, FWHM)
    assert da.rio.crs.to_epsg() == 32633
    assert tuple(da.rio.transform())[:6] == TRANSFORM
    assert np.isnan(da.rio.nodata) and da.attrs["units"] == "reflectance"


@pytest.mark.parametrize("order", [("band", "y", "x"), ("y", "x", "band")])
def test_round_trip(cube, meta, order):
    da = to_dataarray(cube, meta.replace(band_names=list("abcdef"), nodata=-1.0)).transpose(*order)
    back, m = from_dataarray(da)
    assert back.dtype == np.float32 and back.flags.c_contiguous
    np.testing.assert_array_equal(back, cube)
    assert m == meta.replace(band_names=list("abcdef"), nodata=-1.0)


def test_from_dataarray_micrometres_and_grid_from_coords(cube):
    da = xr.DataArray(
        cube.transpose(1, 2, 0),
        dims=("y", "x", "band"),
        coords={
            "x": 500015.0 + 30.0 * np.arange(9),
            "y": 3999985.0 - 30.0 * np.arange(7),
            "wavelength": ("band", WL / 1000.0, {"units": "um"}),
            "fwhm": ("band", FWHM / 1000.0),
        },
    )
    back, m = from_dataarray(da.rio.write_crs(CRS))
    np.testing.assert_array_equal(back, cube)
    np.testing.assert_allclose(m.wavelengths_nm, WL)
    np.testing.assert_allclose(m.fwhm_nm, FWHM)
    assert m.crs == CRS and m.transform == pytest.approx(TRANSFORM)
    assert m.nodata is None and m.units is None


def test_from_dataarray_without_grid_or_wavelengths(cube):
    back, m = from_dataarray(xr.DataArray(cube, dims=("band", "y", "x")))
    np.testing.assert_array_equal(back, cube)
    assert m.crs is None and m.transform is None and m.wavelengths_nm is None


def test_from_dataarray_refusals(cube):
    with pytest.raises(InputError, match="expected an xarray.DataArray"):
        from_dataarray(cube)
    with pytest.raises(InputError, match="needs 3 dims"):
        from_dataarray(xr.DataArray(cube[0], dims=("y", "x")))
    with pytest.raises(InputError, match="cannot tell the band"):
        from_dataarray(xr.DataArray(cube, dims=("a", "b", "c")))
    with pytest.raises(InputError, match=r"\(C, H, W\)"):
        to_dataarray(cube[0])


def test_missing_xarray_is_one_line(monkeypatch, cube):
    real_import = builtins.__import__

    def no_xarray(name, *args, **kwargs):
        if name in ("xarray", "rioxarray"):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_xarray)
    with pytest.raises(InputError) as exc:
        to_dataarray(cube)
    msg = str(exc.value)
    assert "\n" not in msg and "pip install 'pfs2c2[xarray]'" in msg


def test_open_dataarray_reads_files(tmp_path, cube, meta):
    from pfs2c2.dataarray import open_dataarray

    for ext in (".tif", ".hdr", ".h5"):
        path = write_cube(tmp_path / f"c{ext}", cube, meta)
        da = open_dataarray(path if ext != ".hdr" else tmp_path / "c.hdr")
        np.testing.assert_array_equal(da.values, cube)
        np.testing.assert_allclose(da.wavelength, WL)
        assert tuple(da.rio.transform())[:6] == TRANSFORM and da.rio.crs.to_epsg() == 32633
    with pytest.raises(InputError, match="for products"):
        open_dataarray(tmp_path / "c.tif", bands="20m")


def test_rioxarray_agrees_on_the_grid(tmp_path, cube, meta):
    rioxarray = pytest.importorskip("rioxarray")
    da = to_dataarray(cube, meta)
    theirs = rioxarray.open_rasterio(write_cube(tmp_path / "c.tif", cube, meta))
    np.testing.assert_allclose(theirs.x, da.x)
    np.testing.assert_allclose(theirs.y, da.y)
    assert theirs.rio.transform() == da.rio.transform()
    assert list(theirs.attrs["long_name"]) == [f"{w:g} nm" for w in WL]


def test_fuse_dataarrays_returns_the_msi_grid_and_hsi_bands(monkeypatch):
    import dataclasses

    import pfs2c2.dataarray as mod
    import pfs2c2.fusion

    rng = np.random.default_rng(0)
    hsi = rng.random((6, 4, 5)).astype(np.float32)
    msi = rng.random((3, 8, 10)).astype(np.float32)
    msi[:, 0, 0] = np.nan
    msi_t = (15.0, 0.0, 500000.0, 0.0, -15.0, 4000000.0)
    lr = to_dataarray(hsi, RasterMeta(crs=CRS, transform=TRANSFORM, wavelengths_nm=WL, fwhm_nm=FWHM), name="r")
    hr = to_dataarray(msi, RasterMeta(crs=CRS, transform=msi_t, wavelengths_nm=[490.0, 560.0, 665.0]))
    cloud = np.ones((4, 5), bool)
    cloud[3, 4] = False  # a product's valid coordinate is used as the mask
    lr = lr.assign_coords(valid=(("y", "x"), cloud))
    seen = {}

    @dataclasses.dataclass
    class Result:
        fused: np.ndarray

    def fake_fuse(y, z, **kwargs):  # what fusion.fuse runs on the arrays taken out of the DataArrays
        seen.update(y=y, z=z, **kwargs)
        return Result(np.ones((6, 8, 10), np.float32))

    monkeypatch.setattr(pfs2c2.fusion, "fuse", fake_fuse)
    fused, result = mod.fuse_dataarrays(lr, hr.transpose("y", "x", "band"), ratio=2, return_result=True)
    assert isinstance(result, Result) and seen["ratio"] == 2 and seen["mask_nonfinite"] is True
    assert result.fused is fused
    np.testing.assert_array_equal(seen["y"], hsi)
    assert seen["z"].shape == (3, 8, 10)
    assert not seen["msi_mask"][0, 0] and seen["msi_mask"].sum() == 79
    assert not seen["hsi_mask"][3, 4] and seen["hsi_mask"].sum() == 19
    assert fused.dims == ("band", "y", "x") and fused.shape == (6, 8, 10) and fused.name == "r"
    np.testing.assert_allclose(fused.wavelength, WL)
    np.testing.assert_allclose(fused.x, hr.x)
    assert tuple(fused.rio.transform())[:6] == msi_t and fused.rio.crs.to_epsg() == 32633
    with pytest.raises(InputError, match="different CRS"):
        mod.fuse_dataarrays(lr, hr.rio.write_crs("EPSG:32632"))
    with pytest.raises(InputError, match="must be an xarray.DataArray"):
        mod.fuse_dataarrays(hsi, hr)
    with pytest.raises(InputError, match="as xarray.DataArrays or both as arrays"):
        pfs2c2.fusion._fuse_dataarrays(lr, msi, hsi_mask=None, msi_mask=None, mask_nonfinite=False, layout="chw")
    direct = pfs2c2.fusion.__dict__["_fuse_dataarrays"](
        lr, hr, hsi_mask=None, msi_mask=None, mask_nonfinite=False, layout="chw", ratio=2
    )
    assert direct.fused.dims == ("band", "y", "x")  # pfs2c2.fuse itself returns a DataArray for DataArrays


@pytest.mark.slow
def test_fuse_dataarrays_end_to_end():
    import pfs2c2
    from pfs2c2.dataarray import fuse_dataarrays

    rng = np.random.default_rng(0)
    hsi = rng.random((6, 8, 8)).astype(np.float32)
    msi = rng.random((3, 32, 32)).astype(np.float32)
    lr = to_dataarray(hsi, RasterMeta(crs=CRS, transform=(40.0, 0, 5e5, 0, -40.0, 4e6), wavelengths_nm=WL))
    hr = to_dataarray(msi, RasterMeta(crs=CRS, transform=(10.0, 0, 5e5, 0, -10.0, 4e6)))
    fused = fuse_dataarrays(lr, hr, config=pfs2c2.FusionConfig.preset_config("fast"))
    assert fused.shape == (6, 32, 32)


def test_open_dataarray_reads_a_product(tmp_path):
    from pfs2c2.dataarray import open_dataarray, valid_coordinate
    from pfs2c2.products import read_product

    from .products.make_enmap import make_enmap

    folder = make_enmap(tmp_path / "enmap")
    product = read_product(folder)
    da = open_dataarray(folder)
    assert da.attrs["sensor"] == product.sensor and da.attrs["level"] == "L2A" and da.attrs["kind"] == "hsi"
    np.testing.assert_array_equal(da.values, product.cube)
    np.testing.assert_allclose(da.wavelength, product.meta.wavelengths_nm)
    np.testing.assert_array_equal(valid_coordinate(da), product.valid)
    np.testing.assert_array_equal(valid_coordinate(da.transpose("band", "x", "y")), product.valid)
    cube, meta = from_dataarray(da)
    assert meta.crs == product.meta.crs and meta.transform == product.meta.transform


def test_importing_io_does_not_import_xarray():
    import subprocess
    import sys

    code = "import sys, pfs2c2.io; assert 'xarray' not in sys.modules and 'rioxarray' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
