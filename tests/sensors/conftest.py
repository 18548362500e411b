"""Shared by the sensors tests: the shared response curves' folder, a mark that skips without it, and
the Pavia ROSIS band grid."""

from __future__ import annotations

import numpy as np
import pytest

from ..conftest import DATA

SRF_DIR = DATA / "srf" / "sensors"
needs_data = pytest.mark.skipif(not SRF_DIR.is_dir(), reason=f"shared data not found at {DATA}")

ROSIS_102 = np.linspace(430.0, 860.0, 102)  # the Pavia ROSIS grid: 102 bands evenly over 430-860 nm
