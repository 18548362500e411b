"""Quick looks of a cube: a subset of its bands, or an 8-bit RGB GeoTIFF (for ``--bands`` / ``--rgb``).

* :func:`select_bands` turns band selectors into 0-based band indices: an ``int`` is a 0-based index,
  a ``float`` or a string such as ``"650nm"`` / ``"650 nm"`` a wavelength in nm (the nearest band, which
  must lie within its FWHM, or within the mean band spacing when the FWHM is unknown), a string of
  digits such as ``"12"`` an index.
* :func:`write_band_subset` writes the chosen bands with their metadata in any format of
  :func:`pfs2c2.io.write_cube` (a COG for ``.tif``).
* :func:`write_rgb_quicklook` writes a 3-band ``uint8`` COG on the same grid: the bands nearest
  ``rgb_nm``, each stretched between its ``stretch`` percentiles over the valid pixels to 1..255;
  0 is nodata (a pixel that is NaN or nodata in any of the three bands). QGIS shows it as RGB.

Both write atomically (nothing appears at ``out`` when a write fails) and refuse to replace an
existing file unless ``overwrite``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import as_cube, check_writable
from ..errors import InputError
from ._common import PathLike
from .atomic import check_overwrite, remove_quietly, temp_name
from .formats.cog import COG_CACHE_BYTES, CogBlockSink
from .meta import RasterMeta
from .writers import write_cube

__all__ = ["BandSelector", "select_bands", "write_band_subset", "write_rgb_quicklook", "RGB_QUICKLOOK_NM"]

#: A band by 0-based index (``int``, or a string of digits) or by wavelength in nm (``float``, ``"650nm"``).
BandSelector = int | float | str
#: Default band centres (nm) of the RGB quicklook: red, green, blue.
RGB_QUICKLOOK_NM = (640.0, 550.0, 460.0)

_INDEX_RE = re.compile(r"^\s*\d+\s*$")
_WL_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(nm)?\s*$", re.IGNORECASE)


def _nearest_band(wl: np.ndarray, fwhm: np.ndarray | None, target: float, what: str) -> int:
    """The band nearest ``target`` nm; refused when ``target`` lies outside the bands by more than the
    edge band's FWHM (or the mean band spacing when the FWHM is unknown)."""
    i = int(np.argmin(np.abs(wl - target)))
    if fwhm is not None:
        tol = float(fwhm[i])
    elif wl.size > 1:
        tol = float((wl.max() - wl.min()) / (wl.size - 1))
    else:
        tol = math.inf
    if not float(wl.min()) - tol <= target <= float(wl.max()) + tol:
        raise InputError(
            f"{what}: no band near {target:g} nm (the bands cover {wl.min():g}-{wl.max():g} nm); "
            "choose a wavelength inside that range or a band index"
        )
    return i


def select_bands(meta: RasterMeta | None, n_bands: int, bands: Sequence[BandSelector], what: str = "cube") -> list[int]:
    """0-based indices of ``bands`` (see the module docstring) in a cube of ``n_bands`` bands.

    Raises:
        InputError: an index outside the cube, a wavelength without wavelengths in ``meta`` or far
            from every band, an unreadable selector, or no band at all.
    """
    if isinstance(bands, (str, int, float)):
        bands = [bands]
    if len(bands) == 0:
        raise InputError(f"{what}: no band selected; give band indices (0-based) or wavelengths such as 650nm")
    meta = meta if meta is not None else RasterMeta()
    wl = meta.wavelengths_nm
    out: list[int] = []
    for b in bands:
        index: int | None = None
        nm: float | None = None
        if isinstance(b, (bool, np.bool_)):
            raise InputError(f"{what}: band selector {b!r} is neither an index nor a wavelength")
        if isinstance(b, (int, np.integer)):
            index = int(b)
        elif isinstance(b, (float, np.floating)):
            nm = float(b)
        elif isinstance(b, str) and _INDEX_RE.match(b):
            index = int(b)
        elif isinstance(b, str) and _WL_RE.match(b):
            nm = float(_WL_RE.match(b).group(1))  # type: ignore[union-attr]
        else:
            raise InputError(f"{what}: band selector {b!r} is neither an index (12) nor a wavelength (650nm)")
        if index is not None:
            if not 0 <= index < n_bands:
                raise InputError(f"{what}: band index {index} outside 0..{n_bands - 1} (indices are 0-based)")
            out.append(index)
            continue
        assert nm is not None
        if wl is None:
            raise InputError(f"{what}: has no wavelengths, so {nm:g} nm cannot be found; give band indices instead")
        out.append(_nearest_band(wl, meta.fwhm_nm, nm, what))
    return out


def _subset_meta(meta: RasterMeta, idx: list[int]) -> RasterMeta:
    def pick(v: Any) -> Any:
        return None if v is None else [v[i] for i in idx]

    return meta.replace(
        wavelengths_nm=pick(meta.wavelengths_nm),
        fwhm_nm=pick(meta.fwhm_nm),
        band_names=pick(meta.band_names),
        source=None,
    )


def _cube(cube: Any, out: Path) -> np.ndarray:
    try:
        return np.asarray(as_cube(cube, "the cube", "(C, H, W)"))
    except InputError as exc:
        raise InputError(f"cannot write {out}: {exc}") from None


def write_band_subset(
    cube: Any,
    meta: RasterMeta | None,
    out: PathLike,
    bands: Sequence[BandSelector],
    *,
    overwrite: bool = False,
) -> Path:
    """Write the bands ``bands`` of a ``(C, H, W)`` cube (with their wavelengths, FWHM and names).

    Args:
        cube: ``(C, H, W)`` array.
        meta: its metadata (``None``: none; wavelength selectors then fail).
        out: output file, any extension of :func:`pfs2c2.io.write_cube`.
        bands: band selectors (see :func:`select_bands`), in the order to write.
        overwrite: replace an existing output.

    Returns:
        The path written (for ENVI the data file).
    """
    path = Path(out)
    arr = _cube(cube, path)
    meta = meta if meta is not None else RasterMeta()
    meta.check_bands(arr.shape[0], f"cube to write to {path}")
    idx = select_bands(meta, arr.shape[0], bands, what=str(path))
    return write_cube(path, arr[idx], _subset_meta(meta, idx), overwrite=overwrite)


def stretch_to_uint8(band: np.ndarray, valid: np.ndarray, stretch: tuple[float, float]) -> np.ndarray:
    """``(H, W)`` band -> uint8: the ``stretch`` percentiles of the valid pixels map to 1 and 255, the
    invalid pixels to 0."""
    out = np.zeros(band.shape, np.uint8)
    if not valid.any():
        return out
    values = band[valid].astype(np.float64)
    lo, hi = (float(v) for v in np.percentile(values, stretch))
    if hi > lo:
        scaled = 1.0 + 254.0 * np.clip((values - lo) / (hi - lo), 0.0, 1.0)
    else:
        scaled = np.full(values.shape, 128.0)
    out[valid] = np.rint(scaled).astype(np.uint8)
    return out


def write_rgb_quicklook(
    cube: Any,
    meta: RasterMeta | None,
    out: PathLike,
    *,
    rgb_nm: Sequence[float] = RGB_QUICKLOOK_NM,
    stretch: tuple[float, float] = (2.0, 98.0),
    overwrite: bool = False,
) -> Path:
    """Write an 8-bit RGB GeoTIFF (a COG, nodata 0) of a ``(C, H, W)`` cube on its grid.

    Args:
        cube: ``(C, H, W)`` array; NaN and ``meta.nodata`` pixels become nodata.
        meta: metadata with the wavelengths (nm) and the grid.
        out: output ``.tif`` / ``.tiff``.
        rgb_nm: wavelengths (nm) of the red, green and blue bands; the nearest bands are used.
        stretch: lower and upper percentiles (0..100) of each band mapped to 1 and 255.
        overwrite: replace an existing output.

    Returns:
        ``out`` as a :class:`~pathlib.Path`.
    """
    path = Path(out)
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise InputError(f"cannot write {path}: the RGB quicklook is a GeoTIFF; name it .tif")
    lo, hi = (float(v) for v in stretch)
    if not 0.0 <= lo < hi <= 100.0:
        raise InputError(f"stretch {tuple(stretch)} must be two percentiles with 0 <= low < high <= 100")
    if len(rgb_nm) != 3:
        raise InputError(f"rgb_nm needs 3 wavelengths (red, green, blue), got {len(rgb_nm)}")
    arr = _cube(cube, path)
    meta = meta if meta is not None else RasterMeta()
    meta.check_bands(arr.shape[0], f"cube to write to {path}")
    idx = select_bands(meta, arr.shape[0], [float(v) for v in rgb_nm], what=str(path))
    rgb = arr[idx].astype(np.float32, copy=False)
    valid = np.all(np.isfinite(rgb), axis=0)
    if meta.nodata is not None and np.isfinite(meta.nodata):
        valid &= ~np.any(rgb == meta.nodata, axis=0)
    img = np.stack([stretch_to_uint8(rgb[k], valid, (lo, hi)) for k in range(3)])
    wl = meta.wavelengths_nm
    assert wl is not None  # select_bands found wavelengths
    names = [f"{colour} ({wl[i]:g} nm)" for colour, i in zip(("red", "green", "blue"), idx)]
    qmeta = RasterMeta(crs=meta.crs, transform=meta.transform, nodata=0.0, band_names=names)
    return _write_uint8_cog(path, img, qmeta, overwrite)


def _write_uint8_cog(path: Path, img: np.ndarray, meta: RasterMeta, overwrite: bool) -> Path:
    check_overwrite(path, [path], overwrite)
    check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    shape = (int(img.shape[0]), int(img.shape[1]), int(img.shape[2]))
    sink = CogBlockSink(tmp, path, shape, meta, COG_CACHE_BYTES, dtype="uint8", colorinterp=("red", "green", "blue"))
    try:
        sink.write(img, 0, 0)
        sink.finish()
        os.replace(tmp, path)
    except BaseException:
        sink.abort()
        remove_quietly(tmp)
        raise
    remove_quietly(Path(str(path) + ".aux.xml"))
    return path
