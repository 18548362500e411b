"""Tile geometry: the plan covers the scene, the weights sum to one, the overlap follows the PSF and the
residual reach, bad tile options are one-line errors, sample tiles are spread over the scene."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.tiling import default_overlap, plan_tiles, sample_tiles, tile_margin


def weight_sum(plan) -> np.ndarray:
    total = np.zeros(plan.hr_shape)
    for tile in plan.tiles:
        kr, kc, kh, kw = tile.keep
        wy, wx = plan.weights(tile)
        total[kr : kr + kh, kc : kc + kw] += np.outer(wy, wx)
    return total


@pytest.mark.parametrize(
    "shape, ratio, tile, overlap, margin",
    [
        ((25, 25), 4, 12, 6, 2),
        ((40, 23), 3, 16, 8, 2),
        ((10, 60), 2, 20, 5, 2),
        ((9, 9), 4, 64, 8, 2),
        ((33, 70), 5, 17, 7, 3),
    ],
)
def test_plan_covers_the_scene_and_weights_sum_to_one(shape, ratio, tile, overlap, margin):
    plan = plan_tiles(shape, ratio, tile, overlap, margin)
    np.testing.assert_allclose(weight_sum(plan), 1.0, atol=1e-6)
    rows = sorted({t.lr[0] for t in plan.tiles})
    for a, b in zip(rows, rows[1:]):
        assert min(tile, shape[0]) - (b - a) >= overlap  # neighbours share at least the overlap
    for t in plan.tiles:
        r0, c0, h, w = t.lr
        assert t.hr == (r0 * ratio, c0 * ratio, h * ratio, w * ratio)
        assert r0 + h <= shape[0] and c0 + w <= shape[1] and h == min(tile, shape[0]) and w == min(tile, shape[1])
        kr, kc, kh, kw = t.keep  # the kept part lies in the tile, away from interior borders by the margin
        assert t.hr[0] <= kr and kr + kh <= t.hr[0] + t.hr[2]
        if r0 > 0:
            assert kr >= (r0 + margin) * ratio
        if r0 + h < shape[0]:
            assert kr + kh <= (r0 + h - margin) * ratio
        wy, wx = plan.weights(t)
        assert wy.shape == (kh,) and wx.shape == (kw,) and (wy > 0).all() and (wx > 0).all() and wy.max() <= 1


def test_overlap_follows_the_psf_and_the_residual_reach():
    assert tile_margin(4, 4) == 2  # ratio x ratio PSF: only the bicubic residual (2 LR px)
    assert tile_margin(4, 12) == 1 + 2  # 12x12 PSF reaches 4 HR px = 1 LR px beyond its block
    assert tile_margin(3, 11) == 2 + 2
    assert tile_margin(4, 4, residual_correction=False) == 0
    assert default_overlap(4, 4) == 2 * 2 + 4


def test_bad_tile_options_are_one_line_errors():
    with pytest.raises(InputError, match="at least 12"):
        plan_tiles((50, 50), 4, 10, 6, 2)
    with pytest.raises(InputError, match="exceed twice the margin"):
        plan_tiles((50, 50), 4, 20, 4, 2)


def test_sample_tiles_start_at_the_centre_and_spread_out():
    plan = plan_tiles((40, 40), 4, 12, 6, 2)
    picked = sample_tiles(plan, 3)
    gh, gw = plan.grid_shape
    assert len(picked) == 3 and len({t.index for t in picked}) == 3
    assert picked[0].grid == (gh // 2, gw // 2)
    assert sample_tiles(plan_tiles((10, 10), 4, 64, 8, 2), 3) == plan_tiles((10, 10), 4, 64, 8, 2).tiles  # one tile
