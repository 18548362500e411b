"""Memory: size strings, the memory model of a tile task and of a run, and the tile size a budget allows.

Memory
    :func:`estimate_task_memory` models the peak resident memory of one tile task above the process
    baseline as ``a + P * (b * C + d * c + e)`` bytes (``P`` HR pixels of the tile, ``C``/``c`` HSI/MSI
    bands), fitted on measured peaks (``benchmarks/large_scene.py --calibrate``) and raised above all
    of them; :func:`estimate_run_memory` adds the process baselines (the driver, and each Dask worker)
    and :func:`choose_tile_size` picks the largest tile for which the driver plus ``workers``
    concurrent tasks fit a budget (``--max-memory``). Nothing else grows with the scene: tasks read
    only their windows (GDAL block cache capped at :data:`~pfs2c2.tiling.sources.READ_GDAL_CACHE_BYTES`),
    the driver saves each result and drops it, and the output is assembled and written in
    :data:`~pfs2c2.tiling.job.ASSEMBLY_BLOCK`-sided blocks (``.mat`` and ``.h5`` outputs excepted: their
    libraries write whole arrays). Disk: the work directory holds the weighted part of every tile, a
    little more than the output in float32.
"""

from __future__ import annotations

import re

from ..errors import InputError

# --- memory model (bytes); see estimate_task_memory and benchmarks/large_scene.py --calibrate -------
#: Resident memory of a process that has imported torch, pfs2c2 and GDAL and run one small fusion, plus
#: GDAL's block caches (measured: 316 MiB for a bare fusion process, 380-390 MiB for a Dask worker,
#: 450-480 MiB for the `pfs2c2 fuse` driver reading and writing GeoTIFFs).
PROCESS_BASE_BYTES = 512 * 2**20
#: Extra resident memory of a driver running a Dask LocalCluster (scheduler, nannies, resource tracker).
DASK_DRIVER_BYTES = 64 * 2**20
#: Fixed part of a tile task's peak above the process baseline.
TASK_FIXED_BYTES = 100 * 2**20
#: Peak bytes per HR pixel and HSI band of a tile task.
TASK_BYTES_PER_PIXEL_BAND = 22.0
#: Peak bytes per HR pixel and MSI band.
TASK_BYTES_PER_PIXEL_MSI_BAND = 8.0
#: Peak bytes per HR pixel independent of the bands (SpeUp's hidden layers, masks).
TASK_BYTES_PER_PIXEL = 150.0


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


def estimate_task_memory(hr_pixels: int, hsi_bands: int, msi_bands: int) -> int:
    """Peak resident bytes of one tile task (read + fuse + result) above the process baseline.

    The model is ``TASK_FIXED_BYTES + P * (TASK_BYTES_PER_PIXEL_BAND * C + TASK_BYTES_PER_PIXEL_MSI_BAND * c
    + TASK_BYTES_PER_PIXEL)`` (100 MiB + P * (22 C + 8 c + 150) bytes); the same holds for an untiled
    :func:`~pfs2c2.fusion.fuse` of ``P`` HR pixels. Fitted on the peaks of blind tile tasks measured by
    ``benchmarks/large_scene.py --calibrate`` (HR sides 128-1024, 31-200 HSI bands; least squares gives
    68 MiB + P * (18.6 C + 145)) and raised to lie above every measurement (by 5-200%; most at 10-25%).
    """
    per_pixel = TASK_BYTES_PER_PIXEL_BAND * hsi_bands + TASK_BYTES_PER_PIXEL_MSI_BAND * msi_bands + TASK_BYTES_PER_PIXEL
    return int(TASK_FIXED_BYTES + hr_pixels * per_pixel)


def estimate_run_memory(tile_hr_pixels: int, hsi_bands: int, msi_bands: int, workers: int = 0) -> int:
    """Peak resident bytes of a whole run: the driver plus ``workers`` concurrent tasks (0 = in-process).

    In-process the driver runs the tasks itself; with ``workers`` Dask worker processes each holds a
    process baseline, one task and its pickled result, and the driver a baseline, the Dask client and
    a result being received. Assembling the output runs after the tasks and holds a few
    :data:`ASSEMBLY_BLOCK`-sided blocks (far less than one task).
    """
    task = estimate_task_memory(tile_hr_pixels, hsi_bands, msi_bands)
    if workers <= 0:
        return PROCESS_BASE_BYTES + task
    result = 4 * hsi_bands * tile_hr_pixels  # a tile's float32 result, pickled by the worker, received by the driver
    return PROCESS_BASE_BYTES + DASK_DRIVER_BYTES + 2 * result + workers * (PROCESS_BASE_BYTES + task + result)


def choose_tile_size(
    budget: int,
    lr_shape: tuple[int, int],
    ratio: int,
    hsi_bands: int,
    msi_bands: int,
    *,
    workers: int = 0,
    overlap: int,
    label: str | None = None,
) -> int:
    """The largest tile side (LR pixels, overlap included) whose run fits ``budget`` bytes.

    Returns the longer scene side when the whole scene fits in one tile.

    Raises:
        InputError: when even the smallest tile (``2 * overlap``) does not fit.
    """
    h, w = lr_shape
    smallest = min(2 * overlap, max(h, w))

    def fits(t: int) -> bool:
        pixels = min(t, h) * min(t, w) * ratio * ratio
        return estimate_run_memory(pixels, hsi_bands, msi_bands, workers) <= budget

    if not fits(smallest):
        need = estimate_run_memory(min(smallest, h) * min(smallest, w) * ratio**2, hsi_bands, msi_bands, workers)
        who, fewer = (f" for {workers} workers", " or use fewer workers") if workers else ("", "")
        raise InputError(
            f"--max-memory {label or format_bytes(budget)} is too small{who}: the smallest tile ({smallest} LR pixels, "
            f"twice the overlap) needs about {format_bytes(need)}; raise --max-memory{fewer}"
        )
    lo, hi = smallest, max(h, w)
    while lo < hi:  # largest t with fits(t); fits is monotone in t
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo
