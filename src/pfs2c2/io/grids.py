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

from .._checks import check_ratio, ratio_from_shapes
from ..errors import InputError
from .meta import RasterMeta

__all__ = ["GridMatch", "match_grids"]

Window = tuple[int, int, int, int]  # (row_off, col_off, height, width)

#: Relative tolerance on the HSI / MSI pixel-size ratio being an integer.
RATIO_RTOL = 1e-6
#: Tolerance, in MSI pixels, on the offset between the two grids being a whole number of MSI pixels.
OFFSET_ATOL_PX = 1e-3
#: Rotation / shear terms smaller than this fraction of the pixel size count as zero (float noise).
_ROTATION_RTOL = 1e-9


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
    h, w = _shape(hsi_shape, "hsi_shape")
    H, W = _shape(msi_shape, "msi_shape")
    if ratio is not None:
        ratio = check_ratio(ratio)
    geo = hsi_meta is not None and msi_meta is not None and hsi_meta.is_georeferenced and msi_meta.is_georeferenced
    if not geo:
        return GridMatch(ratio=ratio_from_shapes(h, w, H, W, ratio))
    assert hsi_meta is not None and msi_meta is not None
    return _match_georeferenced(hsi_meta, (h, w), msi_meta, (H, W), ratio)


# ==================================================================================================
# Helpers
# ==================================================================================================
def _shape(shape: tuple[int, int], name: str) -> tuple[int, int]:
    try:
        vals = tuple(int(v) for v in shape)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be (rows, cols), got {shape!r}") from None
    if len(vals) != 2 or vals[0] < 1 or vals[1] < 1:
        raise InputError(f"{name} must be two positive sizes (rows, cols), got {tuple(shape)!r}")
    return vals[0], vals[1]


def _num(x: float) -> str:
    """Compact number for messages (coordinates keep their digits: 4100000, not 4.1e+06)."""
    if x == 0:
        return "0"
    return f"{x:.10g}" if abs(x) >= 1e-3 else f"{x:.4g}"


def _crs_label(crs: str) -> str:
    try:
        from rasterio.crs import CRS

        s = CRS.from_user_input(crs).to_string()
    except Exception:
        s = crs
    s = " ".join(s.split())
    return s if len(s) <= 60 else s[:57] + "..."


def _same_crs(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        from rasterio.crs import CRS
    except ImportError:  # pragma: no cover - rasterio is a dependency
        return " ".join(a.split()).upper() == " ".join(b.split()).upper()
    try:
        return CRS.from_user_input(a) == CRS.from_user_input(b)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:150]
        raise InputError(
            f"cannot compare the CRS of the HSI ({_crs_label(a)}) and the MSI ({_crs_label(b)}): "
            f"{reason}; give both files a valid CRS (e.g. `gdal_edit.py -a_srs EPSG:XXXX file.tif`)"
        ) from None


def _bounds(t: tuple[float, ...], h: int, w: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a north-up grid."""
    a, _, c, _, e, f = t
    xs = (c, c + a * w)
    ys = (f, f + e * h)
    return min(xs), min(ys), max(xs), max(ys)


def _bounds_text(b: tuple[float, float, float, float]) -> str:
    return " ".join(_num(v) for v in b)


def _int_ratio(r: float) -> int | None:
    n = round(r)
    if n >= 1 and abs(r - n) <= RATIO_RTOL * n:
        return int(n)
    return None


def _check_same_crs(hsi: RasterMeta, msi: RasterMeta, hsi_bounds: tuple[float, float, float, float]) -> None:
    """Refuse grids in different CRS (with the ``rio warp`` command that fixes it)."""
    assert hsi.crs is not None and msi.crs is not None and hsi.transform is not None
    if _same_crs(hsi.crs, msi.crs):
        return
    hl, ml = _crs_label(hsi.crs), _crs_label(msi.crs)
    dst = hl if len(hl) <= 30 and "..." not in hl else "<HSI CRS>"
    raise InputError(
        f"HSI CRS {hl} and MSI CRS {ml} differ; reproject one onto the other, e.g. "
        f"`rio warp msi.tif msi_reproj.tif --dst-crs {dst} --bounds {_bounds_text(hsi_bounds)} "
        f"--res R` with R = HSI pixel {_num(abs(hsi.transform[0]))} / N (keeps the grids nested; `--like hsi.tif` "
        f"would copy the HSI pixel size too), or rioxarray's reproject_match onto such a grid"
    )


def _check_north_up(hsi_t: tuple[float, ...], msi_t: tuple[float, ...]) -> None:
    """Refuse rotated / sheared grids and grids running in opposite directions."""
    ha, hb, _, hd, he, _ = hsi_t
    ma, mb, _, md, me, _ = msi_t
    for name, (a, b, d, e) in (("HSI", (ha, hb, hd, he)), ("MSI", (ma, mb, md, me))):
        scale = max(abs(a), abs(e), abs(b), abs(d))
        if abs(b) > _ROTATION_RTOL * scale or abs(d) > _ROTATION_RTOL * scale or a == 0 or e == 0:
            raise InputError(
                f"the {name} grid is rotated or sheared (transform a={_num(a)}, b={_num(b)}, "
                f"d={_num(d)}, e={_num(e)}); fusion needs north-up grids: warp it first, e.g. "
                f"`gdalwarp {name.lower()}.tif {name.lower()}_northup.tif` or "
                f"`rio warp {name.lower()}.tif {name.lower()}_northup.tif`"
            )
    if (ha > 0) != (ma > 0) or (he > 0) != (me > 0):
        raise InputError(
            f"the HSI and MSI grids run in opposite directions (x step {_num(ha)} vs {_num(ma)}, "
            f"y step {_num(he)} vs {_num(me)}); make both north-up, e.g. "
            f"`gdalwarp msi.tif msi_northup.tif` (and the same for the HSI)"
        )


def _pixel_ratio(
    hsi_t: tuple[float, ...],
    msi_t: tuple[float, ...],
    hsi_bounds: tuple[float, float, float, float],
    ratio: int | None,
) -> int:
    """The integer ratio N of the HSI to the MSI pixel size (same on both axes, equal to ``ratio``)."""
    hpx, hpy = abs(hsi_t[0]), abs(hsi_t[4])
    mpx, mpy = abs(msi_t[0]), abs(msi_t[4])
    rx, ry = hpx / mpx, hpy / mpy
    nx, ny = _int_ratio(rx), _int_ratio(ry)
    px_text = f"HSI pixel size {_num(hpx)} x {_num(hpy)} and MSI pixel size {_num(mpx)} x {_num(mpy)}"
    if rx < 1 - RATIO_RTOL or ry < 1 - RATIO_RTOL:
        raise InputError(
            f"{px_text}: the MSI pixels are larger than the HSI pixels (ratio {_num(rx)} x "
            f"{_num(ry)}); the MSI must be the finer image, check that the inputs are not swapped"
        )
    if nx is None or ny is None or nx != ny:
        n = max(1, round(min(rx, ry)))
        tx, ty = hpx / n, hpy / n
        b = _bounds_text(hsi_bounds)
        raise InputError(
            f"{px_text} give a ratio of {_num(rx)} x {_num(ry)}, not the same integer N on both axes; "
            f"resample the MSI to HSI_px/N, e.g. for N={n}: `gdalwarp -tr {_num(tx)} {_num(ty)} "
            f"-te {b} msi.tif msi_{n}x.tif` or `rio warp msi.tif msi_{n}x.tif --res {_num(tx)} "
            f"--res {_num(ty)} --bounds {b}`"
        )
    n = nx
    if ratio is not None and ratio != n:
        raise InputError(
            f"ratio={ratio} was given but the {px_text} give a ratio of {n}; drop the ratio argument "
            f"or resample the MSI to pixel size {_num(hpx / ratio)} x {_num(hpy / ratio)}"
        )
    return n


def _grid_offset(
    hsi_t: tuple[float, ...], msi_t: tuple[float, ...], hsi_bounds: tuple[float, float, float, float]
) -> tuple[int, int]:
    """Offset ``(dx, dy)`` of the HSI origin from the MSI origin, in whole MSI pixels (columns, rows)."""
    hc, hf = hsi_t[2], hsi_t[5]
    ma, mc, me, mf = msi_t[0], msi_t[2], msi_t[4], msi_t[5]
    mpx, mpy = abs(ma), abs(me)
    fx = (hc - mc) / ma
    fy = (hf - mf) / me
    dx, dy = round(fx), round(fy)
    if abs(fx - dx) > OFFSET_ATOL_PX or abs(fy - dy) > OFFSET_ATOL_PX:
        b = _bounds_text(hsi_bounds)
        raise InputError(
            f"the HSI and MSI grids are offset by {_num(fx - dx)} x {_num(fy - dy)} MSI pixels "
            f"(x, y), so HSI pixel edges do not fall on MSI pixel edges; resample the MSI onto "
            f"HSI-aligned edges, e.g. `gdalwarp -te {b} -tr {_num(mpx)} {_num(mpy)} msi.tif "
            f"msi_aligned.tif` or `rio warp msi.tif msi_aligned.tif --bounds {b} --res {_num(mpx)} "
            f"--res {_num(mpy)}` (or `rio warp --like` a template on that grid)"
        )
    return dx, dy


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
    _check_same_crs(hsi, msi, hsi_bounds)
    _check_north_up(hsi.transform, msi.transform)
    n = _pixel_ratio(hsi.transform, msi.transform, hsi_bounds, ratio)
    dx, dy = _grid_offset(hsi.transform, msi.transform, hsi_bounds)

    # -- overlap in whole HSI pixels: HSI pixel (i, j) covers MSI rows [dy + i*n, dy + (i+1)*n)
    #    and columns [dx + j*n, dx + (j+1)*n).
    j0, j1 = max(0, -(dx // n)), min(w, (W - dx) // n)
    i0, i1 = max(0, -(dy // n)), min(h, (H - dy) // n)
    if j1 <= j0 or i1 <= i0:
        raise InputError(
            f"the images do not overlap: HSI bounds {_bounds_text(hsi_bounds)} and MSI bounds "
            f"{_bounds_text(_bounds(msi.transform, H, W))} (left bottom right top, {_crs_label(hsi.crs)}) "
            f"share no whole HSI pixel; give images of the same area"
        )
    hsi_window: Window | None = (i0, j0, i1 - i0, j1 - j0)
    msi_window: Window | None = (dy + i0 * n, dx + j0 * n, (i1 - i0) * n, (j1 - j0) * n)
    if hsi_window == (0, 0, h, w):
        hsi_window = None
    if msi_window == (0, 0, H, W):
        msi_window = None
    return GridMatch(ratio=n, msi_window=msi_window, hsi_window=hsi_window)
