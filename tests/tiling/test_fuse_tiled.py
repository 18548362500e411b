"""fuse_tiled and prepare_scene: quality against untiled fusion on the real Pavia crop (no seams, operators
learned once), inputs checked like untiled ones, the result shares fuse's fields."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import FusionConfig, evaluate, fuse
from pfs2c2.config import RunOptions
from pfs2c2.errors import InputError
from pfs2c2.fusion import RunResult
from pfs2c2.sensors import band_support
from pfs2c2.tiling import fuse_tiled

from .conftest import RUN, tiny_config


@pytest.fixture(scope="module")
def pavia_tiled_vs_untiled(pavia_problem):
    """Blind fusion of the 100x100 Pavia crop: untiled, and in 16 tiles of 12x12 LR pixels (48x48 HR)."""
    sim, support = pavia_problem["sim"], band_support(pavia_problem["srf"])
    cfg = tiny_config(20, 60, 20)
    untiled = fuse(sim.lr_hsi, sim.hr_msi, config=cfg, run=RUN, srf_support=support)
    tiled = fuse_tiled(sim.lr_hsi, sim.hr_msi, config=cfg, run=RUN, srf_support=support, tile_size=12, overlap=6)
    return untiled, tiled


def test_tiled_matches_untiled_within_half_a_db_without_seams(pavia_problem, pavia_tiled_vs_untiled):
    reference, sim = pavia_problem["reference"], pavia_problem["sim"]
    untiled, tiled = pavia_tiled_vs_untiled
    assert len(tiled.plan.tiles) == 16 and tiled.plan.tile_size * 4 * 2 < 100  # tiles much smaller than the scene
    a, b = evaluate(untiled.fused, reference, 4), evaluate(tiled.fused, reference, 4)
    assert b["psnr"] >= a["psnr"] - 0.5, (a, b)  # measured: untiled 47.0 dB, tiled 48.0 dB (local models help)
    assert b["sam"] <= a["sam"] + 0.2
    # no seams: in the overlap zones (where two or four tiles blend) the error is no larger, relative to
    # the rest of the image, than the untiled fusion's; nor are the jumps between neighbouring pixels
    cover = np.zeros(tiled.plan.hr_shape, int)
    for t in tiled.plan.tiles:
        kr, kc, kh, kw = t.keep
        cover[kr : kr + kh, kc : kc + kw] += 1
    seams = cover > 1
    assert 0.2 < seams.mean() < 0.9
    err_t, err_u = np.abs(tiled.fused - reference).mean(0), np.abs(untiled.fused - reference).mean(0)
    ratio_t, ratio_u = err_t[seams].mean() / err_t[~seams].mean(), err_u[seams].mean() / err_u[~seams].mean()
    assert ratio_t <= ratio_u * 1.05, (ratio_t, ratio_u)
    jump_t = np.abs(np.diff(tiled.fused - reference, axis=2)).mean(0)
    jump_u = np.abs(np.diff(untiled.fused - reference, axis=2)).mean(0)
    at_seams = seams[:, 1:] & seams[:, :-1]
    assert jump_t[at_seams].mean() <= jump_u[at_seams].mean() * 1.05
    # the operators were learned once (on 3 sample tiles) and are close to the truth
    assert tiled.psf_learned and tiled.srf_learned and not tiled.per_tile_operators
    assert np.abs(tiled.psf - sim.psf).max() < 0.01
    assert np.abs(tiled.srf - sim.srf).max() < 0.05
    assert {r["tile"] for r in tiled.history} == set(range(1, 17))
    # the tiled result is a RunResult like fuse's
    assert (
        isinstance(tiled, RunResult) and tiled.ratio == 4 and tiled.device == "auto" and tiled.config == untiled.config
    )


def test_tiled_inputs_are_checked_like_untiled_ones(tmp_path):
    lr, hr = np.random.default_rng(0).random((12, 16, 16)), np.random.default_rng(1).random((3, 64, 64))
    with pytest.raises(InputError, match="sums to 16"):
        fuse_tiled(lr, hr, ratio=4, psf=np.ones((4, 4)), tile_size=12)
    with pytest.raises(InputError, match="psf_size 5"):
        fuse_tiled(lr, hr, ratio=4, config=FusionConfig(psf_size=5), tile_size=12)
    with pytest.raises(InputError, match="does not exist"):
        fuse_tiled(lr, hr, ratio=4, tile_size=16, out=tmp_path / "missing" / "f.tif")
    with pytest.raises(InputError, match="more bands"):
        fuse_tiled(lr[:3], hr, ratio=4, tile_size=16)
    with pytest.raises(InputError, match="checkpoint"):
        fuse_tiled(lr, hr, ratio=4, tile_size=16, run=RunOptions(checkpoint=tmp_path / "c.pt"))
