"""Georeferencing checks (:mod:`pfs2c2._checks.grids`): one refusal and one acceptance each."""

from __future__ import annotations

import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError

HSI_T = (30.0, 0.0, 500000.0, 0.0, -30.0, 4100000.0)  # 30 m pixels, north-up
MSI_T = (10.0, 0.0, 500000.0, 0.0, -10.0, 4100000.0)  # 10 m pixels, same origin
BOUNDS = (500000.0, 4099700.0, 500300.0, 4100000.0)


def test_check_grid_shape():
    assert _checks.check_grid_shape((4, 5), "hsi_shape") == (4, 5)
    with pytest.raises(InputError, match=r"hsi_shape must be two positive sizes \(rows, cols\), got \(0, 5\)"):
        _checks.check_grid_shape((0, 5), "hsi_shape")
    with pytest.raises(InputError, match=r"msi_shape must be \(rows, cols\), got None"):
        _checks.check_grid_shape(None, "msi_shape")  # type: ignore[arg-type]


def test_check_crs_comparable():
    _checks.check_crs_comparable(None, "EPSG:32633", "EPSG:32633")
    with pytest.raises(InputError, match=r"cannot compare the CRS of the HSI \(EPSG:1\) and the MSI \(foo\): bad"):
        _checks.check_crs_comparable("bad", "EPSG:1", "foo")


def test_check_same_crs():
    _checks.check_same_crs(True, "EPSG:32633", "EPSG:32633", BOUNDS, 30.0)
    with pytest.raises(InputError, match=r"HSI CRS EPSG:32633 and MSI CRS EPSG:4326 differ; .*--dst-crs EPSG:32633"):
        _checks.check_same_crs(False, "EPSG:32633", "EPSG:4326", BOUNDS, 30.0)


def test_check_north_up():
    _checks.check_north_up(HSI_T, MSI_T)
    with pytest.raises(InputError, match="the MSI grid is rotated or sheared"):
        _checks.check_north_up(HSI_T, (10.0, 1.0, 500000.0, 0.0, -10.0, 4100000.0))
    with pytest.raises(InputError, match="the HSI and MSI grids run in opposite directions"):
        _checks.check_north_up(HSI_T, (10.0, 0.0, 500000.0, 0.0, 10.0, 4100000.0))


def test_check_pixel_ratio():
    assert _checks.check_pixel_ratio(HSI_T, MSI_T, BOUNDS, None) == 3
    with pytest.raises(InputError, match="the MSI pixels are larger than the HSI pixels"):
        _checks.check_pixel_ratio(MSI_T, HSI_T, BOUNDS, None)
    with pytest.raises(InputError, match="not the same integer N on both axes"):
        _checks.check_pixel_ratio(HSI_T, (12.0, 0.0, 500000.0, 0.0, -10.0, 4100000.0), BOUNDS, None)
    with pytest.raises(InputError, match="ratio=4 was given but the HSI pixel size 30 x 30"):
        _checks.check_pixel_ratio(HSI_T, MSI_T, BOUNDS, 4)


def test_check_grid_offset():
    assert _checks.check_grid_offset((30.0, 0.0, 500020.0, 0.0, -30.0, 4100000.0), MSI_T, BOUNDS) == (2, 0)
    with pytest.raises(InputError, match=r"the HSI and MSI grids are offset by 0.5 x 0 MSI pixels"):
        _checks.check_grid_offset((30.0, 0.0, 500005.0, 0.0, -30.0, 4100000.0), MSI_T, BOUNDS)


def test_check_grid_overlap():
    _checks.check_grid_overlap((0, 2), (0, 2), BOUNDS, BOUNDS, "EPSG:32633")
    with pytest.raises(InputError, match="the images do not overlap: HSI bounds 500000 4099700 500300 4100000"):
        _checks.check_grid_overlap((0, 2), (3, 3), BOUNDS, BOUNDS, "EPSG:32633")
