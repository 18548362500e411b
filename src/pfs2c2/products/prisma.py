"""PRISMA L2D (ASI): the geocoded surface-reflectance ``.he5`` read into one sorted VNIR+SWIR cube.

Specification: ASI, *PRISMA Products Specification Document*, Issue 2.3, 12/03/2020 (PRISMA-ASI), the
sections on the product file naming, the HDF-EOS5 layout of the L2 products (L2D: ``PRS_L2D_HCO`` swath)
and the global attributes. The file is ``PRS_L2D_STD_<start>_<stop>_<nnnn>.he5`` (times
``YYYYMMDDhhmmss``), an HDF-EOS5 file (HDF5 with ``/HDFEOS/SWATHS`` and ``/HDFEOS INFORMATION``). Used:

* ``/HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields/VNIR_Cube`` and ``.../SWIR_Cube``: uint16 DN stored
  ``(rows, bands, cols)`` (band-interleaved by line); rows run north to south, columns west to east.
* Root attributes ``List_Cw_Vnir`` / ``List_Cw_Swir`` (band centres, nm) and ``List_Fwhm_Vnir`` /
  ``List_Fwhm_Swir`` (nm), one per band slot of the cube, in the cube's (descending) order. A slot whose
  centre is 0 was never acquired (``List_Cw_*_Flags`` = 0 where present): it is dropped.
* ``L2ScaleVnirMin`` / ``L2ScaleVnirMax`` and ``L2ScaleSwirMin`` / ``L2ScaleSwirMax``: reflectance =
  ``Min + DN * (Max - Min) / 65535``.
* ``Epsg_Code`` (UTM/WGS84 zone), ``Product_ULcorner_easting`` / ``_northing`` and
  ``Product_LRcorner_easting`` / ``_northing`` (the 30 m grid), ``Product_StartTime`` (acquisition start,
  ISO 8601), ``Processing_Level`` (``"2D"``).

What this reader does:

* **Levels.** Only L2D is a map-projected reflectance. L1 (TOA radiance), L2B (surface radiance) and L2C
  (reflectance in sensor geometry, lat/lon arrays only) are refused with one line naming the fix; the level
  comes from ``Processing_Level``, else from the file name.
* **Bands.** Zero-wavelength slots are dropped; VNIR and SWIR are stacked and sorted by centre wavelength.
  In the VNIR/SWIR overlap (~920-1010 nm) one cube keeps the region: by default SWIR
  (``join_priority="swir"``), i.e. the VNIR bands whose centre is at or above the first SWIR centre are
  dropped, because the VNIR detector is at the red end of its range there, where its signal-to-noise is
  lowest, while those wavelengths sit well inside the SWIR detector's range. ``join_priority="vnir"``
  drops the SWIR bands at or below the last VNIR centre instead (prismaread's other choice).
* **Grid.** The corner attributes are taken as the *centres* of the corner pixels, as the EnMAP-Box
  PRISMA L2D importer does: pixel size ``(LR - UL) / (n - 1)`` per axis and the transform's origin half a
  pixel up and left of ``UL``. If the attributes instead span ``n`` pixels of ~30 m edge to edge (the
  convention prismaread assumes), that is recognised and ``UL`` is used as the outer corner.
* **Validity.** The L2D cube is padded with DN 0 outside the acquired swath (the north-up box around a
  rotated swath). A pixel whose DN is 0 in every kept band is nodata: ``masks["nodata"]``, NaN in the cube.
  A DN of 0 in single bands of a valid pixel (failed retrievals in the absorption windows) is kept as the
  scaled value ``Min``, so the cube stays finite wherever ``valid`` is True.

Not confirmed from the specification text itself (the document was not available in full; the layout
above agrees with the ASI attribute names and with three independent readers: prismaread, the EnMAP-Box
importer and hyperproc):

0. the axis order ``(rows, bands, cols)``, rows north to south (one reader says ``(easting, bands, northing)``);
1. whether the corner attributes are pixel centres or outer corners (readers disagree and EnMAP-Box
   issue #1072 is open; the centre convention is used, a half-pixel (15 m) question);
2. that L2D carries no cloud, sun-glint or land-cover mask: ``Cloud_Mask`` (0 clear, 1 cloudy, 10
   unclassified, 255 error), ``SunGlint_Mask`` and ``LandCover_Mask`` are in the L1 swath ``PRS_L1_HCO``
   (sensor geometry; the readers above read only cubes, errors, geolocation and angles from L2D), so L2D
   clouds are not masked here (the L1 mask would first need resampling onto the L2D grid);
3. the meaning of the ``*_PIXEL_L2_ERR_MATRIX`` values, so they are not used;
4. the format of ``Product_StartTime`` (normalised by ``datetime.fromisoformat`` when it parses, else
   kept as written; without it, the file name's start time).

**Zip.** The ``.zip`` ASI delivers is read without unzipping it, wherever its one ``PRS_L2D_*.he5`` sits
inside it: a member stored uncompressed is read in place; a compressed member (HDF5 needs random access,
which a deflate stream does not give) is first streamed to a temporary folder, in ``tmp_dir`` when given,
else the system temporary folder (``TMPDIR``), which must have room for the ``.he5`` (1-2 GB for a full
scene; checked first); the folder is removed once the cube is read, also on errors.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import numpy as np

from ..io import RasterMeta
from .base import Product, ProductError

__all__ = ["READER", "PrismaL2DReader", "read_prisma"]

SENSOR = "prisma"
LEVEL = "L2D"
#: DN full scale of the L2 cubes (uint16).
DN_MAX = 65535.0
#: Nominal ground sampling distance of the hyperspectral cubes, metres.
GSD_M = 30.0

_SWATHS = "HDFEOS/SWATHS"
#: PRS_<level>_<type...>_<start>_<stop>_<nnnn>.he5, e.g. PRS_L2D_STD_..., PRS_L1_STD_OFFL_...
_NAME = re.compile(r"^PRS_(?P<level>L1|L2[A-D]?)_[A-Z0-9_]*?(?P<start>\d{14})_(?P<stop>\d{14})_\d{4}\.he5$", re.I)
#: A PRISMA product file inside a .zip (any level): PRS_<level>_....he5.
_MEMBER = re.compile(r"^PRS_(?P<level>L1|L2[A-D]?)_.*\.he5$", re.I)
#: Room left free on the disk beyond the extracted .he5, bytes.
_SPARE_BYTES = 64 * 2**20
#: Copy buffer when extracting a .zip member, bytes.
_COPY_BYTES = 16 * 2**20
_WHAT = {
    "L1": "top-of-atmosphere radiance",
    "L2B": "surface radiance",
    "L2C": "surface reflectance in sensor geometry (not map-projected)",
}


@dataclass(frozen=True)
class _Arm:
    """One spectrometer's kept bands: reflectance ``(bands, rows, cols)``, centres, widths, names."""

    refl: np.ndarray
    nonzero: np.ndarray  # (rows, cols) True where some kept band has DN > 0
    wavelengths: np.ndarray
    fwhm: np.ndarray
    names: list[str]


def _text(value: Any) -> str:
    """An HDF5 string attribute (bytes, numpy bytes or a 1-element array) as ``str``."""
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
    if isinstance(value, (bytes, np.bytes_)):
        value = bytes(value).decode("utf-8", "replace")
    return str(value).strip().strip("\x00").strip()


def _number(attrs: Any, key: str, where: str) -> float:
    if key not in attrs:
        raise ProductError(f"{where}: attribute {key} is missing; give the unmodified PRS_L2D_*.he5 from ASI")
    value = np.asarray(attrs[key], dtype=np.float64).reshape(-1)
    if value.size != 1 or not np.isfinite(value[0]):
        raise ProductError(f"{where}: attribute {key} is not one finite number; give the unmodified PRS_L2D_*.he5")
    return float(value[0])


def _vector(attrs: Any, key: str, where: str) -> np.ndarray:
    if key not in attrs:
        raise ProductError(f"{where}: attribute {key} is missing; give the unmodified PRS_L2D_*.he5 from ASI")
    return np.asarray(attrs[key], dtype=np.float64).reshape(-1)


def _level(f: Any, path: Path) -> str:
    """``"L1"``, ``"L2B"``, ``"L2C"``, ``"L2D"``...: ``Processing_Level``, else the file name, else the swaths."""
    if "Processing_Level" in f.attrs:
        raw = _text(f.attrs["Processing_Level"]).upper()
        if raw:
            return raw if raw.startswith("L") else f"L{raw}"
    m = _NAME.match(path.name)
    if m:
        return m.group("level").upper()
    for swath in f.get(_SWATHS, {}):
        m = re.match(r"PRS_(L1|L2[A-D]?)_", str(swath))
        if m:
            return m.group(1).upper()
    return "unknown"


def _read_arm(f: Any, fields: Any, arm: str, where: str) -> _Arm:
    """Scale one spectrometer's cube to reflectance, keeping only its acquired (non-zero centre) bands."""
    tag, key = arm.upper(), arm.capitalize()
    name = f"{tag}_Cube"
    if name not in fields:
        raise ProductError(f"{where}: {_SWATHS}/PRS_L2D_HCO/Data Fields/{name} is missing; the file is incomplete")
    dset = fields[name]
    cw = _vector(f.attrs, f"List_Cw_{key}", where)
    fwhm = _vector(f.attrs, f"List_Fwhm_{key}", where)
    if dset.ndim != 3 or dset.shape[1] != cw.size or fwhm.size != cw.size:
        raise ProductError(
            f"{where}: {name} has shape {tuple(dset.shape)} but List_Cw_{key} has {cw.size} and List_Fwhm_{key} "
            f"{fwhm.size} values; expected (rows, bands, cols) with one centre and width per band"
        )
    keep = cw > 0
    flags_key = f"List_Cw_{key}_Flags"
    if flags_key in f.attrs:
        flags = np.asarray(f.attrs[flags_key]).reshape(-1)
        if flags.size == cw.size:
            keep &= flags != 0
    lo = _number(f.attrs, f"L2Scale{key}Min", where)
    hi = _number(f.attrs, f"L2Scale{key}Max", where)
    step = (hi - lo) / DN_MAX
    index = np.flatnonzero(keep)
    rows, _, cols = dset.shape
    refl = np.empty((index.size, rows, cols), dtype=np.float32)
    nonzero = np.zeros((rows, cols), dtype=bool)
    for out, band in enumerate(index):  # one band at a time: the float64 temporary stays one band large
        dn = np.asarray(dset[:, int(band), :])
        nonzero |= dn != 0
        refl[out] = lo + dn.astype(np.float64) * step
    names = [f"{tag}_{int(b) + 1:03d}" for b in index]
    return _Arm(refl, nonzero, cw[index], fwhm[index], names)


def _join(vnir: _Arm, swir: _Arm, priority: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Stack both arms with one band per wavelength region, sorted by centre: (cube, centres, fwhm, names)."""
    v_keep = np.ones(vnir.wavelengths.size, dtype=bool)
    s_keep = np.ones(swir.wavelengths.size, dtype=bool)
    if vnir.wavelengths.size and swir.wavelengths.size:
        if priority == "swir":
            v_keep = vnir.wavelengths < swir.wavelengths.min()
        else:
            s_keep = swir.wavelengths > vnir.wavelengths.max()
    wl = np.concatenate([vnir.wavelengths[v_keep], swir.wavelengths[s_keep]])
    fw = np.concatenate([vnir.fwhm[v_keep], swir.fwhm[s_keep]])
    names = [n for n, k in zip(vnir.names, v_keep) if k] + [n for n, k in zip(swir.names, s_keep) if k]
    order = np.argsort(wl, kind="stable")
    sources = [(vnir.refl, int(i)) for i in np.flatnonzero(v_keep)] + [
        (swir.refl, int(i)) for i in np.flatnonzero(s_keep)
    ]
    rows, cols = vnir.refl.shape[1:]
    cube = np.empty((order.size, rows, cols), dtype=np.float32)
    for out, k in enumerate(order):  # fill in place: no concatenated copy of the whole cube
        refl, band = sources[int(k)]
        cube[out] = refl[band]
    return cube, wl[order], fw[order], [names[i] for i in order]


def _axis(first: float, last: float, n: int) -> tuple[float, float]:
    """(pixel size, origin edge) along one axis from the corner attributes; see the module docstring."""
    span = last - first
    if n > 1 and abs(abs(span) / (n - 1) - GSD_M) <= abs(abs(span) / n - GSD_M):
        size = span / (n - 1)  # corners are the centres of the corner pixels
        return size, first - size / 2
    size = span / n if n > 0 else GSD_M  # corners are the outer edges of the grid
    return size, first


def _grid(f: Any, rows: int, cols: int, where: str) -> tuple[str, tuple[float, ...]]:
    """CRS string and affine transform of the L2D grid."""
    epsg = _number(f.attrs, "Epsg_Code", where)
    if epsg <= 0 or epsg != int(epsg):
        raise ProductError(f"{where}: Epsg_Code is {epsg:g}, not an EPSG code; give the unmodified PRS_L2D_*.he5")
    ul_e = _number(f.attrs, "Product_ULcorner_easting", where)
    ul_n = _number(f.attrs, "Product_ULcorner_northing", where)
    lr_e = _number(f.attrs, "Product_LRcorner_easting", where)
    lr_n = _number(f.attrs, "Product_LRcorner_northing", where)
    if not (lr_e > ul_e and ul_n > lr_n):
        raise ProductError(
            f"{where}: the UL/LR corner attributes do not describe a north-up grid (UL east/north of LR)"
        )
    dx, x0 = _axis(ul_e, lr_e, cols)
    dy, y0 = _axis(ul_n, lr_n, rows)  # dy < 0: rows run north to south
    return f"EPSG:{int(epsg)}", (dx, 0.0, x0, 0.0, dy, y0)


def _acquired(f: Any, path: Path) -> str | None:
    """ISO 8601 acquisition start: ``Product_StartTime``, else the start time in the file name."""
    if "Product_StartTime" in f.attrs:
        text = _text(f.attrs["Product_StartTime"])
        if text:
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
            except ValueError:
                return text
    m = _NAME.match(path.name)
    if m:
        return datetime.strptime(m.group("start"), "%Y%m%d%H%M%S").isoformat()
    return None


def _refuse_level(where: str, level: str) -> NoReturn:
    what = _WHAT.get(level, "not a level pfs2c2 reads")
    raise ProductError(
        f"{where}: PRISMA {level} product ({what}); pfs2c2 reads PRISMA L2D (geocoded surface "
        "reflectance): order the L2D product of this acquisition from the ASI PRISMA portal"
    )


def _zip_members(path: Path) -> list[zipfile.ZipInfo]:
    """The ``PRS_*.he5`` members of a ``.zip`` (any level, any folder inside it)."""
    with zipfile.ZipFile(path) as z:
        return [i for i in z.infolist() if not i.is_dir() and _MEMBER.match(PurePosixPath(i.filename).name)]


def _pick_member(path: Path) -> zipfile.ZipInfo:
    """The one ``PRS_L2D_*.he5`` of the ASI ``.zip`` at ``path``; ProductError (one line) when there is none or several."""
    try:
        members = _zip_members(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProductError(f"{path.name}: cannot read the .zip ({exc}); download the product again") from None
    l2d = [i for i in members if _member_level(i) == LEVEL]
    if len(l2d) == 1:
        return l2d[0]
    if len(l2d) > 1:
        names = ", ".join(PurePosixPath(i.filename).name for i in l2d[:3])
        raise ProductError(f"{path.name}: holds {len(l2d)} PRS_L2D_*.he5 files ({names}); unzip it and give one .he5")
    if members:
        _refuse_level(f"{path.name}/{PurePosixPath(members[0].filename).name}", _member_level(members[0]))
    raise ProductError(
        f"{path.name}: the .zip holds no PRS_L2D_*.he5; give the PRISMA L2D .zip as ASI delivers it, or its .he5"
    )


def _member_level(info: zipfile.ZipInfo) -> str:
    m = _MEMBER.match(PurePosixPath(info.filename).name)
    return m.group("level").upper() if m else "unknown"


class _Window(io.RawIOBase):
    """Bytes ``[start, start + size)`` of an open binary file as a read-only, seekable file (h5py's ``fileobj``)."""

    def __init__(self, raw: io.BufferedReader, start: int, size: int):
        super().__init__()
        self._raw, self._start, self._size, self._pos = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self._size - self._pos))
        if n == 0:
            return 0
        self._raw.seek(self._start + self._pos)
        got = self._raw.readinto(view[:n])
        self._pos += got
        return got


def _stored_start(raw: io.BufferedReader, info: zipfile.ZipInfo) -> int:
    """Offset in the archive of an uncompressed member's first byte (after its local file header)."""
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local file header for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


@contextmanager
def _open_member(path: Path, info: zipfile.ZipInfo, where: str, tmp_dir: str | Path | None) -> Iterator[Any]:
    """An ``h5py.File`` of one ``.zip`` member: in place when stored, else extracted to a temporary folder
    (in ``tmp_dir``, default the system one) that is removed on leaving."""
    import h5py

    if info.flag_bits & 0x1:
        raise ProductError(f"{where}: the .zip member is encrypted; unzip it with its password and give the .he5")
    if info.compress_type == zipfile.ZIP_STORED:
        with open(path, "rb") as raw:
            window = _Window(raw, _stored_start(raw, info), info.file_size)
            with h5py.File(window, "r") as f:
                yield f
        return
    folder = Path(tmp_dir) if tmp_dir is not None else Path(tempfile.gettempdir())
    if not folder.is_dir():
        raise ProductError(f"PRISMA tmp_dir {folder} is not a folder; create it or give another")
    free = shutil.disk_usage(folder).free
    if free < info.file_size + _SPARE_BYTES:
        raise ProductError(
            f"{where}: extracting it needs {info.file_size / 1e9:.2f} GB but {folder} has {free / 1e9:.2f} GB "
            "free; free space there, set TMPDIR to a larger disk, or unzip it yourself and give the .he5"
        )
    with tempfile.TemporaryDirectory(prefix="pfs2c2-prisma-", dir=folder) as tmp:
        target = Path(tmp) / PurePosixPath(info.filename).name
        with zipfile.ZipFile(path) as z, z.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, _COPY_BYTES)
        with h5py.File(target, "r") as f:
            yield f


@contextmanager
def _open_product(path: Path, tmp_dir: str | Path | None) -> Iterator[tuple[Any, Path, str]]:
    """(``h5py.File``, the ``.he5``'s name, the name used in messages) of a ``.he5`` or an ASI ``.zip``."""
    import h5py

    if h5py.is_hdf5(str(path)):
        with h5py.File(path, "r") as f:
            yield f, path, path.name
        return
    if not zipfile.is_zipfile(path):
        raise ProductError(f"{path.name}: not an HDF5 file or a .zip; give the PRS_L2D_*.he5 or the .zip ASI delivers")
    info = _pick_member(path)
    name = PurePosixPath(info.filename).name
    where = f"{path.name}/{name}"
    try:
        with _open_member(path, info, where, tmp_dir) as f:
            yield f, Path(name), where
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ProductError(f"{where}: cannot read the .zip member ({exc}); download the product again") from None


def read_prisma(path: str | Path, *, join_priority: str = "swir", tmp_dir: str | Path | None = None) -> Product:
    """Read a PRISMA L2D ``.he5``, or the ASI ``.zip`` holding one, into a :class:`Product` (float32
    ``(C, H, W)`` surface reflectance, C ~ 230).

    ``join_priority`` (``"swir"`` or ``"vnir"``) picks the spectrometer that keeps the VNIR/SWIR overlap
    (~920-1010 nm). ``tmp_dir``: where a compressed ``.zip`` member is extracted while it is read (default
    the system temporary folder; see the module docstring). Refuses (:class:`ProductError`, one line) an
    L1/L2B/L2C product, a file that is not an HDF-EOS5 PRISMA product (or a ``.zip`` without one), or one
    whose cubes and attributes disagree.
    """
    path = Path(path)
    if join_priority not in ("swir", "vnir"):
        raise ProductError(f"PRISMA join_priority must be 'swir' or 'vnir', got {join_priority!r}")
    if not path.is_file():
        raise ProductError(f"{path}: no such file; give the PRS_L2D_*.he5 or the .zip ASI delivers")
    where = path.name
    try:
        with _open_product(path, tmp_dir) as (f, name, where):
            parts = _read_open(f, name, where, join_priority)
    except OSError as exc:
        raise ProductError(f"{where}: cannot read the HDF5 file ({exc}); download the product again") from exc
    cube, wl, fw, names, nodata, crs, transform, acquired = parts
    cube[:, nodata] = np.nan
    meta = RasterMeta(
        crs=crs,
        transform=transform,
        wavelengths_nm=wl,
        fwhm_nm=fw if bool(np.all(fw > 0)) else None,
        nodata=None,
        band_names=names,
        units="reflectance",
        source=str(path),
    )
    return Product(
        cube=cube,
        meta=meta,
        valid=~nodata,
        sensor=SENSOR,
        level=LEVEL,
        acquired=acquired,
        kind="hsi",
        masks={"nodata": nodata},
    )


def _read_open(f: Any, name: Path, where: str, join_priority: str) -> tuple[Any, ...]:
    """Everything :func:`read_prisma` takes from the open file ``f`` (named ``name``):
    (cube, centres, fwhm, band names, nodata, crs, transform, acquired)."""
    if _SWATHS not in f:
        raise ProductError(f"{where}: not an HDF-EOS5 PRISMA product (no /{_SWATHS}); give a PRS_L2D_*.he5")
    level = _level(f, name)
    if level != LEVEL:
        _refuse_level(where, level)
    swath = f"{_SWATHS}/PRS_L2D_HCO"
    if f"{swath}/Data Fields" not in f:
        raise ProductError(f"{where}: /{swath}/Data Fields is missing; not a complete PRISMA L2D product")
    fields = f[f"{swath}/Data Fields"]
    vnir = _read_arm(f, fields, "vnir", where)
    swir = _read_arm(f, fields, "swir", where)
    if vnir.refl.shape[1:] != swir.refl.shape[1:]:
        raise ProductError(
            f"{where}: VNIR_Cube grid {vnir.refl.shape[1:]} differs from SWIR_Cube grid {swir.refl.shape[1:]}"
        )
    cube, wl, fw, names = _join(vnir, swir, join_priority)
    if cube.shape[0] == 0:
        raise ProductError(f"{where}: no band has a non-zero centre wavelength in List_Cw_Vnir/List_Cw_Swir")
    rows, cols = cube.shape[1:]
    crs, transform = _grid(f, rows, cols, where)
    nodata = ~(vnir.nonzero | swir.nonzero)
    return cube, wl, fw, names, nodata, crs, transform, _acquired(f, name)


class PrismaL2DReader:
    """The PRISMA reader registered in :data:`pfs2c2.products.READERS` as ``"prisma"``."""

    name = SENSOR

    def detect(self, path: str | Path) -> bool:
        """True for a ``PRS_*.he5`` file (any level, so that L1/L2C get the level refusal), an ``.he5``
        whose HDF-EOS5 swaths are named ``PRS_...``, or a ``.zip`` holding a ``PRS_*.he5``; never raises."""
        try:
            p = Path(path)
            if not p.is_file():
                return False
            if p.suffix.lower() == ".zip":
                return zipfile.is_zipfile(p) and bool(_zip_members(p))
            if p.suffix.lower() != ".he5":
                return False
            if _NAME.match(p.name) or p.name.upper().startswith("PRS_"):
                return True
            import h5py

            if not h5py.is_hdf5(str(p)):
                return False
            with h5py.File(p, "r") as f:
                return any(str(s).startswith("PRS_") for s in f.get(_SWATHS, {}))
        except Exception:  # detection must never raise: a file we cannot open is not claimed
            return False

    def read(self, path: str | Path, **options: Any) -> Product:
        """:func:`read_prisma` (options: ``join_priority``, ``tmp_dir``)."""
        unknown = set(options) - {"join_priority", "tmp_dir"}
        if unknown:
            raise ProductError(
                f"PRISMA reader: unknown option(s) {', '.join(sorted(unknown))}; known: join_priority, tmp_dir"
            )
        return read_prisma(path, **options)


READER = PrismaL2DReader()
