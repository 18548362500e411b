"""The residual step: bicubic (block-centred) against the one that follows the PSF (``residual_upsampling``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pfs2c2 import FusionConfig, InputError
from pfs2c2.model.residual import psf_offset, psf_residual, residual_upsample, shifted_upsample
from pfs2c2.physics import bicubic_upsample_tensor, blur_downsample_tensor, gaussian_psf

RATIO = 4


def box_psf(size: int, start: int) -> torch.Tensor:
    """A ``RATIO x RATIO`` box at rows and columns ``[start, start + RATIO)`` of a ``size x size`` combined kernel."""
    psf = torch.zeros(size, size, dtype=torch.float64)
    psf[start : start + RATIO, start : start + RATIO] = 1.0 / RATIO**2
    return psf


def truth_and_estimate(period: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, Z)``: a smooth HR image ``(1, 2, 64, 64)`` and a wrong estimate of it (a sinusoidal error)."""
    g = torch.Generator().manual_seed(0)
    x = F.avg_pool2d(torch.rand(1, 2, 64, 64, dtype=torch.float64, generator=g), 3, 1, 1, count_include_pad=False)
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    error = 0.05 * torch.sin(2 * math.pi * xx / period + 0.3) * torch.sin(2 * math.pi * yy / period + 1.1)
    return x, x + error.double()


def rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).square().mean().sqrt())


def test_off_centre_psf_the_psf_step_corrects_where_bicubic_makes_it_worse():
    psf = box_psf(8, 4)  # the LR pixel sees the block shifted by half an LR pixel down and right
    assert psf_offset(psf, RATIO) == pytest.approx((2.0, 2.0))
    x, z = truth_and_estimate()
    y = blur_downsample_tensor(x, psf, RATIO)
    residual = y - blur_downsample_tensor(z, psf, RATIO)
    before = rmse(z, x)
    bicubic = z + residual_upsample(residual, psf, RATIO, "bicubic")
    followed = z + residual_upsample(residual, psf, RATIO, "psf")
    assert rmse(bicubic, x) > before  # the correction lands half an LR pixel off
    assert rmse(followed, x) < 0.6 * before
    # exact in the LR sense: the corrected image degrades to the LR image
    assert float((blur_downsample_tensor(followed, psf, RATIO) - y).abs().max()) < 0.02 * float(residual.abs().max())
    assert float((blur_downsample_tensor(bicubic, psf, RATIO) - y).abs().max()) > 0.5 * float(residual.abs().max())


@pytest.mark.parametrize("psf", [box_psf(4, 0), box_psf(8, 2), torch.from_numpy(gaussian_psf(RATIO))])
def test_centred_psf_both_steps_help(psf):
    assert psf_offset(psf, RATIO) == pytest.approx((0.0, 0.0), abs=1e-12)
    x, z = truth_and_estimate(12.0)
    y = blur_downsample_tensor(x, psf, RATIO)
    residual = y - blur_downsample_tensor(z, psf, RATIO)
    before = rmse(z, x)
    bicubic = rmse(z + residual_upsample(residual, psf, RATIO, "bicubic"), x)
    followed = rmse(z + residual_upsample(residual, psf, RATIO, "psf"), x)
    assert bicubic < 0.8 * before and followed < 0.8 * before
    assert followed <= bicubic * 1.05


def test_centred_psf_without_back_projection_is_the_bicubic_step():
    residual = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    psf = box_psf(4, 0)
    assert torch.equal(psf_residual(residual, psf, RATIO, iterations=0), bicubic_upsample_tensor(residual, RATIO))
    # the shifted interpolation at a vanishing offset is bicubic interpolation
    close = shifted_upsample(residual, RATIO, (1e-12, -1e-12))
    assert torch.allclose(close, bicubic_upsample_tensor(residual, RATIO), atol=1e-9)


def test_shifted_upsample_moves_the_samples_by_the_offset():
    residual = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    moved = shifted_upsample(residual, RATIO, (RATIO, 0.0))  # one LR pixel down
    base = bicubic_upsample_tensor(residual, RATIO)
    assert torch.allclose(moved[..., RATIO:, :], base[..., :-RATIO, :], atol=1e-9)


def test_masked_lr_pixels_add_nothing():
    residual = torch.rand(1, 2, 8, 8, dtype=torch.float64)
    mask = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    mask[..., :4, :] = 0
    psf = box_psf(8, 4)
    masked = residual_upsample(residual, psf, RATIO, "psf", mask)
    assert torch.equal(masked, residual_upsample(residual * mask, psf, RATIO, "psf", mask))
    assert np.isfinite(masked.numpy()).all()


def test_config_choice_is_checked_and_round_trips(tmp_path):
    assert FusionConfig().residual_upsampling == "bicubic"
    cfg = FusionConfig(residual_upsampling="psf")
    path = tmp_path / "c.yaml"
    cfg.to_yaml(path)
    assert FusionConfig.from_yaml(path) == cfg
    with pytest.raises(InputError, match="residual_upsampling must be 'bicubic' or 'psf'"):
        FusionConfig(residual_upsampling="nearest")
