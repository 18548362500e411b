"""Tests for pfs2c2.io.quicklook: band selection, band subsets and the 8-bit RGB quicklook COG."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.io import RasterMeta, read_cube, select_bands, write_band_subset, write_rgb_quicklook

from .conftest import CRS, FWHM, TRANSFORM, WL

rasterio = pytest.importorskip("rasterio")


@pytest.fixture
def cube() -> np.ndarray:
    return np.random.default_rng(3).random((6, 20, 24)).astype(np.float32)


@pytest.fixture
def meta() -> RasterMeta:
    return RasterMeta(crs=CRS, transform=TRANSFORM, wavelengths_nm=WL, fwhm_nm=FWHM, band_names=list("abcdef"))


def test_select_bands_by_index_and_wavelength(meta):
    assert select_bands(meta, 6, [0, 5, "2"]) == [0, 5, 2]
    assert select_bands(meta, 6, [650.0, "550nm", "610 nm", np.float32(446.0)]) == [4, 2, 3, 0]
    assert select_bands(meta, 6, 3) == [3]


@pytest.mark.parametrize(
    ("bands", "words"),
    [
        ([6], "outside 0..5"),
        ([-1], "outside 0..5"),
        ([900.0], "no band near 900 nm"),
        (["red"], "neither an index"),
        ([True], "neither an index"),
        ([], "no band selected"),
    ],
)
def test_select_bands_refusals(meta, bands, words):
    with pytest.raises(InputError, match=words) as exc:
        select_bands(meta, 6, bands)
    assert "\n" not in str(exc.value)


def test_wavelength_without_wavelengths_is_refused():
    with pytest.raises(InputError, match="has no wavelengths"):
        select_bands(RasterMeta(), 6, [650.0])
    assert select_bands(None, 6, [1]) == [1]


@pytest.mark.parametrize("ext", [".tif", ".hdr", ".npy"])
def test_band_subset_keeps_band_metadata(tmp_path, cube, meta, ext):
    out = write_band_subset(cube, meta, tmp_path / f"sub{ext}", [655.0, 0])
    back, m = read_cube(out if ext != ".hdr" else tmp_path / "sub.hdr")
    np.testing.assert_array_equal(back, cube[[4, 0]])
    if ext == ".npy":
        return
    np.testing.assert_allclose(m.wavelengths_nm, [655.3, 445.0])
    np.testing.assert_allclose(m.fwhm_nm, [14.0, 10.0])
    assert m.band_names == ["e", "a"] and m.crs == CRS and m.transform == TRANSFORM
    with pytest.raises(FileExistsError):
        write_band_subset(cube, meta, tmp_path / f"sub{ext}", [1])


def test_rgb_quicklook(tmp_path, cube, meta):
    cube[:, 0, 0] = np.nan
    cube[2, 1, 1] = np.nan  # invalid in one of the three bands only
    out = write_rgb_quicklook(cube, meta, tmp_path / "rgb.tif", rgb_nm=(650, 550, 460))
    assert os.listdir(tmp_path) == ["rgb.tif"]
    with rasterio.open(out) as src:
        img = src.read()
        assert src.dtypes == ("uint8", "uint8", "uint8") and src.nodata == 0
        assert [c.name for c in src.colorinterp] == ["red", "green", "blue"]
        assert src.descriptions == ("red (655.3 nm)", "green (552 nm)", "blue (445 nm)")
        assert src.crs.to_string() == CRS and tuple(src.transform)[:6] == TRANSFORM
    assert img.shape == (3, 20, 24)
    assert np.all(img[:, 0, 0] == 0) and np.all(img[:, 1, 1] == 0)
    valid = np.ones((20, 24), bool)
    valid[0, 0] = valid[1, 1] = False
    assert img[:, valid].min() >= 1 and img[:, valid].max() == 255
    red = cube[4][valid]
    lo, hi = np.percentile(red, [2, 98])
    # about 2 % of the valid pixels clip at each end; the stretch is monotonic
    assert np.mean(img[0][valid] == 1) == pytest.approx(np.mean(red <= lo), abs=0.01)
    order = np.argsort(red)
    assert np.all(np.diff(img[0][valid][order].astype(int)) >= 0)
    assert lo < hi
    cogeo = pytest.importorskip("rio_cogeo.cogeo")
    assert cogeo.cog_validate(str(out))[0]


def test_rgb_quicklook_refusals(tmp_path, cube, meta):
    with pytest.raises(InputError, match="name it .tif"):
        write_rgb_quicklook(cube, meta, tmp_path / "rgb.png")
    with pytest.raises(InputError, match="has no wavelengths"):
        write_rgb_quicklook(cube, RasterMeta(), tmp_path / "rgb.tif")
    with pytest.raises(InputError, match="percentiles"):
        write_rgb_quicklook(cube, meta, tmp_path / "rgb.tif", stretch=(98, 2))
    with pytest.raises(InputError, match="3 wavelengths"):
        write_rgb_quicklook(cube, meta, tmp_path / "rgb.tif", rgb_nm=(650, 550))
    assert os.listdir(tmp_path) == []


def test_rgb_quicklook_flat_and_empty_bands(tmp_path, meta):
    flat = np.full((6, 4, 4), 0.3, np.float32)
    flat[:, 0, :] = np.nan
    with rasterio.open(write_rgb_quicklook(flat, meta, tmp_path / "flat.tif")) as src:
        img = src.read()
    assert np.all(img[:, 0, :] == 0) and np.all(img[:, 1:, :] == 128)
    with rasterio.open(write_rgb_quicklook(np.full((6, 4, 4), np.nan, np.float32), meta, tmp_path / "nan.tif")) as src:
        assert not src.read().any()
