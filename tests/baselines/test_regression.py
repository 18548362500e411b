"""Linear regression (:mod:`pfs2c2.baselines.regression`): the legacy call form equals the shared one."""

from __future__ import annotations

import numpy as np

from pfs2c2.baselines import linear_regression, linear_regression_fusion
from pfs2c2.metrics import psnr

from .conftest import FLOOR, check_output


def test_legacy_call_forms_still_work(pavia_problem):
    sim = pavia_problem["sim"]
    legacy = linear_regression_fusion(sim.lr_hsi, sim.hr_msi, 4)
    check_output(legacy, sim.reference.shape)
    np.testing.assert_array_equal(legacy, linear_regression(sim.lr_hsi, sim.hr_msi))
    np.testing.assert_array_equal(linear_regression_fusion(sim.lr_hsi, sim.hr_msi, 4, sim.psf), legacy)
    assert psnr(legacy, sim.reference) >= FLOOR["linear_regression"]
