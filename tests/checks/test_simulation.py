"""Wald simulation checks (:mod:`pfs2c2._checks.simulation`)."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError


def test_check_reference_size():
    _checks.check_reference_size(4, 4, 4)
    with pytest.raises(InputError, match="reference of size 4x2 is smaller than the ratio 4"):
        _checks.check_reference_size(4, 2, 4)


def test_check_srf_reduces_bands():
    _checks.check_srf_reduces_bands(np.ones((5, 3)))
    with pytest.raises(InputError, match="the SRF maps 3 HSI bands to 3 MSI bands; the MSI needs fewer bands"):
        _checks.check_srf_reduces_bands(np.ones((3, 3)))
