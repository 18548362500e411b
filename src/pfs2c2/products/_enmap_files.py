"""Where the files of one EnMAP product are: a folder, a .zip of it, or the product's .zip inside a .zip.

File names follow the EnMAP product specification (EN-PCV-ICD-2009-2, "file naming"):
``ENMAP01-____L2A-DT<datatake>_<start>Z_<tile>_V<version>_<processed>Z-<KEY>.<ext>``; the product id
is everything before the last ``-``, the KEY (``SPECTRAL_IMAGE``, ``METADATA``, ``QL_QUALITY_CLOUD``,
...) what follows it. Used by :mod:`pfs2c2.products.enmap` only.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .base import ProductError

__all__ = [
    "MAX_DEPTH",
    "PRODUCT_ID",
    "RASTER_EXTENSIONS",
    "EnmapFile",
    "EnmapSource",
    "list_folder",
    "list_zip",
    "locate",
]

PRODUCT_ID = re.compile(
    r"ENMAP\d{2}-_*(?P<level>L[0-9][A-Z])-DT(?P<datatake>\d+)_(?P<start>\d{8}T\d{6})Z_(?P<tile>\d{3})"
    r"_V(?P<version>\d{6})_(?P<processed>\d{8}T\d{6})Z",
    re.IGNORECASE,
)
#: Raster formats a product may be ordered in (GeoTIFF, ENVI BSQ/BIL/BIP, JPEG 2000).
RASTER_EXTENSIONS = (".TIF", ".TIFF", ".BSQ", ".BIL", ".BIP", ".JP2")
#: Folder levels searched below the given folder (a delivery folder holds the product folder).
MAX_DEPTH = 3


@dataclass(frozen=True)
class EnmapFile:
    """One file of a product: its product id, KEY and extension (upper case) and where it is."""

    product: str
    key: str  # e.g. "SPECTRAL_IMAGE", "METADATA", "QL_QUALITY_CLOUD"
    ext: str  # e.g. ".TIF", ".XML"
    ref: str  # path on disk, or member name in the zip

    @property
    def is_product_file(self) -> bool:
        """The METADATA.XML or a SPECTRAL_IMAGE raster (what makes a folder an EnMAP product)."""
        return (self.key == "METADATA" and self.ext == ".XML") or (
            self.key.startswith("SPECTRAL_IMAGE") and self.ext in RASTER_EXTENSIONS
        )


def split_name(name: str, ref: str) -> EnmapFile | None:
    """The parts of an EnMAP product file name, or ``None`` when ``name`` is not one."""
    if not name.upper().startswith("ENMAP") or "-" not in name:
        return None
    product, _, tail = name.rpartition("-")
    key, dot, ext = tail.partition(".")
    if not dot or not PRODUCT_ID.match(product):
        return None
    return EnmapFile(product, key.upper(), "." + ext.upper(), ref)


def list_folder(root: Path, depth: int = MAX_DEPTH) -> list[EnmapFile]:
    """EnMAP files in ``root`` and up to ``depth`` folder levels below it, sorted by path."""
    out: list[EnmapFile] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return out
    for entry in entries:
        if entry.is_dir() and depth > 0:
            out.extend(list_folder(Path(entry.path), depth - 1))
        elif entry.is_file():
            f = split_name(entry.name, entry.path)
            if f is not None:
                out.append(f)
    return out


def _members(names: list[str]) -> list[EnmapFile]:
    found = (split_name(n.rsplit("/", 1)[-1], n) for n in names if not n.endswith("/"))
    return [f for f in found if f is not None]


def list_zip(path: Path) -> tuple[list[EnmapFile], str | None]:
    """EnMAP files in a .zip, and the inner .zip they are in when the archive holds the product's own .zip."""
    with zipfile.ZipFile(path) as z:
        files = _members(z.namelist())
        if files:
            return files, None
        inner = [
            n for n in z.namelist() if n.upper().endswith(".ZIP") and n.rsplit("/", 1)[-1].upper().startswith("ENMAP")
        ]
        if len(inner) != 1:
            return [], None
        with z.open(inner[0]) as raw, zipfile.ZipFile(raw) as zi:
            return _members(zi.namelist()), inner[0]


class EnmapSource:
    """The files of one product and how to read them (bytes for the XML, a GDAL path for rasters)."""

    def __init__(self, label: str, files: list[EnmapFile], zip_path: Path | None = None, inner: str | None = None):
        self.label = label
        self.files = files
        self.zip_path = zip_path
        self.inner = inner
        self.product = files[0].product

    def find(self, key: str, exts: tuple[str, ...] = RASTER_EXTENSIONS) -> EnmapFile | None:
        """The file with this KEY and one of these extensions, or ``None``."""
        return next((f for f in self.files if f.key == key and f.ext in exts), None)

    def read_bytes(self, f: EnmapFile) -> bytes:
        """The whole file (the XML)."""
        if self.zip_path is None:
            return Path(f.ref).read_bytes()
        with zipfile.ZipFile(self.zip_path) as z:
            if self.inner is None:
                return z.read(f.ref)
            with z.open(self.inner) as raw, zipfile.ZipFile(raw) as zi:
                return zi.read(f.ref)

    def gdal_path(self, f: EnmapFile) -> str:
        """A path rasterio opens: the file, or GDAL's ``/vsizip/`` path into the (nested) .zip."""
        if self.zip_path is None:
            return f.ref
        outer = f"/vsizip/{self.zip_path.resolve().as_posix()}"
        return f"{outer}/{f.ref}" if self.inner is None else f"/vsizip/{{{outer}/{self.inner}}}/{f.ref}"


def locate(path: str | Path) -> EnmapSource:
    """The one product at ``path`` (folder, .zip, or one of its files); ProductError when there is none or several."""
    p = Path(path)
    if not p.exists():
        raise ProductError(f"{p}: not found; give the EnMAP product folder, its .zip or its METADATA.XML")
    zip_path, inner, only = None, None, None
    if p.is_dir():
        files = list_folder(p)
    elif p.suffix.upper() == ".ZIP":
        try:
            files, inner = list_zip(p)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ProductError(f"{p}: not a readable .zip ({exc}); download the product again") from None
        zip_path = p
    else:
        named = split_name(p.name, str(p))
        if named is None:
            raise ProductError(f"{p}: not an EnMAP product file; give the product folder, its .zip or its METADATA.XML")
        files, only = list_folder(p.parent, 0), named.product
    products = sorted({f.product for f in files if only is None or f.product == only})
    if not products:
        raise ProductError(
            f"{p}: no EnMAP product files (ENMAP01-____L2A-...-SPECTRAL_IMAGE.TIF, ...-METADATA.XML) found; "
            "give the product folder or .zip as downloaded"
        )
    if len(products) > 1:
        shown = ", ".join(products[:3]) + (", ..." if len(products) > 3 else "")
        raise ProductError(f"{p}: holds {len(products)} EnMAP products ({shown}); give one product folder")
    return EnmapSource(str(p), [f for f in files if f.product == products[0]], zip_path, inner)
