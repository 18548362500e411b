"""The two inputs of a tiled run: where each task reads its windows from, and the scene they cover.

Files are described without reading their pixels (shape and metadata from the header) and read window by
window inside the tasks; arrays are checked and pickled into every task (use files for Dask clusters and
large scenes). Window coordinates are scene coordinates: relative to the part of the files both images
cover (:func:`pfs2c2.io.match_grids`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import as_cube, check_band_counts, check_input_kinds, infer_ratio
from .plan import Window

#: GDAL block cache while a task reads its windows of a GeoTIFF / ENVI input.
READ_GDAL_CACHE_BYTES = 64 * 2**20


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
        from ..io import open_cube

        window = (r0 + self.offset[0], c0 + self.offset[1], h, w)
        # GDAL's block cache defaults to 5% of RAM: keep a task's reads small
        with open_cube(str(self.spec), gdal_cache_bytes=READ_GDAL_CACHE_BYTES) as reader:
            return reader.read(window)[0]

    def describe(self) -> dict[str, Any]:
        """Identity for the work directory's ``plan.json`` (path, size, mtime; or a hash of the array)."""
        if self.array is not None:
            data = np.ascontiguousarray(self.array).view(np.uint8)
            digest = hashlib.sha1(data).hexdigest()  # type: ignore[arg-type]  # an ndarray is a buffer
            return {"array": list(self.array.shape), "sha1": digest, "offset": list(self.offset)}
        from ..io import split_spec

        path, var = split_spec(str(self.spec))
        stat = path.stat()
        return {
            "file": str(path.resolve()),
            "var": var,
            "bytes": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "offset": list(self.offset),
        }


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
        """``(H, W)`` of the scene part in HR pixels."""
        return self.lr_shape[0] * self.ratio, self.lr_shape[1] * self.ratio


def open_scene(hsi: Any, msi: Any, ratio: int | None = None) -> SceneInputs:
    """Describe a pair of inputs without reading their pixels (files) or check array shapes.

    Args:
        hsi, msi: file specs (``str``/``Path``, any format :func:`pfs2c2.io.open_cube` reads) or
            ``(C, h, w)`` / ``(c, H, W)`` arrays.
        ratio: expected ratio (checked; default from the grids or the sizes).

    Raises:
        InputError / ValueError: grids that do not nest, sizes that are not a ratio apart, swapped inputs.
    """
    from ..io import match_grids, open_cube

    check_input_kinds(isinstance(hsi, (str, os.PathLike)), isinstance(msi, (str, os.PathLike)))
    if isinstance(hsi, (str, os.PathLike)):
        hsi_spec, msi_spec = str(hsi), str(msi)
        hsi_file, msi_file = open_cube(hsi_spec), open_cube(msi_spec)  # headers only
        (C, h, w), (c, H, W) = hsi_file.shape, msi_file.shape
        grid = match_grids(hsi_file.meta, (h, w), msi_file.meta, (H, W), ratio)
        hw = grid.hsi_window or (0, 0, h, w)
        mw = grid.msi_window or (0, 0, H, W)
        # metadata of the scene part: the transform of its first pixel
        hsi_meta = hsi_file.window_meta((hw[0], hw[1], 1, 1))
        msi_meta = msi_file.window_meta((mw[0], mw[1], 1, 1))
        scene = SceneInputs(
            CubeSource(hsi_spec, offset=(hw[0], hw[1])),
            CubeSource(msi_spec, offset=(mw[0], mw[1])),
            C,
            c,
            (hw[2], hw[3]),
            grid.ratio,
            hsi_meta,
            msi_meta,
        )
    else:
        y, z = as_cube(hsi, "LR-HSI", "(C, h, w)"), as_cube(msi, "HR-MSI", "(c, H, W)")
        r = infer_ratio(y.shape, z.shape, ratio)
        scene = SceneInputs(CubeSource(array=y), CubeSource(array=z), y.shape[0], z.shape[0], y.shape[1:], r)
    check_band_counts(scene.hsi_bands, scene.msi_bands)
    return scene
