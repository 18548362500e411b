"""The figures' inputs (:mod:`pfs2c2.plots`): cubes as floating point, a scene whose shapes agree, band
centres, pixels, true-colour bands and stretch limits. Arrays may be numpy or CPU/GPU torch tensors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .arrays import as_cube, to_numpy
from .ratio import check_ratio, integer_ratio
from .shapes import check_same_shape

__all__ = [
    "as_float_array",
    "as_float_cube",
    "check_scene",
    "check_lr_bands",
    "plot_ratio",
    "check_band_centres",
    "check_band_names",
    "check_pixels",
    "check_some_pixel",
    "check_rgb_bands",
    "check_stretch_limits",
    "check_report_outputs",
]


def as_float_array(x: Any) -> np.ndarray:
    """numpy view of an array or torch tensor, as floating point (other dtypes become float64)."""
    arr = to_numpy(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def as_float_cube(x: Any, name: str) -> np.ndarray:
    """A ``(C, H, W)`` cube (channels first) as floating-point numpy, refused otherwise (:func:`as_cube`)."""
    arr = as_cube(x, name, "(C, H, W) (channels first)", hint="; transpose (H, W, C) arrays with np.moveaxis(x, -1, 0)")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def check_lr_bands(lr: np.ndarray, n_bands: int, hint: str = "") -> None:
    """Refuse an LR-HSI ``(C', h, w)`` whose band count is not the fused cube's ``n_bands``."""
    if lr.shape[0] != n_bands:
        raise InputError(f"lr_hsi has {lr.shape[0]} bands but fused has {n_bands}{hint}")


def check_scene(lr: np.ndarray, msi: np.ndarray, fused: np.ndarray, ref: np.ndarray | None) -> None:
    """Consistency of the LR-HSI ``(C, h, w)``, HR-MSI ``(c, H, W)``, fused and reference ``(C, H, W)`` shapes."""
    if ref is not None:
        check_same_shape(fused, ref, "fused", "reference")
    check_lr_bands(lr, fused.shape[0], "; both are (C, ...) HSI cubes")
    if msi.shape[1:] != fused.shape[1:]:
        raise InputError(f"hr_msi {msi.shape} and fused {fused.shape} must share the HR grid (H, W)")


def plot_ratio(lr_shape: tuple[int, ...], fused_shape: tuple[int, ...], ratio: Any) -> int:
    """The HR/LR scale factor of a figure: ``ratio`` checked (a positive integer), or ``H // h`` when it
    divides both sides of the ``(C, h, w)`` LR and ``(C, H, W)`` fused shapes."""
    if ratio is None:
        ratio = integer_ratio(*lr_shape[-2:], *fused_shape[-2:])
        if ratio is None:
            raise InputError(f"cannot infer the ratio from lr_hsi {lr_shape} and fused {fused_shape}; pass ratio=")
    return check_ratio(ratio, minimum=1)


def check_band_centres(wl: Any, n_bands: int, name: str) -> np.ndarray | None:
    """``(n_bands,)`` float64 band centres (nm), or None; refused when the count differs from the bands."""
    if wl is None:
        return None
    arr = np.asarray(as_float_array(wl), dtype=np.float64).ravel()
    if arr.size != n_bands:
        raise InputError(
            f"{name} has {arr.size} values but the image has {n_bands} bands; give one centre (nm) per band"
        )
    return arr


def check_band_names(band_names: Sequence[str] | None, n_bands: int) -> None:
    """Refuse legend names whose count is not the ``n_bands`` MSI bands (None: no names)."""
    if band_names is not None and len(band_names) != n_bands:
        raise InputError(f"band_names has {len(band_names)} names for {n_bands} MSI bands")


def check_pixels(pixels: Sequence[Sequence[int]], height: int, width: int) -> list[tuple[int, int, str]]:
    """``(row, col, "")`` for each ``(row, col)`` inside an ``height x width`` image; refused outside or empty."""
    chosen = []
    for p in pixels:
        r, c = int(p[0]), int(p[1])
        if not (0 <= r < height and 0 <= c < width):
            raise InputError(f"pixel {(r, c)} is outside the {height}×{width} image")
        chosen.append((r, c, ""))
    check_some_pixel(chosen)
    return chosen


def check_some_pixel(chosen: Sequence[object]) -> None:
    """Refuse an empty list of pixels to plot."""
    if not chosen:
        raise InputError("pixels must name at least one (row, col)")


def check_rgb_bands(bands: Sequence[int], n_bands: int) -> tuple[int, int, int]:
    """Three band indices ``(red, green, blue)`` as ints, each in ``[-n_bands, n_bands)``."""
    if len(bands) != 3:
        raise InputError(f"bands must be three indices (red, green, blue), got {bands}")
    out = tuple(int(b) for b in bands)
    for b in out:
        if not -n_bands <= b < n_bands:
            raise InputError(f"band index {b} is out of range for a cube with {n_bands} bands")
    return out  # type: ignore[return-value]  # three ints, checked above


def check_stretch_limits(lim: np.ndarray) -> None:
    """Refuse display limits that are not ``(3, 2)``: ``(low, high)`` per channel."""
    if lim.shape != (3, 2):
        raise InputError(f"limits must have shape (3, 2) (low, high per channel), got {lim.shape}")


def check_report_outputs(out: Path, names: Sequence[str], overwrite: bool) -> None:
    """Refuse to replace the figures ``names`` already in the folder ``out``, unless ``overwrite``.

    Raises:
        FileExistsError: ``"{out} already holds a.png, b.png; pass overwrite=True to replace them"``.
    """
    if not overwrite:
        existing = [n for n in names if (out / n).exists()]
        if existing:
            raise FileExistsError(f"{out} already holds {', '.join(existing)}; pass overwrite=True to replace them")
