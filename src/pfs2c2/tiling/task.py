"""The task a worker runs: read one tile's windows, fuse them (or learn the operators), return the kept part.

Tasks carry file paths, windows, the configuration and the small operators, never the pixels of a file;
results go back to the driver, the only writer (:mod:`pfs2c2.tiling.job`). Operator estimation runs
stage 2 alone on a few sample tiles; :func:`combine_operators` averages what they learned.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_sample_tiles_with_data
from ..config import FusionConfig, RunOptions, StageConfig
from ..errors import InputError
from .plan import Tile
from .sources import CubeSource

#: A tile with fewer valid LR pixels than this (times the MSI bands + 1) is left as nodata.
MIN_VALID_PER_PARAMETER = 2


@dataclass
class TileTask:
    """Everything one tile task needs: sources and windows, never pixels of a file.

    ``operators_only`` runs the blind operator estimation (stage 2 only) on the tile instead of fusing it.
    """

    scene: str
    tile: Tile
    hsi: CubeSource
    msi: CubeSource
    ratio: int
    config: FusionConfig
    psf: np.ndarray | None = None
    srf: np.ndarray | None = None
    srf_support: np.ndarray | None = None
    hsi_nodata: float | None = None
    msi_nodata: float | None = None
    saturation: float | None = None
    mask_nonfinite: bool = False
    threads: int | None = None
    device: str = "auto"
    operators_only: bool = False


@dataclass
class TileResult:
    """What a tile task sends back to the driver (the only writer).

    Attributes:
        fused: ``(C, kh, kw)`` float32 over ``tile.keep`` (None for operator estimation).
        psf, srf, srf_gain: the operators the tile used or learned (None for a tile without data).
        history, timings: from :func:`~pfs2c2.fusion.fuse`.
        seconds: wall time of the task (read + fuse), worker: ``host:pid``, threads: torch threads.
        valid_lr_pixels: LR pixels with data in both images (0: the tile was left as nodata).
    """

    fused: np.ndarray | None
    psf: np.ndarray | None
    srf: np.ndarray | None
    srf_gain: np.ndarray | None
    history: list[dict[str, Any]]
    timings: dict[str, float]
    seconds: float
    worker: str
    threads: int
    valid_lr_pixels: int


def operator_config(config: FusionConfig) -> FusionConfig:
    """``config`` with stages 1 and 3 switched off and a single run (no ensemble): the blind run then
    only learns the PSF and SRF."""
    return dataclasses.replace(
        config, ensemble=1, stage1=StageConfig(0, config.stage1.lr, 0), stage3=StageConfig(0, config.stage3.lr, 0)
    )


_ALLOCATOR_TUNED = False


def _undo_malloc_trim() -> None:
    """Give glibc's allocator back its usual thresholds in a process started with ``MALLOC_TRIM_THRESHOLD_``.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` for its workers; glibc then also freezes the mmap
    threshold at 128 KiB, so every tensor above that is mapped and unmapped at each iteration and a tile
    trains 6-8x slower. Our LocalCluster does not set it; on a cluster that does (``--scheduler``), the
    first task of each worker sets the thresholds glibc would reach by itself (mmap 32 MiB, trim 64 MiB).
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    _ALLOCATOR_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 * 2**20)
        libc.mallopt(m_trim_threshold, 64 * 2**20)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def run_tile(task: TileTask) -> TileResult:
    """Read the tile's windows, fuse them (or learn the operators), return the kept part.

    Runs in a worker process or in the driver. Sets torch's thread count first (Dask workers start with
    one thread).
    """
    import torch

    from ..fusion import fuse
    from ..masks import block_all, valid_pixels

    start = time.perf_counter()
    _undo_malloc_trim()
    if task.threads:
        torch.set_num_threads(task.threads)
    r = task.ratio
    r0, c0, h, w = task.tile.lr
    y = task.hsi.read((r0, c0, h, w))
    z = task.msi.read((r0 * r, c0 * r, h * r, w * r))
    hsi_mask = valid_pixels(y, task.hsi_nodata, task.saturation)
    msi_mask = valid_pixels(z, task.msi_nodata, task.saturation)
    valid = int((hsi_mask & block_all(msi_mask, r)).sum())
    worker = f"{socket.gethostname()}:{os.getpid()}"
    kr, kc, kh, kw = task.tile.keep
    if valid < MIN_VALID_PER_PARAMETER * (z.shape[0] + 1):
        fused = None if task.operators_only else np.full((y.shape[0], kh, kw), np.nan, np.float32)
        return TileResult(
            fused, None, None, None, [], {}, time.perf_counter() - start, worker, torch.get_num_threads(), 0
        )
    cfg = operator_config(task.config) if task.operators_only else task.config
    try:
        result = fuse(
            y,
            z,
            ratio=r,
            srf=task.srf,
            psf=task.psf,
            srf_support=task.srf_support,
            hsi_mask=hsi_mask,
            msi_mask=msi_mask,
            mask_nonfinite=task.mask_nonfinite,
            config=cfg,
            run=RunOptions(device=task.device),
        )
    except ValueError as exc:  # say which tile: a per-tile check (e.g. a constant band) fails one tile
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"tile {task.tile.index + 1} (LR rows {r0}:{r0 + h}, cols {c0}:{c0 + w}): {message}") from None
    fused = None
    if not task.operators_only:
        oy, ox = kr - r0 * r, kc - c0 * r
        fused = np.ascontiguousarray(result.fused[:, oy : oy + kh, ox : ox + kw])
    del y, z
    return TileResult(
        fused,
        result.psf,
        result.srf,
        result.srf_gain,
        result.history,
        result.timings,
        time.perf_counter() - start,
        worker,
        torch.get_num_threads(),
        valid,
    )


def combine_operators(results: Sequence[TileResult]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean PSF (renormalised) and mean SRF in input units over the tiles that had data.

    Returns ``(psf (k, k), srf (C, c) columns summing to 1, srf_gain (c,))``.
    """
    # a tile with data returns all three operators, a tile without data none
    psfs = [r.psf for r in results if r.psf is not None]
    fulls = [r.srf * r.srf_gain[None, :] for r in results if r.srf is not None and r.srf_gain is not None]
    check_sample_tiles_with_data(len(psfs))
    psf = np.mean(psfs, axis=0)
    full = np.mean(fulls, axis=0)
    gain = full.sum(0)
    return psf / psf.sum(), full / gain, gain
