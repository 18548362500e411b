"""Georeferencing: two grids that must nest (same CRS, north-up, an integer pixel ratio, aligned edges).

:func:`pfs2c2.io.grids.match_grids` reads the grids and compares the CRS (with rasterio); the refusals
are here. A transform is the 6 affine coefficients ``(a, b, c, d, e, f)`` of ``rasterio.Affine``;
bounds are ``(left, bottom, right, top)``.
"""

from __future__ import annotations

from ..errors import InputError
from .ratio import _num

__all__ = [
    "RATIO_RTOL",
    "OFFSET_ATOL_PX",
    "ROTATION_RTOL",
    "check_grid_shape",
    "check_crs_comparable",
    "check_same_crs",
    "check_north_up",
    "check_pixel_ratio",
    "check_grid_offset",
    "check_grid_overlap",
]

#: Relative tolerance on the HSI / MSI pixel-size ratio being an integer.
RATIO_RTOL = 1e-6
#: Tolerance, in MSI pixels, on the offset between the two grids being a whole number of MSI pixels.
OFFSET_ATOL_PX = 1e-3
#: Rotation / shear terms smaller than this fraction of the pixel size count as zero (float noise).
ROTATION_RTOL = 1e-9

Bounds = tuple[float, float, float, float]


def _bounds_text(b: Bounds) -> str:
    return " ".join(_num(v) for v in b)


def _int_ratio(r: float) -> int | None:
    n = round(r)
    if n >= 1 and abs(r - n) <= RATIO_RTOL * n:
        return int(n)
    return None


def check_grid_shape(shape: tuple[int, int], name: str) -> tuple[int, int]:
    """An image size ``(rows, cols)`` as two positive ints.

    Raises:
        InputError: ``"{name} must be (rows, cols) ..."`` or ``"... two positive sizes ..."``.
    """
    try:
        vals = tuple(int(v) for v in shape)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be (rows, cols), got {shape!r}") from None
    if len(vals) != 2 or vals[0] < 1 or vals[1] < 1:
        raise InputError(f"{name} must be two positive sizes (rows, cols), got {tuple(shape)!r}")
    return vals[0], vals[1]


def check_crs_comparable(reason: str | None, hsi_label: str, msi_label: str) -> None:
    """Refuse two CRS that could not be compared (``reason``: the parser's error, None when they could)."""
    if reason is not None:
        raise InputError(
            f"cannot compare the CRS of the HSI ({hsi_label}) and the MSI ({msi_label}): "
            f"{reason}; give both files a valid CRS (e.g. `gdal_edit.py -a_srs EPSG:XXXX file.tif`)"
        )


def check_same_crs(same: bool, hsi_label: str, msi_label: str, hsi_bounds: Bounds, hsi_pixel_x: float) -> None:
    """Refuse grids in different CRS (``same`` False), with the ``rio warp`` command that fixes it.

    Args:
        same: whether the two CRS are equal.
        hsi_label, msi_label: short CRS texts for the message.
        hsi_bounds: the HSI bounds, for the command.
        hsi_pixel_x: ``|a|`` of the HSI transform (pixel width, CRS units).
    """
    if same:
        return
    dst = hsi_label if len(hsi_label) <= 30 and "..." not in hsi_label else "<HSI CRS>"
    raise InputError(
        f"HSI CRS {hsi_label} and MSI CRS {msi_label} differ; reproject one onto the other, e.g. "
        f"`rio warp msi.tif msi_reproj.tif --dst-crs {dst} --bounds {_bounds_text(hsi_bounds)} "
        f"--res R` with R = HSI pixel {_num(hsi_pixel_x)} / N (keeps the grids nested; `--like hsi.tif` "
        f"would copy the HSI pixel size too), or rioxarray's reproject_match onto such a grid"
    )


def check_north_up(hsi_t: tuple[float, ...], msi_t: tuple[float, ...]) -> None:
    """Refuse rotated / sheared grids and grids running in opposite directions."""
    ha, hb, _, hd, he, _ = hsi_t
    ma, mb, _, md, me, _ = msi_t
    for name, (a, b, d, e) in (("HSI", (ha, hb, hd, he)), ("MSI", (ma, mb, md, me))):
        scale = max(abs(a), abs(e), abs(b), abs(d))
        if abs(b) > ROTATION_RTOL * scale or abs(d) > ROTATION_RTOL * scale or a == 0 or e == 0:
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


def check_pixel_ratio(
    hsi_t: tuple[float, ...],
    msi_t: tuple[float, ...],
    hsi_bounds: Bounds,
    ratio: int | None,
) -> int:
    """The integer ratio N of the HSI to the MSI pixel size (same on both axes, equal to ``ratio``).

    Raises:
        InputError: MSI pixels larger than the HSI's, no common integer ratio (with the resampling
            command), or a contradicting ``ratio``.
    """
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


def check_grid_offset(hsi_t: tuple[float, ...], msi_t: tuple[float, ...], hsi_bounds: Bounds) -> tuple[int, int]:
    """Offset ``(dx, dy)`` of the HSI origin from the MSI origin, in whole MSI pixels (columns, rows).

    Raises:
        InputError: HSI pixel edges that do not fall on MSI pixel edges (with the resampling command).
    """
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


def check_grid_overlap(
    rows: tuple[int, int], cols: tuple[int, int], hsi_bounds: Bounds, msi_bounds: Bounds, crs_label: str
) -> None:
    """Refuse grids that share no whole HSI pixel (``rows = (i0, i1)``, ``cols = (j0, j1)`` empty)."""
    (i0, i1), (j0, j1) = rows, cols
    if j1 <= j0 or i1 <= i0:
        raise InputError(
            f"the images do not overlap: HSI bounds {_bounds_text(hsi_bounds)} and MSI bounds "
            f"{_bounds_text(msi_bounds)} (left bottom right top, {crs_label}) "
            f"share no whole HSI pixel; give images of the same area"
        )


def check_dataarray_pair(
    hsi_is_dataarray: bool, msi_is_dataarray: bool, hsi_crs: str | None, msi_crs: str | None
) -> None:
    """Refuse a DataArray beside a plain array, and two DataArrays in different CRS.

    Raises:
        InputError: one line naming the fix.
    """
    if hsi_is_dataarray != msi_is_dataarray:
        raise InputError(
            "give both images as xarray.DataArrays or both as arrays, not one of each "
            "(pfs2c2.dataarray.open_dataarray reads a file as a DataArray)"
        )
    if hsi_crs is not None and msi_crs is not None and hsi_crs != msi_crs:
        raise InputError(
            f"the HSI ({hsi_crs}) and the MSI ({msi_crs}) have different CRS; "
            "reproject one (e.g. da.rio.reproject_match) or align the pair first (pfs2c2 align)"
        )
