"""SRF matrices ``(C, c)`` on the HSI band grid: band selection, sampling, support, and :func:`load_srf`.

:func:`select_bands` picks bands by name, :func:`srf_matrix` samples the responses at the HSI band
centres, cuts each band to its support and normalises the columns, and :func:`band_support` tells which
HSI bands each MSI band sees. :func:`load_srf` is the single entry point for the command line (a matrix,
a ``.npy``/``.csv`` file, or a sensor name).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._checks import (
    check_band_coverage,
    check_band_selection,
    check_default_bands,
    check_file_found,
    check_hsi_wavelengths,
    check_ndim,
    check_no_band_selection,
    check_srf_matrix,
    check_srf_row_count,
    check_srf_spec,
    check_support_threshold,
    check_wavelengths_given,
)
from ..errors import InputError
from .response import (
    PathLike,
    SensorResponse,
    _canonical_sensor,
    _known_sensors_text,
    load_response_csv,
    sensor_response,
)
from .tables import read_table

__all__ = ["band_support", "load_srf", "select_bands", "srf_matrix"]

# Plausible range of band-centre wavelengths (nm) for optical sensors, used to tell a wavelength column
# from an index column and nanometres from micrometres.
_WAVELENGTH_RANGE_NM = (250.0, 2700.0)


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
        check_default_bands(response.name, idx, names)
    else:
        if isinstance(bands, str):
            bands = [b for b in re.split(r"[,\s]+", bands) if b]
        found = [_match_band(str(b), names) for b in bands]
        check_band_selection(response.name, bands, found, names)
        idx = [i for i in found if i is not None]
    return SensorResponse(
        response.name,
        tuple(names[i] for i in idx),
        response.wavelengths_nm,
        response.responses[:, idx],
    )


# --------------------------------------------------------------------------------------------------
# Responses -> matrix on the HSI grid
# --------------------------------------------------------------------------------------------------
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
    wl = check_hsi_wavelengths(hsi_wavelengths_nm)
    check_support_threshold(support_threshold)
    table_wl = response.wavelengths_nm
    table = np.clip(response.responses, 0.0, None)
    peaks = table.max(axis=0)
    srf = np.zeros((wl.size, response.n_bands), dtype=np.float64)
    for j in range(response.n_bands):
        srf[:, j] = np.interp(wl, table_wl, table[:, j], left=0.0, right=0.0)
    srf[srf < support_threshold * peaks[None, :]] = 0.0

    check_band_coverage(response.name, response.band_names, srf, support_threshold, wl)

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
    check_ndim(r, 2, "band_support: srf must have shape (C, c), got {shape}")
    peak = r.max(axis=0, keepdims=True)
    return (r >= threshold * peak) & (r > 0)


# --------------------------------------------------------------------------------------------------
# One entry point for the command line
# --------------------------------------------------------------------------------------------------
_INDEX_HEADER = re.compile(r"(index|^idx|^band$|^bands?_?(no|nr|num|id)|^id$|^#|^no$|^n$)", re.I)
_WAVELENGTH_HEADER = re.compile(r"(wave|^wl|lambda|^nm$|_nm$|^um$|_um$|micron)", re.I)


def _looks_like_wavelengths(col: np.ndarray) -> bool:
    lo, hi = _WAVELENGTH_RANGE_NM
    return col.size >= 2 and bool(np.all(np.diff(col) > 0)) and float(col.min()) >= lo and float(col.max()) <= hi


def _is_index_column(col: np.ndarray) -> bool:
    n = col.size
    return bool(np.array_equal(col, np.arange(1, n + 1)) or np.array_equal(col, np.arange(0, n)))


def _srf_from_csv(
    path: Path,
    hsi_wavelengths_nm: np.ndarray | None,
    bands: Sequence[str] | None,
    support_threshold: float,
) -> np.ndarray:
    header, data = read_table(path)
    first = data[:, 0]
    first_name = header[0] if header else ""
    wavelength_header = header is None or bool(_WAVELENGTH_HEADER.search(first_name))
    if data.shape[1] >= 2 and wavelength_header and _looks_like_wavelengths(first):
        # A sensor response table: resample on the HSI grid.
        check_wavelengths_given(
            hsi_wavelengths_nm,
            f"{path} is a spectral response table (first column {first_name or 'values'} = "
            f"{first[0]:g}-{first[-1]:g} nm); pass the HSI band wavelengths (e.g. "
            "--wavelengths START:STOP or a file) to sample it on the HSI grid",
        )
        assert hsi_wavelengths_nm is not None
        if header is None:
            resp = SensorResponse(path.stem, tuple(f"B{j}" for j in range(1, data.shape[1])), first, data[:, 1:])
        else:
            resp = load_response_csv(path)
        resp = select_bands(resp, bands)
        return srf_matrix(resp, hsi_wavelengths_nm, support_threshold=support_threshold)

    # A ready (C, c) matrix, maybe with a header and an index / wavelength first column.
    names = list(header) if header else None
    named_index = header is not None and bool(_INDEX_HEADER.search(first_name) or _WAVELENGTH_HEADER.search(first_name))
    drop_first = data.shape[1] >= 2 and (named_index or _is_index_column(first) or _looks_like_wavelengths(first))
    if drop_first:
        data = data[:, 1:]
        names = names[1:] if names else None
    what = str(path)
    if bands is not None:
        if names is None:
            check_no_band_selection(
                bands, f"{path}: bands={list(bands)} given but the matrix has no header row with band names"
            )
        assert names is not None  # check_no_band_selection raised otherwise
        sub = select_bands(
            SensorResponse(path.stem, tuple(names), np.arange(data.shape[0], dtype=float), data),
            bands,
        )
        data = np.asarray(sub.responses)
    mat = check_srf_matrix(data, what)
    check_srf_row_count(mat.shape[0], hsi_wavelengths_nm, f"{path}: ")
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
    wl = None if hsi_wavelengths_nm is None else check_hsi_wavelengths(hsi_wavelengths_nm)

    if isinstance(spec, np.ndarray):
        check_no_band_selection(bands, "bands= cannot select from a bare matrix (no band names)")
        mat = check_srf_matrix(spec, "SRF matrix")
        check_srf_row_count(mat.shape[0], wl)
        return mat

    check_srf_spec(spec)
    path = Path(spec)
    suffix = path.suffix.lower()
    if path.is_file():
        if suffix == ".npy":
            check_no_band_selection(bands, f"{path}: bands= cannot select from a .npy matrix (no band names)")
            mat = check_srf_matrix(np.load(path, allow_pickle=False), str(path))
            check_srf_row_count(mat.shape[0], wl, f"{path}: ")
            return mat
        return _srf_from_csv(path, wl, bands, support_threshold)
    if suffix in {".csv", ".npy", ".txt", ".tsv"}:
        check_file_found(path, f"SRF file not found: {path}")

    name = str(spec)
    if not _canonical_sensor(name):
        raise InputError(
            f"SRF {name!r} is neither an existing .csv/.npy file nor a known sensor; {_known_sensors_text()}"
        )
    check_wavelengths_given(
        wl, f"SRF from sensor {name!r} needs the HSI band wavelengths in nm (e.g. --wavelengths START:STOP or a file)"
    )
    assert wl is not None
    resp = select_bands(sensor_response(name), bands)
    return srf_matrix(resp, wl, support_threshold=support_threshold)
