"""Coercion and consistency checks of the figures' inputs (numpy arrays or CPU/GPU torch tensors)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_cube, to_numpy
from ..errors import InputError

__all__ = ["as_float_array", "as_float_cube", "check_same_shape", "check_scene", "check_wavelengths"]


def as_float_array(x: Any) -> np.ndarray:
    """numpy view of an array or torch tensor, as floating point (other dtypes become float64)."""
    arr = to_numpy(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def as_float_cube(x: Any, name: str) -> np.ndarray:
    """A ``(C, H, W)`` cube (channels first) as floating-point numpy, refused otherwise."""
    arr = as_cube(x, name, "(C, H, W) (channels first)", hint="; transpose (H, W, C) arrays with np.moveaxis(x, -1, 0)")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def check_scene(lr: np.ndarray, msi: np.ndarray, fused: np.ndarray, ref: np.ndarray | None) -> None:
    """Consistency of the LR-HSI, HR-MSI, fused and reference shapes."""
    if ref is not None:
        check_same_shape(fused, ref, "fused", "reference")
    if lr.shape[0] != fused.shape[0]:
        raise InputError(f"lr_hsi has {lr.shape[0]} bands but fused has {fused.shape[0]}; both are (C, ...) HSI cubes")
    if msi.shape[1:] != fused.shape[1:]:
        raise InputError(f"hr_msi {msi.shape} and fused {fused.shape} must share the HR grid (H, W)")


def check_same_shape(a: np.ndarray, b: np.ndarray, na: str, nb: str) -> None:
    """Refuse two cubes of different ``(C, H, W)`` shapes."""
    if a.shape != b.shape:
        raise InputError(f"{na} {a.shape} and {nb} {b.shape} must have the same (C, H, W) shape")


def check_wavelengths(wl: Any, n_bands: int, name: str) -> np.ndarray | None:
    """``(n_bands,)`` float64 band centres (nm), or None; refused when the count differs from the bands."""
    if wl is None:
        return None
    arr = np.asarray(as_float_array(wl), dtype=np.float64).ravel()
    if arr.size != n_bands:
        raise InputError(
            f"{name} has {arr.size} values but the image has {n_bands} bands; give one centre (nm) per band"
        )
    return arr
