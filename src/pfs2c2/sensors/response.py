"""Sensor responses: the :class:`SensorResponse` container and where responses come from.

* :func:`sensor_response` -- by name. Sentinel-2A/B and Landsat-8/9 use the measured responses that the
  ``pyrsr`` package ships in its wheel (offline); the other sensors in
  :data:`~pfs2c2.sensors.catalog.BAND_CENTRES` get Gaussian bands from their published centre and FWHM.
* :func:`load_response_csv` -- a measured table from a CSV file (wavelength column + one column per band).
* :func:`gaussian_response` -- Gaussian bands from any centres and FWHMs.

All wavelengths are in nanometres (nm).
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

from .._checks import check_file_found, check_gaussian_bands, check_gaussian_names, check_sensor_response
from ..errors import InputError
from .catalog import BAND_CENTRES, PYRSR_SENSORS, SENSOR_ALIASES
from .tables import read_table

__all__ = [
    "PathLike",
    "SensorResponse",
    "available_sensors",
    "gaussian_response",
    "load_response_csv",
    "sensor_response",
]

PathLike = Union[str, "os.PathLike[str]"]

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
        check_sensor_response(self.name, names, wl, resp)
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
    check_gaussian_bands(centres, fwhms)
    names = tuple(f"B{i + 1}" for i in range(centres.size)) if band_names is None else tuple(str(b) for b in band_names)
    check_gaussian_names(names, centres.size)
    resp = np.exp(-4.0 * math.log(2.0) * ((wl[:, None] - centres[None, :]) / fwhms[None, :]) ** 2)
    return SensorResponse("gaussian", names, wl, resp)


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
    check_file_found(p, f"spectral response file not found: {p}")
    try:
        header, data = read_table(p)
    except ValueError as exc:
        raise InputError(f"malformed spectral response CSV: {exc}; {_CSV_FORMAT_HINT}") from None
    if header is None:
        raise InputError(f"malformed spectral response CSV {p}: no header row with band names; {_CSV_FORMAT_HINT}")
    if data.shape[1] < 2:
        raise InputError(f"malformed spectral response CSV {p}: only {data.shape[1]} column; {_CSV_FORMAT_HINT}")
    if data.shape[0] < 2:
        raise InputError(f"malformed spectral response CSV {p}: only {data.shape[0]} data row; {_CSV_FORMAT_HINT}")
    if not np.all(np.isfinite(data)):
        raise InputError(f"malformed spectral response CSV {p}: NaN or inf values; {_CSV_FORMAT_HINT}")
    wl = data[:, 0]
    unit_tokens = set(re.split(r"[^a-zµ]+", header[0].lower()))
    if unit_tokens & {"um", "µm", "micron", "microns", "micrometer", "micrometers", "micrometre", "micrometres"}:
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
    return f"known sensors: {', '.join(sorted(BAND_CENTRES))} (aliases: {', '.join(sorted(SENSOR_ALIASES))})"


@functools.cache
def _pyrsr_response(canonical: str) -> SensorResponse:
    """Measured responses from pyrsr, band names as in :data:`BAND_CENTRES`."""
    import pyrsr  # lazy: pulls in pandas

    satellite, sensor = PYRSR_SENSORS[canonical]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rsr = pyrsr.RSR(satellite=satellite, sensor=sensor, wvl_unit="nanometers", specres_nm=1, no_thermal=True)
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
    if canonical in PYRSR_SENSORS:
        try:
            return _pyrsr_response(canonical)
        except ImportError as exc:  # pragma: no cover - pyrsr is a dependency
            warnings.warn(
                f"pyrsr not available ({exc}); using Gaussian bands for {canonical}",
                stacklevel=2,
            )
    return _gaussian_from_table(canonical)
