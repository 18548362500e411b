"""Raster metadata checks (:mod:`pfs2c2._checks.meta`; they raise ``ValueError``)."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError


def test_check_wavelength_list():
    _checks.check_wavelength_list(np.array([450.0, 550.0]), [450, 550])
    with pytest.raises(ValueError, match="wavelengths must be a non-empty list of finite numbers") as info:
        _checks.check_wavelength_list(np.array([]), [])
    assert not isinstance(info.value, InputError)


def test_check_finite_field():
    _checks.check_finite_field("fwhm_nm", np.array([10.0]))
    with pytest.raises(ValueError, match=r"RasterMeta.fwhm_nm must be finite numbers"):
        _checks.check_finite_field("fwhm_nm", np.array([np.nan]))


def test_check_transform():
    _checks.check_transform((1.0, 0.0, 0.0, 0.0, -1.0, 0.0))
    with pytest.raises(ValueError, match=r"RasterMeta.transform needs the 6 affine coefficients"):
        _checks.check_transform((1.0, 0.0))


def test_check_fwhm_count():
    _checks.check_fwhm_count(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="RasterMeta: 2 FWHM values for 3 wavelengths; give one per band"):
        _checks.check_fwhm_count(np.ones(2), np.ones(3))


def test_check_band_field():
    _checks.check_band_field("band_names", None, 3)
    _checks.check_band_field("band_names", ["a", "b", "c"], 3)
    with pytest.raises(ValueError, match="cube has 3 bands but its metadata lists 2 band_names; give one value"):
        _checks.check_band_field("band_names", ["a", "b"], 3)
