"""MATLAB ``.mat``: v5/v7 through scipy, v7.3 (HDF5) through h5py with the transposition undone.

Arrays are ``(H, W, C)``. The cube is found automatically when the file holds exactly one 3-D numeric
array, else it is selected with ``FILE.mat:VAR``. A 1-D variable ``wavelength``/``wavelengths``/
``wavelength_nm`` (and ``fwhm``) with ``C`` entries is picked up, with ``wavelength_units`` if present
(else the unit is guessed: values below 30 are micrometres); ``crs``, ``transform`` (6 values) and
``nodata`` variables too.

Writing: variable ``fused`` ``(H, W, C)`` single, plus ``wavelength`` and ``fwhm`` (column vectors,
nm), ``wavelength_units``, ``crs``, ``transform``, ``nodata`` when known; v5 (compressed) when the cube is
below 2 GiB, else v7.3 (HDF5 with MATLAB's header and transposed layout).
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .._common import as_str, short_reason
from ..meta import RasterMeta, wavelengths_to_nm
from ._shared import (
    FWHM_NAMES,
    NON_WAVELENGTH_UNITS,
    WL_NAMES,
    CubeFormat,
    CubeProbe,
    Window,
    check_cube_array,
    check_matrix,
    check_window,
    dims_error,
    fwhm_nm,
    match_name,
    select_variable,
    to_float32_chw,
    vector_lookup,
    window_transform,
)

__all__ = ["MATLAB", "MAT5_MAX_BYTES", "read_matrix", "write_mat"]

#: Cubes at least this large (bytes) go to MATLAB v7.3 instead of v5 (whose variables are limited to
#: 2 GiB).
MAT5_MAX_BYTES = 2**31 - 1

_MAT_NUMERIC = {"double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}


# ==================================================================================================
# Opening a file
# ==================================================================================================
def _mat_version(path: Path) -> int:
    """2 for v7.3 (HDF5; also plain HDF5 files named .mat), 1 for v5/v7, 0 for v4."""
    import h5py
    from scipy.io.matlab import matfile_version

    try:
        if h5py.is_hdf5(str(path)):
            return 2
    except OSError:
        pass

    from scipy.io.matlab import MatReadError

    try:
        major, _ = matfile_version(str(path))
    except Exception as exc:
        reason = short_reason(exc) if isinstance(exc, MatReadError) else "unrecognised or truncated header"
        raise InputError(f"cannot read {path}: not a MATLAB .mat file ({reason})") from None
    return int(major)


def _vectors_of(
    shapes: dict[str, tuple[int, ...]], load: Callable[[str], np.ndarray]
) -> dict[str, Callable[[], np.ndarray]]:
    return {k: partial(load, k) for k, s in shapes.items() if len(s) <= 2 and sum(d > 1 for d in s) <= 1}


class _Mat5:
    """MATLAB v4/v5/v7 file via scipy (variables listed with whosmat, loaded one by one)."""

    def __init__(self, path: Path) -> None:
        import scipy.io

        self.path = path
        self._io = scipy.io
        try:
            listing = scipy.io.whosmat(str(path))
        except Exception as exc:
            raise InputError(f"cannot read {path}: {short_reason(exc)}") from None
        self.shapes = {name: tuple(shape) for name, shape, cls in listing if cls in _MAT_NUMERIC}
        self.chars = [name for name, _, cls in listing if cls == "char"]
        self._cache: dict[str, Any] = {}

    def close(self) -> None:
        """Nothing to close (scipy reads the file per call)."""

    def load(self, names: Sequence[str]) -> dict[str, Any]:
        missing = [n for n in names if n not in self._cache]
        if missing:
            try:
                d = self._io.loadmat(str(self.path), variable_names=missing)
            except Exception as exc:
                raise InputError(f"cannot read {self.path}: {short_reason(exc)}") from None
            self._cache.update({k: d[k] for k in missing if k in d})
        return {n: self._cache.get(n) for n in names}

    def array(self, name: str, window: Window | None = None) -> np.ndarray:
        """Array in MATLAB orientation (H, W, C), rows/columns of ``window`` when given."""
        arr = np.asarray(self.load([name])[name])
        if window is None:
            return arr
        r0, c0, wh, ww = window
        return arr[r0 : r0 + wh, c0 : c0 + ww, :]

    def vectors(self) -> dict[str, Callable[[], np.ndarray]]:
        return _vectors_of(self.shapes, self.array)

    def string(self, name: str) -> str | None:
        match = match_name(name, self.chars)
        return as_str(self.load([match])[match]) if match else None


class _Mat73:
    """MATLAB v7.3 (HDF5) file via h5py; datasets are stored transposed (MATLAB is column-major)."""

    def __init__(self, path: Path) -> None:
        import h5py

        self.path = path
        try:
            self.f = h5py.File(path, "r")
        except Exception as exc:
            raise InputError(f"cannot read {path}: {short_reason(exc)}") from None
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.chars: list[str] = []

        def visit(name: str, obj: Any) -> None:
            if name.startswith("#") or not isinstance(obj, h5py.Dataset):
                return
            cls = as_str(obj.attrs.get("MATLAB_class"))
            empty = obj.attrs.get("MATLAB_empty")
            if empty is not None and int(np.asarray(empty).reshape(-1)[0]):
                return
            if cls == "char":
                self.chars.append(name)
            elif (cls in _MAT_NUMERIC or cls is None) and obj.dtype.kind in "iuf":
                self.shapes[name] = tuple(reversed(obj.shape))

        self.f.visititems(visit)

    def close(self) -> None:
        self.f.close()

    def array(self, name: str, window: Window | None = None) -> np.ndarray:
        ds = self.f[name]
        try:
            if window is None or ds.ndim != 3:
                return np.asarray(ds[()]).T
            r0, c0, wh, ww = window
            return np.asarray(ds[:, c0 : c0 + ww, r0 : r0 + wh]).T  # stored (C, W, H)
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read {self.path}:{name}: {short_reason(exc)}") from None

    def vectors(self) -> dict[str, Callable[[], np.ndarray]]:
        return _vectors_of(self.shapes, self.array)

    def string(self, name: str) -> str | None:
        match = match_name(name, self.chars)
        if match is None:
            return None
        codes = np.asarray(self.f[match][()]).reshape(-1)
        try:
            return "".join(chr(int(c)) for c in codes).strip() or None
        except (ValueError, OverflowError):
            return None


def _open_mat(path: Path) -> _Mat5 | _Mat73:
    return _Mat73(path) if _mat_version(path) == 2 else _Mat5(path)


# ==================================================================================================
# Reading
# ==================================================================================================
def _mat_meta(mat: _Mat5 | _Mat73, n: int, source: str) -> RasterMeta:
    vectors = mat.vectors()
    units = mat.string("wavelength_units")
    wl = fw = None
    found = vector_lookup(vectors, WL_NAMES, n)
    wl_raw = None
    if found is not None:
        wl_raw = found[1]
        if units is not None and units.strip().lower() in NON_WAVELENGTH_UNITS:
            wl = None
        else:
            wl = wavelengths_to_nm(wl_raw, units)
    else:
        named = [k for k in vectors if k.split("/")[-1].lower() in WL_NAMES]
        if named:
            warnings.warn(
                f"{source}: ignoring variable {named[0]!r}: its length does not match the {n} bands",
                stacklevel=3,
            )
    if wl is not None:
        f_found = vector_lookup(vectors, FWHM_NAMES, n)
        if f_found is not None:
            fw = fwhm_nm(f_found[1], units, wl_raw, n)
    crs = mat.string("crs")
    transform = None
    t_found = vector_lookup(vectors, ("transform",), 6)
    if t_found is not None:
        transform = tuple(float(v) for v in t_found[1])
    nodata = None
    nd_found = vector_lookup(vectors, ("nodata",), 1)
    if nd_found is not None:
        nodata = float(nd_found[1][0])
    return RasterMeta(crs=crs, transform=transform, wavelengths_nm=wl, fwhm_nm=fw, nodata=nodata, source=source)


def _window_meta(meta: RasterMeta, r0: int, c0: int) -> RasterMeta:
    """The metadata of the window at ``(r0, c0)`` (``meta`` is that of the file)."""
    return meta.replace(transform=window_transform(meta.transform, r0, c0))


def _cube_variable(mat: _Mat5 | _Mat73, path: Path, var: str | None) -> tuple[str, tuple[int, ...], str]:
    name = select_variable(path, var, mat.shapes, want=3)
    shape = mat.shapes[name]
    label = f"{path}:{name}"
    if len(shape) != 3:
        raise dims_error(label, shape)
    return name, shape, label


def read_cube(path: Path, var: str | None, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    """Read the ``(H, W, C)`` cube ``var`` (or the only 3-D one) as float32 ``(C, h, w)``."""
    mat = _open_mat(path)
    try:
        name, shape, label = _cube_variable(mat, path, var)
        win = check_window(window, shape[0], shape[1], label)
        if isinstance(mat, _Mat73):
            arr = mat.array(name, win if window is not None else None)
        else:
            arr = mat.array(name, win)
        cube = to_float32_chw(arr, (2, 0, 1), label)
        meta = _window_meta(_mat_meta(mat, cube.shape[0], label), win[0], win[1])
    finally:
        mat.close()
    return cube, meta


def probe(path: Path, var: str | None) -> CubeProbe:
    """Shape and metadata of a MATLAB cube; only the small 1-D variables are loaded."""
    mat = _open_mat(path)
    try:
        _, shape, label = _cube_variable(mat, path, var)
        check_cube_array(np.dtype(np.float64), shape, label)
        h, w, c = (int(v) for v in shape)
        meta = _mat_meta(mat, c, label)
    finally:
        mat.close()
    return CubeProbe((c, h, w), label, meta)


MATLAB = CubeFormat("MATLAB", (".mat",), read_cube, probe, _window_meta)


def read_matrix(path: Path, var: str | None) -> np.ndarray:
    """Read the 2-D matrix ``var`` (or the only one with both sides > 1) as float64."""
    mat = _open_mat(path)
    try:
        name = select_variable(path, var, mat.shapes, want=2)
        arr = np.asarray(mat.array(name))
    finally:
        mat.close()
    check_matrix(arr, f"{path}:{name}")
    return np.asarray(arr, dtype=np.float64)


# ==================================================================================================
# Writing
# ==================================================================================================
def _hwc(cube: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(cube, (1, 2, 0)))


def _mat_extras(meta: RasterMeta) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if meta.wavelengths_nm is not None:
        extra["wavelength"] = meta.wavelengths_nm.reshape(-1, 1)
        extra["wavelength_units"] = "nm"
    if meta.fwhm_nm is not None:
        extra["fwhm"] = meta.fwhm_nm.reshape(-1, 1)
    if meta.crs is not None:
        extra["crs"] = meta.crs
    if meta.transform is not None:
        extra["transform"] = np.asarray(meta.transform, dtype=np.float64).reshape(1, 6)
    if meta.nodata is not None:
        extra["nodata"] = np.float64(meta.nodata)
    return extra


def write_mat(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    """Write ``cube`` ``(C, H, W)`` as variable ``fused`` ``(H, W, C)`` (v5, or v7.3 when >= 2 GiB)."""
    if cube.nbytes >= MAT5_MAX_BYTES:
        _write_mat73(tmp, cube, meta)
        return
    import scipy.io

    data = {"fused": _hwc(cube), **_mat_extras(meta)}
    with open(tmp, "wb") as fh:
        scipy.io.savemat(fh, data, do_compression=True, oned_as="column")


def _mat73_header() -> bytes:
    now = _dt.datetime.now().strftime("%a %b %d %H:%M:%S %Y")
    text = f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {now} HDF5 schema 1.00 ."
    return text.encode("ascii").ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"


def _write_mat73(tmp: Path, cube: np.ndarray, meta: RasterMeta) -> None:
    """MATLAB v7.3: HDF5 with a 512-byte user block holding MATLAB's header; arrays transposed."""
    import h5py

    def put(f: Any, name: str, arr: np.ndarray, cls: str, **kw: Any) -> None:
        ds = f.create_dataset(name, data=np.ascontiguousarray(arr.T), **kw)
        ds.attrs["MATLAB_class"] = np.bytes_(cls)

    with h5py.File(tmp, "w", userblock_size=512, libver="earliest") as f:
        c, h, w = cube.shape
        put(
            f, "fused", _hwc(cube), "single", chunks=(c, min(w, 64), min(h, 64)), compression="gzip", compression_opts=4
        )
        for name, val in _mat_extras(meta).items():
            if isinstance(val, str):
                codes = np.frombuffer(val.encode("utf-16-le"), dtype=np.uint16).reshape(1, -1)
                ds = f.create_dataset(name, data=codes.T)
                ds.attrs["MATLAB_class"] = np.bytes_("char")
                ds.attrs["MATLAB_int_decode"] = np.int32(2)
            else:
                put(f, name, np.atleast_2d(np.asarray(val, dtype=np.float64)), "double")
    with open(tmp, "r+b") as fh:
        fh.write(_mat73_header())
