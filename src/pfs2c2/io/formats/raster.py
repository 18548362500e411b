"""GeoTIFF / COG and ENVI through rasterio: read a cube (or a window of it), probe it, write it.

Reading: wavelengths from (first match) band tags ``wavelength`` (+ ``wavelength_units`` on the band or
the dataset), the ``ENVI`` metadata domain (``wavelength``, ``fwhm``, ``wavelength_units``), GDAL's
``IMAGERY`` domain (``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``), band descriptions such as ``"650.3 nm"``.
Integer data are scaled by the band scales/offsets when set; for ENVI, ``data gain/offset values`` are
applied, and so is ``reflectance scale factor`` (``value = DN / factor``) for integer data without
gains; ``data ignore value`` is the nodata. Either the ENVI header or the data file may be given.

Writing: ENVI BSQ float32 with ``wavelength``, ``fwhm``, ``wavelength units``, ``default bands`` and
``band names`` in the header (GeoTIFF / COG writing is in :mod:`.cog`, which shares the profile and band
labels defined here). A NaN nodata of a float file is reported as ``nodata=None``: NaN pixels are
invalid everywhere in the package, with or without a nodata value.

rasterio is imported only inside these functions.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .._common import import_rasterio, short_reason
from ..meta import RasterMeta
from ._gdal_tags import rasterio_info
from ._shared import (
    CubeFormat,
    CubeProbe,
    Window,
    apply_scale,
    check_window,
    fsync_path,
    scale_record,
    window_transform,
)

__all__ = [
    "GEOTIFF",
    "ENVI",
    "ENVI_READ_EXTENSIONS",
    "sibling_header",
    "locate_envi_data",
    "default_bands",
    "gdal_cache",
    "write_envi",
    "gdal_write_env",
    "GdalBlockSink",
    "RasterBlockSink",
    "open_envi_blocks",
    "rasterio_profile",
    "band_labels",
    "fmt_number",
    "RGB_NM",
]

ENVI_READ_EXTENSIONS = (".hdr", ".img", ".dat", ".bsq", ".bil", ".bip")
#: Band centres (nm) used for the ENVI ``default bands`` (red, green, blue).
RGB_NM = (650.0, 550.0, 460.0)


# File names
# ==================================================================================================
def sibling_header(path: Path) -> Path | None:
    """The ENVI header next to a data file (``scene.hdr`` or ``scene.img.hdr``), or ``None``."""
    for cand in (path.with_suffix(".hdr"), Path(str(path) + ".hdr")):
        if cand != path and cand.is_file():
            return cand
    return None


def _envi_data_for_header(hdr: Path) -> Path:
    stem = hdr.with_suffix("")
    cands = [stem] + [stem.with_name(stem.name + e) for e in (".img", ".dat", ".bsq", ".bil", ".bip", ".raw", ".bin")]
    for c in cands:
        if c.is_file() and c != hdr:
            return c
    raise InputError(
        f"{hdr}: ENVI header without its data file; put the data next to it as "
        f"{stem.name}.img (or .dat/.bsq/.bil/.bip/.raw, or no extension)"
    )


def locate_envi_data(path: Path) -> Path:
    """The ENVI data file for ``path``: the file next to a ``.hdr`` header, else ``path`` itself."""
    return _envi_data_for_header(path) if path.suffix.lower() == ".hdr" else path


@contextlib.contextmanager
def gdal_cache(path: Path, cache_bytes: int) -> Iterator[None]:
    """Limit GDAL's block cache to ``cache_bytes`` (its default is 5% of RAM) while reading ``path``."""
    rasterio = import_rasterio(path, "reading GeoTIFF / ENVI")
    with rasterio.Env(GDAL_CACHEMAX=cache_bytes):
        yield


# ==================================================================================================
# Reading
# ==================================================================================================
@contextlib.contextmanager
def _open(path: Path, kind: str) -> Iterator[Any]:
    """``rasterio.open(path)`` with every rasterio / GDAL failure as a one-line :class:`InputError`."""
    what = "GeoTIFF" if kind == "tif" else "ENVI"
    rasterio = import_rasterio(path, f"reading {what}")
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    hint = ""
    if kind == "envi" and sibling_header(path) is None and path.suffix.lower() != ".img":
        hint = f" (no ENVI header found: expected {path.with_suffix('.hdr').name} next to it)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                yield src
    except ValueError:
        raise
    except (RasterioError, OSError, RuntimeError) as exc:
        raise InputError(f"cannot read {path}: {short_reason(exc)}{hint}") from None


def _raster_meta(state: dict[str, Any], r0: int, c0: int) -> RasterMeta:
    info = state["info"]
    meta = RasterMeta(
        crs=info["crs"],
        transform=window_transform(info["transform"], r0, c0),
        wavelengths_nm=info["wavelengths"],
        fwhm_nm=info["fwhm"],
        nodata=None if info["nodata"] is None or np.isnan(info["nodata"]) else info["nodata"],
        band_names=info["band_names"],
        scale=state["scale"],
        offset=state["offset"],
        units=info["units"],
        source=state["path"],
    )
    meta.check_bands(state["bands"], state["path"])
    return meta


def _read(path: Path, window: Window | None, kind: str) -> tuple[np.ndarray, RasterMeta]:
    with _open(path, kind) as src:
        r0, c0, wh, ww = check_window(window, src.height, src.width, str(path))
        win = None
        if window is not None:
            from rasterio.windows import Window as RWindow

            win = RWindow(c0, r0, ww, wh)
        if src.driver == "ENVI":
            _check_envi_size(path, src)
        cube = src.read(window=win, out_dtype=np.float32)
        info = rasterio_info(src)
    cube = np.ascontiguousarray(cube, dtype=np.float32)
    scale, offset = apply_scale(cube, info["scales"], info["offsets"], info["nodata"])
    state = {"info": info, "scale": scale, "offset": offset, "path": str(path), "bands": cube.shape[0]}
    return cube, _raster_meta(state, r0, c0)


def _probe(path: Path, kind: str) -> CubeProbe:
    with _open(path, kind) as src:
        if src.driver == "ENVI":
            _check_envi_size(path, src)
        info = rasterio_info(src)
        shape = (int(src.count), int(src.height), int(src.width))
    scale, offset = scale_record(info["scales"], info["offsets"], shape[0])
    state = {"info": info, "scale": scale, "offset": offset, "path": str(path), "bands": shape[0]}
    _raster_meta(state, 0, 0)  # the band-count check of the reader
    return CubeProbe(shape, str(path), state)


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
        raise InputError(f"cannot read {path}: data file is truncated ({actual} bytes, the header needs {expected})")


def read_geotiff(path: Path, var: str | None, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    """Read a GeoTIFF / COG (``var`` is unused)."""
    return _read(path, window, "tif")


def read_envi(path: Path, var: str | None, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    """Read an ENVI data file (``var`` is unused)."""
    return _read(path, window, "envi")


def probe_geotiff(path: Path, var: str | None) -> CubeProbe:
    """Shape and metadata of a GeoTIFF from its header."""
    return _probe(path, "tif")


def probe_envi(path: Path, var: str | None) -> CubeProbe:
    """Shape and metadata of an ENVI file from its header."""
    return _probe(path, "envi")


GEOTIFF = CubeFormat("GeoTIFF/COG", (".tif", ".tiff"), read_geotiff, probe_geotiff, _raster_meta, uses_gdal=True)
ENVI = CubeFormat(
    "ENVI", ENVI_READ_EXTENSIONS, read_envi, probe_envi, _raster_meta, uses_gdal=True, locate=locate_envi_data
)


# ==================================================================================================
# Writing
# ==================================================================================================
def default_bands(wavelengths_nm: np.ndarray | None, n_bands: int) -> list[int] | None:
    """1-based indices of the bands nearest 650 / 550 / 460 nm (ENVI ``default bands``)."""
    if wavelengths_nm is None or n_bands < 3:
        return None
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    return [int(np.argmin(np.abs(wl - t))) + 1 for t in RGB_NM]


def fmt_number(v: float) -> str:
    """A number as written into headers and tags (10 significant digits)."""
    return format(float(v), ".10g")


def band_labels(meta: RasterMeta, n: int) -> list[str] | None:
    """Band descriptions to write: the band names, else ``"<wavelength> nm"``, else ``None``."""
    if meta.band_names is not None:
        return list(meta.band_names)
    if meta.wavelengths_nm is not None:
        return [f"{w:g} nm" for w in meta.wavelengths_nm]
    return None


def rasterio_profile(cube: np.ndarray | tuple[int, int, int], meta: RasterMeta) -> dict[str, Any]:
    """The size, float32 dtype, CRS, transform and nodata of a rasterio creation profile."""
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


def _envi_profile(shape: tuple[int, int, int], meta: RasterMeta) -> dict[str, Any]:
    prof = rasterio_profile(shape, meta)
    prof.update(driver="ENVI", interleave="bsq")
    return prof


@contextlib.contextmanager
def gdal_write_env(rasterio: Any, cache_bytes: int | None = None) -> Iterator[None]:
    """Ignore ``NotGeoreferencedWarning`` and run GDAL without ``.aux.xml`` files (``GDAL_PAM_ENABLED=NO``),
    its block cache limited to ``cache_bytes`` when given: the environment every raster write runs in."""
    from rasterio.errors import NotGeoreferencedWarning

    options: dict[str, Any] = {"GDAL_PAM_ENABLED": "NO"}
    if cache_bytes is not None:
        options["GDAL_CACHEMAX"] = cache_bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(**options):
            yield


def write_envi(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    """Write ``cube`` as ENVI BSQ float32: ``tmp`` and its ``.hdr`` (the header names ``final``)."""
    c, _, _ = cube.shape
    prof = _envi_profile(cube.shape, meta)
    rasterio = import_rasterio(final, "writing ENVI")
    with gdal_write_env(rasterio), rasterio.open(tmp, "w", **prof) as dst:
        dst.write(cube)
        _envi_metadata(dst, meta, c)
    _envi_fix_header(tmp, final)


def _envi_metadata(dst: Any, meta: RasterMeta, c: int) -> None:
    """Band names and the ENVI-domain wavelength / fwhm / default bands of an open ENVI dataset."""
    labels = band_labels(meta, c)
    envi: dict[str, str] = {}
    if meta.wavelengths_nm is not None:
        envi["wavelength"] = "{" + ", ".join(fmt_number(v) for v in meta.wavelengths_nm) + "}"
        envi["wavelength_units"] = "Nanometers"
        db = default_bands(meta.wavelengths_nm, c)
        if db is not None:
            envi["default_bands"] = "{" + ", ".join(str(b) for b in db) + "}"
    if meta.fwhm_nm is not None:
        envi["fwhm"] = "{" + ", ".join(fmt_number(v) for v in meta.fwhm_nm) + "}"
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


def open_envi_blocks(
    tmp: Path,
    final: Path,
    shape: tuple[int, int, int],
    meta: RasterMeta,
    cache_bytes: int,
    *,
    resume: bool = False,
    reopen: bool = False,
) -> RasterBlockSink:
    """An ENVI file open for writing block by block (``resume`` / ``reopen``: see :class:`GdalBlockSink`)."""
    return RasterBlockSink(tmp, final, shape, meta, "envi", cache_bytes, resume=resume, reopen=reopen)


class GdalBlockSink:
    """What the rasterio block sinks share: the dataset open for writing, block writes, closing.

    The dataset is opened by :meth:`_open` inside an exit stack that also holds :func:`gdal_write_env`;
    closing the stack closes both.

    Resumable writing (``resume=True``): the file is created and closed, then every block is written by
    opening it for update (rasterio mode ``"r+"``); :meth:`flush` closes it (GDAL writes its blocks and
    directory) and ``fsync``s it, so a block is on disk before the caller records it. ``reopen=True``
    continues such a file (its size and band count are checked). :meth:`abort` then keeps the file.
    """

    _stack: contextlib.ExitStack | None
    _dst: Any
    _resume: bool = False
    _sync_paths: tuple[Path, ...] = ()

    def _open(
        self,
        rasterio: Any,
        path: Path,
        profile: dict[str, Any],
        cache_bytes: int,
        *,
        resume: bool = False,
        reopen: bool = False,
        sync_paths: tuple[Path, ...] = (),
    ) -> None:
        """Open ``path`` for writing with ``profile`` (resumable: see the class); on failure :meth:`abort`
        and re-raise. ``sync_paths``: the files :meth:`flush` syncs (default ``path``)."""
        self._stack = None
        self._rasterio, self._path, self._cache_bytes = rasterio, path, cache_bytes
        self._resume = resume or reopen
        self._sync_paths = sync_paths or (path,)
        try:
            if reopen:
                self._check_partial(profile)
            elif resume:
                self._update(profile, "w")
                self._close()
            else:
                self._update(profile, "w")
        except BaseException:
            self.abort()
            raise

    def _update(self, profile: dict[str, Any] | None, mode: str = "r+") -> None:
        """Open the dataset in ``mode`` (``"w"`` with ``profile``) inside :func:`gdal_write_env`."""
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(gdal_write_env(self._rasterio, self._cache_bytes))
        if mode == "w":
            assert profile is not None
            self._dst = self._stack.enter_context(self._rasterio.open(self._path, "w", **profile))
        else:
            self._dst = self._stack.enter_context(self._rasterio.open(self._path, mode))

    def _ensure_open(self) -> None:
        """Reopen a resumable file for update if it is closed (a closed non-resumable one is an error)."""
        if self._stack is None:
            if not self._resume:
                raise RuntimeError(f"{self._path} is closed")
            self._update(None)

    def _check_partial(self, profile: dict[str, Any]) -> None:
        """Refuse (:class:`InputError`) a partial file that is unreadable or not of ``profile``'s size."""
        from rasterio.errors import RasterioError

        want = (profile["count"], profile["height"], profile["width"], str(profile["dtype"]))
        try:
            with gdal_write_env(self._rasterio), self._rasterio.open(self._path) as src:
                got = (src.count, src.height, src.width, str(src.dtypes[0]))
        except (RasterioError, OSError, RuntimeError) as exc:
            raise InputError(f"cannot resume {self._path}: {short_reason(exc)}; delete it to start again") from None
        if got != want:
            raise InputError(
                f"cannot resume {self._path}: it holds {got[0]} x {got[1]} x {got[2]} {got[3]}, not "
                f"{want[0]} x {want[1]} x {want[2]} {want[3]}; delete it to start again"
            )

    def write(self, arr: np.ndarray, row_off: int, col_off: int) -> None:
        """Write a ``(C, h, w)`` block at ``(row_off, col_off)``."""
        from rasterio.windows import Window as RWindow

        self._ensure_open()
        bh, bw = arr.shape[1:]
        self._dst.write(arr, window=RWindow(col_off, row_off, bw, bh))

    def flush(self) -> None:
        """Resumable: close the file (GDAL writes the blocks and the directory) and ``fsync`` it."""
        if not self._resume:
            return
        if self._stack is not None:
            self._close()
        for p in self._sync_paths:
            fsync_path(p)

    def _close(self) -> None:
        """Close the dataset and its environment."""
        assert self._stack is not None
        self._stack.close()
        self._stack = None

    def _close_quietly(self) -> None:
        """:meth:`_close` without errors, if still open (best effort)."""
        try:
            if self._stack is not None:
                self._stack.close()
        except Exception:
            pass
        self._stack = None

    def abort(self) -> None:
        """Close the file without finishing it (best effort)."""
        self._close_quietly()


class RasterBlockSink(GdalBlockSink):
    """An ENVI file open for writing block by block (used by :class:`pfs2c2.io.CubeWriter`).

    Same profile and metadata as :func:`write_envi`; GDAL's block cache is limited to ``cache_bytes``
    while the file is open. (GeoTIFF: :class:`pfs2c2.io.formats.cog.CogBlockSink`.) ``resume`` /
    ``reopen``: see :class:`GdalBlockSink`; the partial files are ``tmp`` and its ``.hdr``.
    """

    def __init__(
        self,
        tmp: Path,
        final: Path,
        shape: tuple[int, int, int],
        meta: RasterMeta,
        kind: str,
        cache_bytes: int,
        *,
        resume: bool = False,
        reopen: bool = False,
    ) -> None:
        if kind != "envi":
            raise ValueError(f"RasterBlockSink writes ENVI files, not {kind!r} (GeoTIFF: formats.cog)")
        self.tmp, self.final, self.shape, self.meta, self.kind = tmp, final, shape, meta, kind
        rasterio = import_rasterio(final, "writing ENVI")
        self._open(
            rasterio,
            tmp,
            _envi_profile(shape, meta),
            cache_bytes,
            resume=resume,
            reopen=reopen,
            sync_paths=(tmp, tmp.with_suffix(".hdr")),
        )

    def finish(self) -> None:
        """Write the metadata, close the file and fix the ENVI header."""
        self._ensure_open()
        _envi_metadata(self._dst, self.meta, self.shape[0])
        self._close()
        _envi_fix_header(self.tmp, self.final)
