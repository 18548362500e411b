"""Sentinel-2 Level-2A (surface reflectance) products: a ``.SAFE`` folder or its ``.zip``.

Specification: ESA / Thales Alenia Space, "Sentinel-2 Products Specification Document",
S2-PDGS-TAS-DI-PSD, issue 14.6 (16 Mar 2021) and later issues (15.x describe the same L2A layout):

- the SAFE tree (PSD "Level-2A product physical format"): ``<PRODUCT_URI>.SAFE/MTD_MSIL2A.xml`` and
  ``GRANULE/<granule>/IMG_DATA/R10m|R20m|R60m/<tile>_<sensing>_<band>_<res>m.jp2``; the image files are
  listed, without extension, in ``General_Info/Product_Info/Product_Organisation/Granule_List/Granule/
  IMAGE_FILE``. The ``R10m`` folder holds B02, B03, B04, B08; ``R20m`` B02-B07, B8A, B11, B12 and the
  scene classification ``SCL``. A ``.zip`` from the hubs holds that folder.
- ``General_Info/Product_Info``: ``PRODUCT_TYPE`` (``S2MSI2A``; ``S2MSI1C`` for Level-1C),
  ``PROCESSING_LEVEL``, ``PROCESSING_BASELINE``, ``PRODUCT_START_TIME``, ``Datatake/SPACECRAFT_NAME``.
- ``General_Info/Product_Image_Characteristics``: ``Special_Values`` (NODATA = 0, SATURATED = 65535),
  ``QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE`` (10000), ``BOA_ADD_OFFSET_VALUES_LIST/
  BOA_ADD_OFFSET[@band_id]`` and ``Spectral_Information_List/Spectral_Information[@bandId,
  @physicalBand]/Wavelength/CENTRAL``. Surface reflectance is
  ``(DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE`` for DN >= 1; DN 0 is no data.
- The offset exists since processing baseline 04.00 (ESA, "Sentinel-2: Processing Baseline 04.00",
  products from 25 January 2022; the offset is -1000, so that dark pixels are no longer clipped at 0).
  Before 04.00 the XML has no ``BOA_ADD_OFFSET_VALUES_LIST`` and the offset is 0. A product of baseline
  >= 04.00 whose XML lacks the list is refused (guessing 0 would shift every reflectance by 0.1).
- Baselines 02.04-02.06 (PSD 14.2) prefix some element names with ``L2A_`` (``L2A_Product_Info``,
  ``IMAGE_FILE_2A``, ``L1C_L2A_Quantification_Values_List``); those prefixes are read too.
- Scene classification (SCL, 20 m; Sen2Cor / L2A Algorithm Theoretical Basis Document,
  S2PAD-ATBD-0001, and the class list ``Scene_Classification_List`` of MTD_MSIL2A.xml):
  0 no data, 1 saturated or defective, 2 dark area, 3 cloud shadow, 4 vegetation, 5 not vegetated,
  6 water, 7 unclassified, 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus,
  11 snow or ice. Masks: ``cloud`` = 8, 9, 10; ``shadow`` = 3; ``snow`` = 11; ``nodata`` = 0 (or
  DN 0 in a band read); ``saturated`` = 1 (or DN 65535). Class 7 (unclassified, which includes low
  cloud probability) and 2 stay valid. At 10 m the SCL is repeated 2 x 2 (nearest neighbour).

Band centres and FWHM come from :data:`BAND_TABLE` (ESA, "Sentinel-2 Spectral Response Functions",
COPE-GSEG-EOPG-TN-15-0007, issue 3.0, Dec 2017, as tabulated in the Sentinel-2 MSI User Guide; the
same values as ``pfs2c2.sensors``), for Sentinel-2A and 2B. For another spacecraft (2C, 2D) the
centres come from the XML ``Wavelength/CENTRAL`` and the FWHM is unknown (``None``).

The grid (CRS, affine transform) is read from the JP2 files (GDAL's JP2OpenJPEG driver reads their
GMLJP2 box); when a file carries none, from ``GRANULE/<granule>/MTD_TL.xml``
(``Tile_Geocoding/HORIZONTAL_CS_CODE`` and ``Geoposition[@resolution]/ULX, ULY, XDIM, YDIM``).
A ``.zip`` is read in place through GDAL's ``/vsizip/`` (nothing is extracted); only if GDAL cannot
open a member that way is it extracted to a temporary folder, deleted after reading.

Not confirmed here (no real product at hand): the exact namespace URI and element order of every
baseline's XML (the reader ignores namespaces and order); the product layout of baselines before 02.04.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..io import RasterMeta
from ._sentinel2_safe import SafeMetadata, SafeSource, band_name, parse_metadata, tile_grid
from .base import Product, ProductError

__all__ = ["BANDS_10M", "BANDS_20M", "BAND_TABLE", "READER", "Sentinel2Reader", "read_sentinel2"]

#: Default band sets: ``bands="10m"`` and ``bands="20m"`` (every L2A band of the ``R20m`` folder but
#: the 60 m ones; B08 has no 20 m file, B8A is its 20 m counterpart).
BANDS_10M: tuple[str, ...] = ("B02", "B03", "B04", "B08")
BANDS_20M: tuple[str, ...] = ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")

#: Native resolution (m) of each L2A band, and its ``bandId`` in MTD_MSIL2A.xml (PSD band order).
NATIVE_RESOLUTION: dict[str, int] = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
    "B08": 10, "B8A": 20, "B09": 60, "B11": 20, "B12": 20,
}  # fmt: skip
BAND_ID: dict[str, int] = {
    "B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6,
    "B08": 7, "B8A": 8, "B09": 9, "B10": 10, "B11": 11, "B12": 12,
}  # fmt: skip

#: (centre_nm, fwhm_nm) per band; source in the module docstring.
BAND_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "sentinel2a": {
        "B01": (442.7, 21.0), "B02": (492.4, 66.0), "B03": (559.8, 36.0), "B04": (664.6, 31.0),
        "B05": (704.1, 15.0), "B06": (740.5, 15.0), "B07": (782.8, 20.0), "B08": (832.8, 106.0),
        "B8A": (864.7, 21.0), "B09": (945.1, 20.0), "B11": (1613.7, 91.0), "B12": (2202.4, 175.0),
    },
    "sentinel2b": {
        "B01": (442.2, 21.0), "B02": (492.1, 66.0), "B03": (559.0, 36.0), "B04": (664.9, 31.0),
        "B05": (703.8, 16.0), "B06": (739.1, 15.0), "B07": (779.7, 20.0), "B08": (832.9, 106.0),
        "B8A": (864.0, 22.0), "B09": (943.2, 21.0), "B11": (1610.4, 94.0), "B12": (2185.7, 185.0),
    },
}  # fmt: skip

#: SCL classes that go into each mask.
SCL_MASKS: dict[str, tuple[int, ...]] = {
    "nodata": (0,),
    "saturated": (1,),
    "shadow": (3,),
    "cloud": (8, 9, 10),
    "snow": (11,),
}

_PRODUCT_NAME = re.compile(r"^S2[A-Z]_MSI(L2A|L1C)_", re.IGNORECASE)
_IMAGE_FILE = re.compile(r"(?:^|/)IMG_DATA/R(\d+)m/[^/]*_(B\d\d|B8A|SCL)_(\d+)m(?:\.jp2)?$")
_L1C = (
    "is a Level-1C product (top-of-atmosphere); pfs2c2 needs Level-2A surface reflectance: "
    "process it with Sen2Cor or download the L2A product"
)


def _baseline_number(baseline: str) -> float | None:
    try:
        return float(baseline)
    except ValueError:
        return None


def _sensor(md: SafeMetadata, product_name: str) -> str:
    m = re.fullmatch(r"sentinel-?2([a-z])", md.spacecraft.strip().lower())
    if m:
        return f"sentinel2{m.group(1)}"
    m = re.match(r"S2([A-Z])_", product_name, re.IGNORECASE)
    if m:
        return f"sentinel2{m.group(1).lower()}"
    raise ProductError(f"{product_name}: MTD_MSIL2A.xml names no SPACECRAFT_NAME; download the product again")


# ------------------------------------------------------------------ pixels
def _select(bands: str | list[str] | tuple[str, ...], resolution: int | None) -> tuple[list[str], int]:
    if isinstance(bands, str):
        key = bands.strip().lower()
        if key not in ("10m", "20m"):
            raise ProductError(
                f'Sentinel-2 bands={bands!r}: give "10m", "20m" or a list of band names such as ["B02", "B8A"]'
            )
        names = list(BANDS_10M if key == "10m" else BANDS_20M)
        res = resolution or int(key[:2])
    else:
        names = [band_name(str(b)) for b in bands]
        unknown = [b for b in names if b not in NATIVE_RESOLUTION]
        if not names or unknown:
            raise ProductError(
                f"Sentinel-2 bands {unknown or 'none'}: an L2A product has {', '.join(NATIVE_RESOLUTION)}"
            )
        res = resolution or min(NATIVE_RESOLUTION[b] for b in names)
    if res not in (10, 20, 60):
        raise ProductError(f"Sentinel-2 resolution={resolution}: give 10, 20 or 60 (m)")
    return names, res


def _file_index(src: SafeSource, md: SafeMetadata) -> dict[tuple[str, int], str]:
    """(band, resolution) -> file path relative to the root, from IMAGE_FILE (or the tree if absent)."""
    listed = [f + ".jp2" if not f.lower().endswith(".jp2") else f for f in md.image_files] or [
        n for n in src.names() if n.lower().endswith(".jp2")
    ]
    index: dict[tuple[str, int], str] = {}
    for rel in listed:
        m = _IMAGE_FILE.search(rel)
        if m:
            index[(m.group(2), int(m.group(1)))] = rel
    return index


def _pick(index: dict[tuple[str, int], str], band: str, res: int, where: str) -> tuple[str, int]:
    """The file to read for ``band`` on the ``res`` grid: same resolution, else finer, else coarser."""
    have = sorted(r for b, r in index if b == band)
    for r in [res] + [r for r in have if r < res] + [r for r in have if r > res]:
        if r in have and (max(r, res) % min(r, res) == 0):
            return index[(band, r)], r
    raise ProductError(
        f"{where}: band {band} is not listed in MTD_MSIL2A.xml; the product is incomplete: download it again"
    )


def _regrid(arr: np.ndarray, native: int, res: int, how: str) -> np.ndarray:
    """Bring a 2-D array from the ``native`` to the ``res`` grid: repeat (finer) or block mean/any (coarser)."""
    if native == res:
        return arr
    if native > res:
        f = native // res
        return np.repeat(np.repeat(arr, f, axis=0), f, axis=1)
    f = res // native
    h, w = arr.shape[0] // f, arr.shape[1] // f
    blocks = arr[: h * f, : w * f].reshape(h, f, w, f)
    return np.asarray(blocks.any(axis=(1, 3)) if how == "any" else blocks.mean(axis=(1, 3)))


def _open_raster(src: SafeSource, rel: str, where: str) -> tuple[np.ndarray, Any, Any]:
    """(pixels of band 1, crs or None, affine transform) of one image file."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if not src.has(rel):
        raise ProductError(f"{where}: band file {rel} is missing; the product is incomplete: download it again")
    try:
        try:
            ds = _quiet_open(rasterio, src.raster(rel), NotGeoreferencedWarning)
        except RasterioIOError:
            if not (src.is_zip and src.use_vsi):
                raise
            src.use_vsi = False  # GDAL cannot read this zip in place: extract what is needed
            ds = _quiet_open(rasterio, src.raster(rel), NotGeoreferencedWarning)
        with ds, warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # then MTD_TL.xml gives the grid
            return ds.read(1), ds.crs, ds.transform
    except RasterioIOError as exc:
        msg = " ".join(str(exc).split())
        raise ProductError(f"{where}: cannot read {rel} ({msg}); check that GDAL has the JP2OpenJPEG driver") from None


def _quiet_open(rasterio: Any, path: str, warning: type[Warning]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", warning)
        return rasterio.open(path)


def read_sentinel2(
    path: str | Path,
    *,
    bands: str | list[str] | tuple[str, ...] = "10m",
    resolution: int | None = None,
    scl: bool = True,
) -> Product:
    """Read a Sentinel-2 L2A ``.SAFE`` folder (or its ``.zip``, or its MTD_MSIL2A.xml) as a :class:`Product`.

    ``bands``: ``"10m"`` (B02, B03, B04, B08 at 10 m, the default), ``"20m"`` (:data:`BANDS_20M` at
    20 m) or a list of band names (on the grid of the finest one, or of ``resolution``). Bands from
    another resolution are repeated (coarser file) or block-averaged (finer file). ``cube`` is float32
    ``(C, H, W)`` surface reflectance, NaN where not ``valid``. ``scl=False`` skips the scene
    classification (then only DN no-data and saturation are masked). Refuses Level-1C, a missing
    MTD_MSIL2A.xml and a missing band file with one-line :class:`ProductError`.
    """
    path = Path(path)
    names, res = _select(bands, resolution)
    src = SafeSource(path)
    try:
        return _read(src, path, names, res, scl)
    finally:
        src.close()


def _read(src: SafeSource, path: Path, names: list[str], res: int, use_scl: bool) -> Product:
    where = str(path)
    if "MSIL1C" in src.name.upper() or src.has("MTD_MSIL1C.xml"):
        raise ProductError(f"{where} {_L1C}")
    if not src.has("MTD_MSIL2A.xml"):
        raise ProductError(
            f"{where}: no MTD_MSIL2A.xml at the top of the product; download the complete L2A product again"
        )
    md = parse_metadata(src.read_bytes("MTD_MSIL2A.xml"), where)
    if "1C" in md.product_type.upper() or "1C" in md.level.upper():
        raise ProductError(f"{where} {_L1C}")
    if md.quantification is None or md.quantification <= 0:
        raise ProductError(f"{where}: MTD_MSIL2A.xml has no BOA_QUANTIFICATION_VALUE; download the product again")
    number = _baseline_number(md.baseline)
    if md.offsets is None and number is not None and number >= 4.0:
        raise ProductError(
            f"{where}: processing baseline {md.baseline} but MTD_MSIL2A.xml has no BOA_ADD_OFFSET_VALUES_LIST "
            "(present since baseline 04.00); the metadata is incomplete: download the product again"
        )
    sensor = _sensor(md, src.name)
    index = _file_index(src, md)

    layers: list[np.ndarray] = []
    nodata: np.ndarray | None = None
    saturated: np.ndarray | None = None
    crs: Any = None
    transform: Any = None
    first_rel = ""
    for band in names:
        rel, native = _pick(index, band, res, where)
        dn, band_crs, band_transform = _open_raster(src, rel, where)
        band_id = md.band_ids.get(band, BAND_ID[band])
        offset = 0.0
        if md.offsets is not None:
            if band_id not in md.offsets:
                raise ProductError(
                    f"{where}: MTD_MSIL2A.xml has no BOA_ADD_OFFSET for {band} (band_id {band_id}); download the product again"
                )
            offset = md.offsets[band_id]
        refl = (dn.astype(np.float64) + offset) / md.quantification
        layers.append(_regrid(refl, native, res, "mean"))
        nd = _regrid(dn == md.nodata_dn, native, res, "any")
        sat = _regrid(dn == md.saturated_dn, native, res, "any")
        if nodata is not None and (
            nd.shape != nodata.shape or not transform.almost_equals(band_transform @ _scale(res / native))
        ):
            raise ProductError(
                f"{where}: {rel} is not on the grid of {first_rel}; the product is damaged: download it again"
            )
        nodata = nd if nodata is None else nodata | nd
        saturated = sat if saturated is None else saturated | sat
        if transform is None:
            crs, transform, first_rel = band_crs, band_transform @ _scale(res / native), rel
    assert nodata is not None and saturated is not None
    cube = np.stack(layers).astype(np.float32)

    masks = {"nodata": nodata, "saturated": saturated}
    if use_scl:
        rel, native = _pick(index, "SCL", res, where)
        if not src.has(rel):
            raise ProductError(
                f"{where}: scene classification {rel} is missing; download the product again, "
                "or read it with scl=False (no cloud, shadow or snow mask)"
            )
        classes, _, _ = _open_raster(src, rel, where)
        for mask, values in SCL_MASKS.items():
            flags = _regrid(np.isin(classes, values), native, res, "any")
            if flags.shape != nodata.shape:
                raise ProductError(
                    f"{where}: {rel} is not on the grid of {first_rel}; the product is damaged: download it again"
                )
            masks[mask] = masks[mask] | flags if mask in masks else flags
    valid = ~np.logical_or.reduce(list(masks.values()))
    cube[:, ~valid] = np.nan

    crs_text: str | None = crs.to_string() if crs else None
    grid: tuple[float, ...] | None = tuple(transform)[:6]
    if crs_text is None:  # a JP2 without GMLJP2 box: the granule's MTD_TL.xml has the grid
        crs_text, grid = tile_grid(src, first_rel, res)
    table = BAND_TABLE.get(sensor)
    if table is not None:
        wavelengths: list[float] | None = [table[b][0] for b in names]
        fwhm: list[float] | None = [table[b][1] for b in names]
    else:
        wavelengths = [md.centres[b] for b in names] if all(b in md.centres for b in names) else None
        fwhm = None
    meta = RasterMeta(
        crs=crs_text,
        transform=grid,
        wavelengths_nm=None if wavelengths is None else np.asarray(wavelengths),
        fwhm_nm=None if fwhm is None else np.asarray(fwhm),
        nodata=None,
        band_names=names,
        units="reflectance",
        source=where,
    )
    return Product(
        cube=cube, meta=meta, valid=valid, sensor=sensor, level="L2A", acquired=md.start, kind="msi", masks=masks
    )


def _scale(factor: float) -> Any:
    from affine import Affine

    return Affine.scale(factor)


# ------------------------------------------------------------------ the reader object
class Sentinel2Reader:
    """:class:`~pfs2c2.products.ProductReader` for Sentinel-2 L2A (it also claims L1C, to refuse it clearly)."""

    name = "sentinel2"

    def detect(self, path: str | Path) -> bool:
        """A ``S2?_MSIL2A_*.SAFE`` / ``S2?_MSIL1C_*`` folder or .zip, a folder or .zip with the product XML, or the XML."""
        try:
            p = Path(path)
            if p.is_dir():
                return bool(_PRODUCT_NAME.match(p.name)) or any(
                    (p / x).is_file() for x in ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml")
                )
            if p.is_file() and p.name in ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml"):
                return True
            if p.is_file() and p.suffix.lower() == ".zip":
                if _PRODUCT_NAME.match(p.name):
                    return True
                with zipfile.ZipFile(p) as z:
                    return any(
                        m.rsplit("/", 1)[-1] in ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml") and m.count("/") <= 1
                        for m in z.namelist()
                    )
        except (OSError, ValueError, zipfile.BadZipFile):
            return False
        return False

    def read(self, path: str | Path, **options: Any) -> Product:
        """:func:`read_sentinel2` (options ``bands``, ``resolution``, ``scl``)."""
        unknown = set(options) - {"bands", "resolution", "scl"}
        if unknown:
            raise ProductError(
                f"Sentinel-2 reader: unknown option(s) {', '.join(sorted(unknown))}; it takes bands, resolution, scl"
            )
        return read_sentinel2(path, **options)


READER = Sentinel2Reader()
