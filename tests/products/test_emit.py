"""EMIT L2A reflectance reader: GLT orthorectification, bad bands, fill, mask granule, refusals, detection."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.products import READERS, ProductError, detect_product, read_product
from pfs2c2.products.emit import orthorectify, read_emit

from .make_emit import (
    BAD_BAND_VALUE,
    FILL_PIXEL,
    GRANULE_ID,
    PARTIAL_FILL_PIXEL,
    ground_position,
    make_emit,
    mask_flags,
    reflectance_value,
)
from .make_emit import emit_wavelengths as fixture_wavelengths

SIZE = (16, 18)
BANDS = 40


@pytest.fixture(scope="module")
def granule(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_emit(tmp_path_factory.mktemp("emit"), size=SIZE, bands=BANDS, bad_bands=4)


@pytest.fixture(scope="module")
def masked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_emit(tmp_path_factory.mktemp("emit_mask"), size=SIZE, bands=BANDS, with_mask=True)


def _glt(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as f:
        return f["location/glt_x"][()], f["location/glt_y"][()]


def _cells_of(path: Path, pixels: np.ndarray) -> np.ndarray:
    """(H, W) bool: grid cells whose GLT points at a swath pixel where ``pixels`` (downtrack, crosstrack)."""
    gx, gy = _glt(path)
    covered = (gx > 0) & (gy > 0)
    out = np.zeros(gx.shape, dtype=bool)
    out[covered] = pixels[gy[covered] - 1, gx[covered] - 1]
    return out


def _one_line_error(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ProductError) as info:
        call(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text and isinstance(info.value, InputError)
    return text


# ---------------------------------------------------------------- orthorectification


def test_glt_is_not_trivial(granule: Path) -> None:
    gx, gy = _glt(granule)
    assert gx.shape != SIZE  # the rotated swath's bounding grid is larger
    assert np.any(gx == 0) and np.any(gx > 0)
    middle = gy.shape[0] // 2
    assert len(np.unique(gy[middle][gy[middle] > 0])) > 2  # a grid row crosses several downtrack lines
    assert len(np.unique(gx[:, gx.shape[1] // 2])) > 2  # a grid column crosses several crosstrack columns


def test_glt_orthorectification_matches_the_fixture_mapping(granule: Path) -> None:
    p = read_emit(granule)
    gx, gy = _glt(granule)
    _, _, good = fixture_wavelengths(BANDS, 4)
    keep = np.flatnonzero(good)
    assert p.cube.shape == (keep.size, *gx.shape) and p.cube.dtype == np.float32
    covered = (gx > 0) & (gy > 0)
    fill = _cells_of(granule, _pixel_set(FILL_PIXEL, PARTIAL_FILL_PIXEL))
    checked = 0
    for r, c in zip(*np.nonzero(covered & ~fill), strict=True):
        want = [reflectance_value(int(gy[r, c]) - 1, int(gx[r, c]) - 1, int(b), SIZE, BANDS) for b in keep]
        np.testing.assert_array_equal(p.cube[:, r, c], np.asarray(want, dtype=np.float32))
        checked += 1
    assert checked > SIZE[0] * SIZE[1] * 0.8
    assert np.all(np.isnan(p.cube[:, ~covered])) and not np.any(p.valid[~covered])
    assert np.array_equal(p.valid, covered & ~fill)


def test_transform_puts_each_swath_pixel_where_its_ground_position_is(granule: Path) -> None:
    """Independent of the GLT: the cell containing a swath pixel's lon/lat holds that pixel's value."""
    p = read_emit(granule)
    a, b, c, d, e, f = p.meta.transform  # type: ignore[misc]
    assert b == 0 and d == 0
    hits = 0
    for down in range(1, SIZE[0] - 1):
        for cross in range(1, SIZE[1] - 1):
            if (down, cross) in (FILL_PIXEL, PARTIAL_FILL_PIXEL):
                continue
            lon, lat = ground_position(down, cross)
            col, row = math.floor((lon - c) / a), math.floor((lat - f) / e)
            value = p.cube[0, row, col]
            hits += bool(value == np.float32(reflectance_value(down, cross, 0, SIZE, BANDS)))
    assert hits > 0.9 * (SIZE[0] - 2) * (SIZE[1] - 2)  # nearest neighbour: a few cells hold a neighbour


def test_meta(granule: Path) -> None:
    p = read_emit(granule)
    with h5py.File(granule, "r") as f:
        gt = f.attrs["geotransform"]
    assert p.meta.crs == "EPSG:4326"
    assert p.meta.transform == (gt[1], gt[2], gt[0], gt[4], gt[5], gt[3])
    assert p.meta.units == "reflectance" and p.meta.nodata is None
    assert (p.sensor, p.level, p.kind) == ("emit", "L2A", "hsi")
    assert p.acquired == "2023-01-01T10:10:10+00:00"
    assert set(p.masks) == {"nodata"}
    assert np.array_equal(p.masks["nodata"], ~p.valid)


def test_orthorectify_refuses_a_glt_outside_the_swath() -> None:
    swath = np.zeros((3, 4, 2), dtype=np.float32)
    gx = np.array([[1, 5]])
    gy = np.array([[1, 1]])
    text = _one_line_error(orthorectify, swath, gx, gy, np.arange(2))
    assert "outside the 3 x 4 swath" in text


def test_orthorectify_reads_negative_glt_entries_like_envi() -> None:
    swath = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
    out = orthorectify(swath, np.array([[-2, 0, 4]]), np.array([[3, 0, -1]]), np.arange(1))
    np.testing.assert_array_equal(out[0, 0], [swath[2, 1, 0], np.nan, swath[0, 3, 0]])


# ---------------------------------------------------------------- bands


def test_bad_bands_dropped_with_their_wavelengths_and_fwhm(tmp_path: Path) -> None:
    path = make_emit(tmp_path, bands=30, bad_bands=6)
    p = read_emit(path)
    wl, fwhm, good = fixture_wavelengths(30, 6)
    assert good.sum() == 24 and p.cube.shape[0] == 24
    assert p.meta.wavelengths_nm is not None and p.meta.fwhm_nm is not None
    np.testing.assert_allclose(p.meta.wavelengths_nm, wl[good == 1].astype(np.float32), rtol=0, atol=1e-3)
    np.testing.assert_allclose(p.meta.fwhm_nm, fwhm[good == 1].astype(np.float32), rtol=0, atol=1e-3)
    dropped = wl[good == 0]
    assert np.all((np.abs(dropped - 1400) < 200) | (np.abs(dropped - 1900) < 200))
    assert not np.any(p.cube == np.float32(BAD_BAND_VALUE))
    assert p.meta.band_names == [f"B{i + 1:03d}" for i in np.flatnonzero(good)]


def test_missing_good_wavelengths_keeps_every_band(tmp_path: Path) -> None:
    path = make_emit(tmp_path, bands=12, bad_bands=0)
    with h5py.File(path, "r+") as f:
        del f["sensor_band_parameters/good_wavelengths"]
    assert read_emit(path).cube.shape[0] == 12


# ---------------------------------------------------------------- fill and masks


def _pixel_set(*pixels: tuple[int, int]) -> np.ndarray:
    out = np.zeros(SIZE, dtype=bool)
    for d, x in pixels:
        out[d, x] = True
    return out


def test_fill_becomes_nan_and_invalid(granule: Path) -> None:
    p = read_emit(granule)
    for pixel in (FILL_PIXEL, PARTIAL_FILL_PIXEL):  # all bands fill / one good band fill
        cells = _cells_of(granule, _pixel_set(pixel))
        assert cells.any()
        assert np.all(np.isnan(p.cube[:, cells])) and not np.any(p.valid[cells]) and np.all(p.masks["nodata"][cells])
    assert np.all(np.isfinite(p.cube[:, p.valid]))


def test_mask_granule_beside_is_used(masked: Path) -> None:
    p = read_emit(masked)
    flags = mask_flags(SIZE)
    assert set(p.masks) == {"nodata", "cloud", "cirrus", "dilated_cloud", "spacecraft"}
    for name, key in (
        ("Cloud flag", "cloud"),
        ("Cirrus flag", "cirrus"),
        ("Dilated Cloud Flag", "dilated_cloud"),
        ("Spacecraft Flag", "spacecraft"),
    ):
        cells = _cells_of(masked, flags[name])
        assert cells.any(), name
        assert np.array_equal(p.masks[key], cells)
        assert not np.any(p.valid[cells]) and np.all(np.isnan(p.cube[:, cells]))
    water = _cells_of(masked, flags["Water flag"] & ~_pixel_set(FILL_PIXEL, PARTIAL_FILL_PIXEL))
    assert water.any() and np.all(p.valid[water])  # water is an observation, not a reason to drop a pixel
    fractions = p.masked_fractions()
    assert fractions["cloud"] == pytest.approx(p.masks["cloud"].mean())
    assert "MASK" in (p.meta.source or "")


def test_mask_options(masked: Path, tmp_path: Path) -> None:
    assert set(read_emit(masked, mask=False).masks) == {"nodata"}
    only = read_emit(masked, mask_flags=("cloud", "water"))
    assert set(only.masks) == {"nodata", "cloud", "water"}
    water = _cells_of(masked, mask_flags(SIZE)["Water flag"])
    assert not np.any(only.valid[water])
    other = make_emit(tmp_path)  # no mask beside: give one explicitly
    mask_file = masked.with_name(f"EMIT_L2A_MASK_{GRANULE_ID}.nc")
    assert "cloud" in read_emit(other, mask=mask_file).masks
    assert "no EMIT_L2A_MASK granule beside it" in _one_line_error(read_emit, other, mask=True)
    assert "unknown" in _one_line_error(read_emit, masked, mask_flags=("clouds",))


def test_mask_of_another_swath_is_refused(tmp_path: Path) -> None:
    small = make_emit(tmp_path / "a", size=(10, 12), with_mask=True)
    big = make_emit(tmp_path / "b")
    text = _one_line_error(read_emit, big, mask=small.with_name(f"EMIT_L2A_MASK_{GRANULE_ID}.nc"))
    assert "does not match" in text


def test_later_mask_versions_without_spacecraft_band(tmp_path: Path) -> None:
    path = make_emit(tmp_path, with_mask=True)
    mask_file = path.with_name(f"EMIT_L2A_MASK_{GRANULE_ID}.nc")
    with h5py.File(mask_file, "r+") as f:  # v002-style names: capitalised, no spacecraft flag
        names = ["Cloud Flag", "Cirrus Flag", "Water Flag", "Other", "Dilated Cloud Flag", "AOD550", "H2O", "Agg"]
        del f["sensor_band_parameters/mask_bands"]
        f["sensor_band_parameters"].create_dataset("mask_bands", data=names, dtype=h5py.string_dtype())
    p = read_emit(path)
    assert set(p.masks) == {"nodata", "cloud", "cirrus", "dilated_cloud"}
    assert "spacecraft flag" in _one_line_error(read_emit, path, mask_flags=("cloud", "spacecraft"))


# ---------------------------------------------------------------- refusals


def test_l1b_radiance_is_refused(tmp_path: Path) -> None:
    rad = make_emit(tmp_path, level="L1B")
    assert rad.name.startswith("EMIT_L1B_RAD_")
    assert detect_product(rad) == "emit"  # claimed, so that the user gets the fix, not "unknown file"
    text = _one_line_error(read_product, rad)
    assert "L1B" in text and "EMIT_L2A_RFL" in text
    renamed = rad.rename(tmp_path / "scene.nc")  # the content decides when the name says nothing
    assert "radiance" in _one_line_error(read_emit, renamed)


def test_mask_or_uncertainty_file_given_instead_is_refused(masked: Path, tmp_path: Path) -> None:
    mask_file = masked.with_name(f"EMIT_L2A_MASK_{GRANULE_ID}.nc")
    assert "EMIT_L2A_RFL file beside it" in _one_line_error(read_emit, mask_file)
    unc = tmp_path / f"EMIT_L2A_RFLUNCERT_{GRANULE_ID}.nc"
    unc.write_bytes(b"")
    assert "uncertainty" in _one_line_error(read_emit, unc)


def test_missing_location_group_is_refused(tmp_path: Path) -> None:
    path = make_emit(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["location"]
    text = _one_line_error(read_emit, path)
    assert "location" in text and "orthorectified" in text


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: f.attrs.__delitem__("geotransform"), "geotransform is missing"),
        (lambda f: f.__delitem__("reflectance"), "no reflectance variable"),
        (lambda f: f.__delitem__("sensor_band_parameters"), "sensor_band_parameters is missing"),
        (lambda f: f.__delitem__("location/glt_y"), "location/glt_y is missing"),
    ],
)
def test_incomplete_granules_are_refused(tmp_path: Path, edit: Any, expected: str) -> None:
    path = make_emit(tmp_path)
    with h5py.File(path, "r+") as f:
        edit(f)
    assert expected in _one_line_error(read_emit, path)


def test_not_hdf5_missing_file_and_unknown_option(tmp_path: Path, granule: Path) -> None:
    bad = tmp_path / f"EMIT_L2A_RFL_{GRANULE_ID}.nc"
    bad.write_text("not netCDF")
    assert "not a netCDF-4/HDF5 file" in _one_line_error(read_emit, bad)
    assert "no such file" in _one_line_error(read_emit, tmp_path / "nothing.nc")
    assert "unknown option" in _one_line_error(READERS["emit"].read, granule, bands="20m")


# ---------------------------------------------------------------- detection


def test_detection(granule: Path, tmp_path: Path) -> None:
    reader = READERS["emit"]
    assert detect_product(granule) == "emit"
    assert reader.detect(granule.parent)  # a granule folder with one EMIT_L2A_RFL file
    assert read_product(granule.parent).shape == read_emit(granule).shape
    renamed = tmp_path / "my_scene.nc"
    renamed.write_bytes(granule.read_bytes())
    assert reader.detect(renamed)  # by its title attribute
    other = tmp_path / "other.nc"
    with h5py.File(other, "w") as f:
        f.attrs["title"] = "Something else"
    assert not reader.detect(other)
    (tmp_path / "text.nc").write_text("x")
    assert not reader.detect(tmp_path / "text.nc")
    assert not reader.detect(tmp_path / "absent.nc")
    assert not reader.detect(tmp_path)  # no EMIT file in it


def test_fixture_script(tmp_path: Path) -> None:
    script = Path(__file__).with_name("make_emit.py")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "--mask"], capture_output=True, text=True, check=True
    )
    assert Path(done.stdout.strip()).name == f"EMIT_L2A_RFL_{GRANULE_ID}.nc"
    assert (tmp_path / f"EMIT_L2A_MASK_{GRANULE_ID}.nc").is_file()
