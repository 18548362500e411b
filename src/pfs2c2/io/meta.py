"""Raster metadata carried next to every cube: grid (CRS + affine transform), band wavelengths, nodata.

Every reader in :mod:`pfs2c2.io` returns ``(cube, RasterMeta)`` with ``cube`` a float32 ``(C, H, W)``
array, and every writer takes the same pair. Conventions:

* ``crs``: a string, ``"EPSG:<code>"`` when the CRS has an EPSG code, WKT otherwise; ``None`` when unknown.
* ``transform``: the 6 affine coefficients ``(a, b, c, d, e, f)`` in the order of ``rasterio.Affine``
  (``x = a * col + b * row + c``, ``y = d * col + e * row + f``); ``None`` when unknown.
* ``wavelengths_nm`` / ``fwhm_nm``: band centres / full widths at half maximum in nanometres, float64
  ``(C,)``. Values given in micrometres (all below 30) are converted to nm on construction.
* ``nodata``: the fill value of the file (kept as-is in the cube: readers do not replace it by NaN).
* ``scale`` / ``offset``: the factor and offset that the reader *applied* to the stored numbers
  (``value = stored * scale + offset``), recorded for provenance only; the cube is already in physical
  units, and writers store it as float32 without scale/offset. ``None`` when nothing was applied or when
  the per-band factors differ (they are applied per band all the same).
* ``units``: physical unit of the values when the file says (e.g. ``"reflectance"``), else ``None``.

Numpy only: importing this module does not import rasterio.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_band_field, check_finite_field, check_fwhm_count, check_transform, check_wavelength_list

__all__ = ["RasterMeta", "wavelengths_to_nm", "wavelength_unit_factor", "crs_string", "MICROMETRE_THRESHOLD"]

#: Wavelength arrays whose maximum is below this value are taken as micrometres and converted to nm.
MICROMETRE_THRESHOLD = 30.0

_NM_UNITS = {"nm", "nanometer", "nanometers", "nanometre", "nanometres"}
_UM_UNITS = {
    "um",
    "µm",
    "μm",
    "micron",
    "microns",
    "micrometer",
    "micrometers",
    "micrometre",
    "micrometres",
}
_MM_UNITS = {"mm", "millimeter", "millimeters", "millimetre", "millimetres"}


def wavelength_unit_factor(units: str | None) -> float | None:
    """Factor to nm for a wavelength unit string (``"nm"`` 1, ``"um"`` 1000, ``"mm"`` 1e6); ``None`` when
    unknown or missing."""
    if units is None:
        return None
    u = str(units).strip().lower()
    if u in _NM_UNITS:
        return 1.0
    if u in _UM_UNITS:
        return 1000.0
    if u in _MM_UNITS:
        return 1.0e6
    return None


def wavelengths_to_nm(values: Sequence[float] | np.ndarray, units: str | None = None) -> np.ndarray:
    """Convert wavelengths to nanometres.

    Args:
        values: 1-D wavelengths, shape ``(C,)``.
        units: Unit name as found in files (``"nm"``, ``"Nanometers"``, ``"um"``, ``"Micrometers"``,
            ``"microns"``, ...). When missing or not a length unit (e.g. ENVI ``"Unknown"``), the unit is
            guessed: all values below 30 are taken as micrometres (x1000), otherwise nanometres.

    Returns:
        float64 array ``(C,)`` in nm.

    Raises:
        ValueError: If the values are not a non-empty 1-D array of finite numbers.
    """
    wl = np.asarray(values, dtype=np.float64).reshape(-1)
    check_wavelength_list(wl, values)
    factor = wavelength_unit_factor(units)
    if factor is None:
        factor = 1000.0 if float(np.max(np.abs(wl))) < MICROMETRE_THRESHOLD else 1.0
    return wl * factor


def crs_string(crs: Any) -> str | None:
    """A rasterio CRS as the ``crs`` of a :class:`RasterMeta`: ``"EPSG:<code>"``, else WKT; ``None`` for none."""
    if crs is None:
        return None
    try:
        epsg = crs.to_epsg()
    except Exception:  # pyproj/GDAL lookups may fail on exotic CRS
        epsg = None
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _opt_array(name: str, value: Any) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        return None
    check_finite_field(name, arr)
    return arr


@dataclass(eq=False)
class RasterMeta:
    """Metadata of a ``(C, H, W)`` cube; every field is optional (see the module docstring)."""

    crs: str | None = None
    transform: tuple[float, ...] | None = None
    wavelengths_nm: np.ndarray | None = None
    fwhm_nm: np.ndarray | None = None
    nodata: float | None = None
    band_names: list[str] | None = None
    scale: float | None = None
    offset: float | None = None
    units: str | None = None
    #: Where the cube came from (file and variable), for messages and provenance. Not compared.
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.crs is not None:
            self.crs = str(self.crs).strip() or None
        if self.transform is not None:
            t = tuple(float(v) for v in tuple(self.transform)[:6])
            check_transform(t)
            self.transform = t
        wl = _opt_array("wavelengths_nm", self.wavelengths_nm)
        fw = _opt_array("fwhm_nm", self.fwhm_nm)
        if wl is not None and float(np.max(np.abs(wl))) < MICROMETRE_THRESHOLD:
            wl = wl * 1000.0  # micrometres -> nm; the FWHM of such a file is in micrometres too
            if fw is not None and float(np.max(np.abs(fw))) < 1.0:
                fw = fw * 1000.0
        if wl is not None and fw is not None:
            check_fwhm_count(fw, wl)
        self.wavelengths_nm = wl
        self.fwhm_nm = fw
        if self.nodata is not None:
            self.nodata = float(self.nodata)
        if self.scale is not None:
            self.scale = float(self.scale)
        if self.offset is not None:
            self.offset = float(self.offset)
        if self.band_names is not None:
            self.band_names = [str(b) for b in self.band_names] or None

    # ------------------------------------------------------------------ grid
    @property
    def is_georeferenced(self) -> bool:
        """True when both a CRS and a (non-identity) affine transform are known."""
        return self.crs is not None and self.transform is not None and self.transform != (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

    def pixel_size(self) -> tuple[float, float] | None:
        """Ground size of a pixel ``(x_size, y_size)`` in CRS units (positive), or ``None`` without grid."""
        if self.transform is None:
            return None
        a, b, _, d, e, _ = self.transform
        return (math.hypot(a, d), math.hypot(b, e))

    def affine(self) -> Any:
        """The transform as an ``affine.Affine`` (the package rasterio depends on), or ``None``."""
        if self.transform is None:
            return None
        from affine import Affine

        return Affine(*self.transform)

    def with_grid(self, other: RasterMeta | None) -> RasterMeta:
        """Copy of this metadata with the CRS and transform of ``other`` (e.g. HSI bands on the MSI grid)."""
        if other is None:
            return dataclasses.replace(self, crs=None, transform=None)
        return dataclasses.replace(self, crs=other.crs, transform=other.transform)

    def replace(self, **changes: Any) -> RasterMeta:
        """``dataclasses.replace`` shortcut."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ bands
    @property
    def n_bands(self) -> int | None:
        """Number of bands implied by wavelengths / FWHM / band names, or ``None`` if none is known."""
        for v in (self.wavelengths_nm, self.fwhm_nm, self.band_names):
            if v is not None:
                return len(v)
        return None

    def check_bands(self, n_bands: int, what: str = "cube") -> None:
        """Raise ``ValueError`` if the per-band fields do not have ``n_bands`` entries."""
        for name in ("wavelengths_nm", "fwhm_nm", "band_names"):
            check_band_field(name, getattr(self, name), n_bands, what)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (lists and floats only): JSON/YAML friendly."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = [float(x) for x in v]
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RasterMeta:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    #: Compared by value and mutable, hence not hashable (as before: ``__eq__`` without ``__hash__``).
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RasterMeta):
            return NotImplemented
        for f in dataclasses.fields(self):
            if not f.compare:
                continue
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    def __repr__(self) -> str:
        parts = []
        if self.crs is not None:
            crs = self.crs if len(self.crs) <= 40 else self.crs[:37] + "..."
            parts.append(f"crs={crs!r}")
        if self.transform is not None:
            ps = self.pixel_size()
            parts.append(f"pixel_size={ps[0]:g}x{ps[1]:g}" if ps else "")
        if self.wavelengths_nm is not None:
            wl = self.wavelengths_nm
            parts.append(f"wavelengths_nm=[{wl[0]:g} .. {wl[-1]:g}] ({wl.size})")
        if self.fwhm_nm is not None:
            parts.append("fwhm_nm=(set)")
        for name in ("nodata", "scale", "offset", "units", "source"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}={v!r}")
        if self.band_names is not None:
            parts.append(f"band_names=({len(self.band_names)})")
        return f"RasterMeta({', '.join(parts)})"
