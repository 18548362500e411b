"""Shape checks (:mod:`pfs2c2._checks.shapes`)."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError


def test_check_ndim():
    _checks.check_ndim(np.ones((3, 3)), 2, "psf must be 2-D, got shape {shape}")
    with pytest.raises(InputError, match=r"^psf must be 2-D, got shape \(3,\)$"):
        _checks.check_ndim(np.ones(3), 2, "psf must be 2-D, got shape {shape}")


def test_check_same_shape():
    _checks.check_same_shape(np.ones((2, 3)), np.ones((2, 3)), "true_srf", "srf", "(C, c)")
    with pytest.raises(InputError, match=r"^a \(1, 2, 2\) and b \(1, 2, 3\) must have the same \(C, H, W\) shape$"):
        _checks.check_same_shape(np.ones((1, 2, 2)), np.ones((1, 2, 3)), "a", "b")
