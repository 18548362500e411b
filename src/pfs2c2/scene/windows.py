"""Reading windows of a scene's cubes, from files or from arrays, with their valid pixels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..io import CubeReader
from ..masks import valid_pixels

Cube = Any
"""A ``(C, H, W)`` cube: a :class:`~pfs2c2.io.CubeReader` (read by windows) or any array that supports
``[:, rows, cols]`` slicing (numpy array, ``np.memmap``)."""


class CubeWindow:
    """The ``(C, h, w)`` part of a cube file that starts at ``offset`` (e.g. the part both images of a
    pair cover, :func:`pfs2c2.io.match_grids`), read by windows with ``[:, rows, cols]``.

    Args:
        reader: the opened file.
        offset: ``(row, col)`` of the part's first pixel in the file.
        size: ``(h, w)`` of the part (default: the rest of the file).
    """

    def __init__(self, reader: CubeReader, offset: tuple[int, int] = (0, 0), size: tuple[int, int] | None = None):
        self.reader, self.offset = reader, (int(offset[0]), int(offset[1]))
        c, h, w = reader.shape
        hh, ww = size if size is not None else (h - self.offset[0], w - self.offset[1])
        self.shape = (int(c), int(hh), int(ww))
        self.meta = reader.meta

    def __getitem__(self, key: tuple[slice, slice, slice]) -> np.ndarray:
        _, rows, cols = key
        r0, r1, _ = rows.indices(self.shape[1])
        c0, c1, _ = cols.indices(self.shape[2])
        window = (r0 + self.offset[0], c0 + self.offset[1], r1 - r0, c1 - c0)
        return np.asarray(self.reader.read(window)[0], dtype=np.float32)


def cube_shape(cube: Cube) -> tuple[int, int, int]:
    """``(C, H, W)`` of a cube without reading its pixels."""
    c, h, w = (int(v) for v in cube.shape[-3:])
    return c, h, w


def cube_nodata(cube: Cube) -> float | None:
    """The nodata value a cube file declares (None for arrays and files without one)."""
    meta = getattr(cube, "meta", None)
    nodata = getattr(meta, "nodata", None)
    return None if nodata is None else float(nodata)


def read_window(cube: Cube, mask: np.ndarray | None, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    """``cube[:, rows, cols]`` as float32 ``(C, h, w)`` and its valid pixels ``(h, w)``.

    Valid = :func:`pfs2c2.masks.valid_pixels` with the file's nodata value, and ``mask`` (``(H, W)``
    bool of the whole cube, True = data) there when given.
    """
    if isinstance(cube, CubeReader):
        window = (rows.start, cols.start, rows.stop - rows.start, cols.stop - cols.start)
        data = np.asarray(cube.read(window)[0], dtype=np.float32)
    else:
        data = np.asarray(cube[:, rows, cols], dtype=np.float32)
    valid = valid_pixels(data, cube_nodata(cube), warn_zero_border=False)  # a window edge is no image edge
    if mask is not None:
        valid &= np.asarray(mask[rows, cols], dtype=bool)
    return data, valid
