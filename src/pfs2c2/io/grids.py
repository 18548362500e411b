"""Match the grids of a low-resolution HSI and a high-resolution MSI before fusion.

When both images are georeferenced, the resolution ratio comes from the pixel sizes and the grids must
nest: same CRS, north-up (no rotation), MSI pixel size = HSI pixel size / N with N an integer, and pixel
edges that line up (every HSI pixel covers exactly N x N MSI pixels). :func:`match_grids` checks this and
returns the ratio plus the windows to read so that both images cover the same ground: the MSI window
under the overlapping HSI pixels, and the HSI window of those pixels (whole HSI pixels only). When either
image has no grid, the ratio is taken from the array shapes alone
(:func:`pfs2c2._checks.ratio_from_shapes`).

Windows are ``(row_off, col_off, height, width)``, the form :func:`~pfs2c2.io.readers.read_cube` takes.
Every failure is a :class:`~pfs2c2.errors.InputError` (a ``ValueError``) with a one-line message
naming the numbers and the fix.

Numpy-free and rasterio-light: rasterio is imported only to compare two CRS strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._checks import (
    OFFSET_ATOL_PX,
    RATIO_RTOL,
    check_crs_comparable,
    check_grid_offset,
    check_grid_overlap,
    check_grid_shape,
    check_north_up,
    check_pixel_ratio,
    check_ratio,
    check_same_crs,
    ratio_from_shapes,
)
from ..errors import one_line
from .meta import RasterMeta

__all__ = ["OFFSET_ATOL_PX", "RATIO_RTOL", "GridMatch", "match_grids", "same_crs"]

Window = tuple[int, int, int, int]  # (row_off, col_off, height, width)

# RATIO_RTOL (tolerance on the pixel-size ratio being an integer) and OFFSET_ATOL_PX (on the grid offset
# being whole MSI pixels) are defined with the checks in :mod:`pfs2c2._checks.grids`; re-exported here.


@dataclass
class GridMatch:
    """Result of :func:`match_grids`.

    Attributes:
        ratio: Integer resolution ratio N (one HSI pixel = N x N MSI pixels).
        msi_window: ``(row_off, col_off, height, width)`` of the MSI pixels that exactly cover the
            (overlapping part of the) HSI footprint; ``None`` when the whole MSI already does.
        hsi_window: ``(row_off, col_off, height, width)`` of the HSI pixels lying entirely inside the
            MSI; ``None`` when all HSI pixels do.
    """

    ratio: int
    msi_window: Window | None = None
    hsi_window: Window | None = None


# ==================================================================================================
# Public API
# ==================================================================================================
def match_grids(
    hsi_meta: RasterMeta | None,
    hsi_shape: tuple[int, int],
    msi_meta: RasterMeta | None,
    msi_shape: tuple[int, int],
    ratio: int | None = None,
) -> GridMatch:
    """Check that an HSI and an MSI grid nest, and find the ratio and the windows to read.

    Args:
        hsi_meta: Metadata of the low-resolution hyperspectral image (``None`` = no grid).
        hsi_shape: ``(h, w)`` of the HSI.
        msi_meta: Metadata of the high-resolution multispectral image (``None`` = no grid).
        msi_shape: ``(H, W)`` of the MSI.
        ratio: Expected ratio N; checked against the pixel sizes (or the shapes without grids).

    Returns:
        :class:`GridMatch`. Without a grid on either side the windows are ``None`` and the ratio is
        ``H / h == W / w``.

    Raises:
        ValueError: Non-integer or contradictory ratio, different CRS, rotated grids, grids whose pixel
            edges do not line up, images that do not overlap (one-line messages with the fix).
    """
    h, w = check_grid_shape(hsi_shape, "hsi_shape")
    H, W = check_grid_shape(msi_shape, "msi_shape")
    if ratio is not None:
        ratio = check_ratio(ratio)
    geo = hsi_meta is not None and msi_meta is not None and hsi_meta.is_georeferenced and msi_meta.is_georeferenced
    if not geo:
        return GridMatch(ratio=ratio_from_shapes(h, w, H, W, ratio))
    assert hsi_meta is not None and msi_meta is not None
    return _match_georeferenced(hsi_meta, (h, w), msi_meta, (H, W), ratio)


# ==================================================================================================
# Helpers (the refusals are in :mod:`pfs2c2._checks.grids`)
# ==================================================================================================
def crs_label(crs: str) -> str:
    """A short, one-line text of a CRS for messages (its EPSG code or WKT, cut at 60 characters)."""
    try:
        from rasterio.crs import CRS

        s = CRS.from_user_input(crs).to_string()
    except Exception:
        s = crs
    s = " ".join(s.split())
    return s if len(s) <= 60 else s[:57] + "..."


def same_crs(a: str, b: str) -> bool:
    """Whether the CRS strings ``a`` and ``b`` name the same CRS (rasterio's comparison).

    Raises:
        InputError: when either cannot be read as a CRS.
    """
    if a == b:
        return True
    try:
        from rasterio.crs import CRS
    except ImportError:  # pragma: no cover - rasterio is a dependency
        return " ".join(a.split()).upper() == " ".join(b.split()).upper()
    try:
        return bool(CRS.from_user_input(a) == CRS.from_user_input(b))
    except Exception as exc:
        reason = one_line(exc, 150)
        check_crs_comparable(reason, crs_label(a), crs_label(b))
        raise  # pragma: no cover - check_crs_comparable raised


def _bounds(t: tuple[float, ...], h: int, w: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a north-up grid."""
    a, _, c, _, e, f = t
    xs = (c, c + a * w)
    ys = (f, f + e * h)
    return min(xs), min(ys), max(xs), max(ys)


def _match_georeferenced(
    hsi: RasterMeta,
    hsi_shape: tuple[int, int],
    msi: RasterMeta,
    msi_shape: tuple[int, int],
    ratio: int | None,
) -> GridMatch:
    h, w = hsi_shape
    H, W = msi_shape
    assert hsi.crs is not None and msi.crs is not None
    assert hsi.transform is not None and msi.transform is not None
    hsi_bounds = _bounds(hsi.transform, h, w)
    same = same_crs(hsi.crs, msi.crs)
    check_same_crs(same, crs_label(hsi.crs), crs_label(msi.crs), hsi_bounds, abs(hsi.transform[0]))
    check_north_up(hsi.transform, msi.transform)
    n = check_pixel_ratio(hsi.transform, msi.transform, hsi_bounds, ratio)
    dx, dy = check_grid_offset(hsi.transform, msi.transform, hsi_bounds)

    # -- overlap in whole HSI pixels: HSI pixel (i, j) covers MSI rows [dy + i*n, dy + (i+1)*n)
    #    and columns [dx + j*n, dx + (j+1)*n).
    j0, j1 = max(0, -(dx // n)), min(w, (W - dx) // n)
    i0, i1 = max(0, -(dy // n)), min(h, (H - dy) // n)
    check_grid_overlap((i0, i1), (j0, j1), hsi_bounds, _bounds(msi.transform, H, W), crs_label(hsi.crs))
    hsi_window: Window | None = (i0, j0, i1 - i0, j1 - j0)
    msi_window: Window | None = (dy + i0 * n, dx + j0 * n, (i1 - i0) * n, (j1 - j0) * n)
    if hsi_window == (0, 0, h, w):
        hsi_window = None
    if msi_window == (0, 0, H, W):
        msi_window = None
    return GridMatch(ratio=n, msi_window=msi_window, hsi_window=hsi_window)
