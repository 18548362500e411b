"""Cubes as ``xarray.DataArray`` (with rioxarray's CRS and transform), and back.

The optional extra ``pip install 'pfs2c2[xarray]'`` installs xarray and rioxarray; they are imported
only inside these functions, so the rest of the package works without them.

The DataArray form of a ``(C, H, W)`` cube and its :class:`~pfs2c2.io.RasterMeta`:

* dims ``("band", "y", "x")``; ``band`` = 1..C (rioxarray's convention), ``y`` / ``x`` the pixel
  centres from the affine transform (left out when the transform is rotated or unknown);
* coordinates on ``band``: ``wavelength`` (nm, attribute ``units="nm"``), ``fwhm`` (nm) when known,
  ``band_name`` when the bands have names;
* ``.rio.crs`` and ``.rio.transform()`` written with ``rio.write_crs`` / ``rio.write_transform``
  (the ``spatial_ref`` coordinate), the nodata with ``rio.write_nodata`` (NaN when none);
* attributes ``units`` (when known), ``nodata``, ``long_name`` (the band labels, written as band
  descriptions by ``rio.to_raster``) and ``source``.

:func:`from_dataarray` reads that form back and also accepts ``("y", "x", "band")`` order, a band
dimension named ``wavelength``, a ``wavelength`` coordinate in micrometres (by its ``units``
attribute or its values) and a grid rioxarray derives from the ``x`` / ``y`` coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ._common import PathLike
from .meta import RasterMeta, crs_string, wavelengths_to_nm
from .readers import read_cube

__all__ = [
    "XARRAY_HINT",
    "import_xarray",
    "is_dataarray",
    "to_dataarray",
    "from_dataarray",
    "open_dataarray",
    "fused_meta",
    "valid_coordinate",
]

XARRAY_HINT = "pip install 'pfs2c2[xarray]'"


def import_xarray() -> Any:
    """Import xarray and rioxarray (which registers ``.rio``); a one-line :class:`InputError` if missing."""
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)
        import xarray
    except ImportError as exc:
        raise InputError(
            f"xarray DataArrays need xarray and rioxarray ({exc.name} is missing): {XARRAY_HINT}"
        ) from None
    return xarray


def is_dataarray(obj: Any) -> bool:
    """True when ``obj`` is an ``xarray.DataArray`` (checked without importing xarray)."""
    return any(c.__name__ == "DataArray" and c.__module__.startswith("xarray") for c in type(obj).__mro__)


def _centres(transform: tuple[float, ...], h: int, w: int) -> tuple[np.ndarray, np.ndarray] | None:
    a, b, c, d, e, f = transform
    if b != 0.0 or d != 0.0:
        return None
    return f + e * (np.arange(h) + 0.5), c + a * (np.arange(w) + 0.5)


def to_dataarray(cube: Any, meta: RasterMeta | None = None, *, name: str | None = None) -> Any:
    """A ``(C, H, W)`` cube and its metadata as a DataArray (see the module docstring).

    Args:
        cube: ``(C, H, W)`` array (numpy, or anything ``np.asarray`` takes); float32 is kept.
        meta: CRS, transform, wavelengths, FWHM, nodata, band names, units; ``None`` for none.
        name: the DataArray's name (e.g. ``"reflectance"``).
    """
    xr = import_xarray()
    arr = np.asarray(cube)
    if arr.ndim != 3:
        raise InputError(f"a cube for a DataArray must be (C, H, W), got shape {arr.shape}")
    c, h, w = arr.shape
    meta = meta if meta is not None else RasterMeta()
    meta.check_bands(c, "cube for the DataArray")
    coords: dict[str, Any] = {"band": np.arange(1, c + 1)}
    if meta.transform is not None:
        centres = _centres(meta.transform, h, w)
        if centres is not None:
            coords["y"], coords["x"] = centres
    if meta.wavelengths_nm is not None:
        coords["wavelength"] = ("band", np.asarray(meta.wavelengths_nm, np.float64), {"units": "nm"})
    if meta.fwhm_nm is not None:
        coords["fwhm"] = ("band", np.asarray(meta.fwhm_nm, np.float64), {"units": "nm"})
    if meta.band_names is not None:
        coords["band_name"] = ("band", list(meta.band_names))
    attrs: dict[str, Any] = {}
    if meta.units:
        attrs["units"] = meta.units
    if meta.source:
        attrs["source"] = meta.source
    labels = meta.band_names or (
        [f"{v:g} nm" for v in meta.wavelengths_nm] if meta.wavelengths_nm is not None else None
    )
    if labels is not None:
        attrs["long_name"] = tuple(labels)
    da = xr.DataArray(arr, dims=("band", "y", "x"), coords=coords, attrs=attrs, name=name)
    if meta.crs is not None:
        da = da.rio.write_crs(meta.crs)
    if meta.transform is not None:
        da = da.rio.write_transform(meta.affine())
    nodata = meta.nodata if meta.nodata is not None else (np.nan if arr.dtype.kind == "f" else None)
    if nodata is not None:
        da = da.rio.write_nodata(nodata, encoded=False)
        da.attrs["nodata"] = nodata
    return da


def _dims(da: Any) -> tuple[str, str, str]:
    """``(band, y, x)`` dimension names of a 3-D DataArray."""
    if da.ndim != 3:
        raise InputError(f"a DataArray cube needs 3 dims (band, y, x), got {da.ndim}: {tuple(da.dims)}")
    y, x = _dim(da, "y"), _dim(da, "x")
    rest = [str(d) for d in da.dims if d not in (y, x)]
    if y is None or x is None or len(rest) != 1:
        raise InputError(
            f"cannot tell the band and spatial dimensions of a DataArray with dims {tuple(da.dims)}; "
            "name them ('band', 'y', 'x') or ('y', 'x', 'band')"
        )
    return rest[0], y, x


def _dim(da: Any, axis: str) -> str | None:
    try:
        found = da.rio.y_dim if axis == "y" else da.rio.x_dim
    except Exception:  # rioxarray raises when it finds no spatial dimension
        found = None
    if found is None and axis in da.dims:
        found = axis
    return None if found is None else str(found)


def _band_values(da: Any, band: str, name: str) -> tuple[np.ndarray, str | None] | None:
    """Values and ``units`` attribute of a 1-D coordinate on the band dimension (the band dimension
    itself when it is named ``wavelength``)."""
    coord = da.coords.get(name)
    if coord is None or tuple(coord.dims) != (band,):
        return None
    values = np.asarray(coord.values, dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        return None
    units = coord.attrs.get("units")
    return values, None if units is None else str(units)


def _spectra(da: Any, band: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Band centres and FWHM in nm from the ``wavelength`` / ``fwhm`` coordinates."""
    found = _band_values(da, band, "wavelength")
    if found is None:
        return None, None
    raw, units = found
    wl = wavelengths_to_nm(raw, units)
    factor = float(wl[0] / raw[0]) if raw[0] != 0 else 1.0
    fwhm = _band_values(da, band, "fwhm")
    if fwhm is None:
        return wl, None
    fw_raw, fw_units = fwhm
    return wl, (wavelengths_to_nm(fw_raw, fw_units) if fw_units else fw_raw * factor)


def _grid(da: Any) -> tuple[str | None, tuple[float, ...] | None]:
    crs_text = crs_string(da.rio.crs)
    transform: tuple[float, ...] | None
    try:
        t = da.rio.transform()
        transform = tuple(t)[:6]
    except Exception:  # no grid in coordinates or attributes
        transform = None
    if transform == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0) and crs_text is None:
        transform = None
    return crs_text, transform


def from_dataarray(da: Any) -> tuple[np.ndarray, RasterMeta]:
    """A DataArray (see the module docstring) as a float32 ``(C, H, W)`` cube and its metadata.

    Raises:
        InputError: not a DataArray, not 3-D, no recognisable band dimension, xarray missing.
    """
    import_xarray()
    if not is_dataarray(da):
        raise InputError(f"expected an xarray.DataArray, got {type(da).__name__}")
    band, y, x = _dims(da)
    da = da.transpose(band, y, x)
    cube = np.ascontiguousarray(np.asarray(da.values), dtype=np.float32)
    wl, fw = _spectra(da, band)
    crs, transform = _grid(da)
    nodata = da.rio.nodata
    if nodata is None:
        nodata = da.attrs.get("nodata", da.attrs.get("_FillValue"))
    nodata_value = None if nodata is None or np.isnan(float(nodata)) else float(nodata)
    names = None
    if "band_name" in da.coords and da.coords["band_name"].dims == (band,):
        names = [str(v) for v in da.coords["band_name"].values]
    units = da.attrs.get("units")
    meta = RasterMeta(
        crs=crs,
        transform=transform,
        wavelengths_nm=wl,
        fwhm_nm=fw,
        nodata=nodata_value,
        band_names=names,
        units=str(units) if units else None,
        source=str(da.attrs["source"]) if da.attrs.get("source") else None,
    )
    return cube, meta


def valid_coordinate(da: Any) -> np.ndarray | None:
    """The boolean ``valid`` coordinate of a DataArray as ``(H, W)`` (``y`` first), or ``None``."""
    coord = da.coords.get("valid")
    if coord is None or coord.ndim != 2:
        return None
    mask = np.asarray(coord.values, dtype=bool)
    dims = tuple(str(d) for d in coord.dims)
    y = _dim(da, "y")
    return np.ascontiguousarray(mask.T) if y is not None and dims[1] == y else mask


def fused_meta(hsi_meta: RasterMeta, msi_meta: RasterMeta) -> RasterMeta:
    """Metadata of a fused cube: the HSI's bands (wavelengths, FWHM, names, units) on the MSI grid."""
    return RasterMeta(
        crs=msi_meta.crs,
        transform=msi_meta.transform,
        wavelengths_nm=hsi_meta.wavelengths_nm,
        fwhm_nm=hsi_meta.fwhm_nm,
        band_names=hsi_meta.band_names,
        units=hsi_meta.units,
    )


def open_dataarray(path: PathLike, *, name: str | None = None) -> Any:
    """Read a cube file (any format of :func:`pfs2c2.io.read_cube`, ``path:variable`` too) as a DataArray."""
    import_xarray()
    cube, meta = read_cube(path)
    return to_dataarray(cube, meta, name=name)
