"""The training sample of a scene (issue 15 item 1): what is read, where, and that the losses on it are
the losses on the sampled pixels of the scene."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pfs2c2.config import FusionConfig
from pfs2c2.errors import InputError
from pfs2c2.io import open_cube, write_cube
from pfs2c2.model import Problem, Trainer
from pfs2c2.model.losses import HRBatch, stage2_terms, stage3_terms
from pfs2c2.scene import CubeWindow, draw_sample
from pfs2c2.scene.sample import halo_ring

R = 3


def _pair(h: int = 40, w: int = 60, bands: int = 9, msi_bands: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    hr = rng.uniform(0.1, 1.0, (bands, h * R, w * R)).astype(np.float32)
    lr = hr.reshape(bands, h, R, w, R).mean(axis=(2, 4)).astype(np.float32)
    msi = np.einsum("chw,cd->dhw", hr, rng.uniform(0, 1, (bands, msi_bands))).astype(np.float32)
    return lr, msi


def test_a_scene_within_the_budget_is_its_own_sample():
    lr, msi = _pair(10, 12)
    s = draw_sample(lr, msi, R, lr_pixels=120)
    assert s.whole and s.ring == 0 and s.lr_pixels == 120
    np.testing.assert_array_equal(s.lr_hsi, lr)
    np.testing.assert_array_equal(s.hr_msi, msi)


def test_patches_are_the_scene_windows_at_their_origins_and_cover_it_stratified():
    lr, msi = _pair(40, 60)
    s = draw_sample(lr, msi, R, lr_pixels=6 * 64, patch=8, seed=3)
    assert not s.whole and len(s.origins) == 6 and s.lr_hsi.shape == (9, 16, 24) and s.hr_msi.shape == (3, 48, 72)
    for k, (i, j) in enumerate(s.origins):
        a, b = divmod(k, 3)
        np.testing.assert_array_equal(s.lr_hsi[:, a * 8 : a * 8 + 8, b * 8 : b * 8 + 8], lr[:, i : i + 8, j : j + 8])
        hr_patch = s.hr_msi[:, a * 24 : a * 24 + 24, b * 24 : b * 24 + 24]
        np.testing.assert_array_equal(hr_patch, msi[:, i * R : (i + 8) * R, j * R : (j + 8) * R])
    rows = sorted({i for i, _ in s.origins})
    cols = sorted({j for _, j in s.origins})
    assert rows[0] < 20 <= rows[-1] and cols[0] < 20 and cols[-1] >= 40  # both halves of each axis seen
    again = draw_sample(lr, msi, R, lr_pixels=6 * 64, patch=8, seed=3)
    assert again.origins == s.origins  # deterministic: a resumed run draws the same sample


def test_a_wide_psf_leaves_the_patch_rings_out_of_the_losses():
    lr, msi = _pair(40, 60)
    assert halo_ring(R, R) == 0 and halo_ring(R + 2, R) == 1 and halo_ring(R + 2 * R + 2, R) == 2
    s = draw_sample(lr, msi, R, lr_pixels=4 * 36, patch=8, psf_size=R + 2)
    assert s.ring == 1 and s.lr_pixels == 4 * 36  # the budget counts the pixels in the losses
    first = s.hsi_valid[:8, :8]
    assert not first[0].any() and not first[:, -1].any() and first[1:-1, 1:-1].all()


def test_invalid_pixels_stay_invalid_and_empty_patches_are_drawn_again():
    lr, msi = _pair(40, 60)
    hsi_valid = np.ones(lr.shape[1:], bool)
    hsi_valid[:, :30] = False  # the left half is nodata
    s = draw_sample(lr, msi, R, lr_pixels=4 * 64, patch=8, hsi_valid=hsi_valid, seed=1)
    for i, j in s.origins:
        assert hsi_valid[i : i + 8, j : j + 8].mean() >= 0.25  # cells of nodata lend their patch to data
    assert s.hsi_valid.sum() == sum(hsi_valid[i : i + 8, j : j + 8].sum() for i, j in s.origins)


def test_reading_from_files_by_windows_equals_reading_the_arrays(tmp_path):
    lr, msi = _pair(40, 60)
    write_cube(tmp_path / "lr.tif", lr)
    write_cube(tmp_path / "hr.tif", msi)
    from_files = draw_sample(open_cube(tmp_path / "lr.tif"), open_cube(tmp_path / "hr.tif"), R, lr_pixels=256)
    from_arrays = draw_sample(lr, msi, R, lr_pixels=256)
    np.testing.assert_array_equal(from_files.lr_hsi, from_arrays.lr_hsi)
    np.testing.assert_array_equal(from_files.hr_msi, from_arrays.hr_msi)
    part = CubeWindow(open_cube(tmp_path / "lr.tif"), (4, 6), (30, 50))
    assert part.shape == (9, 30, 50)
    np.testing.assert_array_equal(part[:, 2:5, 7:9], lr[:, 6:9, 13:15])


@pytest.mark.parametrize("psf_size", [R, R + 2])
def test_the_losses_on_the_mosaic_are_the_losses_on_the_sampled_pixels(psf_size):
    """Every stage-2 and stage-3 term on the mosaic equals the term on the patches taken as a batch of
    separate images (the attention pooled over the batch), on the pixels in use."""
    lr, msi = _pair(40, 60)
    s = draw_sample(lr, msi, R, lr_pixels=6 * 64, patch=8, psf_size=psf_size, seed=2)
    mosaic = Problem.build(s.lr_hsi, s.hr_msi, s.hsi_valid, s.msi_valid, R)
    cfg = dataclasses.replace(FusionConfig.preset_config("fast"), ensemble=1, psf_size=psf_size)
    torch.manual_seed(0)
    m = Trainer(mosaic, cfg).modules
    stack_y = torch.stack([torch.from_numpy(lr[:, i : i + 8, j : j + 8]) for i, j in s.origins]) / mosaic.hsi_scale
    stack_z = (
        torch.stack([torch.from_numpy(msi[:, i * R : (i + 8) * R, j * R : (j + 8) * R]) for i, j in s.origins])
        / mosaic.msi_scale
    )
    q = s.ring
    keep = torch.zeros(len(s.origins), 1, 8, 8)
    keep[:, :, q : 8 - q, q : 8 - q] = 1.0
    mosaic_mask = torch.from_numpy(s.hsi_valid.astype(np.float32))[None, None]
    hr_keep = keep.repeat_interleave(R, 2).repeat_interleave(R, 3)
    mosaic_hr = mosaic_mask.repeat_interleave(R, 2).repeat_interleave(R, 3)
    with torch.no_grad():
        m.spe_up.set_pool_batch(True)
        on_stack = {
            **stage2_terms(m, stack_y, stack_z, keep),
            **stage3_terms(
                m,
                stack_y,
                stack_z,
                keep,
                hr_keep,
                HRBatch(stack_z, stack_y, keep, None),
                learn_degradation=True,
                spectral_consistency_weight=1.0,
            ),
        }
        m.spe_up.set_pool_batch(False)
        on_mosaic = {
            **stage2_terms(m, mosaic.lr_hsi, mosaic.hr_msi, mosaic_mask),
            **stage3_terms(
                m,
                mosaic.lr_hsi,
                mosaic.hr_msi,
                mosaic_mask,
                mosaic_hr,
                HRBatch(mosaic.hr_msi, mosaic.lr_hsi, mosaic_mask, None),
                learn_degradation=True,
                spectral_consistency_weight=1.0,
            ),
        }
    assert on_stack.keys() == on_mosaic.keys()
    for name in on_stack:
        assert float(on_mosaic[name]) == pytest.approx(float(on_stack[name]), rel=2e-5), name


def test_bad_budgets_are_refused():
    lr, msi = _pair(10, 12)
    with pytest.raises(InputError, match="at least 1 LR pixel"):
        draw_sample(lr, msi, R, lr_pixels=0)
    with pytest.raises(InputError, match="needs 30x36"):
        draw_sample(lr, msi[:, :-1], R)
