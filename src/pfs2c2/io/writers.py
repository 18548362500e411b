"""Write ``(C, H, W)`` cubes and small matrices, atomically.

Formats, chosen by the extension of the output path (the writers are in :mod:`pfs2c2.io.formats`):

===================  ===============================================================================
``.tif`` ``.tiff``    Cloud Optimized GeoTIFF (:mod:`pfs2c2.io.formats.cog`), float32, DEFLATE
                      (floating-point predictor), 512 px tiles, band interleaved, internal overviews
                      (2, 4, 8, ..., average); CRS / transform from the metadata, nodata from the
                      metadata or NaN; band descriptions ``"650.3 nm"`` (or the band names), band tags
                      ``wavelength``, ``wavelength_units=nm``, ``fwhm``, and GDAL's ``IMAGERY`` domain
                      (``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``). Written block by block to a tiled part
                      file, made a COG on close.
``.hdr`` ``.img``     ENVI (BSQ float32) via rasterio: ``OUT.img`` + ``OUT.hdr``. The header carries
``.dat`` ``.bsq``     ``map info`` / ``coordinate system string``, ``wavelength``, ``fwhm``,
                      ``wavelength units = Nanometers``, ``default bands`` (the bands nearest 650 / 550 /
                      460 nm), ``data ignore value`` and ``band names``.
``.npy``              ``(H, W, C)`` float32, no metadata.
``.mat``              MATLAB: variable ``fused`` ``(H, W, C)`` single, plus ``wavelength`` and ``fwhm``
                      (column vectors, nm), ``wavelength_units``, ``crs``, ``transform`` when known.
                      v5 (compressed) when the cube is below 2 GiB, else v7.3 (HDF5 with MATLAB's
                      header and transposed layout) so that MATLAB and :func:`read_cube` open both.
``.h5`` ``.hdf5``     dataset ``/fused`` ``(H, W, C)`` float32 (gzip, chunked) with attributes
                      ``layout="HWC"``, ``wavelength``, ``fwhm``, ``wavelength_units="nm"``, ``crs``,
                      ``transform``, ``nodata``, ``band_names``, ``units``.
===================  ===============================================================================

Every writer writes to a hidden temporary name in the destination directory and moves it into place
with ``os.replace`` (both files for ENVI), so an interrupted write never leaves a partial output; a stale
GDAL ``.aux.xml`` side file of the destination is removed. The cube is written as the float32 values
given: scale/offset recorded in the metadata are not re-applied.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import as_cube, check_writable
from ..errors import InputError
from ._common import PathLike
from .atomic import atomic_write, check_overwrite, remove_quietly, temp_name
from .formats import WRITE_FORMATS, BlockSink, WriteFormat
from .formats.matlab import MAT5_MAX_BYTES
from .formats.raster import RGB_NM, default_bands
from .formats.text import write_matrix_csv
from .meta import RasterMeta

__all__ = [
    "write_cube",
    "write_matrix_csv",
    "atomic_write",
    "WRITE_EXTENSIONS",
    "WINDOWED_EXTENSIONS",
    "default_bands",
    "open_cube_writer",
    "CubeWriter",
    "MAT5_MAX_BYTES",
    "RGB_NM",
]

#: Extensions :func:`write_cube` accepts.
WRITE_EXTENSIONS: tuple[str, ...] = tuple(e for f in WRITE_FORMATS.values() for e in f.extensions)
#: Formats :func:`open_cube_writer` writes block by block; the others are assembled in memory first.
WINDOWED_EXTENSIONS: tuple[str, ...] = tuple(
    e for f in WRITE_FORMATS.values() if f.blocks is not None for e in f.extensions
)
#: GDAL block cache while writing a GeoTIFF / ENVI file block by block (bounds the writer's memory).
WRITER_GDAL_CACHE_BYTES = 64 * 2**20


def _write_kind(ext: str) -> str | None:
    """The key of :data:`~pfs2c2.io.formats.WRITE_FORMATS` for an extension, or ``None``."""
    for kind, fmt in WRITE_FORMATS.items():
        if ext in fmt.extensions:
            return kind
    return None


def _final_paths(out: Path, fmt: WriteFormat) -> list[Path]:
    """The file(s) a write to ``out`` produces: ``[data, data.hdr]`` for ENVI (``OUT.img`` for ``OUT.hdr``)."""
    if fmt.paired_header:
        data = out.with_suffix(".img") if out.suffix.lower() == ".hdr" else out
        return [data, data.with_suffix(".hdr")]
    return [out]


def _temp_paths(finals: Sequence[Path]) -> list[Path]:
    tmp = temp_name(finals[0])
    return [tmp] if len(finals) == 1 else [tmp, tmp.with_suffix(".hdr")]


def _drop_aux_xml(paths: Sequence[Path]) -> None:
    for p in paths:
        remove_quietly(Path(str(p) + ".aux.xml"))  # stale PAM side file would override the new metadata


# ==================================================================================================
# Public API
# ==================================================================================================
def write_cube(
    path: PathLike,
    cube: Any,
    meta: RasterMeta | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a ``(C, H, W)`` cube with its metadata; the format follows the extension of ``path``.

    Args:
        path: Output file (see the module docstring for the extensions). Missing parent directories
            are created.
        cube: ``(C, H, W)`` array (numpy or CPU torch tensor); written as float32.
        meta: CRS, transform, wavelengths, FWHM, nodata, band names; ``None`` for none.
        overwrite: Replace an existing output (for ENVI: if either the data or the header exists).

    Returns:
        The path written; for ENVI the data file (``OUT.img`` when ``OUT.hdr`` was given), which is
        the file to pass to GDAL / rasterio.

    Raises:
        ValueError: Unknown extension, wrong cube shape, metadata not matching the number of bands.
        FileExistsError: The output exists and ``overwrite`` is false.
    """
    out = Path(path)
    ext = out.suffix.lower()
    kind = _write_kind(ext)
    if kind is None:
        raise InputError(
            f"cannot write {out}: unknown extension {ext or '(none)'!r}; supported: {', '.join(WRITE_EXTENSIONS)}"
        )
    fmt = WRITE_FORMATS[kind]
    arr = _as_cube(cube, out)
    meta = meta if meta is not None else RasterMeta()
    meta.check_bands(arr.shape[0], f"cube to write to {out}")

    finals = _final_paths(out, fmt)
    check_overwrite(out, finals, overwrite)
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    tmps = _temp_paths(finals)
    try:
        fmt.write(tmps[0], arr, meta, finals[0])
        for t, f in zip(tmps, finals):
            os.replace(t, f)
    except BaseException:
        for t in tmps:
            remove_quietly(t)
            remove_quietly(Path(str(t) + ".aux.xml"))
        raise
    _drop_aux_xml(finals)
    return finals[0]


def _as_cube(cube: Any, out: Path) -> np.ndarray:
    """The cube to write as C-contiguous float32 (numpy or tensor in; refused by :func:`as_cube`)."""
    try:
        arr = as_cube(cube, "the cube", "(C, H, W)")
    except InputError as exc:
        raise InputError(f"cannot write {out}: {exc}") from None
    return np.ascontiguousarray(arr, dtype=np.float32)


# ==================================================================================================
# Window-by-window writing (tiled fusion)
# ==================================================================================================
class CubeWriter:
    """Writes a ``(C, H, W)`` float32 cube window by window to a temporary file; :meth:`close` moves it
    into place with ``os.replace`` (both files for ENVI), :meth:`abort` deletes it.

    Use :func:`open_cube_writer`. GeoTIFF and ENVI are written through rasterio (same profile and
    metadata as :func:`write_cube`, GDAL block cache limited to :data:`WRITER_GDAL_CACHE_BYTES`), ``.npy``
    by seeking in the file (``(H, W, C)`` layout, as :func:`write_cube`), so memory stays at one block.
    ``.mat`` / ``.h5`` are collected in memory and written by :func:`write_cube` on close (their
    libraries write whole arrays): use GeoTIFF, ENVI or ``.npy`` for cubes larger than memory.

    Attributes:
        path: the final file (for ENVI the data file).
        block: preferred side of the windows to write (the GeoTIFF block): write blocks of this size,
            aligned on multiples of it, in row-major order.
        kind: ``"tif"``, ``"envi"``, ``"npy"`` (written block by block) or ``"memory"``.
    """

    def __init__(self, path: PathLike, shape: tuple[int, int, int], meta: RasterMeta | None, overwrite: bool) -> None:
        out = Path(path)
        ext = out.suffix.lower()
        kind = _write_kind(ext)
        if kind is None:
            raise ValueError(
                f"cannot write {out}: unknown extension {ext or '(none)'!r}; supported: {', '.join(WRITE_EXTENSIONS)}"
            )
        c, h, w = (int(v) for v in shape)
        if min(c, h, w) < 1:
            raise ValueError(f"cannot write {out}: empty cube shape {tuple(shape)}")
        self.shape = (c, h, w)
        self.meta = meta if meta is not None else RasterMeta()
        self.meta.check_bands(c, f"cube to write to {out}")
        self.overwrite = overwrite
        self.block = 256
        self._format = WRITE_FORMATS[kind]
        self.kind = kind if self._format.blocks is not None else "memory"
        self.finals = _final_paths(out, self._format)
        self.path = self.finals[0]
        self._shown = out
        self._closed = False
        self._sink: BlockSink | None = None
        self._cube: np.ndarray | None = None
        self.tmps = _temp_paths(self.finals)
        self.tmp = self.tmps[0]
        check_overwrite(out, self.finals, overwrite)
        check_writable(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self._format.blocks is not None:
                self._sink = self._format.blocks(self.tmp, self.path, self.shape, self.meta, WRITER_GDAL_CACHE_BYTES)
            else:
                self._cube = np.zeros(self.shape, np.float32)
        except BaseException:
            self.abort()
            raise

    def write(self, block: Any, row_off: int, col_off: int) -> None:
        """Write a ``(C, h, w)`` block at ``(row_off, col_off)`` of the cube.

        Raises:
            ValueError: wrong band count or a block outside the cube.
        """
        arr = np.asarray(block, dtype=np.float32)
        c, h, w = self.shape
        if (
            arr.ndim != 3
            or arr.shape[0] != c
            or row_off < 0
            or col_off < 0
            or row_off + arr.shape[1] > h
            or col_off + arr.shape[2] > w
        ):
            raise ValueError(
                f"block of shape {arr.shape} at ({row_off}, {col_off}) does not fit the cube {self.shape} of {self._shown}"
            )
        if self._sink is not None:
            self._sink.write(arr, row_off, col_off)
        else:
            assert self._cube is not None
            bh, bw = arr.shape[1:]
            self._cube[:, row_off : row_off + bh, col_off : col_off + bw] = arr

    def close(self) -> Path:
        """Finish the file and move it into place; returns the final path."""
        if self._closed:
            return self.path
        try:
            if self._sink is None:
                cube, self._cube = self._cube, None
                self._closed = True
                return write_cube(self._shown, cube, self.meta, overwrite=self.overwrite)
            self._sink.finish()
            self._sink = None
            check_overwrite(self._shown, self.finals, self.overwrite)
            for t, f in zip(self.tmps, self.finals):
                os.replace(t, f)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        _drop_aux_xml(self.finals)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file(s); the destination is left as it was."""
        self._closed = True
        if self._sink is not None:
            self._sink.abort()
            self._sink = None
        self._cube = None
        for t in self.tmps:
            remove_quietly(t)
            remove_quietly(Path(str(t) + ".aux.xml"))

    def __enter__(self) -> CubeWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def open_cube_writer(
    path: PathLike,
    shape: tuple[int, int, int],
    meta: RasterMeta | None = None,
    *,
    overwrite: bool = False,
) -> CubeWriter:
    """Open a :class:`CubeWriter` for a ``(C, H, W)`` cube; use it as a context manager.

    Example::

        with open_cube_writer("fused.tif", (C, H, W), meta) as out:
            for r0 in range(0, H, out.block):
                out.write(rows_of_the_cube, r0, 0)

    Raises:
        ValueError: unknown extension, metadata not matching the bands.
        FileExistsError: the output exists and ``overwrite`` is false.
    """
    return CubeWriter(path, shape, meta, overwrite)
