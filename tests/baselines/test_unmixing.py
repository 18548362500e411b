"""CNMF (:mod:`pfs2c2.baselines.unmixing`)."""

from __future__ import annotations

import numpy as np

from pfs2c2.baselines import cnmf


def test_cnmf_is_non_negative_and_repeatable(wide_psf_problem):
    sim = wide_psf_problem
    first = cnmf(sim.lr_hsi, sim.hr_msi, outer_iterations=1, inner_iterations=20)
    assert first.min() >= 0
    np.testing.assert_array_equal(first, cnmf(sim.lr_hsi, sim.hr_msi, outer_iterations=1, inner_iterations=20))
