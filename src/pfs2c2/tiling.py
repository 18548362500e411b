"""Tiled fusion: windows on the LR grid, overlap, feathered blending, bounded memory.

A large scene (e.g. a 1000x1000 PRISMA/EnMAP HSI fused with a 10 m MSI: a 3000x3000 cube of 200+ bands,
about 7 GB in float32) does not fit one :func:`pfs2c2.fusion.fuse` call. :func:`fuse_tiled` cuts it
into tiles, fuses each tile on its own (in this process, or on a Dask cluster through
:mod:`pfs2c2.distributed`), and blends the tiles into the output, so that peak memory depends on the
tile size, not on the scene.

Geometry
    Tiles are windows of ``tile_size`` x ``tile_size`` LR-HSI pixels, overlap included (smaller along an
    axis shorter than that), on a regular grid: along an axis of ``N`` LR pixels there are
    ``n = ceil((N - T) / (T - o)) + 1`` tiles whose starts are spread evenly from 0 to ``N - T``, so
    neighbours overlap by at least ``o`` LR pixels. The HR window of a tile is its LR window times the
    ratio: the MSI window covers exactly the ground of the HSI window (whole LR pixels). Window
    coordinates are scene coordinates, i.e. relative to the part of the files both images cover
    (:func:`pfs2c2.io.match_grids`).

Overlap (``o = 2 * margin + blend``, in LR pixels)
    An HR pixel of the fused cube depends on data around it through (a) the PSF, whose ``k x k`` kernel
    reaches ``(k - r) / 2`` HR pixels beyond its own LR block and reflect-pads the tile border, and
    (b) the residual correction, a bicubic upsampling of the LR residual (4 taps: 2 LR pixels each
    side). SpeUp itself is per pixel except its spectral attention, a global mean over the tile.
    So the outer ``margin = ceil((k - r) / (2 r)) + 2`` LR pixels along an interior tile border
    (``+ 0`` without residual correction) differ from what the whole scene would give: they get weight
    0. Across the remaining ``blend`` LR pixels of every overlap the weights ramp linearly from one tile
    to the other. That ramp also hides the other difference between tiles: each tile trains its own
    modules (with the spectral attention pooled over the tile), so neighbouring tiles differ slightly
    everywhere, not only near their borders. Default ``blend`` = :data:`DEFAULT_BLEND` LR pixels, so
    the default overlap is 8 LR pixels for a ratio x ratio PSF. On the real Pavia crop, 16 tiles of
    12x12 LR pixels (overlap 6) give 48.0 dB against 47.2 dB untiled with the same schedule (each tile
    fits its own local spectral map), and the error in the blend zones relative to the rest is the
    same as untiled (0.958 vs 0.956): no seams (docs/benchmarks.md, docs/tiling_seams.png).

Blending
    Weights are separable, ``w(y, x) = wy(y) * wx(x)``, and the ramps of two neighbours are exact
    complements over the same pixels, so the weights of all tiles sum to 1 at every HR pixel. Along a
    scene border a tile keeps weight 1 up to the edge (the untiled fusion has that border too). The
    output is ``sum(w * tile) / sum(w)``, assembled in blocks of :data:`ASSEMBLY_BLOCK` HR pixels from
    the finished tiles and written block by block (:func:`pfs2c2.io.writers.open_cube_writer`). Pixels
    that are NaN in a tile (MSI nodata) stay NaN, then the output's nodata value.

Operators (PSF and SRF) are properties of the scene, not of a tile
    Unless the user asks for ``per_tile_operators``, the unknown operators are learned once: a blind
    :func:`~pfs2c2.fusion.fuse` restricted to stage 2 (the stage that learns the degradations from
    ``|SpeDown(LR-HSI) - SpaDown(HR-MSI)|``; stages 1 and 3 get 0 iterations) runs on up to
    ``sample_tiles`` tiles spread over the scene (centre first); the PSFs are averaged (and
    renormalised) and so are the SRFs in input units (``srf * srf_gain``). Every tile then runs
    :func:`~pfs2c2.fusion.fuse` non-blind with these operators. On Pavia, stage 2 alone gives the same
    operators as the whole blind run (PSF error 2e-4 vs 2e-4, SRF error 0.016 vs 0.015) in 1/16 of the
    time. Operators the user gives are used as they are.

Memory
    :func:`estimate_task_memory` models the peak resident memory of one tile task above the process
    baseline as ``a + P * (b * C + d * c + e)`` bytes (``P`` HR pixels of the tile, ``C``/``c`` HSI/MSI
    bands), fitted on measured peaks (``benchmarks/large_scene.py --calibrate``) and raised above all
    of them; :func:`estimate_run_memory` adds the process baselines (the driver, and each Dask worker)
    and :func:`choose_tile_size` picks the largest tile for which the driver plus ``workers``
    concurrent tasks fit a budget (``--max-memory``). Nothing else grows with the scene: tasks read
    only their windows (GDAL block cache capped at :data:`READ_GDAL_CACHE_BYTES`), the driver saves
    each result and drops it, and the output is assembled and written in :data:`ASSEMBLY_BLOCK`-sided
    blocks (``.mat`` and ``.h5`` outputs excepted: their libraries write whole arrays). Disk: the work
    directory holds the weighted part of every tile, a little more than the output in float32.

Work directory and resume
    Finished tiles are kept in a work directory next to the output (``OUT.tiles/``): ``plan.json``
    (scene, plan, configuration: a resumed run must match it), ``operators.npz`` and one
    ``tile_NNNNNN.npy`` (+ ``.json`` with its timings and history) per finished tile, every file
    written under a temporary name and renamed. With ``resume`` finished tiles are not recomputed;
    without it an existing work directory is an error (pass resume, or overwrite to start over). The
    work directory is deleted once the output is written (atomically: temporary name, then
    ``os.replace``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import FusionConfig, StageConfig
from .errors import InputError
from .validation import check_known_psf, check_output_path, check_psf_size

Window = tuple[int, int, int, int]
"""``(row_off, col_off, height, width)``, the form :func:`pfs2c2.io.read_cube` takes."""

#: Reach of the residual correction (bicubic upsampling: 4 taps) in LR pixels on each side.
RESIDUAL_REACH_LR = 2
#: Default width, in LR pixels, of the linear ramp between two tiles.
DEFAULT_BLEND = 4
#: Side, in HR pixels, of the blocks in which the output is assembled and written (the GeoTIFF block).
ASSEMBLY_BLOCK = 256
#: GDAL block cache while a task reads its windows of a GeoTIFF / ENVI input.
READ_GDAL_CACHE_BYTES = 64 * 2**20
_RASTER_EXTENSIONS = (".tif", ".tiff", ".hdr", ".img", ".dat", ".bsq", ".bil", ".bip")
#: A tile with fewer valid LR pixels than this (times the MSI bands + 1) is left as nodata.
MIN_VALID_PER_PARAMETER = 2

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


# ==================================================================================================
# Memory strings, memory model, tile size
# ==================================================================================================
_UNITS = {"": None, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


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
    if _UNITS[unit] is None:
        raise InputError(f"memory size {text!r} has no unit; write e.g. {text}GB or {text}MB")
    value = float(match.group(1)) * _UNITS[unit]
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


# ==================================================================================================
# Overlap and the tile plan
# ==================================================================================================
def tile_margin(ratio: int, psf_size: int, residual_correction: bool = True) -> int:
    """LR pixels along an interior tile border that the tile's own border affects (weight 0 there).

    ``ceil((k - r) / (2 r))`` for the PSF's reach beyond its LR block plus :data:`RESIDUAL_REACH_LR`
    for the bicubic upsampling of the residual (when ``residual_correction``).
    """
    psf_reach = math.ceil(max(0, psf_size - ratio) / (2 * ratio))
    return psf_reach + (RESIDUAL_REACH_LR if residual_correction else 0)


def default_overlap(ratio: int, psf_size: int, residual_correction: bool = True, blend: int = DEFAULT_BLEND) -> int:
    """``2 * tile_margin(...) + blend`` LR pixels."""
    return 2 * tile_margin(ratio, psf_size, residual_correction) + blend


@dataclass(frozen=True)
class Tile:
    """One tile of a :class:`TilePlan`.

    Attributes:
        index: position in the plan (row-major over the tile grid).
        grid: ``(tile_row, tile_col)`` in the tile grid.
        lr: LR window ``(row_off, col_off, height, width)`` in scene coordinates.
        hr: the HR window of ``lr`` (times the ratio).
        keep: HR window where the tile's blending weight is positive (what the task returns).
    """

    index: int
    grid: tuple[int, int]
    lr: Window
    hr: Window
    keep: Window


def _axis_starts(n: int, size: int, overlap: int) -> list[int]:
    if size >= n:
        return [0]
    count = math.ceil((n - size) / (size - overlap)) + 1
    return sorted({int(round(v)) for v in np.linspace(0, n - size, count)})


def _axis_profiles(n: int, size: int, overlap: int, margin: int, ratio: int) -> list[tuple[int, int, np.ndarray]]:
    """For each tile along one axis: ``(start_lr, size_lr, weights)``, weights over the tile's HR pixels.

    The ramp between neighbours ``i`` and ``i + 1`` spans their HR overlap minus ``margin`` LR pixels
    at each end; the up-ramp of ``i + 1`` and the down-ramp of ``i`` are computed from the same numbers
    and sum to 1.
    """
    starts = _axis_starts(n, size, overlap)
    size = min(size, n)
    ramps = []  # (first HR pixel of the ramp, length in HR pixels) between tile i and i + 1
    for a, b in zip(starts[:-1], starts[1:]):
        lo, hi = (b + margin) * ratio, (a + size - margin) * ratio
        if hi <= lo:
            raise InputError(f"tiles overlap by {a + size - b} LR pixels, not more than twice the margin {margin}; use a larger --overlap")
        ramps.append((lo, hi - lo))
    out = []
    for i, s in enumerate(starts):
        pos = np.arange(s * ratio, (s + size) * ratio, dtype=np.float64) + 0.5
        weight = np.ones_like(pos)
        if i > 0:
            lo, length = ramps[i - 1]
            weight *= np.clip((pos - lo) / length, 0.0, 1.0)
        if i < len(starts) - 1:
            lo, length = ramps[i]
            weight *= np.clip((lo + length - pos) / length, 0.0, 1.0)
        out.append((s, size, weight))
    return out


@dataclass
class TilePlan:
    """Tiles covering an ``lr_shape`` scene at ``ratio``, with their blending weights.

    Build it with :func:`plan_tiles`.
    """

    lr_shape: tuple[int, int]
    ratio: int
    tile_size: int
    overlap: int
    margin: int
    tiles: list[Tile]
    _weights: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def hr_shape(self) -> tuple[int, int]:
        return self.lr_shape[0] * self.ratio, self.lr_shape[1] * self.ratio

    @property
    def grid_shape(self) -> tuple[int, int]:
        return max(t.grid[0] for t in self.tiles) + 1, max(t.grid[1] for t in self.tiles) + 1

    def weights(self, tile: Tile) -> tuple[np.ndarray, np.ndarray]:
        """``(wy, wx)``: float32 weights over the rows and columns of ``tile.keep`` (all positive)."""
        return self._weights[tile.index]

    def to_dict(self) -> dict[str, Any]:
        return {"lr_shape": list(self.lr_shape), "ratio": self.ratio, "tile_size": self.tile_size,
                "overlap": self.overlap, "margin": self.margin, "tiles": len(self.tiles)}


def plan_tiles(lr_shape: tuple[int, int], ratio: int, tile_size: int, overlap: int, margin: int) -> TilePlan:
    """Lay tiles of ``tile_size`` LR pixels (overlap included) over an ``lr_shape`` scene.

    Args:
        lr_shape: ``(h, w)`` of the LR-HSI (scene part).
        ratio: HR pixels per LR pixel.
        tile_size: tile side in LR pixels; a scene side not longer than it gets one tile.
        overlap: LR pixels shared by neighbours (at least; the starts are spread evenly).
        margin: LR pixels of weight 0 along interior tile borders (:func:`tile_margin`).

    Raises:
        InputError: a tile smaller than twice the overlap, an overlap not above twice the margin.
    """
    h, w = (int(v) for v in lr_shape)
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
    rows = _axis_profiles(h, tile_size, overlap, margin, ratio)
    cols = _axis_profiles(w, tile_size, overlap, margin, ratio)
    tiles, weights = [], {}
    for i, (r0, th, wy) in enumerate(rows):
        ky = np.flatnonzero(wy > 0)
        for j, (c0, tw, wx) in enumerate(cols):
            kx = np.flatnonzero(wx > 0)
            index = len(tiles)
            keep = (r0 * ratio + int(ky[0]), c0 * ratio + int(kx[0]), len(ky), len(kx))
            tiles.append(Tile(index, (i, j), (r0, c0, th, tw), (r0 * ratio, c0 * ratio, th * ratio, tw * ratio), keep))
            weights[index] = (wy[ky].astype(np.float32), wx[kx].astype(np.float32))
    return TilePlan((h, w), ratio, tile_size, overlap, margin, tiles, weights)


def sample_tiles(plan: TilePlan, count: int) -> list[Tile]:
    """Up to ``count`` tiles spread over the scene, the central one first (for operator estimation)."""
    gh, gw = plan.grid_shape
    by_grid = {t.grid: t for t in plan.tiles}
    spots = [(0.5, 0.5), (0.25, 0.25), (0.75, 0.75), (0.25, 0.75), (0.75, 0.25)]
    picked: list[Tile] = []
    for fy, fx in spots:
        tile = by_grid[(min(gh - 1, int(fy * gh)), min(gw - 1, int(fx * gw)))]
        if tile not in picked:
            picked.append(tile)
        if len(picked) == count:
            break
    return picked


# ==================================================================================================
# Inputs: files (read by window inside the task) or arrays
# ==================================================================================================
@dataclass(frozen=True)
class CubeSource:
    """Where a task reads one input from: a file spec (read by window) or an in-memory ``(C, H, W)`` array.

    ``offset`` shifts scene coordinates to file coordinates (the window :func:`pfs2c2.io.match_grids`
    found). Arrays are pickled into every task: use files for Dask clusters and large scenes.
    """

    spec: str | None = None
    array: np.ndarray | None = field(default=None, compare=False)
    offset: tuple[int, int] = (0, 0)

    def read(self, window: Window) -> np.ndarray:
        """Float32 ``(C, h, w)`` pixels of ``window`` (scene coordinates)."""
        r0, c0, h, w = window
        if self.array is not None:
            return np.ascontiguousarray(self.array[:, r0 : r0 + h, c0 : c0 + w], dtype=np.float32)
        from .io import read_cube

        window = (r0 + self.offset[0], c0 + self.offset[1], h, w)
        if Path(str(self.spec)).suffix.lower() in _RASTER_EXTENSIONS:
            import rasterio

            # GDAL's block cache defaults to 5% of RAM: keep a task's reads small
            with rasterio.Env(GDAL_CACHEMAX=READ_GDAL_CACHE_BYTES):
                return read_cube(self.spec, window=window)[0]
        return read_cube(self.spec, window=window)[0]

    def describe(self) -> dict[str, Any]:
        """Identity for the work directory's ``plan.json`` (path, size, mtime; or a hash of the array)."""
        if self.array is not None:
            digest = hashlib.sha1(np.ascontiguousarray(self.array).view(np.uint8)).hexdigest()
            return {"array": list(self.array.shape), "sha1": digest, "offset": list(self.offset)}
        from .io._common import split_spec

        path, var = split_spec(self.spec)
        stat = path.stat()
        return {"file": str(path.resolve()), "var": var, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "offset": list(self.offset)}


def cube_shape(spec: str) -> tuple[int, int, int]:
    """``(C, H, W)`` of a cube file, from its header where the format allows (else by reading it)."""
    from .io import readers
    from .io._common import split_spec

    path, var = split_spec(spec)
    readers.check_exists(path)
    try:
        kind = readers._cube_kind(path)
        if kind in ("tif", "envi"):
            import rasterio

            data = readers._envi_data_for_header(path) if kind == "envi" and path.suffix.lower() == ".hdr" else path
            with rasterio.open(data) as src:
                return src.count, src.height, src.width
        if kind == "npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            if arr.ndim == 3:
                return arr.shape[2], arr.shape[0], arr.shape[1]
        if kind == "h5":
            h5 = readers._H5(path)
            try:
                name = readers._select_variable(path, var, h5.shapes, want=3)
                ds = h5.f[name]
                layout = readers._h5_layout(ds)
                return tuple(ds.shape[layout.index(a)] for a in "CHW")  # type: ignore[return-value]
            finally:
                h5.close()
        if kind == "mat" and readers._mat_version(path) == 2:
            mat = readers._Mat73(path)
            try:
                shape = mat.shapes[readers._select_variable(path, var, mat.shapes, want=3)]
                if len(shape) == 3:
                    return shape[2], shape[0], shape[1]
            finally:
                mat.close()
    except (ImportError, AttributeError, KeyError, OSError, TypeError):  # pragma: no cover - fall back below
        pass
    cube, _ = readers.read_cube(spec)  # MATLAB v5 and anything unusual: read it once
    return cube.shape  # type: ignore[return-value]


@dataclass
class SceneInputs:
    """What a tiled run knows about its two inputs before reading pixels.

    Attributes:
        hsi, msi: the sources tasks read from.
        hsi_bands, msi_bands: C and c.
        lr_shape: ``(h, w)`` of the scene part both images cover.
        ratio: HR pixels per LR pixel.
        hsi_meta, msi_meta: metadata of the scene part (transform of its first pixel), or None for arrays.
    """

    hsi: CubeSource
    msi: CubeSource
    hsi_bands: int
    msi_bands: int
    lr_shape: tuple[int, int]
    ratio: int
    hsi_meta: Any = None
    msi_meta: Any = None

    @property
    def hr_shape(self) -> tuple[int, int]:
        return self.lr_shape[0] * self.ratio, self.lr_shape[1] * self.ratio


def open_scene(hsi: Any, msi: Any, ratio: int | None = None) -> SceneInputs:
    """Describe a pair of inputs without reading their pixels (files) or check array shapes.

    Args:
        hsi, msi: file specs (``str``/``Path``, any format :func:`pfs2c2.io.read_cube` reads) or
            ``(C, h, w)`` / ``(c, H, W)`` arrays.
        ratio: expected ratio (checked; default from the grids or the sizes).

    Raises:
        InputError / ValueError: grids that do not nest, sizes that are not a ratio apart, swapped inputs.
    """
    from .io import match_grids, read_cube

    if isinstance(hsi, (str, os.PathLike)) != isinstance(msi, (str, os.PathLike)):
        raise InputError("give both inputs as files or both as arrays")
    if isinstance(hsi, (str, os.PathLike)):
        hsi_spec, msi_spec = str(hsi), str(msi)
        (C, h, w), (c, H, W) = cube_shape(hsi_spec), cube_shape(msi_spec)
        hsi_meta = read_cube(hsi_spec, window=(0, 0, 1, 1))[1]
        msi_meta = read_cube(msi_spec, window=(0, 0, 1, 1))[1]
        grid = match_grids(hsi_meta, (h, w), msi_meta, (H, W), ratio)
        hw = grid.hsi_window or (0, 0, h, w)
        mw = grid.msi_window or (0, 0, H, W)
        if grid.hsi_window is not None:
            hsi_meta = read_cube(hsi_spec, window=(hw[0], hw[1], 1, 1))[1]
        if grid.msi_window is not None:
            msi_meta = read_cube(msi_spec, window=(mw[0], mw[1], 1, 1))[1]
        scene = SceneInputs(CubeSource(hsi_spec, offset=(hw[0], hw[1])), CubeSource(msi_spec, offset=(mw[0], mw[1])),
                            C, c, (hw[2], hw[3]), grid.ratio, hsi_meta, msi_meta)
    else:
        from .fusion import infer_ratio

        y, z = np.asarray(hsi), np.asarray(msi)
        if y.ndim != 3 or z.ndim != 3:
            raise InputError(f"LR-HSI and HR-MSI must be 3-D cubes (C, H, W), got shapes {y.shape} and {z.shape}")
        r = infer_ratio(y.shape, z.shape, ratio)
        scene = SceneInputs(CubeSource(array=y), CubeSource(array=z), y.shape[0], z.shape[0], y.shape[1:], r)  # type: ignore[arg-type]
    if scene.msi_bands >= scene.hsi_bands:
        raise InputError(
            f"the MSI has {scene.msi_bands} bands and the HSI {scene.hsi_bands}: the HSI must have more bands "
            "(are the two inputs swapped?)"
        )
    return scene


# ==================================================================================================
# The task a worker runs
# ==================================================================================================
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
    cfg = dataclasses.replace(config, ensemble=1)
    cfg.stage1 = StageConfig(0, config.stage1.lr, 0)
    cfg.stage3 = StageConfig(0, config.stage3.lr, 0)
    return cfg


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

    from .fusion import fuse
    from .masks import block_all, valid_pixels

    start = time.perf_counter()
    _undo_malloc_trim()
    threads = task.threads or task.config.threads
    if threads:
        torch.set_num_threads(threads)
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
        return TileResult(fused, None, None, None, [], {}, time.perf_counter() - start, worker, torch.get_num_threads(), 0)
    cfg = operator_config(task.config) if task.operators_only else task.config
    try:
        result = fuse(y, z, r, srf=task.srf, psf=task.psf, config=cfg, srf_support=task.srf_support,
                      hsi_mask=hsi_mask, msi_mask=msi_mask, mask_nonfinite=task.mask_nonfinite)
    except ValueError as exc:  # say which tile: a per-tile check (e.g. a constant band) fails one tile
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"tile {task.tile.index + 1} (LR rows {r0}:{r0 + h}, cols {c0}:{c0 + w}): {message}") from None
    fused = None
    if not task.operators_only:
        oy, ox = kr - r0 * r, kc - c0 * r
        fused = np.ascontiguousarray(result.fused[:, oy : oy + kh, ox : ox + kw])
    del y, z
    return TileResult(fused, result.psf, result.srf, result.srf_gain, result.history, result.timings,
                      time.perf_counter() - start, worker, torch.get_num_threads(), valid)


def combine_operators(results: Sequence[TileResult]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean PSF (renormalised) and mean SRF in input units over the tiles that had data.

    Returns ``(psf (k, k), srf (C, c) columns summing to 1, srf_gain (c,))``.
    """
    usable = [r for r in results if r.psf is not None]
    if not usable:
        raise InputError("no sample tile has valid data in both images to learn the PSF and SRF from; check the nodata values")
    psf = np.mean([r.psf for r in usable], axis=0)
    full = np.mean([r.srf * r.srf_gain[None, :] for r in usable], axis=0)
    gain = full.sum(0)
    return psf / psf.sum(), full / gain, gain


# ==================================================================================================
# Work directory
# ==================================================================================================
def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    from .io import atomic_write

    atomic_write(path, write)


class TileStore:
    """The work directory of a tiled run (``OUT.tiles/``): plan, operators and finished tiles.

    Every file is written to a temporary name and renamed, so a crash never leaves a half tile; a tile
    is finished when its ``tile_NNNNNN.npy`` exists.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.dir = Path(directory)

    def open(self, fingerprint: dict[str, Any], *, resume: bool, overwrite: bool) -> set[int]:
        """Create the directory, or reuse it with ``resume``; return the indices of finished tiles.

        Raises:
            FileExistsError: the directory exists and neither ``resume`` nor ``overwrite`` is set.
            InputError: ``resume`` with a directory made for other inputs or settings.
        """
        fingerprint = json.loads(json.dumps(fingerprint))
        plan_file = self.dir / "plan.json"
        if self.dir.is_dir() and not any(self.dir.iterdir()):
            self.dir.rmdir()  # an empty directory (e.g. a fresh temporary one) holds nothing to resume
        if self.dir.exists():
            if resume and plan_file.exists():
                saved = json.loads(plan_file.read_text())
                if saved != fingerprint:
                    diff = sorted(k for k in set(saved) | set(fingerprint) if saved.get(k) != fingerprint.get(k))
                    raise InputError(
                        f"work directory {self.dir} belongs to a run with other {', '.join(diff)}; "
                        "rerun with the same settings, or pass --overwrite (without --resume) to start over"
                    )
                return self.done()
            if not resume and not overwrite:
                raise FileExistsError(
                    f"{self.dir} holds the tiles of an interrupted run; pass --resume to continue it or --overwrite to start over"
                )
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        _atomic(plan_file, lambda tmp: tmp.write_text(json.dumps(fingerprint, indent=1)))
        return set()

    def tile_path(self, index: int) -> Path:
        return self.dir / f"tile_{index:06d}.npy"

    def done(self) -> set[int]:
        return {int(p.stem[5:]) for p in self.dir.glob("tile_*.npy")}

    def save_tile(self, index: int, fused: np.ndarray, info: dict[str, Any]) -> None:
        _atomic(self.dir / f"tile_{index:06d}.json", lambda tmp: tmp.write_text(json.dumps(info)))
        _atomic(self.tile_path(index), lambda tmp: np.save(tmp, fused, allow_pickle=False))

    def tile_info(self, index: int) -> dict[str, Any]:
        path = self.dir / f"tile_{index:06d}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def save_operators(self, psf: np.ndarray, srf: np.ndarray, gain: np.ndarray, sources: list[int]) -> None:
        _atomic(self.dir / "operators.npz", lambda tmp: np.savez(tmp, psf=psf, srf=srf, srf_gain=gain, sources=np.asarray(sources)))

    def load_operators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]] | None:
        path = self.dir / "operators.npz"
        if not path.exists():
            return None
        with np.load(path) as data:
            return data["psf"], data["srf"], data["srf_gain"], [int(v) for v in data["sources"]]

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# ==================================================================================================
# Assembly
# ==================================================================================================
def assemble(
    plan: TilePlan,
    read_tile: Callable[[Tile], np.ndarray],
    write_block: Callable[[np.ndarray, int, int], None],
    bands: int,
    *,
    nodata: float = float("nan"),
    block: int = ASSEMBLY_BLOCK,
) -> None:
    """Blend the tiles into the output, one ``block x block`` HR block at a time.

    Args:
        plan: the tile plan.
        read_tile: returns a tile's ``(C, kh, kw)`` pixels over ``tile.keep`` (a memory map is best).
        write_block: called as ``write_block(cube (C, bh, bw), row_off, col_off)`` in row-major block order.
        bands: C.
        nodata: value written where the blend is NaN (MSI nodata).
        block: block side in HR pixels.
    """
    H, W = plan.hr_shape
    for b0 in range(0, H, block):
        for b1 in range(0, W, block):
            bh, bw = min(block, H - b0), min(block, W - b1)
            acc = np.zeros((bands, bh, bw), np.float32)
            wsum = np.zeros((bh, bw), np.float32)
            for tile in plan.tiles:
                kr, kc, kh, kw = tile.keep
                y0, y1 = max(b0, kr), min(b0 + bh, kr + kh)
                x0, x1 = max(b1, kc), min(b1 + bw, kc + kw)
                if y0 >= y1 or x0 >= x1:
                    continue
                wy, wx = plan.weights(tile)
                weight = np.outer(wy[y0 - kr : y1 - kr], wx[x0 - kc : x1 - kc])
                data = read_tile(tile)[:, y0 - kr : y1 - kr, x0 - kc : x1 - kc]
                acc[:, y0 - b0 : y1 - b0, x0 - b1 : x1 - b1] += data * weight
                wsum[y0 - b0 : y1 - b0, x0 - b1 : x1 - b1] += weight
                del data
            with np.errstate(invalid="ignore", divide="ignore"):
                acc /= wsum
            if not np.isnan(nodata):
                acc[np.isnan(acc)] = nodata
            write_block(acc, b0, b1)


# ==================================================================================================
# Progress
# ==================================================================================================
def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class TileProgress:
    """A tqdm bar over tiles (and one over scenes when there are several) plus one line per tile.

    Lines go to ``echo`` (default: stderr); the bars turn themselves off when stderr is not a terminal.
    Each line names the scene, the tile, its LR window, the worker, its seconds, and the run's ETA
    (tiles left times the mean wall time per tile finished in this run).
    """

    def __init__(self, echo: Callable[[str], None] | None = None, scenes: int = 1) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.total = self.done = self.computed = 0
        self.start = time.perf_counter()
        self.bar = tqdm(total=0, desc="tiles", unit="tile", disable=None, file=sys.stderr, leave=True)
        self.scene_bar = tqdm(total=scenes, desc="scenes", unit="scene", disable=None, file=sys.stderr, leave=True) if scenes > 1 else None

    def _line(self, text: str) -> None:
        with self._tqdm.external_write_mode(file=sys.stderr):
            self.echo(text)

    def add_scene(self, name: str, tiles: int, done: int) -> None:
        """A scene with ``tiles`` tiles starts, ``done`` of them finished earlier (resume)."""
        self.total += tiles
        self.done += done
        self.bar.total = self.total
        self.bar.update(done)
        extra = f", {done} already done (resumed)" if done else ""
        self._line(f"[{name}] {tiles} tiles{extra}")

    def eta(self) -> float | None:
        if not self.computed:
            return None
        return (time.perf_counter() - self.start) / self.computed * (self.total - self.done)

    def tile(self, name: str, tile: Tile, tiles: int, result: TileResult) -> None:
        self.done += 1
        self.computed += 1
        self.bar.update(1)
        r0, c0, h, w = tile.lr
        eta = self.eta()
        note = "" if result.valid_lr_pixels else " (no valid data: nodata)"
        self._line(
            f"[{name}] tile {tile.index + 1}/{tiles} LR rows {r0}:{r0 + h} cols {c0}:{c0 + w} on {result.worker} "
            f"in {result.seconds:.1f} s{note}; {self.done}/{self.total} tiles, ETA {_duration(eta) if eta is not None else '?'}"
        )

    def operators(self, name: str, tiles: Sequence[Tile], seconds: float) -> None:
        self._line(f"[{name}] PSF and SRF learned on tile(s) {', '.join(str(t.index + 1) for t in tiles)} in {seconds:.1f} s")

    def scene(self, name: str, message: str) -> None:
        if self.scene_bar is not None:
            self.scene_bar.update(1)
        self._line(f"[{name}] {message}")

    def close(self) -> None:
        self.bar.close()
        if self.scene_bar is not None:
            self.scene_bar.close()


# ==================================================================================================
# One scene as a job of tasks
# ==================================================================================================
@dataclass
class TiledResult:
    """What a tiled run returns.

    Attributes:
        fused: the fused ``(C, H, W)`` cube when no output file was given, else None.
        path: the output file written, or None.
        psf, srf, srf_gain: the operators every tile used (with ``per_tile_operators``: their mean).
        plan: the tile plan.
        history: every tile's loss records, each with a ``tile`` key (1-based).
        tiles: per tile: index, LR window, seconds, worker, valid LR pixels.
        timings: ``operators``, ``tiles`` (sum of task seconds), ``assembly`` and ``total`` wall seconds.
        config: the configuration the tiles ran with.
        per_tile_operators: whether each tile learned its own operators.
        psf_learned, srf_learned: whether the operators were learned (blind) or given.
        resumed_tiles: tiles found finished in the work directory.
    """

    fused: np.ndarray | None
    path: Path | None
    psf: np.ndarray
    srf: np.ndarray
    srf_gain: np.ndarray
    plan: TilePlan
    history: list[dict[str, Any]]
    tiles: list[dict[str, Any]]
    timings: dict[str, float]
    config: FusionConfig
    per_tile_operators: bool
    psf_learned: bool
    srf_learned: bool
    resumed_tiles: int = 0


class SceneJob:
    """The tiles of one scene as tasks, and the driver's part: saving tiles, assembling, writing.

    :func:`pfs2c2.distributed.run_jobs` drives it: :meth:`start` gives the first tasks, :meth:`on_result`
    stores a result and gives follow-up tasks, :meth:`finish` writes the output once every tile is done.
    Build it with :func:`prepare_scene`.
    """

    def __init__(self, name: str, scene: SceneInputs, plan: TilePlan, config: FusionConfig, *, srf: np.ndarray | None,
                 psf: np.ndarray | None, srf_support: np.ndarray | None, saturation: float | None, mask_nonfinite: bool,
                 per_tile_operators: bool, sample_count: int, out: Path | None, meta: Any, work_dir: Path,
                 resume: bool, overwrite: bool, fingerprint: dict[str, Any], temporary_work_dir: bool) -> None:
        self.name, self.scene, self.plan, self.config = name, scene, plan, config
        self.srf_known, self.psf_known, self.srf_support = srf, psf, srf_support
        self.saturation, self.mask_nonfinite = saturation, mask_nonfinite
        self.per_tile = per_tile_operators
        self.sample_count = sample_count
        self.out, self.meta = out, meta
        self.store = TileStore(work_dir)
        self.resume, self.overwrite = resume, overwrite
        self.fingerprint = fingerprint
        self.temporary_work_dir = temporary_work_dir
        self.operators: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.operator_tiles: list[Tile] = []
        self.pending_operator: dict[int, TileResult | None] = {}
        self.finished: set[int] = set()
        self.resumed = 0
        self.infos: dict[int, dict[str, Any]] = {}
        self.started = time.perf_counter()
        self.timings = {"operators": 0.0, "tiles": 0.0, "assembly": 0.0}
        self.threads: int | None = None
        self.progress: TileProgress | None = None
        #: keep the work directory after :meth:`finish` (the caller removes it once its own files are written)
        self.keep_work_dir = False

    @property
    def blind(self) -> bool:
        return self.psf_known is None or self.srf_known is None

    def _task(self, tile: Tile, *, operators_only: bool = False) -> TileTask:
        psf, srf = self.psf_known, self.srf_known
        if self.operators is not None and not operators_only:
            psf, srf = self.operators[0], self.operators[1] * self.operators[2][None, :]
        return TileTask(self.name, tile, self.scene.hsi, self.scene.msi, self.scene.ratio, self.config, psf=psf, srf=srf,
                        srf_support=self.srf_support,
                        hsi_nodata=getattr(self.scene.hsi_meta, "nodata", None), msi_nodata=getattr(self.scene.msi_meta, "nodata", None),
                        saturation=self.saturation, mask_nonfinite=self.mask_nonfinite, threads=self.threads,
                        operators_only=operators_only)

    def _tile_tasks(self) -> list[TileTask]:
        return [self._task(t) for t in self.plan.tiles if t.index not in self.finished]

    def start(self, progress: TileProgress | None = None) -> list[TileTask]:
        """Open the work directory (resuming if asked) and return the first tasks."""
        self.progress = progress
        self.started = time.perf_counter()
        self.finished = self.store.open(self.fingerprint, resume=self.resume, overwrite=self.overwrite)
        self.resumed = len(self.finished)
        self.infos = {i: self.store.tile_info(i) for i in self.finished}
        if progress is not None:
            progress.add_scene(self.name, len(self.plan.tiles), self.resumed)
        if not self.blind or self.per_tile:
            return self._tile_tasks()
        saved = self.store.load_operators()
        if saved is not None:
            self.operators = saved[:3]
            self.operator_tiles = [self.plan.tiles[i] for i in saved[3]]
            return self._tile_tasks()
        self.operator_tiles = sample_tiles(self.plan, self.sample_count)
        self.pending_operator = {t.index: None for t in self.operator_tiles}
        self._operator_start = time.perf_counter()
        return [self._task(t, operators_only=True) for t in self.operator_tiles]

    def on_result(self, task: TileTask, result: TileResult) -> list[TileTask]:
        """Store a finished task's result; return the tasks it unlocks."""
        if task.operators_only:
            self.pending_operator[task.tile.index] = result
            if any(v is None for v in self.pending_operator.values()):
                return []
            results = [v for v in self.pending_operator.values() if v is not None]
            psf, srf, gain = combine_operators(results)
            if self.psf_known is not None:
                psf = self.psf_known
            if self.srf_known is not None:
                full = self.srf_known
                gain = full.sum(0)
                srf = full / gain
            used = [i for i, r in self.pending_operator.items() if r is not None and r.psf is not None]
            self.operators = (psf, srf, gain)
            self.store.save_operators(psf, srf, gain, used)
            self.timings["operators"] = time.perf_counter() - self._operator_start
            if self.progress is not None:
                self.progress.operators(self.name, [self.plan.tiles[i] for i in used], self.timings["operators"])
            return self._tile_tasks()
        tile = task.tile
        info = {"tile": tile.index + 1, "lr_window": list(tile.lr), "seconds": result.seconds, "worker": result.worker,
                "threads": result.threads, "valid_lr_pixels": result.valid_lr_pixels, "timings": result.timings,
                "history": result.history,
                "psf": None if result.psf is None else result.psf.tolist(),
                "srf_full": None if result.srf is None else (result.srf * result.srf_gain[None, :]).tolist()}
        assert result.fused is not None
        self.store.save_tile(tile.index, result.fused, info)
        self.infos[tile.index] = info
        self.finished.add(tile.index)
        self.timings["tiles"] += result.seconds
        if self.progress is not None:
            self.progress.tile(self.name, tile, len(self.plan.tiles), result)
        return []

    @property
    def complete(self) -> bool:
        return len(self.finished) == len(self.plan.tiles)

    def _final_operators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.operators is not None:
            return self.operators
        if not self.blind:
            full = self.srf_known
            return self.psf_known, full / full.sum(0), full.sum(0)  # type: ignore[return-value,union-attr]
        # per-tile operators: report their mean
        psfs = [np.asarray(i["psf"]) for i in self.infos.values() if i.get("psf") is not None]
        fulls = [np.asarray(i["srf_full"]) for i in self.infos.values() if i.get("srf_full") is not None]
        psf = np.mean(psfs, axis=0) if psfs else np.full((1, 1), np.nan)
        full = np.mean(fulls, axis=0) if fulls else np.full((self.scene.hsi_bands, self.scene.msi_bands), np.nan)
        return psf / psf.sum(), full / full.sum(0), full.sum(0)

    def finish(self) -> TiledResult:
        """Blend the finished tiles into the output (file or array); delete the work directory."""
        t0 = time.perf_counter()
        C = self.scene.hsi_bands
        H, W = self.plan.hr_shape
        if self.infos and all(info.get("valid_lr_pixels", 1) == 0 for info in self.infos.values()):
            raise InputError("no tile has valid data in both images; check the nodata values and that the images overlap")

        def read_tile(tile: Tile) -> np.ndarray:
            # a fresh memory map per use: once the block is added it is unmapped, so the pages read do not
            # pile up in the resident set (keeping every tile mapped would grow it to the whole scene)
            return np.load(self.store.tile_path(tile.index), mmap_mode="r")

        fused: np.ndarray | None = None
        path: Path | None = None
        nodata = float("nan")
        if self.meta is not None and self.meta.nodata is not None:
            nodata = float(self.meta.nodata)
        if self.out is None:
            fused = np.empty((C, H, W), np.float32)

            def write_block(block: np.ndarray, r0: int, c0: int) -> None:
                fused[:, r0 : r0 + block.shape[1], c0 : c0 + block.shape[2]] = block

            assemble(self.plan, read_tile, write_block, C, nodata=nodata)
        else:
            from .io.writers import open_cube_writer

            with open_cube_writer(self.out, (C, H, W), self.meta, overwrite=self.overwrite) as writer:
                assemble(self.plan, read_tile, writer.write, C, nodata=nodata, block=writer.block)
            path = writer.path
        self.timings["assembly"] = time.perf_counter() - t0
        self.timings["total"] = time.perf_counter() - self.started
        psf, srf, gain = self._final_operators()
        history = [{"tile": i + 1, **record} for i in sorted(self.infos) for record in self.infos[i].get("history", [])]
        tiles = [{k: v for k, v in self.infos[i].items() if k not in ("history", "psf", "srf_full")} for i in sorted(self.infos)]
        if not self.keep_work_dir:
            self.store.remove()
        return TiledResult(fused, path, psf, srf, gain, self.plan, history, tiles, dict(self.timings), self.config,
                           self.per_tile, self.psf_known is None, self.srf_known is None, self.resumed)

    def abort(self) -> None:
        """Remove a temporary work directory after a failure (a user's one is kept for --resume)."""
        if self.temporary_work_dir:
            self.store.remove()


def work_dir_for(out: str | os.PathLike) -> Path:
    """``OUT.tiles`` next to the output file."""
    out = Path(out)
    return out.with_name(out.name + ".tiles")


def prepare_scene(
    hsi: Any,
    msi: Any,
    ratio: int | None = None,
    *,
    srf: Any = None,
    psf: Any = None,
    config: FusionConfig | None = None,
    srf_support: Any = None,
    saturation: float | None = None,
    mask_nonfinite: bool = False,
    tile_size: int | None = None,
    overlap: int | None = None,
    max_memory: str | int | None = None,
    workers: int = 0,
    per_tile_operators: bool = False,
    sample_count: int = 3,
    out: str | os.PathLike | None = None,
    meta: Any = None,
    work_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    name: str = "scene",
    scene: SceneInputs | None = None,
) -> SceneJob:
    """Check the inputs and options of one tiled run and build its :class:`SceneJob`.

    See :func:`fuse_tiled` for the arguments. ``workers`` is the number of tasks that run at once (0 =
    in this process); it only matters for choosing the tile size from ``max_memory``. ``meta``
    overrides the output metadata (default: the HSI's bands on the MSI's grid, as the untiled CLI).

    Raises:
        InputError: bad options (tile too small for the overlap, memory too small, bad operators).
        FileExistsError: the output or the work directory exists (see ``resume`` / ``overwrite``).
    """
    from .fusion import check_srf
    from .physics import check_psf

    cfg = (config or FusionConfig()).validate()
    scene = scene or open_scene(hsi, msi, ratio)
    C, c, r = scene.hsi_bands, scene.msi_bands, scene.ratio
    srf_known = None if srf is None else check_srf(srf, C, c)
    support = None if srf_support is None else check_srf(srf_support, C, c)
    if psf is not None:
        check_known_psf(psf, r)  # as fuse(): a PSF that does not sum to 1 is refused, not rescaled
    psf_known = None if psf is None else check_psf(psf, r)
    check_psf_size(cfg.psf_size, r)
    psf_size = psf_known.shape[0] if psf_known is not None else (cfg.psf_size or r)
    margin = tile_margin(r, psf_size, cfg.residual_correction)
    if overlap is None:
        overlap = default_overlap(r, psf_size, cfg.residual_correction)
    if isinstance(overlap, bool) or int(overlap) != overlap or overlap < 1:
        raise InputError(f"--overlap must be a positive number of LR pixels, got {overlap!r}")
    overlap = int(overlap)
    if tile_size is None:
        if max_memory is None:
            tile_size = max(scene.lr_shape)
        else:
            tile_size = choose_tile_size(parse_memory(max_memory), scene.lr_shape, r, C, c, workers=workers, overlap=overlap,
                                         label=str(max_memory))
    if isinstance(tile_size, bool) or int(tile_size) != tile_size or tile_size < 1:
        raise InputError(f"--tile-size must be a positive number of LR pixels, got {tile_size!r}")
    plan = plan_tiles(scene.lr_shape, r, int(tile_size), overlap, margin)
    if sample_count < 1:
        raise InputError(f"sample_count must be >= 1, got {sample_count}")

    out_path = None if out is None else Path(out)
    if out_path is not None:
        from .io.writers import WRITE_EXTENSIONS

        if out_path.suffix.lower() not in WRITE_EXTENSIONS:
            raise InputError(f"cannot write {out_path}: unknown extension {out_path.suffix or '(none)'!r}; supported: {', '.join(WRITE_EXTENSIONS)}")
        if out_path.exists() and not overwrite:
            raise FileExistsError(f"{out_path} exists; pass --overwrite to replace it")
        check_output_path(out_path)
        if meta is None and scene.hsi_meta is not None:
            nodata = scene.hsi_meta.nodata if scene.hsi_meta.nodata is not None and np.isfinite(scene.hsi_meta.nodata) else float("nan")
            meta = scene.hsi_meta.with_grid(scene.msi_meta).replace(source=None, nodata=nodata)
    temporary = work_dir is None and out_path is None
    if work_dir is None:
        work_dir = work_dir_for(out_path) if out_path is not None else Path(tempfile.mkdtemp(prefix="pfs2c2-tiles-"))
    fingerprint = {
        "hsi": scene.hsi.describe(), "msi": scene.msi.describe(), "ratio": r, "plan": plan.to_dict(),
        "config": cfg.to_dict(), "per_tile_operators": per_tile_operators, "sample_tiles": sample_count,
        "psf": None if psf_known is None else psf_known.tolist(), "srf": None if srf_known is None else srf_known.tolist(),
        "srf_support": None if support is None else (support > 0).astype(int).tolist(),
        "saturation": saturation, "mask_nonfinite": mask_nonfinite,
    }
    return SceneJob(name, scene, plan, cfg, srf=srf_known, psf=psf_known, srf_support=support, saturation=saturation,
                    mask_nonfinite=mask_nonfinite, per_tile_operators=per_tile_operators, sample_count=sample_count,
                    out=out_path, meta=meta, work_dir=Path(work_dir), resume=resume, overwrite=overwrite,
                    fingerprint=fingerprint, temporary_work_dir=temporary)


def fuse_tiled(
    lr_hsi: Any,
    hr_msi: Any,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    config: FusionConfig | None = None,
    *,
    tile_size: int | None = None,
    overlap: int | None = None,
    max_memory: str | int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    per_tile_operators: bool = False,
    sample_tiles: int = 3,
    srf_support: Any = None,
    saturation: float | None = None,
    mask_nonfinite: bool = False,
    out: str | os.PathLike | None = None,
    meta: Any = None,
    work_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: TileProgress | bool | None = None,
) -> TiledResult:
    """Fuse a scene tile by tile with bounded memory, in this process or on a Dask cluster.

    Args:
        lr_hsi, hr_msi: ``(C, h, w)`` / ``(c, H, W)`` arrays, or file specs (read window by window
            inside the tasks; georeferenced files are matched as by the CLI).
        ratio, srf, psf, config, srf_support, mask_nonfinite: as :func:`pfs2c2.fusion.fuse` (``srf`` in
            the inputs' units).
        tile_size: tile side in LR pixels, overlap included (default: from ``max_memory``, else one tile).
        overlap: LR pixels shared by neighbouring tiles (default :func:`default_overlap`).
        max_memory: memory budget (``"4GB"``) for the driver and the concurrent tasks; picks ``tile_size``.
        workers: run tiles on a Dask ``LocalCluster`` of this many worker processes (``pfs2c2[dist]``).
        scheduler: address of an existing Dask scheduler instead (``max_memory`` is then per worker).
        per_tile_operators: learn the PSF/SRF in every tile instead of once per scene.
        sample_tiles: how many tiles the scene's operators are learned on.
        saturation: pixels with a band at or above this value are nodata (as the CLI's ``--saturation``).
        out: output file (GeoTIFF/ENVI/.npy/.h5/.mat), written block by block and atomically; without it
            the fused cube is returned in memory.
        meta: output metadata (default: HSI bands on the MSI grid).
        work_dir: where finished tiles are kept (default ``OUT.tiles``, or a temporary directory).
        resume: reuse the finished tiles of ``work_dir``.
        overwrite: replace an existing output / start over in an existing work directory.
        progress: a :class:`TileProgress`, True for the default one, False/None for none.

    Returns:
        A :class:`TiledResult`.
    """
    from .distributed import make_executor, run_jobs

    n_workers = workers or 0
    job = prepare_scene(lr_hsi, hr_msi, ratio, srf=srf, psf=psf, config=config, srf_support=srf_support,
                        saturation=saturation, mask_nonfinite=mask_nonfinite, tile_size=tile_size, overlap=overlap,
                        max_memory=max_memory, workers=n_workers if scheduler is None else 1,
                        per_tile_operators=per_tile_operators, sample_count=sample_tiles, out=out, meta=meta,
                        work_dir=work_dir, resume=resume, overwrite=overwrite)
    bar = TileProgress() if progress is True else (progress or None)
    try:
        with make_executor(workers=workers, scheduler=scheduler, threads=job.config.threads) as executor:
            outcomes = run_jobs([job], executor, bar)
    finally:
        if bar is not None:
            bar.close()
    outcome = outcomes[0]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result
