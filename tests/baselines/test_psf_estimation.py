"""PSF estimation from the data (:mod:`pfs2c2.baselines.psf_estimation`) and the baselines built on it."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.baselines import default_psf_size, estimate_psf, hysure, linear_regression, lr_est_psf
from pfs2c2.errors import InputError
from pfs2c2.metrics import psnr
from pfs2c2.physics import gaussian_psf
from pfs2c2.simulation import simulate


def gaussian(size: int, fwhm_x: float, fwhm_y: float, shift_x: float = 0.0, shift_y: float = 0.0) -> np.ndarray:
    """A ``size x size`` Gaussian (FWHM in HR pixels per axis), centre moved by ``shift_*`` HR pixels."""
    o = np.arange(size) - (size - 1) / 2.0
    sx, sy = fwhm_x / 2.35482, fwhm_y / 2.35482
    g = np.exp(-((o[:, None] - shift_y) ** 2) / (2 * sy**2) - (o[None] - shift_x) ** 2 / (2 * sx**2))
    return g / g.sum()


def test_default_size_leaves_room_for_a_one_pixel_shift():
    assert [default_psf_size(r) for r in (3, 4, 5, 8)] == [7, 8, 11, 16]


@pytest.mark.parametrize(
    ("ratio", "truth", "bound"),
    [
        (4, gaussian(8, 4.0, 4.0, 1.0, 1.0), 0.005),  # shifted by one HR pixel: measured 0.0039
        (4, gaussian(8, 3.0, 6.0), 0.004),  # anisotropic, wider than the ratio: measured 0.0031
        (8, gaussian(16, 8.0, 8.0, 1.0, 1.0), 0.003),  # 12 x 12 LR pixels only: measured 0.0014
    ],
    ids=["shift-r4", "anisotropic-r4", "shift-r8"],
)
def test_recovers_the_psf_on_pavia(ratio, truth, bound, pavia_problem):
    size = (100 // ratio) * ratio
    sim = simulate(pavia_problem["reference"][:, :size, :size], ratio, pavia_problem["srf"], psf=truth)
    est = estimate_psf(sim.lr_hsi, sim.hr_msi, ratio)
    assert est.shape == truth.shape and est.min() >= 0 and est.sum() == pytest.approx(1.0)
    error = np.abs(est - sim.psf).max()
    guess = np.abs(np.pad(gaussian_psf(ratio), (truth.shape[0] - ratio) // 2) - sim.psf).max()
    assert error <= bound and error < guess / 3, (error, guess)  # the guess is 0.011 to 0.058 off


def test_shifted_psf_baselines_reach_the_oracle(pavia_problem):
    sim = simulate(pavia_problem["reference"], 4, pavia_problem["srf"], psf=gaussian(8, 4.0, 4.0, 1, 1))
    oracle = psnr(linear_regression(sim.lr_hsi, sim.hr_msi, psf=sim.psf), sim.reference)
    guess = psnr(linear_regression(sim.lr_hsi, sim.hr_msi), sim.reference)
    blind = psnr(lr_est_psf(sim.lr_hsi, sim.hr_msi), sim.reference)
    # measured 46.60 blind against 46.62 for the oracle; the Gaussian guess is 12 dB below
    assert blind >= oracle - 0.3 and blind >= guess + 5.0, (guess, blind, oracle)
    old = psnr(hysure(sim.lr_hsi, sim.hr_msi, iterations=50, psf_estimate=False), sim.reference)
    new = psnr(hysure(sim.lr_hsi, sim.hr_msi, iterations=50), sim.reference)
    assert new >= old + 2.0, (old, new)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"size": 7}, "differ from it by an even number"), ({"size": 2}, ">= the ratio"), ({"iterations": 0}, "positive")],
)
def test_bad_settings_raise_one_line_input_error(kwargs, message):
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match=message) as info:
        estimate_psf(rng.random((8, 8, 8)), rng.random((3, 32, 32)), 4, **kwargs)
    assert "\n" not in str(info.value)
