"""Spectral responses and SRF requests (:mod:`pfs2c2.sensors`): response tables, Gaussian bands, band
selections, the support threshold, and what :func:`pfs2c2.sensors.load_srf` needs.

Reading tables and looking names up stays in :mod:`pfs2c2.sensors`; the refusals of the values are here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "check_n_bands",
    "check_wavelength_range",
    "check_wavelength_count",
    "check_sensor_response",
    "check_gaussian_bands",
    "check_gaussian_names",
    "check_default_bands",
    "check_band_selection",
    "check_support_threshold",
    "check_band_coverage",
    "check_srf_spec",
    "check_no_band_selection",
    "check_srf_row_count",
    "check_wavelengths_given",
    "check_file_found",
]


def check_n_bands(n_bands: Any) -> None:
    """Refuse a number of bands below 1 (``"n_bands must be >= 1, got ..."``)."""
    if int(n_bands) < 1:
        raise InputError(f"n_bands must be >= 1, got {n_bands}")


def check_wavelength_range(start: float, stop: float, n_bands: int, text: str) -> None:
    """Refuse a ``"START:STOP"`` range (nm, ``text`` as given) with a non-positive or non-finite end, or
    (for more than one band) ``STOP <= START``."""
    if not (math.isfinite(start) and math.isfinite(stop)) or start <= 0 or stop <= 0:
        raise InputError(f"wavelength range {text!r}: start and stop must be positive nm")
    if n_bands > 1 and stop <= start:
        raise InputError(
            f"wavelength range {text!r}: wavelengths must increase, so START must be below STOP (e.g. 430:860)"
        )


def check_wavelength_count(values: np.ndarray, n_bands: int, source: object) -> None:
    """Refuse band centres read from ``source`` (a file) that are not ``n_bands`` finite values."""
    if values.size != n_bands:
        raise InputError(f"{source} gives {values.size} wavelengths but the HSI has {n_bands} bands")
    if not np.all(np.isfinite(values)):
        raise InputError(f"{source}: wavelengths contain NaN or inf")


def check_sensor_response(name: str, band_names: Sequence[str], wl: np.ndarray, resp: np.ndarray) -> None:
    """Refuse the fields of a :class:`~pfs2c2.sensors.SensorResponse` ``name``: ``resp`` not
    ``(N, n_bands)`` for the ``N`` wavelengths ``wl``, a band-name count or duplicate, fewer than 2 or
    non-increasing wavelengths, NaN / Inf responses."""
    names = tuple(band_names)
    if resp.ndim != 2 or resp.shape[0] != wl.shape[0]:
        raise InputError(
            f"SensorResponse {name!r}: responses must have shape (N, n_bands) with N = "
            f"{wl.shape[0]} wavelengths, got {resp.shape}"
        )
    if len(names) != resp.shape[1]:
        raise InputError(f"SensorResponse {name!r}: {len(names)} band names for {resp.shape[1]} response columns")
    if len(set(names)) != len(names):
        raise InputError(f"SensorResponse {name!r}: duplicate band names in {list(names)}")
    if wl.shape[0] < 2 or not np.all(np.isfinite(wl)) or np.any(np.diff(wl) <= 0):
        raise InputError(
            f"SensorResponse {name!r}: wavelengths must be at least 2 finite, strictly increasing values in nm"
        )
    if not np.all(np.isfinite(resp)):
        raise InputError(f"SensorResponse {name!r}: responses contain NaN or inf")


def check_gaussian_bands(centres: np.ndarray, fwhms: np.ndarray) -> None:
    """Refuse Gaussian bands: centres and FWHMs (nm, 1-D) of different counts, none, not finite, a FWHM <= 0."""
    if centres.shape != fwhms.shape:
        raise InputError(f"gaussian_response: {centres.size} centres but {fwhms.size} FWHMs; give one FWHM per band")
    if centres.size == 0:
        raise InputError("gaussian_response: give at least one band centre")
    if not (np.all(np.isfinite(centres)) and np.all(np.isfinite(fwhms))):
        raise InputError("gaussian_response: centres and FWHMs must be finite numbers in nm")
    if np.any(fwhms <= 0):
        raise InputError(f"gaussian_response: FWHMs must be > 0 nm, got {fwhms.tolist()}")


def check_gaussian_names(names: Sequence[str], n_centres: int) -> None:
    """Refuse a number of Gaussian band names that differs from the number of centres."""
    if len(names) != n_centres:
        raise InputError(f"gaussian_response: {len(names)} band names for {n_centres} band centres")


def check_default_bands(sensor: str, indices: Sequence[int], names: Sequence[str]) -> None:
    """Refuse a default band selection (panchromatic bands dropped) that keeps no band."""
    if not indices:
        raise InputError(f"{sensor}: every band is panchromatic ({list(names)}); pass bands= explicitly")


def check_band_selection(sensor: str, bands: Sequence[str], found: Sequence[int | None], names: Sequence[str]) -> None:
    """Refuse a band selection: empty, a name that matched no band (``found[k]`` None) or one selected twice.

    Args:
        sensor: the response's name, for the messages.
        bands: the requested names, in order.
        found: the band index each name matched (None: unknown or ambiguous).
        names: every band of the sensor (listed in the messages).
    """
    available = list(names)
    if len(bands) == 0:
        raise InputError(f"{sensor}: empty band selection; available bands: {available}")
    seen: list[int] = []
    for b, i in zip(bands, found):
        if i is None:
            raise InputError(f"{sensor}: unknown or ambiguous band {b!r}; available bands: {available}")
        if i in seen:
            raise InputError(f"{sensor}: band {available[i]!r} selected twice")
        seen.append(i)


def check_support_threshold(support_threshold: float) -> None:
    """Refuse an SRF support threshold (fraction of a band's peak) outside ``[0, 1)``."""
    if not 0.0 <= float(support_threshold) < 1.0:
        raise InputError(f"support_threshold must be in [0, 1), got {support_threshold}")


def check_band_coverage(
    sensor: str, band_names: Sequence[str], srf: np.ndarray, support_threshold: float, wl: np.ndarray
) -> None:
    """Refuse a sampled ``(C, c)`` SRF with a band (column) that no HSI band (at ``wl``, nm) falls in.

    The message names the bands, the HSI range and the ``bands=`` to use instead.
    """
    empty = [band_names[j] for j in range(len(band_names)) if not np.any(srf[:, j] > 0)]
    if empty:
        keep = [b for b in band_names if b not in empty]
        hint = f"drop them with bands={keep}" if keep else "no band of this sensor overlaps the HSI"
        raise InputError(
            f"{sensor}: band(s) {empty} have no HSI band within their support (response >= "
            f"{support_threshold:g} x peak); HSI wavelengths span {wl.min():g}-{wl.max():g} nm "
            f"({wl.size} bands); {hint}"
        )


def check_srf_spec(spec: object) -> None:
    """Refuse an SRF spec that is neither an array, a path nor a name (a ``TypeError``, as always)."""
    if not isinstance(spec, (np.ndarray, str, os.PathLike)):
        raise TypeError(f"load_srf: spec must be an array, a path or a sensor name, got {type(spec).__name__}")


def check_no_band_selection(bands: Sequence[str] | None, what: str) -> None:
    """Refuse ``bands=`` for a matrix without band names; ``what`` is its message (e.g.
    ``"bands= cannot select from a bare matrix (no band names)"``)."""
    if bands is not None:
        raise InputError(what)


def check_srf_row_count(srf_rows: int, wavelengths: np.ndarray | None, prefix: str = "") -> None:
    """Refuse a ready SRF matrix whose rows are not the HSI bands (when the wavelengths are known).

    ``prefix`` (e.g. ``"file.csv: "``) starts the message.
    """
    if wavelengths is not None and srf_rows != wavelengths.size:
        raise InputError(f"{prefix}the SRF matrix has {srf_rows} rows but the HSI has {wavelengths.size} bands")


def check_wavelengths_given(wavelengths: np.ndarray | None, message: str) -> None:
    """Refuse a missing HSI wavelength list where an SRF must be sampled on it (``message`` says which)."""
    if wavelengths is None:
        raise InputError(message)


def check_file_found(path: Path, message: str) -> None:
    """Refuse an input file (a wavelength list, a response table, an SRF) that does not exist: a
    ``FileNotFoundError`` with ``message``."""
    if not path.is_file():
        raise FileNotFoundError(message)
