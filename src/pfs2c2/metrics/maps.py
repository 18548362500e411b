"""Per-pixel and per-band error maps for figures: numpy, NaN-aware.

Unlike the scalar metrics of :mod:`pfs2c2.metrics.reference` (float64 torch, an explicit ``mask``),
these work on numpy cubes ``(C, H, W)`` in their own floating dtype and treat NaN as nodata: a pixel
counts where every band of both cubes is finite (per band, for the per-band errors). Conventions
otherwise match the scalar metrics: RMSE in data units, SAM in degrees, PSNR in dB with
``peak_k`` = the maximum of reference band ``k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["band_rmse_psnr", "finite_pixels", "masked_mean", "rmse_map", "sam_map"]


def finite_pixels(*cubes: np.ndarray) -> np.ndarray:
    """``(H, W)`` True where every band of every ``(C, H, W)`` cube is finite."""
    valid = np.ones(cubes[0].shape[1:], dtype=bool)
    for c in cubes:
        valid &= np.isfinite(c).all(axis=0)
    return valid


def masked_mean(x: np.ndarray, valid: np.ndarray, axis: Any) -> np.ndarray:
    """Mean of ``x`` over ``axis`` where ``valid`` (same shape as ``x``); NaN where nothing is valid.

    Sums in float64; no warnings for empty selections.
    """
    count = valid.sum(axis=axis)
    total = np.where(valid, x, 0.0).sum(axis=axis, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def rmse_map(fused: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(H, W)`` RMSE over bands, in data units; NaN where a band is missing.

    Args:
        fused: ``(C, H, W)`` fused cube.
        reference: ``(C, H, W)`` reference cube.
    """
    valid = finite_pixels(fused, reference)
    diff = np.where(valid, fused - reference, 0.0).astype(np.float64)
    out = np.sqrt(np.mean(diff**2, axis=0))
    out[~valid] = np.nan
    return out


def sam_map(fused: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(H, W)`` spectral angle in degrees; NaN for nodata or all-zero spectra.

    Args:
        fused: ``(C, H, W)`` fused cube.
        reference: ``(C, H, W)`` reference cube.
    """
    valid = finite_pixels(fused, reference)
    f = np.where(valid, fused, 0.0).astype(np.float64)
    r = np.where(valid, reference, 0.0).astype(np.float64)
    dot = np.sum(f * r, axis=0)
    norm = np.sqrt(np.sum(f * f, axis=0) * np.sum(r * r, axis=0))
    ok = valid & (norm > 0)
    cos = np.divide(dot, norm, out=np.zeros_like(dot), where=ok)
    out = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    out[~ok] = np.nan
    return out


def band_rmse_psnr(fused: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band RMSE (data units) and PSNR (dB, peak = band max of the reference).

    Computed over the pixels where both cubes are finite in that band. PSNR is NaN for a
    band without valid pixels or with a non-positive peak, and ``inf`` for an exact band.

    Args:
        fused: ``(C, H, W)`` fused cube.
        reference: ``(C, H, W)`` reference cube.

    Returns:
        ``(rmse, psnr)``, each of shape ``(C,)``.
    """
    valid = np.isfinite(fused) & np.isfinite(reference)
    diff = fused.astype(np.float64) - reference
    mse = masked_mean(diff**2, valid, axis=(1, 2))
    rmse = np.sqrt(mse)
    peak = np.where(valid, reference, -np.inf).max(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        psnr = 10.0 * np.log10(peak.astype(np.float64) ** 2 / mse)
    psnr[~(peak > 0) | ~np.isfinite(mse)] = np.nan
    return rmse, psnr
