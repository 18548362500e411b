"""Spectral-response checks (:mod:`pfs2c2._checks.sensors`)."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError

WL = np.array([400.0, 500.0, 600.0])
NAMES = ["B1_blue", "B2_green", "B3_pan"]


def test_check_n_bands():
    _checks.check_n_bands(1)
    with pytest.raises(InputError, match="n_bands must be >= 1, got 0"):
        _checks.check_n_bands(0)


def test_check_wavelength_range():
    _checks.check_wavelength_range(430.0, 860.0, 10, "430:860")
    _checks.check_wavelength_range(500.0, 500.0, 1, "500:500")
    with pytest.raises(InputError, match="wavelength range '0:860': start and stop must be positive nm"):
        _checks.check_wavelength_range(0.0, 860.0, 10, "0:860")
    with pytest.raises(InputError, match="wavelengths must increase, so START must be below STOP"):
        _checks.check_wavelength_range(860.0, 430.0, 10, "860:430")


def test_check_wavelength_count():
    _checks.check_wavelength_count(WL, 3, "wl.csv")
    with pytest.raises(InputError, match="wl.csv gives 3 wavelengths but the HSI has 4 bands"):
        _checks.check_wavelength_count(WL, 4, "wl.csv")
    with pytest.raises(InputError, match="wl.csv: wavelengths contain NaN or inf"):
        _checks.check_wavelength_count(np.array([1.0, np.nan, 3.0]), 3, "wl.csv")


def test_check_sensor_response():
    _checks.check_sensor_response("s", ("a",), WL, np.ones((3, 1)))
    with pytest.raises(InputError, match=r"SensorResponse 's': responses must have shape \(N, n_bands\) with N = 3"):
        _checks.check_sensor_response("s", ("a",), WL, np.ones((2, 1)))
    with pytest.raises(InputError, match="SensorResponse 's': duplicate band names in"):
        _checks.check_sensor_response("s", ("a", "a"), WL, np.ones((3, 2)))
    with pytest.raises(InputError, match="wavelengths must be at least 2 finite, strictly increasing values"):
        _checks.check_sensor_response("s", ("a",), WL[::-1], np.ones((3, 1)))


def test_check_gaussian_bands_and_names():
    _checks.check_gaussian_bands(np.array([500.0]), np.array([20.0]))
    _checks.check_gaussian_names(("a",), 1)
    with pytest.raises(InputError, match=r"gaussian_response: FWHMs must be > 0 nm, got \[0.0\]"):
        _checks.check_gaussian_bands(np.array([500.0]), np.array([0.0]))
    with pytest.raises(InputError, match="gaussian_response: 1 centres but 2 FWHMs"):
        _checks.check_gaussian_bands(np.array([500.0]), np.array([1.0, 2.0]))
    with pytest.raises(InputError, match="gaussian_response: 2 band names for 1 band centres"):
        _checks.check_gaussian_names(("a", "b"), 1)


def test_check_default_bands():
    _checks.check_default_bands("s", [0], NAMES)
    with pytest.raises(InputError, match="s: every band is panchromatic .*; pass bands= explicitly"):
        _checks.check_default_bands("s", [], NAMES)


def test_check_band_selection():
    _checks.check_band_selection("s", ["blue", "green"], [0, 1], NAMES)
    with pytest.raises(InputError, match="s: empty band selection; available bands:"):
        _checks.check_band_selection("s", [], [], NAMES)
    with pytest.raises(InputError, match="s: unknown or ambiguous band 'x'; available bands:"):
        _checks.check_band_selection("s", ["blue", "x"], [0, None], NAMES)
    with pytest.raises(InputError, match="s: band 'B1_blue' selected twice"):
        _checks.check_band_selection("s", ["blue", "B1", "x"], [0, 0, None], NAMES)  # first problem wins


def test_check_support_threshold():
    _checks.check_support_threshold(0.0)
    with pytest.raises(InputError, match=r"support_threshold must be in \[0, 1\), got 1"):
        _checks.check_support_threshold(1)


def test_check_band_coverage():
    srf = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    _checks.check_band_coverage("s", ["a", "b"], np.ones((3, 2)), 0.05, WL)
    with pytest.raises(InputError, match=r"s: band\(s\) \['b'\] have no HSI band .* drop them with bands=\['a'\]"):
        _checks.check_band_coverage("s", ["a", "b"], srf, 0.05, WL)


def test_check_srf_spec():
    _checks.check_srf_spec("sentinel2a")
    with pytest.raises(TypeError, match="load_srf: spec must be an array, a path or a sensor name, got int"):
        _checks.check_srf_spec(3)


def test_check_no_band_selection():
    _checks.check_no_band_selection(None, "no names")
    with pytest.raises(InputError, match="^no names$"):
        _checks.check_no_band_selection(["B1"], "no names")


def test_check_srf_row_count():
    _checks.check_srf_row_count(3, WL)
    _checks.check_srf_row_count(5, None)
    with pytest.raises(InputError, match="^m.csv: the SRF matrix has 5 rows but the HSI has 3 bands$"):
        _checks.check_srf_row_count(5, WL, "m.csv: ")


def test_check_wavelengths_given():
    _checks.check_wavelengths_given(WL, "need wavelengths")
    with pytest.raises(InputError, match="^need wavelengths$"):
        _checks.check_wavelengths_given(None, "need wavelengths")


def test_check_file_found(tmp_path):
    f = tmp_path / "wl.csv"
    f.write_text("500\n")
    _checks.check_file_found(f, "missing")
    with pytest.raises(FileNotFoundError, match="^wavelength file not found: x$"):
        _checks.check_file_found(tmp_path / "x.csv", "wavelength file not found: x")
