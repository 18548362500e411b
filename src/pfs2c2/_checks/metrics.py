"""The metrics' inputs (:mod:`pfs2c2.metrics`): two images to compare, the PSNR peak, the GSD ratio of
ERGAS, and the no-reference indices' shapes, block size, exponents and band subset.

Shapes are passed as tuples (the metrics hold float64 torch tensors; this layer imports no torch).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InputError

__all__ = [
    "check_metric_pair",
    "check_peak",
    "check_gsd_ratio",
    "check_noref_shapes",
    "check_block_size",
    "check_msi_like_fused",
    "check_max_bands",
    "check_exponent",
    "check_min_bands",
]


def check_metric_pair(fused_shape: tuple[int, ...], reference_shape: tuple[int, ...]) -> None:
    """Refuse a fused image and a reference of different shapes, or not ``(C, H, W)``."""
    if fused_shape != reference_shape:
        raise InputError(
            f"fused and reference must have the same shape, got fused {fused_shape} and reference {reference_shape}"
        )
    if len(reference_shape) != 3:
        raise InputError(f"expected (C, H, W) arrays, got shape {reference_shape}")


def check_peak(peak: Any) -> None:
    """Refuse a PSNR peak that is neither ``"band"`` nor a positive number."""
    if isinstance(peak, str):
        if peak != "band":
            raise InputError(f'peak must be "band" or a positive number, got {peak!r}')
    elif not peak > 0:
        raise InputError(f'peak must be "band" or a positive number, got {peak!r}')


def check_gsd_ratio(ratio: Any) -> None:
    """Refuse a GSD ratio (ERGAS; any positive number, 4 for a 4x fusion) that is not positive."""
    if not ratio > 0:
        raise InputError(f"ratio must be positive (4 for a 4x fusion), got {ratio!r}")


def check_noref_shapes(fused_shape: tuple[int, ...], lr_shape: tuple[int, ...], ratio: int) -> None:
    """Refuse a fused ``(C, H, W)`` and an LR-HSI ``(C', h, w)`` with ``C' != C`` or ``(H, W) != ratio (h, w)``."""
    c, h, w = fused_shape
    if lr_shape[0] != c:
        raise InputError(f"fused and lr_hsi must have the same number of bands, got {c} and {lr_shape[0]}")
    if (lr_shape[1] * ratio, lr_shape[2] * ratio) != (h, w):
        raise InputError(
            f"fused {h}x{w} must be lr_hsi {lr_shape[1]}x{lr_shape[2]} times the ratio {ratio}; crop both consistently"
        )


def check_block_size(block_size: Any, ratio: int) -> None:
    """Refuse an HR block side that is not a multiple of ``ratio`` of at least ``2 * ratio``."""
    if int(block_size) != block_size or block_size % ratio or block_size < 2 * ratio:
        raise InputError(
            f"block_size must be a multiple of the ratio {ratio} and at least {2 * ratio}, got {block_size}"
        )


def check_msi_like_fused(msi_shape: tuple[int, ...], fused_shape: tuple[int, ...]) -> None:
    """Refuse an HR-MSI ``(c, H', W')`` not on the fused ``(C, H, W)`` grid."""
    if msi_shape[1:] != fused_shape[1:]:
        h, w = fused_shape[1:]
        raise InputError(f"hr_msi must be (c, {h}, {w}) like fused, got shape {msi_shape}")


def check_max_bands(max_bands: Any) -> None:
    """Refuse a band-subset size that is not an integer >= 2 (None, meaning all bands, is not passed here)."""
    if int(max_bands) != max_bands or max_bands < 2:
        raise InputError(f"max_bands must be an integer >= 2 or None, got {max_bands}")


def check_exponent(value: Any, name: str) -> float:
    """A positive, finite exponent (``p``, ``q``, ``alpha``, ``beta``) as a float."""
    if not value > 0 or not math.isfinite(value):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_min_bands(n_bands: int, what: str, minimum: int = 2) -> None:
    """Refuse an image with fewer than ``minimum`` bands for the index ``what`` (e.g. ``"d_lambda"``)."""
    if n_bands < minimum:
        raise InputError(f"{what} needs at least {minimum} bands, got {n_bands}")
