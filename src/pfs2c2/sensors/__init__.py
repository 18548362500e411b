"""Spectral response functions (SRF): where they come from and how they meet the HSI band grid.

A multispectral (MSI) sensor is described by its *relative spectral response*: for every band, the
response (peak ~1) as a function of wavelength in nanometres. Fusion needs it as a matrix ``R`` of shape
``(C, c)`` on the hyperspectral (HSI) band grid, so that ``HR-MSI = HR-HSI @ R``.

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

The package splits this into :mod:`~pfs2c2.sensors.catalog` (the published band tables, data only),
:mod:`~pfs2c2.sensors.response` (the response container and its sources), :mod:`~pfs2c2.sensors.srf`
(band selection, the matrix, its support and :func:`load_srf`) and :mod:`~pfs2c2.sensors.wavelengths`
(HSI band centres). All wavelengths are in nanometres (nm). Numpy only.
"""

from __future__ import annotations

from .._checks import MAX_BACKWARD_STEPS as MAX_BACKWARD_STEPS  # the old module offered these two
from .._checks import check_increasing_wavelengths as check_increasing_wavelengths
from .catalog import BAND_CENTRES, SENSOR_ALIASES
from .response import SensorResponse, available_sensors, gaussian_response, load_response_csv, sensor_response
from .srf import band_support, load_srf, select_bands, srf_matrix
from .wavelengths import parse_wavelengths

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
