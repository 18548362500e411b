"""Bicubic interpolation (:mod:`pfs2c2.baselines.interpolation`)."""

from __future__ import annotations

import numpy as np

from pfs2c2.baselines import bicubic, bicubic_upsample

from .conftest import check_output


def test_bicubic_wrapper_matches_bicubic_upsample(pavia_problem, bicubic_scores):
    sim = pavia_problem["sim"]
    fused = bicubic(sim.lr_hsi, sim.hr_msi)
    check_output(fused, sim.reference.shape)
    np.testing.assert_allclose(fused, bicubic_upsample(sim.lr_hsi, 4), atol=1e-5)
    assert 31.0 < bicubic_scores["psnr"] < 32.5
