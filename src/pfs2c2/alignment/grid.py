"""Grid geometry of an alignment: CRS, footprints, pixel sizes and the integer ratio (no pixels)."""

from __future__ import annotations

import math

from .._checks import check_ratio
from ..errors import InputError
from ..io import RasterMeta

Window = tuple[int, int, int, int]  # (row_off, col_off, height, width)
Bounds = tuple[float, float, float, float]  # (left, bottom, right, top)

#: Largest relative distance of the pixel-size ratio from an integer that is accepted (5 %).
RATIO_TOLERANCE = 0.05


def num(x: float) -> str:
    return f"{x:.10g}"


def bounds_text(b: Bounds) -> str:
    return " ".join(num(v) for v in b)


def north_up(meta: RasterMeta, name: str) -> tuple[float, ...]:
    t = meta.transform
    assert t is not None
    a, b, _, d, e, _ = t
    scale = max(abs(a), abs(e))
    if abs(b) > 1e-9 * scale or abs(d) > 1e-9 * scale or a <= 0 or e >= 0:
        raise InputError(
            f"the {name} grid is not north-up (transform a={num(a)}, b={num(b)}, d={num(d)}, e={num(e)}); "
            f"its grid is kept as the output grid, so warp it north-up first, e.g. "
            f"`gdalwarp {name.lower()}.tif {name.lower()}_northup.tif`, or resample the other image"
        )
    return t


def corners(meta: RasterMeta, shape: tuple[int, ...]) -> list[tuple[float, float]]:
    a, b, c, d, e, f = meta.transform or (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    h, w = shape[-2:]
    return [(a * col + b * row + c, d * col + e * row + f) for row, col in ((0, 0), (0, w), (h, 0), (h, w))]


def bounds_in(meta: RasterMeta, shape: tuple[int, ...], crs: str, same: bool) -> Bounds:
    """(left, bottom, right, top) of an image's footprint in ``crs``."""
    xs, ys = zip(*corners(meta, shape), strict=True)
    b = (min(xs), min(ys), max(xs), max(ys))
    if same:
        return b
    from rasterio.warp import transform_bounds

    return tuple(float(v) for v in transform_bounds(meta.crs, crs, *b, densify_pts=21))  # type: ignore[return-value]


def origin_in(meta: RasterMeta, crs: str, same: bool) -> tuple[float, float]:
    """The upper-left corner of an image in ``crs``."""
    x, y = corners(meta, (0, 0))[0]
    if same:
        return x, y
    from rasterio.warp import transform

    xs, ys = transform(meta.crs, crs, [x], [y])
    return float(xs[0]), float(ys[0])


def resolution_in(meta: RasterMeta, shape: tuple[int, ...], crs: str, same: bool) -> tuple[float, float]:
    """Pixel size ``(x, y)`` of an image in ``crs`` units: the lengths of one pixel step at its centre."""
    size = meta.pixel_size()
    assert size is not None and meta.transform is not None
    if same:
        return size
    from rasterio.warp import transform

    a, b, c, d, e, f = meta.transform
    row, col = shape[-2] / 2, shape[-1] / 2
    pts = [(col, row), (col + 1, row), (col, row + 1)]
    xs, ys = transform(meta.crs, crs, [a * x + b * y + c for x, y in pts], [d * x + e * y + f for x, y in pts])
    return math.hypot(xs[1] - xs[0], ys[1] - ys[0]), math.hypot(xs[2] - xs[0], ys[2] - ys[0])


def ground_ratio(measured: tuple[float, float]) -> float:
    """The ratio of the pixel areas' square roots: the geometric mean of the ``(x, y)`` pixel-size ratio."""
    return math.sqrt(measured[0] * measured[1])


def integer_ratio(
    measured: tuple[float, float], ratio: int | None, hsi: RasterMeta, msi: RasterMeta, reprojected: bool = False
) -> int:
    """The integer ratio N of the nesting grids, from the measured ``(x, y)`` HSI / MSI pixel-size ratio.

    In one CRS (``reprojected=False``) the moving image is only shifted or slightly rescaled, so N is
    the given ``ratio`` or the mean ratio rounded, and a measured ratio more than
    :data:`RATIO_TOLERANCE` from N is refused (a wrong pair). When the moving image is reprojected
    (different CRS) it is resampled anyway, so any N fits: the given ``ratio``, else the
    :func:`ground_ratio` rounded, at least 2 (e.g. EMIT's 0.000542 deg pixels, 45 x 60 m at 42 N,
    against Sentinel-2's 10 m: 4.5 x 6.0 -> 5).
    """
    rx, ry = measured
    sizes = f"HSI pixel {num(hsi.pixel_size()[0])} and MSI pixel {num(msi.pixel_size()[0])}"  # type: ignore[index]
    if min(rx, ry) < 1 - RATIO_TOLERANCE:
        raise InputError(
            f"the {sizes} give a ratio of {rx:.3g} x {ry:.3g}: the MSI pixels are larger; the MSI must be "
            f"the finer image, check that the inputs are not swapped"
        )
    if reprojected:
        return check_ratio(ratio) if ratio is not None else max(2, round(ground_ratio(measured)))
    n = round((rx + ry) / 2) if ratio is None else check_ratio(ratio)
    off = max(abs(rx / max(n, 1) - 1), abs(ry / max(n, 1) - 1))
    if n < 2 or off > RATIO_TOLERANCE:
        target = "the nearest integer" if ratio is None else "the given ratio"
        raise InputError(
            f"the {sizes} give a ratio of {rx:.4g} x {ry:.4g}, {100 * off:.0f}% from {target} {max(n, 1)} "
            f"(at most {100 * RATIO_TOLERANCE:.0f}% is resampled); resample one image to HSI_px / N with N an "
            f"integer >= 2, e.g. `gdalwarp -tr R R msi.tif msi_R.tif`"
        )
    return int(n)


def frac(v: float) -> float:
    f = v - math.floor(v + 0.5)
    return 0.0 if abs(f) < 1e-9 else float(f)
