"""Simulate an LR-HSI / HR-MSI pair from a reference HR-HSI (Wald protocol, GUIDE section 2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import (
    Layout,
    PsfConvention,
    as_chw,
    check_ndim,
    check_psf,
    check_ratio,
    check_reference_size,
    check_srf,
    check_srf_reduces_bands,
)
from .physics import add_noise, blur_downsample, crop_to_ratio, gaussian_psf


@dataclass
class Simulation:
    """A simulated fusion problem; every cube is ``(C, H, W)`` (or ``(H, W, C)`` if asked for).

    Attributes:
        lr_hsi: blurred and decimated reference, ``(C, H/r, W/r)``.
        hr_msi: spectrally projected reference, ``(c, H, W)``.
        reference: the reference cropped to a multiple of the ratio, ``(C, H, W)``.
        psf: ``(k, k)`` PSF used, sums to 1.
        srf: ``(C, c)`` SRF used, columns sum to 1.
        ratio: scale factor.
    """

    lr_hsi: np.ndarray
    hr_msi: np.ndarray
    reference: np.ndarray
    psf: np.ndarray
    srf: np.ndarray
    ratio: int


def simulate(
    reference: Any,
    ratio: int,
    srf: Any,
    psf: Any = None,
    snr_db: float | None = None,
    *,
    layout: Layout = "chw",
    seed: int = 0,
    psf_convention: PsfConvention = "auto",
) -> Simulation:
    """Make the LR-HSI and HR-MSI that a reference HR-HSI would give.

    Args:
        reference: HR-HSI ``(C, H, W)`` or ``(H, W, C)`` per ``layout``; cropped to a multiple of ``ratio``.
        ratio: spatial scale factor (integer >= 2).
        srf: ``(C, c)`` spectral response matrix; columns are normalised to sum 1.
        psf: ``(k, k)`` PSF summing to 1 (within 1%; refused otherwise, not rescaled); default Gaussian
            with FWHM = ratio on a ``ratio x ratio`` kernel.
        snr_db: if given, white Gaussian noise at this SNR (dB, per band) is added to both images.
        layout: axis order of ``reference`` and of the returned cubes.
        seed: seed of the noise.
        psf_convention: what ``psf`` means, as in :func:`pfs2c2.fuse` ("combined", "blur" or "auto");
            ``Simulation.psf`` is the combined kernel.

    Returns:
        A :class:`Simulation`, float32 cubes.
    """
    ratio = check_ratio(ratio)
    x = crop_to_ratio(as_chw(reference, layout, "reference"), ratio).astype(np.float64)
    check_reference_size(x.shape[1], x.shape[2], ratio)
    check_ndim(srf, 2, "SRF must be a 2-D (HSI bands, MSI bands) matrix, got shape {shape}")
    m = check_srf(srf, x.shape[0], np.shape(srf)[1])
    check_srf_reduces_bands(m)
    m = m / m.sum(0, keepdims=True)
    kernel = gaussian_psf(ratio) if psf is None else check_psf(psf, ratio, sum_to_one=True, convention=psf_convention)
    lr = blur_downsample(x, kernel, ratio)
    hr = np.einsum("chw,cm->mhw", x, m)
    if snr_db is not None:
        rng = np.random.default_rng(seed)
        lr, hr = add_noise(lr, snr_db, rng), add_noise(hr, snr_db, rng)

    def out(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float32)
        return np.ascontiguousarray(a.transpose(1, 2, 0) if layout == "hwc" else a)

    return Simulation(out(lr), out(hr), out(x), kernel, m, ratio)
