"""Write ``(C, H, W)`` cubes and small matrices, atomically.

Formats, chosen by the extension of the output path (the writers are in :mod:`pfs2c2.io.formats`):

===================  ===============================================================================
``.tif`` ``.tiff``    Cloud Optimized GeoTIFF (:mod:`pfs2c2.io.formats.cog`), float32, ZSTD
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

Resumable block-by-block writing (GeoTIFF, ENVI, ``.npy``): :func:`open_cube_writer` with a ``resume_key``
(a fingerprint of the inputs and settings, chosen by the caller) writes to deterministic hidden partial
files beside the output (``.NAME.EXT.resume.EXT``; the GeoTIFF's blocks go to ``.NAME.tif.resume.part.tif``)
and records each finished block in the journal ``.NAME.EXT.resume.json`` once its data are on disk. An
interrupted write (exception, ``KeyboardInterrupt``, ``kill -9``) keeps them; the next writer with the same
key, shape and metadata continues them (:meth:`CubeWriter.done` tells which blocks to skip), and
:meth:`CubeWriter.close` produces the same file as an uninterrupted write. Partial files of another key
are refused (delete them or pass ``overwrite=True``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_writable
from ..errors import InputError
from ._common import PathLike
from .atomic import atomic_write, check_overwrite, remove_quietly
from .formats import WRITE_FORMATS, BlockSink
from .formats.cog import part_name
from .formats.matlab import MAT5_MAX_BYTES
from .formats.raster import RGB_NM, default_bands
from .formats.text import write_matrix_csv
from .meta import RasterMeta
from .write_paths import (
    _as_cube,
    _drop_aux_xml,
    _final_paths,
    _fsync_dir,
    _journal_path,
    _meta_digest,
    _resume_temp_paths,
    _temp_paths,
    _write_kind,
)

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
    "RESUMABLE_EXTENSIONS",
]

logger = logging.getLogger("pfs2c2")

#: Extensions :func:`write_cube` accepts.
WRITE_EXTENSIONS: tuple[str, ...] = tuple(e for f in WRITE_FORMATS.values() for e in f.extensions)
#: Formats :func:`open_cube_writer` writes block by block; the others are assembled in memory first.
WINDOWED_EXTENSIONS: tuple[str, ...] = tuple(
    e for f in WRITE_FORMATS.values() if f.blocks is not None for e in f.extensions
)
#: Formats :func:`open_cube_writer` can write resumably (``resume_key``): the block-by-block ones.
RESUMABLE_EXTENSIONS: tuple[str, ...] = WINDOWED_EXTENSIONS
#: GDAL block cache while writing a GeoTIFF / ENVI file block by block (bounds the writer's memory).
WRITER_GDAL_CACHE_BYTES = 64 * 2**20
#: Version of the journal of a resumable write (a journal of another version is refused as stale).
RESUME_JOURNAL_VERSION = 1
_JOURNAL_FORMAT = "pfs2c2 partial cube"


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


class CubeWriter:
    """Writes a ``(C, H, W)`` float32 cube window by window to a temporary file; :meth:`close` moves it
    into place with ``os.replace`` (both files for ENVI), :meth:`abort` deletes it (keeps it with a
    ``resume_key``, see below).

    Use :func:`open_cube_writer`. GeoTIFF and ENVI are written through rasterio (same profile and
    metadata as :func:`write_cube`, GDAL block cache limited to :data:`WRITER_GDAL_CACHE_BYTES`), ``.npy``
    by seeking in the file (``(H, W, C)`` layout, as :func:`write_cube`), so memory stays at one block.
    ``.mat`` / ``.h5`` are collected in memory and written by :func:`write_cube` on close (their
    libraries write whole arrays): use GeoTIFF, ENVI or ``.npy`` for cubes larger than memory.

    With a ``resume_key`` (GeoTIFF, ENVI, ``.npy`` only) the write is resumable: the partial file(s) have
    deterministic hidden names (:attr:`tmps`; for GeoTIFF the blocks go to ``<tmp stem>.part.tif``) and
    every :meth:`write` makes its block durable (written, closed or flushed, ``fsync``) before recording
    ``(row_off, col_off, h, w)`` in the JSON journal :attr:`journal` (replaced atomically). An
    interrupted write keeps them; a new writer with the same key, shape, format and metadata continues
    them (:attr:`resumed`, :meth:`done`); one with another key, shape, format or metadata is refused
    unless ``overwrite`` (which starts again). :meth:`close` finishes as without a key and deletes the
    journal and the partial files. The bytes written are those of an uninterrupted write (same blocks).

    Attributes:
        path: the final file (for ENVI the data file).
        block: preferred side of the windows to write (the GeoTIFF block): write blocks of this size,
            aligned on multiples of it, in row-major order.
        kind: ``"tif"``, ``"envi"``, ``"npy"`` (written block by block) or ``"memory"``.
        resume_key: the key of a resumable write, else ``None``.
        journal: the journal of a resumable write, else ``None``.
        resumed: a resumable write that continues the partial files of an earlier one.
    """

    def __init__(
        self,
        path: PathLike,
        shape: tuple[int, int, int],
        meta: RasterMeta | None,
        overwrite: bool,
        resume_key: str | None = None,
    ) -> None:
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
        self.resume_key = resume_key
        self.journal: Path | None = None
        self.resumed = False
        self._finished: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        if resume_key is not None:
            if not isinstance(resume_key, str) or not resume_key.strip():
                raise InputError(f"cannot write {out}: resume_key must be a non-empty string, got {resume_key!r}")
            if self._format.blocks is None:
                raise InputError(
                    f"cannot write {out} resumably: resume_key works for GeoTIFF, ENVI and .npy outputs "
                    f"({', '.join(RESUMABLE_EXTENSIONS)}), not {ext}; write one of those or drop resume_key"
                )
            self.tmps = _resume_temp_paths(self.finals)
            self.journal = _journal_path(self.path)
        else:
            self.tmps = _temp_paths(self.finals)
        self.tmp = self.tmps[0]
        check_overwrite(out, self.finals, overwrite)
        check_writable(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if self.journal is not None:
            self._open_resumable()
            return
        try:
            if self._format.blocks is not None:
                self._sink = self._format.blocks(self.tmp, self.path, self.shape, self.meta, WRITER_GDAL_CACHE_BYTES)
            else:
                self._cube = np.zeros(self.shape, np.float32)
        except BaseException:
            self.abort()
            raise

    # ----------------------------------------------------------------------------------------------
    # resumable writing
    # ----------------------------------------------------------------------------------------------
    @property
    def finished(self) -> frozenset[tuple[int, int, int, int]]:
        """The blocks ``(row_off, col_off, h, w)`` on disk (recorded in the journal); empty without a key."""
        return frozenset(self._finished.values())

    def done(self, row_off: int, col_off: int) -> bool:
        """Whether the block at ``(row_off, col_off)`` is already written (by this or an interrupted
        earlier write with the same ``resume_key``); always ``False`` without a key."""
        return (int(row_off), int(col_off)) in self._finished

    def partial_files(self) -> list[Path]:
        """The partial files of a resumable write that exist now (data, header, part file, journal)."""
        if self.journal is None:
            return []
        cands = [*self.tmps]
        if self.kind == "tif":
            cands.append(part_name(self.tmp))
        cands += [self.journal, self._journal_tmp()]
        return [p for p in cands if p.exists()]

    def _journal_tmp(self) -> Path:
        assert self.journal is not None
        return self.journal.with_name(self.journal.name + ".tmp")

    def _journal_header(self) -> dict[str, Any]:
        return {
            "format": _JOURNAL_FORMAT,
            "version": RESUME_JOURNAL_VERSION,
            "resume_key": self.resume_key,
            "kind": self.kind,
            "shape": list(self.shape),
            "meta": _meta_digest(self.meta),
        }

    def _read_journal(self) -> dict[str, Any] | None:
        """The journal's record, ``None`` when there is none (or it is unreadable and ``overwrite``)."""
        assert self.journal is not None
        if not self.journal.exists():
            return None
        try:
            rec = json.loads(self.journal.read_text(encoding="utf-8"))
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
            rec["blocks"] = [tuple(int(v) for v in b) for b in rec["blocks"]]
            if any(len(b) != 4 for b in rec["blocks"]):
                raise ValueError("a block is not (row_off, col_off, h, w)")
        except (OSError, ValueError, TypeError, KeyError) as exc:
            if self.overwrite:
                return None
            raise InputError(
                f"cannot write {self._shown}: its resume journal {self.journal} is unreadable ({exc}); delete "
                f"the partial files {', '.join(str(p) for p in self.partial_files())} or pass overwrite=True"
            ) from None
        return rec

    def _stale_reason(self, rec: dict[str, Any]) -> str | None:
        """What differs between the journal ``rec`` and this write (``None`` when it can be continued)."""
        want = self._journal_header()
        names = {"format": "journal format", "version": "journal version", "resume_key": "resume key"}
        for k in ("format", "version", "resume_key", "kind", "shape", "meta"):
            if rec.get(k) != want[k]:
                return names.get(k, "metadata" if k == "meta" else k)
        return None

    def _open_resumable(self) -> None:
        """Continue the partial files of an earlier write with the same key, or start them."""
        rec = self._read_journal()
        if rec is not None:
            reason = self._stale_reason(rec)
            if reason is not None:
                if not self.overwrite:
                    raise InputError(
                        f"cannot write {self._shown}: the partial files "
                        f"{', '.join(str(p) for p in self.partial_files())} are from another write (different "
                        f"{reason}); delete them or pass overwrite=True to start again"
                    )
                rec = None
        assert self._format.blocks is not None
        opener = self._format.blocks
        if rec is not None:
            try:
                self._sink = opener(
                    self.tmp, self.path, self.shape, self.meta, WRITER_GDAL_CACHE_BYTES, resume=True, reopen=True
                )
            except InputError as exc:  # the partial file is gone or damaged: nothing to continue
                logger.warning("%s: cannot continue the partial write (%s); starting again", self._shown, exc)
                rec = None
        if rec is not None:
            self.resumed = True
            self._finished = {(b[0], b[1]): b for b in rec["blocks"]}
            return
        self._remove_partials()
        try:
            self._write_journal()  # journal first: partial files without a journal are never continued
            self._sink = opener(self.tmp, self.path, self.shape, self.meta, WRITER_GDAL_CACHE_BYTES, resume=True)
        except BaseException:
            self._closed = True
            self._remove_partials()
            raise

    def _write_journal(self) -> None:
        """Replace the journal atomically (temporary file, ``fsync``, ``os.replace``, ``fsync`` of the folder)."""
        assert self.journal is not None
        rec = self._journal_header()
        rec["output"] = self.path.name
        rec["blocks"] = [list(b) for b in sorted(self._finished.values())]
        tmp = self._journal_tmp()
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(rec, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.journal)
        _fsync_dir(self.journal.parent)

    def _remove_partials(self) -> None:
        """Delete the partial files and the journal of a resumable write."""
        for p in self.partial_files():
            remove_quietly(p)
        for t in self.tmps:
            remove_quietly(Path(str(t) + ".aux.xml"))

    # ----------------------------------------------------------------------------------------------
    # writing
    # ----------------------------------------------------------------------------------------------
    def write(self, block: Any, row_off: int, col_off: int) -> None:
        """Write a ``(C, h, w)`` block at ``(row_off, col_off)`` of the cube (resumable: then record it).

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
            if self.journal is not None:
                self._sink.flush()  # the block is on disk before the journal says so
                r0, c0 = int(row_off), int(col_off)
                self._finished[(r0, c0)] = (r0, c0, int(arr.shape[1]), int(arr.shape[2]))
                self._write_journal()
        else:
            assert self._cube is not None
            bh, bw = arr.shape[1:]
            self._cube[:, row_off : row_off + bh, col_off : col_off + bw] = arr

    def close(self) -> Path:
        """Finish the file and move it into place; returns the final path. A resumable write then
        deletes its journal and partial files (if finishing fails they are kept, as by :meth:`abort`)."""
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
        if self.journal is not None:
            self._remove_partials()
        _drop_aux_xml(self.finals)
        return self.path

    def abort(self) -> None:
        """Stop writing; the destination is left as it was. The temporary file(s) are deleted, except for a
        resumable write (``resume_key``), whose partial files and journal are kept for a later writer with
        the same key (:meth:`discard` deletes them)."""
        self._closed = True
        if self._sink is not None:
            self._sink.abort()
            self._sink = None
        self._cube = None
        if self.journal is not None:
            return
        for t in self.tmps:
            remove_quietly(t)
            remove_quietly(Path(str(t) + ".aux.xml"))

    def discard(self) -> None:
        """:meth:`abort` and delete the partial files and journal of a resumable write too."""
        self.abort()
        if self.journal is not None:
            self._remove_partials()

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
    resume_key: str | None = None,
) -> CubeWriter:
    """Open a :class:`CubeWriter` for a ``(C, H, W)`` cube; use it as a context manager.

    Example::

        with open_cube_writer("fused.tif", (C, H, W), meta) as out:
            for r0 in range(0, H, out.block):
                out.write(rows_of_the_cube, r0, 0)

    Resumable (GeoTIFF, ENVI, ``.npy``): pass ``resume_key``, a fingerprint of the inputs and settings
    (the same blocks must come out of the same key), and skip the blocks already on disk::

        with open_cube_writer("fused.tif", (C, H, W), meta, resume_key=key) as out:
            for r0 in range(0, H, out.block):
                if not out.done(r0, 0):
                    out.write(rows_of_the_cube, r0, 0)

    An exception (or a kill) inside the ``with`` block keeps the partial files and journal beside the
    output; running the same code again continues them. ``overwrite`` replaces an existing output and
    starts again from partial files of another key, shape or metadata (refused without it).

    Raises:
        ValueError: unknown extension, metadata not matching the bands.
        FileExistsError: the output exists and ``overwrite`` is false.
        InputError: ``resume_key`` for ``.mat`` / ``.h5``, or partial files of another write.
    """
    return CubeWriter(path, shape, meta, overwrite, resume_key)
