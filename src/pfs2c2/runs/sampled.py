"""Sampled runs from file specs: when a run trains on a sample of the scene, its memory plan, and the run.

``pfs2c2 fuse`` trains on the whole scene when it is small (at most ``--sample-pixels`` LR pixels),
and otherwise on a sample drawn over it (:func:`pfs2c2.scene.fuse_scene`): the modules are learned once
from a fixed number of LR pixels and the output is streamed block by block. Per-tile training
(:mod:`pfs2c2.tiling`) stays available with ``--training tiles`` / ``--tile-size``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._checks import check_sample_memory, check_training_mode, check_untiled_inputs
from .inputs import Operators, Warn, _warn, output_meta, resolve_operators

if TYPE_CHECKING:
    from ..config import FusionConfig, RunOptions
    from ..scene import SceneResult
    from ..tiling import SceneInputs

Training = Literal["auto", "whole", "sample", "tiles"]
"""How ``pfs2c2 fuse`` trains: on the whole scene, on a sample of it, tile by tile, or chosen (auto)."""

BLOCK_SIDES = (256, 128, 64, 32, 16)
"""LR block sides the output may be streamed in, largest first (64 when no budget is given)."""
DEFAULT_BLOCK_LR = 64


@dataclass(frozen=True)
class SamplePlan:
    """The memory plan of a sampled run: the sample size and the output block side.

    Attributes:
        sample_pixels: LR pixels in the training sample.
        block_lr: LR side of the output blocks.
        peak_bytes: modelled peak resident memory (process baseline + the larger of training and a block).
    """

    sample_pixels: int
    block_lr: int
    peak_bytes: int


def plan_sample(
    ratio: int, hsi_bands: int, msi_bands: int, *, sample_pixels: int, max_memory: str | None = None
) -> SamplePlan:
    """The sample size and output block side that fit ``max_memory`` (e.g. ``"4GB"``; None = no bound).

    Training on ``n`` LR pixels costs about what an untiled fusion of ``n * ratio**2`` HR pixels does,
    and a block of side ``b`` (plus a halo of 4 LR pixels) what a tile task of that size does
    (:func:`pfs2c2.tiling.estimate_task_memory`, fitted on measured peaks). With a budget the block is
    the largest of :data:`BLOCK_SIDES` that fits and the sample shrinks to fit.

    Raises:
        InputError: the budget cannot hold the smallest block, or a malformed size string.
    """
    from ..tiling import PROCESS_BASE_BYTES, estimate_task_memory, parse_memory

    def block_bytes(b: int) -> int:
        return estimate_task_memory(((b + 4) * ratio) ** 2, hsi_bands, msi_bands)

    def train_bytes(n: int) -> int:
        return estimate_task_memory(n * ratio**2, hsi_bands, msi_bands)

    if max_memory is None:
        block = DEFAULT_BLOCK_LR
        return SamplePlan(
            sample_pixels, block, PROCESS_BASE_BYTES + max(train_bytes(sample_pixels), block_bytes(block))
        )
    budget = parse_memory(max_memory)
    smallest = BLOCK_SIDES[-1]
    need = PROCESS_BASE_BYTES + max(block_bytes(smallest), train_bytes(min(sample_pixels, smallest**2)))
    check_sample_memory(need, budget, smallest=smallest, label=f"--max-memory {max_memory}")
    block = next(b for b in BLOCK_SIDES if PROCESS_BASE_BYTES + block_bytes(b) <= budget)
    n = sample_pixels
    while n > smallest**2 and PROCESS_BASE_BYTES + train_bytes(n) > budget:
        n //= 2
    return SamplePlan(n, block, PROCESS_BASE_BYTES + max(train_bytes(n), block_bytes(block)))


def choose_training(
    training: str,
    scene: SceneInputs | None,
    *,
    sample_pixels: int,
    tiled: bool,
    whole_only: list[str],
) -> Literal["whole", "sample", "tiles"]:
    """Resolve ``--training``.

    Args:
        training: "auto", "whole", "sample" or "tiles".
        scene: the pair described from its headers (None when it could not be, e.g. products).
        sample_pixels: the sample budget in LR pixels.
        tiled: per-tile options were given (``--tile-size``, ``--workers``, ``--scheduler``, ``--overlap``,
            ``--per-tile-operators``).
        whole_only: the options or inputs in use that only the whole-scene path has (products,
            ``--align``, ``--validate``, ...), named for messages.

    "auto": tiles with per-tile options; the whole scene with ``whole_only`` options or when the scene
    has at most ``sample_pixels`` LR pixels (training on it all is then what sampling would do);
    else a sample.

    Raises:
        InputError: a mode that contradicts the options (e.g. ``sample`` with ``--tile-size``).
    """
    check_training_mode(training, tiled=tiled, whole_only=whole_only)
    if training != "auto":
        return training  # type: ignore[return-value]  # checked above
    if tiled:
        return "tiles"
    if whole_only or scene is None:
        return "whole"
    h, w = scene.lr_shape
    return "sample" if h * w > sample_pixels else "whole"


def whole_only_inputs(hsi_spec: str, msi_spec: str, extras: dict[str, Any], validate: bool) -> list[str]:
    """The inputs and options in use that only the whole-scene path has, named for messages."""
    from ..products import detect_product

    names = [n for n in (detect_product(s) for s in (hsi_spec, msi_spec) if Path(s).exists()) if n]
    what = [f"product inputs ({', '.join(names)})"] if names else []
    what += [f"--{k.replace('_', '-')}" for k in ("align", "out_bands", "rgb") if extras[k]]
    return what + (["--validate"] if validate else [])


def training_mode(
    training: str,
    hsi_spec: str,
    msi_spec: str,
    ratio: int | None,
    *,
    sample_pixels: int,
    extras: dict[str, Any],
    validate: bool,
    tiling: dict[str, Any],
) -> tuple[str, SceneInputs | None]:
    """``--training`` resolved to "whole", "sample" or "tiles", and the pair described from its headers
    (for a sampled run).

    A whole-scene run that ``--max-memory`` says would not fit is sampled (tiled when it has per-tile
    options, refused for products and --align, which need the whole scene).
    """
    from ..errors import InputError
    from ..tiling import estimate_run_memory, open_scene, parse_memory

    per_tile = any(tiling[k] is not None for k in ("tile_size", "workers", "scheduler", "overlap"))
    per_tile = per_tile or bool(tiling["per_tile_operators"])
    whole_only = whole_only_inputs(hsi_spec, msi_spec, extras, validate)
    if training == "tiles" or (training == "auto" and per_tile):
        return "tiles", None
    if whole_only and tiling["max_memory"] is not None:
        check_untiled_inputs(True, whole_only)  # products / --align refuse a memory budget
    scene = None
    if not whole_only:
        try:
            scene = open_scene(hsi_spec, msi_spec, ratio)
        except (InputError, OSError):
            if training == "sample":
                raise
            return "whole", None  # the whole-scene path reads the pair and says what is wrong (or how to align)
    mode = choose_training(training, scene, sample_pixels=sample_pixels, tiled=per_tile, whole_only=whole_only)
    if mode == "whole" and scene is not None and tiling["max_memory"] is not None and training == "auto":
        H, W = scene.hr_shape
        if estimate_run_memory(H * W, scene.hsi_bands, scene.msi_bands) > parse_memory(tiling["max_memory"]):
            mode = "sample"
    return mode, scene


def fuse_sampled(
    scene: SceneInputs,
    out: Path,
    specs: dict[str, Any],
    *,
    config: FusionConfig,
    run: RunOptions,
    plan: SamplePlan,
    overwrite: bool = False,
    warn: Warn | None = None,
) -> tuple[SceneResult, Operators]:
    """Fuse a pair of files by sampling: operators from the metadata and ``specs`` (as
    :func:`resolve_operators`), training on the sample, the output streamed to ``out`` (resumable).

    Returns the :class:`pfs2c2.scene.SceneResult` and the resolved operators.
    """
    from ..io import open_cube
    from ..scene import CubeWindow, fuse_scene

    ops = resolve_operators(
        scene.hsi_meta, scene.msi_meta, scene.hsi_bands, **specs, ratio=scene.ratio, warn=warn or _warn
    )
    meta = output_meta(scene.hsi_meta, scene.msi_meta, ops.wavelengths)
    assert scene.hsi.spec is not None and scene.msi.spec is not None  # a described pair of files
    hsi = CubeWindow(open_cube(scene.hsi.spec), scene.hsi.offset, scene.lr_shape)
    msi = CubeWindow(open_cube(scene.msi.spec), scene.msi.offset, scene.hr_shape)
    result = fuse_scene(
        hsi,
        msi,
        out,
        ratio=scene.ratio,
        srf=ops.srf,
        psf=ops.psf,
        srf_support=ops.srf_support,
        psf_convention="combined" if ops.psf is not None else "auto",
        meta=meta,
        config=config,
        run=run,
        sample_pixels=plan.sample_pixels,
        block_lr=plan.block_lr,
        overwrite=overwrite,
        resumable=True,
    )
    return result, ops
