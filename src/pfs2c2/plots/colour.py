"""True-colour views: which bands show as red, green and blue, and a shared percentile stretch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import as_float_cube, check_band_centres, check_n_bands, check_rgb_bands, check_stretch_limits

__all__ = ["PERCENTILES", "RGB_TARGETS_NM", "msi_rgb_bands", "rgb_bands", "stretch_limits", "true_colour"]

RGB_TARGETS_NM: tuple[float, float, float] = (650.0, 550.0, 460.0)
"""Wavelengths (nm) shown as red, green and blue in true-colour images."""

PERCENTILES: tuple[float, float] = (2.0, 98.0)
"""Lower and upper percentiles of the display stretch."""


def rgb_bands(wavelengths_nm: np.ndarray | Sequence[float] | None, n_bands: int) -> tuple[int, int, int]:
    """Band indices shown as (red, green, blue).

    With wavelengths: the bands whose centres are nearest to 650, 550 and 460 nm (a cube that
    does not cover the visible gets its nearest bands, possibly the same band twice). Without
    wavelengths the cube is assumed to be ordered by increasing wavelength and the bands at
    3/4, 1/2 and 1/4 of the index range are used (a false-colour view for non-visible cubes).

    Args:
        wavelengths_nm: ``(n_bands,)`` band centres in nm, or ``None``.
        n_bands: number of bands of the cube (>= 1).

    Returns:
        ``(red, green, blue)`` band indices.
    """
    check_n_bands(n_bands)
    wl = check_band_centres(wavelengths_nm, n_bands, "wavelengths_nm")
    if wl is not None:
        r, g, b = (int(np.nanargmin(np.abs(wl - t))) for t in RGB_TARGETS_NM)
        return r, g, b
    last = n_bands - 1
    r, g, b = (int(math.floor(f * last + 0.5)) for f in (0.75, 0.5, 0.25))
    return r, g, b


def msi_rgb_bands(wavelengths_nm: np.ndarray | Sequence[float] | None, n_bands: int) -> tuple[int, int, int]:
    """Band indices shown as (red, green, blue) for a multispectral image.

    With wavelengths: as :func:`rgb_bands`. Without: the first three bands reversed,
    ``(2, 1, 0)``, since MSI products usually start blue, green, red (IKONOS, Sentinel-2 10 m,
    Landsat 8 bands 2-4 ...); with fewer than three bands the indices are clipped to the last band.

    Args:
        wavelengths_nm: ``(n_bands,)`` band centres in nm, or ``None``.
        n_bands: number of MSI bands (>= 1).

    Returns:
        ``(red, green, blue)`` band indices.
    """
    check_n_bands(n_bands)
    if wavelengths_nm is not None:
        return rgb_bands(wavelengths_nm, n_bands)
    r, g, b = (min(i, n_bands - 1) for i in (2, 1, 0))
    return r, g, b


def stretch_limits(cube: Any, bands: Sequence[int], percentiles: tuple[float, float] = PERCENTILES) -> np.ndarray:
    """Display limits of a percentile stretch for three bands, to share between images.

    Compute them once (from the reference, or the fused image without one) and pass them to
    :func:`true_colour` for every image that must be compared by eye.

    Args:
        cube: ``(C, H, W)`` cube; NaN is ignored.
        bands: ``(red, green, blue)`` band indices.
        percentiles: lower and upper percentile (default 2 and 98).

    Returns:
        ``(3, 2)`` float64 array of ``(low, high)`` per channel in data units. A band with no
        finite value gets ``(0, 1)``; a constant band gets ``high = low + 1``.
    """
    arr = as_float_cube(cube, "cube")
    idx = check_rgb_bands(bands, arr.shape[0])
    limits = np.empty((3, 2), dtype=np.float64)
    for i, b in enumerate(idx):
        band = np.asarray(arr[b], dtype=np.float64)
        finite = band[np.isfinite(band)]
        if finite.size == 0:
            limits[i] = (0.0, 1.0)
            continue
        lo, hi = np.percentile(finite, percentiles)
        if not hi > lo:
            hi = lo + 1.0
        limits[i] = (lo, hi)
    return limits


def true_colour(
    cube: Any,
    bands: Sequence[int],
    limits: np.ndarray | Sequence[Sequence[float]] | None = None,
    nodata_value: float = 1.0,
) -> np.ndarray:
    """True-colour (or false-colour) image of three bands with a linear percentile stretch.

    Args:
        cube: ``(C, H, W)`` cube in data units.
        bands: ``(red, green, blue)`` band indices, e.g. from :func:`rgb_bands`.
        limits: ``(3, 2)`` ``(low, high)`` per channel from :func:`stretch_limits`; default
            the cube's own 2-98 percentile stretch.
        nodata_value: value painted in all three channels where any of the bands is NaN
            (default 1, white).

    Returns:
        ``(H, W, 3)`` float64 image in ``[0, 1]``, ready for ``imshow``.
    """
    arr = as_float_cube(cube, "cube")
    idx = check_rgb_bands(bands, arr.shape[0])
    lim = stretch_limits(arr, idx) if limits is None else np.asarray(limits, dtype=np.float64)
    check_stretch_limits(lim)
    rgb = np.stack([np.asarray(arr[b], dtype=np.float64) for b in idx], axis=-1)
    nodata = ~np.isfinite(rgb).all(axis=-1)
    span = np.where(lim[:, 1] > lim[:, 0], lim[:, 1] - lim[:, 0], 1.0)
    with np.errstate(invalid="ignore"):
        rgb = np.clip((rgb - lim[:, 0]) / span, 0.0, 1.0)
    rgb[nodata] = float(np.clip(nodata_value, 0.0, 1.0))
    return rgb
