"""Streaming inference: a trained :class:`~.model.FusionModel` applied block by block with a halo, so
that the written cube equals the whole-image pass (``Trainer.fused``) up to float rounding while the
memory follows the block size."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_ratio_shapes, check_streamable_residual
from ..io import RasterMeta, open_cube_writer
from ..masks import block_all
from ..physics import bicubic_upsample_tensor, blur_downsample_window
from .model import FusionModel
from .windows import read_window

BlockWriter = Callable[[int, int, np.ndarray], None]
"""``write_block(row_off, col_off, block)``: receives each fused HR block ``(C, hb, wb)`` float32."""

_CUBIC_HALO = 2  # LR pixels the bicubic kernel reaches beyond a block


@dataclass(frozen=True)
class _Windows:
    """The windows one LR block needs: the HR-MSI with the blur halo and the LR-HSI with the bicubic halo.

    ``z (c, ., .)`` covers HR rows ``[cy0, cy1)`` / cols ``[cx0, cx1)`` (clipped to the scene; the
    missing halo ``pads`` is mirrored), ``y (C, ., .)`` LR rows ``[a0, a1)`` / cols ``[b0, b1)``.
    """

    z: np.ndarray
    z_valid: np.ndarray
    y: np.ndarray | None
    y_valid: np.ndarray | None
    hr: tuple[int, int, int, int]  # cy0, cy1, cx0, cx1
    lr: tuple[int, int, int, int]  # a0, a1, b0, b1
    pads: tuple[int, int, int, int]  # left, right, top, bottom (F.pad order)


def _read_windows(
    lr_hsi: Any,
    hr_msi: Any,
    hsi_valid: np.ndarray | None,
    msi_valid: np.ndarray | None,
    lr_rows: tuple[int, int],
    lr_cols: tuple[int, int],
    ratio: int,
    blur_halo: int | None,
) -> _Windows:
    """Read the windows of LR rows/cols ``[i0, i1) x [j0, j1)``; ``blur_halo`` HR pixels (None = no
    residual step: no halo, no LR-HSI)."""
    r = ratio
    h, w = lr_hsi.shape[-2:]
    p = blur_halo or 0
    halo = _CUBIC_HALO if blur_halo is not None else 0
    # LR window with the bicubic halo (edge-clamped at the scene border by F.interpolate itself)
    a0, a1 = max(0, lr_rows[0] - halo), min(h, lr_rows[1] + halo)
    b0, b1 = max(0, lr_cols[0] - halo), min(w, lr_cols[1] + halo)
    # HR window with the blur halo, clipped to the scene; mirrored where it was clipped
    y0, y1, x0, x1 = a0 * r - p, a1 * r + p, b0 * r - p, b1 * r + p
    cy0, cy1, cx0, cx1 = max(0, y0), min(h * r, y1), max(0, x0), min(w * r, x1)
    z, z_valid = read_window(hr_msi, msi_valid, slice(cy0, cy1), slice(cx0, cx1))
    y = y_valid = None
    if blur_halo is not None:
        y, y_valid = read_window(lr_hsi, hsi_valid, slice(a0, a1), slice(b0, b1))
    pads = (cx0 - x0, x1 - cx1, cy0 - y0, y1 - cy1)
    return _Windows(z, z_valid, y, y_valid, (cy0, cy1, cx0, cx1), (a0, a1, b0, b1), pads)


@torch.no_grad()
def _block(model: FusionModel, win: _Windows, lr_rows: tuple[int, int], lr_cols: tuple[int, int]) -> torch.Tensor:
    """One model's fused HR block of LR rows/cols ``[i0, i1) x [j0, j1)``: ``(C, (i1-i0) r, (j1-j0) r)``
    in the model's normalised units (float32 tensor)."""
    r = model.ratio
    cy0, _, cx0, _ = win.hr
    a0, a1, b0, b1 = win.lr
    device = _device(model)
    zt = torch.from_numpy(np.where(win.z_valid, win.z, 0.0) / model.msi_scale).float()[None].to(device)
    out = model.spe_up(zt)  # (1, C, window) pixel-wise, so mirroring after SpeUp = mirroring the MSI
    # the block's own HR pixels inside the window
    oy, ox = lr_rows[0] * r - cy0, lr_cols[0] * r - cx0
    nh, nw = (lr_rows[1] - lr_rows[0]) * r, (lr_cols[1] - lr_cols[0]) * r
    fused = out[:, :, oy : oy + nh, ox : ox + nw]
    if model.residual_correction:
        assert win.y is not None and win.y_valid is not None
        # this model's blur halo inside the (possibly wider) window read for the largest PSF
        q = (model.psf.shape[-1] - r) // 2
        top, left = a0 * r - q - (cy0 - win.pads[2]), b0 * r - q - (cx0 - win.pads[0])
        padded = F.pad(out, win.pads, mode="reflect") if any(win.pads) else out
        span_y, span_x = (a1 - a0) * r + 2 * q, (b1 - b0) * r + 2 * q
        padded = padded[:, :, top : top + span_y, left : left + span_x]
        down = blur_downsample_window(padded, torch.from_numpy(model.psf).to(padded), r)
        yt = torch.from_numpy(np.where(win.y_valid, win.y, 0.0) / model.hsi_scale).float()[None].to(device)
        zin = win.z_valid[a0 * r - cy0 : a1 * r - cy0, b0 * r - cx0 : b1 * r - cx0]
        lr_valid = win.y_valid & block_all(zin, r)
        residual = (yt - down) * torch.from_numpy(lr_valid.astype(np.float32)).to(device)[None, None]
        up = bicubic_upsample_tensor(residual, r)
        uy, ux = (lr_rows[0] - a0) * r, (lr_cols[0] - b0) * r
        fused = fused + up[:, :, uy : uy + nh, ux : ux + nw]
    return fused[0] * model.hsi_scale


def _fused_block(
    models: Sequence[FusionModel],
    lr_hsi: Any,
    hr_msi: Any,
    hsi_valid: np.ndarray | None,
    msi_valid: np.ndarray | None,
    lr_rows: tuple[int, int],
    lr_cols: tuple[int, int],
) -> np.ndarray:
    """The mean of the models' fused blocks ``(C, hb, wb)`` float32 in input units, NaN where the MSI is
    not valid (the windows are read once for all models)."""
    r = models[0].ratio
    residual = models[0].residual_correction
    halo = max((m.psf.shape[-1] - r) // 2 for m in models) if residual else None
    win = _read_windows(lr_hsi, hr_msi, hsi_valid, msi_valid, lr_rows, lr_cols, r, halo)
    blocks = [_block(m, win, lr_rows, lr_cols) for m in models]
    if len(blocks) == 1:
        block = blocks[0].float().cpu().numpy()
    else:
        block = torch.stack([b.double() for b in blocks]).mean(0).float().cpu().numpy()
    oy, ox = lr_rows[0] * r - win.hr[0], lr_cols[0] * r - win.hr[2]
    own = win.z_valid[oy : oy + block.shape[1], ox : ox + block.shape[2]]
    block[:, ~own] = np.nan
    return block


Models = FusionModel | Sequence[FusionModel]
"""One trained model, or the runs of an ensemble (their fused blocks are averaged)."""


def _as_models(model: Models) -> list[FusionModel]:
    models = [model] if isinstance(model, FusionModel) else list(model)
    if not models:
        raise ValueError("stream_fused needs at least one model")
    for m in models:
        if m.residual_correction:
            check_streamable_residual(m.residual_upsampling)
    return models


def block_starts(lr_shape: tuple[int, ...], block_lr: int) -> list[tuple[int, int]]:
    """LR ``(row, col)`` of every block of side ``block_lr`` over an ``(..., h, w)`` grid, row-major."""
    h, w = lr_shape[-2:]
    return [(i0, j0) for i0 in range(0, h, block_lr) for j0 in range(0, w, block_lr)]


def stream_fused(
    model: Models,
    lr_hsi: Any,
    hr_msi: Any,
    write_block: BlockWriter,
    *,
    block_lr: int = 64,
    hsi_valid: np.ndarray | None = None,
    msi_valid: np.ndarray | None = None,
    skip: Callable[[int, int], bool] | None = None,
) -> None:
    """Fuse block by block: ``write_block(row_off, col_off, block)`` gets every HR block once.

    Args:
        model: a trained :class:`FusionModel` (frozen gate), or an ensemble's models (averaged).
        lr_hsi: ``(C, h, w)`` LR-HSI in input units: a :class:`~pfs2c2.io.CubeReader` (read by windows)
            or any array supporting ``[:, rows, cols]`` slicing (numpy array, ``np.memmap``).
        hr_msi: ``(c, h r, w r)`` HR-MSI, same kind.
        write_block: receives ``(row_off, col_off, (C, hb, wb) float32)``, HR offsets; NaN where the MSI
            is not valid.
        block_lr: LR pixels per block side (HR blocks are ``block_lr * ratio``).
        hsi_valid, msi_valid: ``(h, w)`` / ``(H, W)`` valid pixels (default: see
            :func:`~.windows.read_window`).
        skip: ``skip(row_off, col_off)`` (HR offsets) True for blocks already written (resumed output).

    Raises:
        InputError: ``residual_upsampling="psf"`` (global, not streamable), or the HR size is not the
            LR size times the ratio.
    """
    models = _as_models(model)
    r = models[0].ratio
    check_ratio_shapes(lr_hsi.shape, hr_msi.shape, r)
    h, w = lr_hsi.shape[-2:]
    for i0, j0 in block_starts(lr_hsi.shape, block_lr):
        if skip is not None and skip(i0 * r, j0 * r):
            continue
        rows, cols = (i0, min(h, i0 + block_lr)), (j0, min(w, j0 + block_lr))
        write_block(i0 * r, j0 * r, _fused_block(models, lr_hsi, hr_msi, hsi_valid, msi_valid, rows, cols))


def stream_to_file(
    model: Models,
    lr_hsi: Any,
    hr_msi: Any,
    out_path: str | Path,
    meta: RasterMeta | None = None,
    *,
    block_lr: int = 64,
    hsi_valid: np.ndarray | None = None,
    msi_valid: np.ndarray | None = None,
    overwrite: bool = False,
    resume_key: str | None = None,
) -> Path:
    """:func:`stream_fused` into a cube file (GeoTIFF, ENVI, ``.npy``; see :func:`pfs2c2.io.open_cube_writer`).

    Atomic: the file appears at ``out_path`` only when every block is written. NaN pixels are written
    as ``meta.nodata`` when it is a number. With ``resume_key`` (a fingerprint of the models and the
    inputs), an interrupted write keeps its partial file and a later call with the same key writes
    only the blocks still missing, ending with the same bytes. Returns the path.
    """
    models = _as_models(model)
    check_ratio_shapes(lr_hsi.shape, hr_msi.shape, models[0].ratio)
    shape = (models[0].bands, int(hr_msi.shape[-2]), int(hr_msi.shape[-1]))
    nodata = None if meta is None or meta.nodata is None or np.isnan(meta.nodata) else float(meta.nodata)
    key = None if resume_key is None else f"{resume_key}/block_lr={block_lr}"

    def write(r0: int, c0: int, block: np.ndarray) -> None:
        out.write(block if nodata is None else np.where(np.isnan(block), nodata, block), r0, c0)

    with open_cube_writer(out_path, shape, meta, overwrite=overwrite, resume_key=key) as out:
        stream_fused(
            models,
            lr_hsi,
            hr_msi,
            write,
            block_lr=block_lr,
            hsi_valid=hsi_valid,
            msi_valid=msi_valid,
            skip=out.done if key is not None else None,
        )
    return out.path


def _device(model: FusionModel) -> torch.device:
    return next(model.spe_up.parameters()).device
