"""The GDAL metadata of an open rasterio dataset, as the fields of a RasterMeta (no pixel reads).

Wavelengths from (first match): band tags ``wavelength`` (+ ``wavelength_units`` on the band or the
dataset), the ``ENVI`` metadata domain (``wavelength``, ``fwhm``, ``wavelength_units``), GDAL's ``IMAGERY``
domain (``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``), band descriptions such as ``"650.3 nm"``. Nodata from the
dataset or the ENVI ``data ignore value``; band scales/offsets, or the ENVI ``reflectance scale factor`` for
integer data without gains; CRS as ``EPSG:<code>`` (else WKT) and the affine transform.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .._common import parse_float_list
from ..meta import crs_string, wavelength_unit_factor
from ._shared import band_names, fwhm_nm, wl_nm

__all__ = ["rasterio_info"]

_WL_LABEL_RE = re.compile(
    r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(nm|nanometers?|um|µm|μm|micrometers?|microns?)\b",
    re.IGNORECASE,
)


def _wavelengths(src: Any, tags: dict[str, str], envi: dict[str, str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Band centres and FWHM in nm from the first source that covers every band."""
    n = src.count
    band_tags = [src.tags(i) for i in range(1, n + 1)]
    imagery = [src.tags(i, ns="IMAGERY") if "IMAGERY" in (src.tag_namespaces(i) or []) else {} for i in range(1, n + 1)]
    descriptions = list(src.descriptions or [None] * n)
    wl = fw = None
    units = (
        band_tags[0].get("wavelength_units") or tags.get("wavelength_units") or envi.get("wavelength_units")
        if n
        else None
    )
    if n and all("wavelength" in t for t in band_tags):
        raw = [t["wavelength"] for t in band_tags]
        wl = wl_nm(raw, units, n)
        if wl is not None and all("fwhm" in t for t in band_tags):
            fw = fwhm_nm([t["fwhm"] for t in band_tags], units, parse_float_list(raw), n)
    if wl is None and "wavelength" in envi:
        units = envi.get("wavelength_units")
        wl = wl_nm(envi["wavelength"], units, n)
        if wl is not None and "fwhm" in envi:
            fw = fwhm_nm(envi["fwhm"], units, parse_float_list(envi["wavelength"]), n)
    if wl is None and n and all("CENTRAL_WAVELENGTH_UM" in t for t in imagery):
        wl = wl_nm([t["CENTRAL_WAVELENGTH_UM"] for t in imagery], "um", n)
        if wl is not None and all("FWHM_UM" in t for t in imagery):
            fw = fwhm_nm([t["FWHM_UM"] for t in imagery], "um", None, n)
    if wl is None and n and all(descriptions):
        found = [_WL_LABEL_RE.search(d) for d in descriptions]
        if all(found):
            vals = [
                float(m.group(1)) * (wavelength_unit_factor(m.group(2)) or 1.0)  # type: ignore[union-attr]
                for m in found
            ]
            wl = np.asarray(vals, dtype=np.float64)
    if fw is None and wl is not None and "fwhm" in envi:
        fw = fwhm_nm(envi["fwhm"], envi.get("wavelength_units"), None, n)
    return wl, fw


def rasterio_info(src: Any) -> dict[str, Any]:
    """Metadata of an open rasterio dataset (no pixel reads)."""
    n = src.count
    tags = src.tags()
    envi = src.tags(ns="ENVI") if "ENVI" in (src.tag_namespaces() or []) else {}
    descriptions = list(src.descriptions or [None] * n)
    wl, fw = _wavelengths(src, tags, envi)

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
    crs = crs_string(src.crs)
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
        "band_names": band_names(descriptions),
        "units": band_units[0] if band_units else None,
    }
