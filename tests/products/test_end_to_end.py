"""One command per product pair: `pfs2c2 fuse --hsi PRODUCT --msi S2_SAFE --out fused.tif`, and the bad products.

The fixtures are written by tests/products/make_*.py into tmp_path: the Sentinel-2 tile is placed
(``origin=``) under the HSI's 30 m grid so that the grids nest with a ratio of 3. Each run checks the
output's wavelengths (the HSI product's), its reflectance scale (against the values the fixture wrote),
the masks (cloud pixels NaN, run.json's fractions those of the products) and its grid (the tile's).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from pfs2c2.cli import main
from pfs2c2.io import read_cube
from pfs2c2.products import read_product

from .make_emit import make_emit
from .make_enmap import GAIN, NODATA, background, enmap_dn, make_enmap
from .make_enmap import ORIGIN as ENMAP_ORIGIN
from .make_prisma import make_prisma
from .make_sentinel2 import CRS, make_sentinel2

TINY = {
    "stage1": {"iterations": 20, "decay_start": 10},
    "stage2": {"iterations": 50, "decay_start": 25},
    "stage3": {"iterations": 20, "decay_start": 10},
}
ENMAP_SIZE = (18, 22)  # the smallest grid holding every quality layer of clouds="some"
ENMAP_BANDS = 60  # enough VNIR bands for B04's narrow response
PRISMA_ORIGIN = (500000.0, 5000000.0)  # corner of the fixture's pixel (0, 0), centred at (500015, 4999985)


def _fuse(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    args = ["fuse", *map(str, argv), "--preset", "fast", "--config", str(tmp_path / "tiny.yaml"), "--no-plots"]
    code = main(args)
    return code, capsys.readouterr().err


def _check_output(out: Path, s2: Path, hsi: Path, origin: tuple[float, float]) -> tuple[np.ndarray, dict]:
    """Wavelengths, grid, cloud NaN and run.json masks of a product run; returns the fused cube and run.json."""
    fused, meta = read_cube(str(out))
    hsi_product, s2_product = read_product(hsi), read_product(s2)
    np.testing.assert_allclose(meta.wavelengths_nm, hsi_product.meta.wavelengths_nm, rtol=1e-6)
    np.testing.assert_allclose(meta.fwhm_nm, hsi_product.meta.fwhm_nm, rtol=1e-6)
    assert meta.crs is not None and "32632" in meta.crs
    assert tuple(meta.transform) == pytest.approx((10.0, 0.0, origin[0], 0.0, -10.0, origin[1]))
    assert fused.shape[1:] == s2_product.cube.shape[1:]
    # clouds of the tile (SCL 8/9/10 at 20 m rows 2-3, cols 2-4) are nodata in the output
    assert np.isnan(fused[:, 4:8, 4:10]).all()
    assert not s2_product.valid[4:8, 4:10].any()
    record = json.loads((out.parent / "run.json").read_text())
    masks = record["masks"]
    assert masks["msi"]["layers"] == pytest.approx(s2_product.masked_fractions())
    assert masks["hsi"]["layers"] == pytest.approx(hsi_product.masked_fractions())
    assert masks["msi"]["product"].startswith("sentinel2a") and masks["output"]["masked"] > 0
    assert masks["output"]["masked"] == pytest.approx(np.mean(~np.isfinite(fused).all(axis=0)))
    return fused, record


def _level(fused: np.ndarray, expected_band_means: np.ndarray) -> None:
    """The fused cube's per-band means match the HSI reflectance within a loose tolerance (scale, not accuracy)."""
    got = np.nanmean(fused.reshape(fused.shape[0], -1), axis=1)
    ratio = got / expected_band_means
    assert np.median(ratio) == pytest.approx(1.0, abs=0.25), ratio


def test_enmap_and_sentinel2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enmap = make_enmap(tmp_path / "enmap", size=ENMAP_SIZE, bands=ENMAP_BANDS)
    s2 = make_sentinel2(tmp_path / "s2", size=(54, 66), origin=ENMAP_ORIGIN)
    out = tmp_path / "out" / "fused.tif"
    out.parent.mkdir()
    code, err = _fuse(tmp_path, capsys, "--hsi", enmap, "--msi", s2, "--out", out, "--rgb", tmp_path / "out/rgb.tif")
    assert code == 0, err
    fused, record = _check_output(out, s2, enmap, ENMAP_ORIGIN)
    # reflectance written by the fixture: DN * gain over the pixels that are not fill
    dn = enmap_dn(ENMAP_BANDS, ENMAP_SIZE).astype(np.float64)
    dn[:, background(ENMAP_SIZE)] = np.nan
    dn[dn == NODATA] = np.nan
    _level(fused, np.nanmean((dn * GAIN).reshape(ENMAP_BANDS, -1), axis=1))
    assert record["hsi"].endswith(enmap.name) and "alignment" not in record
    import rasterio

    with rasterio.open(tmp_path / "out/rgb.tif") as ql:
        assert ql.count == 3 and ql.dtypes[0] == "uint8" and ql.crs.to_epsg() == 32632


def test_enmap_out_bands_writes_only_those(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enmap = make_enmap(tmp_path / "enmap", size=ENMAP_SIZE, bands=ENMAP_BANDS)
    s2 = make_sentinel2(tmp_path / "s2", size=(54, 66), origin=ENMAP_ORIGIN)
    out = tmp_path / "fused.tif"
    code, err = _fuse(tmp_path, capsys, "--hsi", enmap, "--msi", s2, "--out", out, "--out-bands", "1,650nm,60")
    assert code == 0, err
    cube, meta = read_cube(str(out))
    wl = read_product(enmap).meta.wavelengths_nm
    assert cube.shape[0] == 3 and meta.wavelengths_nm[0] == pytest.approx(wl[0])
    assert meta.wavelengths_nm[2] == pytest.approx(wl[59]) and abs(meta.wavelengths_nm[1] - 650) < 20
    assert json.loads((tmp_path / "run.json").read_text())["out_bands"][0] == 1


def test_prisma_and_sentinel2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    he5 = make_prisma(tmp_path / "prisma", size=(20, 24), vnir=40, swir=20)
    s2 = make_sentinel2(tmp_path / "s2", size=(60, 72), origin=PRISMA_ORIGIN)
    out = tmp_path / "fused.tif"
    code, err = _fuse(tmp_path, capsys, "--hsi", he5, "--msi", s2, "--out", out)
    assert code == 0, err
    fused, _ = _check_output(out, s2, he5, PRISMA_ORIGIN)
    hsi = read_product(he5).cube  # the fixture's scaling, checked against make_prisma.dn_value in test_prisma.py
    _level(fused, np.nanmean(hsi.reshape(hsi.shape[0], -1), axis=1))


def test_emit_and_sentinel2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rasterio.warp import transform_bounds

    nc = make_emit(tmp_path / "emit")
    meta = read_product(nc).meta
    a, _, c, _, e, f = meta.transform
    h, w = read_product(nc).cube.shape[1:]
    left, bottom, right, top = transform_bounds("EPSG:4326", CRS, c, f + e * h, c + a * w, f)
    origin = (math.floor(left / 10) * 10.0, math.ceil(top / 10) * 10.0)
    cols, rows = math.ceil((right - origin[0]) / 10), math.ceil((origin[1] - bottom) / 10)
    s2 = make_sentinel2(tmp_path / "s2", size=(rows + rows % 2, cols + cols % 2), origin=origin)
    out = tmp_path / "fused.tif"
    code, err = _fuse(tmp_path, capsys, "--hsi", nc, "--msi", s2, "--out", out)
    assert code == 2 and "--align" in err  # EPSG:4326 against UTM: refused with the hint
    code, err = _fuse(tmp_path, capsys, "--hsi", nc, "--msi", s2, "--out", out, "--align")
    assert code == 0, err
    fused, meta = read_cube(str(out))
    np.testing.assert_allclose(meta.wavelengths_nm, read_product(nc).meta.wavelengths_nm, rtol=1e-6)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["alignment"]["reprojected_from"] is not None and "masks" in record


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], hsi: Path, s2: Path, match: str) -> None:
    out = tmp_path / "fused.tif"
    code, err = _fuse(tmp_path, capsys, "--hsi", hsi, "--msi", s2, "--out", out)
    assert code == 2, err
    assert err.startswith("Error:") and err.count("\n") == 1 and match in err, err
    assert not out.exists() and not (tmp_path / "run.json").exists()


def test_missing_enmap_xml_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enmap = make_enmap(tmp_path / "enmap", size=ENMAP_SIZE, bands=ENMAP_BANDS, missing_xml=True)
    s2 = make_sentinel2(tmp_path / "s2", size=(54, 66), origin=ENMAP_ORIGIN)
    _refused(tmp_path, capsys, enmap, s2, "METADATA.XML")


def test_sentinel2_l1c_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enmap = make_enmap(tmp_path / "enmap", size=ENMAP_SIZE, bands=ENMAP_BANDS)
    s2 = make_sentinel2(tmp_path / "s2", size=(54, 66), origin=ENMAP_ORIGIN, level="L1C")
    _refused(tmp_path, capsys, enmap, s2, "L1C")


def test_products_far_apart_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enmap = make_enmap(tmp_path / "enmap", size=ENMAP_SIZE, bands=ENMAP_BANDS)
    s2 = make_sentinel2(tmp_path / "s2")  # the tile's own corner, 100 km from the EnMAP scene
    _refused(tmp_path, capsys, enmap, s2, "do not overlap")


def test_clouds_over_everything_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enmap = make_enmap(tmp_path / "enmap", size=ENMAP_SIZE, bands=ENMAP_BANDS)
    s2 = make_sentinel2(tmp_path / "s2", size=(54, 66), origin=ENMAP_ORIGIN, clouds="all")
    _refused(tmp_path, capsys, enmap, s2, "no LR pixel is valid in both images")


def test_swapped_products_tiling_and_msi_bands_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enmap = make_enmap(tmp_path / "enmap", size=ENMAP_SIZE, bands=ENMAP_BANDS)
    s2 = make_sentinel2(tmp_path / "s2", size=(54, 66), origin=ENMAP_ORIGIN)
    _refused(tmp_path, capsys, s2, enmap, "give it as --msi")
    out = tmp_path / "fused.tif"
    for extra, match in (
        (["--tile-size", "8"], "only for runs fused whole"),
        (["--msi-bands", "20m"], "or pass --align"),
    ):
        code, err = _fuse(tmp_path, capsys, "--hsi", enmap, "--msi", s2, "--out", out, *extra)
        assert code == 2 and err.count("\n") == 1 and match in err and not out.exists(), err
    code, err = _fuse(tmp_path, capsys, "--hsi", enmap, "--msi", enmap, "--out", out, "--msi-bands", "20m")
    assert code == 2 and "drop --msi-bands" in err
