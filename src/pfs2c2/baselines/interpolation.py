"""Bicubic interpolation of the LR-HSI to the MSI grid: the floor every fusion method must beat."""

from __future__ import annotations

import numpy as np
import torch

from ..physics import bicubic_upsample_tensor
from .common import prepare, upsample

__all__ = ["bicubic_upsample", "bicubic"]


def bicubic_upsample(lr_hsi: np.ndarray, ratio: int) -> np.ndarray:
    """Bicubic interpolation of ``(C, h, w)`` to ``(C, h*ratio, w*ratio)`` (pixel centres aligned to blocks)."""
    t = torch.from_numpy(np.ascontiguousarray(lr_hsi, dtype=np.float32))[None]
    return bicubic_upsample_tensor(t, ratio)[0].numpy()


def bicubic(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
) -> np.ndarray:
    """Bicubic interpolation of the LR-HSI to the MSI grid, in the shared call form (the MSI gives only the size).

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``; only its size is used.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ignored (accepted for the common call form).
        psf: ignored.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes or ratio.
    """
    p = prepare(lr_hsi, hr_msi, ratio, srf, psf)
    return upsample(p.y, p.ratio).astype(np.float32)
