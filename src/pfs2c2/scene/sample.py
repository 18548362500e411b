"""The training sample of a scene: LR patches and their HR windows drawn over the whole scene, by windows.

The four modules are properties of the scene (SpeUp is pixel-wise, the PSF and SRF are shared), so
they can be learned from a fixed number of LR pixels however large the scene is. :func:`draw_sample`
reads ``rows x cols`` patches of ``patch x patch`` LR pixels, one at a random place in each cell of a
``rows x cols`` grid over the scene (stratified, so every part of the scene is seen; the grid follows
the scene's aspect), with their ``patch * ratio`` HR windows, and lays them side by side in one small
mosaic of the same layout: the mosaic is an
ordinary fusion problem (:func:`pfs2c2.fusion.fuse` trains on it unchanged).

Why a mosaic is exact: with a ``ratio x ratio`` PSF, blur + decimation, SpaUp (kernel = stride =
ratio) and SpeUp (1 x 1) never mix pixels of two LR blocks, so every loss on the mosaic is the loss on
the sampled pixels of the scene. A PSF of side ``k > ratio`` reaches ``(k - ratio) / 2`` HR pixels
beyond its block: the outer ``ring = ceil((k - ratio) / (2 ratio))`` LR pixels of each patch would see
the neighbouring patch, so they are marked invalid (left out of every loss) and serve only as the halo
of the pixels inside. When the budget covers the scene, the sample is the scene itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import check_ratio_shapes, check_sample_budget
from .windows import Cube, cube_shape, read_window

__all__ = ["SceneSample", "draw_sample", "halo_ring"]

_MIN_VALID = 0.25  # a patch with fewer valid LR pixels is drawn again: _TRIES times in its cell, then anywhere
_TRIES = 8


@dataclass(frozen=True)
class SceneSample:
    """LR patches and their HR windows, laid out as one mosaic.

    Attributes:
        lr_hsi: ``(C, rows * patch, cols * patch)`` float32 mosaic of LR-HSI patches (input units).
        hr_msi: ``(c, rows * patch * ratio, cols * patch * ratio)`` float32 mosaic of their HR-MSI windows.
        hsi_valid: ``(rows * patch, cols * patch)`` LR pixels usable in the losses (data, and not in a
            patch's halo ring).
        msi_valid: ``(rows * patch * ratio, cols * patch * ratio)`` valid HR pixels.
        origins: LR ``(row, col)`` of each patch in the scene, in mosaic order (row-major).
        patch: LR side of a patch; ring: halo ring width in LR pixels; ratio: the scale factor.
        whole: True when the sample is the whole scene (the mosaic is the scene, unchanged).
    """

    lr_hsi: np.ndarray
    hr_msi: np.ndarray
    hsi_valid: np.ndarray
    msi_valid: np.ndarray
    origins: list[tuple[int, int]]
    patch: int
    ring: int
    ratio: int
    whole: bool

    @property
    def lr_pixels(self) -> int:
        """LR pixels that enter the losses."""
        return int(self.hsi_valid.sum())


def halo_ring(psf_size: int, ratio: int) -> int:
    """LR pixels at a patch's edge whose blur reaches outside the patch (0 for a ``ratio x ratio`` PSF)."""
    return math.ceil(max(0, psf_size - ratio) / (2 * ratio))


def draw_sample(
    lr_hsi: Cube,
    hr_msi: Cube,
    ratio: int,
    *,
    lr_pixels: int = 4096,
    patch: int = 16,
    psf_size: int | None = None,
    hsi_valid: np.ndarray | None = None,
    msi_valid: np.ndarray | None = None,
    seed: int = 0,
) -> SceneSample:
    """Draw the training sample of a scene, reading only the sampled windows.

    Args:
        lr_hsi: ``(C, h, w)`` LR-HSI; hr_msi: ``(c, h r, w r)`` HR-MSI (see :data:`~.windows.Cube`).
        ratio: integer scale factor.
        lr_pixels: budget: at most this many LR pixels in the losses (whole patches of ``patch``
            squared pixels less their halo ring; at least one patch).
        patch: LR side of a patch (clipped to the scene).
        psf_size: side of the (learned or known) PSF in HR pixels (default ``ratio``): sets the halo ring.
        hsi_valid, msi_valid: ``(h, w)`` / ``(H, W)`` valid pixels (default: see :func:`~.windows.read_window`).
        seed: seed of the patch positions.

    Returns:
        A :class:`SceneSample`; the whole scene (``whole=True``) when it has at most ``lr_pixels`` LR pixels.

    Raises:
        InputError: a budget or patch below one pixel, or shapes that do not match the ratio.
    """
    check_sample_budget(lr_pixels, patch)
    check_ratio_shapes(lr_hsi.shape, hr_msi.shape, ratio)
    r = ratio
    _, h, w = cube_shape(lr_hsi)
    ring = halo_ring(psf_size or r, r)
    if h * w <= lr_pixels:
        y, y_valid = read_window(lr_hsi, hsi_valid, slice(0, h), slice(0, w))
        z, z_valid = read_window(hr_msi, msi_valid, slice(0, h * r), slice(0, w * r))
        return SceneSample(y, z, y_valid, z_valid, [(0, 0)], max(h, w), 0, r, True)
    p = max(2 * ring + 1, min(patch, h, w))
    n_rows, n_cols = _grid(max(1, lr_pixels // (p - 2 * ring) ** 2), h, w)
    rng = np.random.default_rng(seed)
    row_cells, col_cells = _cells(h, p, n_rows), _cells(w, p, n_cols)
    lr_tiles, hr_tiles, lr_masks, hr_masks, origins = [], [], [], [], []
    for r0, r1 in row_cells:
        for c0, c1 in col_cells:
            best = None
            for attempt in range(2 * _TRIES):
                if attempt < _TRIES:  # in its cell first
                    i, j = int(rng.integers(r0, r1 + 1)), int(rng.integers(c0, c1 + 1))
                else:  # a cell of nodata (clouds, a swath edge): anywhere in the scene
                    i, j = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
                drawn = _read_patch(lr_hsi, hr_msi, hsi_valid, msi_valid, i, j, p, r)
                share = drawn[2].mean()
                if best is None or share > best[2].mean():
                    best = (*drawn, (i, j))
                if share >= _MIN_VALID:
                    break
            assert best is not None
            y, z, y_valid, z_valid, origin = best
            y_valid = y_valid.copy()
            if ring:
                y_valid[:ring], y_valid[-ring:], y_valid[:, :ring], y_valid[:, -ring:] = False, False, False, False
            lr_tiles.append(y)
            hr_tiles.append(z)
            lr_masks.append(y_valid)
            hr_masks.append(z_valid)
            origins.append(origin)
    return SceneSample(
        lr_hsi=_mosaic(lr_tiles, n_cols),
        hr_msi=_mosaic(hr_tiles, n_cols),
        hsi_valid=_mosaic(lr_masks, n_cols),
        msi_valid=_mosaic(hr_masks, n_cols),
        origins=origins,
        patch=p,
        ring=ring,
        ratio=r,
        whole=False,
    )


def _grid(patches: int, h: int, w: int) -> tuple[int, int]:
    """``(rows, cols)`` of at most ``patches`` cells, shaped like the ``h x w`` scene."""
    rows = min(patches, max(1, round(math.sqrt(patches * h / w))))
    return rows, max(1, patches // rows)


def _cells(size: int, p: int, n: int) -> list[tuple[int, int]]:
    """For ``n`` equal cells over ``[0, size)``, the range ``[lo, hi]`` of patch starts inside each cell;
    a cell narrower than the patch gives the starts whose patch covers its beginning (patches then
    overlap). When ``size = n p`` the patches tile the axis exactly."""
    out = []
    for k in range(n):
        lo, end = (k * size) // n, ((k + 1) * size) // n
        lo = min(lo, size - p)
        out.append((lo, max(lo, min(end - p, size - p))))
    return out


def _read_patch(
    lr_hsi: Cube,
    hr_msi: Cube,
    hsi_valid: np.ndarray | None,
    msi_valid: np.ndarray | None,
    i: int,
    j: int,
    p: int,
    r: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The LR patch at ``(i, j)`` and its HR window, with valid pixels (an LR pixel needs its whole block)."""
    y, y_valid = read_window(lr_hsi, hsi_valid, slice(i, i + p), slice(j, j + p))
    z, z_valid = read_window(hr_msi, msi_valid, slice(i * r, (i + p) * r), slice(j * r, (j + p) * r))
    block_valid = z_valid.reshape(p, r, p, r).all(axis=(1, 3))
    return y, z, y_valid & block_valid, z_valid


def _mosaic(tiles: list[np.ndarray], n_cols: int) -> np.ndarray:
    """Equal tiles ``(..., a, b)`` in row-major order, ``n_cols`` per row -> one ``(..., rows a, n_cols b)`` array."""
    rows = [np.concatenate(tiles[k : k + n_cols], axis=-1) for k in range(0, len(tiles), n_cols)]
    return np.ascontiguousarray(np.concatenate(rows, axis=-2))
