"""Read hyperspectral / multispectral cubes and small matrices from the files users have.

:func:`read_cube` returns every cube as float32 ``(C, H, W)`` plus a :class:`~pfs2c2.io.meta.RasterMeta`;
:func:`open_cube` gives a :class:`CubeReader` whose shape and metadata come from the header, for reading
windows later; :func:`read_array` returns a 2-D float64 matrix (PSF kernel, SRF matrix). Formats, chosen
by extension (the readers are in :mod:`pfs2c2.io.formats`):

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

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ._common import PathLike, check_exists, one_line, split_spec
from .formats import CUBE_FORMATS, MATRIX_READERS, TEXT_EXTENSIONS, CubeProbe, Window, check_window
from .formats.raster import gdal_cache, sibling_header
from .formats.text import read_matrix_csv
from .meta import RasterMeta, wavelengths_to_nm

__all__ = [
    "read_cube",
    "open_cube",
    "CubeReader",
    "read_array",
    "read_matrix_csv",
    "SUPPORTED_EXTENSIONS",
    "READ_FORMATS",
    "ARRAY_EXTENSIONS",
    "Window",
]

#: Readable cube formats: name -> extensions.
READ_FORMATS: dict[str, tuple[str, ...]] = {f.name: f.extensions for f in CUBE_FORMATS.values()}
#: Extensions :func:`read_cube` accepts (plus any ENVI data file with a sibling ``.hdr``).
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(e for exts in READ_FORMATS.values() for e in exts)
#: Extensions :func:`read_array` accepts.
ARRAY_EXTENSIONS: tuple[str, ...] = (".npy", ".csv", ".tsv", ".txt", ".mat", ".h5", ".hdf5")


def _supported_text() -> str:
    return ", ".join(SUPPORTED_EXTENSIONS) + " (or an ENVI data file with a sibling .hdr)"


# ==================================================================================================
# Format detection
# ==================================================================================================
def _cube_kind(path: Path) -> str:
    """The key of :data:`~pfs2c2.io.formats.CUBE_FORMATS` for ``path``, from its extension."""
    ext = path.suffix.lower()
    for kind, fmt in CUBE_FORMATS.items():
        if ext in fmt.extensions:
            return kind
    if sibling_header(path) is not None:
        return "envi"
    if ext in TEXT_EXTENSIONS:
        raise InputError(
            f"cannot read {path} as a cube: text tables hold 2-D matrices (use read_array); "
            f"supported cube formats: {_supported_text()}"
        )
    raise InputError(f"cannot read {path}: unknown extension {ext or '(none)'!r}; supported: {_supported_text()}")


def _resolve(spec: PathLike) -> tuple[Path, str | None, str]:
    """File holding the pixels, selected variable and format kind of a cube spec."""
    path, var = split_spec(spec)
    check_exists(path)
    kind = _cube_kind(path)
    locate = CUBE_FORMATS[kind].locate
    if locate is not None:
        path = locate(path)
    return path, var, kind


def _override_wavelengths(
    path: Path, bands: int, meta: RasterMeta, wavelengths: Sequence[float] | np.ndarray
) -> RasterMeta:
    """``meta`` with the band centres given by the user (their FWHM kept when the count matches)."""
    try:
        wl = wavelengths_to_nm(wavelengths)
    except ValueError as exc:
        raise InputError(f"{path}: invalid wavelengths argument: {one_line(exc)}") from None
    if wl.size != bands:
        raise InputError(
            f"{path}: {wl.size} wavelengths given for a cube with {bands} bands; give one wavelength per band"
        )
    fw = meta.fwhm_nm if meta.fwhm_nm is not None and meta.fwhm_nm.size == wl.size else None
    return meta.replace(wavelengths_nm=wl, fwhm_nm=fw)


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
    path, var, kind = _resolve(spec)
    cube, meta = CUBE_FORMATS[kind].read(path, var, window)
    if wavelengths is not None:
        meta = _override_wavelengths(path, cube.shape[0], meta, wavelengths)
    return cube, meta


class CubeReader:
    """A cube file opened for reading: shape and metadata from its header, pixels read on demand.

    Made by :func:`open_cube`. The handle keeps no file open between calls (every :meth:`read` opens
    the file, reads the window and closes it), so it can be pickled into worker processes; ``close()``
    / the ``with`` block only mark it closed.

    Attributes:
        spec: the spec as given (``str``).
        path: the file the spec names (for ENVI the header or the data file, as given).
        var: the variable / dataset selected in a ``.mat`` / HDF5 container, else ``None``.
        format: the format's name, a key of :data:`pfs2c2.io.READ_FORMATS` (e.g. ``"GeoTIFF/COG"``).
        shape: ``(C, H, W)`` of the cube, as :func:`read_cube` returns it.
        meta: metadata of the whole cube, equal to ``read_cube(spec)[1]``.
    """

    def __init__(
        self,
        spec: PathLike,
        *,
        wavelengths: Sequence[float] | np.ndarray | None = None,
        gdal_cache_bytes: int | None = None,
    ) -> None:
        self.spec = os.fspath(spec) if isinstance(spec, os.PathLike) else str(spec)
        self.path, self.var = split_spec(spec)
        data, _, kind = _resolve(spec)
        fmt = CUBE_FORMATS[kind]
        probe: CubeProbe = fmt.probe(data, self.var)
        self._data = data
        self._kind = kind
        self._probe = probe
        self._wavelengths = None if wavelengths is None else np.asarray(wavelengths)
        self._gdal_cache_bytes = gdal_cache_bytes
        self.format = fmt.name
        self.shape: tuple[int, int, int] = probe.shape
        self.closed = False
        self.meta = self._window_meta(0, 0)

    # ------------------------------------------------------------------ geometry
    @property
    def bands(self) -> int:
        """Number of bands C."""
        return self.shape[0]

    @property
    def height(self) -> int:
        """Number of rows H."""
        return self.shape[1]

    @property
    def width(self) -> int:
        """Number of columns W."""
        return self.shape[2]

    # ------------------------------------------------------------------ reading
    def _window_meta(self, r0: int, c0: int) -> RasterMeta:
        meta = CUBE_FORMATS[self._kind].window_meta(self._probe.state, r0, c0)
        if self._wavelengths is not None:
            meta = _override_wavelengths(self._data, self.bands, meta, self._wavelengths)
        return meta

    def window_meta(self, window: Window | None = None) -> RasterMeta:
        """Metadata that :meth:`read` returns for ``window`` (the transform of its first pixel), no pixels read.

        Raises:
            InputError: the window is not ``(row_off, col_off, height, width)`` inside the image.
        """
        r0, c0, _, _ = check_window(window, self.height, self.width, self._probe.label)
        return self._window_meta(r0, c0)

    def read(self, window: Window | None = None) -> tuple[np.ndarray, RasterMeta]:
        """Read the cube or a ``(row_off, col_off, height, width)`` window of it.

        Returns:
            ``(cube float32 (C, h, w), meta)``, the same as ``read_cube(spec, window=window)``.

        Raises:
            ValueError: the reader is closed; :class:`InputError` for a window outside the image or an
                unreadable file.
        """
        if self.closed:
            raise ValueError(f"{self.spec}: the cube reader is closed")
        fmt = CUBE_FORMATS[self._kind]
        if self._gdal_cache_bytes is not None and fmt.uses_gdal:
            with gdal_cache(self._data, self._gdal_cache_bytes):
                cube, meta = fmt.read(self._data, self.var, window)
        else:
            cube, meta = fmt.read(self._data, self.var, window)
        if self._wavelengths is not None:
            meta = _override_wavelengths(self._data, cube.shape[0], meta, self._wavelengths)
        return cube, meta

    # ------------------------------------------------------------------ context manager
    def close(self) -> None:
        """Mark the reader closed (it holds no open file)."""
        self.closed = True

    def __enter__(self) -> CubeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        c, h, w = self.shape
        return f"CubeReader({self.spec!r}, format={self.format!r}, shape=({c}, {h}, {w}))"


def open_cube(
    spec: PathLike,
    *,
    wavelengths: Sequence[float] | np.ndarray | None = None,
    gdal_cache_bytes: int | None = None,
) -> CubeReader:
    """Open a cube file: shape and metadata now (from the header where the format allows), pixels later.

    Cheap for every format: GeoTIFF / ENVI read the rasterio dataset header, ``.npy`` is memory-mapped,
    HDF5 and MATLAB v7.3 read the dataset shape and attributes, MATLAB v5 lists the variables and loads
    only the small 1-D ones (wavelengths, transform). ``open_cube(spec)`` succeeds exactly when the
    header checks of ``read_cube(spec)`` pass (same one-line errors).

    Args:
        spec: as for :func:`read_cube` (``FILE.mat:VAR`` / ``FILE.h5:/dataset`` select a variable).
        wavelengths: band centres overriding those of the file, as for :func:`read_cube`.
        gdal_cache_bytes: GDAL block cache while :meth:`CubeReader.read` reads a GeoTIFF / ENVI window
            (GDAL's default is 5% of RAM); ``None`` leaves GDAL's setting.

    Returns:
        A :class:`CubeReader`; use it as a context manager or keep it (it holds no open file).

    Example::

        with open_cube("scene.tif") as src:
            C, H, W = src.shape
            block, meta = src.read(window=(0, 0, 256, 256))

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: as :func:`read_cube`.
    """
    return CubeReader(spec, wavelengths=wavelengths, gdal_cache_bytes=gdal_cache_bytes)


def read_array(spec: PathLike, *, index_col: bool | None = None) -> np.ndarray:
    """Read a 2-D matrix (PSF kernel ``(k, k)``, SRF matrix ``(C_hsi, C_msi)``) as float64.

    Args:
        spec: ``.npy``, ``.csv``/``.tsv``/``.txt`` (comma, semicolon, tab or space separated, optional
            header row, ``#`` comments), ``.mat`` (``FILE.mat:VAR``; automatic when exactly one numeric
            matrix with both dimensions > 1 is present) or ``.h5`` (``FILE.h5:/dataset``).
        index_col: Text tables only: whether the first column is a row index to drop (e.g. the
            ``wavelength_nm`` column that :func:`~pfs2c2.io.write_matrix_csv` writes). ``None``
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
    if ext in TEXT_EXTENSIONS:
        return read_matrix_csv(path, index_col=index_col)[0]
    reader = MATRIX_READERS.get(ext)
    if reader is None:
        raise InputError(
            f"cannot read {path} as a matrix: unknown extension {ext or '(none)'!r}; "
            f"supported: {', '.join(ARRAY_EXTENSIONS)}"
        )
    return reader(path, var)
