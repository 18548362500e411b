"""EnMAP L2A reader: band centres, reflectance scale, masks, grid, .zip, refusals, detection."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.products import READERS, ProductError, detect_product, read_product
from pfs2c2.products.enmap import NODATA, read_enmap

from .make_enmap import CRS, GAIN, ORIGIN, PIXEL, background, enmap_bands, enmap_dn, make_enmap, quality_layers

SIZE = (20, 24)
BANDS = 30


@pytest.fixture(scope="module")
def product_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_enmap(tmp_path_factory.mktemp("enmap"))


@pytest.fixture(scope="module")
def product(product_dir: Path):
    return read_product(product_dir)


def _expected(order: np.ndarray | None = None) -> np.ndarray:
    """Reflectance (gain 1e-4, offset 0) of the DN the fixture wrote, file bands taken in ``order``."""
    dn = enmap_dn(BANDS, SIZE)
    if order is not None:
        dn = dn[order]
    return (dn.astype(np.float64) * GAIN + 0.0).astype(np.float32)


def _refusal(excinfo: pytest.ExceptionInfo[ProductError]) -> str:
    message = str(excinfo.value)
    assert isinstance(excinfo.value, InputError)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------------------------- content
def test_product_fields(product) -> None:
    assert (product.sensor, product.level, product.kind) == ("enmap", "L2A", "hsi")
    assert product.acquired == "2022-06-09T10:10:10.123456Z"
    assert product.cube.dtype == np.float32
    assert product.shape == (BANDS, *SIZE)
    assert product.valid.shape == SIZE and product.valid.dtype == bool
    assert product.meta.units == "reflectance"
    assert product.meta.nodata is None


def test_wavelengths_and_fwhm_from_the_xml(product) -> None:
    wl, fw, _ = enmap_bands(BANDS)
    order = np.argsort(wl, kind="stable")
    np.testing.assert_array_equal(product.meta.wavelengths_nm, wl[order])
    np.testing.assert_array_equal(product.meta.fwhm_nm, fw[order])
    assert np.all(np.diff(product.meta.wavelengths_nm) >= 0)
    assert 6.5 <= product.meta.fwhm_nm.min() and product.meta.fwhm_nm.max() <= 12.0
    assert product.meta.band_names == [f"B{i}" for i in range(1, BANDS + 1)]  # written sorted, so numbers in order


def test_reflectance_is_dn_times_gain_plus_offset(product) -> None:
    expected = _expected()
    v = product.valid
    np.testing.assert_array_equal(product.cube[:, v], expected[:, v])
    assert 0.0 < float(np.nanmin(product.cube)) and float(np.nanmax(product.cube)) < 1.0
    assert np.isnan(product.cube[:, ~v]).all()


def test_per_band_gains_and_offsets_from_the_xml(tmp_path: Path) -> None:
    gains = np.linspace(1.0e-4, 2.0e-4, BANDS)
    path = make_enmap(tmp_path, gains=gains, offsets=-0.01, order="detector")
    prod = read_enmap(path)
    wl, _, _ = enmap_bands(BANDS)
    # written in detector order, gains belong to the written band numbers: sort both the same way
    order = np.argsort(wl, kind="stable")
    dn = enmap_dn(BANDS, SIZE)[order].astype(np.float64)
    expected = (dn * gains[order][:, None, None] - 0.01).astype(np.float32)
    np.testing.assert_array_equal(prod.cube[:, prod.valid], expected[:, prod.valid])


def test_detector_order_is_sorted_by_wavelength(tmp_path: Path) -> None:
    prod = read_enmap(make_enmap(tmp_path, order="detector"))
    wl, fw, _ = enmap_bands(BANDS)
    order = np.argsort(wl, kind="stable")
    assert not np.all(np.diff(wl) >= 0)  # the fixture really has the VNIR/SWIR overlap out of order
    np.testing.assert_array_equal(prod.meta.wavelengths_nm, wl[order])
    np.testing.assert_array_equal(prod.meta.fwhm_nm, fw[order])
    assert prod.meta.band_names == [f"B{i + 1}" for i in order]
    np.testing.assert_array_equal(prod.cube[:, prod.valid], _expected(order)[:, prod.valid])
    unsorted = read_enmap(make_enmap(tmp_path / "b", order="detector"), sort_bands=False)
    np.testing.assert_array_equal(unsorted.meta.wavelengths_nm, wl)


def test_grid_from_the_geotiff(product) -> None:
    assert product.meta.crs == CRS
    assert product.meta.transform == (PIXEL, 0.0, ORIGIN[0], 0.0, -PIXEL, ORIGIN[1])


# --------------------------------------------------------------------------------------------- masks
def test_masks_follow_the_quality_layers(product) -> None:
    q = quality_layers(SIZE, "some")
    m = product.masks
    np.testing.assert_array_equal(m["cloud"], q["CLOUD"] == 1)
    np.testing.assert_array_equal(m["shadow"], q["CLOUDSHADOW"] == 1)
    np.testing.assert_array_equal(m["snow"], q["SNOW"] == 1)
    np.testing.assert_array_equal(m["haze"], q["HAZE"] == 1)
    np.testing.assert_array_equal(m["cirrus"], q["CIRRUS"] >= 1)
    np.testing.assert_array_equal(m["nodata"], background(SIZE))
    np.testing.assert_array_equal(m["background"], q["CLASSES"] == 3)
    defective = np.zeros(SIZE, dtype=bool)
    defective[10, 20] = True
    np.testing.assert_array_equal(m["defective"], defective)
    invalid = m["cloud"] | m["shadow"] | m["snow"] | m["cirrus"] | m["nodata"] | m["defective"]
    np.testing.assert_array_equal(product.valid, ~invalid)
    assert m["haze"].any() and product.valid[m["haze"] & ~invalid].all()  # haze is reported, stays valid
    fractions = product.masked_fractions()
    assert fractions["cloud"] == pytest.approx(20 / 480)
    assert fractions["invalid"] == pytest.approx(float(invalid.mean()))


def test_mask_options(product_dir: Path, product) -> None:
    hazy = read_enmap(product_dir, mask_haze=True)
    assert not hazy.valid[product.masks["haze"]].any()
    thick = read_enmap(product_dir, cirrus="thick")
    q = quality_layers(SIZE, "some")
    assert thick.valid[q["CIRRUS"] == 1].all() and not thick.valid[q["CIRRUS"] == 3].any()
    assert read_enmap(product_dir, cirrus="none").valid[q["CIRRUS"] > 0].all()
    assert read_enmap(product_dir, mask_defective=False).valid[10, 20]
    plain = read_enmap(product_dir, quality=False)
    assert set(plain.masks) == {"nodata"}
    np.testing.assert_array_equal(plain.valid, ~background(SIZE))


def test_empty_bands_are_dropped(tmp_path: Path) -> None:
    path = make_enmap(tmp_path, empty_bands=(5, 6))
    prod = read_enmap(path)
    assert prod.shape[0] == BANDS - 2
    names = prod.meta.band_names or []
    assert len(names) == BANDS - 2 and "B6" not in names and "B7" not in names
    wl, _, _ = enmap_bands(BANDS)
    np.testing.assert_array_equal(prod.meta.wavelengths_nm, np.delete(np.sort(wl), [5, 6]))
    np.testing.assert_array_equal(prod.valid, read_enmap(make_enmap(tmp_path / "full")).valid)
    with pytest.raises(ProductError) as excinfo:
        read_enmap(path, drop_empty_bands=False)  # an all-fill band leaves no valid pixel
    assert "no valid pixel" in _refusal(excinfo)


def test_fill_value_without_a_nodata_tag(tmp_path: Path) -> None:
    prod = read_enmap(make_enmap(tmp_path, nodata_tag=False))
    np.testing.assert_array_equal(prod.masks["nodata"], background(SIZE))
    assert NODATA == -32768.0


# --------------------------------------------------------------------------------------------- paths
def test_zip_reads_like_the_folder(tmp_path: Path, product) -> None:
    archive = make_enmap(tmp_path, zip=True)
    assert archive.suffix == ".ZIP" and archive.is_file()
    assert detect_product(archive) == "enmap"
    prod = read_product(archive)
    np.testing.assert_array_equal(prod.cube, product.cube)
    np.testing.assert_array_equal(prod.valid, product.valid)
    assert prod.meta.crs == product.meta.crs and prod.meta.transform == product.meta.transform


def test_nested_zip_reads_like_the_folder(tmp_path: Path, product) -> None:
    outer = make_enmap(tmp_path, nested_zip=True)
    assert detect_product(outer) == "enmap"
    np.testing.assert_array_equal(read_product(outer).cube, product.cube)


def test_any_file_of_the_product_or_its_parent_folder(product_dir: Path, product) -> None:
    xml = next(product_dir.glob("*-METADATA.XML"))
    tif = next(product_dir.glob("*-SPECTRAL_IMAGE.TIF"))
    for path in (xml, tif, product_dir.parent):
        assert detect_product(path) == "enmap", path
        np.testing.assert_array_equal(read_product(path).cube, product.cube)


def test_detection(tmp_path: Path, product_dir: Path) -> None:
    assert READERS["enmap"].detect(product_dir)
    assert detect_product(product_dir) == "enmap"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "scene.tif").write_bytes(b"not a tif")
    assert not READERS["enmap"].detect(tmp_path / "other")
    assert not READERS["enmap"].detect(tmp_path / "other" / "scene.tif")
    assert not READERS["enmap"].detect(tmp_path / "missing")
    bad_zip = tmp_path / "ENMAP_broken.zip"
    bad_zip.write_bytes(b"PK not really")
    assert not READERS["enmap"].detect(bad_zip)
    ql = next(product_dir.glob("*-QL_QUALITY_CLOUD.TIF"))
    assert not READERS["enmap"].detect(ql)  # a quality layer is not the product
    l1c = make_enmap(tmp_path / "l1c", level="L1C")
    assert detect_product(l1c) == "enmap"  # claimed, then refused with the level


# --------------------------------------------------------------------------------------------- refusals
def test_missing_metadata_xml(tmp_path: Path) -> None:
    path = make_enmap(tmp_path, missing_xml=True)
    with pytest.raises(ProductError) as excinfo:
        read_product(path)
    message = _refusal(excinfo)
    assert "METADATA.XML not found beside the SPECTRAL_IMAGE: an EnMAP product folder holds both" in message
    assert "download the whole product" in message


@pytest.mark.parametrize("level", ["L1B", "L1C"])
def test_wrong_level(tmp_path: Path, level: str) -> None:
    with pytest.raises(ProductError) as excinfo:
        read_product(make_enmap(tmp_path, level=level))
    message = _refusal(excinfo)
    assert f"EnMAP {level} product" in message and "Level-2A" in message


def test_level_in_the_xml(tmp_path: Path) -> None:
    path = make_enmap(tmp_path)
    xml = next(path.glob("*-METADATA.XML"))
    xml.write_text(xml.read_text().replace("<level>L2A</level>", "<level>L1C</level>"))
    with pytest.raises(ProductError) as excinfo:
        read_enmap(path)
    assert "EnMAP L1C product" in _refusal(excinfo)


def test_band_count_must_match_the_xml(tmp_path: Path) -> None:
    with pytest.raises(ProductError) as excinfo:
        read_enmap(make_enmap(tmp_path, xml_bands=BANDS - 2))
    message = _refusal(excinfo)
    assert f"SPECTRAL_IMAGE has {BANDS} bands but METADATA.XML describes {BANDS - 2} bands" in message


def test_missing_cloud_layer(tmp_path: Path) -> None:
    path = make_enmap(tmp_path, missing_quality=("CLOUD",))
    with pytest.raises(ProductError) as excinfo:
        read_enmap(path)
    assert "QL_QUALITY_CLOUD.TIF not found" in _refusal(excinfo)
    assert read_enmap(path, quality=False).shape == (BANDS, *SIZE)
    # the optional layers may be absent
    assert "haze" not in read_enmap(make_enmap(tmp_path / "nohaze", missing_quality=("HAZE", "PIXELMASK"))).masks


def test_clouds_over_everything(tmp_path: Path) -> None:
    with pytest.raises(ProductError) as excinfo:
        read_enmap(make_enmap(tmp_path, clouds="all"))
    message = _refusal(excinfo)
    assert "no valid pixel" in message and "cloud" in message


def test_damaged_xml(tmp_path: Path) -> None:
    path = make_enmap(tmp_path)
    xml = next(path.glob("*-METADATA.XML"))
    text = xml.read_text()
    xml.write_text(text.replace("<GainOfBand>0.0001</GainOfBand>", "<GainOfBand>n/a</GainOfBand>", 1))
    with pytest.raises(ProductError) as excinfo:
        read_enmap(path)
    assert "no numeric <GainOfBand>" in _refusal(excinfo)
    xml.write_text(text[: len(text) // 2])
    with pytest.raises(ProductError) as excinfo:
        read_enmap(path)
    assert "not readable XML" in _refusal(excinfo)


def test_other_refusals(tmp_path: Path, product_dir: Path) -> None:
    with pytest.raises(ProductError) as excinfo:
        read_enmap(tmp_path / "nothing")
    assert "not found" in _refusal(excinfo)
    two = tmp_path / "two"
    shutil.copytree(product_dir, two / product_dir.name)
    make_enmap(two, level="L1C")
    with pytest.raises(ProductError) as excinfo:
        read_enmap(two)
    assert "holds 2 EnMAP products" in _refusal(excinfo)
    with pytest.raises(ProductError) as excinfo:
        READERS["enmap"].read(product_dir, resolution=20)
    assert "unknown option 'resolution'" in _refusal(excinfo)
    with pytest.raises(ProductError) as excinfo:
        read_enmap(product_dir, cirrus="some")
    _refusal(excinfo)


def test_fixture_script(tmp_path: Path) -> None:
    script = Path(__file__).with_name("make_enmap.py")
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "--zip"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert Path(out).is_file() and detect_product(out) == "enmap"
