"""Shapes: the rank of a matrix or kernel, and two arrays that must have one shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["check_ndim", "check_same_shape"]


def check_ndim(a: Any, ndim: int, message: str) -> None:
    """Refuse an array whose rank is not ``ndim``; ``message`` is the one-line text, with ``{shape}``
    replaced by the array's shape (e.g. ``"psf must be a 2-D (k, k) kernel, got shape {shape}"``)."""
    if np.ndim(a) != ndim:
        raise InputError(message.format(shape=np.shape(a)))


def check_same_shape(a: np.ndarray, b: np.ndarray, na: str, nb: str, axes: str = "(C, H, W)") -> None:
    """Refuse two arrays of different shapes: ``"{na} {a.shape} and {nb} {b.shape} must have the same
    {axes} shape"`` (``axes`` names the expected axes, e.g. ``"(C, c)"`` for two SRFs)."""
    if a.shape != b.shape:
        raise InputError(f"{na} {a.shape} and {nb} {b.shape} must have the same {axes} shape")


def check_ratio_shapes(lr_shape: tuple[int, ...], hr_shape: tuple[int, ...], ratio: int) -> None:
    """Refuse an HR image whose ``(H, W)`` is not the LR image's ``(h, w)`` times ``ratio``."""
    h, w = lr_shape[-2:]
    if tuple(hr_shape[-2:]) != (h * ratio, w * ratio):
        raise InputError(
            f"the HR-MSI is {hr_shape[-2]}x{hr_shape[-1]} but the LR-HSI {h}x{w} at ratio {ratio} needs "
            f"{h * ratio}x{w * ratio}; crop both to the same scene"
        )
