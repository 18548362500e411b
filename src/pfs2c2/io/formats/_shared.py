"""What the format modules share: the format record, windows, float32 conversion, scale/offset,
wavelength parsing, band names and variable selection in containers (``.mat``, HDF5).

Private to :mod:`pfs2c2.io`: the readers in :mod:`pfs2c2.io.formats` use these helpers so that every
format converts, scales and names its bands the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ...errors import InputError
from .._common import parse_float_list
from ..meta import MICROMETRE_THRESHOLD, RasterMeta, wavelength_unit_factor, wavelengths_to_nm

Window = tuple[int, int, int, int]  # (row_off, col_off, height, width)

WL_NAMES = ("wavelength", "wavelengths", "wavelength_nm", "wavelengths_nm")
FWHM_NAMES = ("fwhm", "fwhm_nm", "bandwidth", "bandwidths")
NON_WAVELENGTH_UNITS = {"index", "band", "bands", "wavenumber", "ghz", "mhz", "hz"}

_PURE_WL_LABEL_RE = re.compile(r"^\s*[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*(nm|um|µm|μm)?\s*$", re.IGNORECASE)
_DEFAULT_BAND_RE = re.compile(r"^\s*band[\s_]*\d+\s*$", re.IGNORECASE)
# GDAL's ENVI driver appends " (<wavelength> <units>)" to the band names it reports.
_GDAL_WL_SUFFIX_RE = re.compile(r"\s*\(\s*[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*[^\W\d]*\s*\)\s*$")


# ==================================================================================================
# The record each cube format registers
# ==================================================================================================
@dataclass(frozen=True)
class CubeProbe:
    """What a format knows about a cube without reading its pixels.

    Attributes:
        shape: ``(C, H, W)`` as the reader returns it.
        label: the name the reader uses in messages (``path`` or ``path:variable``).
        state: format-specific, picklable data from which :attr:`CubeFormat.window_meta` builds the
            metadata of a window exactly as the reader does.
    """

    shape: tuple[int, int, int]
    label: str
    state: Any


@dataclass(frozen=True)
class CubeFormat:
    """One readable cube format: its name, extensions and functions.

    Attributes:
        name: human-readable name (``"GeoTIFF/COG"``), a key of :data:`pfs2c2.io.READ_FORMATS`.
        extensions: lower-case extensions with the dot.
        read: ``read(path, var, window) -> (float32 (C, h, w) cube, RasterMeta)``.
        probe: ``probe(path, var) -> CubeProbe``: shape and metadata without reading the pixels.
        window_meta: ``window_meta(state, row_off, col_off) -> RasterMeta``: the metadata ``read``
            returns for a window starting at ``(row_off, col_off)``.
        uses_gdal: read through rasterio / GDAL (GDAL's block cache applies).
        locate: ``locate(path) -> path`` of the file holding the pixels (ENVI: header -> data file);
            ``None`` when it is the file given.
    """

    name: str
    extensions: tuple[str, ...]
    read: Callable[[Path, str | None, Window | None], tuple[np.ndarray, RasterMeta]]
    probe: Callable[[Path, str | None], CubeProbe]
    window_meta: Callable[[Any, int, int], RasterMeta]
    uses_gdal: bool = False
    locate: Callable[[Path], Path] | None = None


class BlockSink(Protocol):
    """A cube file open for writing block by block (see :class:`pfs2c2.io.CubeWriter`).

    A sink opened with ``resume=True`` (see :class:`BlockOpener`) keeps its partial file(s) on
    :meth:`abort`, and :meth:`flush` makes the blocks written so far durable (on disk, readable by a later
    ``reopen``) before :class:`~pfs2c2.io.CubeWriter` records them in its journal.
    """

    def write(self, arr: np.ndarray, row_off: int, col_off: int) -> None:
        """Write a float32 ``(C, h, w)`` block at ``(row_off, col_off)``."""

    def flush(self) -> None:
        """Put the blocks written so far on disk (``fsync``); a no-op unless opened with ``resume``."""

    def finish(self) -> None:
        """Complete and close the (temporary) file."""

    def abort(self) -> None:
        """Close the file without completing it (best effort); a resumable sink keeps its partial files."""


class BlockOpener(Protocol):
    """``blocks(tmp, final, shape, meta, gdal_cache_bytes, *, resume=False, reopen=False) -> BlockSink``.

    ``resume``: write so that an interrupted write can be continued (partial files kept on abort, blocks
    made durable by :meth:`BlockSink.flush`); ``reopen``: continue the partial file(s) of such a write
    instead of creating them (refused with :class:`~pfs2c2.errors.InputError` when they do not match
    ``shape``).
    """

    def __call__(
        self,
        tmp: Path,
        final: Path,
        shape: tuple[int, int, int],
        meta: RasterMeta,
        cache_bytes: int,
        *,
        resume: bool = False,
        reopen: bool = False,
    ) -> BlockSink: ...


@dataclass(frozen=True)
class WriteFormat:
    """One writable cube format.

    Attributes:
        extensions: lower-case extensions with the dot.
        write: ``write(tmp, cube, meta, final)`` writes a float32 ``(C, H, W)`` cube to ``tmp`` (``final``
            is the name it will get, for messages and headers).
        blocks: a :class:`BlockOpener` for window-by-window (and resumable) writing; ``None`` when the
            library writes whole arrays only.
        paired_header: the format writes a ``.hdr`` next to the data file (ENVI).
    """

    extensions: tuple[str, ...]
    write: Callable[[Path, np.ndarray, RasterMeta, Path], None]
    blocks: BlockOpener | None = None
    paired_header: bool = False


def fsync_path(path: Path) -> None:
    """``fsync`` the file at ``path`` (its data reach the disk), if it exists."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ==================================================================================================
# Windows and conversion
# ==================================================================================================
def check_window(window: Window | None, h: int, w: int, name: str) -> tuple[int, int, int, int]:
    """``(row_off, col_off, height, width)`` of ``window`` inside an ``h x w`` image (whole image for None)."""
    if window is None:
        return 0, 0, h, w
    try:
        r0, c0, wh, ww = (int(v) for v in window)
    except (TypeError, ValueError):
        raise InputError(f"{name}: window must be (row_off, col_off, height, width), got {window!r}") from None
    if r0 < 0 or c0 < 0 or wh < 1 or ww < 1 or r0 + wh > h or c0 + ww > w:
        raise InputError(
            f"{name}: window {tuple(window)} (row_off, col_off, height, width) is outside the {h} x {w} image"
        )
    return r0, c0, wh, ww


def window_transform(transform: tuple[float, ...] | None, r0: int, c0: int) -> tuple[float, ...] | None:
    """Affine coefficients of a window whose first pixel is ``(r0, c0)`` of the image."""
    if transform is None or (r0 == 0 and c0 == 0):
        return transform
    a, b, c, d, e, f = transform
    return (a, b, a * c0 + b * r0 + c, d, e, d * c0 + e * r0 + f)


def check_cube_array(dtype: np.dtype, shape: tuple[int, ...], name: str) -> None:
    """Refuse non-numeric or empty data the way :func:`to_float32_chw` does (for probes)."""
    if dtype.kind not in "iuf":
        raise InputError(f"{name} holds {dtype} data; a cube needs numbers (integer or floating point)")
    if int(np.prod(shape, dtype=np.int64)) == 0:
        raise InputError(f"{name} holds an empty array {tuple(shape)}; a cube needs at least one row, column and band")


def to_float32_chw(arr: Any, axes: tuple[int, int, int], name: str) -> np.ndarray:
    """Convert a numeric 3-D array to C-contiguous float32 with ``axes`` = positions of (C, H, W)."""
    a = np.asarray(arr)
    check_cube_array(a.dtype, a.shape, name)
    return np.ascontiguousarray(np.transpose(a, axes), dtype=np.float32)


def dims_error(name: str, shape: tuple[int, ...]) -> InputError:
    """The error for a variable that is not 3-D."""
    if len(shape) == 2:
        return InputError(f"{name} holds a 2-D array ({shape[0]}, {shape[1]}); a cube needs 3 dimensions (H, W, bands)")
    return InputError(f"{name} holds a {len(shape)}-D array {tuple(shape)}; a cube needs 3 dimensions (H, W, bands)")


def check_matrix(arr: np.ndarray, name: str) -> None:
    """Refuse anything but a non-empty numeric 2-D array."""
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name} holds {arr.dtype} data; a matrix needs numbers")
    if arr.ndim != 2:
        extra = "; use read_cube for 3-D cubes" if arr.ndim == 3 else ""
        raise InputError(f"{name} holds a {arr.ndim}-D array {tuple(arr.shape)}; a matrix needs 2 dimensions{extra}")
    if arr.size == 0:
        raise InputError(f"{name} holds an empty matrix {tuple(arr.shape)}; it needs at least one row and column")


# ==================================================================================================
# Scale / offset
# ==================================================================================================
def _scale_factors(scales: np.ndarray | None, offsets: np.ndarray | None, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-band ``(scale, offset)`` ``(C,)`` with unusable entries replaced by 1 / 0."""
    s = np.ones(c) if scales is None else np.broadcast_to(np.asarray(scales, np.float64), (c,))
    o = np.zeros(c) if offsets is None else np.broadcast_to(np.asarray(offsets, np.float64), (c,))
    s = np.where(np.isfinite(s) & (s != 0), s, 1.0)
    o = np.where(np.isfinite(o), o, 0.0)
    return s, o


def _is_identity(s: np.ndarray, o: np.ndarray) -> bool:
    return bool(np.all(s == 1.0) and np.all(o == 0.0))


def _recorded(s: np.ndarray, o: np.ndarray) -> tuple[float | None, float | None]:
    rec_s = float(s[0]) if np.all(s == s[0]) else None
    rec_o = float(o[0]) if np.all(o == o[0]) else None
    return rec_s, rec_o


def scale_record(scales: np.ndarray | None, offsets: np.ndarray | None, c: int) -> tuple[float | None, float | None]:
    """The ``(scale, offset)`` :func:`apply_scale` records for a ``c``-band cube, without pixels."""
    s, o = _scale_factors(scales, offsets, c)
    if _is_identity(s, o):
        return None, None
    return _recorded(s, o)


def apply_scale(
    cube: np.ndarray,
    scales: np.ndarray | None,
    offsets: np.ndarray | None,
    nodata: float | None,
) -> tuple[float | None, float | None]:
    """Apply per-band ``value = stored * scale + offset`` in place; nodata pixels keep their value.

    Returns the (scale, offset) to record (``None`` if not applied or differing per band).
    """
    s, o = _scale_factors(scales, offsets, cube.shape[0])
    if _is_identity(s, o):
        return None, None
    mask = None
    if nodata is not None:
        mask = np.isnan(cube) if np.isnan(nodata) else cube == np.float32(nodata)
    cube *= s.astype(np.float32)[:, None, None]
    cube += o.astype(np.float32)[:, None, None]
    if mask is not None and mask.any():
        cube[mask] = np.float32(nodata)
    return _recorded(s, o)


# ==================================================================================================
# Wavelengths and band names
# ==================================================================================================
def wl_nm(values: Any, units: str | None, n: int) -> np.ndarray | None:
    """Wavelengths in nm if ``values`` holds ``n`` finite numbers in a length unit, else ``None``."""
    arr = parse_float_list(values)
    if arr is None or arr.size != n or not np.all(np.isfinite(arr)):
        return None
    if units is not None and str(units).strip().lower() in NON_WAVELENGTH_UNITS:
        return None
    return wavelengths_to_nm(arr, units)


def fwhm_nm(values: Any, units: str | None, wl_raw: np.ndarray | None, n: int) -> np.ndarray | None:
    """FWHM in nm, in the unit of the wavelengths (``wl_raw`` = wavelengths before conversion)."""
    arr = parse_float_list(values)
    if arr is None or arr.size != n or not np.all(np.isfinite(arr)):
        return None
    factor = wavelength_unit_factor(units)
    if factor is None:
        if wl_raw is not None:
            factor = 1000.0 if float(np.max(np.abs(wl_raw))) < MICROMETRE_THRESHOLD else 1.0
        else:
            factor = 1.0
    return arr * factor


def band_names(names: Sequence[str | None] | None) -> list[str] | None:
    """Band names worth keeping: drop empty, default ``Band N`` and pure wavelength labels."""
    if not names:
        return None
    cleaned = [("" if n is None else _GDAL_WL_SUFFIX_RE.sub("", str(n)).strip()) for n in names]
    if all(not n or _DEFAULT_BAND_RE.match(n) or _PURE_WL_LABEL_RE.match(n) for n in cleaned):
        return None
    return cleaned


# ==================================================================================================
# Containers (.mat v5 / v7.3, HDF5): variable selection
# ==================================================================================================
def _fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape)


def select_variable(
    path: Path,
    var: str | None,
    shapes: dict[str, tuple[int, ...]],
    want: int,
    sep: str = ":",
) -> str:
    """Pick the variable holding the ``want``-D array (3 = cube, 2 = matrix) among numeric ``shapes``."""

    def is_candidate(shape: tuple[int, ...]) -> bool:
        if want == 3:
            return len(shape) == 3
        return len(shape) == 2 and min(shape) > 1

    listing = ", ".join(f"{k} ({_fmt_shape(s)})" for k, s in shapes.items()) or "none"
    what = "3-D array" if want == 3 else "2-D matrix"
    if var is not None:
        key = match_name(var, shapes)
        if key is None:
            raise InputError(f"{path} has no numeric variable {var!r}; numeric variables: {listing}")
        return key
    cands = [k for k, s in shapes.items() if is_candidate(s)]
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        names = ", ".join(f"{k} ({_fmt_shape(shapes[k])})" for k in cands)
        raise InputError(
            f"{path} holds several {what}s: {names}; select one with {path}{sep}VAR, e.g. {path}{sep}{cands[0]}"
        )
    if want == 3:
        two_d = [k for k, s in shapes.items() if len(s) == 2 and min(s) > 1]
        if len(two_d) == 1:
            raise dims_error(f"{path}{sep}{two_d[0]}", shapes[two_d[0]])
        raise InputError(
            f"{path} holds no 3-D numeric array (numeric variables: {listing}); a cube needs 3 dimensions (H, W, bands)"
        )
    raise InputError(
        f"{path} holds no 2-D numeric matrix (numeric variables: {listing}); select one with {path}{sep}VAR"
    )


def match_name(var: str, names: Any) -> str | None:
    """The key of ``names`` that ``var`` means (exact, then without slashes, then case-insensitive)."""
    if var in names:
        return var
    stripped = var.strip("/")
    for k in names:
        if k.strip("/") == stripped:
            return k
    lower = [k for k in names if k.strip("/").lower() == stripped.lower()]
    return lower[0] if len(lower) == 1 else None


def vector_lookup(
    vectors: dict[str, Callable[[], np.ndarray]], names: Sequence[str], n: int
) -> tuple[str, np.ndarray] | None:
    """Find a 1-D variable whose (base) name is in ``names`` and that has ``n`` entries."""
    wanted = {x.lower() for x in names}
    for key, load in vectors.items():
        base = key.strip("/").split("/")[-1].lower()
        if base in wanted:
            vals = np.asarray(load(), dtype=np.float64).reshape(-1)
            if vals.size == n:
                return key, vals
    return None
