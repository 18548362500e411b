"""EMIT L2A surface reflectance (``EMIT_L2A_RFL_*.nc``), orthorectified with its geometry lookup table.

Specification: NASA JPL / LP DAAC, *EMIT L2A Estimated Surface Reflectance and Uncertainty and Masks
60 m V001* (collection EMITL2ARFL, doi:10.5067/EMIT/EMITL2ARFL.001): the Data Product User Guide and the
LP DAAC product page (file naming, the three netCDF-4 files of a granule, the ``location`` group with
the GLT); the EMIT L2A mask ATBD in emit-sds/emit-sds-masks (the mask band list); NASA's
EMIT-Data-Resources ``emit_tools.py`` (``apply_glt``, ``ortho_xr``, ``quality_mask``), which is how the
mission's own tools orthorectify. Used here:

* File name ``EMIT_<level>_<product>_<version>_<YYYYMMDD>T<hhmmss>_<orbit>_<scene>.nc``; this reader
  reads ``EMIT_L2A_RFL``. ``EMIT_L1B_RAD`` (radiance), ``EMIT_L2A_RFLUNCERT`` (uncertainty) and
  ``EMIT_L2A_MASK`` are refused with the file to give instead.
* The file is netCDF-4, i.e. HDF5, read with h5py (no netCDF library needed). Root variable
  ``reflectance`` float32 ``(downtrack, crosstrack, bands)`` in the raw (not orthorectified) swath,
  unitless surface reflectance (no scale factor), ``_FillValue`` -9999.
* Group ``sensor_band_parameters``: ``wavelengths`` and ``fwhm`` in nm (285 bands, 381-2493 nm in v001)
  and ``good_wavelengths`` (1 = usable, 0 = a band in the deep water-vapour absorptions near 1400 and
  1900 nm where reflectance was not retrieved). Bad bands are dropped; the cube keeps the good ones.
* Group ``location``: ``lat``/``lon``/``elev`` of every swath pixel and the GLT ``glt_x`` / ``glt_y``
  int32 ``(ortho_y, ortho_x)``, 1-based crosstrack / downtrack indices into the swath, 0 = no data.
  Orthorectification as ``emit_tools.apply_glt`` does it (nearest neighbour, no resampling):
  ``out[:, r, c] = reflectance[glt_y[r, c] - 1, glt_x[r, c] - 1, :]`` where both are non-zero, NaN
  elsewhere.
* Global attributes ``geotransform`` (the 6 GDAL coefficients of the GLT grid: x0, dx, 0, y0, 0, -dy,
  corner of the upper-left cell; ``emit_tools.get_pixel_center_coords`` adds half a pixel for centres),
  ``spatial_ref`` (WKT of WGS 84 geographic, EPSG:4326), ``time_coverage_start``
  (e.g. ``2024-10-06T16:52:00+0000``).
* The mask granule ``EMIT_L2A_MASK_<same id>.nc`` (optional, read when it lies beside the reflectance
  file): ``mask`` float32 ``(downtrack, crosstrack, 8)`` in the same swath geometry, band names in
  ``sensor_band_parameters/mask_bands``: v001 ``Cloud flag, Cirrus flag, Water flag, Spacecraft Flag,
  Dilated Cloud Flag, AOD550, H2O (g cm-2), Aggregate Flag`` (flags 0/1). Names are matched without case
  (later mask versions write ``Cloud Flag``, drop ``Spacecraft Flag`` and add SpecTf bands). By default
  the cloud, cirrus, dilated-cloud (the cloud buffer, EMIT's stand-in for cloud shadow) and, where
  present, spacecraft (ISS structure in view) flags make a pixel invalid; the water flag does not (water
  is a valid observation). ``Aggregate Flag`` is not used because it also contains water.

The grid is geographic (EPSG:4326, degrees, ~60 m cells of 0.00054 degrees): it never nests with a
Sentinel-2 UTM grid, so an EMIT cube must be reprojected onto the MSI's UTM grid before fusion, which
``--align`` (``pfs2c2 align``) does.

Could not be confirmed from the stored documents (so the reader is lenient there and says so):

* whether a GLT can hold negative values (ENVI's convention for in-filled cells); EMIT's tools treat
  only 0 as no data, so negatives are read as ENVI does (the absolute value is the index);
* whether ``good_wavelengths`` is present in every v001 granule; when it is missing all bands are kept;
* the values stored in the bad bands (v001 appears to hold -0.01 there); they are dropped either way;
* the exact v002 layout; a granule of any version is read if it has the variables above.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..io import RasterMeta
from .base import Product, ProductError

__all__ = ["READER", "DEFAULT_MASK_FLAGS", "EmitL2AReader", "find_mask_granule", "orthorectify", "read_emit"]

SENSOR = "emit"
LEVEL = "L2A"
FILL_VALUE = -9999.0
#: ``EMIT_L2A_RFL_001_20230101T101010_2300107_001.nc`` and the other EMIT granules.
_NAME = re.compile(
    r"^EMIT_(?P<level>L[0-9][A-Z]?)_(?P<product>[A-Z0-9]+)_(?P<version>\d{3})_"
    r"(?P<start>\d{8}T\d{6})_(?P<orbit>\d{7})_(?P<scene>\d{3})\.nc$",
    re.IGNORECASE,
)
_GIVE = "give the EMIT_L2A_RFL_*.nc granule (LP DAAC collection EMITL2ARFL)"
_REFUSED = {
    "L1B_RAD": "an EMIT L1B at-sensor radiance granule, not surface reflectance; download the EMIT_L2A_RFL "
    "granule of the same scene (LP DAAC collection EMITL2ARFL)",
    "L1B_OBS": "an EMIT L1B observation-geometry granule; give the EMIT_L2A_RFL granule of the same scene",
    "L2A_RFLUNCERT": "the reflectance uncertainty of an EMIT L2A granule; give the EMIT_L2A_RFL file beside it",
    "L2A_MASK": "the EMIT L2A mask granule; give the EMIT_L2A_RFL file beside it (the mask is read from there)",
}
#: Mask flag name -> band name in ``mask_bands`` (matched without case).
MASK_FLAG_BANDS = {
    "cloud": "cloud flag",
    "cirrus": "cirrus flag",
    "water": "water flag",
    "spacecraft": "spacecraft flag",
    "dilated_cloud": "dilated cloud flag",
}
#: Flags that make a pixel invalid by default (each used when the mask granule has it; cloud is required).
DEFAULT_MASK_FLAGS = ("cloud", "cirrus", "dilated_cloud", "spacecraft")
_BAND_BLOCK = 32  # good bands gathered at a time (bounds the temporary (pixels, bands) copy)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.reshape(-1)[0])
    return str(value).strip()


def _resolve(path: Path) -> Path:
    """The reflectance file: ``path`` itself, or the one ``EMIT_L2A_RFL_*.nc`` in a granule folder."""
    if path.is_dir():
        found = sorted(p for p in path.glob("EMIT_L2A_RFL_*.nc") if _NAME.match(p.name))
        if len(found) != 1:
            what = "no" if not found else f"{len(found)}"
            raise ProductError(f"{path}: {what} EMIT_L2A_RFL_*.nc file in the folder; {_GIVE}")
        return found[0]
    if not path.is_file():
        raise ProductError(f"{path}: no such file; {_GIVE}")
    return path


def _check_name(path: Path) -> None:
    m = _NAME.match(path.name)
    if m is None:
        return  # a renamed file: the content decides
    kind = f"{m.group('level')}_{m.group('product')}".upper()
    if kind == "L2A_RFL":
        return
    what = _REFUSED.get(kind, f"an EMIT {kind} granule, not L2A surface reflectance; {_GIVE}")
    raise ProductError(f"{path.name}: {what}")


def find_mask_granule(path: str | Path) -> Path | None:
    """The ``EMIT_L2A_MASK`` granule of the same acquisition beside ``EMIT_L2A_RFL_...nc``, or ``None``."""
    p = Path(path)
    m = _NAME.match(p.name)
    if m is None:
        return None
    ident = f"{m.group('start')}_{m.group('orbit')}_{m.group('scene')}"
    same = p.with_name(f"EMIT_L2A_MASK_{m.group('version')}_{ident}.nc")
    if same.is_file():
        return same
    others = sorted(p.parent.glob(f"EMIT_L2A_MASK_*_{ident}.nc"))
    return others[-1] if others else None


def orthorectify(swath: np.ndarray, glt_x: np.ndarray, glt_y: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Apply an EMIT geometry lookup table.

    Args:
        swath: ``(downtrack, crosstrack, B)`` array in swath geometry.
        glt_x, glt_y: int ``(H, W)``: 1-based crosstrack / downtrack index of the swath pixel for each
            grid cell, 0 where none (negative values are taken by their absolute value, as ENVI does).
        bands: indices of the ``B`` bands to keep, in output order.

    Returns:
        float32 ``(len(bands), H, W)``: ``swath[|glt_y| - 1, |glt_x| - 1, bands]``, NaN where the GLT is 0.

    Raises:
        ProductError: If the GLT points outside the swath or the two tables differ in shape.
    """
    nd, nx = swath.shape[:2]
    gx = np.abs(np.asarray(glt_x, dtype=np.int64))
    gy = np.abs(np.asarray(glt_y, dtype=np.int64))
    if gx.shape != gy.shape or gx.ndim != 2:
        raise ProductError(f"GLT glt_x {gx.shape} and glt_y {gy.shape} are not two tables of one grid")
    covered = (gx > 0) & (gy > 0)
    if np.any(gx[covered] > nx) or np.any(gy[covered] > nd):
        raise ProductError(
            f"GLT points outside the {nd} x {nx} swath (max glt_y {int(gy.max())}, glt_x {int(gx.max())}); "
            "the location group belongs to another granule: download it again"
        )
    flat = ((gy[covered] - 1) * nx + (gx[covered] - 1)).astype(np.intp)
    pixels = swath.reshape(nd * nx, swath.shape[2])
    h, w = gx.shape
    out = np.full((len(bands), h * w), np.nan, dtype=np.float32)
    where = np.flatnonzero(covered.reshape(-1))
    for start in range(0, len(bands), _BAND_BLOCK):
        block = np.asarray(bands[start : start + _BAND_BLOCK], dtype=np.intp)
        out[start : start + len(block), where] = pixels[np.ix_(flat, block)].T
    return out.reshape(len(bands), h, w)


def _crs(attrs: Any) -> str:
    """``"EPSG:<code>"`` from the WKT in ``spatial_ref`` (its top-level AUTHORITY), else the WKT itself;
    EPSG:4326 when the attribute is missing (the product guide: WGS 84 geographic)."""
    if "spatial_ref" not in attrs:
        return "EPSG:4326"
    wkt = _text(attrs["spatial_ref"])
    m = re.search(r'AUTHORITY\[\s*"EPSG"\s*,\s*"?(\d+)"?\s*\]\s*\]\s*$', wkt)
    return f"EPSG:{m.group(1)}" if m else wkt


def _transform(attrs: Any, where: str) -> tuple[float, ...]:
    if "geotransform" not in attrs:
        raise ProductError(f"{where}: global attribute geotransform is missing; give the unmodified {_GIVE}")
    gt = np.asarray(attrs["geotransform"], dtype=np.float64).reshape(-1)
    if gt.size != 6 or not np.all(np.isfinite(gt)) or gt[1] == 0 or gt[5] == 0:
        raise ProductError(f"{where}: geotransform {gt.tolist()} is not 6 GDAL coefficients of a grid")
    x0, dx, rx, y0, ry, dy = (float(v) for v in gt)
    return (dx, rx, x0, ry, dy, y0)  # GDAL (c, a, b, f, d, e) -> affine (a, b, c, d, e, f)


def _acquired(attrs: Any, path: Path) -> str | None:
    """ISO 8601 start: ``time_coverage_start``, else the start time in the file name (UTC)."""
    if "time_coverage_start" in attrs:
        text = _text(attrs["time_coverage_start"])
        for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
            try:
                return datetime.strptime(text, fmt).isoformat()
            except ValueError:
                continue
        if text:
            return text
    m = _NAME.match(path.name)
    if m:
        return datetime.strptime(m.group("start").upper(), "%Y%m%dT%H%M%S").isoformat() + "+00:00"
    return None


def _dataset(f: Any, name: str, where: str, fix: str) -> Any:
    obj = f.get(name)
    if obj is None or not hasattr(obj, "shape"):
        raise ProductError(f"{where}: {name} is missing; {fix}")
    return obj


def _bands(f: Any, n_bands: int, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(good band indices, wavelengths nm, fwhm nm or None)`` of the good bands."""
    fix = f"not a complete EMIT L2A reflectance granule; {_GIVE}"
    if "sensor_band_parameters" not in f:
        raise ProductError(f"{where}: group sensor_band_parameters is missing; {fix}")
    wl = np.asarray(_dataset(f, "sensor_band_parameters/wavelengths", where, fix)[()], dtype=np.float64)
    fw = None
    if "sensor_band_parameters/fwhm" in f:
        fw = np.asarray(f["sensor_band_parameters/fwhm"][()], dtype=np.float64).reshape(-1)
    if "sensor_band_parameters/good_wavelengths" in f:
        good = np.asarray(f["sensor_band_parameters/good_wavelengths"][()]).reshape(-1) != 0
    else:
        good = np.ones(wl.size, dtype=bool)
    wl = wl.reshape(-1)
    sizes = {"wavelengths": wl.size, "good_wavelengths": good.size} | ({"fwhm": fw.size} if fw is not None else {})
    wrong = [f"{k} has {v}" for k, v in sizes.items() if v != n_bands]
    if wrong:
        raise ProductError(f"{where}: reflectance has {n_bands} bands but {', '.join(wrong)}; {fix}")
    keep = np.flatnonzero(good & np.isfinite(wl) & (wl > 0))
    if keep.size == 0:
        raise ProductError(f"{where}: good_wavelengths flags every band bad; nothing to read")
    fwhm = None if fw is None or not np.all(np.isfinite(fw[keep]) & (fw[keep] > 0)) else fw[keep]
    return keep, wl[keep], fwhm


def _glt(f: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    if "location" not in f:
        raise ProductError(
            f"{where}: group location (the GLT glt_x/glt_y) is missing, so the swath cannot be "
            f"orthorectified; {_GIVE} as LP DAAC distributes it, not a subset or an export"
        )
    fix = f"the location group is incomplete; {_GIVE}"
    glt_x = np.asarray(_dataset(f, "location/glt_x", where, fix)[()])
    glt_y = np.asarray(_dataset(f, "location/glt_y", where, fix)[()])
    return glt_x, glt_y


def _read_flags(path: Path, swath_shape: tuple[int, int], flags: tuple[str, ...], explicit: bool) -> dict[str, Any]:
    """``{flag: bool (downtrack, crosstrack)}`` from the mask granule, plus ``"_fill"`` (mask fill)."""
    import h5py

    where = path.name
    try:
        with h5py.File(path, "r") as f:
            fix = "give the EMIT_L2A_MASK granule of this scene unmodified, or read with mask=False"
            mask = _dataset(f, "mask", where, fix)
            names = [_text(n).lower() for n in _dataset(f, "sensor_band_parameters/mask_bands", where, fix)[()]]
            if mask.ndim != 3 or tuple(mask.shape[:2]) != swath_shape or mask.shape[2] != len(names):
                raise ProductError(
                    f"{where}: mask {tuple(mask.shape)} does not match the {swath_shape} reflectance swath and "
                    f"{len(names)} mask_bands; {fix}"
                )
            data = np.asarray(mask[()], dtype=np.float32)
    except OSError as exc:
        raise ProductError(f"{where}: cannot read the mask granule ({exc}); download it again") from exc
    out: dict[str, Any] = {}
    for flag in flags:
        band = MASK_FLAG_BANDS[flag]
        if band not in names:
            if explicit or flag == "cloud":
                raise ProductError(f"{where}: no {band!r} band in mask_bands ({', '.join(names)}); {fix}")
            continue
        out[flag] = data[:, :, names.index(band)] > 0.5
    out["_fill"] = np.any(data == FILL_VALUE, axis=2)
    return out


def _mask_options(mask: Any, mask_flags: Any, rfl: Path) -> tuple[Path | None, tuple[str, ...], bool]:
    explicit = mask_flags is not None
    flags = DEFAULT_MASK_FLAGS if mask_flags is None else tuple(str(x) for x in mask_flags)
    unknown = [x for x in flags if x not in MASK_FLAG_BANDS]
    if unknown:
        raise ProductError(f"EMIT mask_flags {unknown} unknown; choose from: {', '.join(MASK_FLAG_BANDS)}")
    if mask is False:
        return None, flags, explicit
    if mask is None or mask is True:
        found = find_mask_granule(rfl)
        if found is None and mask is True:
            raise ProductError(f"{rfl.name}: no EMIT_L2A_MASK granule beside it; download it or use mask=None")
        return found, flags, explicit
    path = Path(mask)
    if not path.is_file():
        raise ProductError(f"{path}: no such mask file; give the EMIT_L2A_MASK_*.nc of this scene")
    return path, flags, explicit


def read_emit(
    path: str | Path, *, mask: str | Path | bool | None = None, mask_flags: tuple[str, ...] | None = None
) -> Product:
    """Read an EMIT L2A reflectance granule into a :class:`Product` on its GLT grid (EPSG:4326).

    Args:
        path: ``EMIT_L2A_RFL_*.nc``, or a folder holding exactly one.
        mask: ``None`` (default): use the ``EMIT_L2A_MASK`` granule beside it when there is one; ``True``:
            require it; ``False``: ignore it; a path: that mask file.
        mask_flags: Mask flags that make a pixel invalid (names of :data:`MASK_FLAG_BANDS`); default
            :data:`DEFAULT_MASK_FLAGS`.

    Returns:
        float32 ``(C, H, W)`` surface reflectance of the good bands (NaN where invalid), ``valid`` =
        covered by the GLT, no fill value in any good band and no selected flag; ``masks`` ``"nodata"``
        and one layer per flag used. The grid is geographic: reproject onto the MSI's UTM grid (``--align``).

    Raises:
        ProductError: One line, for a granule that is not EMIT L2A reflectance (e.g. L1B radiance), lacks
            the location group, or whose parts disagree.
    """
    import h5py

    rfl = _resolve(Path(path))
    where = rfl.name
    _check_name(rfl)
    mask_path, flags, explicit = _mask_options(mask, mask_flags, rfl)
    if not h5py.is_hdf5(str(rfl)):
        raise ProductError(f"{where}: not a netCDF-4/HDF5 file; {_GIVE}")
    try:
        with h5py.File(rfl, "r") as f:
            if "reflectance" not in f:
                if "radiance" in f:
                    raise ProductError(f"{where}: {_REFUSED['L1B_RAD']}")
                raise ProductError(f"{where}: no reflectance variable, not an EMIT L2A RFL granule; {_GIVE}")
            refl = f["reflectance"]
            if refl.ndim != 3:
                raise ProductError(f"{where}: reflectance has shape {refl.shape}, not (downtrack, crosstrack, bands)")
            keep, wl, fwhm = _bands(f, int(refl.shape[2]), where)
            glt_x, glt_y = _glt(f, where)
            fill = float(np.asarray(refl.attrs.get("_FillValue", FILL_VALUE)).reshape(-1)[0])
            swath = np.asarray(refl[()], dtype=np.float32)
            crs = _crs(f.attrs)
            transform = _transform(f.attrs, where)
            acquired = _acquired(f.attrs, rfl)
    except OSError as exc:
        raise ProductError(f"{where}: cannot read the netCDF-4 file ({exc}); download the granule again") from exc
    swath_shape = (int(swath.shape[0]), int(swath.shape[1]))
    bad = np.zeros(swath_shape, dtype=bool)
    for start in range(0, keep.size, _BAND_BLOCK):  # blocks: no full-size temporary copy of the swath
        block = swath[:, :, keep[start : start + _BAND_BLOCK]]
        bad |= np.any((block == fill) | ~np.isfinite(block), axis=2)
    layers = {"_swath_fill": bad}
    if mask_path is not None:
        layers |= _read_flags(mask_path, swath_shape, flags, explicit)
    names = list(layers)
    stacked = np.stack([layers[n] for n in names], axis=2).astype(np.float32)
    cube = orthorectify(swath, glt_x, glt_y, keep)
    flagged = orthorectify(stacked, glt_x, glt_y, np.arange(len(names)))
    covered = np.isfinite(flagged[0])
    ortho = {n: covered & (flagged[k] > 0.5) for k, n in enumerate(names)}
    nodata = ~covered | ortho.pop("_swath_fill") | ortho.pop("_fill", np.zeros_like(covered))
    masks = {"nodata": nodata, **ortho}
    valid = ~np.logical_or.reduce(list(masks.values()))
    cube[:, ~valid] = np.nan
    meta = RasterMeta(
        crs=crs,
        transform=transform,
        wavelengths_nm=wl,
        fwhm_nm=fwhm,
        nodata=None,
        band_names=[f"B{i + 1:03d}" for i in keep],
        units="reflectance",
        source=str(rfl) + ("" if mask_path is None else f" + {mask_path.name}"),
    )
    return Product(
        cube=cube, meta=meta, valid=valid, sensor=SENSOR, level=LEVEL, acquired=acquired, kind="hsi", masks=masks
    )


class EmitL2AReader:
    """The EMIT reader registered in :data:`pfs2c2.products.READERS` as ``"emit"``."""

    name = SENSOR

    def detect(self, path: str | Path) -> bool:
        """True for an ``EMIT_*.nc`` granule (any level, so that L1B gets the level refusal), a folder with
        one ``EMIT_L2A_RFL_*.nc``, or a netCDF-4 file whose ``title`` starts with ``EMIT``; never raises."""
        try:
            p = Path(path)
            if p.is_dir():
                return len(list(p.glob("EMIT_L2A_RFL_*.nc"))) == 1
            if not p.is_file() or p.suffix.lower() not in (".nc", ".nc4", ".h5"):
                return False
            if _NAME.match(p.name):
                return True
            import h5py

            if not h5py.is_hdf5(str(p)):
                return False
            with h5py.File(p, "r") as f:
                return _text(f.attrs.get("title", "")).upper().startswith("EMIT")
        except Exception:  # detection must never raise: a file we cannot open is not claimed
            return False

    def read(self, path: str | Path, **options: Any) -> Product:
        """:func:`read_emit` (options: ``mask``, ``mask_flags``)."""
        unknown = set(options) - {"mask", "mask_flags"}
        if unknown:
            raise ProductError(f"EMIT reader: unknown option(s) {', '.join(sorted(unknown))}; known: mask, mask_flags")
        return read_emit(path, **options)


READER = EmitL2AReader()
