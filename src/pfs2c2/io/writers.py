"""Write ``(C, H, W)`` cubes and small matrices, atomically.

Formats, chosen by the extension of the output path:

===================  ===============================================================================
``.tif`` ``.tiff``    GeoTIFF, float32, DEFLATE (floating-point predictor), tiled, band interleaved;
                      CRS / transform / nodata from the metadata; band descriptions ``"650.3 nm"``
                      (or the band names), band tags ``wavelength``, ``wavelength_units=nm``, ``fwhm``,
                      and GDAL's ``IMAGERY`` domain (``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``).
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

import datetime as _dt
import os
import secrets
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._common import PathLike, import_rasterio
from .meta import RasterMeta
from ..errors import InputError

__all__ = ["write_cube", "write_matrix_csv", "WRITE_EXTENSIONS", "default_bands", "check_writable", "open_cube_writer", "CubeWriter"]

#: Extensions :func:`write_cube` accepts.
WRITE_EXTENSIONS: tuple[str, ...] = (
    ".tif",
    ".tiff",
    ".hdr",
    ".img",
    ".dat",
    ".bsq",
    ".npy",
    ".mat",
    ".h5",
    ".hdf5",
)
_ENVI_DATA_EXT = (".img", ".dat", ".bsq")

#: Cubes at least this large (bytes) go to MATLAB v7.3 instead of v5 (whose variables are limited to
#: 2 GiB).
MAT5_MAX_BYTES = 2**31 - 1

#: Band centres (nm) used for the ENVI ``default bands`` (red, green, blue).
RGB_NM = (650.0, 550.0, 460.0)


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
    if ext not in WRITE_EXTENSIONS:
        raise InputError(
            f"cannot write {out}: unknown extension {ext or '(none)'!r}; "
            f"supported: {', '.join(WRITE_EXTENSIONS)}"
        )
    arr = _as_cube(cube, out)
    meta = meta if meta is not None else RasterMeta()
    meta.check_bands(arr.shape[0], f"cube to write to {out}")

    if ext in (".hdr",) + _ENVI_DATA_EXT:
        data = out.with_suffix(".img") if ext == ".hdr" else out
        finals = [data, data.with_suffix(".hdr")]
    else:
        finals = [out]
    _check_overwrite(out, finals, overwrite)
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    writer: Callable[[Path, np.ndarray, RasterMeta, Path], None]
    if ext in (".tif", ".tiff"):
        writer = _write_tif
    elif ext in (".hdr",) + _ENVI_DATA_EXT:
        writer = _write_envi
    elif ext == ".npy":
        writer = _write_npy
    elif ext == ".mat":
        writer = _write_mat
    else:
        writer = _write_h5

    tmp = _tmp_name(finals[0])
    tmps = [tmp] if len(finals) == 1 else [tmp, tmp.with_suffix(".hdr")]
    try:
        writer(tmp, arr, meta, finals[0])
        for t, f in zip(tmps, finals):
            os.replace(t, f)
    except BaseException:
        for t in tmps:
            _unlink(t)
            _unlink(Path(str(t) + ".aux.xml"))
        raise
    for f in finals:
        _unlink(Path(str(f) + ".aux.xml"))  # stale PAM side file would override the new metadata
    return finals[0]


def write_matrix_csv(
    path: PathLike,
    matrix: Any,
    header: Sequence[str] | None = None,
    index: tuple[str, Sequence[Any]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a 2-D matrix as CSV (``psf.csv``, ``srf.csv``), atomically.

    Layout: an optional header row (``index name`` first when ``index`` is given, then ``header`` or
    ``col1..colN``), then one row per matrix row, preceded by its index value. Numbers are written with
    the shortest representation that round-trips float64. :func:`~pfs2c2.io.readers.read_array` and
    :func:`~pfs2c2.io.readers.read_matrix_csv` read it back (an index column whose name looks like
    ``wavelength*``, ``band*``, ``index``, ``row`` or ``name`` is recognised as such).

    Args:
        path: Output ``.csv`` file.
        matrix: 2-D array ``(rows, cols)``.
        header: Column names (``cols`` entries), e.g. MSI band names for an SRF.
        index: ``(name, values)`` for a first column, e.g. ``("wavelength_nm", hsi_wavelengths)``.
        overwrite: Replace an existing file.

    Returns:
        The path written.

    Raises:
        ValueError: Not a 2-D finite matrix, header / index of the wrong length, names with commas.
        FileExistsError: The file exists and ``overwrite`` is false.
    """
    out = Path(path)
    m = np.asarray(matrix.detach().cpu() if hasattr(matrix, "detach") else matrix)
    if m.ndim != 2 or m.dtype.kind not in "iuf" or m.size == 0:
        raise InputError(
            f"cannot write {out}: expected a non-empty 2-D numeric matrix, got shape {m.shape} "
            f"({m.dtype})"
        )
    m = m.astype(np.float64)
    rows, cols = m.shape
    names: list[str] | None = None
    if header is not None:
        names = [str(h) for h in header]
        if len(names) != cols:
            raise InputError(
                f"cannot write {out}: {len(names)} column names for a matrix with {cols} columns"
            )
    idx_vals: list[str] | None = None
    if index is not None:
        idx_name, values = index
        vals = list(np.asarray(values).reshape(-1)) if not isinstance(values, list) else values
        if len(vals) != rows:
            raise InputError(
                f"cannot write {out}: {len(vals)} index values for a matrix with {rows} rows"
            )
        idx_vals = [_fmt_cell(v) for v in vals]
        names = [str(idx_name)] + (names if names is not None else [f"col{j + 1}" for j in range(cols)])
    for n in (names or []) + (idx_vals or []):
        if any(c in n for c in ',\n\r"'):
            raise InputError(
                f"cannot write {out}: name {n!r} contains a comma, quote or newline; rename it"
            )
    lines = []
    if names is not None:
        lines.append(",".join(names))
    for i in range(rows):
        cells = [repr(float(v)) for v in m[i]]
        if idx_vals is not None:
            cells.insert(0, idx_vals[i])
        lines.append(",".join(cells))
    text = "\n".join(lines) + "\n"

    _check_overwrite(out, [out], overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))


def atomic_write(path: PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary name beside ``path``, then rename it to ``path``.

    The temporary name keeps the suffix (so ``np.save`` adds nothing) and gets the usual umask
    permissions. On any error the temporary file is removed and ``path`` is left as it was.
    """
    out = Path(path)
    tmp = _tmp_name(out)
    try:
        write(tmp)
        os.replace(tmp, out)
    except BaseException:
        _unlink(tmp)
        raise
    return out


def check_writable(path: PathLike) -> None:
    """Check, before any work, that ``path`` can be created: its nearest existing ancestor directory
    must be a directory the user may write into (missing directories below it can be created).

    Raises:
        InputError: the ancestor is a file, or write permission is missing (one-line message).
    """
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot write {out}: {existing} is a file, not a directory; choose another output path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot write {out}: no write permission in the directory {existing}; choose an output "
            "directory you can write to"
        )


def default_bands(wavelengths_nm: np.ndarray | None, n_bands: int) -> list[int] | None:
    """1-based indices of the bands nearest 650 / 550 / 460 nm (ENVI ``default bands``)."""
    if wavelengths_nm is None or n_bands < 3:
        return None
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    return [int(np.argmin(np.abs(wl - t))) + 1 for t in RGB_NM]


# ==================================================================================================
# Helpers
# ==================================================================================================
def _as_cube(cube: Any, out: Path) -> np.ndarray:
    if hasattr(cube, "detach"):
        cube = cube.detach().cpu().numpy()
    arr = np.asarray(cube)
    if arr.ndim != 3:
        raise InputError(
            f"cannot write {out}: expected a cube (C, H, W), got an array of shape {arr.shape}"
        )
    if arr.dtype.kind not in "iufb" or 0 in arr.shape:
        raise InputError(
            f"cannot write {out}: expected a non-empty numeric (C, H, W) cube, got shape {arr.shape} "
            f"({arr.dtype})"
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_overwrite(shown: Path, finals: Sequence[Path], overwrite: bool) -> None:
    if overwrite:
        for f in finals:
            if f.is_dir():
                raise InputError(f"cannot write {f}: it is a directory")
        return
    if any(f.exists() for f in finals):
        raise FileExistsError(f"{shown} exists; pass --overwrite to replace it")


def _tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.stem}.{secrets.token_hex(4)}.tmp{final.suffix}")


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass
    except OSError:  # pragma: no cover - best effort cleanup
        pass


def _fmt(v: float) -> str:
    return format(float(v), ".10g")


def _fmt_cell(v: Any) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)):
        return repr(float(v))
    return str(v)


def _band_labels(meta: RasterMeta, n: int) -> list[str] | None:
    if meta.band_names is not None:
        return list(meta.band_names)
    if meta.wavelengths_nm is not None:
        return [f"{w:g} nm" for w in meta.wavelengths_nm]
    return None


def _hwc(cube: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(cube, (1, 2, 0)))


# ==================================================================================================
# GeoTIFF / ENVI
# ==================================================================================================
def _rasterio_profile(cube: np.ndarray | tuple[int, int, int], meta: RasterMeta) -> dict[str, Any]:
    c, h, w = cube if isinstance(cube, tuple) else cube.shape
    prof: dict[str, Any] = {"width": w, "height": h, "count": c, "dtype": "float32"}
    if meta.crs is not None:
        prof["crs"] = meta.crs
    if meta.transform is not None:
        from affine import Affine

        prof["transform"] = Affine(*meta.transform)
    if meta.nodata is not None:
        prof["nodata"] = meta.nodata
    return prof


def _tif_profile(shape: tuple[int, int, int], meta: RasterMeta) -> dict[str, Any]:
    _, h, w = shape
    prof = _rasterio_profile(shape, meta)
    block = 256 if max(h, w) >= 256 else max(16, -(-max(h, w) // 16) * 16)
    prof.update(
        driver="GTiff",
        compress="deflate",
        predictor=3,
        tiled=True,
        blockxsize=block,
        blockysize=block,
        interleave="band",
        bigtiff="IF_SAFER",
    )
    return prof


def _write_tif(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    c = cube.shape[0]
    prof = _tif_profile(cube.shape, meta)
    rasterio = import_rasterio(final, "writing GeoTIFF")
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(tmp, "w", **prof) as dst:
            dst.write(cube)
            _tif_metadata(dst, meta, c)


def _tif_metadata(dst: Any, meta: RasterMeta, c: int) -> None:
    """Band descriptions, units and wavelength tags of an open GeoTIFF dataset."""
    labels = _band_labels(meta, c)
    wl, fw = meta.wavelengths_nm, meta.fwhm_nm
    for i in range(c):
        b = i + 1
        if labels is not None:
            dst.set_band_description(b, labels[i])
        if meta.units:
            dst.set_band_unit(b, meta.units)
        tags: dict[str, str] = {}
        imagery: dict[str, str] = {}
        if wl is not None:
            tags.update(wavelength=_fmt(wl[i]), wavelength_units="nm")
            imagery["CENTRAL_WAVELENGTH_UM"] = _fmt(wl[i] / 1000.0)
        if fw is not None:
            tags["fwhm"] = _fmt(fw[i])
            imagery["FWHM_UM"] = _fmt(fw[i] / 1000.0)
        if tags:
            dst.update_tags(b, **tags)
        if imagery:
            dst.update_tags(b, ns="IMAGERY", **imagery)
    ds_tags = {"software": "pfs2c2"}
    if wl is not None:
        ds_tags["wavelength_units"] = "nm"
    dst.update_tags(**ds_tags)


def _write_envi(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    c, _, _ = cube.shape
    prof = _rasterio_profile(cube, meta)
    prof.update(driver="ENVI", interleave="bsq")
    rasterio = import_rasterio(final, "writing ENVI")
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(tmp, "w", **prof) as dst:
            dst.write(cube)
            _envi_metadata(dst, meta, c)
    _envi_fix_header(tmp, final)


def _envi_metadata(dst: Any, meta: RasterMeta, c: int) -> None:
    """Band names and the ENVI-domain wavelength / fwhm / default bands of an open ENVI dataset."""
    labels = _band_labels(meta, c)
    envi: dict[str, str] = {}
    if meta.wavelengths_nm is not None:
        envi["wavelength"] = "{" + ", ".join(_fmt(v) for v in meta.wavelengths_nm) + "}"
        envi["wavelength_units"] = "Nanometers"
        db = default_bands(meta.wavelengths_nm, c)
        if db is not None:
            envi["default_bands"] = "{" + ", ".join(str(b) for b in db) + "}"
    if meta.fwhm_nm is not None:
        envi["fwhm"] = "{" + ", ".join(_fmt(v) for v in meta.fwhm_nm) + "}"
    # "data ignore value" is written by GDAL from the nodata of the profile.
    if labels is not None:
        for i, lab in enumerate(labels):
            dst.set_band_description(i + 1, lab)
    if envi:
        dst.update_tags(ns="ENVI", **envi)


def _envi_fix_header(tmp: Path, final: Path) -> None:
    """Check GDAL wrote the header of ``tmp`` and give it the final data file name."""
    hdr = tmp.with_suffix(".hdr")
    if not hdr.is_file():  # pragma: no cover - GDAL always writes it
        raise RuntimeError(f"GDAL did not write the ENVI header {hdr}")
    # GDAL writes the (temporary) data file name as the description: use the final one.
    text = hdr.read_text(encoding="utf-8", errors="replace")
    text = text.replace(tmp.name, final.name)
    with open(hdr, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


# ==================================================================================================
# NumPy / MATLAB / HDF5
# ==================================================================================================
def _write_npy(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    with open(tmp, "wb") as fh:
        np.save(fh, _hwc(cube), allow_pickle=False)


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


def _write_mat(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
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
            f,
            "fused",
            _hwc(cube),
            "single",
            chunks=(c, min(w, 64), min(h, 64)),
            compression="gzip",
            compression_opts=4,
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


def _write_h5(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    import h5py

    c, h, w = cube.shape
    with h5py.File(tmp, "w") as f:
        ds = f.create_dataset(
            "fused",
            data=_hwc(cube),
            chunks=(min(h, 64), min(w, 64), c),
            compression="gzip",
            compression_opts=4,
            shuffle=True,
        )
        a = ds.attrs
        a["layout"] = "HWC"
        if meta.wavelengths_nm is not None:
            a["wavelength"] = meta.wavelengths_nm
            a["wavelength_units"] = "nm"
        if meta.fwhm_nm is not None:
            a["fwhm"] = meta.fwhm_nm
        if meta.crs is not None:
            a["crs"] = meta.crs
        if meta.transform is not None:
            a["transform"] = np.asarray(meta.transform, dtype=np.float64)
        if meta.nodata is not None:
            a["nodata"] = np.float64(meta.nodata)
        if meta.band_names is not None:
            a["band_names"] = np.asarray(meta.band_names, dtype=h5py.string_dtype())
        if meta.units is not None:
            a["units"] = meta.units
        f.attrs["software"] = "pfs2c2"


# ==================================================================================================
# Window-by-window writing (tiled fusion)
# ==================================================================================================
#: Formats :func:`open_cube_writer` writes block by block; the others are assembled in memory first.
WINDOWED_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff", ".hdr", ".img", ".dat", ".bsq", ".npy")
#: GDAL block cache while writing a GeoTIFF / ENVI file block by block (bounds the writer's memory).
WRITER_GDAL_CACHE_BYTES = 64 * 2**20


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
    """

    def __init__(self, path: PathLike, shape: tuple[int, int, int], meta: RasterMeta | None, overwrite: bool) -> None:
        out = Path(path)
        ext = out.suffix.lower()
        if ext not in WRITE_EXTENSIONS:
            raise ValueError(f"cannot write {out}: unknown extension {ext or '(none)'!r}; supported: {', '.join(WRITE_EXTENSIONS)}")
        c, h, w = (int(v) for v in shape)
        if min(c, h, w) < 1:
            raise ValueError(f"cannot write {out}: empty cube shape {tuple(shape)}")
        self.shape = (c, h, w)
        self.meta = meta if meta is not None else RasterMeta()
        self.meta.check_bands(c, f"cube to write to {out}")
        self.overwrite = overwrite
        self.block = 256
        self.kind = "tif" if ext in (".tif", ".tiff") else "envi" if ext in (".hdr",) + _ENVI_DATA_EXT else "npy" if ext == ".npy" else "memory"
        data = out.with_suffix(".img") if ext == ".hdr" else out
        self.finals = [data, data.with_suffix(".hdr")] if self.kind == "envi" else [out]
        self.path = self.finals[0]
        self._shown = out
        self._closed = False
        self._stack: Any = None
        self._fh: Any = None
        self._cube: np.ndarray | None = None
        self.tmp = _tmp_name(self.finals[0])
        self.tmps = [self.tmp, self.tmp.with_suffix(".hdr")] if self.kind == "envi" else [self.tmp]
        _check_overwrite(out, self.finals, overwrite)
        check_writable(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open()
        except BaseException:
            self.abort()
            raise

    def _open(self) -> None:
        c, h, w = self.shape
        if self.kind in ("tif", "envi"):
            import contextlib

            rasterio = import_rasterio(self.path, "writing GeoTIFF" if self.kind == "tif" else "writing ENVI")
            from rasterio.errors import NotGeoreferencedWarning

            if self.kind == "tif":
                prof = _tif_profile(self.shape, self.meta)
            else:
                prof = _rasterio_profile(self.shape, self.meta)
                prof.update(driver="ENVI", interleave="bsq")
            self._stack = contextlib.ExitStack()
            self._stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            self._stack.enter_context(rasterio.Env(GDAL_PAM_ENABLED="NO", GDAL_CACHEMAX=WRITER_GDAL_CACHE_BYTES))
            self._dst = self._stack.enter_context(rasterio.open(self.tmp, "w", **prof))
        elif self.kind == "npy":
            self._fh = open(self.tmp, "wb")
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False, "shape": (h, w, c)}
            np.lib.format.write_array_header_1_0(self._fh, header)
            self._offset = self._fh.tell()
            self._fh.truncate(self._offset + h * w * c * 4)
        else:
            self._cube = np.zeros(self.shape, np.float32)

    def write(self, block: Any, row_off: int, col_off: int) -> None:
        """Write a ``(C, h, w)`` block at ``(row_off, col_off)`` of the cube.

        Raises:
            ValueError: wrong band count or a block outside the cube.
        """
        arr = np.asarray(block, dtype=np.float32)
        c, h, w = self.shape
        if (arr.ndim != 3 or arr.shape[0] != c or row_off < 0 or col_off < 0
                or row_off + arr.shape[1] > h or col_off + arr.shape[2] > w):
            raise ValueError(f"block of shape {arr.shape} at ({row_off}, {col_off}) does not fit the cube {self.shape} of {self._shown}")
        bh, bw = arr.shape[1:]
        if self.kind in ("tif", "envi"):
            from rasterio.windows import Window as RWindow

            self._dst.write(arr, window=RWindow(col_off, row_off, bw, bh))
        elif self.kind == "npy":
            rows = np.ascontiguousarray(arr.transpose(1, 2, 0), dtype="<f4")
            for i in range(bh):
                self._fh.seek(self._offset + ((row_off + i) * w + col_off) * c * 4)
                self._fh.write(rows[i].tobytes())
        else:
            assert self._cube is not None
            self._cube[:, row_off : row_off + bh, col_off : col_off + bw] = arr

    def close(self) -> Path:
        """Finish the file and move it into place; returns the final path."""
        if self._closed:
            return self.path
        try:
            if self.kind == "memory":
                cube, self._cube = self._cube, None
                self._closed = True
                return write_cube(self._shown, cube, self.meta, overwrite=self.overwrite)
            if self.kind in ("tif", "envi"):
                if self.kind == "tif":
                    _tif_metadata(self._dst, self.meta, self.shape[0])
                else:
                    _envi_metadata(self._dst, self.meta, self.shape[0])
                self._stack.close()
                self._stack = None
                if self.kind == "envi":
                    _envi_fix_header(self.tmp, self.path)
            else:
                self._fh.close()
                self._fh = None
            _check_overwrite(self._shown, self.finals, self.overwrite)
            for t, f in zip(self.tmps, self.finals):
                os.replace(t, f)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        for f in self.finals:
            _unlink(Path(str(f) + ".aux.xml"))
        return self.path

    def abort(self) -> None:
        """Drop the temporary file(s); the destination is left as it was."""
        self._closed = True
        try:
            if self._stack is not None:
                self._stack.close()
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass
        self._stack = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._cube = None
        for t in self.tmps:
            _unlink(t)
            _unlink(Path(str(t) + ".aux.xml"))

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
