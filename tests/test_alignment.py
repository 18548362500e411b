"""pfs2c2.alignment: any overlapping georeferenced pair becomes a nesting pair (small synthetic grids)."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.alignment import align_files, align_pair
from pfs2c2.errors import InputError
from pfs2c2.io import RasterMeta, match_grids, read_cube, write_cube

X0, Y0 = 700000.0, 5000000.0


def _pair(shift=(0.0, 0.0), hsi_px=40.0, crs="EPSG:32632", seed=0):
    """A 3-band 48 x 48 MSI (10 m) and a 6-band 12 x 12 HSI whose origin is moved by ``shift`` metres."""
    rng = np.random.default_rng(seed)
    msi = (rng.random((3, 48, 48)) + 0.1).astype(np.float32)
    hsi = (rng.random((6, 12, 12)) + 0.1).astype(np.float32)
    msi_meta = RasterMeta(crs="EPSG:32632", transform=(10.0, 0.0, X0, 0.0, -10.0, Y0))
    hsi_meta = RasterMeta(crs=crs, transform=(hsi_px, 0.0, X0 + shift[0], 0.0, -hsi_px, Y0 - shift[1]))
    return hsi, hsi_meta, msi, msi_meta


def _nests(pair) -> None:
    g = match_grids(pair.hsi_meta, pair.hsi.shape[1:], pair.msi_meta, pair.msi.shape[1:])
    assert g.ratio == pair.ratio == 4
    assert g.msi_window is None and g.hsi_window is None
    assert pair.hsi_valid.shape == pair.hsi.shape[1:] and pair.msi_valid.shape == pair.msi.shape[1:]


def test_a_nesting_pair_is_only_cropped_bit_identically():
    hsi, hm, msi, mm = _pair(shift=(40.0, 80.0))  # whole HSI pixels: nests already
    match_grids(hm, hsi.shape[1:], mm, msi.shape[1:])
    pair = align_pair(hsi, hm, msi, mm)
    _nests(pair)
    assert pair.record.resampled is None and pair.record.shift_px == (0.0, 0.0)
    assert pair.hsi.shape == (6, 10, 11)  # the HSI pixels over the MSI
    assert np.array_equal(pair.hsi, hsi[:, :10, :11])
    assert np.array_equal(pair.msi, msi[:, 8:, 4:])
    assert pair.record.msi_window == (8, 4, 40, 44)
    assert pair.msi_meta.transform == (10.0, 0.0, X0 + 40.0, 0.0, -10.0, Y0 - 80.0)
    assert pair.hsi_meta.transform == hm.transform
    assert pair.hsi_valid.all() and pair.msi_valid.all()


@pytest.mark.parametrize("resample", ["hsi", "msi"])
@pytest.mark.parametrize("method", ["bilinear", "cubic", "average", "nearest"])
def test_a_sub_pixel_shift_becomes_a_nesting_pair(resample, method):
    hsi, hm, msi, mm = _pair(shift=(5.0, 5.0))  # half an MSI pixel
    with pytest.raises(InputError, match="offset"):
        match_grids(hm, hsi.shape[1:], mm, msi.shape[1:])
    pair = align_pair(hsi, hm, msi, mm, resample=resample, method=method)
    _nests(pair)
    assert pair.record.resampled == resample and pair.record.method == method
    assert pair.hsi.shape == (6, 11, 11) and pair.msi.shape == (3, 44, 44)
    assert pair.hsi_meta.crs == pair.msi_meta.crs == "EPSG:32632"
    fixed_valid = pair.msi_valid if resample == "hsi" else pair.hsi_valid
    assert fixed_valid.all()
    moved = pair.hsi if resample == "hsi" else pair.msi
    valid = pair.hsi_valid if resample == "hsi" else pair.msi_valid
    assert valid.mean() > 0.6 and np.isfinite(moved[:, valid]).all() and np.isnan(moved[:, ~valid]).all()
    if method == "cubic" and resample == "hsi":  # the 4-tap kernel reaches outside the HSI at the border
        assert valid[1:-1, 1:-1].all() and not valid[0].any() and not valid[:, -1].any()
    if resample == "hsi":
        assert pair.record.shift_px == pytest.approx((0.125, 0.125))
        assert np.array_equal(pair.msi, msi[:, 4:, 4:])  # the fixed image is only sliced
    else:
        assert pair.record.shift_px == pytest.approx((-0.5, -0.5))
        assert np.array_equal(pair.hsi, hsi[:, :11, :11])


def test_a_constant_image_stays_constant_through_the_warp():
    hsi, hm, msi, mm = _pair(shift=(13.0, 7.0))
    hsi[:] = 0.5
    pair = align_pair(hsi, hm, msi, mm, method="cubic")
    assert np.allclose(pair.hsi[:, pair.hsi_valid], 0.5, atol=1e-6)


def test_different_utm_zones_are_reprojected_onto_the_msi_grid():
    from rasterio.warp import transform

    x, y = transform("EPSG:32632", "EPSG:32633", [X0 + 20.0], [Y0 - 20.0])
    rng = np.random.default_rng(1)
    hsi = (rng.random((6, 12, 12)) + 0.1).astype(np.float32)
    hm = RasterMeta(crs="EPSG:32633", transform=(40.0, 0.0, x[0], 0.0, -40.0, y[0]))
    _, _, msi, mm = _pair()
    with pytest.raises(InputError, match="CRS"):
        match_grids(hm, hsi.shape[1:], mm, msi.shape[1:])
    pair = align_pair(hsi, hm, msi, mm)
    _nests(pair)
    assert pair.hsi_meta.crs == "EPSG:32632" and pair.record.reprojected_from == "EPSG:32633"
    assert pair.record.pixel_ratio[0] == pytest.approx(4.0, rel=1e-3)
    # the zone-33 grid is rotated by ~2.5 degrees: corners of the bounding box lie outside its footprint
    assert 0.5 < pair.hsi_valid.mean() < 1.0
    assert np.isnan(pair.hsi[:, ~pair.hsi_valid]).all()
    back = align_pair(hsi, hm, msi, mm, resample="msi")  # the other way: the MSI goes to zone 33
    _nests(back)
    assert back.msi_meta.crs == "EPSG:32633" and back.hsi_meta.transform == hm.transform
    assert 0.5 < back.msi_valid.mean() < 1.0


def test_no_overlap_is_refused_with_one_line():
    hsi, hm, msi, mm = _pair(shift=(5000.0, 0.0))
    with pytest.raises(InputError, match=r"^the HSI and MSI do not overlap \(HSI bounds .* in EPSG:32632") as err:
        align_pair(hsi, hm, msi, mm)
    assert "\n" not in str(err.value)


def test_a_pixel_ratio_far_from_an_integer_is_refused():
    hsi, hm, msi, mm = _pair(hsi_px=35.0)  # ratio 3.5
    with pytest.raises(InputError, match=r"ratio of 3\.5 x 3\.5, 12% from the nearest integer 4") as err:
        align_pair(hsi, hm, msi, mm)
    assert "\n" not in str(err.value)
    hsi, hm, msi, mm = _pair(hsi_px=40.8)  # 2% off: resampled to exactly 40 m
    pair = align_pair(hsi, hm, msi, mm)
    _nests(pair)
    with pytest.raises(InputError, match="given ratio 3"):
        align_pair(hsi, hm, msi, mm, ratio=3)


def test_nodata_and_masks_follow_the_warp():
    hsi, hm, msi, mm = _pair(shift=(5.0, 5.0))
    hsi[:, 5, 5] = -9999.0
    hm = hm.replace(nodata=-9999.0)
    msi_valid = np.ones(msi.shape[1:], bool)
    msi_valid[20:24, 20:24] = False  # e.g. a cloud
    pair = align_pair(hsi, hm, msi, mm, method="bilinear", msi_valid=msi_valid)
    # output LR pixel k (origin 40 m east of the MSI's) interpolates input pixels k and k + 1, so the
    # nodata input pixel (5, 5) spoils outputs (4..5, 4..5) and no other
    expected = np.zeros((11, 11), bool)
    expected[4:6, 4:6] = True
    assert np.array_equal(~pair.hsi_valid, expected)
    assert np.isnan(pair.hsi[:, ~pair.hsi_valid]).all() and pair.hsi_meta.nodata != pair.hsi_meta.nodata  # NaN
    expected = np.zeros((44, 44), bool)
    expected[16:20, 16:20] = True  # the MSI is only cropped by 4 pixels: its mask too
    assert np.array_equal(~pair.msi_valid, expected)
    nan_hsi = hsi.copy()
    nan_hsi[:, 5, 5] = np.nan
    assert np.array_equal(
        align_pair(nan_hsi, hm.replace(nodata=None), msi, mm, method="bilinear").hsi_valid, pair.hsi_valid
    )


def test_bad_arguments_and_ungeoreferenced_images_are_refused():
    hsi, hm, msi, mm = _pair()
    with pytest.raises(InputError, match="no CRS"):
        align_pair(hsi, RasterMeta(), msi, mm)
    with pytest.raises(InputError, match="resample must be"):
        align_pair(hsi, hm, msi, mm, resample="both")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="method must be .auto. or one of"):
        align_pair(hsi, hm, msi, mm, method="lanczos")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="swapped"):
        align_pair(msi, mm, hsi, hm)


def test_align_files_writes_a_nesting_pair(tmp_path):
    hsi, hm, msi, mm = _pair(shift=(5.0, 5.0))
    write_cube(tmp_path / "hsi.tif", hsi, hm)
    write_cube(tmp_path / "msi.tif", msi, mm)
    pair = align_files(
        tmp_path / "hsi.tif", tmp_path / "msi.tif", tmp_path / "a_hsi.tif", tmp_path / "a_msi.tif", method="cubic"
    )
    y, ym = read_cube(str(tmp_path / "a_hsi.tif"))
    z, zm = read_cube(str(tmp_path / "a_msi.tif"))
    assert match_grids(ym, y.shape[1:], zm, z.shape[1:]).ratio == 4
    assert np.array_equal(np.isnan(y).all(axis=0), ~pair.hsi_valid)
    assert np.array_equal(z, pair.msi)


def test_auto_copies_whole_pixels_in_one_crs_and_interpolates_across_crs():
    hsi, hm, msi, mm = _pair(shift=(5.0, 15.0))  # (0.5, 1.5) MSI pixels
    pair = align_pair(hsi, hm, msi, mm)  # method="auto"
    _nests(pair)
    assert pair.record.method == "nearest" and pair.record.resampled == "hsi"
    assert pair.record.psf_size == 6  # ratio + 2: the learned PSF takes up the residual shift
    r0, c0, h, w = pair.record.hsi_window
    assert np.array_equal(pair.hsi, hsi[:, r0 : r0 + h, c0 : c0 + w])  # a copy, no interpolation
    assert abs(pair.record.shift_px[0]) <= 0.125 and abs(pair.record.shift_px[1]) <= 0.125
    assert pair.record.to_dict()["shift_px"] == list(pair.record.shift_px)
    from rasterio.warp import transform

    x, y = transform("EPSG:32632", "EPSG:32633", [X0], [Y0])
    other = align_pair(hsi, RasterMeta(crs="EPSG:32633", transform=(40.0, 0.0, x[0], 0.0, -40.0, y[0])), msi, mm)
    assert other.record.method == "guided" and other.record.hsi_window is None


def test_guided_recovers_an_hsi_that_is_a_linear_map_of_the_msi():
    """HSI = area means of M @ MSI over pixels shifted by 5 m: "guided" undoes the bilinear error."""
    rng = np.random.default_rng(3)
    msi = (rng.random((3, 48, 48)) + 0.1).astype(np.float32)
    band_map = rng.random((6, 3))
    hr = np.einsum("ck,kyx->cyx", band_map, msi.astype(np.float64))
    weights = np.zeros((11, 48))  # LR pixel j covers metres [5 + 40 j, 45 + 40 j] of the 10 m MSI pixels
    for j in range(11):
        weights[j, 4 * j : 4 * j + 5] = [0.5, 1, 1, 1, 0.5]
    weights /= 4
    hsi = (weights @ hr @ weights.T).astype(np.float32)
    hm = RasterMeta(crs="EPSG:32632", transform=(40.0, 0.0, X0 + 5.0, 0.0, -40.0, Y0 - 5.0))
    mm = RasterMeta(crs="EPSG:32632", transform=(10.0, 0.0, X0, 0.0, -10.0, Y0))
    guided = align_pair(hsi, hm, msi, mm, method="guided")
    plain = align_pair(hsi, hm, msi, mm, method="bilinear")
    _nests(guided)
    r0, c0, h, w = guided.record.msi_window
    target = hr[:, r0 : r0 + h, c0 : c0 + w].reshape(6, h // 4, 4, w // 4, 4).mean(axis=(2, 4))
    v = guided.hsi_valid
    assert v.mean() > 0.6
    assert np.abs(guided.hsi[:, v] - target[:, v]).max() < 1e-4
    assert np.abs(plain.hsi[:, v] - target[:, v]).max() > 1e-2
    with pytest.raises(InputError, match="resample='hsi'"):
        align_pair(hsi, hm, msi, mm, method="guided", resample="msi")


EMIT_PX = 0.000542232520256367  # EMIT's GLT spacing in degrees: about 45 x 60 m at 42 N
LON0, LAT0 = 12.5, 41.9


def _geographic_pair(seed=4):
    """A 6-band 16 x 16 EMIT-like HSI on a north-up EPSG:4326 grid whose corners are NaN (a swath rotated
    against its GLT grid) and a 3-band 120 x 120 10 m MSI in UTM zone 33 covering it."""
    import math

    from rasterio.warp import transform

    rng = np.random.default_rng(seed)
    hsi = (rng.random((6, 16, 16)) + 0.1).astype(np.float32)
    rows, cols = np.mgrid[:16, :16]
    outside = (rows + cols < 4) | (rows + cols > 26) | (abs(rows - cols) > 11)
    hsi[:, outside] = np.nan
    hm = RasterMeta(crs="EPSG:4326", transform=(EMIT_PX, 0.0, LON0, 0.0, -EMIT_PX, LAT0))
    x, y = transform("EPSG:4326", "EPSG:32633", [LON0 - 0.001], [LAT0 + 0.001])
    mm = RasterMeta(
        crs="EPSG:32633", transform=(10.0, 0.0, math.floor(x[0] / 10) * 10, 0.0, -10.0, math.ceil(y[0] / 10) * 10)
    )
    msi = (rng.random((3, 120, 120)) + 0.1).astype(np.float32)
    return hsi, hm, msi, mm, outside


def _input_pixel(pair, hm):
    """(row, col) fractional position in the input HSI grid of each output LR pixel's centre."""
    from rasterio.warp import transform

    a, _, c, _, e, f = pair.hsi_meta.transform
    h, w = pair.hsi.shape[1:]
    rr, cc = np.mgrid[:h, :w] + 0.5
    lon, lat = transform(pair.hsi_meta.crs, "EPSG:4326", (c + a * cc).ravel(), (f + e * rr).ravel())
    ha, _, hc, _, he, hf = hm.transform
    col = (np.asarray(lon) - hc) / ha
    row = (np.asarray(lat) - hf) / he
    return row.reshape(h, w), col.reshape(h, w)


@pytest.mark.parametrize("method", ["auto", "bilinear"])
def test_a_geographic_anisotropic_hsi_is_reprojected_onto_blocks_of_the_utm_msi(method):
    hsi, hm, msi, mm, outside = _geographic_pair()
    with pytest.raises(InputError, match="CRS"):
        match_grids(hm, hsi.shape[1:], mm, msi.shape[1:])
    pair = align_pair(hsi, hm, msi, mm, method=method)
    rec = pair.record
    # 45 x 60 m against 10 m: 4.5 x 6.0, more than 5 % from any integer; the HSI is reprojected anyway,
    # so N is the rounded geometric mean (sqrt(4.5 * 6.0) = 5.2 -> 5)
    assert rec.pixel_ratio == pytest.approx((4.50, 6.02), abs=0.01)
    assert rec.ground_ratio == pytest.approx(np.sqrt(rec.pixel_ratio[0] * rec.pixel_ratio[1]))
    assert pair.ratio == rec.ratio == 5 and rec.reprojected_from == "EPSG:4326"
    assert rec.method == ("guided" if method == "auto" else "bilinear") and rec.psf_size == 7
    assert rec.to_dict()["ground_ratio"] == rec.ground_ratio
    g = match_grids(pair.hsi_meta, pair.hsi.shape[1:], pair.msi_meta, pair.msi.shape[1:])
    assert g.ratio == 5 and g.msi_window is None and g.hsi_window is None
    assert pair.hsi_meta.crs == pair.msi_meta.crs == "EPSG:32633"
    assert pair.hsi_meta.transform[0] == 50.0 and pair.hsi_meta.transform[4] == -50.0
    assert pair.msi_valid.all()  # the MSI covers the HSI: only sliced
    # the NaN corners of the swath are invalid, the valid pixels finite, the invalid ones NaN
    v = pair.hsi_valid
    assert 0.6 < v.mean() < 0.95
    assert np.isfinite(pair.hsi[:, v]).all() and np.isnan(pair.hsi[:, ~v]).all()
    row, col = _input_pixel(pair, hm)
    inside = (row >= 0) & (row < 16) & (col >= 0) & (col < 16)
    nearest = np.ones(v.shape, bool)
    nearest[inside] = outside[row[inside].astype(int), col[inside].astype(int)]
    assert not (v & nearest).any()  # over a NaN (or no) input pixel: invalid
    r0, c0 = np.floor(row - 0.5).astype(int), np.floor(col - 0.5).astype(int)  # the 2 x 2 bilinear taps
    for dr in (0, 1):
        for dc in (0, 1):
            rr, cc = r0[v] + dr, c0[v] + dc
            assert ((rr >= 0) & (rr < 16) & (cc >= 0) & (cc < 16)).all()
            assert not outside[rr, cc].any()  # a valid output touched no NaN input pixel
    assert v[~nearest].mean() > 0.7  # and most pixels over the swath stay valid


def test_a_constant_geographic_hsi_stays_constant_through_the_reprojection():
    hsi, hm, msi, mm, outside = _geographic_pair()
    hsi[:, ~outside] = 0.5
    for method in ("guided", "bilinear", "cubic"):
        pair = align_pair(hsi, hm, msi, mm, method=method)  # type: ignore[arg-type]
        assert pair.hsi_valid.mean() > 0.5
        assert np.allclose(pair.hsi[:, pair.hsi_valid], 0.5, atol=1e-5), method


def test_a_given_ratio_is_honoured_across_crs():
    hsi, hm, msi, mm, outside = _geographic_pair()
    for n in (6, 4, 2):
        pair = align_pair(hsi, hm, msi, mm, ratio=n)
        assert pair.ratio == pair.record.ratio == n
        assert pair.record.pixel_ratio == pytest.approx((4.50, 6.02), abs=0.01)  # the measurement is kept
        assert match_grids(pair.hsi_meta, pair.hsi.shape[1:], pair.msi_meta, pair.msi.shape[1:]).ratio == n
        assert pair.hsi_meta.transform[0] == 10.0 * n
        assert pair.msi.shape[1:] == (n * pair.hsi.shape[1], n * pair.hsi.shape[2])
        assert np.isnan(pair.hsi[:, ~pair.hsi_valid]).all() and not pair.hsi_valid.all()
    back = align_pair(hsi, hm, msi, mm, resample="msi")  # the MSI goes to the HSI's degrees, split 5 x 5
    assert back.ratio == 5 and back.msi_meta.crs == "EPSG:4326" and back.hsi_meta.transform == hm.transform
    assert np.array_equal(back.hsi_valid, ~outside) and back.msi_valid.all()
    with pytest.raises(InputError, match="ratio"):
        align_pair(hsi, hm, msi, mm, ratio=1)


def test_the_ratio_across_crs_is_at_least_2_and_swapped_inputs_are_still_refused():
    hsi, hm, msi, mm, _ = _geographic_pair()
    fine = hm.replace(transform=(EMIT_PX / 4, 0.0, LON0, 0.0, -EMIT_PX / 4, LAT0))  # about 11 x 15 m: 1.3
    pair = align_pair(hsi, fine, msi, mm)
    assert pair.record.ground_ratio == pytest.approx(1.3, abs=0.05) and pair.ratio == 2
    tiny = hm.replace(transform=(EMIT_PX / 8, 0.0, LON0, 0.0, -EMIT_PX / 8, LAT0))  # 5.6 x 7.5 m: finer than 10 m
    with pytest.raises(InputError, match="MSI pixels are larger"):
        align_pair(hsi, tiny, msi, mm)


def test_an_anisotropic_pixel_in_one_crs_is_still_refused():
    """In one CRS the HSI is only shifted: 4.5 x 6.0 is a wrong pair, with or without a ratio."""
    _, _, msi, mm = _pair()
    hsi = np.random.default_rng(5).random((6, 10, 8)).astype(np.float32) + 0.1
    hm = RasterMeta(crs="EPSG:32632", transform=(45.0, 0.0, X0, 0.0, -60.0, Y0))
    with pytest.raises(InputError, match=r"ratio of 4\.5 x 6, 20% from the nearest integer 5") as err:
        align_pair(hsi, hm, msi, mm)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match=r"25% from the given ratio 6"):
        align_pair(hsi, hm, msi, mm, ratio=6)
