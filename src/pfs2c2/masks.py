"""Which pixels are data: nodata borders, NaN, saturation.

A pixel is valid when every band is finite, the spectrum is not all zero (zero-filled borders), no
band equals the nodata value, and no band reaches the saturation level. Invalid pixels are left out of
every loss and metric and come back as nodata in the fused cube.
"""

from __future__ import annotations

import numpy as np


def valid_pixels(cube: np.ndarray, nodata: float | None = None, saturation: float | None = None) -> np.ndarray:
    """Valid-pixel mask of a ``(C, H, W)`` cube: ``(H, W)`` bool, True = data."""
    valid = np.all(np.isfinite(cube), axis=0)
    with np.errstate(invalid="ignore"):
        valid &= np.any(cube != 0, axis=0)
        if nodata is not None and np.isfinite(nodata):
            valid &= ~np.any(cube == nodata, axis=0)
        if saturation is not None:
            valid &= ~np.any(cube >= saturation, axis=0)
    return valid


def block_all(mask: np.ndarray, ratio: int) -> np.ndarray:
    """``(H, W)`` -> ``(H/ratio, W/ratio)``: True where every pixel of the ratio x ratio block is True."""
    h, w = mask.shape[0] // ratio, mask.shape[1] // ratio
    return np.asarray(mask[: h * ratio, : w * ratio].reshape(h, ratio, w, ratio).all(axis=(1, 3)))
