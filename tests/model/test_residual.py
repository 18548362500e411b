"""The residual step: bicubic (block-centred) against the one that follows the PSF (``residual_upsampling``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pfs2c2 import FusionConfig, InputError
from pfs2c2.model.residual import (
    border_consistent,
    border_rings,
    psf_offset,
    psf_residual,
    residual_upsample,
    shifted_upsample,
)
from pfs2c2.physics import bicubic_upsample_tensor, blur_downsample_tensor, blur_downsample_window, gaussian_psf

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


def wide_psf(size: int = 12) -> torch.Tensor:
    """A Gaussian combined kernel wider than the ratio: the outer LR ring's footprint crosses the edge."""
    u = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-0.5 * (u / 2.0) ** 2)
    k = torch.outer(g, g)
    return k / k.sum()


def zero_edge_lr(x: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
    """Blur + decimation of ``x`` with zero-filled edges (what some outside tools do)."""
    pad = (psf.shape[-1] - RATIO) // 2
    return blur_downsample_window(F.pad(x, (pad, pad, pad, pad)), psf, RATIO)


def test_border_rule_fires_on_a_zero_edge_lr_and_not_on_a_reflect_edge_one():
    psf = wide_psf()
    assert border_rings(12, RATIO) == 2 and border_rings(RATIO, RATIO) == 1
    x, z = truth_and_estimate()
    x, z = x + 0.5, z + 0.5  # radiance-like: positive, so zero-filling darkens the edge
    model = blur_downsample_tensor(z, psf, RATIO)  # the model reflects at the edges
    reflect = border_consistent(blur_downsample_tensor(x, psf, RATIO) - model, model, psf, RATIO)
    assert reflect.shape == (16, 16) and reflect.all()
    zero = zero_edge_lr(x, psf)
    keep = border_consistent(zero - model, model, psf, RATIO)
    ring = torch.ones(16, 16, dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    assert torch.equal(keep, ~ring)  # exactly the outer ring, whose footprint crosses the edge
    # leaving the inconsistent ring out makes the fused border better, the inside unchanged
    plain = z + residual_upsample(zero - model, psf, RATIO, "bicubic")
    ruled = z + residual_upsample(zero - model, psf, RATIO, "bicubic", keep.double()[None, None])
    edge = torch.zeros(64, 64, dtype=torch.bool)
    edge[:RATIO], edge[-RATIO:], edge[:, :RATIO], edge[:, -RATIO:] = True, True, True, True
    assert rmse(ruled[..., edge], x[..., edge]) < 0.5 * rmse(plain[..., edge], x[..., edge])
    inside = slice(3 * RATIO, -3 * RATIO)
    assert torch.equal(ruled[..., inside, inside], plain[..., inside, inside])


def test_border_rule_looks_at_one_side_at_a_time_and_ignores_invalid_pixels():
    psf = wide_psf()
    x, z = truth_and_estimate()
    x, z = x + 0.5, z + 0.5
    model = blur_downsample_tensor(z, psf, RATIO)
    residual = blur_downsample_tensor(x, psf, RATIO) - model
    residual[..., :, -1] -= 0.1 * model[..., :, -1]  # only the right column is dark: 10% darker
    keep = border_consistent(residual, model, psf, RATIO)
    assert not keep[:, -1].any() and keep[:, :-1].all()
    # a second dark column further in is followed while it is inconsistent (up to border_rings)
    residual[..., :, -3:-1] -= 0.1 * model[..., :, -3:-1]
    keep = border_consistent(residual, model, psf, RATIO)
    assert not keep[:, -2:].any() and keep[:, :-2].all()
    # brighter than predicted, or darker by less than BORDER_DARKENING: not a zero-filled edge
    bright = blur_downsample_tensor(x, psf, RATIO) - model
    bright[..., 0, :] += 0.2 * model[..., 0, :]
    bright[..., -1, :] -= 0.02 * model[..., -1, :]
    assert border_consistent(bright, model, psf, RATIO).all()
    # invalid LR pixels are not judged: a masked dark column is not a reason to drop anything
    valid = torch.ones(16, 16, dtype=torch.bool)
    valid[:, -3:] = False
    assert border_consistent(residual, model, psf, RATIO, valid[None, None]).all()
    # too small an interior to judge: nothing dropped
    assert border_consistent(residual[..., :5, :5], model[..., :5, :5], psf, RATIO).all()
    assert border_consistent(residual, model, psf, RATIO, np.zeros((16, 16), bool)).all()
