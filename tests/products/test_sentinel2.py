"""Sentinel-2 L2A reader: reflectance scale of both baselines, SCL masks, grid, wavelengths, .zip, refusals."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.products import READERS, ProductError, detect_product, read_product
from pfs2c2.products.sentinel2 import BAND_TABLE, BANDS_20M, read_sentinel2

from .make_sentinel2 import CRS, ORIGIN, make_sentinel2, scl_layer, true_reflectance

SIZE = (24, 24)


def _expected(bands: tuple[str, ...] | list[str], shape: tuple[int, int]) -> np.ndarray:
    return np.stack([true_reflectance(b, shape) for b in bands]).astype(np.float32)


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("baseline", ["05.10", "03.01"])
def test_both_baselines_give_the_reflectance_written(tmp_path: Path, baseline: str) -> None:
    safe = make_sentinel2(tmp_path, baseline=baseline, clouds="none")
    product = read_product(safe)
    expected = _expected(("B02", "B03", "B04", "B08"), SIZE)
    valid = product.valid
    assert product.cube.dtype == np.float32 and product.cube.shape == (4, 24, 24)
    # exact: (DN + offset) / 10000 with the offset -1000 (05.10) or 0 (03.01) gives back the written value
    np.testing.assert_allclose(product.cube[:, valid], expected[:, valid], rtol=0, atol=1e-7)
    assert np.isnan(product.cube[:, ~valid]).all()
    # dark pixels (row 0) stay below 0.01 in both baselines: the offset was applied, not clipped
    assert np.nanmax(product.cube[:, 0, :]) < 0.01
    assert product.level == "L2A" and product.kind == "msi" and product.meta.units == "reflectance"
    assert product.meta.nodata is None and product.meta.band_names == ["B02", "B03", "B04", "B08"]
    assert product.acquired == ("2023-06-15T10:15:59.024Z" if baseline == "05.10" else "2021-06-15T10:15:59.024Z")


def test_same_scene_reads_the_same_from_both_baselines(tmp_path: Path) -> None:
    new = read_product(make_sentinel2(tmp_path / "new", baseline="05.10", clouds="none"))
    old = read_product(make_sentinel2(tmp_path / "old", baseline="03.01", clouds="none"))
    np.testing.assert_array_equal(new.cube, old.cube)


def test_missing_offset_list_in_a_new_baseline_is_refused(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path, baseline="05.10")
    xml = safe / "MTD_MSIL2A.xml"
    text = xml.read_text()
    start, end = text.index("<BOA_ADD_OFFSET_VALUES_LIST>"), text.index("</BOA_ADD_OFFSET_VALUES_LIST>")
    xml.write_text(text[:start] + text[end + len("</BOA_ADD_OFFSET_VALUES_LIST>") :])
    with pytest.raises(ProductError, match="baseline 05.10.*BOA_ADD_OFFSET_VALUES_LIST") as exc:
        read_product(safe)
    _one_line(exc)


def test_scl_gives_the_masks(tmp_path: Path) -> None:
    product = read_product(make_sentinel2(tmp_path, clouds="some"))
    scl10 = np.kron(scl_layer((12, 12), "some"), np.ones((2, 2), dtype=np.uint8))
    expected = {
        "nodata": scl10 == 0,
        "saturated": scl10 == 1,
        "shadow": scl10 == 3,
        "cloud": np.isin(scl10, (8, 9, 10)),
        "snow": scl10 == 11,
    }
    assert set(product.masks) == set(expected)
    for name, mask in expected.items():
        assert mask.any(), name
        np.testing.assert_array_equal(product.masks[name], mask, err_msg=name)
    np.testing.assert_array_equal(product.valid, ~np.logical_or.reduce(list(expected.values())))
    assert product.valid[scl10 == 7].all() and product.valid[scl10 == 2].all()  # unclassified, dark area
    fractions = product.masked_fractions()
    assert fractions["cloud"] == pytest.approx(24 / 576) and fractions["invalid"] == pytest.approx(48 / 576)


def test_clouds_everywhere_leave_nothing_valid(tmp_path: Path) -> None:
    product = read_product(make_sentinel2(tmp_path, clouds="all"))
    assert not product.valid.any() and np.isnan(product.cube).all()


def test_scl_can_be_skipped(tmp_path: Path) -> None:
    product = read_product(make_sentinel2(tmp_path, clouds="all"), scl=False)
    assert set(product.masks) == {"nodata", "saturated"}
    np.testing.assert_array_equal(product.valid, ~product.masks["nodata"])  # DN 0 only; no DN 65535 written
    assert product.valid.sum() == 576 - 4


def test_grid_from_the_jp2_files(tmp_path: Path) -> None:
    product = read_product(make_sentinel2(tmp_path))
    assert product.meta.crs == CRS
    assert product.meta.transform == (10.0, 0.0, ORIGIN[0], 0.0, -10.0, ORIGIN[1])


def test_grid_from_mtd_tl_when_the_jp2_has_none(tmp_path: Path) -> None:
    product = read_product(make_sentinel2(tmp_path, georef=False), bands="20m")
    assert product.meta.crs == CRS
    assert product.meta.transform == (20.0, 0.0, ORIGIN[0], 0.0, -20.0, ORIGIN[1])


def test_wavelengths_and_sensor(tmp_path: Path) -> None:
    a = read_product(make_sentinel2(tmp_path / "a", spacecraft="S2A"))
    b = read_product(make_sentinel2(tmp_path / "b", spacecraft="S2B"))
    assert (a.sensor, b.sensor) == ("sentinel2a", "sentinel2b")
    assert a.meta.wavelengths_nm is not None and a.meta.fwhm_nm is not None
    np.testing.assert_allclose(a.meta.wavelengths_nm, [492.4, 559.8, 664.6, 832.8])
    np.testing.assert_allclose(a.meta.fwhm_nm, [66.0, 36.0, 31.0, 106.0])
    assert b.meta.wavelengths_nm is not None
    np.testing.assert_allclose(
        b.meta.wavelengths_nm, [BAND_TABLE["sentinel2b"][x][0] for x in ("B02", "B03", "B04", "B08")]
    )


def test_wavelengths_agree_with_the_sensor_catalog() -> None:
    from pfs2c2.sensors.catalog import BAND_CENTRES

    for sensor, table in BAND_TABLE.items():
        for band, value in table.items():
            assert BAND_CENTRES[sensor][band.replace("B0", "B")] == value, (sensor, band)


def test_other_spacecraft_take_the_xml_centres(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path)
    xml = safe / "MTD_MSIL2A.xml"
    xml.write_text(xml.read_text().replace("Sentinel-2A<", "Sentinel-2C<"))
    product = read_product(safe)
    assert product.sensor == "sentinel2c" and product.meta.fwhm_nm is None
    assert product.meta.wavelengths_nm is not None
    np.testing.assert_allclose(product.meta.wavelengths_nm, [492.4, 559.8, 664.6, 832.8])


def test_20m_set_and_band_lists(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path, clouds="none")
    p20 = read_product(safe, bands="20m")
    assert p20.cube.shape == (9, 12, 12) and p20.meta.band_names == list(BANDS_20M)
    np.testing.assert_allclose(p20.cube[:, p20.valid], _expected(BANDS_20M, (12, 12))[:, p20.valid], atol=1e-7)
    assert p20.meta.transform is not None and p20.meta.transform[0] == 20.0
    # a 20 m band on the 10 m grid is repeated 2 x 2; a 10 m band on the 20 m grid is block-averaged
    mixed = read_sentinel2(safe, bands=["B4", "b8a"])
    assert mixed.cube.shape == (2, 24, 24) and mixed.meta.band_names == ["B04", "B8A"]
    b8a = np.kron(true_reflectance("B8A", (12, 12)), np.ones((2, 2)))
    np.testing.assert_allclose(mixed.cube[1][mixed.valid], b8a[mixed.valid], atol=1e-7)
    coarse = read_sentinel2(safe, bands=["B08"], resolution=20)
    b08 = true_reflectance("B08", SIZE).reshape(12, 2, 12, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(coarse.cube[0][coarse.valid], b08[coarse.valid], atol=1e-6)


def test_zip_reads_like_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = read_product(make_sentinel2(tmp_path / "dir"))
    archive = make_sentinel2(tmp_path / "zip", zip=True)
    assert archive.suffix == ".zip" and not archive.with_suffix("").exists()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    product = read_product(archive)
    assert not any(scratch.iterdir())  # read in place through /vsizip/, nothing extracted
    np.testing.assert_array_equal(product.cube, folder.cube)
    np.testing.assert_array_equal(product.valid, folder.valid)
    assert product.meta.transform == folder.meta.transform and product.meta.crs == folder.meta.crs


def test_zip_falls_back_to_extracting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pfs2c2.products import _sentinel2_safe

    archive = make_sentinel2(tmp_path, zip=True, clouds="none")
    original = _sentinel2_safe.SafeSource.raster

    def no_vsizip(self: _sentinel2_safe.SafeSource, rel: str) -> str:
        path = original(self, rel)
        return path.replace("/vsizip/", "/vsizip/not-there/") if path.startswith("/vsizip/") else path

    monkeypatch.setattr(_sentinel2_safe.SafeSource, "raster", no_vsizip)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    product = read_product(archive)
    assert not any(scratch.iterdir())  # the extracted files are deleted after reading
    np.testing.assert_allclose(
        product.cube[:, product.valid], _expected(("B02", "B03", "B04", "B08"), SIZE)[:, product.valid], atol=1e-7
    )


def test_l1c_is_refused(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path, level="L1C")
    assert detect_product(safe) == "sentinel2"
    with pytest.raises(ProductError, match="Level-1C product .*Sen2Cor or download the L2A product") as exc:
        read_product(safe)
    _one_line(exc)
    # an L1C XML in a folder renamed to look like L2A is refused too
    renamed = safe.rename(safe.with_name(safe.name.replace("MSIL1C", "MSIL2A")))
    (renamed / "MTD_MSIL1C.xml").rename(renamed / "MTD_MSIL2A.xml")
    with pytest.raises(ProductError, match="Level-1C"):
        read_product(renamed)


def test_missing_xml_is_refused(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path, missing_xml=True)
    assert detect_product(safe) == "sentinel2"
    with pytest.raises(ProductError, match="no MTD_MSIL2A.xml") as exc:
        read_product(safe)
    assert isinstance(exc.value, InputError)
    _one_line(exc)


def test_missing_band_file_is_refused(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path)
    next(safe.rglob("*_B04_10m.jp2")).unlink()
    with pytest.raises(ProductError, match=r"band file .*_B04_10m\.jp2 is missing") as exc:
        read_product(safe)
    _one_line(exc)


def test_missing_scl_is_refused_unless_skipped(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path)
    next(safe.rglob("*_SCL_20m.jp2")).unlink()
    with pytest.raises(ProductError, match="scene classification .* is missing.*scl=False") as exc:
        read_product(safe)
    _one_line(exc)
    assert read_product(safe, scl=False).valid.sum() == 576 - 4


def test_bad_options_are_refused(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path)
    for options, message in (
        ({"bands": "30m"}, "bands='30m'"),
        ({"bands": ["B10"]}, "B10"),
        ({"resolution": 15}, "resolution=15"),
        ({"colour": True}, "unknown option"),
    ):
        with pytest.raises(ProductError, match=message) as exc:
            read_product(safe, **options)
        _one_line(exc)


def test_detect_folder_zip_xml_and_not_others(tmp_path: Path) -> None:
    safe = make_sentinel2(tmp_path / "a")
    archive = make_sentinel2(tmp_path / "b", zip=True)
    plain = tmp_path / "download.zip"  # a zip named by the user still holds the .SAFE
    shutil.copy(archive, plain)
    assert READERS["sentinel2"].name == "sentinel2"
    assert detect_product(safe) == "sentinel2"
    assert detect_product(archive) == "sentinel2"
    assert detect_product(plain) == "sentinel2"
    assert detect_product(safe / "MTD_MSIL2A.xml") == "sentinel2"
    np.testing.assert_array_equal(read_product(plain).cube, read_product(safe).cube)
    other = tmp_path / "other"
    other.mkdir()
    (other / "cube.tif").write_bytes(b"not a tiff")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("x/readme.txt", "hello")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    for path in (other, other / "cube.tif", tmp_path / "other.zip", tmp_path / "broken.zip", tmp_path / "absent"):
        assert not READERS["sentinel2"].detect(path), path
    with pytest.raises(ProductError, match="not a product pfs2c2 recognises"):
        read_product(other)


def test_fixture_script_writes_a_product(tmp_path: Path) -> None:
    from .make_sentinel2 import main

    assert main([str(tmp_path), "--baseline", "03.01", "--zip"]) == 0
    (archive,) = tmp_path.glob("*.zip")
    assert "_N0301_" in archive.name and read_product(archive).sensor == "sentinel2a"
