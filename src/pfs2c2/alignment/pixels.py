"""Pixels of an alignment: validity, whole-pixel cuts, GDAL warps with their validity, the MSI-guided HSI."""

from __future__ import annotations

import numpy as np

from .._checks import OFFSET_ATOL_PX
from ..errors import InputError
from ..io import RasterMeta
from ..masks import block_all, valid_pixels
from .grid import Window

RES_RTOL = 1e-6
COVERAGE_ATOL = 1e-3
PAD = 4  # invalid border added around the source validity (wider than any kernel's reach)


def same_step(src_t: tuple[float, ...], dst_t: tuple[float, ...]) -> bool:
    """Both grids north-up with the same pixel steps."""
    a, b, _, d, e, _ = src_t
    return b == 0 and d == 0 and abs(a - dst_t[0]) <= RES_RTOL * abs(a) and abs(e - dst_t[4]) <= RES_RTOL * abs(e)


def cut(
    cube: np.ndarray,
    valid: np.ndarray,
    src_t: tuple[float, ...],
    dst_t: tuple[float, ...],
    shape: tuple[int, int],
    snap: bool = False,
) -> tuple[np.ndarray, np.ndarray, Window] | None:
    """The destination grid cut out of the source when it is the same grid up to a whole-pixel offset
    (with ``snap``: up to any offset, rounded to whole pixels)."""
    if not same_step(src_t, dst_t):
        return None
    a, e = src_t[0], src_t[4]
    col, row = (dst_t[2] - src_t[2]) / a, (dst_t[5] - src_t[5]) / e
    c0, r0 = round(col), round(row)
    if not snap and (abs(col - c0) > OFFSET_ATOL_PX or abs(row - r0) > OFFSET_ATOL_PX):
        return None
    h, w = shape
    H, W = cube.shape[1:]
    if r0 >= 0 and c0 >= 0 and r0 + h <= H and c0 + w <= W:
        sl = (slice(r0, r0 + h), slice(c0, c0 + w))
        return np.array(cube[:, sl[0], sl[1]], dtype=np.float32), valid[sl].copy(), (r0, c0, h, w)
    out = np.full((cube.shape[0], h, w), np.nan, dtype=np.float32)
    out_valid = np.zeros((h, w), dtype=bool)
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + h, H), min(c0 + w, W)
    if re > rs and ce > cs:
        out[:, rs - r0 : re - r0, cs - c0 : ce - c0] = cube[:, rs:re, cs:ce]
        out_valid[rs - r0 : re - r0, cs - c0 : ce - c0] = valid[rs:re, cs:ce]
    return out, out_valid, (r0, c0, h, w)


def input_valid(cube: np.ndarray, meta: RasterMeta, mask: np.ndarray | None, name: str) -> np.ndarray:
    """:func:`pfs2c2.masks.valid_pixels` (finite, not all zero, not nodata) and the given mask."""
    valid = valid_pixels(cube, meta.nodata)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != cube.shape[1:]:
            raise InputError(f"{name} has shape {m.shape}; expected the image size {cube.shape[1:]}")
        valid &= m.astype(bool)
    return np.asarray(valid)


def warp(
    cube: np.ndarray,
    valid: np.ndarray,
    meta: RasterMeta,
    dst_t: tuple[float, ...],
    shape: tuple[int, int],
    crs: str,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp a cube and its validity onto a destination grid; pixels touched by invalid ones are invalid."""
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    kernel = Resampling[method]
    src = np.array(cube, dtype=np.float32)
    src[:, ~valid] = np.nan
    dst = np.full((cube.shape[0], *shape), np.nan, dtype=np.float32)
    src_t, dst_a = Affine(*meta.transform), Affine(*dst_t)  # type: ignore[misc]
    common = {"dst_transform": dst_a, "dst_crs": crs, "resampling": kernel, "num_threads": 1}
    reproject(src, dst, src_transform=src_t, src_crs=meta.crs, src_nodata=np.nan, dst_nodata=np.nan, **common)
    padded = np.zeros((valid.shape[0] + 2 * PAD, valid.shape[1] + 2 * PAD), dtype=np.float32)
    padded[PAD:-PAD, PAD:-PAD] = valid
    cover = np.zeros(shape, dtype=np.float32)
    pad_t = src_t @ Affine.translation(-PAD, -PAD)
    reproject(padded, cover, src_transform=pad_t, src_crs=meta.crs, src_nodata=None, dst_nodata=None, **common)
    ok = (np.abs(cover - 1.0) <= COVERAGE_ATOL) & np.all(np.isfinite(dst), axis=0)
    dst[:, ~ok] = np.nan
    return dst, ok


Image = tuple[np.ndarray, RasterMeta, np.ndarray]  # cube, metadata, validity


def guided_hsi(
    warped: tuple[np.ndarray, np.ndarray],
    hsi: Image,
    msi: Image,
    msi_out: tuple[np.ndarray, np.ndarray],
    lr_t: tuple[float, ...],
    crs: str,
    ratio: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Correct a bilinearly warped HSI ``(C, h, w)`` with the MSI's interpolation error.

    An LR pixel integrates its footprint, and interpolating between such integrals of a detailed
    scene misses the integral over the new footprint. The MSI shows that miss: averaged onto the HSI's
    own grid and interpolated the same way, it differs from its ``ratio x ratio`` block means on the
    new grid by its interpolation error. Mapped to the HSI bands by a least-squares affine map fitted
    between the MSI averaged on the HSI grid and the HSI, that error is added:
    ``HSI' = interp(HSI) + A (blocks(MSI) - interp(average(MSI -> HSI grid)))``.

    Args:
        warped: The bilinearly warped HSI on the new LR grid and its validity.
        hsi / msi: The input images (cube, metadata, validity).
        msi_out: The MSI cut to the new HR grid ``(c, ratio h, ratio w)`` and its validity.
        lr_t: Transform of the new LR grid (in ``crs``).
        crs: CRS of the new grids.
        ratio: Integer ratio.

    Returns:
        The corrected HSI (NaN where invalid) and its validity (also False where the MSI is invalid).
    """
    y, ym, yv = hsi
    z, zm, zv = msi
    assert ym.transform is not None
    z_src, z_src_valid = warp(z, zv, zm, ym.transform, y.shape[1:], str(ym.crs), "average")
    out, out_valid = warped
    z_int, z_int_valid = warp(z_src, z_src_valid, ym, lr_t, out.shape[1:], crs, "bilinear")
    zc, zc_valid = msi_out
    c, hh, ww = zc.shape
    z_blk = zc.reshape(c, hh // ratio, ratio, ww // ratio, ratio).mean(axis=(2, 4), dtype=np.float64)
    fit = yv & z_src_valid
    if fit.sum() <= 2 * (c + 1):  # too few pixels to fit the band map: keep the bilinear HSI
        return out, out_valid
    design = np.concatenate([z_src[:, fit].T.astype(np.float64), np.ones((int(fit.sum()), 1))], axis=1)
    band_map = np.linalg.lstsq(design, y[:, fit].T.astype(np.float64), rcond=None)[0][:-1]  # (c, C)
    valid = out_valid & z_int_valid & block_all(zc_valid, ratio)
    corrected = (out + np.einsum("kyx,kc->cyx", np.nan_to_num(z_blk - z_int), band_map)).astype(np.float32)
    corrected[:, ~valid] = np.nan
    return corrected, valid
