"""simulate(): the Wald protocol on a real cube reproduces the expected LR-HSI and HR-MSI."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import simulate
from pfs2c2.physics import gaussian_psf


def test_simulation_of_real_cube_matches_direct_computation(pavia_problem):
    sim, srf = pavia_problem["sim"], pavia_problem["srf"]
    x = pavia_problem["reference"].astype(np.float64)
    assert sim.lr_hsi.shape == (102, 25, 25) and sim.hr_msi.shape == (4, 100, 100)
    psf = gaussian_psf(4)
    # one LR pixel = PSF-weighted mean of its 4x4 block; one MSI pixel = spectrum @ SRF
    np.testing.assert_allclose(sim.lr_hsi[:, 3, 7], np.einsum("cab,ab->c", x[:, 12:16, 28:32], psf), rtol=1e-5)
    np.testing.assert_allclose(sim.hr_msi[:, 50, 61], x[:, 50, 61] @ srf, rtol=1e-5)
    np.testing.assert_allclose(sim.srf.sum(0), 1.0)
    np.testing.assert_allclose(sim.psf, psf)


def test_simulation_crops_to_ratio_and_supports_hwc():
    rng = np.random.default_rng(0)
    ref = rng.random((18, 14, 6)).astype(np.float32)
    sim = simulate(ref, 4, rng.random((6, 2)), layout="hwc")
    assert sim.reference.shape == (16, 12, 6)
    assert sim.lr_hsi.shape == (4, 3, 6) and sim.hr_msi.shape == (16, 12, 2)


def test_noise_has_requested_snr():
    rng = np.random.default_rng(0)
    ref = rng.random((8, 64, 64)).astype(np.float32) + 1
    clean = simulate(ref, 2, np.eye(8)[:, :3] + 0.1)
    noisy = simulate(ref, 2, np.eye(8)[:, :3] + 0.1, snr_db=30, seed=1)
    noise = noisy.hr_msi.astype(np.float64) - clean.hr_msi
    snr = 10 * np.log10(np.mean(clean.hr_msi.astype(np.float64) ** 2, axis=(1, 2)) / np.mean(noise**2, axis=(1, 2)))
    np.testing.assert_allclose(snr, 30, atol=0.3)


def test_bad_srf_shape_is_rejected():
    with pytest.raises(ValueError, match="expected"):
        simulate(np.ones((5, 8, 8)), 2, np.ones((4, 2)))


def test_a_psf_that_does_not_sum_to_one_is_refused_not_rescaled():
    from pfs2c2 import InputError

    cube, srf = np.random.default_rng(0).random((6, 8, 8)), np.eye(6)[:, :2] + 0.1
    with pytest.raises(InputError, match="sums to 4"):
        simulate(cube, 2, srf, psf=np.ones((2, 2)))
    kept = simulate(cube, 2, srf, psf=np.full((2, 2), 0.25))
    np.testing.assert_allclose(kept.psf, 0.25)
