"""Component substitution: GSA (Gram-Schmidt adaptive), band group by band group.

B. Aiazzi, S. Baronti, M. Selva, IEEE TGRS 45(10):3230-3239, 2007; HS-MS form as in N. Yokoya,
C. Grohnfeldt, J. Chanussot, IEEE GRSM 5(2):29-56, 2017."""

from __future__ import annotations

import numpy as np

from ..physics import blur_downsample
from .common import EPS, affine_fit, apply_affine, prepare, upsample

__all__ = ["gsa"]


def _assign_bands(y: np.ndarray, lr_msi: np.ndarray, srf: np.ndarray | None) -> np.ndarray:
    """MSI band of each HSI band: the largest relative SRF response, else the highest LR correlation.

    Returns:
        ``(C,)`` int indices into the MSI bands.
    """
    a = y.reshape(y.shape[0], -1)
    b = lr_msi.reshape(lr_msi.shape[0], -1)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    corr = (a @ b.T) / np.maximum(np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None], EPS)
    groups = corr.argmax(1)
    if srf is not None:
        relative = srf / srf.max(0, keepdims=True)
        covered = relative.max(1) > 0
        groups[covered] = relative[covered].argmax(1)
    return groups


def gsa(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
) -> np.ndarray:
    """Gram-Schmidt adaptive (GSA) component substitution, applied per group of HSI bands.

    Aiazzi, Baronti, Selva, "Improving component substitution pansharpening through multivariate
    regression of MS+Pan data", IEEE TGRS 45(10):3230-3239, 2007; HS-MS form as in Yokoya,
    Grohnfeldt, Chanussot, IEEE GRSM 5(2):29-56, 2017. Each HSI band is assigned to one MSI band (the
    band whose SRF responds most to it relative to its peak; by LR correlation when the SRF is unknown
    or zero there). For each MSI band ``P`` and its group ``G``:

    * intensity ``I = sum_{k in G} a_k up(Y_k) + b``, with ``a, b`` the least-squares fit of the
      PSF-degraded ``P`` on the LR bands of ``G`` (the adaptive step);
    * detail ``D = (P - mean P) - (I - mean I)``;
    * ``X_k = up(Y_k) + g_k D`` with the regression gain ``g_k = cov(up(Y_k), I) / var(I)``.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``, ``c < C``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ``(C, c)`` SRF, used only to group the bands; ``None`` groups by correlation.
        psf: ``(k, k)`` PSF; default Gaussian with FWHM = ratio.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes, ratio, SRF or PSF.
    """
    p = prepare(lr_hsi, hr_msi, ratio, srf, psf)
    lr_msi = blur_downsample(p.z, p.psf, p.ratio)
    y_up = upsample(p.y, p.ratio)
    groups = _assign_bands(p.y, lr_msi, p.srf)
    out = y_up.copy()
    for j in range(p.z.shape[0]):
        idx = np.flatnonzero(groups == j)
        if idx.size == 0:
            continue
        w = affine_fit(p.y[idx], lr_msi[j : j + 1])  # (|G| + 1, 1)
        intensity = apply_affine(w, y_up[idx])[0]
        i0 = intensity - intensity.mean()
        detail = (p.z[j] - p.z[j].mean()) - i0
        bands0 = y_up[idx] - y_up[idx].mean(axis=(1, 2), keepdims=True)
        gains = (bands0 * i0).sum(axis=(1, 2)) / max(float((i0**2).sum()), EPS)
        out[idx] += gains[:, None, None] * detail
    return out.astype(np.float32)
