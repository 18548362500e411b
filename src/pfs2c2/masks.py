"""Which pixels are data: nodata values, NaN, saturation.

A pixel is valid when every band is finite, no band equals the nodata value and no band reaches the
saturation level. Invalid pixels are left out of every loss and metric and come back as nodata in the
fused cube.

Nodata comes from the file (its nodata value), from NaN/Inf, or from the user (a nodata value, a mask);
it is never guessed. All-zero spectra are data by default (dark water, deep shadow); ``nodata=0`` or
``zero_is_nodata=True`` makes them nodata. When no nodata value is given and all-zero spectra touch the
image edge (a zero-filled border?), :func:`valid_pixels` keeps them and warns
(:func:`zero_border_pixels`).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["block_all", "valid_pixels", "zero_border_pixels"]


def valid_pixels(
    cube: np.ndarray,
    nodata: float | None = None,
    saturation: float | None = None,
    *,
    zero_is_nodata: bool = False,
    warn_zero_border: bool = True,
    name: str = "image",
) -> np.ndarray:
    """Valid-pixel mask of a ``(C, H, W)`` cube: ``(H, W)`` bool, True = data.

    Args:
        cube: the image, any units.
        nodata: the file's or the user's nodata value (a pixel with any band equal to it is nodata);
            None or NaN: none besides NaN/Inf.
        saturation: pixels with a band at or above it are invalid.
        zero_is_nodata: also treat all-zero spectra as nodata (the old default, for zero-filled borders).
        warn_zero_border: warn (``UserWarning``) when ``nodata`` is None, ``zero_is_nodata`` is False and
            all-zero spectra touch the image edge; ``name`` names the image in the warning.
    """
    valid = np.all(np.isfinite(cube), axis=0)
    with np.errstate(invalid="ignore"):
        if zero_is_nodata:
            valid &= np.any(cube != 0, axis=0)
        if nodata is not None and np.isfinite(nodata):
            valid &= ~np.any(cube == nodata, axis=0)
        if saturation is not None:
            valid &= ~np.any(cube >= saturation, axis=0)
    if warn_zero_border and nodata is None and not zero_is_nodata:
        _warn_zero_border(cube, valid, name)
    return valid


def zero_border_pixels(cube: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the all-zero spectra of a ``(C, H, W)`` cube that are 8-connected, through
    all-zero spectra, to the image edge (what a zero-filled border or padding looks like)."""
    zero = ~np.any(cube != 0, axis=0)  # NaN is not zero
    edge = np.zeros_like(zero)
    if zero.size == 0 or not (zero[0].any() or zero[-1].any() or zero[:, 0].any() or zero[:, -1].any()):
        return edge
    from scipy import ndimage

    labels, _ = ndimage.label(zero, structure=np.ones((3, 3), dtype=bool))
    touching = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    touching = touching[touching > 0]
    return np.asarray(np.isin(labels, touching))


def _warn_zero_border(cube: np.ndarray, valid: np.ndarray, name: str) -> None:
    """Warn once per call when all-zero spectra kept as data touch the edge of ``cube``."""
    border = zero_border_pixels(cube)
    if not (border & valid).any():
        return
    warnings.warn(
        f"{name}: all-zero spectra touch the image edge (a zero-filled border?) and are used as data; if "
        "they are nodata, set the file's nodata value or pass nodata=0 / a mask (hsi_mask, msi_mask, "
        "e.g. pfs2c2.masks.valid_pixels(cube, nodata=0))",
        UserWarning,
        stacklevel=3,
    )


def block_all(mask: np.ndarray, ratio: int) -> np.ndarray:
    """``(H, W)`` -> ``(H/ratio, W/ratio)``: True where every pixel of the ratio x ratio block is True."""
    h, w = mask.shape[0] // ratio, mask.shape[1] // ratio
    return np.asarray(mask[: h * ratio, : w * ratio].reshape(h, ratio, w, ratio).all(axis=(1, 3)))
