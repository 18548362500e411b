"""NumPy ``.npy``: cubes stored ``(H, W, C)`` (no metadata) and 2-D matrices.

Cubes are opened memory-mapped, so a window reads only its rows and the shape comes from the header.
Writing stores ``(H, W, C)`` float32, whole (:func:`write_npy`) or block by block (:class:`NpyBlockSink`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .._common import short_reason
from ..meta import RasterMeta
from ._shared import (
    CubeFormat,
    CubeProbe,
    Window,
    check_cube_array,
    check_matrix,
    check_window,
    dims_error,
    to_float32_chw,
)

__all__ = ["NUMPY", "load_npy", "read_matrix", "write_npy", "open_blocks", "NpyBlockSink"]


def load_npy(path: Path, mmap: bool) -> np.ndarray:
    """``np.load`` of a numeric ``.npy`` (memory-mapped when ``mmap``), with one-line errors."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        raise InputError(f"cannot read {path}: not a .npy file (no NumPy header); save it with np.save")
    _check_npy_size(path)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise InputError(
                f"cannot read {path}: it holds Python objects; save a numeric array with np.save"
            ) from None
        raise InputError(f"cannot read {path}: {short_reason(exc)}") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {short_reason(exc)}") from None


def _check_npy_size(path: Path) -> None:
    """Refuse a truncated ``.npy`` (fewer data bytes than its header announces) with a clear message."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh)
            offset = fh.tell()
    except Exception:
        return
    if dtype.hasobject:
        return
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = path.stat().st_size
    if actual < expected:
        raise InputError(
            f"cannot read {path}: the file is truncated ({actual} of {expected} bytes for a {dtype} array "
            f"{tuple(shape)}); copy or save it again"
        )


def read_cube(path: Path, var: str | None, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    """Read an ``(H, W, C)`` ``.npy`` as float32 ``(C, h, w)`` (``var`` is unused)."""
    arr = load_npy(path, mmap=True)
    if arr.ndim != 3:
        raise dims_error(str(path), arr.shape)
    r0, c0, wh, ww = check_window(window, arr.shape[0], arr.shape[1], str(path))
    arr = arr[r0 : r0 + wh, c0 : c0 + ww, :]
    cube = to_float32_chw(arr, (2, 0, 1), str(path))
    return cube, RasterMeta(source=str(path))


def probe(path: Path, var: str | None) -> CubeProbe:
    """Shape of an ``.npy`` cube from its header (memory map, no pixel read)."""
    arr = load_npy(path, mmap=True)
    if arr.ndim != 3:
        raise dims_error(str(path), arr.shape)
    check_cube_array(arr.dtype, arr.shape, str(path))
    h, w, c = (int(v) for v in arr.shape)
    return CubeProbe((c, h, w), str(path), str(path))


def _window_meta(state: str, r0: int, c0: int) -> RasterMeta:
    return RasterMeta(source=state)


NUMPY = CubeFormat("NumPy", (".npy",), read_cube, probe, _window_meta)


def read_matrix(path: Path, var: str | None) -> np.ndarray:
    """Read a 2-D ``.npy`` as float64."""
    arr = load_npy(path, mmap=False)
    check_matrix(arr, str(path))
    return np.asarray(arr, dtype=np.float64)


def _hwc(cube: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(cube, (1, 2, 0)))


def write_npy(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    """Write ``cube`` ``(C, H, W)`` as an ``(H, W, C)`` ``.npy`` (no metadata)."""
    with open(tmp, "wb") as fh:
        np.save(fh, _hwc(cube), allow_pickle=False)


def open_blocks(
    tmp: Path,
    final: Path,
    shape: tuple[int, int, int],
    meta: RasterMeta,
    cache_bytes: int,
    *,
    resume: bool = False,
    reopen: bool = False,
) -> NpyBlockSink:
    """An ``.npy`` open for writing block by block (``final``, ``meta`` and ``cache_bytes`` are unused).

    ``resume``: :meth:`NpyBlockSink.flush` makes the blocks durable; ``reopen``: continue the partial
    ``tmp`` of an interrupted write (its header must announce ``(H, W, C)`` float32 and its size match).
    """
    return NpyBlockSink(tmp, shape, resume=resume, reopen=reopen)


class NpyBlockSink:
    """An ``(H, W, C)`` float32 ``.npy`` written block by block by seeking in the file."""

    def __init__(self, tmp: Path, shape: tuple[int, int, int], *, resume: bool = False, reopen: bool = False) -> None:
        c, h, w = shape
        self.shape = shape
        self.resume = resume or reopen
        if reopen:
            self._offset = _check_partial_npy(tmp, (h, w, c))
            self._fh: Any = open(tmp, "r+b")  # closed in finish() / abort()
            return
        self._fh = open(tmp, "wb")
        try:
            header = {
                "descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
                "fortran_order": False,
                "shape": (h, w, c),
            }
            np.lib.format.write_array_header_1_0(self._fh, header)
            self._offset = self._fh.tell()
            self._fh.truncate(self._offset + h * w * c * 4)
        except BaseException:
            self.abort()
            raise

    def write(self, arr: np.ndarray, row_off: int, col_off: int) -> None:
        """Write a float32 ``(C, h, w)`` block at ``(row_off, col_off)``."""
        c, _, w = self.shape
        bh = arr.shape[1]
        rows = np.ascontiguousarray(arr.transpose(1, 2, 0), dtype="<f4")
        for i in range(bh):
            self._fh.seek(self._offset + ((row_off + i) * w + col_off) * c * 4)
            self._fh.write(rows[i].tobytes())

    def flush(self) -> None:
        """Put the blocks written so far on disk (``fsync``); a no-op unless ``resume``."""
        if self.resume and self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def finish(self) -> None:
        """Close the file."""
        self._fh.close()
        self._fh = None

    def abort(self) -> None:
        """Close the file without finishing it (the caller deletes or keeps it)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _check_partial_npy(path: Path, hwc: tuple[int, int, int]) -> int:
    """The data offset of the partial ``.npy`` at ``path``; :class:`InputError` unless it holds an ``hwc``
    float32 array of the full size."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            offset = fh.tell()
        size = path.stat().st_size
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot resume {path}: {short_reason(exc)}; delete it to start again") from None
    expected = offset + int(np.prod(hwc, dtype=np.int64)) * 4
    if tuple(shape) != hwc or fortran or dtype != np.dtype("<f4") or size != expected:
        raise InputError(
            f"cannot resume {path}: it is not a partial (H, W, C) = {hwc} float32 .npy of {expected} bytes; "
            "delete it to start again"
        )
    return offset
