"""Spectral response functions (SRF): where they come from and how they meet the HSI band grid.

A multispectral (MSI) sensor is described by its *relative spectral response*: for every band, the
response (peak ~1) as a function of wavelength in nanometres. Fusion needs it as a matrix ``R`` of shape
``(C, c)`` on the hyperspectral (HSI) band grid, so that ``HR-MSI = HR-HSI @ R`` (GUIDE section 2).

Sources of responses, all returning a :class:`SensorResponse`:

* :func:`sensor_response` -- by name. Sentinel-2A/B and Landsat-8/9 use the measured responses that the
  ``pyrsr`` package ships in its wheel (offline); the other sensors in :data:`BAND_CENTRES` get
  Gaussian bands from their published centre and FWHM.
* :func:`load_response_csv` -- a measured table from a CSV file (wavelength column + one column per band).
* :func:`gaussian_response` -- Gaussian bands from any centres and FWHMs.

Then :func:`select_bands` picks bands by name, :func:`srf_matrix` samples the responses at the HSI band
centres, cuts each band to its support and normalises the columns, and :func:`band_support` tells which
HSI bands each MSI band sees. :func:`load_srf` is the single entry point for the command line (a matrix,
a ``.npy``/``.csv`` file, or a sensor name), and :func:`parse_wavelengths` reads the HSI band centres.

All wavelengths are in nanometres (nm). Numpy only.
"""

from __future__ import annotations

import functools
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from .io._common import split_line, to_float
from .errors import InputError

__all__ = [
    "BAND_CENTRES",
    "SENSOR_ALIASES",
    "SensorResponse",
    "available_sensors",
    "band_support",
    "gaussian_response",
    "load_response_csv",
    "load_srf",
    "parse_wavelengths",
    "select_bands",
    "sensor_response",
    "srf_matrix",
]

PathLike = Union[str, "os.PathLike[str]"]

# --------------------------------------------------------------------------------------------------
# Published band centres and widths
# --------------------------------------------------------------------------------------------------
# (centre_nm, fwhm_nm) per band, in the sensor's usual band order. "Centre" and "FWHM" follow the
# definition that USGS and Maxar/GeoEye use: the midpoint of, and the distance between, the two
# wavelengths where the relative response is 50 % of its peak. Sources, per sensor:
#
# * sentinel2a / sentinel2b: ESA, "Sentinel-2 Spectral Response Functions (S2-SRF)",
#   COPE-GSEG-EOPG-TN-15-0007, issue 3.0 (Dec 2017), as tabulated in the ESA Sentinel-2 MSI User Guide
#   ("central wavelength" and "bandwidth"). ESA's centre is the response-weighted mean.
# * landsat8: J. A. Barsi et al., "The Spectral Response of the Landsat-8 Operational Land Imager",
#   Remote Sensing 6(10):10232-10251, 2014, table of FWHM centre and FWHM (band-average RSR,
#   Ball_BA_RSR.v1.2). Also the USGS Landsat 8 Data Users Handbook (LSDS-1574).
# * landsat9: NASA/Ball, "L9_OLI2_Ball_BA_RSR.v1.0" band-average RSR (Oct 2021); 50 % points computed
#   from that table at 1 nm (the USGS Landsat 9 Data Users Handbook, LSDS-2082, lists only the
#   requirement band edges, which are wider).
# * worldview2: DigitalGlobe, T. Updike & C. Comp, "Radiometric Use of WorldView-2 Imagery",
#   Technical Note, 2010 (band centres); FWHM from the 50 % points of the DigitalGlobe WorldView-2
#   relative spectral response table (the note gives an "effective bandwidth" instead).
# * worldview3: DigitalGlobe/Maxar WorldView-3 relative spectral response table (2014), 50 % points
#   (band ranges as in the Maxar "WorldView-3" data sheet and D. Kuester, "Radiometric Use of
#   WorldView-3 Imagery", Technical Note, 2016).
# * ikonos: GeoEye, M. Taylor, "IKONOS Planetary Reflectance and Mean Solar Exoatmospheric
#   Irradiance", Technical Note, 2009 (lower/upper 50 % wavelengths, centre, bandwidth).
# * quickbird: DigitalGlobe QuickBird relative spectral response table (2013 spreadsheet, 5 nm), 50 %
#   points; band ranges as in the DigitalGlobe "QuickBird Imagery Products - Product Guide" (2007) and
#   K. Krause, "Radiometric Use of QuickBird Imagery", Technical Note, 2005.
#
# Every entry was cross-checked against the manufacturers' response tables (tests/test_sensors.py).
BAND_CENTRES: dict[str, dict[str, tuple[float, float]]] = {
    "sentinel2a": {
        "B1": (442.7, 21.0),
        "B2": (492.4, 66.0),
        "B3": (559.8, 36.0),
        "B4": (664.6, 31.0),
        "B5": (704.1, 15.0),
        "B6": (740.5, 15.0),
        "B7": (782.8, 20.0),
        "B8": (832.8, 106.0),
        "B8A": (864.7, 21.0),
        "B9": (945.1, 20.0),
        "B10": (1373.5, 31.0),
        "B11": (1613.7, 91.0),
        "B12": (2202.4, 175.0),
    },
    "sentinel2b": {
        "B1": (442.2, 21.0),
        "B2": (492.1, 66.0),
        "B3": (559.0, 36.0),
        "B4": (664.9, 31.0),
        "B5": (703.8, 16.0),
        "B6": (739.1, 15.0),
        "B7": (779.7, 20.0),
        "B8": (832.9, 106.0),
        "B8A": (864.0, 22.0),
        "B9": (943.2, 21.0),
        "B10": (1376.9, 30.0),
        "B11": (1610.4, 94.0),
        "B12": (2185.7, 185.0),
    },
    "landsat8": {
        "B1_coastal": (442.96, 15.98),
        "B2_blue": (482.04, 60.04),
        "B3_green": (561.41, 57.33),
        "B4_red": (654.59, 37.47),
        "B5_nir": (864.67, 28.25),
        "B6_swir1": (1608.86, 84.72),
        "B7_swir2": (2200.73, 186.66),
        "B8_pan": (589.50, 172.40),
        "B9_cirrus": (1373.43, 20.39),
    },
    "landsat9": {
        "B1_coastal": (442.7, 15.4),
        "B2_blue": (481.8, 59.9),
        "B3_green": (561.0, 56.3),
        "B4_red": (654.3, 36.7),
        "B5_nir": (864.6, 28.7),
        "B6_swir1": (1608.1, 86.1),
        "B7_swir2": (2200.1, 189.5),
        "B8_pan": (589.2, 172.6),
        "B9_cirrus": (1374.1, 20.8),
    },
    "worldview2": {
        "coastal": (427.3, 51.8),
        "blue": (477.9, 60.8),
        "green": (546.2, 69.7),
        "yellow": (607.8, 38.5),
        "red": (658.8, 59.3),
        "rededge": (723.7, 39.8),
        "nir1": (831.3, 117.7),
        "nir2": (908.3, 92.4),
        "pan": (632.2, 336.9),
    },
    "worldview3": {
        "coastal": (426.2, 47.3),
        "blue": (480.7, 59.2),
        "green": (545.0, 69.0),
        "yellow": (604.1, 39.4),
        "red": (659.9, 59.7),
        "rededge": (723.2, 38.6),
        "nir1": (831.0, 120.1),
        "nir2": (905.1, 86.0),
        "swir1": (1209.4, 31.8),
        "swir2": (1571.8, 40.3),
        "swir3": (1661.1, 38.6),
        "swir4": (1730.0, 41.4),
        "swir5": (2164.4, 39.4),
        "swir6": (2203.5, 41.8),
        "swir7": (2259.8, 48.6),
        "swir8": (2330.5, 69.4),
        "pan": (629.4, 341.8),
    },
    "ikonos": {
        "blue": (480.3, 71.3),
        "green": (550.7, 88.6),
        "red": (664.8, 65.8),
        "nir": (805.0, 95.4),
        "pan": (727.1, 402.7),
    },
    "quickbird": {
        "blue": (479.3, 65.2),
        "green": (546.6, 95.7),
        "red": (654.0, 67.7),
        "nir": (814.6, 118.7),
        "pan": (724.9, 399.3),
    },
}

#: Other spellings of the sensor names (after lower-casing and dropping ``-``, ``_`` and spaces).
SENSOR_ALIASES: dict[str, str] = {
    "sentinel2": "sentinel2a",
    "s2": "sentinel2a",
    "s2a": "sentinel2a",
    "s2amsi": "sentinel2a",
    "s2b": "sentinel2b",
    "s2bmsi": "sentinel2b",
    "landsat8oli": "landsat8",
    "l8": "landsat8",
    "oli": "landsat8",
    "landsat9oli": "landsat9",
    "l9": "landsat9",
    "oli2": "landsat9",
    "wv2": "worldview2",
    "wv02": "worldview2",
    "wv3": "worldview3",
    "wv03": "worldview3",
    "ikonos2": "ikonos",
    "qb": "quickbird",
    "qb2": "quickbird",
    "quickbird2": "quickbird",
}

# Sensors for which the measured responses come from pyrsr: (satellite, sensor, band-name map).
_PYRSR_SENSORS: dict[str, tuple[str, str]] = {
    "sentinel2a": ("Sentinel-2A", "MSI"),
    "sentinel2b": ("Sentinel-2B", "MSI"),
    "landsat8": ("Landsat-8", "OLI_TIRS"),
    "landsat9": ("Landsat-9", "OLI_TIRS"),
}

# Plausible range of band-centre wavelengths (nm) for optical sensors, used to tell a wavelength column
# from an index column and nanometres from micrometres.
_WAVELENGTH_RANGE_NM = (250.0, 2700.0)
_CSV_FORMAT_HINT = (
    "expected a CSV with a header row, the wavelength in nm in the first column and one relative "
    "response column per band, e.g. 'wavelength_nm,blue,green' then '450,0.8,0.01'"
)


# --------------------------------------------------------------------------------------------------
# The response container
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SensorResponse:
    """Relative spectral responses of a multispectral sensor, tabulated on one wavelength grid.

    The arrays are converted to read-only float64 copies on construction.

    Attributes:
        name: Sensor name, e.g. ``"sentinel2a"`` or the CSV file stem.
        band_names: Band names, one per column of ``responses``.
        wavelengths_nm: Strictly increasing wavelengths, shape ``(N,)``, in nm.
        responses: Relative responses, shape ``(N, n_bands)``, peak ~1 per band, 0 where the band has
            no response.
    """

    name: str
    band_names: tuple[str, ...]
    wavelengths_nm: np.ndarray
    responses: np.ndarray

    def __post_init__(self) -> None:
        wl = np.array(self.wavelengths_nm, dtype=np.float64).reshape(-1)
        resp = np.array(self.responses, dtype=np.float64)
        if resp.ndim == 1:
            resp = resp[:, None]
        names = tuple(str(b) for b in self.band_names)
        if resp.ndim != 2 or resp.shape[0] != wl.shape[0]:
            raise InputError(
                f"SensorResponse {self.name!r}: responses must have shape (N, n_bands) with N = "
                f"{wl.shape[0]} wavelengths, got {resp.shape}"
            )
        if len(names) != resp.shape[1]:
            raise InputError(
                f"SensorResponse {self.name!r}: {len(names)} band names for {resp.shape[1]} response "
                "columns"
            )
        if len(set(names)) != len(names):
            raise InputError(f"SensorResponse {self.name!r}: duplicate band names in {list(names)}")
        if wl.shape[0] < 2 or not np.all(np.isfinite(wl)) or np.any(np.diff(wl) <= 0):
            raise InputError(
                f"SensorResponse {self.name!r}: wavelengths must be at least 2 finite, strictly "
                "increasing values in nm"
            )
        if not np.all(np.isfinite(resp)):
            raise InputError(f"SensorResponse {self.name!r}: responses contain NaN or inf")
        wl.setflags(write=False)
        resp.setflags(write=False)
        object.__setattr__(self, "wavelengths_nm", wl)
        object.__setattr__(self, "responses", resp)
        object.__setattr__(self, "band_names", names)

    @property
    def n_bands(self) -> int:
        """Number of bands (columns of ``responses``)."""
        return len(self.band_names)

    def weighted_centres_nm(self) -> np.ndarray:
        """Response-weighted centre wavelength of each band (negative noise clipped to 0).

        Returns:
            Array of shape ``(n_bands,)`` in nm: ``integral(l * r(l)) / integral(r(l))`` by the
            trapezoid rule on the table grid.
        """
        r = np.clip(self.responses, 0.0, None)
        wl = self.wavelengths_nm
        num = np.trapezoid(r * wl[:, None], wl, axis=0)
        den = np.trapezoid(r, wl, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(num / den)

    def __repr__(self) -> str:
        return (
            f"SensorResponse(name={self.name!r}, bands={list(self.band_names)}, "
            f"wavelengths {self.wavelengths_nm[0]:g}-{self.wavelengths_nm[-1]:g} nm, "
            f"N={self.wavelengths_nm.shape[0]})"
        )


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------
def gaussian_response(
    centres_nm: Sequence[float] | np.ndarray,
    fwhms_nm: Sequence[float] | np.ndarray,
    wavelengths_nm: Sequence[float] | np.ndarray,
    band_names: Sequence[str] | None = None,
) -> SensorResponse:
    """Gaussian band shapes with peak 1 at each centre.

    ``r_j(l) = exp(-4 ln 2 (l - centre_j)^2 / fwhm_j^2)``, so the response is 0.5 at ``centre +- fwhm/2``.

    Args:
        centres_nm: Band centres, shape ``(c,)``, in nm.
        fwhms_nm: Full widths at half maximum, shape ``(c,)``, in nm, all > 0.
        wavelengths_nm: Strictly increasing grid on which to tabulate, shape ``(N,)``, in nm.
        band_names: Names for the ``c`` bands; default ``"B1"``, ``"B2"``, ...

    Returns:
        A :class:`SensorResponse` named ``"gaussian"`` with ``responses`` of shape ``(N, c)``.

    Raises:
        ValueError: If lengths disagree, a FWHM is not positive, or values are not finite.
    """
    centres = np.asarray(centres_nm, dtype=np.float64).reshape(-1)
    fwhms = np.asarray(fwhms_nm, dtype=np.float64).reshape(-1)
    wl = np.asarray(wavelengths_nm, dtype=np.float64).reshape(-1)
    if centres.shape != fwhms.shape:
        raise InputError(
            f"gaussian_response: {centres.size} centres but {fwhms.size} FWHMs; give one FWHM per band"
        )
    if centres.size == 0:
        raise InputError("gaussian_response: give at least one band centre")
    if not (np.all(np.isfinite(centres)) and np.all(np.isfinite(fwhms))):
        raise InputError("gaussian_response: centres and FWHMs must be finite numbers in nm")
    if np.any(fwhms <= 0):
        raise InputError(f"gaussian_response: FWHMs must be > 0 nm, got {fwhms.tolist()}")
    names = (
        tuple(f"B{i + 1}" for i in range(centres.size))
        if band_names is None
        else tuple(str(b) for b in band_names)
    )
    if len(names) != centres.size:
        raise InputError(
            f"gaussian_response: {len(names)} band names for {centres.size} band centres"
        )
    resp = np.exp(-4.0 * math.log(2.0) * ((wl[:, None] - centres[None, :]) / fwhms[None, :]) ** 2)
    return SensorResponse("gaussian", names, wl, resp)




def _read_table(path: Path) -> tuple[list[str] | None, np.ndarray]:
    """Read a small numeric text table with an optional single header row.

    Blank lines and lines starting with ``#`` are skipped.

    Returns:
        ``(header or None, values)`` with values of shape ``(rows, cols)`` float64.

    Raises:
        ValueError: On ragged rows, non-numeric cells after the header, or no data rows.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a text table ({exc})") from None
    header: list[str] | None = None
    rows: list[list[float]] = []
    ncols: int | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        toks = split_line(line)
        vals = [to_float(t) for t in toks]
        if any(v is None for v in vals):
            if header is None and not rows:
                header = toks
                ncols = len(toks)
                continue
            bad = next(t for t, v in zip(toks, vals) if v is None)
            raise InputError(f"{path}: line {lineno}: non-numeric value {bad!r}")
        if ncols is None:
            ncols = len(toks)
        if len(toks) != ncols:
            raise InputError(
                f"{path}: line {lineno} has {len(toks)} columns, expected {ncols} (like the "
                f"{'header' if header is not None else 'first row'})"
            )
        rows.append([float(v) for v in vals])  # type: ignore[arg-type]
    if not rows:
        raise InputError(f"{path}: no numeric data rows")
    return header, np.asarray(rows, dtype=np.float64)


def load_response_csv(path: PathLike) -> SensorResponse:
    """Read a sensor's relative spectral responses from a CSV table.

    The format is that of the shared ``srf/sensors/*.csv`` files: a header row, the wavelength in nm in
    the first column, and one column of relative response (peak ~1) per band, named by the header.
    Wavelengths given in micrometres (header containing ``um``/``µm``/``micro``, or all values < 30)
    are converted to nm.

    Args:
        path: Path to the CSV file.

    Returns:
        A :class:`SensorResponse` named after the file stem, responses of shape ``(N, n_bands)``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is malformed (no header, fewer than 2 columns or rows, non-numeric
            cells, ragged rows, non-increasing wavelengths, NaN values), with what is wrong and the
            expected format on one line.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"spectral response file not found: {p}")
    try:
        header, data = _read_table(p)
    except ValueError as exc:
        raise InputError(f"malformed spectral response CSV: {exc}; {_CSV_FORMAT_HINT}") from None
    if header is None:
        raise InputError(
            f"malformed spectral response CSV {p}: no header row with band names; {_CSV_FORMAT_HINT}"
        )
    if data.shape[1] < 2:
        raise InputError(
            f"malformed spectral response CSV {p}: only {data.shape[1]} column; {_CSV_FORMAT_HINT}"
        )
    if data.shape[0] < 2:
        raise InputError(
            f"malformed spectral response CSV {p}: only {data.shape[0]} data row; {_CSV_FORMAT_HINT}"
        )
    if not np.all(np.isfinite(data)):
        raise InputError(f"malformed spectral response CSV {p}: NaN or inf values; {_CSV_FORMAT_HINT}")
    wl = data[:, 0]
    unit_tokens = set(re.split(r"[^a-zµ]+", header[0].lower()))
    if unit_tokens & {"um", "µm", "micron", "microns", "micrometer", "micrometers", "micrometre",
                      "micrometres"}:
        wl = wl * 1000.0
    elif np.max(wl) < 30.0:
        wl = wl * 1000.0  # micrometres: no optical band is centred below 30 nm
    if np.any(np.diff(wl) <= 0):
        i = int(np.argmax(np.diff(wl) <= 0))
        raise InputError(
            f"malformed spectral response CSV {p}: wavelengths not strictly increasing at data row "
            f"{i + 2} ({wl[i]:g} then {wl[i + 1]:g} nm); {_CSV_FORMAT_HINT}"
        )
    names = tuple(h if h else f"band{j}" for j, h in enumerate(header[1:], start=1))
    if len(set(names)) != len(names):
        raise InputError(f"malformed spectral response CSV {p}: duplicate band names {list(names)}")
    return SensorResponse(p.stem, names, wl, data[:, 1:])


def _canonical_sensor(name: str) -> str:
    """Lower-case, drop ``-``/``_``/spaces/dots, resolve aliases. Returns '' for unknown names."""
    key = re.sub(r"[\s\-_.]", "", name.lower())
    key = SENSOR_ALIASES.get(key, key)
    return key if key in BAND_CENTRES else ""


def available_sensors() -> list[str]:
    """Names accepted by :func:`sensor_response` (canonical names, then aliases).

    Returns:
        Sorted canonical names followed by sorted aliases.
    """
    return sorted(BAND_CENTRES) + sorted(SENSOR_ALIASES)


def _known_sensors_text() -> str:
    return (
        f"known sensors: {', '.join(sorted(BAND_CENTRES))} "
        f"(aliases: {', '.join(sorted(SENSOR_ALIASES))})"
    )


@functools.lru_cache(maxsize=None)
def _pyrsr_response(canonical: str) -> SensorResponse:
    """Measured responses from pyrsr, band names as in :data:`BAND_CENTRES`."""
    import pyrsr  # lazy: pulls in pandas

    satellite, sensor = _PYRSR_SENSORS[canonical]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rsr = pyrsr.RSR(
            satellite=satellite, sensor=sensor, wvl_unit="nanometers", specres_nm=1, no_thermal=True
        )
    wl = np.asarray(rsr.rsrs_wvl, dtype=np.float64)  # nm, 1 nm grid (pyrsr converts µm itself)
    table_names = list(BAND_CENTRES[canonical])
    by_number = {re.match(r"B(\w+?)(?:_|$)", n).group(1): n for n in table_names}  # type: ignore[union-attr]
    names: list[str] = []
    cols: list[np.ndarray] = []
    for band in rsr.bands:  # pyrsr names bands '1', '2', ..., '8A'
        if band not in by_number:
            continue
        names.append(by_number[band])
        cols.append(np.asarray(rsr.rsrs_norm01[band], dtype=np.float64))
    order = [names.index(n) for n in table_names if n in names]
    if len(order) != len(table_names):
        missing = sorted(set(table_names) - set(names))
        raise RuntimeError(f"pyrsr {satellite} {sensor}: bands {missing} missing")
    resp = np.stack([cols[i] for i in order], axis=1)
    return SensorResponse(canonical, tuple(names[i] for i in order), wl, resp)


def _gaussian_from_table(canonical: str) -> SensorResponse:
    table = BAND_CENTRES[canonical]
    centres = np.array([c for c, _ in table.values()])
    fwhms = np.array([w for _, w in table.values()])
    lo = math.floor(float(np.min(centres - 1.5 * fwhms)))
    hi = math.ceil(float(np.max(centres + 1.5 * fwhms)))
    grid = np.union1d(np.arange(lo, hi + 1, 1.0), centres)  # exact peaks at the centres
    g = gaussian_response(centres, fwhms, grid, band_names=list(table))
    return SensorResponse(canonical, g.band_names, g.wavelengths_nm, g.responses)


def sensor_response(name: str) -> SensorResponse:
    """Relative spectral responses of a named sensor.

    Sentinel-2A/B and Landsat-8/9 (OLI, thermal bands excluded) use the measured responses shipped in
    the ``pyrsr`` wheel, on a 1 nm grid, with band names ``B1``..``B12``/``B8A`` (Sentinel-2) and
    ``B1_coastal``..``B9_cirrus`` (Landsat). Every other sensor of :data:`BAND_CENTRES` gets Gaussian
    bands from its published centre and FWHM (peak exactly 1 at each centre). If ``pyrsr`` cannot be
    imported the Gaussian fallback is used for every sensor, with a warning.

    Args:
        name: Sensor name or alias, case-insensitive, ``-``/``_``/spaces ignored (``"Sentinel-2A"``,
            ``"s2"``, ``"WV-2"``, ``"landsat_8"`` ...).

    Returns:
        A :class:`SensorResponse` whose ``name`` is the canonical sensor name.

    Raises:
        ValueError: For an unknown name, listing the known names.
    """
    canonical = _canonical_sensor(str(name))
    if not canonical:
        raise InputError(f"unknown sensor {name!r}; {_known_sensors_text()}")
    if canonical in _PYRSR_SENSORS:
        try:
            return _pyrsr_response(canonical)
        except ImportError as exc:  # pragma: no cover - pyrsr is a dependency
            warnings.warn(
                f"pyrsr not available ({exc}); using Gaussian bands for {canonical}",
                stacklevel=2,
            )
    return _gaussian_from_table(canonical)


# --------------------------------------------------------------------------------------------------
# Band selection
# --------------------------------------------------------------------------------------------------
def _match_band(query: str, names: Sequence[str]) -> int | None:
    """Index of the band called ``query``: exact (case-insensitive) name, else a unique ``_`` token."""
    q = query.strip().lower()
    lower = [n.lower() for n in names]
    if q in lower:
        return lower.index(q)
    hits = [i for i, n in enumerate(lower) if q in n.split("_")]
    return hits[0] if len(hits) == 1 else None


def select_bands(response: SensorResponse, bands: Sequence[str] | None) -> SensorResponse:
    """Subset and reorder the bands of a response by name.

    A name matches a band exactly (case-insensitive) or, if unambiguous, one ``_``-separated part of
    it: ``"B4"`` and ``"red"`` both select Landsat's ``"B4_red"``.

    Args:
        response: The sensor response.
        bands: Band names in the wanted order; ``None`` keeps every band except panchromatic ones
            (names containing ``"pan"``), so Sentinel-2 keeps all 13 bands.

    Returns:
        A new :class:`SensorResponse` with the selected columns.

    Raises:
        ValueError: For an unknown, ambiguous or repeated band name (listing the available bands), or
            an empty selection.
    """
    names = list(response.band_names)
    if bands is None:
        idx = [i for i, n in enumerate(names) if "pan" not in n.lower()]
        if not idx:
            raise InputError(
                f"{response.name}: every band is panchromatic ({names}); pass bands= explicitly"
            )
    else:
        if isinstance(bands, str):
            bands = [b for b in re.split(r"[,\s]+", bands) if b]
        if len(bands) == 0:
            raise InputError(f"{response.name}: empty band selection; available bands: {names}")
        idx = []
        for b in bands:
            i = _match_band(str(b), names)
            if i is None:
                raise InputError(
                    f"{response.name}: unknown or ambiguous band {b!r}; available bands: {names}"
                )
            if i in idx:
                raise InputError(f"{response.name}: band {names[i]!r} selected twice")
            idx.append(i)
    return SensorResponse(
        response.name,
        tuple(names[i] for i in idx),
        response.wavelengths_nm,
        response.responses[:, idx],
    )


# --------------------------------------------------------------------------------------------------
# Responses -> matrix on the HSI grid
# --------------------------------------------------------------------------------------------------
def _check_hsi_wavelengths(hsi_wavelengths_nm: Sequence[float] | np.ndarray) -> np.ndarray:
    wl = np.asarray(hsi_wavelengths_nm, dtype=np.float64)
    if wl.ndim != 1 or wl.size == 0:
        raise InputError(
            f"HSI wavelengths must be a 1-D array of band centres in nm, got shape {wl.shape}"
        )
    if not np.all(np.isfinite(wl)) or np.any(wl <= 0):
        raise InputError("HSI wavelengths must be finite and positive (nm)")
    if np.max(wl) < 30.0:
        raise InputError(
            f"HSI wavelengths look like micrometres (max {np.max(wl):g}); give them in nm "
            "(multiply by 1000)"
        )
    check_increasing_wavelengths(wl, "HSI wavelengths")
    return wl


#: Fraction of band-to-band steps allowed to go backwards (spectrometer overlaps, e.g. AVIRIS, EnMAP).
MAX_BACKWARD_STEPS = 0.1


def check_increasing_wavelengths(wl: np.ndarray, what: str) -> None:
    """Refuse band centres that repeat or do not increase.

    Spectrometers with several detectors (AVIRIS, EnMAP, ZY1-02E AHSI) list their bands per detector,
    so the centres step back where two detectors overlap; up to 10% of the steps may go backwards as
    long as the last centre is above the first. Two neighbouring bands with the same centre, a
    decreasing list, or more steps back than that are refused.

    Raises:
        InputError: with a one-line message giving the offending bands (1-based).
    """
    wl = np.asarray(wl, dtype=np.float64).reshape(-1)
    if wl.size < 2:
        return
    steps = np.diff(wl)
    repeated = np.flatnonzero(steps == 0)
    if repeated.size:
        i = int(repeated[0])
        raise InputError(
            f"{what} repeat: bands {i + 1} and {i + 2} are both at {wl[i]:g} nm; give one distinct "
            "centre per band, from short to long wavelengths"
        )
    back = np.flatnonzero(steps < 0)
    if wl[-1] < wl[0] or back.size > MAX_BACKWARD_STEPS * steps.size:
        i = int(back[0])
        raise InputError(
            f"{what} are not increasing ({back.size} of {steps.size} steps go down, e.g. band {i + 1} at "
            f"{wl[i]:g} nm then band {i + 2} at {wl[i + 1]:g} nm); list them from short to long "
            "wavelengths in the order of the cube's bands"
        )


def srf_matrix(
    response: SensorResponse,
    hsi_wavelengths_nm: Sequence[float] | np.ndarray,
    *,
    support_threshold: float = 0.05,
    normalise: bool = True,
) -> np.ndarray:
    """Sample a sensor's responses at the HSI band centres: the ``(C, c)`` SRF matrix.

    Each band's response is linearly interpolated at the HSI band centres (0 outside the tabulated
    range; negative noise clipped to 0). Entries below ``support_threshold`` times the band's peak
    response (the peak of its full table, not of the sampled values) are set to 0, so a band only
    keeps the HSI bands in its support. With ``normalise`` every column then sums to 1, which is the
    Wald-protocol convention ``HR-MSI = HR-HSI @ R``. A warning is issued when the HSI range cuts off
    more than half of a band's response.

    Args:
        response: Sensor response (already restricted to the wanted bands, see :func:`select_bands`).
        hsi_wavelengths_nm: HSI band centres, shape ``(C,)``, in nm.
        support_threshold: Fraction of each band's peak below which a sample is zeroed, in [0, 1).
        normalise: Whether to scale each column to sum 1.

    Returns:
        float64 array of shape ``(C, c)``, non-negative.

    Raises:
        ValueError: For invalid wavelengths or threshold, or if a band has no HSI band in its
            support; the message names the bands, the HSI range and the ``bands=`` to use instead.
    """
    wl = _check_hsi_wavelengths(hsi_wavelengths_nm)
    if not 0.0 <= float(support_threshold) < 1.0:
        raise InputError(f"support_threshold must be in [0, 1), got {support_threshold}")
    table_wl = response.wavelengths_nm
    table = np.clip(response.responses, 0.0, None)
    peaks = table.max(axis=0)
    srf = np.zeros((wl.size, response.n_bands), dtype=np.float64)
    for j in range(response.n_bands):
        srf[:, j] = np.interp(wl, table_wl, table[:, j], left=0.0, right=0.0)
    srf[srf < support_threshold * peaks[None, :]] = 0.0

    empty = [response.band_names[j] for j in range(response.n_bands) if not np.any(srf[:, j] > 0)]
    if empty:
        keep = [b for b in response.band_names if b not in empty]
        hint = f"drop them with bands={keep}" if keep else "no band of this sensor overlaps the HSI"
        raise InputError(
            f"{response.name}: band(s) {empty} have no HSI band within their support (response >= "
            f"{support_threshold:g} x peak); HSI wavelengths span {wl.min():g}-{wl.max():g} nm "
            f"({wl.size} bands); {hint}"
        )

    # Warn when the HSI range truncates a band (its response mass outside [min, max] of the HSI grid).
    lo, hi = wl.min(), wl.max()
    total = np.trapezoid(table, table_wl, axis=0)
    inside = (table_wl >= lo) & (table_wl <= hi)
    if np.count_nonzero(inside) >= 2:
        covered = np.trapezoid(table[inside], table_wl[inside], axis=0)
    else:
        covered = np.zeros_like(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, covered / total, 1.0)
    cut = [f"{response.band_names[j]} ({100 * frac[j]:.0f}%)" for j in np.flatnonzero(frac < 0.5)]
    if cut:
        warnings.warn(
            f"{response.name}: the HSI range {lo:g}-{hi:g} nm covers less than half of the response "
            f"of {', '.join(cut)}; the simulated band will be biased",
            stacklevel=2,
        )

    if normalise:
        srf /= srf.sum(axis=0, keepdims=True)
    return srf


def band_support(srf: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Which HSI bands each MSI band sees.

    Args:
        srf: SRF matrix, shape ``(C, c)``.
        threshold: Fraction of each column's maximum.

    Returns:
        Boolean array of shape ``(C, c)``: ``srf[:, j] >= threshold * max(srf[:, j])`` and ``> 0``.

    Raises:
        ValueError: If ``srf`` is not 2-D.
    """
    r = np.asarray(srf, dtype=np.float64)
    if r.ndim != 2:
        raise InputError(f"band_support: srf must have shape (C, c), got {r.shape}")
    peak = r.max(axis=0, keepdims=True)
    return (r >= threshold * peak) & (r > 0)


# --------------------------------------------------------------------------------------------------
# One entry point for the command line
# --------------------------------------------------------------------------------------------------
def _validate_matrix(m: np.ndarray, what: str) -> np.ndarray:
    a = np.array(m, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"{what}: an SRF matrix must have shape (bands_HSI, bands_MSI), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what}: the SRF matrix contains NaN or inf")
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    if np.any(a < -1e-9 * scale):
        raise InputError(
            f"{what}: the SRF matrix has negative entries (min {a.min():g}); responses must be >= 0"
        )
    a = np.clip(a, 0.0, None)
    zero_cols = np.flatnonzero(~np.any(a > 0, axis=0))
    if zero_cols.size:
        raise InputError(
            f"{what}: SRF column(s) {zero_cols.tolist()} are all zero (of {a.shape[1]}); every MSI "
            "band needs some response"
        )
    return a


_INDEX_HEADER = re.compile(r"(index|^idx|^band$|^bands?_?(no|nr|num|id)|^id$|^#|^no$|^n$)", re.I)
_WAVELENGTH_HEADER = re.compile(r"(wave|^wl|lambda|^nm$|_nm$|^um$|_um$|micron)", re.I)


def _looks_like_wavelengths(col: np.ndarray) -> bool:
    lo, hi = _WAVELENGTH_RANGE_NM
    return (
        col.size >= 2
        and bool(np.all(np.diff(col) > 0))
        and float(col.min()) >= lo
        and float(col.max()) <= hi
    )


def _is_index_column(col: np.ndarray) -> bool:
    n = col.size
    return bool(
        np.array_equal(col, np.arange(1, n + 1)) or np.array_equal(col, np.arange(0, n))
    )


def _srf_from_csv(
    path: Path,
    hsi_wavelengths_nm: np.ndarray | None,
    bands: Sequence[str] | None,
    support_threshold: float,
) -> np.ndarray:
    header, data = _read_table(path)
    first = data[:, 0]
    first_name = header[0] if header else ""
    wavelength_header = header is None or bool(_WAVELENGTH_HEADER.search(first_name))
    if data.shape[1] >= 2 and wavelength_header and _looks_like_wavelengths(first):
        # A sensor response table: resample on the HSI grid.
        if hsi_wavelengths_nm is None:
            raise InputError(
                f"{path} is a spectral response table (first column {first_name or 'values'} = "
                f"{first[0]:g}-{first[-1]:g} nm); pass the HSI band wavelengths (e.g. "
                "--wavelengths START:STOP or a file) to sample it on the HSI grid"
            )
        if header is None:
            resp = SensorResponse(
                path.stem, tuple(f"B{j}" for j in range(1, data.shape[1])), first, data[:, 1:]
            )
        else:
            resp = load_response_csv(path)
        resp = select_bands(resp, bands)
        return srf_matrix(resp, hsi_wavelengths_nm, support_threshold=support_threshold)

    # A ready (C, c) matrix, maybe with a header and an index / wavelength first column.
    names = list(header) if header else None
    named_index = header is not None and bool(
        _INDEX_HEADER.search(first_name) or _WAVELENGTH_HEADER.search(first_name)
    )
    drop_first = data.shape[1] >= 2 and (
        named_index
        or _is_index_column(first)
        or _looks_like_wavelengths(first)
    )
    if drop_first:
        data = data[:, 1:]
        names = names[1:] if names else None
    what = str(path)
    if bands is not None:
        if names is None:
            raise InputError(
                f"{path}: bands={list(bands)} given but the matrix has no header row with band names"
            )
        sub = select_bands(
            SensorResponse(path.stem, tuple(names), np.arange(data.shape[0], dtype=float), data),
            bands,
        )
        data = np.asarray(sub.responses)
    mat = _validate_matrix(data, what)
    if hsi_wavelengths_nm is not None and mat.shape[0] != hsi_wavelengths_nm.size:
        raise InputError(
            f"{path}: the SRF matrix has {mat.shape[0]} rows but the HSI has "
            f"{hsi_wavelengths_nm.size} bands"
        )
    return mat


def load_srf(
    spec: np.ndarray | PathLike,
    hsi_wavelengths_nm: Sequence[float] | np.ndarray | None = None,
    bands: Sequence[str] | None = None,
    support_threshold: float = 0.05,
) -> np.ndarray:
    """Get an SRF matrix ``(C, c)`` from whatever the user gave.

    ``spec`` may be:

    * a numpy array ``(C, c)``: validated and returned as float64;
    * a ``.npy`` file holding such a matrix;
    * a ``.csv`` (or text) file. If its first header column is a wavelength column (``wavelength_nm``,
      ``wl``, ``lambda`` ...; or there is no header) and its first column holds strictly increasing
      values within 250-2700 nm, it is a sensor response table (like ``srf/sensors/*.csv``): bands are
      chosen with :func:`select_bands` and sampled with :func:`srf_matrix` (support cut, columns
      normalised to 1), which needs ``hsi_wavelengths_nm``. Note that a matrix tabulated on a
      wavelength grid (``nikon_d700_cave31_31x3.csv``) is therefore treated as a response table.
      Otherwise it is a ready ``(C, c)`` matrix with an optional header row; a first column that is an
      index (header containing ``index``/``band``, or values 1..C / 0..C-1) is dropped
      (``srf/hsi_grid/*.csv``);
    * a sensor name for :func:`sensor_response` (needs ``hsi_wavelengths_nm``).

    Ready matrices are returned as given: their columns are *not* renormalised.

    Args:
        spec: Matrix, file path, or sensor name.
        hsi_wavelengths_nm: HSI band centres, shape ``(C,)``, in nm. Needed for response tables and
            sensor names; for ready matrices it is used to check the row count.
        bands: MSI bands to keep, by name (see :func:`select_bands`); default drops panchromatic bands.
            For a ready matrix it needs a header row with band names.
        support_threshold: See :func:`srf_matrix`.

    Returns:
        float64 array of shape ``(C, c)``, non-negative, no all-zero column.

    Raises:
        FileNotFoundError: If ``spec`` names a ``.csv``/``.npy`` file that does not exist.
        ValueError: If the matrix is invalid, wavelengths are needed but missing, or ``spec`` is
            neither an existing file nor a known sensor (listing the known sensors).
    """
    wl = None if hsi_wavelengths_nm is None else _check_hsi_wavelengths(hsi_wavelengths_nm)

    if isinstance(spec, np.ndarray):
        if bands is not None:
            raise InputError("bands= cannot select from a bare matrix (no band names)")
        mat = _validate_matrix(spec, "SRF matrix")
        if wl is not None and mat.shape[0] != wl.size:
            raise InputError(
                f"the SRF matrix has {mat.shape[0]} rows but the HSI has {wl.size} bands"
            )
        return mat

    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(
            f"load_srf: spec must be an array, a path or a sensor name, got {type(spec).__name__}"
        )
    path = Path(spec)
    suffix = path.suffix.lower()
    if path.is_file():
        if suffix == ".npy":
            if bands is not None:
                raise InputError(f"{path}: bands= cannot select from a .npy matrix (no band names)")
            mat = _validate_matrix(np.load(path, allow_pickle=False), str(path))
            if wl is not None and mat.shape[0] != wl.size:
                raise InputError(
                    f"{path}: the SRF matrix has {mat.shape[0]} rows but the HSI has {wl.size} bands"
                )
            return mat
        return _srf_from_csv(path, wl, bands, support_threshold)
    if suffix in {".csv", ".npy", ".txt", ".tsv"}:
        raise FileNotFoundError(f"SRF file not found: {path}")

    name = str(spec)
    if not _canonical_sensor(name):
        raise InputError(
            f"SRF {name!r} is neither an existing .csv/.npy file nor a known sensor; "
            f"{_known_sensors_text()}"
        )
    if wl is None:
        raise InputError(
            f"SRF from sensor {name!r} needs the HSI band wavelengths in nm "
            "(e.g. --wavelengths START:STOP or a file)"
        )
    resp = select_bands(sensor_response(name), bands)
    return srf_matrix(resp, wl, support_threshold=support_threshold)


def parse_wavelengths(spec: str | os.PathLike[str], n_bands: int) -> np.ndarray:
    """HSI band centres from a ``"start:stop"`` range or a file.

    Args:
        spec: ``"start:stop"`` in nm -> ``n_bands`` evenly spaced values from start to stop inclusive
            (``np.linspace``); or a path to a CSV/text file with one wavelength per row (the last
            numeric column is used when there are several, header lines are skipped), or a ``.npy``
            file with a 1-D array.
        n_bands: Number of HSI bands expected.

    Returns:
        float64 array of shape ``(n_bands,)`` in nm.

    Raises:
        FileNotFoundError: If ``spec`` is not a range and no such file exists.
        ValueError: If the range is malformed or the number of wavelengths differs from ``n_bands``
            (the message gives both numbers).
    """
    if int(n_bands) < 1:
        raise InputError(f"n_bands must be >= 1, got {n_bands}")
    n = int(n_bands)
    text = os.fspath(spec).strip()
    m = re.fullmatch(r"\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*:\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*", text)
    if m:
        try:
            start, stop = float(m.group(1)), float(m.group(2))
        except ValueError:
            raise InputError(
                f"cannot read wavelength range {text!r}: expected 'START:STOP' in nm, e.g. 430:860"
            ) from None
        if not (math.isfinite(start) and math.isfinite(stop)) or start <= 0 or stop <= 0:
            raise InputError(f"wavelength range {text!r}: start and stop must be positive nm")
        if n > 1 and stop <= start:
            raise InputError(
                f"wavelength range {text!r}: wavelengths must increase, so START must be below STOP (e.g. 430:860)"
            )
        return np.linspace(start, stop, n)
    path = Path(text)
    if not path.is_file():
        if ":" in text and not os.path.splitdrive(text)[0]:
            raise InputError(
                f"cannot read wavelengths {text!r}: expected 'START:STOP' in nm (e.g. 430:860) or a "
                "path to a file with one wavelength per row"
            )
        raise FileNotFoundError(
            f"wavelength file not found: {path} (or give a range 'START:STOP' in nm, e.g. 430:860)"
        )
    if path.suffix.lower() == ".npy":
        try:
            values = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64).reshape(-1)
        except (ValueError, OSError, EOFError, TypeError) as exc:
            raise InputError(f"cannot read wavelengths from {path}: {' '.join(str(exc).split())}") from None
    else:
        try:
            _, data = _read_table(path)
        except ValueError as exc:
            raise InputError(f"cannot read wavelengths: {exc}; expected one wavelength per row") from None
        values = data[:, -1]
    if values.size != n:
        raise InputError(
            f"{path} gives {values.size} wavelengths but the HSI has {n} bands"
        )
    if not np.all(np.isfinite(values)):
        raise InputError(f"{path}: wavelengths contain NaN or inf")
    check_increasing_wavelengths(values, f"{path}: wavelengths")
    return values.astype(np.float64)
