"""PRISMA L2D reader: bands, overlap, reflectance scale, grid, validity, refusals, detection."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from pfs2c2.products import READERS, ProductError, detect_product, read_product
from pfs2c2.products.prisma import read_prisma

from .make_prisma import (
    PAD,
    SCALES,
    band_table,
    dn_value,
    make_plain_hdf5,
    make_prisma,
    make_prisma_zip,
    product_name,
)

ROWS, COLS = 20, 24


def _expected_bands(vnir: int = 12, swir: int = 14, zero: int = 2, overlap: bool = True, priority: str = "swir"):
    """(arm, slot, centre) of the bands the reader should keep, sorted by centre."""
    v_cw, _ = band_table("vnir", vnir, zero, overlap)
    s_cw, _ = band_table("swir", swir, zero, overlap)
    v_cw, s_cw = v_cw.astype(np.float32).astype(float), s_cw.astype(np.float32).astype(float)
    v = [("vnir", b, w) for b, w in enumerate(v_cw) if w > 0]
    s = [("swir", b, w) for b, w in enumerate(s_cw) if w > 0]
    if priority == "swir":
        first_swir = min(w for _, _, w in s)
        v = [t for t in v if t[2] < first_swir]
    else:
        last_vnir = max(w for _, _, w in v)
        s = [t for t in s if t[2] > last_vnir]
    return sorted(v + s, key=lambda t: t[2])


def test_bands_sorted_zero_dropped_and_overlap_handled(tmp_path):
    product = read_prisma(make_prisma(tmp_path))
    wl = product.meta.wavelengths_nm
    expected = _expected_bands()
    assert product.cube.shape == (len(expected), ROWS, COLS)
    assert product.cube.dtype == np.float32
    np.testing.assert_array_equal(wl, [w for _, _, w in expected])
    assert np.all(np.diff(wl) > 0)  # sorted, one band per wavelength
    assert np.all(wl > 0)  # the 2 + 2 zero-centre slots are gone
    # 10 VNIR + 12 SWIR acquired; the VNIR bands at/above the first SWIR centre (930 nm) are dropped
    assert len(wl) == 10 + 12 - 2
    first_swir = wl[[n.startswith("SWIR") for n in product.meta.band_names]].min()
    assert not np.any(wl[[n.startswith("VNIR") for n in product.meta.band_names]] >= first_swir)
    np.testing.assert_array_equal(product.meta.fwhm_nm, [12.0 if a == "vnir" else 10.0 for a, _, _ in expected])
    assert product.meta.band_names[0] == "VNIR_012"  # 410 nm is the last VNIR slot (descending order)


def test_vnir_priority_keeps_vnir_in_the_overlap(tmp_path):
    product = read_prisma(make_prisma(tmp_path), join_priority="vnir")
    expected = _expected_bands(priority="vnir")
    np.testing.assert_array_equal(product.meta.wavelengths_nm, [w for _, _, w in expected])
    assert product.meta.wavelengths_nm.max() > 2400 and 1000.0 in product.meta.wavelengths_nm
    assert np.all(np.diff(product.meta.wavelengths_nm) > 0)


def test_no_overlap_keeps_every_acquired_band(tmp_path):
    product = read_prisma(make_prisma(tmp_path, overlap=False, zero_bands=3))
    assert product.cube.shape[0] == (12 - 3) + (14 - 3)
    assert np.all(np.diff(product.meta.wavelengths_nm) > 0)


def test_reflectance_scale_matches_the_fixture_values(tmp_path):
    product = read_prisma(make_prisma(tmp_path))
    r, c = np.meshgrid(np.arange(ROWS), np.arange(COLS), indexing="ij")
    pad = (r < PAD[0]) & (c < PAD[1])
    for k, (arm, slot, _) in enumerate(_expected_bands()):
        lo, hi = SCALES[arm]
        dn = dn_value(arm, slot, r, c).astype(np.float64)
        expected = (lo + dn * ((hi - lo) / 65535.0)).astype(np.float32)
        np.testing.assert_array_equal(product.cube[k][~pad], expected[~pad])
        # the same numbers, written the way the specification writes the formula
        np.testing.assert_allclose(product.cube[k][~pad], lo + dn[~pad] * (hi - lo) / 65535, rtol=1e-6)
    assert np.all(np.isnan(product.cube[:, pad]))
    assert product.meta.units == "reflectance" and product.meta.nodata is None


def test_known_dn_gives_known_reflectance(tmp_path):
    path = make_prisma(tmp_path)
    with h5py.File(path, "r+") as f:
        f["HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields/VNIR_Cube"][10, :, 10] = 65535
        f["HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields/SWIR_Cube"][10, :, 10] = 0  # single-arm zeros stay valid
    product = read_prisma(path)
    vnir = np.array([n.startswith("VNIR") for n in product.meta.band_names])
    np.testing.assert_allclose(product.cube[vnir, 10, 10], SCALES["vnir"][1], rtol=1e-7)  # DN 65535 -> Max
    np.testing.assert_allclose(product.cube[~vnir, 10, 10], SCALES["swir"][0], rtol=1e-7)  # DN 0 -> Min
    assert product.valid[10, 10]


def test_start_time_is_normalised_to_iso_8601(tmp_path):
    path = make_prisma(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["Product_StartTime"] = np.bytes_("2020-01-01 10:10:10.5")
    assert read_prisma(path).acquired == "2020-01-01T10:10:10.500000"
    with h5py.File(path, "r+") as f:
        del f.attrs["Product_StartTime"]
    assert read_prisma(path).acquired == "2020-01-01T10:10:10"  # from the file name


def test_crs_transform_from_the_corner_centres(tmp_path):
    product = read_prisma(make_prisma(tmp_path))
    assert product.meta.crs == "EPSG:32632"
    assert product.meta.transform == (30.0, 0.0, 500000.0, 0.0, -30.0, 5000000.0)


def test_edge_convention_corners_are_recognised(tmp_path):
    path = make_prisma(tmp_path)
    with h5py.File(path, "r+") as f:  # corners as the outer edges of the grid: n pixels of 30 m between them
        f.attrs["Product_ULcorner_easting"] = 500000.0
        f.attrs["Product_ULcorner_northing"] = 5000000.0
        f.attrs["Product_LRcorner_easting"] = 500000.0 + 30 * COLS
        f.attrs["Product_LRcorner_northing"] = 5000000.0 - 30 * ROWS
    assert read_prisma(path).meta.transform == (30.0, 0.0, 500000.0, 0.0, -30.0, 5000000.0)


def test_validity_metadata_and_product_fields(tmp_path):
    product = read_prisma(make_prisma(tmp_path))
    assert product.valid.shape == (ROWS, COLS) and product.valid.dtype == bool
    assert product.valid.sum() == ROWS * COLS - PAD[0] * PAD[1]
    assert not product.valid[: PAD[0], : PAD[1]].any()
    np.testing.assert_array_equal(product.masks["nodata"], ~product.valid)
    assert np.isfinite(product.cube[:, product.valid]).all()
    assert (product.sensor, product.level, product.kind) == ("prisma", "L2D", "hsi")
    assert product.acquired == "2020-01-01T10:10:10"
    fractions = product.masked_fractions()
    assert fractions["nodata"] == pytest.approx(PAD[0] * PAD[1] / (ROWS * COLS))


@pytest.mark.parametrize("level", ["1", "2B", "2C"])
def test_other_levels_are_refused_in_one_line(tmp_path, level):
    path = make_prisma(tmp_path, level=level)
    with pytest.raises(ProductError, match=rf"PRISMA L{level} product.*order the L2D") as info:
        read_prisma(path)
    assert "\n" not in str(info.value)


def test_level_from_the_file_name_when_the_attribute_is_missing(tmp_path):
    path = make_prisma(tmp_path, level="2C")
    with h5py.File(path, "r+") as f:
        del f.attrs["Processing_Level"]
    with pytest.raises(ProductError, match="PRISMA L2C product"):
        read_prisma(path)


def test_not_hdfeos_and_not_hdf5_are_refused(tmp_path):
    with pytest.raises(ProductError, match="not an HDF-EOS5 PRISMA product") as info:
        read_prisma(make_plain_hdf5(tmp_path / "a"))
    assert "\n" not in str(info.value)
    text = tmp_path / product_name()
    text.write_text("not hdf5")
    with pytest.raises(ProductError, match="not an HDF5 file"):
        read_prisma(text)
    with pytest.raises(ProductError, match="no such file"):
        read_prisma(tmp_path / "missing.he5")


def test_band_count_mismatch_is_refused(tmp_path):
    path = make_prisma(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["List_Cw_Swir"] = np.arange(3, dtype=np.float32) + 1000
    with pytest.raises(ProductError, match="SWIR_Cube has shape"):
        read_prisma(path)


def test_bad_option_is_refused(tmp_path):
    path = make_prisma(tmp_path)
    with pytest.raises(ProductError, match="join_priority"):
        read_prisma(path, join_priority="both")
    with pytest.raises(ProductError, match="unknown option"):
        READERS["prisma"].read(path, bands="10m")


def test_detection_and_dispatch(tmp_path):
    path = make_prisma(tmp_path / "ok")
    assert READERS["prisma"].detect(path)
    assert detect_product(path) == "prisma"
    assert read_product(path).level == "L2D"
    assert READERS["prisma"].detect(make_prisma(tmp_path / "l1", level="1"))  # claimed, then refused by level
    renamed = tmp_path / "ok" / "scene.he5"
    path.rename(renamed)
    assert READERS["prisma"].detect(renamed)  # found by its PRS_ swaths
    other = tmp_path / "other.he5"
    other.write_bytes(b"garbage")
    assert not READERS["prisma"].detect(other)
    assert not READERS["prisma"].detect(tmp_path)
    assert not READERS["prisma"].detect(tmp_path / "missing.he5")


def test_fixture_script_writes_a_product(tmp_path):
    script = Path(__file__).with_name("make_prisma.py")
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True, text=True)
    path = Path(out.stdout.strip())
    assert path == tmp_path / product_name() and path.is_file()
    cmd = [sys.executable, str(script), str(tmp_path / "z"), "--zip"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    zipped = Path(out.stdout.strip())
    assert zipped.suffix == ".zip" and zipfile.ZipFile(zipped).namelist() == [product_name()]


def _assert_same_product(a, b) -> None:
    np.testing.assert_array_equal(a.cube, b.cube)  # NaN at the same (nodata) places
    np.testing.assert_array_equal(a.valid, b.valid)
    np.testing.assert_array_equal(a.meta.wavelengths_nm, b.meta.wavelengths_nm)
    np.testing.assert_array_equal(a.meta.fwhm_nm, b.meta.fwhm_nm)
    assert a.meta.band_names == b.meta.band_names
    assert (a.meta.crs, a.meta.transform) == (b.meta.crs, b.meta.transform)
    assert (a.sensor, a.level, a.acquired) == (b.sensor, b.level, b.acquired)
    np.testing.assert_array_equal(a.masks["nodata"], b.masks["nodata"])


@pytest.mark.parametrize(
    "compression, inner",
    [(zipfile.ZIP_DEFLATED, ""), (zipfile.ZIP_STORED, ""), (zipfile.ZIP_DEFLATED, "PRS_L2D_delivery/")],
    ids=["deflated", "stored", "in-a-folder"],
)
def test_zip_as_delivered_reads_as_the_he5(tmp_path, monkeypatch, compression, inner):
    he5 = read_prisma(make_prisma(tmp_path / "plain"))
    zipped = make_prisma_zip(tmp_path / "zip", compression=compression, inner=inner, extra={"README.txt": b"ASI"})
    extracted: list[object] = []
    real = shutil.copyfileobj
    monkeypatch.setattr(shutil, "copyfileobj", lambda *a: extracted.append(a) or real(*a))
    assert zipped.suffix == ".zip" and zipfile.is_zipfile(zipped)
    product = read_prisma(zipped)
    _assert_same_product(product, he5)
    assert product.meta.source == str(zipped)
    assert READERS["prisma"].detect(zipped) and detect_product(zipped) == "prisma"
    _assert_same_product(read_product(zipped, join_priority="swir"), he5)
    assert len(extracted) == (0 if compression == zipfile.ZIP_STORED else 2)  # a stored member is read in place


def test_zip_extraction_goes_to_tmp_dir_and_is_removed(tmp_path, monkeypatch):
    zipped = make_prisma_zip(tmp_path / "zip")  # deflated: extracted while read
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    seen: list[list[str]] = []
    real = shutil.copyfileobj

    def spy(src, dst, *args):
        real(src, dst, *args)
        seen.append(os.listdir(scratch))

    monkeypatch.setattr(shutil, "copyfileobj", spy)
    product = read_prisma(zipped, tmp_dir=scratch)
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].startswith("pfs2c2-prisma-")  # extracted there
    assert os.listdir(scratch) == []  # and removed afterwards
    assert product.level == "L2D"
    with pytest.raises(ProductError, match="not a folder"):
        read_prisma(zipped, tmp_dir=tmp_path / "missing")


def test_zip_extraction_without_room_is_refused_in_one_line(tmp_path, monkeypatch):
    zipped = make_prisma_zip(tmp_path / "zip")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(ProductError, match=r"needs .* GB but .* free; .*TMPDIR") as info:
        read_prisma(zipped)
    assert "\n" not in str(info.value)


def test_zip_without_an_l2d_he5_is_refused_in_one_line(tmp_path):
    empty = tmp_path / "other.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("README.txt", "no product here")
        z.writestr("PRS_L2D_STD_20200101101010_20200101101015_0001.xml", "<metadata/>")
    with pytest.raises(ProductError, match=r"other\.zip: the \.zip holds no PRS_L2D_\*\.he5") as info:
        read_prisma(empty)
    assert "\n" not in str(info.value)
    assert not READERS["prisma"].detect(empty) and detect_product(empty) is None

    l2c = make_prisma_zip(tmp_path / "l2c", level="2C")  # claimed, then refused by its level
    assert READERS["prisma"].detect(l2c)
    with pytest.raises(ProductError, match=r"PRISMA L2C product.*order the L2D") as info:
        read_product(l2c)
    assert "\n" not in str(info.value)

    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        for k in (1, 2):
            z.writestr(f"PRS_L2D_STD_20200101101010_20200101101015_000{k}.he5", b"x")
    with pytest.raises(ProductError, match="holds 2 PRS_L2D_"):
        read_prisma(two)


def test_broken_zip_member_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(product_name(), b"not an hdf5 file at all")
    with pytest.raises(ProductError, match="cannot read the HDF5 file") as info:
        read_prisma(bad)
    assert "\n" not in str(info.value)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(make_prisma_zip(tmp_path / "zip").read_bytes()[:-200])  # central directory cut off
    with pytest.raises(ProductError, match="not an HDF5 file or a .zip"):
        read_prisma(truncated)
