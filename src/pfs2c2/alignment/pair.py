"""The pair: :func:`align_pair`, :func:`align_files` and what they return (see :mod:`pfs2c2.alignment`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._checks import OFFSET_ATOL_PX, as_cube
from ..errors import InputError
from ..io import RasterMeta, read_cube, write_cube
from ..io.grids import crs_label, same_crs
from .grid import (
    Window,
    bounds_in,
    bounds_text,
    frac,
    ground_ratio,
    integer_ratio,
    north_up,
    origin_in,
    resolution_in,
)
from .pixels import cut, guided_hsi, input_valid, same_step, warp

Resample = Literal["hsi", "msi"]
Method = Literal["bilinear", "cubic", "average", "nearest", "guided"]

#: Resampling kernels offered (GDAL names) and ``"guided"``: bilinear, plus the MSI's own interpolation error mapped to the HSI bands
#: (:func:`pfs2c2.alignment.pixels.guided_hsi`; ``resample="hsi"`` only).
METHODS: tuple[str, ...] = ("bilinear", "cubic", "average", "nearest", "guided")
#: Defaults chosen by ``benchmarks/alignment.py`` (docs/benchmarks.md, "Grid alignment").
DEFAULT_RESAMPLE: Resample = "hsi"
DEFAULT_METHOD: Literal["auto"] = "auto"
#: The kernel ``method="auto"`` uses when the images are in different CRS or pixel sizes (``"bilinear"``
#: with ``resample="msi"``); in one CRS with the same pixel size ``"auto"`` is ``"nearest"``, a
#: whole-pixel copy with the phase nearest to the image's own grid (no interpolation; the residual
#: shift of at most half an HR pixel is learned by a PSF of size ``ratio + 2``,
#: :attr:`AlignmentRecord.psf_size`).
AUTO_REPROJECT_METHOD: Method = "guided"


@dataclass(frozen=True)
class AlignmentRecord:
    """What :func:`align_pair` did, for run.json.

    Attributes:
        crs: CRS of the output grids.
        resampled: ``"hsi"`` or ``"msi"`` (the image that was warped), or ``None`` when the grids
            already nested and both images were only cropped.
        method: Resampling kernel (GDAL name).
        ratio: Integer resolution ratio N.
        pixel_ratio: Measured HSI / MSI pixel-size ratio ``(x, y)`` before rounding (in the output CRS:
            the lengths of one moving-image pixel step at its centre).
        ground_ratio: Geometric mean of ``pixel_ratio`` (the ratio of the pixel areas' square roots);
            rounded (at least 2) it is ``ratio`` when the images were in different CRS and no ratio
            was given.
        reprojected_from: CRS of the moving image when it differed from ``crs``, else ``None``.
        hsi_window / msi_window: ``(row_off, col_off, height, width)`` of each output in its input
            image's pixel grid (``None`` for an interpolated image).
        shift_px: ``(x, y)`` offset of the moving image's input grid from its output grid, in output
            pixels of that image, reduced to [-0.5, 0.5) (0 when nothing moved).
        psf_size: PSF kernel size the fusion should learn (``ratio + 2``) when an image moved: a kernel
            wider than the ratio absorbs a residual shift of up to half an HR pixel (see
            docs/benchmarks.md "Grid alignment"); ``None`` when the grids already nested.
    """

    crs: str
    resampled: str | None
    method: str
    ratio: int
    pixel_ratio: tuple[float, float]
    ground_ratio: float
    reprojected_from: str | None
    hsi_window: Window | None
    msi_window: Window | None
    shift_px: tuple[float, float]
    psf_size: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (lists for tuples)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class AlignedPair:
    """A nesting pair: ``msi`` is ``(c, N h, N w)`` on a grid nested in the ``(C, h, w)`` ``hsi`` one."""

    hsi: np.ndarray
    hsi_meta: RasterMeta
    msi: np.ndarray
    msi_meta: RasterMeta
    hsi_valid: np.ndarray
    msi_valid: np.ndarray
    ratio: int
    record: AlignmentRecord = field(repr=False)


def align_pair(
    hsi: Any,
    hsi_meta: RasterMeta,
    msi: Any,
    msi_meta: RasterMeta,
    *,
    ratio: int | None = None,
    resample: Resample = DEFAULT_RESAMPLE,
    method: Method | Literal["auto"] = DEFAULT_METHOD,
    hsi_valid: np.ndarray | None = None,
    msi_valid: np.ndarray | None = None,
) -> AlignedPair:
    """Reproject, resample and crop an HSI / MSI pair so that the grids nest.

    Args:
        hsi: LR hyperspectral cube ``(C, h, w)``.
        hsi_meta: Its metadata (CRS and transform required; nodata used for validity).
        msi: HR multispectral cube ``(c, H, W)``.
        msi_meta: Its metadata.
        ratio: Wanted integer ratio N; default: the pixel-size ratio rounded (in one CRS: the mean
            of the x and y ratios, within 5 % of N; across CRS: their geometric mean, at least 2,
            any distance from N, as the moving image is reprojected anyway).
        resample: Which image is warped onto a grid nested in the other's (``"hsi"``: the MSI grid is
            the output grid; ``"msi"``: the HSI grid is).
        method: ``"auto"`` (see :data:`AUTO_REPROJECT_METHOD`), ``"bilinear"``, ``"cubic"``,
            ``"average"``, ``"nearest"`` or ``"guided"`` (HSI only).
        hsi_valid / msi_valid: Optional ``(h, w)`` / ``(H, W)`` bool masks, True = data.

    Returns:
        :class:`AlignedPair` (float32 cubes, masks, ratio, record).

    Raises:
        InputError: No grid, a rotated fixed grid, a ratio far from an integer (one CRS), no overlap, bad
            arguments (one-line messages).
    """
    if resample not in ("hsi", "msi"):
        raise InputError(f"resample must be 'hsi' or 'msi', got {resample!r}")
    if method != "auto" and method not in METHODS:
        raise InputError(f"method must be 'auto' or one of {', '.join(METHODS)}, got {method!r}")
    if method == "guided" and resample != "hsi":
        raise InputError("method 'guided' corrects the HSI with the MSI: use it with resample='hsi'")
    y = as_cube(hsi, "hsi")
    z = as_cube(msi, "msi")
    for name, meta in (("HSI", hsi_meta), ("MSI", msi_meta)):
        if meta is None or not meta.is_georeferenced:
            raise InputError(
                f"the {name} has no CRS or geotransform, so it cannot be aligned; give georeferenced files "
                f"(GeoTIFF, ENVI with map info) or pairs that already nest"
            )
    yv = input_valid(y, hsi_meta, hsi_valid, "hsi_valid")
    zv = input_valid(z, msi_meta, msi_valid, "msi_valid")
    if resample == "hsi":
        fixed, moving = (z, msi_meta, zv), (y, hsi_meta, yv)
    else:
        fixed, moving = (y, hsi_meta, yv), (z, msi_meta, zv)
    fixed_t = north_up(fixed[1], "MSI" if resample == "hsi" else "HSI")
    crs = str(fixed[1].crs)
    moving_crs = str(moving[1].crs)
    one_crs = same_crs(crs, moving_crs)

    # -- pixel sizes in the output CRS and the integer ratio
    fixed_res = (fixed_t[0], -fixed_t[4])
    moving_res = resolution_in(moving[1], moving[0].shape[1:], crs, one_crs)
    if resample == "hsi":
        measured = (moving_res[0] / fixed_res[0], moving_res[1] / fixed_res[1])
    else:
        measured = (fixed_res[0] / moving_res[0], fixed_res[1] / moving_res[1])
    n = integer_ratio(measured, ratio, hsi_meta, msi_meta, reprojected=not one_crs)

    # -- the LR grid, counted in fixed pixels from the fixed origin: LR pixel j starts at fixed column
    #    kx + j * m (m = n fixed pixels per LR pixel with resample="hsi", 1 with resample="msi")
    hsi_bounds = bounds_in(hsi_meta, y.shape[1:], crs, one_crs or resample == "msi")
    msi_bounds = bounds_in(msi_meta, z.shape[1:], crs, one_crs or resample == "hsi")
    fa, fc, fe, ff = fixed_t[0], fixed_t[2], fixed_t[4], fixed_t[5]
    m = n if resample == "hsi" else 1
    kx = ky = 0
    ux, uy = origin_in(moving[1], crs, one_crs)
    if resample == "hsi":  # the block phase nearest to the HSI's own origin
        kx, ky = round((ux - fc) / fa), round((uy - ff) / fe)
    left, bottom = max(hsi_bounds[0], msi_bounds[0]), max(hsi_bounds[1], msi_bounds[1])
    right, top = min(hsi_bounds[2], msi_bounds[2]), min(hsi_bounds[3], msi_bounds[3])
    j0 = math.ceil(((left - fc) / fa - kx) / m - OFFSET_ATOL_PX)
    j1 = math.floor(((right - fc) / fa - kx) / m + OFFSET_ATOL_PX)
    i0 = math.ceil(((top - ff) / fe - ky) / m - OFFSET_ATOL_PX)
    i1 = math.floor(((bottom - ff) / fe - ky) / m + OFFSET_ATOL_PX)
    if j1 <= j0 or i1 <= i0:
        overlap = "do not overlap" if right <= left or top <= bottom else "share no whole HSI pixel"
        raise InputError(
            f"the HSI and MSI {overlap} (HSI bounds {bounds_text(hsi_bounds)}, MSI bounds "
            f"{bounds_text(msi_bounds)} in {crs_label(crs)}, left bottom right top); give images of the same area"
        )
    ox, oy = fc + (kx + j0 * m) * fa, ff + (ky + i0 * m) * fe
    if resample == "hsi":
        lr_t, hr_t = (n * fa, 0.0, ox, 0.0, n * fe, oy), (fa, 0.0, ox, 0.0, fe, oy)
    else:
        lr_t, hr_t = (fa, 0.0, ox, 0.0, fe, oy), (fa / n, 0.0, ox, 0.0, fe / n, oy)
    lr_shape, hr_shape = (i1 - i0, j1 - j0), ((i1 - i0) * n, (j1 - j0) * n)
    fixed_out_t, fixed_shape = (hr_t, hr_shape) if resample == "hsi" else (lr_t, lr_shape)
    moving_out_t, moving_shape = (lr_t, lr_shape) if resample == "hsi" else (hr_t, hr_shape)

    # -- the fixed image: a slice; the moving one: a slice when its grid already nests, else a warp
    fixed_cut = cut(fixed[0], fixed[2], fixed_t, fixed_out_t, fixed_shape)
    assert fixed_cut is not None  # the output grid is a sub-grid of the fixed one by construction
    f_cube, f_valid, f_win = fixed_cut
    moving_t = moving[1].transform
    assert moving_t is not None
    args = (moving[0], moving[2], moving_t, moving_out_t, moving_shape)
    sliced = cut(*args) if one_crs else None
    resampled: str | None = None if sliced is not None else resample
    if method == "auto":
        reproject = AUTO_REPROJECT_METHOD if resample == "hsi" else "bilinear"
        method = "nearest" if one_crs and same_step(moving_t, moving_out_t) else reproject
    if sliced is None and method == "nearest" and one_crs:
        sliced = cut(*args, snap=True)  # a whole-pixel copy: the residual shift is left to the PSF
    m_win: Window | None
    if sliced is not None:
        m_cube, m_valid, m_win = sliced
    else:
        kernel = "bilinear" if method == "guided" else method
        m_cube, m_valid = warp(moving[0], moving[2], moving[1], moving_out_t, moving_shape, crs, kernel)
        if method == "guided":
            m_cube, m_valid = guided_hsi((m_cube, m_valid), moving, fixed, (f_cube, f_valid), moving_out_t, crs, n)
        m_win = None
    shift = (0.0, 0.0)
    if resampled is not None:
        shift = (frac((ux - moving_out_t[2]) / moving_out_t[0]), frac((moving_out_t[5] - uy) / -moving_out_t[4]))

    def out_meta(meta: RasterMeta, t: tuple[float, ...], warped: bool) -> RasterMeta:
        return meta.replace(crs=crs, transform=t, nodata=math.nan if warped else meta.nodata)

    f_meta = out_meta(fixed[1], fixed_out_t, False)
    m_meta = out_meta(moving[1], moving_out_t, sliced is None)
    record = AlignmentRecord(
        crs=crs,
        resampled=resampled,
        method=method,
        ratio=n,
        pixel_ratio=(float(measured[0]), float(measured[1])),
        ground_ratio=ground_ratio(measured),
        reprojected_from=None if one_crs else moving_crs,
        hsi_window=m_win if resample == "hsi" else f_win,
        msi_window=f_win if resample == "hsi" else m_win,
        shift_px=shift,
        psf_size=None if resampled is None else n + 2,
    )
    if resample == "hsi":
        return AlignedPair(m_cube, m_meta, f_cube, f_meta, m_valid, f_valid, n, record)
    return AlignedPair(f_cube, f_meta, m_cube, m_meta, f_valid, m_valid, n, record)


def align_files(
    hsi_spec: str | Path,
    msi_spec: str | Path,
    out_hsi: str | Path,
    out_msi: str | Path,
    *,
    overwrite: bool = False,
    **options: Any,
) -> AlignedPair:
    """Read a pair, :func:`align_pair` it (``options``: ratio, resample, method) and write both cubes.

    Invalid pixels are written as the file's nodata (NaN when the input had none). Outputs are
    written with :func:`pfs2c2.io.write_cube` (GeoTIFF for ``.tif``), the HSI first.

    Returns:
        The :class:`AlignedPair` that was written.
    """
    hsi, hsi_meta = read_cube(str(hsi_spec))
    msi, msi_meta = read_cube(str(msi_spec))
    pair = align_pair(hsi, hsi_meta, msi, msi_meta, **options)
    for path, cube, meta, valid in (
        (out_hsi, pair.hsi, pair.hsi_meta, pair.hsi_valid),
        (out_msi, pair.msi, pair.msi_meta, pair.msi_valid),
    ):
        if not valid.all():
            fill = math.nan if meta.nodata is None else meta.nodata
            cube = cube.copy()
            cube[:, ~valid] = fill
            meta = meta.replace(nodata=fill)
        write_cube(path, cube, meta, overwrite=overwrite)
    return pair
