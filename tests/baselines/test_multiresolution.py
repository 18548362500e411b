"""MTF-GLP hyper-sharpening (:mod:`pfs2c2.baselines.multiresolution`)."""

from __future__ import annotations

import pytest

from pfs2c2.baselines import glp_hs
from pfs2c2.errors import InputError
from pfs2c2.metrics import psnr

from .conftest import FLOOR, check_output


def test_glp_hs_regression_injection(pavia_problem, bicubic_scores):
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    fused = glp_hs(sim.lr_hsi, sim.hr_msi, injection="regression")
    check_output(fused, reference.shape)
    assert psnr(fused, reference) >= FLOOR["glp_hs"]
    with pytest.raises(InputError, match="injection"):
        glp_hs(sim.lr_hsi, sim.hr_msi, injection="additive")  # type: ignore[arg-type]
