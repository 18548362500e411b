"""Array coercion: tensors to numpy, cubes of three axes, the axis order, user masks."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import InputError

__all__ = ["Layout", "to_numpy", "as_cube", "as_chw", "combine_mask", "check_mask"]

Layout = Literal["chw", "hwc"]
"""Axis order of a cube: channels first ``(C, H, W)`` or last ``(H, W, C)``."""


def to_numpy(x: Any) -> np.ndarray:
    """numpy view of an array, a list or a torch tensor (detached and moved to the CPU); no copy, no cast."""
    if hasattr(x, "detach"):  # torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def as_cube(x: Any, name: str, axes: str = "(C, H, W)", *, hint: str = "") -> np.ndarray:
    """A numeric, non-empty 3-D array (numpy or tensor), returned as numpy without a copy.

    Args:
        x: the array.
        name: what it is, for the messages (``"LR-HSI"``, ``"lr_hsi"``).
        axes: its expected axes, for the messages (``"(C, h, w)"``).
        hint: appended to the rank message (e.g. how to transpose).

    Raises:
        InputError: not numeric (``"must hold numbers"``), not 3-D (``"must be a 3-D cube"``; a 2-D array
            gets a hint to add a band axis) or empty (``"is empty"``).
    """
    a = to_numpy(x)
    if a.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold numbers, got {a.dtype} data")
    if a.ndim != 3:
        two_d = "; a 2-D array is a single band: add a band axis (x[None])" if a.ndim == 2 else ""
        raise InputError(f"{name} must be a 3-D cube {axes}, got shape {a.shape}{two_d}{hint}")
    if a.size == 0:
        raise InputError(f"{name} is empty (shape {a.shape}); every axis needs at least one element")
    return a


def as_chw(x: Any, layout: Layout, name: str) -> np.ndarray:
    """A float32 C-contiguous ``(C, H, W)`` copy of a cube given in ``layout`` (``"chw"`` or ``"hwc"``).

    Raises:
        InputError: an unknown layout, or a cube refused by :func:`as_cube`.
    """
    if layout not in ("chw", "hwc"):
        raise InputError(f"layout must be 'chw' or 'hwc', got {layout!r}")
    arr = as_cube(x, name, "(C, H, W)" if layout == "chw" else "(H, W, C)")
    if layout == "hwc":
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr, dtype=np.float32)


def combine_mask(valid: np.ndarray, mask: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``valid & mask`` for an optional user mask of the image size ``shape`` (``(H, W)``, True = data).

    Raises:
        InputError: ``"{name} has shape ...; expected the image size ..."``.
    """
    if mask is None:
        return valid
    m = np.asarray(to_numpy(mask), dtype=bool)
    if m.shape != tuple(shape):
        raise InputError(f"{name} has shape {m.shape}; expected the image size {tuple(shape)}")
    return valid & m


def check_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A metric's ``(H, W)`` valid-pixel mask (numpy array or tensor) as numpy bool, True = score the pixel.

    Raises:
        InputError: ``"mask must have shape (H, W) = ..., got ..."`` or ``"mask has no valid (True) pixel"``.
    """
    m = to_numpy(mask).astype(bool, copy=False)
    if m.shape != tuple(shape):
        raise InputError(f"mask must have shape (H, W) = {tuple(shape)}, got {m.shape}")
    if not m.any():
        raise InputError("mask has no valid (True) pixel")
    return m
