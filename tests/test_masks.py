"""Nodata handling: invalid pixels are left out of the losses and come back as NaN."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from pfs2c2 import FusionConfig, StageConfig, evaluate, fuse
from pfs2c2.io import RasterMeta, write_cube
from pfs2c2.masks import block_all, valid_pixels, zero_border_pixels


def test_valid_pixels_flags_nan_nodata_and_saturation():
    cube = np.ones((3, 4, 4))
    cube[1, 0, 1] = np.nan
    cube[2, 0, 2] = -9999
    cube[0, 0, 3] = 4095
    valid = valid_pixels(cube, nodata=-9999, saturation=4095)
    assert valid[0].tolist() == [True, False, False, False]
    assert valid[1:].all()


def test_all_zero_spectra_are_data_unless_the_user_says_so():
    cube = np.ones((3, 6, 6))
    cube[:, 2, 3] = 0.0  # dark water inside the image: data, and no warning
    cube[:, :, 0] = 0.0  # a zero-filled left border
    cube[1, 4, 4] = 0.0  # one zero band is never nodata by itself
    inner = np.ones((3, 6, 6))
    inner[:, 2, 3] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert valid_pixels(inner).all()
    with pytest.warns(UserWarning, match=r"LR: all-zero spectra touch the image edge .* nodata=0"):
        valid = valid_pixels(cube, name="LR")
    assert valid.all()  # kept as data: no guess
    old = valid_pixels(cube, zero_is_nodata=True)  # the old rule on request, quietly
    assert not old[:, 0].any() and not old[2, 3] and old[4, 4] and old[:, 1:].sum() == 29
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        given = valid_pixels(cube, nodata=0)  # the user's nodata value: every pixel with a zero band
        valid_pixels(cube, warn_zero_border=False)
        valid_pixels(cube, nodata=float("nan"))  # a nodata value was given: no warning either
    assert not given[:, 0].any() and not given[2, 3] and not given[4, 4] and given.sum() == 36 - 6 - 2


def test_zero_border_pixels_are_the_edge_connected_zero_regions():
    cube = np.ones((2, 5, 5))
    cube[:, 0, :2] = 0.0  # touches the top edge
    cube[:, 1, 2] = 0.0  # diagonal neighbour of it: same region
    cube[:, 3, 3] = 0.0  # isolated inside
    cube[0, 4, 4] = np.nan  # NaN is not zero
    cube[1, 4, 4] = 0.0
    border = zero_border_pixels(cube)
    assert sorted(zip(*np.nonzero(border))) == [(0, 0), (0, 1), (1, 2)]
    assert not zero_border_pixels(np.ones((2, 3, 3))).any()


def test_a_files_nodata_value_is_still_applied(tmp_path):
    from pfs2c2 import runs

    rng = np.random.default_rng(0)
    hsi = rng.random((8, 6, 6)).astype(np.float32) + 0.1
    msi = rng.random((3, 12, 12)).astype(np.float32) + 0.1
    hsi[:, 0] = 0.0  # zero-filled top row
    write_cube(tmp_path / "tagged.tif", hsi, RasterMeta(nodata=0.0))
    write_cube(tmp_path / "untagged.tif", hsi, RasterMeta())
    write_cube(tmp_path / "msi.tif", msi, RasterMeta())
    tagged = runs.read_inputs(tmp_path / "tagged.tif", tmp_path / "msi.tif", 2)
    assert tagged.hsi_meta.nodata == 0.0
    assert not tagged.hsi_mask[0].any() and tagged.hsi_mask[1:].all() and tagged.msi_mask.all()
    with pytest.warns(UserWarning, match="all-zero spectra touch the image edge"):
        untagged = runs.read_inputs(tmp_path / "untagged.tif", tmp_path / "msi.tif", 2)
    assert untagged.hsi_mask.all()
    # the user's nodata value replaces the file's (none here)
    told = runs.read_file_pair(tmp_path / "untagged.tif", tmp_path / "msi.tif", 2, hsi_nodata=0)
    assert told.hsi_meta.nodata == 0.0 and told.msi_meta.nodata is None
    assert not valid_pixels(told.hsi, told.hsi_meta.nodata)[0].any()


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
    # nodata 0 given by the user (all-zero spectra are data by default)
    masks = {"hsi_mask": valid_pixels(lr, nodata=0), "msi_mask": valid_pixels(hr, zero_is_nodata=True)}
    holed = fuse(lr, hr, config=cfg, mask_nonfinite=True, **masks)
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
