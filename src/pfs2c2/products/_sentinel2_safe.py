"""The files of a Sentinel-2 SAFE product (folder or .zip) and its MTD_MSIL2A.xml / MTD_TL.xml, parsed.

Private helper of :mod:`pfs2c2.products.sentinel2` (the specification it follows is cited there):
:class:`SafeSource` gives the product's files by path relative to the ``.SAFE`` root, whether the
product is a folder or a ``.zip`` (read in place through GDAL's ``/vsizip/``); :func:`parse_metadata`
reads the fields of MTD_MSIL2A.xml the reader needs, ignoring XML namespaces and reading the PSD 14.2
spellings (``L2A_`` prefixes) too; :func:`tile_grid` reads the grid from a granule's MTD_TL.xml.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from .base import ProductError

__all__ = ["SafeMetadata", "SafeSource", "band_name", "local_name", "parse_metadata", "tile_grid", "zip_prefix"]


class SafeSource:
    """The product's files, from a folder or a .zip, by path relative to the .SAFE root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        self._tmp: str | None = None
        self.use_vsi = True
        if path.is_file() and path.name in ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml"):
            self.root = path.parent
        elif path.is_dir():
            self.root = path
        elif path.is_file() and zipfile.is_zipfile(path):
            self.root = path
            self._zip = zipfile.ZipFile(path)
            self._prefix = zip_prefix(self._zip.namelist())
        else:
            raise ProductError(f"{path}: not a Sentinel-2 product; give the .SAFE folder or its .zip")
        self.name = Path(self._prefix.rstrip("/")).name if self._prefix else self.root.name

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    def names(self) -> list[str]:
        if self._zip is not None:
            n = len(self._prefix)
            return [m[n:] for m in self._zip.namelist() if m.startswith(self._prefix) and not m.endswith("/")]
        return [p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()]

    def has(self, rel: str) -> bool:
        if self._zip is not None:
            return (self._prefix + rel) in self._zip.NameToInfo
        return (self.root / rel).is_file()

    def read_bytes(self, rel: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + rel)
        return (self.root / rel).read_bytes()

    def raster(self, rel: str) -> str:
        """A path rasterio opens: the file, ``/vsizip/<zip>/<member>``, or the member extracted."""
        if self._zip is None:
            return str(self.root / rel)
        if self.use_vsi:
            return f"/vsizip/{self.path.resolve()}/{self._prefix}{rel}"
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="pfs2c2-s2-")
        return self._zip.extract(self._prefix + rel, self._tmp)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def zip_prefix(members: list[str]) -> str:
    """The folder inside the zip that is the .SAFE root ("" when the XML sits at the top)."""
    for xml in ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml"):
        hits = sorted((m for m in members if m == xml or m.endswith("/" + xml)), key=lambda m: m.count("/"))
        if hits and hits[0].count("/") <= 1:
            return hits[0][: -len(xml)]
    tops = {m.split("/", 1)[0] for m in members if "/" in m}
    safe = sorted(t for t in tops if t.upper().endswith(".SAFE"))
    return safe[0] + "/" if safe else ""


# ------------------------------------------------------------------ MTD_MSIL2A.xml
@dataclass
class SafeMetadata:
    product_type: str = ""
    level: str = ""
    baseline: str = ""
    spacecraft: str = ""
    start: str | None = None
    quantification: float | None = None
    offsets: dict[int, float] | None = None
    band_ids: dict[str, int] = field(default_factory=dict)
    centres: dict[str, float] = field(default_factory=dict)
    image_files: list[str] = field(default_factory=list)
    nodata_dn: int = 0
    saturated_dn: int = 65535


def local_name(tag: str) -> str:
    """Element name without namespace and without the PSD 14.2 ``L2A_`` / ``_2A`` spellings."""
    name = tag.rsplit("}", 1)[-1]
    if name == "L1C_L2A_Quantification_Values_List":
        return "QUANTIFICATION_VALUES_LIST"
    if name.startswith("L2A_"):
        name = name[4:]
    return name[:-3] if name.endswith("_2A") else name


def band_name(physical: str) -> str:
    """``B1`` / ``b8a`` / ``B02`` -> ``B01`` / ``B8A`` / ``B02``."""
    p = physical.strip().upper()
    m = re.fullmatch(r"B0*(\d{1,2})(A?)", p)
    if not m:
        return p
    return f"B{int(m.group(1))}A" if m.group(2) else f"B{int(m.group(1)):02d}"


def parse_metadata(data: bytes, where: str) -> SafeMetadata:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ProductError(f"{where}: MTD_MSIL2A.xml is not valid XML ({exc}); download the product again") from None
    md = SafeMetadata()
    texts: dict[str, str] = {}
    for el in root.iter():
        name = local_name(el.tag)
        text = (el.text or "").strip()
        if name == "BOA_ADD_OFFSET":
            md.offsets = md.offsets or {}
            md.offsets[int(el.get("band_id", "-1"))] = float(text)
        elif name == "BOA_ADD_OFFSET_VALUES_LIST":
            md.offsets = md.offsets or {}
        elif name == "Spectral_Information":
            band = band_name(el.get("physicalBand", ""))
            md.band_ids[band] = int(el.get("bandId", "-1"))
            for sub in el.iter():
                if local_name(sub.tag) == "CENTRAL" and sub.text:
                    md.centres[band] = float(sub.text)
        elif name == "IMAGE_FILE":
            md.image_files.append(text)
        elif name == "Special_Values":
            kids = {local_name(k.tag): (k.text or "").strip() for k in el}
            if kids.get("SPECIAL_VALUE_TEXT") == "NODATA":
                md.nodata_dn = int(kids.get("SPECIAL_VALUE_INDEX", "0"))
            elif kids.get("SPECIAL_VALUE_TEXT") == "SATURATED":
                md.saturated_dn = int(kids.get("SPECIAL_VALUE_INDEX", "65535"))
        elif text and name not in texts:
            texts[name] = text
    md.product_type = texts.get("PRODUCT_TYPE", "")
    md.level = texts.get("PROCESSING_LEVEL", "")
    md.baseline = texts.get("PROCESSING_BASELINE", "")
    md.spacecraft = texts.get("SPACECRAFT_NAME", "")
    md.start = texts.get("PRODUCT_START_TIME") or texts.get("DATATAKE_SENSING_START")
    if "BOA_QUANTIFICATION_VALUE" in texts:
        md.quantification = float(texts["BOA_QUANTIFICATION_VALUE"])
    return md


def tile_grid(src: SafeSource, rel: str, res: int) -> tuple[str | None, tuple[float, ...] | None]:
    """CRS and transform at ``res`` from the granule's MTD_TL.xml (for JP2 files without a GML box)."""
    granule = rel.split("/IMG_DATA/")[0]
    if not src.has(f"{granule}/MTD_TL.xml"):
        return None, None
    root = ElementTree.fromstring(src.read_bytes(f"{granule}/MTD_TL.xml"))
    crs = None
    for el in root.iter():
        name = local_name(el.tag)
        if name == "HORIZONTAL_CS_CODE" and el.text:
            crs = el.text.strip()
        elif name == "Geoposition" and el.get("resolution") == str(res):
            v = {local_name(k.tag): float(k.text or "nan") for k in el}
            return crs, (v["XDIM"], 0.0, v["ULX"], 0.0, v["YDIM"], v["ULY"])
    return crs, None
