"""The ratio checks (:mod:`pfs2c2._checks.ratio`)."""

from __future__ import annotations

import numpy as np
import pytest

import pfs2c2
from pfs2c2 import _checks

C, c = 10, 3  # HSI bands, MSI bands


@pytest.mark.parametrize(
    "ratio, minimum, expected",
    [(4, 2, 4), (4.0, 2, 4), (np.int64(3), 2, 3), (1, 1, 1), ("4", 2, 4)],
)
def test_check_ratio_accepts_integers(ratio, minimum, expected):
    value = _checks.check_ratio(ratio, minimum=minimum)
    assert value == expected and type(value) is int


@pytest.mark.parametrize(
    "ratio, minimum, message",
    [
        (1, 2, "integer >= 2"),
        (2.5, 2, "integer >= 2"),
        (True, 2, "integer >= 2"),
        (None, 2, "integer >= 2"),
        (0, 1, "positive integer"),
        (1.5, 1, "positive integer"),
        ("x", 1, "positive integer"),
    ],
)
def test_check_ratio_refuses(ratio, minimum, message):
    with pytest.raises(pfs2c2.InputError, match=message):
        _checks.check_ratio(ratio, minimum=minimum)


def test_ratio_from_sizes_and_shapes():
    assert _checks.integer_ratio(8, 6, 32, 24) == 4
    assert _checks.integer_ratio(8, 6, 32, 25) is None and _checks.integer_ratio(0, 6, 32, 24) is None
    assert _checks.integer_ratio(8, 8, 8, 8) == 1  # never raises: the caller decides
    assert _checks.infer_ratio((C, 8, 6), (c, 32, 24)) == _checks.ratio_from_shapes(8, 6, 32, 24) == 4
    with pytest.raises(pfs2c2.InputError, match="same size"):
        _checks.ratio_from_shapes(8, 8, 8, 8)
    with pytest.raises(pfs2c2.InputError, match="--ratio 3 contradicts"):
        _checks.infer_ratio((C, 8, 6), (c, 32, 24), 3)
