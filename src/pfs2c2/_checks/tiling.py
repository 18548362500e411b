"""Checks of the tiled run's options (:mod:`pfs2c2.tiling`): memory sizes, tile plan, executors, data.

:func:`parse_memory` reads a memory size such as ``"4GB"`` (the coercion and its refusals);
:func:`format_bytes` writes one back for messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:  # the config layer sits above this one: no import at run time
    from ..config import RunOptions

__all__ = [
    "check_tiled_residual",
    "parse_memory",
    "format_bytes",
    "check_memory_budget",
    "check_overlap",
    "check_tile_size",
    "check_tile_plan",
    "check_blend_ramp",
    "check_sample_count",
    "check_tiled_run_options",
    "check_executor_options",
    "check_workers",
    "check_input_kinds",
    "check_work_dir_run",
    "check_tiles_with_data",
    "check_sample_tiles_with_data",
]

_UNITS = {
    "": None,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}


def parse_memory(text: str | int | float) -> int:
    """Bytes from a size such as ``"4GB"``, ``"4 GiB"``, ``"512MB"``, ``"1.5G"``.

    Decimal units (kB, MB, GB, TB; also k, M, G, T) are powers of 1000, binary units (KiB, MiB, GiB,
    TiB) powers of 1024, as in Dask. A bare number is refused (it is almost always a forgotten unit).

    Raises:
        InputError: one line naming the bad value and the expected form.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text <= 0:
            raise InputError(f"memory size must be positive, got {text}")
        return int(text)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise InputError(f"cannot read memory size {text!r}; write a number and a unit, e.g. 4GB, 512MB or 2GiB")
    factor = _UNITS[unit]
    if factor is None:
        raise InputError(f"memory size {text!r} has no unit; write e.g. {text}GB or {text}MB")
    value = float(match.group(1)) * factor
    if value < 1:
        raise InputError(f"memory size must be positive, got {text!r}")
    return int(value)


def format_bytes(n: float) -> str:
    """``1536 * 2**20`` -> ``"1.5 GiB"``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def check_memory_budget(need: int, budget: int, *, smallest: int, workers: int = 0, label: str | None = None) -> None:
    """Refuse a ``budget`` (bytes; ``label`` is how the user wrote it) below the ``need`` (bytes) of a run
    with the ``smallest`` tile (LR pixels, twice the overlap) and ``workers`` workers.

    Raises:
        InputError: ``"--max-memory ... is too small ..."`` naming the need.
    """
    if need > budget:
        who, fewer = (f" for {workers} workers", " or use fewer workers") if workers else ("", "")
        raise InputError(
            f"--max-memory {label or format_bytes(budget)} is too small{who}: the smallest tile ({smallest} LR pixels, "
            f"twice the overlap) needs about {format_bytes(need)}; raise --max-memory{fewer}"
        )


def _positive_int(value: Any) -> bool:
    return not (isinstance(value, bool) or int(value) != value or value < 1)


def check_overlap(overlap: Any) -> int:
    """The tile overlap (LR pixels) as an ``int``: a positive integer.

    Raises:
        InputError: ``"--overlap must be a positive number of LR pixels, ..."``.
    """
    if not _positive_int(overlap):
        raise InputError(f"--overlap must be a positive number of LR pixels, got {overlap!r}")
    return int(overlap)


def check_tile_size(tile_size: Any) -> int:
    """The tile side (LR pixels) as an ``int``: a positive integer.

    Raises:
        InputError: ``"--tile-size must be a positive number of LR pixels, ..."``.
    """
    if not _positive_int(tile_size):
        raise InputError(f"--tile-size must be a positive number of LR pixels, got {tile_size!r}")
    return int(tile_size)


def check_tile_plan(lr_shape: tuple[int, int], tile_size: int, overlap: int, margin: int) -> None:
    """Refuse an ``overlap`` not above twice the ``margin`` and a ``tile_size`` below twice the overlap
    (unless one tile holds the ``(h, w)`` scene); all in LR pixels.

    Raises:
        InputError: naming the smallest accepted value.
    """
    h, w = lr_shape
    if overlap <= 2 * margin:
        raise InputError(
            f"overlap {overlap} LR pixels is too small: it must exceed twice the margin ({margin} LR pixels: PSF reach "
            f"beyond its block + residual upsampling), i.e. be at least {2 * margin + 1}"
        )
    if tile_size < 2 * overlap and tile_size < max(h, w):
        raise InputError(
            f"--tile-size {tile_size} is too small for an overlap of {overlap} LR pixels (PSF reach + receptive field "
            f"+ blend): use at least {2 * overlap}, or a smaller --overlap"
        )


def check_blend_ramp(lo: int, hi: int, *, shared: int, margin: int) -> None:
    """Refuse a blend ramp ``[lo, hi)`` (HR pixels) that is empty: neighbours sharing ``shared`` LR pixels,
    not more than twice the ``margin``.

    Raises:
        InputError: asking for a larger ``--overlap``.
    """
    if hi <= lo:
        raise InputError(
            f"tiles overlap by {shared} LR pixels, not more than twice the margin {margin}; use a larger --overlap"
        )


def check_sample_count(sample_count: int) -> None:
    """Refuse fewer than one sample tile (for the shared operators).

    Raises:
        InputError: ``"sample_count must be >= 1, ..."``.
    """
    if sample_count < 1:
        raise InputError(f"sample_count must be >= 1, got {sample_count}")


def check_tiled_residual(residual_upsampling: str) -> None:
    """Refuse the residual step through the learned PSF in tiled runs: its back-projection reaches
    further than the tile margin allows for, so tiles would show seams.

    Raises:
        InputError: naming the two ways out.
    """
    if residual_upsampling != "bicubic":
        raise InputError(
            f"residual_upsampling={residual_upsampling!r} is not supported in tiled runs yet (it reaches further "
            "than the tile overlap); use residual_upsampling='bicubic' or fuse the scene untiled"
        )


def check_tiled_run_options(run: RunOptions) -> None:
    """Refuse the :class:`~pfs2c2.RunOptions` a tiled run does not use: ``callback``, ``checkpoint``,
    ``resume``, ``keep_checkpoint`` (finished tiles are kept in the work directory instead).

    Raises:
        InputError: naming the options and what to use instead.
    """
    unused = [name for name in ("callback", "checkpoint") if getattr(run, name) is not None]
    unused += [name for name in ("resume", "keep_checkpoint") if getattr(run, name)]
    if unused:
        raise InputError(
            f"tiled fusion does not use RunOptions {', '.join(unused)}: finished tiles are kept in the work "
            "directory (fuse_tiled(resume=True) continues a run); report progress with fuse_tiled(callback=...)"
        )


def check_workers(workers: int | None) -> int:
    """``workers`` when it is a positive integer.

    Raises:
        InputError: ``"--workers must be a positive number, ..."``.
    """
    if workers is None or not _positive_int(workers):
        raise InputError(f"--workers must be a positive number, got {workers!r}")
    return workers


def check_executor_options(workers: int | None, scheduler: str | None) -> None:
    """Refuse ``workers`` together with ``scheduler``, and a worker count that is not a positive integer.

    Raises:
        InputError: "give --workers ... or --scheduler ..., not both" / "--workers must be a positive number".
    """
    if workers is not None and scheduler is not None:
        raise InputError("give --workers (a new local cluster) or --scheduler (an existing one), not both")
    if workers is not None:
        check_workers(workers)


def check_input_kinds(hsi_is_file: bool, msi_is_file: bool) -> None:
    """Refuse one input given as a file and the other as an array.

    Raises:
        InputError: ``"give both inputs as files or both as arrays"``.
    """
    if hsi_is_file != msi_is_file:
        raise InputError("give both inputs as files or both as arrays")


def check_work_dir_run(work_dir: Path, saved: Mapping[str, Any], fingerprint: Mapping[str, Any]) -> None:
    """Refuse to resume in ``work_dir``, whose ``plan.json`` holds ``saved``, a run described by ``fingerprint``.

    Raises:
        InputError: naming the keys that differ.
    """
    if saved != fingerprint:
        diff = sorted(k for k in set(saved) | set(fingerprint) if saved.get(k) != fingerprint.get(k))
        raise InputError(
            f"work directory {work_dir} belongs to a run with other {', '.join(diff)}; "
            "rerun with the same settings, or pass --overwrite (without --resume) to start over"
        )


def check_tiles_with_data(valid_counts: Iterable[int]) -> None:
    """Refuse a finished run whose tiles (``valid_counts``: valid LR pixels per tile) all had no valid data.

    Raises:
        InputError: check the nodata values and that the images overlap.
    """
    counts = list(valid_counts)
    if counts and all(count == 0 for count in counts):
        raise InputError("no tile has valid data in both images; check the nodata values and that the images overlap")


def check_sample_tiles_with_data(tiles_with_data: int) -> None:
    """Refuse shared operators learned from no sample tile (``tiles_with_data`` is 0).

    Raises:
        InputError: check the nodata values.
    """
    if not tiles_with_data:
        raise InputError(
            "no sample tile has valid data in both images to learn the PSF and SRF from; check the nodata values"
        )


TRAINING_MODES = ("auto", "whole", "sample", "tiles")
"""The values of ``pfs2c2 fuse --training``."""


def check_sample_memory(need: int, budget: int, *, smallest: int, label: str) -> None:
    """Refuse a ``--max-memory`` (``label``) below the ``need`` (bytes) of a sampled run streaming its
    output in blocks of ``smallest`` LR pixels.

    Raises:
        InputError: ``"--max-memory ... is too small ..."`` naming the need.
    """
    if need > budget:
        raise InputError(
            f"{label} is too small: training on a sample and writing blocks of {smallest} LR pixels needs "
            f"about {format_bytes(need)}; raise --max-memory"
        )


def check_training_mode(training: str, *, tiled: bool, whole_only: list[str]) -> None:
    """Refuse a ``--training`` mode that the other options contradict.

    ``tiled``: per-tile options were given; ``whole_only``: options or inputs only the whole-scene path has.

    Raises:
        InputError: one line naming the conflict and the fix.
    """
    if training not in TRAINING_MODES:
        raise InputError(f"--training must be one of {', '.join(TRAINING_MODES)}, got {training!r}")
    if training in ("whole", "sample") and tiled:
        raise InputError(
            f"--training {training} does not train per tile: drop --tile-size/--workers/--scheduler/--overlap/"
            "--per-tile-operators, or use --training tiles"
        )
    if training in ("sample", "tiles") and whole_only:
        raise InputError(f"{', '.join(whole_only)} need the whole scene in memory: drop them or use --training whole")


def check_sample_options(*, saturation: float | None) -> None:
    """Refuse the options a sampled run does not apply (``--saturation``: whole-scene runs only).

    Raises:
        InputError: one line naming the fix.
    """
    if saturation is not None:
        raise InputError("--saturation is applied by whole-scene runs only: add --training whole")
