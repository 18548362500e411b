"""Memory: the memory model of a tile task and of a run, and the tile size a budget allows.

Size strings (``--max-memory 4GB``) are read by :func:`pfs2c2._checks.parse_memory` (re-exported by
:mod:`pfs2c2.tiling`).

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

from .._checks import check_memory_budget

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

    need = estimate_run_memory(min(smallest, h) * min(smallest, w) * ratio**2, hsi_bands, msi_bands, workers)
    check_memory_budget(need, budget, smallest=smallest, workers=workers, label=label)
    lo, hi = smallest, max(h, w)
    while lo < hi:  # largest t with fits(t); fits is monotone in t
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo
