"""Metric input checks (:mod:`pfs2c2._checks.metrics`)."""

from __future__ import annotations

import math

import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError


def test_check_metric_pair():
    _checks.check_metric_pair((3, 4, 4), (3, 4, 4))
    with pytest.raises(InputError, match=r"fused and reference must have the same shape, got fused \(3, 4, 4\)"):
        _checks.check_metric_pair((3, 4, 4), (3, 4, 5))
    with pytest.raises(InputError, match=r"expected \(C, H, W\) arrays, got shape \(4, 4\)"):
        _checks.check_metric_pair((4, 4), (4, 4))


def test_check_peak():
    _checks.check_peak("band")
    _checks.check_peak(1.0)
    for bad in ("max", 0, -1.0):
        with pytest.raises(InputError, match='peak must be "band" or a positive number'):
            _checks.check_peak(bad)


def test_check_gsd_ratio():
    _checks.check_gsd_ratio(2.5)
    with pytest.raises(InputError, match=r"ratio must be positive \(4 for a 4x fusion\), got 0"):
        _checks.check_gsd_ratio(0)


def test_check_noref_shapes():
    _checks.check_noref_shapes((3, 8, 8), (3, 2, 2), 4)
    with pytest.raises(InputError, match="fused and lr_hsi must have the same number of bands, got 3 and 2"):
        _checks.check_noref_shapes((3, 8, 8), (2, 2, 2), 4)
    with pytest.raises(InputError, match="fused 8x8 must be lr_hsi 3x2 times the ratio 4; crop both consistently"):
        _checks.check_noref_shapes((3, 8, 8), (3, 3, 2), 4)


def test_check_block_size():
    _checks.check_block_size(32, 4)
    with pytest.raises(InputError, match="block_size must be a multiple of the ratio 4 and at least 8, got 6"):
        _checks.check_block_size(6, 4)


def test_check_msi_like_fused():
    _checks.check_msi_like_fused((2, 8, 8), (3, 8, 8))
    with pytest.raises(InputError, match=r"hr_msi must be \(c, 8, 8\) like fused, got shape \(2, 8, 4\)"):
        _checks.check_msi_like_fused((2, 8, 4), (3, 8, 8))


def test_check_max_bands():
    _checks.check_max_bands(2)
    with pytest.raises(InputError, match="max_bands must be an integer >= 2 or None, got 1.5"):
        _checks.check_max_bands(1.5)


def test_check_exponent():
    assert _checks.check_exponent(2, "p") == 2.0
    with pytest.raises(InputError, match="q must be a positive number, got inf"):
        _checks.check_exponent(math.inf, "q")


def test_check_min_bands():
    _checks.check_min_bands(2, "d_lambda")
    with pytest.raises(InputError, match="d_lambda needs at least 2 bands, got 1"):
        _checks.check_min_bands(1, "d_lambda")
