"""Streaming inference: a trained :class:`~.model.FusionModel` applied block by block with a halo, so
that the written cube equals the whole-image pass (``Trainer.fused``) up to float rounding while the
memory follows the block size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_ratio_shapes, check_streamable_residual
from ..io import CubeReader, RasterMeta, open_cube_writer
from ..masks import block_all
from ..physics import bicubic_upsample_tensor, blur_downsample_window
from .model import FusionModel

BlockWriter = Callable[[int, int, np.ndarray], None]
"""``write_block(row_off, col_off, block)``: receives each fused HR block ``(C, hb, wb)`` float32."""

_CUBIC_HALO = 2  # LR pixels the bicubic kernel reaches beyond a block


def _valid(cube: Any, mask: np.ndarray | None, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    """Read ``cube[:, rows, cols]`` as float32 and its valid pixels: ``mask`` there (or everywhere)
    and finite in every band."""
    if isinstance(cube, CubeReader):
        window = (rows.start, cols.start, rows.stop - rows.start, cols.stop - cols.start)
        data = np.asarray(cube.read(window)[0], dtype=np.float32)
    else:
        data = np.asarray(cube[:, rows, cols], dtype=np.float32)
    valid = np.asarray(np.isfinite(data).all(axis=0))
    if mask is not None:
        valid &= np.asarray(mask[rows, cols], dtype=bool)
    return data, valid


@torch.no_grad()
def _block(
    model: FusionModel,
    lr_hsi: Any,
    hr_msi: Any,
    hsi_valid: np.ndarray | None,
    msi_valid: np.ndarray | None,
    lr_rows: tuple[int, int],
    lr_cols: tuple[int, int],
) -> np.ndarray:
    """The fused HR block of LR rows/cols ``[i0, i1) x [j0, j1)``: ``(C, (i1-i0) r, (j1-j0) r)``."""
    r = model.ratio
    h, w = lr_hsi.shape[-2:]
    hh, ww = h * r, w * r
    k = model.psf.shape[-1]
    p = (k - r) // 2 if model.residual_correction else 0
    halo = _CUBIC_HALO if model.residual_correction else 0
    # LR window with the bicubic halo (edge-clamped at the scene border by F.interpolate itself)
    a0, a1 = max(0, lr_rows[0] - halo), min(h, lr_rows[1] + halo)
    b0, b1 = max(0, lr_cols[0] - halo), min(w, lr_cols[1] + halo)
    # HR window with the blur halo, clipped to the scene; mirrored below where it was clipped
    y0, y1 = a0 * r - p, a1 * r + p
    x0, x1 = b0 * r - p, b1 * r + p
    cy0, cy1, cx0, cx1 = max(0, y0), min(hh, y1), max(0, x0), min(ww, x1)
    z, z_valid = _valid(hr_msi, msi_valid, slice(cy0, cy1), slice(cx0, cx1))
    device = _device(model)
    zt = torch.from_numpy(np.where(z_valid, z, 0.0) / model.msi_scale).float()[None].to(device)
    out = model.spe_up(zt)  # (1, C, window) pixel-wise, so mirroring after SpeUp = mirroring the MSI
    # the block's own HR pixels inside the window
    oy, ox = lr_rows[0] * r - cy0, lr_cols[0] * r - cx0
    nh, nw = (lr_rows[1] - lr_rows[0]) * r, (lr_cols[1] - lr_cols[0]) * r
    fused = out[:, :, oy : oy + nh, ox : ox + nw]
    if model.residual_correction:
        pads = (cx0 - x0, x1 - cx1, cy0 - y0, y1 - cy1)
        padded = F.pad(out, pads, mode="reflect") if any(pads) else out
        down = blur_downsample_window(padded, torch.from_numpy(model.psf).to(padded), r)
        y, y_valid = _valid(lr_hsi, hsi_valid, slice(a0, a1), slice(b0, b1))
        yt = torch.from_numpy(np.where(y_valid, y, 0.0) / model.hsi_scale).float()[None].to(device)
        zin = z_valid[a0 * r - cy0 : a1 * r - cy0, b0 * r - cx0 : b1 * r - cx0]
        lr_valid = y_valid & block_all(zin, r)
        residual = (yt - down) * torch.from_numpy(lr_valid.astype(np.float32)).to(device)[None, None]
        up = bicubic_upsample_tensor(residual, r)
        uy, ux = (lr_rows[0] - a0) * r, (lr_cols[0] - b0) * r
        fused = fused + up[:, :, uy : uy + nh, ux : ux + nw]
    block = (fused[0] * model.hsi_scale).float().cpu().numpy()
    own = z_valid[oy : oy + nh, ox : ox + nw]
    block[:, ~own] = np.nan
    return block


def stream_fused(
    model: FusionModel,
    lr_hsi: Any,
    hr_msi: Any,
    write_block: BlockWriter,
    *,
    block_lr: int = 64,
    hsi_valid: np.ndarray | None = None,
    msi_valid: np.ndarray | None = None,
) -> None:
    """Fuse block by block: ``write_block(row_off, col_off, block)`` gets every HR block once.

    Args:
        model: a trained :class:`FusionModel` (frozen gate).
        lr_hsi: ``(C, h, w)`` LR-HSI in input units: a :class:`~pfs2c2.io.CubeReader` (read by windows)
            or any array supporting ``[:, rows, cols]`` slicing (numpy array, ``np.memmap``).
        hr_msi: ``(c, h r, w r)`` HR-MSI, same kind.
        write_block: receives ``(row_off, col_off, (C, hb, wb) float32)``, HR offsets; NaN where the MSI
            is not valid.
        block_lr: LR pixels per block side (HR blocks are ``block_lr * ratio``).
        hsi_valid, msi_valid: ``(h, w)`` / ``(H, W)`` valid pixels (default: finite in every band).

    Raises:
        InputError: ``residual_upsampling="psf"`` (global, not streamable), or the HR size is not the
            LR size times the ratio.
    """
    if model.residual_correction:
        check_streamable_residual(model.residual_upsampling)
    check_ratio_shapes(lr_hsi.shape, hr_msi.shape, model.ratio)
    r = model.ratio
    h, w = lr_hsi.shape[-2:]
    for i0 in range(0, h, block_lr):
        for j0 in range(0, w, block_lr):
            rows, cols = (i0, min(h, i0 + block_lr)), (j0, min(w, j0 + block_lr))
            block = _block(model, lr_hsi, hr_msi, hsi_valid, msi_valid, rows, cols)
            write_block(i0 * r, j0 * r, block)


def stream_to_file(
    model: FusionModel,
    lr_hsi: Any,
    hr_msi: Any,
    out_path: str | Path,
    meta: RasterMeta | None = None,
    *,
    block_lr: int = 64,
    hsi_valid: np.ndarray | None = None,
    msi_valid: np.ndarray | None = None,
    overwrite: bool = False,
) -> Path:
    """:func:`stream_fused` into a cube file (GeoTIFF, ENVI, ``.npy``; see :func:`pfs2c2.io.open_cube_writer`).

    Atomic: the file appears at ``out_path`` only when every block is written. Returns the path.
    """
    if model.residual_correction:
        check_streamable_residual(model.residual_upsampling)
    check_ratio_shapes(lr_hsi.shape, hr_msi.shape, model.ratio)
    bands = int(model.spe_up(torch.zeros(1, hr_msi.shape[0], 1, 1, device=_device(model))).shape[1])
    shape = (bands, int(hr_msi.shape[-2]), int(hr_msi.shape[-1]))
    with open_cube_writer(out_path, shape, meta, overwrite=overwrite) as out:
        stream_fused(
            model,
            lr_hsi,
            hr_msi,
            lambda r0, c0, block: out.write(block, r0, c0),
            block_lr=block_lr,
            hsi_valid=hsi_valid,
            msi_valid=msi_valid,
        )
    return out.path


def _device(model: FusionModel) -> torch.device:
    return next(model.spe_up.parameters()).device
