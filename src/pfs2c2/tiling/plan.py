"""Tile geometry: the tile plan over the LR grid, the overlap it needs, and the blending weights.

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
    output is ``sum(w * tile) / sum(w)``, assembled in blocks of
    :data:`~pfs2c2.tiling.job.ASSEMBLY_BLOCK` HR pixels from the finished tiles
    (:func:`~pfs2c2.tiling.job.assemble`) and written block by block (:func:`pfs2c2.io.open_cube_writer`).
    Pixels that are NaN in a tile (MSI nodata) stay NaN, then the output's nodata value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_blend_ramp, check_tile_plan

Window = tuple[int, int, int, int]
"""``(row_off, col_off, height, width)``, the form :func:`pfs2c2.io.read_cube` takes."""

#: Reach of the residual correction (bicubic upsampling: 4 taps) in LR pixels on each side.
RESIDUAL_REACH_LR = 2
#: Default width, in LR pixels, of the linear ramp between two tiles.
DEFAULT_BLEND = 4


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
        check_blend_ramp(lo, hi, shared=a + size - b, margin=margin)
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
        """``(H, W)`` of the scene in HR pixels."""
        return self.lr_shape[0] * self.ratio, self.lr_shape[1] * self.ratio

    @property
    def grid_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the tile grid."""
        return max(t.grid[0] for t in self.tiles) + 1, max(t.grid[1] for t in self.tiles) + 1

    def weights(self, tile: Tile) -> tuple[np.ndarray, np.ndarray]:
        """``(wy, wx)``: float32 weights over the rows and columns of ``tile.keep`` (all positive)."""
        return self._weights[tile.index]

    def to_dict(self) -> dict[str, Any]:
        """The plan's settings (JSON), for ``plan.json`` and run.json."""
        return {
            "lr_shape": list(self.lr_shape),
            "ratio": self.ratio,
            "tile_size": self.tile_size,
            "overlap": self.overlap,
            "margin": self.margin,
            "tiles": len(self.tiles),
        }


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
    check_tile_plan((h, w), tile_size, overlap, margin)
    rows = _axis_profiles(h, tile_size, overlap, margin, ratio)
    cols = _axis_profiles(w, tile_size, overlap, margin, ratio)
    tiles: list[Tile] = []
    weights: dict[int, tuple[np.ndarray, np.ndarray]] = {}
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
