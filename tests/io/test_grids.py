"""Tests for pfs2c2.io.grids.match_grids (synthetic RasterMeta, plus one GeoTIFF round trip)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pfs2c2.io import GridMatch, RasterMeta, match_grids, read_cube

UTM = "EPSG:32633"
X0, Y0 = 500000.0, 4100000.0


def _meta(px: float, x0: float = X0, y0: float = Y0, crs: str | None = UTM, **kw) -> RasterMeta:
    py = kw.pop("py", px)
    b = kw.pop("b", 0.0)
    return RasterMeta(crs=crs, transform=(px, b, x0, 0.0, -py, y0), **kw)


def _msg(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    return msg


# ---------------------------------------------------------------------------------------------
# georeferenced, success
# ---------------------------------------------------------------------------------------------
def test_nested_exact_grids_ratio3_no_windows():
    m = match_grids(_meta(30.0), (4, 5), _meta(10.0), (12, 15))
    assert m == GridMatch(ratio=3, msi_window=None, hsi_window=None)
    # the shapes do not decide the ratio when grids are known; a matching ratio is accepted
    assert match_grids(_meta(30.0), (4, 5), _meta(10.0), (12, 15), ratio=3).ratio == 3


def test_equal_crs_in_different_spellings():
    wkt_hsi = _meta(30.0, crs="EPSG:32633")
    from rasterio.crs import CRS

    wkt = CRS.from_epsg(32633).to_wkt()
    m = match_grids(wkt_hsi, (2, 2), _meta(10.0, crs=wkt), (6, 6))
    assert m.ratio == 3 and m.msi_window is None


def test_msi_bigger_than_hsi_footprint():
    # MSI starts 2 px left and 4 px above the HSI, and extends beyond it on the right / bottom.
    msi = _meta(10.0, x0=X0 - 20.0, y0=Y0 + 40.0)
    m = match_grids(_meta(30.0), (4, 5), msi, (20, 25))
    assert m.ratio == 3
    assert m.hsi_window is None
    assert m.msi_window == (4, 2, 12, 15)


def test_hsi_bigger_than_msi():
    # MSI covers HSI pixels rows 1..2, cols 2..4 (plus a partial HSI pixel that is dropped).
    msi = _meta(10.0, x0=X0 + 2 * 30.0, y0=Y0 - 30.0)
    m = match_grids(_meta(30.0), (4, 6), msi, (7, 10))
    assert m.ratio == 3
    assert m.hsi_window == (1, 2, 2, 3)
    assert m.msi_window == (0, 0, 6, 9)  # the partial HSI pixel's MSI pixels are cut


def test_partial_overlap_both_windows():
    # MSI starts 1 MSI px inside the first HSI pixel: HSI column 0 / row 0 are only partly covered.
    msi = _meta(10.0, x0=X0 + 10.0, y0=Y0 - 10.0)
    m = match_grids(_meta(30.0), (3, 3), msi, (12, 12))
    assert m.hsi_window == (1, 1, 2, 2)
    assert m.msi_window == (2, 2, 6, 6)


def test_non_square_pixels_same_ratio():
    m = match_grids(_meta(30.0, py=20.0), (2, 2), _meta(15.0, py=10.0), (4, 4))
    assert m.ratio == 2 and m.msi_window is None and m.hsi_window is None


# ---------------------------------------------------------------------------------------------
# georeferenced, errors
# ---------------------------------------------------------------------------------------------
def test_crs_mismatch_mentions_rio_warp():
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0), (4, 5), _meta(10.0, crs="EPSG:32632"), (12, 15))
    msg = _msg(exc)
    assert "EPSG:32633" in msg and "EPSG:32632" in msg
    assert "rio warp" in msg and "reproject_match" in msg


def test_non_integer_pixel_ratio():
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0), (4, 5), _meta(9.0), (13, 16))
    msg = _msg(exc)
    assert "30" in msg and "9" in msg and "3.333333333" in msg
    assert "gdalwarp -tr 10 10" in msg and "rio warp" in msg and "--res 10" in msg


def test_different_ratio_on_x_and_y():
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0), (4, 5), _meta(10.0, py=15.0), (8, 15))
    assert "3 x 2" in _msg(exc)


def test_msi_coarser_than_hsi():
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(10.0), (12, 15), _meta(30.0), (4, 5))
    assert "swapped" in _msg(exc)


def test_misaligned_origin():
    msi = _meta(10.0, x0=X0 - 5.0)
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0), (4, 5), msi, (12, 16))
    msg = _msg(exc)
    assert "offset by 0.5 x 0 MSI pixels" in msg
    assert "gdalwarp -te" in msg and "rio warp" in msg


def test_tiny_origin_noise_is_tolerated():
    msi = _meta(10.0, x0=X0 - 1e-5)
    assert match_grids(_meta(30.0), (4, 5), msi, (12, 15)).msi_window is None


def test_given_ratio_contradiction():
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0), (4, 5), _meta(10.0), (12, 15), ratio=4)
    msg = _msg(exc)
    assert "ratio=4" in msg and "ratio of 3" in msg


def test_rotated_grid():
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0, b=5.0), (4, 5), _meta(10.0), (12, 15))
    assert "rotated" in _msg(exc)


def test_no_overlap():
    msi = _meta(10.0, x0=X0 + 10_000.0)
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0), (4, 5), msi, (12, 15))
    assert "the images do not overlap" in _msg(exc)


def test_overlap_smaller_than_one_hsi_pixel():
    msi = _meta(10.0, x0=X0 + 10.0, y0=Y0 - 10.0)  # covers 2 x 2 MSI px of every HSI pixel at most
    with pytest.raises(ValueError) as exc:
        match_grids(_meta(30.0), (4, 5), msi, (4, 4))
    assert "do not overlap" in _msg(exc)


# ---------------------------------------------------------------------------------------------
# not georeferenced: shapes only
# ---------------------------------------------------------------------------------------------
def test_not_georeferenced_falls_back_to_shapes():
    assert match_grids(None, (4, 5), None, (16, 20)) == GridMatch(4, None, None)
    # one side without grid: the other's grid is ignored
    assert match_grids(_meta(30.0), (4, 5), RasterMeta(), (8, 10)).ratio == 2
    # identity transform counts as no grid
    ident = RasterMeta(crs=UTM, transform=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    assert match_grids(ident, (4, 5), _meta(10.0), (12, 15), ratio=3).ratio == 3


def test_not_georeferenced_errors():
    with pytest.raises(ValueError) as exc:
        match_grids(None, (4, 5), None, (12, 16))
    assert "4x5" in _msg(exc) and "12x16" in _msg(exc)
    with pytest.raises(ValueError) as exc:
        match_grids(None, (4, 5), None, (12, 15), ratio=2)
    assert "--ratio 2 contradicts" in _msg(exc)
    with pytest.raises(ValueError):
        match_grids(None, (4, 5), None, (12, 15), ratio=0)


# ---------------------------------------------------------------------------------------------
# real GeoTIFFs
# ---------------------------------------------------------------------------------------------
def _write_tif(path: Path, arr: np.ndarray, transform: tuple[float, ...]) -> None:
    import rasterio
    from affine import Affine

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=arr.shape[1],
        width=arr.shape[2],
        count=arr.shape[0],
        dtype="float32",
        crs=UTM,
        transform=Affine(*transform),
    ) as ds:
        ds.write(arr)


def test_geotiff_round_trip(tmp_path: Path):
    rng = np.random.default_rng(0)
    hsi = rng.random((3, 4, 5), dtype=np.float32)
    msi = rng.random((2, 15, 18), dtype=np.float32)
    _write_tif(tmp_path / "hsi.tif", hsi, (30.0, 0.0, X0, 0.0, -30.0, Y0))
    # MSI starts one MSI pixel left of and above the HSI
    _write_tif(tmp_path / "msi.tif", msi, (10.0, 0.0, X0 - 10.0, 0.0, -10.0, Y0 + 10.0))

    hcube, hmeta = read_cube(tmp_path / "hsi.tif")
    mcube, mmeta = read_cube(tmp_path / "msi.tif")
    m = match_grids(hmeta, hcube.shape[1:], mmeta, mcube.shape[1:])
    assert m.ratio == 3 and m.hsi_window is None
    assert m.msi_window == (1, 1, 12, 15)

    crop, cmeta = read_cube(tmp_path / "msi.tif", window=m.msi_window)
    assert crop.shape == (2, 12, 15)
    np.testing.assert_array_equal(crop, msi[:, 1:13, 1:16])
    assert cmeta.transform[2] == pytest.approx(X0) and cmeta.transform[5] == pytest.approx(Y0)
    # after cropping the grids nest exactly
    assert match_grids(hmeta, hcube.shape[1:], cmeta, crop.shape[1:]) == GridMatch(3, None, None)
