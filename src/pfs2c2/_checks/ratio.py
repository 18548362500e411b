"""The spatial ratio: a user-given value, and the ratio two image sizes imply."""

from __future__ import annotations

import math

from ..errors import InputError

__all__ = ["check_ratio", "integer_ratio", "ratio_from_shapes", "infer_ratio"]


def check_ratio(ratio: object, *, minimum: int = 2) -> int:
    """A ratio as an ``int``: an integer (``4`` or ``4.0``) of at least ``minimum``.

    ``minimum=2`` (the default) is a fusion ratio (HSI pixel size / MSI pixel size); ``minimum=1`` is
    the scale factor of an operator (:mod:`pfs2c2.physics`), where 1 is the identity grid.

    Raises:
        InputError: for values below ``minimum``, non-integer or non-numeric values, booleans.
    """
    try:
        value = float(ratio)  # type: ignore[arg-type]  # anything float() takes; the rest is refused
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(ratio, bool) or not math.isfinite(value) or value != int(value) or value < minimum:
        if minimum < 2:
            raise InputError(f"ratio must be a positive integer, got {ratio}")
        raise InputError(
            f"ratio must be an integer >= {minimum} (HSI pixel size / MSI pixel size, e.g. 4), got {ratio!r}; "
            "omit it to take it from the image sizes"
        )
    return int(value)


def integer_ratio(h: int, w: int, H: int, W: int) -> int | None:
    """``H // h`` when it divides both axes equally (``H = r h``, ``W = r w``), else None; never raises."""
    if h == 0 or w == 0 or H % h or W % w or H // h != W // w:
        return None
    return H // h


def _num(x: float) -> str:
    """Compact number for messages (coordinates keep their digits: 4100000, not 4.1e+06)."""
    if x == 0:
        return "0"
    return f"{x:.10g}" if abs(x) >= 1e-3 else f"{x:.4g}"


def ratio_from_shapes(h: int, w: int, H: int, W: int, ratio: int | None = None) -> int:
    """Ratio of an ``H x W`` MSI to an ``h x w`` HSI from the sizes alone; check a given ``ratio``.

    Raises:
        InputError: sizes not an integer ratio apart (same on both axes), a contradicting ``ratio``,
            or a ratio below 2.
    """
    if ratio is not None:
        ratio = check_ratio(ratio)
    if min(h, w, H, W) < 1:
        raise InputError(f"empty image: HSI size {h}x{w}, MSI size {H}x{W}; every axis needs at least one pixel")
    found = integer_ratio(h, w, H, W)
    if found is None:
        raise InputError(
            f"MSI size {H}x{W} is not an integer multiple of HSI size {h}x{w} (same factor on both axes; "
            f"ratios {_num(H / h)} x {_num(W / w)}); crop the MSI to N*{h} x N*{w} pixels or use georeferenced files"
        )
    if ratio is not None and int(ratio) != found:
        raise InputError(f"--ratio {ratio} contradicts the image sizes (HSI {h}x{w}, MSI {H}x{W} give ratio {found})")
    if found < 2:
        raise InputError(f"HSI and MSI have the same size {h}x{w}; the MSI must have the finer grid (ratio >= 2)")
    return found


def infer_ratio(hsi_shape: tuple[int, ...], msi_shape: tuple[int, ...], ratio: int | None = None) -> int:
    """:func:`ratio_from_shapes` for the shapes ``(C, h, w)`` and ``(c, H, W)`` of two cubes."""
    return ratio_from_shapes(hsi_shape[1], hsi_shape[2], msi_shape[1], msi_shape[2], ratio)
