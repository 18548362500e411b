"""Classical reference methods, run beside PFS2C2 in tests and benchmarks.

* :func:`bicubic_upsample`: the LR-HSI interpolated to the MSI grid (no MSI used).
* :func:`linear_regression_fusion`: least-squares spectral map from the LR-MSI (the MSI blurred with a
  PSF) to the LR-HSI, applied to the HR-MSI, plus the bicubic-upsampled LR residual. A strong
  closed-form baseline (GUIDE section 6).
"""

from __future__ import annotations

import numpy as np
import torch

from .physics import bicubic_upsample_tensor, blur_downsample, gaussian_psf


def bicubic_upsample(lr_hsi: np.ndarray, ratio: int) -> np.ndarray:
    """Bicubic interpolation of ``(C, h, w)`` to ``(C, h*ratio, w*ratio)`` (pixel centres aligned to blocks)."""
    t = torch.from_numpy(np.ascontiguousarray(lr_hsi, dtype=np.float32))[None]
    return bicubic_upsample_tensor(t, ratio)[0].numpy()


def linear_regression_fusion(lr_hsi: np.ndarray, hr_msi: np.ndarray, ratio: int, psf: np.ndarray | None = None) -> np.ndarray:
    """Fuse by a per-pixel affine map MSI -> HSI fitted at low resolution, plus the upsampled residual.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)`` with ``H = ratio * h``.
        ratio: scale factor.
        psf: PSF used to bring the MSI to the LR grid; default Gaussian with FWHM = ratio.

    Returns:
        ``(C, H, W)`` float32.
    """
    kernel = gaussian_psf(ratio) if psf is None else psf
    lr_msi = blur_downsample(hr_msi.astype(np.float64), kernel, ratio)
    a = np.concatenate([lr_msi.reshape(lr_msi.shape[0], -1).T, np.ones((lr_msi[0].size, 1))], 1)
    b = lr_hsi.reshape(lr_hsi.shape[0], -1).T.astype(np.float64)
    w = np.linalg.lstsq(a, b, rcond=None)[0]  # (c + 1, C)
    c, hh, ww = hr_msi.shape
    spectral = (np.concatenate([hr_msi.reshape(c, -1).T, np.ones((hh * ww, 1))], 1) @ w).T.reshape(-1, hh, ww)
    residual = lr_hsi - blur_downsample(spectral, kernel, ratio)
    return (spectral + bicubic_upsample(residual, ratio)).astype(np.float32)
