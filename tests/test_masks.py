"""Nodata handling: invalid pixels are left out of the losses and come back as NaN."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pfs2c2 import FusionConfig, StageConfig, evaluate, fuse
from pfs2c2.masks import block_all, valid_pixels


def test_valid_pixels_flags_nan_zero_nodata_and_saturation():
    cube = np.ones((3, 4, 4))
    cube[:, 0, 0] = 0  # zero-filled border
    cube[1, 0, 1] = np.nan
    cube[2, 0, 2] = -9999
    cube[0, 0, 3] = 4095
    valid = valid_pixels(cube, nodata=-9999, saturation=4095)
    assert valid[0].tolist() == [False, False, False, False]
    assert valid[1:].all()


def test_block_all():
    mask = np.ones((4, 4), bool)
    mask[0, 1] = False
    assert block_all(mask, 2).tolist() == [[False, True], [True, True]]


def test_nodata_pixels_do_not_disturb_fusion(pavia_problem):
    """A zero-filled border and NaN holes give the same result inside as a clean run."""
    sim, reference = pavia_problem["sim"], pavia_problem["reference"]
    cfg = dataclasses.replace(FusionConfig.preset_config("fast"), stage3=StageConfig(300, 2e-3, 150))
    clean = fuse(sim.lr_hsi, sim.hr_msi, config=cfg)
    lr, hr = sim.lr_hsi.copy(), sim.hr_msi.copy()
    lr[:, :, :3] = 0.0  # nodata border on the LR grid
    hr[:, 40:44, 60:64] = np.nan  # a hole in the MSI
    hr[:, :, :8] = 0.0  # and a border
    holed = fuse(lr, hr, config=cfg, mask_nonfinite=True)
    assert np.isnan(holed.fused[:, 40:44, 60:64]).all() and np.isnan(holed.fused[:, :, :8]).all()
    inside = np.ones(reference.shape[1:], bool)
    inside[40:44, 60:64] = False
    inside[:, :12] = False
    psnr_clean = evaluate(clean.fused, reference, 4, mask=inside)["psnr"]
    psnr_holed = evaluate(holed.fused, reference, 4, mask=inside)["psnr"]
    assert psnr_holed > psnr_clean - 1.0, (psnr_holed, psnr_clean)
    assert np.abs(holed.psf - sim.psf).max() < 0.01
    # without the mask the same NaN input is refused
    with pytest.raises(ValueError, match="NaN"):
        fuse(lr, hr, config=cfg)
