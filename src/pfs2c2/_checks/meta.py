"""Raster metadata (:class:`pfs2c2.io.meta.RasterMeta`): band fields and the affine transform.

These refusals raise a plain ``ValueError`` (not :class:`~pfs2c2.errors.InputError`), as
:mod:`pfs2c2.io.meta` always did: the readers catch it and name the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_wavelength_list", "check_finite_field", "check_transform", "check_fwhm_count", "check_band_field"]


def check_wavelength_list(wl: np.ndarray, values: Any) -> None:
    """Refuse band centres ``wl`` (float64, 1-D, converted from ``values``) that are empty or not finite."""
    if wl.size == 0 or not np.all(np.isfinite(wl)):
        raise ValueError(f"wavelengths must be a non-empty list of finite numbers, got {np.asarray(values)!r:.80}")


def check_finite_field(name: str, arr: np.ndarray) -> None:
    """Refuse a per-band field ``RasterMeta.{name}`` with NaN or Inf."""
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"RasterMeta.{name} must be finite numbers")


def check_transform(t: tuple[float, ...]) -> None:
    """Refuse an affine transform that is not the 6 coefficients ``(a, b, c, d, e, f)``."""
    if len(t) != 6:
        raise ValueError(f"RasterMeta.transform needs the 6 affine coefficients (a, b, c, d, e, f), got {t}")


def check_fwhm_count(fw: np.ndarray, wl: np.ndarray) -> None:
    """Refuse FWHM values ``(C',)`` whose count differs from the wavelengths ``(C,)``."""
    if fw.shape != wl.shape:
        raise ValueError(f"RasterMeta: {fw.size} FWHM values for {wl.size} wavelengths; give one per band")


def check_band_field(name: str, values: Any, n_bands: int, what: str = "cube") -> None:
    """Refuse a per-band metadata field (``values`` or None) that does not have ``n_bands`` entries."""
    if values is not None and len(values) != n_bands:
        raise ValueError(
            f"{what} has {n_bands} bands but its metadata lists {len(values)} {name}; give one value per band"
        )
