"""Multiresolution analysis: MTF-GLP hyper-sharpening (MTF-matched generalised Laplacian pyramid).

M. Selva, B. Aiazzi, F. Butera, L. Chiarantini, S. Baronti, IEEE JSTSP 9(6):1008-1018, 2015."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .._checks import check_injection
from ..physics import blur_downsample
from .common import EPS, affine_fit, apply_affine, lowpass, prepare, upsample

__all__ = ["glp_hs"]


def glp_hs(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
    *,
    injection: Literal["hpm", "regression"] = "hpm",
) -> np.ndarray:
    """MTF-GLP hyper-sharpening: per HSI band, a synthetic HR image from the MSI, MTF-matched details.

    Selva, Aiazzi, Butera, Chiarantini, Baronti, "Hyper-sharpening: a first approach on SIM-GA data",
    IEEE JSTSP 9(6):1008-1018, 2015 (GLP with MTF-matched filter: Aiazzi et al., PE&RS 72(5), 2006).
    For HSI band ``k``:

    * synthetic image ``P_k = sum_j w_jk MSI_j + b_k``, with ``w, b`` the least-squares fit of the
      LR-HSI band on the PSF-degraded MSI bands;
    * its low-pass ``P_k^L = up(PSF-degrade(P_k))`` (the MTF-matched filter, then the same bicubic
      interpolation as the HSI);
    * ``X_k = up(Y_k) + g_k (P_k - P_k^L)`` with, for ``injection="hpm"`` (high-pass modulation), the
      pixel gain ``g_k = up(Y_k) / P_k^L``, or for ``"regression"`` the band gain
      ``cov(up(Y_k), P_k^L) / var(P_k^L)``.

    HPM gains are used only where ``P_k^L`` exceeds 1 % of the band's mean absolute value and are
    clipped to ``[0, 10]``; elsewhere the gain is 1.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``, ``c < C``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ignored (the synthetic images are fitted from the data); validated if given.
        psf: ``(k, k)`` PSF (the MTF-matched filter); default Gaussian with FWHM = ratio.
        injection: ``"hpm"`` or ``"regression"``.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes, ratio, SRF, PSF or injection.
    """
    check_injection(injection)
    p = prepare(lr_hsi, hr_msi, ratio, srf, psf)
    w = affine_fit(blur_downsample(p.z, p.psf, p.ratio), p.y)  # (c + 1, C)
    synthetic = apply_affine(w, p.z)
    # the low-pass is linear, so P^L = W^T up(PSF-degrade(MSI)) + b: c bands filtered instead of C
    synthetic_low = apply_affine(w, lowpass(p.z, p.psf, p.ratio))
    y_up = upsample(p.y, p.ratio)
    if injection == "hpm":
        floor = 0.01 * np.abs(y_up).mean(axis=(1, 2), keepdims=True) + EPS
        safe = np.abs(synthetic_low) > floor
        gain = np.where(safe, y_up / np.where(safe, synthetic_low, 1.0), 1.0).clip(0.0, 10.0)
    else:
        low0 = synthetic_low - synthetic_low.mean(axis=(1, 2), keepdims=True)
        up0 = y_up - y_up.mean(axis=(1, 2), keepdims=True)
        gain = ((up0 * low0).sum(axis=(1, 2)) / np.maximum((low0**2).sum(axis=(1, 2)), EPS))[:, None, None]
    return (y_up + gain * (synthetic - synthetic_low)).astype(np.float32)
