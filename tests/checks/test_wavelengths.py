"""HSI band centres (:mod:`pfs2c2._checks.wavelengths`)."""

from __future__ import annotations

import numpy as np
import pytest

import pfs2c2
from pfs2c2 import _checks
from pfs2c2.sensors import parse_wavelengths

from ..conftest import data_path


def test_real_spectrometer_overlaps_are_not_refused():
    """AVIRIS and ZY1-02E AHSI list bands per detector: a few steps back are real data, not an error."""
    for name, n in (("ksc_aviris_176.csv", 176), ("aviris_224_gatorsense.csv", 224), ("zy1_02e_ahsi_166.csv", 166)):
        wl = parse_wavelengths(data_path(f"wavelengths/{name}"), n)
        assert wl.shape == (n,) and np.sum(np.diff(wl) < 0) >= 1


def test_check_hsi_wavelengths():
    wl = _checks.check_hsi_wavelengths([400, 500, 600])
    assert wl.dtype == np.float64
    with pytest.raises(pfs2c2.InputError, match="micrometres"):
        _checks.check_hsi_wavelengths([0.4, 0.5, 0.6])
    with pytest.raises(pfs2c2.InputError, match="bands 2 and 3 are both at 500 nm"):
        _checks.check_increasing_wavelengths(np.array([400.0, 500.0, 500.0]), "HSI wavelengths")
    _checks.check_increasing_wavelengths(np.r_[np.arange(400.0, 500.0), 450.0, np.arange(500.0, 600.0)], "x")
