"""Shared pieces of the plots tests: the Agg backend, a small synthetic case and its helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from scipy import ndimage

C, c, H, W, RATIO = 20, 4, 32, 32, 4


def gaussian_psf(k: int, sigma: float) -> np.ndarray:
    o = np.arange(k) - (k - 1) / 2
    g = np.exp(-(o**2) / (2 * sigma**2))
    p = np.outer(g, g)
    return p / p.sum()


def block_mean(x: np.ndarray, r: int) -> np.ndarray:
    n, h, w = x.shape
    return x.reshape(n, h // r, r, w // r, r).mean(axis=(2, 4))


def box_srf(wl: np.ndarray, edges: list[tuple[float, float]]) -> np.ndarray:
    srf = np.zeros((wl.size, len(edges)))
    for j, (a, b) in enumerate(edges):
        srf[(wl >= a) & (wl < b), j] = 1.0
        srf[:, j] /= srf[:, j].sum()
    return srf


@pytest.fixture(scope="module")
def case() -> dict:
    rng = np.random.default_rng(0)
    ref = ndimage.gaussian_filter(rng.random((C, H, W)), sigma=(2, 3, 3))
    ref = (ref - ref.min()) / (ref.max() - ref.min())
    wl = np.linspace(430, 860, C)
    srf = box_srf(wl, [(430, 500), (500, 590), (590, 700), (760, 861)])
    psf = gaussian_psf(5, 1.7)
    learned_psf = np.clip(psf + rng.normal(0, 0.002, psf.shape), 0, None)
    learned_srf = np.clip(srf + rng.normal(0, 0.003, srf.shape), 0, None)
    history = [
        {"stage": s, "iteration": it, "loss": 1.0 / it + 0.01, "rec_hsi": 0.5 / it, "rec_msi": 0.5 / it + 0.01}
        for s in (1, 2, 3)
        for it in range(1, 200, 10)
    ]
    return {
        "lr_hsi": block_mean(ref, RATIO),
        "hr_msi": np.einsum("khw,km->mhw", ref, srf),
        "fused": ref + rng.normal(0, 0.01, ref.shape),
        "reference": ref,
        "psf": learned_psf / learned_psf.sum(),
        "true_psf": psf,
        "srf": learned_srf / learned_srf.sum(axis=0),
        "true_srf": srf,
        "history": history,
        "hsi_wavelengths": wl,
        "msi_wavelengths": (srf * wl[:, None]).sum(axis=0),
    }
