"""Linear regression: a least-squares affine map from the LR-MSI to the LR-HSI, applied to the HR-MSI,
plus the bicubic-upsampled LR residual (a strong closed-form baseline)."""

from __future__ import annotations

import numpy as np

from ..physics import blur_downsample
from .common import affine_fit, apply_affine, prepare, upsample
from .psf_estimation import estimate_psf

__all__ = ["linear_regression_fusion", "linear_regression", "lr_est_psf"]


def linear_regression_fusion(
    lr_hsi: np.ndarray, hr_msi: np.ndarray, ratio: int | None = None, psf: np.ndarray | None = None
) -> np.ndarray:
    """Fuse by a per-pixel affine map MSI -> HSI fitted at low resolution, plus the upsampled residual.

    ``spectral = W^T [MSI; 1]`` with ``W`` the least-squares fit of the LR-HSI on the PSF-degraded MSI;
    the result is ``spectral + bicubic(LR-HSI - PSF-degraded spectral)``, so it reproduces the LR-HSI
    up to the interpolation. A closed-form baseline (GUIDE section 6); no SRF is needed.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)`` with ``H = ratio * h``.
        ratio: scale factor; inferred from the shapes when ``None``.
        psf: PSF used to bring the MSI to the LR grid; default Gaussian with FWHM = ratio.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes, ratio or PSF.
    """
    p = prepare(lr_hsi, hr_msi, ratio, None, psf)
    w = affine_fit(blur_downsample(p.z, p.psf, p.ratio), p.y)  # (c + 1, C)
    spectral = apply_affine(w, p.z)
    residual = p.y - blur_downsample(spectral, p.psf, p.ratio)
    return (spectral + upsample(residual, p.ratio)).astype(np.float32)


def linear_regression(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`linear_regression_fusion` in the shared call form (the SRF is not needed and is ignored).

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ignored (the spectral map is fitted from the data).
        psf: PSF; default Gaussian with FWHM = ratio.

    Returns:
        ``(C, H, W)`` float32.
    """
    if srf is not None:  # validate it like the other methods do, even though it is not used
        prepare(lr_hsi, hr_msi, ratio, srf, None)
    return linear_regression_fusion(lr_hsi, hr_msi, ratio, psf)


def lr_est_psf(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`linear_regression_fusion` through a PSF estimated from the data (:func:`estimate_psf`).

    Blind (``psf=None``): the PSF is estimated (default size, through the given SRF's shape or an NNLS
    SRF), then the map is fitted and the residual computed through it. A given PSF is used as is.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ``(C, c)`` SRF shape used by the PSF estimate only; ``None`` estimates it.
        psf: PSF to use instead of the estimate.

    Returns:
        ``(C, H, W)`` float32.
    """
    if psf is None:
        psf = estimate_psf(lr_hsi, hr_msi, ratio, srf=srf)
    elif srf is not None:
        prepare(lr_hsi, hr_msi, ratio, srf, None)
    return linear_regression_fusion(lr_hsi, hr_msi, ratio, psf)
