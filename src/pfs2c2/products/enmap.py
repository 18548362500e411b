"""EnMAP HSI Level-2A: the SPECTRAL_IMAGE with its METADATA.XML and quality layers, as DLR delivers it.

Specification: DLR, *EnMAP HSI Level 1B / 1C / 2A Product Specification* ("EnMAP Level 1B, 1C, 2A
Product Specification"), doc. EN-PCV-ICD-2009-2
(https://www.enmap.org/data/doc/EN-PCV-ICD-2009-2_HSI_Product_Specification_Level1_Level2.pdf), its parts
on file naming, the METADATA.XML band characterisation and the quality layers. The PDF text was not at
hand when this was written, so no section numbers are given: the names and values below are those the
specification defines as implemented by two readers that follow it, Brockmann Consult's SNAP EnMAP
reader (github.com/bcdev/snap-enmap-reader: EnmapMetadata, EnmapL2AMetadata, QualityLayerInfo) and
EnMAP-Box's "Import EnMAP L2A product" algorithm. Used:

- *file naming*: one product (one tile of a datatake) is a folder (or a .zip of it) whose files are
  ``ENMAP01-____L2A-DT<datatake>_<start>Z_<tile>_V<version>_<processed>Z-<KEY>.<ext>`` with KEY
  ``SPECTRAL_IMAGE`` (the cube; GeoTIFF, or ENVI BSQ/BIL/BIP, or JPEG 2000, as ordered), ``METADATA``
  (``.XML``), ``QL_QUALITY_CLOUD``, ``QL_QUALITY_CLOUDSHADOW``, ``QL_QUALITY_HAZE``, ``QL_QUALITY_SNOW``,
  ``QL_QUALITY_CIRRUS``, ``QL_QUALITY_CLASSES``, ``QL_QUALITY_TESTFLAGS``, ``QL_PIXELMASK`` and the
  quicklooks ``QL_VNIR``/``QL_SWIR``. Level 1B has ``SPECTRAL_IMAGE_VNIR``/``_SWIR`` in sensor geometry
  instead; the level is ``L1B``/``L1C``/``L2A`` in the name and in ``level_X/base/level``.
- *METADATA.XML*: ``level_X/specific/bandCharacterisation/bandID[@number=n]`` with
  ``wavelengthCenterOfBand`` and ``FWHMOfBand`` (nm), ``GainOfBand`` and ``OffsetOfBand`` (physical
  value = DN * gain + offset); ``level_X/product/image/merge/channels`` (band count);
  ``level_X/base/temporalCoverage/startTime`` (UTC, ISO 8601).
- *quality layers* (one band, same grid as the cube): CLOUD, CLOUDSHADOW, HAZE, SNOW flag with bit 0
  (1 = flagged); CIRRUS holds a class in bits 0-1 (1 thin, 2 medium, 3 thick); CLASSES holds 1 land,
  2 water, 3 background (outside the scene); PIXELMASK flags defective detector pixels (1).

What this reader does: reflectance = DN * GainOfBand + OffsetOfBand, per band, from the XML (L2A
stores int16 surface reflectance scaled by 10000: gain 1e-4, offset 0); the fill value is the GeoTIFF's
nodata tag, else -32768; CRS and transform come from the raster. A pixel is invalid where any kept band
is fill, the CLASSES layer says background, or CLOUD, CLOUDSHADOW, SNOW, CIRRUS (thin and thicker by
default) or PIXELMASK flag it; HAZE is reported in ``Product.masks`` but keeps the pixel valid unless
``mask_haze=True``. Invalid pixels are NaN in the cube. Bands that are fill everywhere (the water
absorption bands DLR leaves empty) are dropped; bands are sorted by wavelength.

Not confirmed from the specification text itself (taken from those readers): the -32768 fill value
(SNAP notes the XML ``backgroundValue`` of L2A is absent or wrong, so it is not used), gain 1e-4 and
offset 0 (the XML values are used regardless), the bit layout of the quality layers, whether L2A's
QL_PIXELMASK has one band or one per spectral band (both are accepted), what CLASSES 0 means (not
used), and the band order in L2A's VNIR/SWIR overlap at 900-1000 nm (EnMAP-Box reads L2A as sorted by
wavelength, the instrument band table lists VNIR then SWIR; both are read, then sorted).
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ..io import RasterMeta
from ..io.meta import crs_string
from ._enmap_files import (
    PRODUCT_ID,
    RASTER_EXTENSIONS,
    EnmapFile,
    EnmapSource,
    list_folder,
    list_zip,
    locate,
    split_name,
)
from .base import Product, ProductError

__all__ = ["NODATA", "QUALITY_LAYERS", "READER", "EnmapReader", "read_enmap"]

#: Fill value of the int16 L2A cube when the raster carries no nodata tag.
NODATA = -32768.0

#: Product.masks name -> file KEY of the quality layer.
QUALITY_LAYERS: dict[str, str] = {
    "cloud": "QL_QUALITY_CLOUD",
    "shadow": "QL_QUALITY_CLOUDSHADOW",
    "snow": "QL_QUALITY_SNOW",
    "cirrus": "QL_QUALITY_CIRRUS",
    "haze": "QL_QUALITY_HAZE",
    "classes": "QL_QUALITY_CLASSES",
    "defective": "QL_PIXELMASK",
}
#: Layers without which the clouds of a scene would pass as data (refused unless ``quality=False``).
REQUIRED_QUALITY = ("cloud", "shadow", "snow", "cirrus")
#: ``cirrus=`` option -> lowest CIRRUS class that invalidates a pixel.
CIRRUS_CLASSES = {"thin": 1, "medium": 2, "thick": 3, "none": 4}
BACKGROUND_CLASS = 3

_LEVEL_TEXT = {
    "L1B": "top-of-atmosphere radiance in sensor geometry",
    "L1C": "orthorectified top-of-atmosphere radiance",
    "L2A": "surface reflectance",
}


# ==================================================================================================
# METADATA.XML
# ==================================================================================================
@dataclass(frozen=True)
class _Metadata:
    level: str | None
    start: str | None
    numbers: np.ndarray  # int, 1-based band numbers, ascending
    wavelengths: np.ndarray  # nm
    fwhm: np.ndarray  # nm
    gains: np.ndarray
    offsets: np.ndarray
    channels: int | None


def _text(root: ET.Element, *paths: str) -> str | None:
    for path in paths:
        el = root.find(path)
        if el is not None and el.text is not None and el.text.strip():
            return el.text.strip()
    return None


def _parse_metadata(data: bytes, label: str) -> _Metadata:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ProductError(f"{label}: METADATA.XML is not readable XML ({exc}); download the product again") from None
    for el in root.iter():  # drop namespaces, if a processor version adds one
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    chars = root.find("specific/bandCharacterisation")
    if chars is None:
        chars = root.find(".//bandCharacterisation")
    band_ids = [] if chars is None else chars.findall("bandID")
    if not band_ids:
        raise ProductError(
            f"{label}: METADATA.XML has no <bandCharacterisation><bandID> entries (band centres, FWHM, gains); "
            "it is not an EnMAP product's metadata or it is damaged: download the product again"
        )
    rows = []
    for i, el in enumerate(band_ids, start=1):
        number = el.get("number", str(i))
        values = []
        for tag in ("wavelengthCenterOfBand", "FWHMOfBand", "GainOfBand", "OffsetOfBand"):
            try:
                values.append(float(_text(el, tag) or "nan"))
            except ValueError:
                values.append(float("nan"))
            if not np.isfinite(values[-1]):
                raise ProductError(
                    f"{label}: METADATA.XML bandID {number} has no numeric <{tag}>; download the product again"
                )
        try:
            rows.append((int(number), *values))
        except ValueError:
            raise ProductError(
                f"{label}: METADATA.XML has a bandID number {number!r}; download the product again"
            ) from None
    rows.sort()
    table = np.asarray(rows, dtype=np.float64)
    numbers = table[:, 0].astype(np.int64)
    if not np.array_equal(numbers, np.arange(1, len(rows) + 1)):
        raise ProductError(f"{label}: METADATA.XML bandID numbers are not 1..{len(rows)}; download the product again")
    if np.any(table[:, 3] == 0):
        raise ProductError(f"{label}: METADATA.XML gives a GainOfBand of 0; download the product again")
    channels = _text(root, "product/image/merge/channels")
    return _Metadata(
        level=_text(root, "base/level"),
        start=_text(root, "base/temporalCoverage/startTime"),
        numbers=numbers,
        wavelengths=table[:, 1],
        fwhm=table[:, 2],
        gains=table[:, 3],
        offsets=table[:, 4],
        channels=int(channels) if channels is not None and channels.isdigit() else None,
    )


# ==================================================================================================
# Rasters
# ==================================================================================================
def _rasterio() -> Any:
    try:
        import rasterio
    except ImportError:
        raise ProductError("reading EnMAP products needs rasterio: pip install rasterio") from None
    return rasterio


def _open_raster(source: EnmapSource, f: EnmapFile) -> Any:
    rasterio = _rasterio()
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(source.gdal_path(f))
    except (RasterioError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(
            f"{source.label}: cannot read {f.key}{f.ext} ({reason}); download the product again"
        ) from None


@dataclass
class _Spectral:
    cube: np.ndarray  # float32 (n, H, W), NaN where fill
    empty: np.ndarray  # (n,) bool: the band is fill everywhere
    fill: float
    crs: str | None
    transform: tuple[float, ...] | None


def _read_spectral(source: EnmapSource, image: EnmapFile, md: _Metadata) -> _Spectral:
    """The cube as DN * gain + offset per band (float64 arithmetic, stored float32), fill as NaN."""
    n = md.numbers.size
    with _open_raster(source, image) as ds:
        if ds.count != n or (md.channels is not None and md.channels != n):
            said = f"{n} bands" + (f" and <channels> {md.channels}" if md.channels not in (None, n) else "")
            raise ProductError(
                f"{source.label}: the SPECTRAL_IMAGE has {ds.count} bands but METADATA.XML describes {said}: "
                "the files come from different products or one is damaged; download the whole product again"
            )
        fill = float(ds.nodata) if ds.nodata is not None else NODATA
        crs = crs_string(ds.crs)
        transform: tuple[float, ...] | None = tuple(ds.transform)[:6]
        if crs is None and ds.transform.is_identity:
            transform = None
        cube = np.empty((n, int(ds.height), int(ds.width)), dtype=np.float32)
        empty = np.zeros(n, dtype=bool)
        for i in range(n):
            dn = np.asarray(ds.read(i + 1))
            fill_px = (dn == fill) | ~np.isfinite(dn)
            band = (dn.astype(np.float64) * md.gains[i] + md.offsets[i]).astype(np.float32)
            band[fill_px] = np.nan
            cube[i] = band
            empty[i] = bool(fill_px.all())
    return _Spectral(cube, empty, fill, crs, transform)


def _quality_layer(source: EnmapSource, name: str, shape: tuple[int, ...], keep: np.ndarray) -> np.ndarray | None:
    """The raw quality layer ``name`` as ``(H, W)`` ints (PIXELMASK: any flagged band), or ``None`` if absent."""
    f = source.find(QUALITY_LAYERS[name])
    if f is None:
        return None
    with _open_raster(source, f) as ds:
        if (ds.height, ds.width) != shape:
            raise ProductError(
                f"{source.label}: {f.key} is {ds.height} x {ds.width} pixels but the SPECTRAL_IMAGE is "
                f"{shape[0]} x {shape[1]}: the files come from different products; download the whole product"
            )
        if name != "defective":
            return np.asarray(ds.read(1)).astype(np.int64)
        per_band = ds.count == keep.size
        indexes = [int(i) + 1 for i in np.flatnonzero(keep)] if per_band else list(range(1, ds.count + 1))
        return np.any(np.asarray(ds.read(indexes)) != 0, axis=0).astype(np.int64)


def _quality_masks(
    source: EnmapSource, shape: tuple[int, ...], keep: np.ndarray, *, cirrus: str, mask_defective: bool
) -> dict[str, np.ndarray]:
    """Flag layers (True = flagged) from the quality files; "background" comes from QL_QUALITY_CLASSES."""
    missing = [QUALITY_LAYERS[q] for q in REQUIRED_QUALITY if source.find(QUALITY_LAYERS[q]) is None]
    if missing:
        raise ProductError(
            f"{source.label}: {source.product}-{missing[0]}.TIF not found: the quality layers mark clouds, "
            "shadows and snow; download the whole product (or read with quality=False)"
        )
    layers = {q: _quality_layer(source, q, shape, keep) for q in QUALITY_LAYERS}
    masks: dict[str, np.ndarray] = {}
    for q in ("cloud", "shadow", "snow", "haze"):
        layer = layers[q]
        if layer is not None:
            masks[q] = (layer & 1) != 0
    if layers["cirrus"] is not None:
        masks["cirrus"] = (layers["cirrus"] & 3) >= CIRRUS_CLASSES[cirrus]
    if layers["classes"] is not None:
        masks["background"] = (layers["classes"] & 3) == BACKGROUND_CLASS
    if layers["defective"] is not None and mask_defective:
        masks["defective"] = layers["defective"] != 0
    return masks


def _refuse_level(source: EnmapSource, level: str) -> NoReturn:
    what = _LEVEL_TEXT.get(level.upper(), "not surface reflectance")
    raise ProductError(
        f"{source.label}: an EnMAP {level.upper()} product ({what}); pfs2c2 needs Level-2A surface "
        "reflectance: order the L2A product of this datatake"
    )


def _check_level(source: EnmapSource) -> re.Match[str] | None:
    match = PRODUCT_ID.match(source.product)
    level = match.group("level").upper() if match else "L2A"
    if level != "L2A":
        _refuse_level(source, level)
    if source.find("SPECTRAL_IMAGE_VNIR") or source.find("SPECTRAL_IMAGE_SWIR"):
        _refuse_level(source, "L1B")
    return match


# ==================================================================================================
# The reader
# ==================================================================================================
def read_enmap(
    path: str | Path,
    *,
    quality: bool = True,
    mask_haze: bool = False,
    cirrus: str = "thin",
    mask_defective: bool = True,
    drop_empty_bands: bool = True,
    sort_bands: bool = True,
) -> Product:
    """Read an EnMAP L2A product (folder, .zip, or one of its files) as surface reflectance 0..1.

    Returns a :class:`Product` with a float32 ``(C, H, W)`` cube (NaN where not valid), the band centres
    and FWHM in nm, the raster's CRS and transform, ``valid`` ``(H, W)`` and ``masks`` ("nodata" (fill
    in any band), "background", "cloud", "shadow", "snow", "cirrus", "defective", "haze"; True = flagged;
    every layer but "haze" went into ``~valid``). ``quality=False`` reads without the quality layers;
    ``cirrus`` is the thinnest cirrus class that invalidates a pixel ("thin", "medium", "thick", "none");
    ``mask_haze`` makes haze invalid too. Refuses (ProductError, one line) a missing METADATA.XML, a
    Level-1B/1C product, a band count that does not match the XML, missing quality layers and a scene
    without one valid pixel.
    """
    if cirrus not in CIRRUS_CLASSES:
        raise ProductError(f"cirrus={cirrus!r}: choose one of {', '.join(CIRRUS_CLASSES)}")
    source = locate(path)
    match = _check_level(source)
    image = next((f for f in source.files if f.key.startswith("SPECTRAL_IMAGE") and f.ext in RASTER_EXTENSIONS), None)
    if image is None:
        raise ProductError(
            f"{source.label}: {source.product}-SPECTRAL_IMAGE.TIF not found: an EnMAP product folder holds the "
            "SPECTRAL_IMAGE and its METADATA.XML; download the whole product"
        )
    xml = source.find("METADATA", (".XML",))
    if xml is None:
        raise ProductError(
            f"{source.label}: {source.product}-METADATA.XML not found beside the SPECTRAL_IMAGE: an EnMAP product "
            "folder holds both; download the whole product"
        )
    md = _parse_metadata(source.read_bytes(xml), source.label)
    if md.level is not None and md.level.upper() != "L2A":
        _refuse_level(source, md.level)

    sp = _read_spectral(source, image, md)
    keep = ~sp.empty if drop_empty_bands else np.ones(sp.empty.size, dtype=bool)
    if not keep.any():
        raise ProductError(
            f"{source.label}: every pixel of every band is fill ({sp.fill:g}); the product holds no data"
        )
    cube = sp.cube if keep.all() else sp.cube[keep]
    numbers, wl, fw = md.numbers[keep], md.wavelengths[keep], md.fwhm[keep]
    shape = cube.shape[1:]
    masks = {"nodata": np.isnan(cube).any(axis=0)}
    if quality:
        masks.update(_quality_masks(source, shape, keep, cirrus=cirrus, mask_defective=mask_defective))
    invalid = np.zeros(shape, dtype=bool)
    for q, m in masks.items():
        if q != "haze" or mask_haze:
            invalid |= m
    if invalid.all():
        flagged = ", ".join(f"{q} {100.0 * float(m.mean()):.0f}%" for q, m in masks.items() if m.any())
        raise ProductError(
            f"{source.label}: no valid pixel ({flagged}); choose an acquisition with fewer clouds or gaps"
        )
    cube[:, invalid] = np.nan

    if sort_bands and np.any(np.diff(wl) < 0):
        order = np.argsort(wl, kind="stable")
        cube, numbers, wl, fw = cube[order], numbers[order], wl[order], fw[order]
    meta = RasterMeta(
        crs=sp.crs,
        transform=sp.transform,
        wavelengths_nm=wl,
        fwhm_nm=fw,
        nodata=None,
        band_names=[f"B{int(b)}" for b in numbers],
        units="reflectance",
        source=source.label,
    )
    return Product(
        cube=np.ascontiguousarray(cube),
        meta=meta,
        valid=~invalid,
        sensor="enmap",
        level="L2A",
        acquired=md.start or _start_from_name(match),
        kind="hsi",
        masks=masks,
    )


def _start_from_name(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    s = match.group("start")
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z"


_OPTIONS = ("quality", "mask_haze", "cirrus", "mask_defective", "drop_empty_bands", "sort_bands")


class EnmapReader:
    """EnMAP L1B/L1C/L2A products are recognised (so that a wrong level gets a clear refusal); L2A is read."""

    name = "enmap"

    def detect(self, path: str | Path) -> bool:
        """True for an EnMAP product folder (or a folder holding one), its .zip, METADATA.XML or SPECTRAL_IMAGE."""
        try:
            p = Path(path)
            if p.is_dir():
                return any(f.is_product_file for f in list_folder(p))
            if not p.is_file():
                return False
            if p.suffix.upper() == ".ZIP":
                return any(f.is_product_file for f in list_zip(p)[0])
            named = split_name(p.name, str(p))
            return named is not None and named.is_product_file
        except Exception:  # detect never raises: an unreadable path is simply not ours
            return False

    def read(self, path: str | Path, **options: Any) -> Product:
        """:func:`read_enmap` with its keyword options; an unknown option is refused."""
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ProductError(f"EnMAP reader: unknown option {unknown[0]!r}; known: {', '.join(_OPTIONS)}")
        return read_enmap(path, **options)


READER = EnmapReader()
