"""Read hyperspectral / multispectral cubes and small matrices from the files users have.

:func:`read_cube` returns every cube as float32 ``(C, H, W)`` plus a :class:`~pfs2c2.io.meta.RasterMeta`;
:func:`read_array` returns a 2-D float64 matrix (PSF kernel, SRF matrix). Formats, chosen by extension:

========================  ==========================================================================
``.tif`` ``.tiff``         GeoTIFF / COG via rasterio. Wavelengths from (first match): band tags
                           ``wavelength`` (+ ``wavelength_units`` on the band or the dataset), the
                           ``ENVI`` metadata domain (``wavelength``, ``fwhm``, ``wavelength_units``),
                           GDAL's ``IMAGERY`` domain (``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``), band
                           descriptions such as ``"650.3 nm"``. Integer data are scaled by the band
                           scales/offsets when set.
``.hdr`` ``.img``          ENVI via rasterio (either the header or the data file may be given; any file
``.dat`` ``.bsq``          with a sibling ``.hdr`` is read as ENVI). ``wavelength``, ``fwhm``,
``.bil`` ``.bip``          ``wavelength units`` and ``data ignore value`` (nodata) come from the header;
                           ``data gain/offset values`` are applied; so is ``reflectance scale factor``
                           (``value = DN / factor``) for integer data without gains. ``.img`` files
                           without a header are tried as ERDAS Imagine.
``.mat``                   MATLAB v5/v7 (scipy) and v7.3 (h5py, transposition undone). Arrays are
                           ``(H, W, C)``. The cube is found automatically when the file holds exactly
                           one 3-D numeric array, else select it with ``FILE.mat:VAR``. A 1-D variable
                           ``wavelength``/``wavelengths``/``wavelength_nm`` (and ``fwhm``) with ``C``
                           entries is picked up, with ``wavelength_units`` if present (else the unit is
                           guessed: values below 30 are micrometres).
``.npy``                   ``(H, W, C)``; no metadata.
``.h5`` ``.hdf5``          HDF5 / netCDF-4 via h5py; ``FILE.h5:/group/dataset`` selects a dataset,
``.he5`` ``.nc``           automatic when the file holds exactly one 3-D numeric dataset. Axis order is
                           ``(H, W, C)`` unless the dataset says otherwise, through (first match) an
                           attribute ``layout``/``axes``/``dimension_order`` (letters such as ``"CHW"``
                           or names such as ``"bands,rows,cols"``), an attribute ``interleave``
                           (``bsq`` = CHW, ``bil`` = HCW, ``bip`` = HWC), or netCDF dimension names
                           (``band``/``wavelength`` = C, ``y``/``row``/``line`` = H, ``x``/``col``/``sample``
                           = W). Wavelengths from the dataset attribute ``wavelength(s)`` or a 1-D dataset
                           named ``wavelength(s)`` with C entries anywhere in the file; ``crs``,
                           ``transform``, ``nodata``/``_FillValue``, ``scale_factor``/``add_offset``
                           (CF) attributes are honoured. netCDF-3 classic files are not supported.
========================  ==========================================================================

Every failure is a :class:`~pfs2c2.errors.InputError` (a ``ValueError``; ``FileNotFoundError`` for a
missing file) with a one-line message naming the file and saying how to fix the input. Nodata pixels keep
their value (they are not replaced by NaN); the value is recorded in ``meta.nodata``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._common import (
    split_line,
    to_float,
    PathLike,
    as_str,
    check_exists,
    import_rasterio,
    one_line,
    parse_float_list,
    short_reason,
    split_spec,
)
from .meta import RasterMeta, _unit_factor, wavelengths_to_nm
from ..errors import InputError

__all__ = [
    "read_cube",
    "read_array",
    "read_matrix_csv",
    "SUPPORTED_EXTENSIONS",
    "READ_FORMATS",
    "ARRAY_EXTENSIONS",
]

#: Readable cube formats: name -> extensions.
READ_FORMATS: dict[str, tuple[str, ...]] = {
    "GeoTIFF/COG": (".tif", ".tiff"),
    "ENVI": (".hdr", ".img", ".dat", ".bsq", ".bil", ".bip"),
    "MATLAB": (".mat",),
    "NumPy": (".npy",),
    "HDF5/netCDF-4": (".h5", ".hdf5", ".he5", ".nc"),
}
#: Extensions :func:`read_cube` accepts (plus any ENVI data file with a sibling ``.hdr``).
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(e for exts in READ_FORMATS.values() for e in exts)
#: Extensions :func:`read_array` accepts.
ARRAY_EXTENSIONS: tuple[str, ...] = (".npy", ".csv", ".tsv", ".txt", ".mat", ".h5", ".hdf5")

Window = tuple[int, int, int, int]  # (row_off, col_off, height, width)

_WL_NAMES = ("wavelength", "wavelengths", "wavelength_nm", "wavelengths_nm")
_FWHM_NAMES = ("fwhm", "fwhm_nm", "bandwidth", "bandwidths")
_NON_WAVELENGTH_UNITS = {"index", "band", "bands", "wavenumber", "ghz", "mhz", "hz"}
_MAT_NUMERIC = {
    "double",
    "single",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
}
_WL_LABEL_RE = re.compile(
    r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(nm|nanometers?|um|µm|μm|micrometers?|microns?)\b",
    re.IGNORECASE,
)
_PURE_WL_LABEL_RE = re.compile(
    r"^\s*[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*(nm|um|µm|μm)?\s*$", re.IGNORECASE
)
_DEFAULT_BAND_RE = re.compile(r"^\s*band[\s_]*\d+\s*$", re.IGNORECASE)
# GDAL's ENVI driver appends " (<wavelength> <units>)" to the band names it reports.
_GDAL_WL_SUFFIX_RE = re.compile(r"\s*\(\s*[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*[^\W\d]*\s*\)\s*$")


def _supported_text() -> str:
    return ", ".join(SUPPORTED_EXTENSIONS) + " (or an ENVI data file with a sibling .hdr)"


# ==================================================================================================
# Public API
# ==================================================================================================
def read_cube(
    spec: PathLike,
    *,
    wavelengths: Sequence[float] | np.ndarray | None = None,
    window: Window | None = None,
) -> tuple[np.ndarray, RasterMeta]:
    """Read a hyperspectral / multispectral cube as float32 ``(C, H, W)`` plus metadata.

    Args:
        spec: Path to the file; ``FILE.mat:VAR`` or ``FILE.h5:/path/to/dataset`` selects a variable in a
            container holding several 3-D arrays. See the module docstring for formats.
        wavelengths: Band centres ``(C,)`` overriding those of the file (nm, or micrometres when all
            values are below 30).
        window: Read only ``(row_off, col_off, height, width)`` pixels; the transform in the returned
            metadata is that of the window.

    Returns:
        ``(cube, meta)``: ``cube`` is a C-contiguous float32 array ``(C, H, W)``; integer data (DN) are
        converted and the file's scale/offset applied (recorded in ``meta.scale``/``meta.offset``).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Unknown extension, unreadable or corrupt file, no / several / 2-D arrays, wrong number
            of wavelengths; always with a one-line message naming the file and the fix.
    """
    path, var = split_spec(spec)
    check_exists(path)
    kind = _cube_kind(path)
    if kind == "envi" and path.suffix.lower() == ".hdr":
        path = _envi_data_for_header(path)
    if kind in ("tif", "envi"):
        cube, meta = _read_rasterio(path, window, kind)
    elif kind == "mat":
        cube, meta = _read_mat_cube(path, var, window)
    elif kind == "npy":
        cube, meta = _read_npy_cube(path, window)
    elif kind == "h5":
        cube, meta = _read_h5_cube(path, var, window)
    else:  # pragma: no cover - _cube_kind raises
        raise AssertionError(kind)
    if wavelengths is not None:
        try:
            wl = wavelengths_to_nm(wavelengths)
        except ValueError as exc:
            raise InputError(f"{path}: invalid wavelengths argument: {one_line(exc)}") from None
        if wl.size != cube.shape[0]:
            raise InputError(
                f"{path}: {wl.size} wavelengths given for a cube with {cube.shape[0]} bands; "
                f"give one wavelength per band"
            )
        fw = meta.fwhm_nm if meta.fwhm_nm is not None and meta.fwhm_nm.size == wl.size else None
        meta = meta.replace(wavelengths_nm=wl, fwhm_nm=fw)
    return cube, meta


def read_array(spec: PathLike, *, index_col: bool | None = None) -> np.ndarray:
    """Read a 2-D matrix (PSF kernel ``(k, k)``, SRF matrix ``(C_hsi, C_msi)``) as float64.

    Args:
        spec: ``.npy``, ``.csv``/``.tsv``/``.txt`` (comma, semicolon, tab or space separated, optional
            header row, ``#`` comments), ``.mat`` (``FILE.mat:VAR``; automatic when exactly one numeric
            matrix with both dimensions > 1 is present) or ``.h5`` (``FILE.h5:/dataset``).
        index_col: Text tables only: whether the first column is a row index to drop (e.g. the
            ``wavelength_nm`` column that :func:`~pfs2c2.io.writers.write_matrix_csv` writes). ``None``
            (default) drops it when it holds text or when its header is index-like: contains
            ``index``, starts with ``wavelength``/``wl``/``lambda``, ends with ``_nm``/``_um``, or is
            ``band(s)``, ``band_name``, ``name``, ``row``, ``idx``, ``channel``, ``nm``, ``um`` or empty.

    Returns:
        float64 array ``(rows, cols)``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Unknown extension, unreadable file, not a 2-D numeric matrix (one-line message).
    """
    path, var = split_spec(spec)
    check_exists(path)
    ext = path.suffix.lower()
    if ext in (".csv", ".tsv", ".txt"):
        return read_matrix_csv(path, index_col=index_col)[0]
    if ext == ".npy":
        arr = _load_npy(path, mmap=False)
        _check_matrix(arr, str(path))
        return np.asarray(arr, dtype=np.float64)
    if ext == ".mat":
        return _read_mat_matrix(path, var)
    if ext in (".h5", ".hdf5", ".he5", ".nc"):
        return _read_h5_matrix(path, var)
    raise InputError(
        f"cannot read {path} as a matrix: unknown extension {ext or '(none)'!r}; "
        f"supported: {', '.join(ARRAY_EXTENSIONS)}"
    )


def read_matrix_csv(
    path: PathLike, *, index_col: bool | None = None
) -> tuple[np.ndarray, list[str] | None, tuple[str, list[Any]] | None]:
    """Read a text table written by :func:`~pfs2c2.io.writers.write_matrix_csv` (or by hand).

    Returns:
        ``(matrix float64 (rows, cols), column names or None, (index name, index values) or None)``.
        Index values are floats when numeric, strings otherwise.

    Raises:
        ValueError: Not a text table, ragged rows, non-numeric cells, no data (one-line message).
    """
    p = Path(path)
    check_exists(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"cannot read {p}: not a text table (binary content)") from None
    header: list[str] | None = None
    rows: list[list[str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        toks = split_line(line)
        if header is None and not rows and any(to_float(t) is None for t in toks[1:] or toks):
            header = toks
            continue
        expected = len(header) if header is not None else (len(rows[0]) if rows else len(toks))
        if len(toks) != expected:
            raise InputError(
                f"{p}: line {lineno} has {len(toks)} columns, expected {expected}; "
                f"make every row as long as the {'header' if header is not None else 'first row'}"
            )
        rows.append(toks)
    if not rows:
        raise InputError(f"{p}: no numeric data rows; expected a table of numbers")
    first = [r[0] for r in rows]
    first_numeric = all(to_float(t) is not None for t in first)
    if index_col is None:
        index_col = (not first_numeric) or (
            header is not None and _is_index_name(header[0]) and len(rows[0]) > 1
        )
    index: tuple[str, list[Any]] | None = None
    if index_col:
        name = header[0] if header is not None else "index"
        values: list[Any] = [float(t) for t in first] if first_numeric else list(first)
        index = (name, values)
        rows = [r[1:] for r in rows]
        if header is not None:
            header = header[1:]
    out = np.empty((len(rows), len(rows[0])), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, t in enumerate(r):
            v = to_float(t)
            if v is None:
                raise InputError(
                    f"{p}: non-numeric value {t!r} in data row {i + 1}, column {j + 1}; "
                    f"only the header row and the first (index) column may hold text"
                )
            out[i, j] = v
    if out.shape[1] == 0:
        raise InputError(f"{p}: no data columns after the index column")
    return out, header, index


# ==================================================================================================
# Format detection
# ==================================================================================================
def _sibling_header(path: Path) -> Path | None:
    for cand in (path.with_suffix(".hdr"), Path(str(path) + ".hdr")):
        if cand != path and cand.is_file():
            return cand
    return None


def _cube_kind(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in (".tif", ".tiff"):
        return "tif"
    if ext in READ_FORMATS["ENVI"]:
        return "envi"
    if ext == ".mat":
        return "mat"
    if ext == ".npy":
        return "npy"
    if ext in READ_FORMATS["HDF5/netCDF-4"]:
        return "h5"
    if _sibling_header(path) is not None:
        return "envi"
    if ext in (".csv", ".tsv", ".txt"):
        raise InputError(
            f"cannot read {path} as a cube: text tables hold 2-D matrices (use read_array); "
            f"supported cube formats: {_supported_text()}"
        )
    raise InputError(
        f"cannot read {path}: unknown extension {ext or '(none)'!r}; supported: {_supported_text()}"
    )


def _envi_data_for_header(hdr: Path) -> Path:
    stem = hdr.with_suffix("")
    cands = [stem] + [
        stem.with_name(stem.name + e) for e in (".img", ".dat", ".bsq", ".bil", ".bip", ".raw", ".bin")
    ]
    for c in cands:
        if c.is_file() and c != hdr:
            return c
    raise InputError(
        f"{hdr}: ENVI header without its data file; put the data next to it as "
        f"{stem.name}.img (or .dat/.bsq/.bil/.bip/.raw, or no extension)"
    )


# ==================================================================================================
# Shared post-processing
# ==================================================================================================
def _check_window(window: Window | None, h: int, w: int, name: str) -> tuple[int, int, int, int]:
    if window is None:
        return 0, 0, h, w
    try:
        r0, c0, wh, ww = (int(v) for v in window)
    except (TypeError, ValueError):
        raise InputError(
            f"{name}: window must be (row_off, col_off, height, width), got {window!r}"
        ) from None
    if r0 < 0 or c0 < 0 or wh < 1 or ww < 1 or r0 + wh > h or c0 + ww > w:
        raise InputError(
            f"{name}: window {tuple(window)} (row_off, col_off, height, width) is outside the "
            f"{h} x {w} image"
        )
    return r0, c0, wh, ww


def _window_transform(
    transform: tuple[float, ...] | None, r0: int, c0: int
) -> tuple[float, ...] | None:
    if transform is None or (r0 == 0 and c0 == 0):
        return transform
    a, b, c, d, e, f = transform
    return (a, b, a * c0 + b * r0 + c, d, e, d * c0 + e * r0 + f)


def _to_float32_chw(arr: Any, axes: tuple[int, int, int], name: str) -> np.ndarray:
    """Convert a numeric 3-D array to C-contiguous float32 with ``axes`` = positions of (C, H, W)."""
    a = np.asarray(arr)
    if a.dtype.kind not in "iuf":
        raise InputError(
            f"{name} holds {a.dtype} data; a cube needs numbers (integer or floating point)"
        )
    if a.size == 0:
        raise InputError(
            f"{name} holds an empty array {tuple(a.shape)}; a cube needs at least one row, column and band"
        )
    return np.ascontiguousarray(np.transpose(a, axes), dtype=np.float32)


def _apply_scale(
    cube: np.ndarray,
    scales: np.ndarray | None,
    offsets: np.ndarray | None,
    nodata: float | None,
) -> tuple[float | None, float | None]:
    """Apply per-band ``value = stored * scale + offset`` in place; nodata pixels keep their value.

    Returns the (scale, offset) to record (``None`` if not applied or differing per band).
    """
    c = cube.shape[0]
    s = np.ones(c) if scales is None else np.broadcast_to(np.asarray(scales, np.float64), (c,))
    o = np.zeros(c) if offsets is None else np.broadcast_to(np.asarray(offsets, np.float64), (c,))
    s = np.where(np.isfinite(s) & (s != 0), s, 1.0)
    o = np.where(np.isfinite(o), o, 0.0)
    if np.all(s == 1.0) and np.all(o == 0.0):
        return None, None
    mask = None
    if nodata is not None:
        mask = np.isnan(cube) if np.isnan(nodata) else cube == np.float32(nodata)
    cube *= s.astype(np.float32)[:, None, None]
    cube += o.astype(np.float32)[:, None, None]
    if mask is not None and mask.any():
        cube[mask] = np.float32(nodata)
    rec_s = float(s[0]) if np.all(s == s[0]) else None
    rec_o = float(o[0]) if np.all(o == o[0]) else None
    return rec_s, rec_o


def _wl_nm(values: Any, units: str | None, n: int) -> np.ndarray | None:
    """Wavelengths in nm if ``values`` holds ``n`` finite numbers in a length unit, else ``None``."""
    arr = parse_float_list(values)
    if arr is None or arr.size != n or not np.all(np.isfinite(arr)):
        return None
    if units is not None and str(units).strip().lower() in _NON_WAVELENGTH_UNITS:
        return None
    return wavelengths_to_nm(arr, units)


def _fwhm_nm(values: Any, units: str | None, wl_raw: np.ndarray | None, n: int) -> np.ndarray | None:
    """FWHM in nm, in the unit of the wavelengths (``wl_raw`` = wavelengths before conversion)."""
    arr = parse_float_list(values)
    if arr is None or arr.size != n or not np.all(np.isfinite(arr)):
        return None
    factor = _unit_factor(units)
    if factor is None:
        if wl_raw is not None:
            factor = 1000.0 if float(np.max(np.abs(wl_raw))) < 30.0 else 1.0
        else:
            factor = 1.0
    return arr * factor


def _band_names(names: Sequence[str | None] | None) -> list[str] | None:
    """Band names worth keeping: drop empty, default ``Band N`` and pure wavelength labels."""
    if not names:
        return None
    cleaned = [("" if n is None else _GDAL_WL_SUFFIX_RE.sub("", str(n)).strip()) for n in names]
    if all(not n or _DEFAULT_BAND_RE.match(n) or _PURE_WL_LABEL_RE.match(n) for n in cleaned):
        return None
    return cleaned


# ==================================================================================================
# GeoTIFF / ENVI (rasterio)
# ==================================================================================================
def _crs_string(crs: Any) -> str | None:
    if crs is None:
        return None
    try:
        epsg = crs.to_epsg()
    except Exception:  # noqa: BLE001 - pyproj/GDAL lookups may fail on exotic CRS
        epsg = None
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _read_rasterio(path: Path, window: Window | None, kind: str) -> tuple[np.ndarray, RasterMeta]:
    what = "GeoTIFF" if kind == "tif" else "ENVI"
    rasterio = import_rasterio(path, f"reading {what}")
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    hint = ""
    if kind == "envi" and _sibling_header(path) is None and path.suffix.lower() != ".img":
        hint = f" (no ENVI header found: expected {path.with_suffix('.hdr').name} next to it)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                r0, c0, wh, ww = _check_window(window, src.height, src.width, str(path))
                win = None
                if window is not None:
                    from rasterio.windows import Window as RWindow

                    win = RWindow(c0, r0, ww, wh)
                if src.driver == "ENVI":
                    _check_envi_size(path, src)
                cube = src.read(window=win, out_dtype=np.float32)
                info = _rasterio_info(src)
    except ValueError:
        raise
    except (RasterioError, OSError, RuntimeError) as exc:
        raise InputError(f"cannot read {path}: {short_reason(exc)}{hint}") from None
    cube = np.ascontiguousarray(cube, dtype=np.float32)
    n = cube.shape[0]
    nodata = info["nodata"]
    scale, offset = _apply_scale(cube, info["scales"], info["offsets"], nodata)
    meta = RasterMeta(
        crs=info["crs"],
        transform=_window_transform(info["transform"], r0, c0),
        wavelengths_nm=info["wavelengths"],
        fwhm_nm=info["fwhm"],
        nodata=nodata,
        band_names=info["band_names"],
        scale=scale,
        offset=offset,
        units=info["units"],
        source=str(path),
    )
    meta.check_bands(n, str(path))
    return cube, meta


def _check_envi_size(path: Path, src: Any) -> None:
    """GDAL reads zeros past the end of a truncated ENVI file: refuse it instead."""
    envi = src.tags(ns="ENVI")
    try:
        offset = int(float(envi.get("header_offset", 0)))
    except ValueError:
        offset = 0
    expected = offset + src.count * src.height * src.width * np.dtype(src.dtypes[0]).itemsize
    actual = path.stat().st_size
    if actual < expected:
        raise InputError(
            f"cannot read {path}: data file is truncated ({actual} bytes, the header needs {expected})"
        )


def _rasterio_info(src: Any) -> dict[str, Any]:
    """Metadata of an open rasterio dataset (no pixel reads)."""
    n = src.count
    tags = src.tags()
    envi = src.tags(ns="ENVI") if "ENVI" in (src.tag_namespaces() or []) else {}
    band_tags = [src.tags(i) for i in range(1, n + 1)]
    imagery = [
        src.tags(i, ns="IMAGERY") if "IMAGERY" in (src.tag_namespaces(i) or []) else {}
        for i in range(1, n + 1)
    ]
    descriptions = list(src.descriptions or [None] * n)

    # --- wavelengths / fwhm, first source that covers every band
    wl = fw = None
    units = (
        band_tags[0].get("wavelength_units")
        or tags.get("wavelength_units")
        or envi.get("wavelength_units")
        if n
        else None
    )
    if n and all("wavelength" in t for t in band_tags):
        raw = [t["wavelength"] for t in band_tags]
        wl = _wl_nm(raw, units, n)
        if wl is not None and all("fwhm" in t for t in band_tags):
            fw = _fwhm_nm([t["fwhm"] for t in band_tags], units, parse_float_list(raw), n)
    if wl is None and "wavelength" in envi:
        units = envi.get("wavelength_units")
        wl = _wl_nm(envi["wavelength"], units, n)
        if wl is not None and "fwhm" in envi:
            fw = _fwhm_nm(envi["fwhm"], units, parse_float_list(envi["wavelength"]), n)
    if wl is None and n and all("CENTRAL_WAVELENGTH_UM" in t for t in imagery):
        wl = _wl_nm([t["CENTRAL_WAVELENGTH_UM"] for t in imagery], "um", n)
        if wl is not None and all("FWHM_UM" in t for t in imagery):
            fw = _fwhm_nm([t["FWHM_UM"] for t in imagery], "um", None, n)
    if wl is None and n and all(descriptions):
        found = [_WL_LABEL_RE.search(d) for d in descriptions]
        if all(found):
            vals = [
                float(m.group(1)) * (_unit_factor(m.group(2)) or 1.0)  # type: ignore[union-attr]
                for m in found
            ]
            wl = np.asarray(vals, dtype=np.float64)
    if fw is None and wl is not None and "fwhm" in envi:
        fw = _fwhm_nm(envi["fwhm"], envi.get("wavelength_units"), None, n)

    # --- nodata, scale/offset
    nodata = src.nodata
    if nodata is None and "data_ignore_value" in envi:
        nd = parse_float_list(envi["data_ignore_value"])
        nodata = float(nd[0]) if nd is not None and nd.size == 1 else None
    scales = np.asarray(src.scales, dtype=np.float64) if src.scales else None
    offsets = np.asarray(src.offsets, dtype=np.float64) if src.offsets else None
    is_int = np.dtype(src.dtypes[0]).kind in "iu" if n else False
    no_gain = (scales is None or np.all(scales == 1.0)) and (offsets is None or np.all(offsets == 0.0))
    if is_int and no_gain and "reflectance_scale_factor" in envi:
        rsf = parse_float_list(envi["reflectance_scale_factor"])
        if rsf is not None and rsf.size == 1 and np.isfinite(rsf[0]) and rsf[0] not in (0.0, 1.0):
            scales = np.full(n, 1.0 / rsf[0])

    # --- grid
    crs = _crs_string(src.crs)
    t = src.transform
    transform: tuple[float, ...] | None = tuple(t)[:6]
    if crs is None and t.is_identity:
        transform = None

    band_units = [u for u in (src.units or []) if u]
    return {
        "wavelengths": wl,
        "fwhm": fw,
        "nodata": None if nodata is None else float(nodata),
        "scales": scales,
        "offsets": offsets,
        "crs": crs,
        "transform": transform,
        "band_names": _band_names(descriptions),
        "units": band_units[0] if band_units else None,
    }


# ==================================================================================================
# NumPy
# ==================================================================================================
def _load_npy(path: Path, mmap: bool) -> np.ndarray:
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
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(fh)
            offset = fh.tell()
    except Exception:  # noqa: BLE001 - a broken header is reported by np.load below
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


def _dims_error(name: str, shape: tuple[int, ...]) -> InputError:
    if len(shape) == 2:
        return InputError(
            f"{name} holds a 2-D array ({shape[0]}, {shape[1]}); a cube needs 3 dimensions "
            f"(H, W, bands)"
        )
    return InputError(
        f"{name} holds a {len(shape)}-D array {tuple(shape)}; a cube needs 3 dimensions (H, W, bands)"
    )


def _read_npy_cube(path: Path, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    arr = _load_npy(path, mmap=True)
    if arr.ndim != 3:
        raise _dims_error(str(path), arr.shape)
    r0, c0, wh, ww = _check_window(window, arr.shape[0], arr.shape[1], str(path))
    arr = arr[r0 : r0 + wh, c0 : c0 + ww, :]
    cube = _to_float32_chw(arr, (2, 0, 1), str(path))
    return cube, RasterMeta(source=str(path))


def _check_matrix(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name} holds {arr.dtype} data; a matrix needs numbers")
    if arr.ndim != 2:
        extra = "; use read_cube for 3-D cubes" if arr.ndim == 3 else ""
        raise InputError(
            f"{name} holds a {arr.ndim}-D array {tuple(arr.shape)}; a matrix needs 2 dimensions{extra}"
        )
    if arr.size == 0:
        raise InputError(f"{name} holds an empty matrix {tuple(arr.shape)}; it needs at least one row and column")


# ==================================================================================================
# Containers (.mat v5 / v7.3, HDF5): variable selection
# ==================================================================================================
def _fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape)


def _select_variable(
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
        key = _match_name(var, shapes)
        if key is None:
            raise InputError(
                f"{path} has no numeric variable {var!r}; numeric variables: {listing}"
            )
        return key
    cands = [k for k, s in shapes.items() if is_candidate(s)]
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        names = ", ".join(f"{k} ({_fmt_shape(shapes[k])})" for k in cands)
        raise InputError(
            f"{path} holds several {what}s: {names}; select one with {path}{sep}VAR, "
            f"e.g. {path}{sep}{cands[0]}"
        )
    if want == 3:
        two_d = [k for k, s in shapes.items() if len(s) == 2 and min(s) > 1]
        if len(two_d) == 1:
            raise _dims_error(f"{path}{sep}{two_d[0]}", shapes[two_d[0]])
        raise InputError(
            f"{path} holds no 3-D numeric array (numeric variables: {listing}); a cube needs "
            f"3 dimensions (H, W, bands)"
        )
    raise InputError(
        f"{path} holds no 2-D numeric matrix (numeric variables: {listing}); "
        f"select one with {path}{sep}VAR"
    )


def _match_name(var: str, names: Any) -> str | None:
    if var in names:
        return var
    stripped = var.strip("/")
    for k in names:
        if k.strip("/") == stripped:
            return k
    lower = [k for k in names if k.strip("/").lower() == stripped.lower()]
    return lower[0] if len(lower) == 1 else None


def _vector_lookup(
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


# ==================================================================================================
# MATLAB
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
    except Exception as exc:  # noqa: BLE001 - scipy raises several types for non-MAT files
        reason = short_reason(exc) if isinstance(exc, MatReadError) else "unrecognised or truncated header"
        raise InputError(f"cannot read {path}: not a MATLAB .mat file ({reason})") from None
    return int(major)


class _Mat5:
    """MATLAB v4/v5/v7 file via scipy (variables listed with whosmat, loaded one by one)."""

    def __init__(self, path: Path) -> None:
        import scipy.io

        self.path = path
        self._io = scipy.io
        try:
            listing = scipy.io.whosmat(str(path))
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"cannot read {path}: {short_reason(exc)}") from None
        self.shapes = {name: tuple(shape) for name, shape, cls in listing if cls in _MAT_NUMERIC}
        self.chars = [name for name, _, cls in listing if cls == "char"]
        self._cache: dict[str, Any] = {}

    def load(self, names: Sequence[str]) -> dict[str, Any]:
        missing = [n for n in names if n not in self._cache]
        if missing:
            try:
                d = self._io.loadmat(str(self.path), variable_names=missing)
            except Exception as exc:  # noqa: BLE001
                raise InputError(f"cannot read {self.path}: {short_reason(exc)}") from None
            self._cache.update({k: d[k] for k in missing if k in d})
        return {n: self._cache.get(n) for n in names}

    def array(self, name: str) -> np.ndarray:
        """Array in MATLAB orientation (H, W, C)."""
        return np.asarray(self.load([name])[name])

    def vectors(self) -> dict[str, Callable[[], np.ndarray]]:
        return {
            k: (lambda k=k: self.array(k))
            for k, s in self.shapes.items()
            if len(s) <= 2 and sum(d > 1 for d in s) <= 1
        }

    def string(self, name: str) -> str | None:
        match = _match_name(name, self.chars)
        return as_str(self.load([match])[match]) if match else None


class _Mat73:
    """MATLAB v7.3 (HDF5) file via h5py; datasets are stored transposed (MATLAB is column-major)."""

    def __init__(self, path: Path) -> None:
        import h5py

        self.path = path
        try:
            self.f = h5py.File(path, "r")
        except Exception as exc:  # noqa: BLE001
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

    def array(self, name: str, window: tuple[int, int, int, int] | None = None) -> np.ndarray:
        ds = self.f[name]
        try:
            if window is None or ds.ndim != 3:
                return np.asarray(ds[()]).T
            r0, c0, wh, ww = window
            return np.asarray(ds[:, c0 : c0 + ww, r0 : r0 + wh]).T  # stored (C, W, H)
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read {self.path}:{name}: {short_reason(exc)}") from None

    def vectors(self) -> dict[str, Callable[[], np.ndarray]]:
        return {
            k: (lambda k=k: self.array(k))
            for k, s in self.shapes.items()
            if len(s) <= 2 and sum(d > 1 for d in s) <= 1
        }

    def string(self, name: str) -> str | None:
        match = _match_name(name, self.chars)
        if match is None:
            return None
        codes = np.asarray(self.f[match][()]).reshape(-1)
        try:
            return "".join(chr(int(c)) for c in codes).strip() or None
        except (ValueError, OverflowError):
            return None


def _open_mat(path: Path) -> _Mat5 | _Mat73:
    return _Mat73(path) if _mat_version(path) == 2 else _Mat5(path)


def _mat_meta(mat: _Mat5 | _Mat73, n: int, source: str) -> RasterMeta:
    vectors = mat.vectors()
    units = mat.string("wavelength_units")
    wl = fw = None
    found = _vector_lookup(vectors, _WL_NAMES, n)
    wl_raw = None
    if found is not None:
        wl_raw = found[1]
        if units is not None and units.strip().lower() in _NON_WAVELENGTH_UNITS:
            wl = None
        else:
            wl = wavelengths_to_nm(wl_raw, units)
    else:
        named = [k for k in vectors if k.split("/")[-1].lower() in _WL_NAMES]
        if named:
            warnings.warn(
                f"{source}: ignoring variable {named[0]!r}: its length does not match the {n} bands",
                stacklevel=3,
            )
    if wl is not None:
        f_found = _vector_lookup(vectors, _FWHM_NAMES, n)
        if f_found is not None:
            fw = _fwhm_nm(f_found[1], units, wl_raw, n)
    crs = mat.string("crs")
    transform = None
    t_found = _vector_lookup(vectors, ("transform",), 6)
    if t_found is not None:
        transform = tuple(float(v) for v in t_found[1])
    nodata = None
    nd_found = _vector_lookup(vectors, ("nodata",), 1)
    if nd_found is not None:
        nodata = float(nd_found[1][0])
    return RasterMeta(
        crs=crs, transform=transform, wavelengths_nm=wl, fwhm_nm=fw, nodata=nodata, source=source
    )


def _read_mat_cube(path: Path, var: str | None, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    mat = _open_mat(path)
    try:
        name = _select_variable(path, var, mat.shapes, want=3)
        shape = mat.shapes[name]
        label = f"{path}:{name}"
        if len(shape) != 3:
            raise _dims_error(label, shape)
        win = _check_window(window, shape[0], shape[1], label)
        if isinstance(mat, _Mat73):
            arr = mat.array(name, win if window is not None else None)
        else:
            r0, c0, wh, ww = win
            arr = mat.array(name)[r0 : r0 + wh, c0 : c0 + ww, :]
        cube = _to_float32_chw(arr, (2, 0, 1), label)
        meta = _mat_meta(mat, cube.shape[0], label)
        meta = meta.replace(transform=_window_transform(meta.transform, win[0], win[1]))
    finally:
        if isinstance(mat, _Mat73):
            mat.close()
    return cube, meta


def _read_mat_matrix(path: Path, var: str | None) -> np.ndarray:
    mat = _open_mat(path)
    try:
        name = _select_variable(path, var, mat.shapes, want=2)
        arr = np.asarray(mat.array(name))
    finally:
        if isinstance(mat, _Mat73):
            mat.close()
    _check_matrix(arr, f"{path}:{name}")
    return np.asarray(arr, dtype=np.float64)


# ==================================================================================================
# HDF5 / netCDF-4
# ==================================================================================================
_AXIS_WORDS = {
    "C": {"c", "b", "z", "band", "bands", "channel", "channels", "wavelength", "wavelengths",
          "spectral", "spectrum", "lambda", "bsq_band"},
    "H": {"h", "y", "row", "rows", "line", "lines", "height", "lat", "latitude", "downtrack",
          "along_track", "northing"},
    "W": {"w", "x", "col", "cols", "column", "columns", "sample", "samples", "width", "lon",
          "longitude", "crosstrack", "cross_track", "easting"},
}
_INTERLEAVE = {"bsq": "CHW", "bil": "HCW", "bip": "HWC"}


def _axis_letter(word: str) -> str | None:
    w = word.strip().lower()
    for letter, words in _AXIS_WORDS.items():
        if w in words:
            return letter
    for letter, words in _AXIS_WORDS.items():  # e.g. "number_of_bands", "bands_dim"
        if len(w) > 3 and any(len(x) > 3 and x in w for x in words):
            return letter
    return None


def _parse_layout(text: str | None) -> str | None:
    if not text:
        return None
    s = text.strip()
    if s.lower() in _INTERLEAVE:
        return _INTERLEAVE[s.lower()]
    tokens = [t for t in re.split(r"[\s,;()\[\]*]+", s) if t] if re.search(r"[\s,;]", s) else None
    if tokens is None:
        tokens = list(s) if len(s) == 3 else [s]
    letters = [_axis_letter(t) for t in tokens]
    if len(letters) == 3 and None not in letters and len(set(letters)) == 3:
        return "".join(letters)  # type: ignore[arg-type]
    return None


def _h5_layout(ds: Any) -> str:
    """Axis order of a 3-D dataset as a permutation of ``"HWC"`` (default ``"HWC"``)."""
    for key in ("layout", "axes", "dimension_order", "dims", "interleave"):
        if key in ds.attrs:
            lay = _parse_layout(as_str(ds.attrs[key]))
            if lay is not None:
                return lay
            raise InputError(
                f"{ds.file.filename}:{ds.name}: cannot understand the {key!r} attribute "
                f"{as_str(ds.attrs[key])!r}; use a permutation of 'HWC' such as 'CHW'"
            )
    try:  # netCDF-4 / HDF5 dimension scales
        names = []
        for dim in ds.dims:
            scales = list(dim.values())
            label = dim.label or (scales[0].name.split("/")[-1] if scales else "")
            names.append(label)
        letters = [_axis_letter(n) if n else None for n in names]
        if None not in letters and len(set(letters)) == 3:
            return "".join(letters)  # type: ignore[arg-type]
        if letters.count("C") == 1:
            rest = [i for i, l in enumerate(letters) if l != "C"]
            out = ["?"] * 3
            out[letters.index("C")] = "C"
            out[rest[0]], out[rest[1]] = "H", "W"
            return "".join(out)
    except Exception:  # noqa: BLE001 - dimension scales are optional and sometimes broken
        pass
    return "HWC"


class _H5:
    def __init__(self, path: Path) -> None:
        import h5py

        self.path = path
        try:
            is_h5 = h5py.is_hdf5(str(path))
        except OSError:
            is_h5 = False
        if not is_h5:
            with open(path, "rb") as fh:
                magic = fh.read(4)
            if magic[:3] == b"CDF":
                raise InputError(
                    f"cannot read {path}: netCDF-3 classic files are not supported; convert it to "
                    f"netCDF-4 with 'nccopy -k nc4 IN OUT'"
                )
            raise InputError(f"cannot read {path}: not an HDF5 / netCDF-4 file (no HDF5 signature)")
        try:
            self.f = h5py.File(path, "r")
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"cannot read {path}: {short_reason(exc)}") from None
        self.shapes: dict[str, tuple[int, ...]] = {}

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iuf" and obj.ndim >= 1:
                self.shapes["/" + name] = tuple(obj.shape)

        self.f.visititems(visit)

    def close(self) -> None:
        self.f.close()

    def vectors(self) -> dict[str, Callable[[], np.ndarray]]:
        return {
            k: (lambda k=k: np.asarray(self.f[k][()]))
            for k, s in self.shapes.items()
            if sum(d > 1 for d in s) <= 1
        }


def _attr(attrs: Any, names: Sequence[str]) -> Any:
    lower = {k.lower(): k for k in attrs.keys()}
    for n in names:
        if n.lower() in lower:
            return attrs[lower[n.lower()]]
    return None


def _read_h5_cube(path: Path, var: str | None, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    h5 = _H5(path)
    try:
        name = _select_variable(path, var, h5.shapes, want=3)
        ds = h5.f[name]
        label = f"{path}:{name}"
        if ds.ndim != 3:
            raise _dims_error(label, ds.shape)
        layout = _h5_layout(ds)
        hh, ww_ = ds.shape[layout.index("H")], ds.shape[layout.index("W")]
        r0, c0, wh, ww = _check_window(window, hh, ww_, label)
        sl = {"H": slice(r0, r0 + wh), "W": slice(c0, c0 + ww), "C": slice(None)}
        try:
            arr = ds[tuple(sl[a] for a in layout)] if window is not None else ds[()]
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read {label}: {short_reason(exc)}") from None
        axes = (layout.index("C"), layout.index("H"), layout.index("W"))
        cube = _to_float32_chw(arr, axes, label)
        n = cube.shape[0]
        a = ds.attrs

        units = as_str(_attr(a, ("wavelength_units", "wavelength units")))
        wl_raw = parse_float_list(_attr(a, _WL_NAMES))
        wl = fw = None
        if wl_raw is not None and wl_raw.size == n:
            wl = _wl_nm(wl_raw, units, n)
        else:
            found = _vector_lookup(h5.vectors(), _WL_NAMES, n)
            if found is not None:
                wl_raw = found[1]
                units = units or as_str(h5.f[found[0]].attrs.get("units"))
                wl = _wl_nm(wl_raw, units, n)
        if wl is not None:
            fw_attr = parse_float_list(_attr(a, _FWHM_NAMES))
            if fw_attr is not None and fw_attr.size == n:
                fw = _fwhm_nm(fw_attr, units, wl_raw, n)
            else:
                f_found = _vector_lookup(h5.vectors(), _FWHM_NAMES, n)
                if f_found is not None:
                    fw = _fwhm_nm(f_found[1], units, wl_raw, n)

        nd = parse_float_list(_attr(a, ("nodata", "_FillValue", "missing_value", "data_ignore_value")))
        nodata = float(nd[0]) if nd is not None and nd.size >= 1 else None
        s = parse_float_list(_attr(a, ("scale_factor",)))
        o = parse_float_list(_attr(a, ("add_offset",)))
        s = s if s is not None and s.size in (1, n) else None
        o = o if o is not None and o.size in (1, n) else None
        scale, offset = _apply_scale(cube, s, o, nodata)

        tr = parse_float_list(_attr(a, ("transform", "geotransform")))
        transform = tuple(float(v) for v in tr[:6]) if tr is not None and tr.size >= 6 else None
        crs = as_str(_attr(a, ("crs", "crs_wkt", "spatial_ref")))
        bn = _attr(a, ("band_names",))
        band_names = None
        if bn is not None:
            names = [as_str(x) or "" for x in np.asarray(bn).reshape(-1)]
            band_names = names if len(names) == n else None
        meta = RasterMeta(
            crs=crs,
            transform=_window_transform(transform, r0, c0),
            wavelengths_nm=wl,
            fwhm_nm=fw,
            nodata=nodata,
            band_names=_band_names(band_names),
            scale=scale,
            offset=offset,
            units=as_str(_attr(a, ("units",))),
            source=label,
        )
    finally:
        h5.close()
    return cube, meta


def _read_h5_matrix(path: Path, var: str | None) -> np.ndarray:
    h5 = _H5(path)
    try:
        name = _select_variable(path, var, h5.shapes, want=2)
        try:
            arr = np.asarray(h5.f[name][()])
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read {path}:{name}: {short_reason(exc)}") from None
    finally:
        h5.close()
    _check_matrix(arr, f"{path}:{name}")
    return np.asarray(arr, dtype=np.float64)


# ==================================================================================================
# Text tables
# ==================================================================================================
_INDEX_NAME_RE = re.compile(
    r"index|^wavelength|^wl(_|$)|^lambda|_nm$|\(nm\)$|_um$|"
    r"^(|#.*|idx|rows?|bands?|band[ _]?names?|names?|nm|um|µm|channels?)$",
    re.IGNORECASE,
)


def _is_index_name(name: str) -> bool:
    return bool(_INDEX_NAME_RE.search(name.strip()))


