"""Scene-scale fusion: learn once from a sample of the scene, then stream the fused cube to a file.

:func:`fuse_scene` draws the training sample (:func:`~.sample.draw_sample`: LR patches with their HR
windows, by windows, so the scene never has to fit in memory), trains the method on it exactly as
:func:`pfs2c2.fuse` trains on a whole image (same stages, ensemble, checkpoints), and then writes
SpeUp(MSI) plus the residual step block by block (:func:`~.stream.stream_to_file`). Training costs
the same for any scene size; the output is one pass over the pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import PsfConvention, check_psf, check_streamable_residual, infer_ratio
from ..config import FusionConfig, RunOptions, learned_psf_size
from ..fusion import RunResult, fuse_with_trainers
from ..io import RasterMeta, open_cube
from .model import FusionModel
from .sample import draw_sample
from .stream import stream_to_file
from .windows import Cube, cube_shape

__all__ = ["SceneResult", "fuse_scene"]

DEFAULT_SAMPLE_PIXELS = 4096
"""LR pixels in the training sample by default (64 x 64; the nine standard cases have 144-1024)."""


@dataclass
class SceneResult(RunResult):
    """What :func:`fuse_scene` returns: a :class:`~pfs2c2.fusion.RunResult` plus where the cube went.

    Attributes:
        path: the written fused cube.
        shape: its ``(C, H, W)``.
        sample: the training sample: ``lr_pixels`` (in the losses), ``patches``, ``patch`` (LR side),
            ``ring`` (halo ring, LR pixels), ``whole`` (the sample is the whole scene).
    """

    path: Path = field(kw_only=True)
    shape: tuple[int, int, int] = field(kw_only=True)
    sample: dict[str, Any] = field(default_factory=dict, kw_only=True)


def fuse_scene(
    lr_hsi: Cube | str | Path,
    hr_msi: Cube | str | Path,
    out_path: str | Path,
    *,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    srf_support: Any = None,
    psf_convention: PsfConvention = "auto",
    hsi_valid: np.ndarray | None = None,
    msi_valid: np.ndarray | None = None,
    meta: RasterMeta | None = None,
    config: FusionConfig | None = None,
    run: RunOptions | None = None,
    sample_pixels: int = DEFAULT_SAMPLE_PIXELS,
    patch: int = 16,
    block_lr: int = 64,
    overwrite: bool = False,
    resumable: bool = False,
) -> SceneResult:
    """Fuse a whole scene from files (or arrays) into ``out_path``, training on a sample of it.

    Args:
        lr_hsi, hr_msi: ``(C, h, w)`` LR-HSI and ``(c, h r, w r)`` HR-MSI: paths (opened with
            :func:`pfs2c2.io.open_cube`), :class:`~pfs2c2.io.CubeReader` s or arrays.
        out_path: the fused cube (GeoTIFF, ENVI or ``.npy``: written block by block, atomically).
        ratio, srf, psf, srf_support, psf_convention: as in :func:`pfs2c2.fuse`.
        hsi_valid, msi_valid: ``(h, w)`` / ``(H, W)`` valid pixels (default: finite, not the file's
            nodata; see :func:`~.windows.read_window`).
        meta: metadata of the output (CRS, transform, wavelengths); default none.
        config, run: the method's settings and how to run it, as in :func:`pfs2c2.fuse`.
        sample_pixels: training budget in LR pixels (the sample is the whole scene below it, and then
            the result equals :func:`pfs2c2.fuse` on the whole scene up to float rounding).
        patch: LR side of the sampled patches.
        block_lr: LR side of the blocks the output is computed and written in (memory follows it).
        overwrite: replace an existing ``out_path``.
        resumable: keep a killed output write's partial file, and continue it when the same models
            (the same inputs and settings; with ``run.checkpoint`` training resumes too) write it again.

    Raises:
        InputError: as :func:`pfs2c2.fuse`, or a residual step that cannot be streamed
            (``residual_upsampling="psf"``).
    """
    t0 = time.perf_counter()
    cfg = config or FusionConfig()
    run = run or RunOptions()
    if cfg.residual_correction:
        check_streamable_residual(cfg.residual_upsampling)
    y = open_cube(lr_hsi) if isinstance(lr_hsi, (str, Path)) else lr_hsi
    z = open_cube(hr_msi) if isinstance(hr_msi, (str, Path)) else hr_msi
    r = infer_ratio(y.shape, z.shape, ratio)
    known_psf = None if psf is None else check_psf(psf, r, sum_to_one=True, convention=psf_convention)
    psf_size = learned_psf_size(cfg.psf_size, r) if known_psf is None else known_psf.shape[0]
    sample = draw_sample(
        y,
        z,
        r,
        lr_pixels=sample_pixels,
        patch=patch,
        psf_size=psf_size,
        hsi_valid=hsi_valid,
        msi_valid=msi_valid,
        seed=cfg.seed,
    )
    drawn = time.perf_counter()
    result, trainers = fuse_with_trainers(
        sample.lr_hsi,
        sample.hr_msi,
        ratio=r,
        srf=srf,
        psf=known_psf,
        psf_convention="combined",
        srf_support=srf_support,
        hsi_mask=sample.hsi_valid,
        msi_mask=sample.msi_valid,
        mask_nonfinite=True,
        config=cfg,
        run=run,
    )
    models = [FusionModel.from_trainer(t) for t in trainers]
    del trainers
    trained = time.perf_counter()
    key = None
    if resumable:
        key = "+".join(m.fingerprint() for m in models) + f"/{cube_shape(y)}/{cube_shape(z)}"
    path = stream_to_file(
        models,
        y,
        z,
        out_path,
        meta,
        block_lr=block_lr,
        hsi_valid=hsi_valid,
        msi_valid=msi_valid,
        overwrite=overwrite,
        resume_key=key,
    )
    done = time.perf_counter()
    timings = {
        **result.timings,
        "sample": drawn - t0,
        "training": trained - drawn,
        "inference": done - trained,
        "total": done - t0,
    }
    _, h, w = cube_shape(z)
    return SceneResult(
        psf=result.psf,
        srf=result.srf,
        srf_gain=result.srf_gain,
        ratio=r,
        history=result.history,
        timings=timings,
        config=cfg,
        device=result.device,
        psf_learned=result.psf_learned,
        srf_learned=result.srf_learned,
        path=path,
        shape=(models[0].bands, h, w),
        sample={
            "lr_pixels": sample.lr_pixels,
            "patches": len(sample.origins),
            "patch": sample.patch,
            "ring": sample.ring,
            "whole": sample.whole,
        },
    )
