"""Tests for pfs2c2.io.meta: RasterMeta and the wavelength units."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.io import RasterMeta, wavelength_unit_factor, wavelengths_to_nm


def test_wavelengths_to_nm_units_and_guess():
    np.testing.assert_allclose(wavelengths_to_nm([0.45, 0.55]), [450.0, 550.0])
    np.testing.assert_allclose(wavelengths_to_nm([450, 550]), [450.0, 550.0])
    np.testing.assert_allclose(wavelengths_to_nm([0.45], "Micrometers"), [450.0])
    np.testing.assert_allclose(wavelengths_to_nm([450], "Nanometers"), [450.0])
    np.testing.assert_allclose(wavelengths_to_nm([0.45], "Unknown"), [450.0])
    with pytest.raises(ValueError):
        wavelengths_to_nm([np.nan])


def test_wavelength_unit_factor():
    assert wavelength_unit_factor("Nanometers") == 1.0
    assert wavelength_unit_factor(" um ") == 1000.0
    assert wavelength_unit_factor("millimetres") == 1.0e6
    assert wavelength_unit_factor("Unknown") is None
    assert wavelength_unit_factor(None) is None


def test_raster_meta_helpers():
    m = RasterMeta(
        crs="EPSG:32633",
        transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0),
        wavelengths_nm=[0.45, 0.55, 0.65],
        fwhm_nm=[0.01, 0.01, 0.01],
    )
    np.testing.assert_allclose(m.wavelengths_nm, [450, 550, 650])
    np.testing.assert_allclose(m.fwhm_nm, [10, 10, 10])
    assert m.pixel_size() == (30.0, 30.0)
    assert m.is_georeferenced
    assert not RasterMeta().is_georeferenced
    assert RasterMeta().pixel_size() is None
    other = RasterMeta(crs="EPSG:4326", transform=(1e-4, 0, 10, 0, -1e-4, 50))
    g = m.with_grid(other)
    assert g.crs == "EPSG:4326" and g.transform == other.transform
    np.testing.assert_allclose(g.wavelengths_nm, m.wavelengths_nm)
    assert m.crs == "EPSG:32633"  # original unchanged
    assert RasterMeta.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="4 bands but its metadata lists 3"):
        m.check_bands(4)
    with pytest.raises(ValueError, match="FWHM"):
        RasterMeta(wavelengths_nm=[450, 550], fwhm_nm=[10])
