"""A small EMIT L2A reflectance granule (and its mask granule), written the way LP DAAC ships them.

``make_emit(folder)`` writes ``EMIT_L2A_RFL_001_20230101T101010_2300107_001.nc``: a netCDF-4 (HDF5) file
laid out as the EMIT L2A product user guide describes (EMITL2ARFL v001; see pfs2c2/products/emit.py):

* root dataset ``reflectance`` float32 ``(downtrack, crosstrack, bands)``, ``_FillValue`` -9999;
* group ``sensor_band_parameters``: ``wavelengths``, ``fwhm`` (nm), ``good_wavelengths`` (1/0; the bands
  in the 1400 nm and 1900 nm water-vapour absorptions are 0 and hold :data:`BAD_BAND_VALUE`);
* group ``location``: ``lat``, ``lon``, ``elev`` ``(downtrack, crosstrack)`` and the geometry lookup table
  ``glt_x``, ``glt_y`` int32 ``(ortho_y, ortho_x)``: 1-based crosstrack / downtrack indices into the swath,
  0 where no swath pixel falls;
* global attributes ``geotransform`` (6 GDAL coefficients of the GLT grid), ``spatial_ref`` (WKT of
  EPSG:4326), ``time_coverage_start``, ``title``, ``product_version``, ...

The swath is rotated by :data:`ROTATION_DEG` against the north-up GLT grid, so the GLT is not the identity
and has empty (0) corners. Reflectance values are known: :func:`reflectance_value`. Two swath pixels are
fill (:data:`FILL_PIXEL` in every band, :data:`PARTIAL_FILL_PIXEL` in one good band).

``with_mask=True`` also writes ``EMIT_L2A_MASK_001_<same id>.nc`` (``mask`` float32
``(downtrack, crosstrack, 8)``, band names in ``sensor_band_parameters/mask_bands``), with the flags of
:func:`mask_flags`. ``level="L1B"`` writes a radiance granule ``EMIT_L1B_RAD_001_<same id>.nc``
(``radiance``, no ``good_wavelengths``) instead, for the refusal tests.

As a script: ``python tests/products/make_emit.py OUTDIR [--mask] [--level L1B]``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = [
    "BAD_BAND_VALUE",
    "FILL_PIXEL",
    "FILL_VALUE",
    "GRANULE_ID",
    "MASK_BANDS",
    "PARTIAL_FILL_PIXEL",
    "PIXEL_DEG",
    "ROTATION_DEG",
    "emit_wavelengths",
    "ground_position",
    "make_emit",
    "mask_flags",
    "reflectance_value",
]

GRANULE_ID = "001_20230101T101010_2300107_001"
"""Version, acquisition start, orbit and scene of the fixture (``EMIT_L2A_RFL_<GRANULE_ID>.nc``)."""
FILL_VALUE = -9999.0
BAD_BAND_VALUE = -0.01
"""What the fixture stores in the bands flagged bad (the reader must drop them, whatever they hold)."""
PIXEL_DEG = 0.000542232520256367
"""GLT grid spacing in degrees (the value of a real granule's ``spatialResolution``)."""
ROTATION_DEG = 14.0
ORIGIN_LON_LAT = (12.5, 41.9)
"""Ground position of the centre of swath pixel (downtrack 0, crosstrack 0)."""
FILL_PIXEL = (4, 4)
"""(downtrack, crosstrack) of a swath pixel that is -9999 in every band (one the default GLT references:
nearest-neighbour GLTs skip a few swath pixels, as real ones do)."""
PARTIAL_FILL_PIXEL = (9, 12)
"""(downtrack, crosstrack) of a swath pixel that is -9999 in one good band only."""
MASK_BANDS = [
    "Cloud flag",
    "Cirrus flag",
    "Water flag",
    "Spacecraft Flag",
    "Dilated Cloud Flag",
    "AOD550",
    "H2O (g cm-2)",
    "Aggregate Flag",
]
"""The band names of an EMIT L2A MASK v001 granule, in its order."""
WKT_4326 = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],'
    'AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


def emit_wavelengths(bands: int, bad_bands: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(wavelengths nm, fwhm nm, good 0/1)`` for ``bands`` bands over 381-2493 nm; the ``bad_bands``
    bands nearest 1400 nm and 1900 nm (alternately) are flagged 0."""
    wl = np.linspace(381.0, 2493.0, bands)
    fwhm = np.full(bands, 1.1 * (wl[1] - wl[0]) if bands > 1 else 8.5)
    good = np.ones(bands, dtype=np.uint8)
    order = [np.argsort(np.abs(wl - centre)) for centre in (1400.0, 1900.0)]
    taken = 0
    rank = 0
    while taken < bad_bands:
        for ranked in order:
            if taken < bad_bands and good[ranked[rank]]:
                good[ranked[rank]] = 0
                taken += 1
        rank += 1
    return wl, fwhm, good


def reflectance_value(down: int, cross: int, band: int, size: tuple[int, int], bands: int) -> float:
    """The reflectance the fixture stores at swath pixel ``(down, cross)``, band ``band`` (0..1; a unique
    spatial ramp plus a small spectral slope)."""
    nd, nx = size
    return 0.05 + 0.5 * (down * nx + cross) / (nd * nx) + 0.2 * band / bands


def ground_position(down: Any, cross: Any) -> tuple[Any, Any]:
    """``(lon, lat)`` in degrees of the centre of swath pixel ``(down, cross)`` (numbers, fractional
    allowed, or arrays)."""
    t = math.radians(ROTATION_DEG)
    lon = ORIGIN_LON_LAT[0] + PIXEL_DEG * (cross * math.cos(t) + down * math.sin(t))
    lat = ORIGIN_LON_LAT[1] + PIXEL_DEG * (cross * math.sin(t) - down * math.cos(t))
    return lon, lat


def _swath_coords(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`ground_position`: fractional ``(down, cross)`` of ground points."""
    t = math.radians(ROTATION_DEG)
    dx = (lon - ORIGIN_LON_LAT[0]) / PIXEL_DEG
    dy = (lat - ORIGIN_LON_LAT[1]) / PIXEL_DEG
    cross = dx * math.cos(t) + dy * math.sin(t)
    down = dx * math.sin(t) - dy * math.cos(t)
    return down, cross


def _glt(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """``(glt_x, glt_y, geotransform)``: for each north-up grid cell the nearest swath pixel (1-based), 0
    where the cell centre is more than half a pixel outside the swath."""
    nd, nx = size
    corners = [ground_position(d, c) for d in (-0.5, nd - 0.5) for c in (-0.5, nx - 0.5)]
    lons = [p[0] for p in corners]
    lats = [p[1] for p in corners]
    west, north = min(lons), max(lats)
    width = int(math.ceil((max(lons) - west) / PIXEL_DEG))
    height = int(math.ceil((north - min(lats)) / PIXEL_DEG))
    rows, cols = np.mgrid[0:height, 0:width]
    lon = west + (cols + 0.5) * PIXEL_DEG
    lat = north - (rows + 0.5) * PIXEL_DEG
    down, cross = _swath_coords(lon, lat)
    d = np.rint(down).astype(np.int64)
    c = np.rint(cross).astype(np.int64)
    inside = (d >= 0) & (d < nd) & (c >= 0) & (c < nx)
    glt_x = np.where(inside, c + 1, 0).astype(np.int32)
    glt_y = np.where(inside, d + 1, 0).astype(np.int32)
    geotransform = [west, PIXEL_DEG, -0.0, north, -0.0, -PIXEL_DEG]
    return glt_x, glt_y, geotransform


def mask_flags(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The swath-geometry flags of the fixture's mask granule, by band name (bool ``(downtrack,
    crosstrack)``): a cloud block, a one-pixel dilated ring around it, a cirrus pixel, a water strip
    (not a reason to drop a pixel), a spacecraft-obstructed pixel."""
    nd, nx = size
    zero = np.zeros(size, dtype=bool)
    cloud = zero.copy()
    cloud[nd // 2 : nd // 2 + 3, nx // 2 : nx // 2 + 3] = True
    dilated = zero.copy()
    dilated[nd // 2 - 1 : nd // 2 + 4, nx // 2 - 1 : nx // 2 + 4] = True
    cirrus = zero.copy()
    cirrus[1, nx - 3] = True
    water = zero.copy()
    water[nd - 2 :, :4] = True
    spacecraft = zero.copy()
    spacecraft[nd - 1, nx - 1] = True
    return {
        "Cloud flag": cloud,
        "Cirrus flag": cirrus,
        "Water flag": water,
        "Spacecraft Flag": spacecraft,
        "Dilated Cloud Flag": dilated,
    }


def _dimension(f: h5py.File, name: str, n: int) -> h5py.Dataset:
    scale = f.create_dataset(name, data=np.arange(n, dtype=np.int32))
    scale.make_scale(name)
    return scale


def _attach(dataset: h5py.Dataset, *scales: h5py.Dataset) -> None:
    for axis, scale in enumerate(scales):
        dataset.dims[axis].attach_scale(scale)


def _strings(group: h5py.Group, name: str, values: list[str]) -> None:
    group.create_dataset(name, data=np.array(values, dtype=object), dtype=h5py.string_dtype())


def _common(f: h5py.File, size: tuple[int, int], nbands: int, title: str) -> dict[str, h5py.Dataset]:
    """Dimensions, global attributes and the location group every EMIT swath granule has."""
    nd, nx = size
    glt_x, glt_y, geotransform = _glt(size)
    dims = {
        "downtrack": _dimension(f, "downtrack", nd),
        "crosstrack": _dimension(f, "crosstrack", nx),
        "bands": _dimension(f, "bands", nbands),
        "ortho_y": _dimension(f, "ortho_y", glt_x.shape[0]),
        "ortho_x": _dimension(f, "ortho_x", glt_x.shape[1]),
    }
    f.attrs["ncei_template_version"] = "NCEI_NetCDF_Swath_Template_v2.0"
    f.attrs["title"] = title
    f.attrs["sensor"] = "EMIT (Earth Surface Mineral Dust Source Investigation)"
    f.attrs["instrument"] = "EMIT"
    f.attrs["platform"] = "ISS"
    f.attrs["Conventions"] = "CF-1.63"
    f.attrs["product_version"] = "V001"
    f.attrs["time_coverage_start"] = "2023-01-01T10:10:10+0000"
    f.attrs["time_coverage_end"] = "2023-01-01T10:10:22+0000"
    f.attrs["crosstrack_orientation"] = "as seen on ground"
    f.attrs["spatialResolution"] = PIXEL_DEG
    f.attrs["spatial_ref"] = WKT_4326
    f.attrs["geotransform"] = np.asarray(geotransform, dtype=np.float64)
    f.attrs["day_night_flag"] = "Day"

    rows, cols = np.mgrid[0:nd, 0:nx]
    lon, lat = ground_position(rows, cols)
    location = f.create_group("location")
    for name, data, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
        ds = location.create_dataset(name, data=np.asarray(data, dtype=np.float64))
        ds.attrs["units"] = units
        _attach(ds, dims["downtrack"], dims["crosstrack"])
    elev = location.create_dataset("elev", data=np.zeros(size, dtype=np.float64))
    elev.attrs["units"] = "m"
    for name, data in (("glt_x", glt_x), ("glt_y", glt_y)):
        ds = location.create_dataset(name, data=data)
        ds.attrs["_FillValue"] = np.array([0], dtype=np.int32)
        ds.attrs["long_name"] = f"GLT Sample Lookup ({'crosstrack' if name == 'glt_x' else 'downtrack'})"
        _attach(ds, dims["ortho_y"], dims["ortho_x"])
    return dims


def _write_rfl(path: Path, size: tuple[int, int], bands: int, bad_bands: int) -> None:
    nd, nx = size
    wl, fwhm, good = emit_wavelengths(bands, bad_bands)
    d, x, b = np.meshgrid(np.arange(nd), np.arange(nx), np.arange(bands), indexing="ij")
    cube = (0.05 + 0.5 * (d * nx + x) / (nd * nx) + 0.2 * b / bands).astype(np.float32)
    cube[:, :, good == 0] = BAD_BAND_VALUE
    first_good = int(np.flatnonzero(good)[0])
    for (down, cross), band in ((FILL_PIXEL, slice(None)), (PARTIAL_FILL_PIXEL, first_good)):
        if down < nd and cross < nx:  # (a smaller swath has no such pixel)
            cube[down, cross, band] = FILL_VALUE
    with h5py.File(path, "w") as f:
        dims = _common(f, size, bands, "EMIT L2A Estimated Surface Reflectance 60 m V001")
        refl = f.create_dataset("reflectance", data=cube, chunks=(min(nd, 8), nx, bands))
        refl.attrs["_FillValue"] = np.array([FILL_VALUE], dtype=np.float32)
        refl.attrs["long_name"] = "Surface Reflectance"
        refl.attrs["units"] = "unitless"
        _attach(refl, dims["downtrack"], dims["crosstrack"], dims["bands"])
        params = f.create_group("sensor_band_parameters")
        for name, data, units in (("wavelengths", wl, "nm"), ("fwhm", fwhm, "nm")):
            ds = params.create_dataset(name, data=data.astype(np.float32))
            ds.attrs["units"] = units
            _attach(ds, dims["bands"])
        ds = params.create_dataset("good_wavelengths", data=good)
        ds.attrs["long_name"] = "Wavelengths where reflectance is useable: 1 = good data, 0 = bad data"
        _attach(ds, dims["bands"])


def _write_rad(path: Path, size: tuple[int, int], bands: int) -> None:
    wl, fwhm, _ = emit_wavelengths(bands, 0)
    rng = np.random.default_rng(0)
    cube = rng.uniform(1.0, 12.0, size=(*size, bands)).astype(np.float32)
    with h5py.File(path, "w") as f:
        dims = _common(f, size, bands, "EMIT L1B At-Sensor Calibrated Radiance and Geolocation Data 60 m V001")
        rad = f.create_dataset("radiance", data=cube)
        rad.attrs["_FillValue"] = np.array([FILL_VALUE], dtype=np.float32)
        rad.attrs["units"] = "uW cm-2 sr-1 nm-1"
        _attach(rad, dims["downtrack"], dims["crosstrack"], dims["bands"])
        params = f.create_group("sensor_band_parameters")
        for name, data in (("wavelengths", wl), ("fwhm", fwhm)):
            ds = params.create_dataset(name, data=data.astype(np.float32))
            ds.attrs["units"] = "nm"
            _attach(ds, dims["bands"])


def _write_mask(path: Path, size: tuple[int, int]) -> None:
    flags = mask_flags(size)
    data = np.zeros((*size, len(MASK_BANDS)), dtype=np.float32)
    for k, name in enumerate(MASK_BANDS):
        if name in flags:
            data[:, :, k] = flags[name]
    data[:, :, MASK_BANDS.index("AOD550")] = 0.08
    data[:, :, MASK_BANDS.index("H2O (g cm-2)")] = 1.6
    data[:, :, MASK_BANDS.index("Aggregate Flag")] = np.logical_or.reduce(list(flags.values()))
    with h5py.File(path, "w") as f:
        dims = _common(f, size, len(MASK_BANDS), "EMIT L2A Masks 60 m V001")
        ds = f.create_dataset("mask", data=data)
        ds.attrs["_FillValue"] = np.array([FILL_VALUE], dtype=np.float32)
        _attach(ds, dims["downtrack"], dims["crosstrack"], dims["bands"])
        params = f.create_group("sensor_band_parameters")
        _strings(params, "mask_bands", MASK_BANDS)


def make_emit(
    folder: str | Path,
    *,
    size: tuple[int, int] = (16, 18),
    bands: int = 40,
    bad_bands: int = 4,
    with_mask: bool = False,
    level: str = "L2A",
) -> Path:
    """Write the fixture granule into ``folder`` and return its path.

    Args:
        folder: Output folder (created).
        size: Swath ``(downtrack, crosstrack)`` in pixels; the GLT grid is larger (the swath is rotated).
        bands: Number of spectral bands (381-2493 nm).
        bad_bands: How many of them ``good_wavelengths`` flags bad (around 1400 and 1900 nm).
        with_mask: Also write the ``EMIT_L2A_MASK`` granule beside it.
        level: ``"L2A"`` (reflectance) or ``"L1B"`` (a radiance granule, which the reader refuses).

    Returns:
        Path of the ``EMIT_L2A_RFL_...nc`` (or ``EMIT_L1B_RAD_...nc``) file.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    if level == "L1B":
        path = out / f"EMIT_L1B_RAD_{GRANULE_ID}.nc"
        _write_rad(path, size, bands)
    elif level == "L2A":
        path = out / f"EMIT_L2A_RFL_{GRANULE_ID}.nc"
        _write_rfl(path, size, bands, bad_bands)
    else:
        raise ValueError(f"level must be 'L2A' or 'L1B', got {level!r}")
    if with_mask:
        _write_mask(out / f"EMIT_L2A_MASK_{GRANULE_ID}.nc", size)
    return path


def _main() -> None:
    parser = argparse.ArgumentParser(description="Write a small EMIT L2A reflectance granule.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mask", action="store_true", help="also write the L2A mask granule")
    parser.add_argument("--level", default="L2A", choices=["L2A", "L1B"])
    args = parser.parse_args()
    print(make_emit(args.folder, with_mask=args.mask, level=args.level))


if __name__ == "__main__":
    _main()
