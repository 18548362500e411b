"""What a run reads: the grid-matched image pair, the configuration, the operators and their bands.

Every function takes what the command line takes (file specs, ``start:stop`` wavelength ranges,
comma-separated band names), so Python users resolve a run exactly as ``pfs2c2 fuse`` does.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._checks import PsfConvention, check_psf, check_sensor_srf_wavelengths, check_srf_spec_rows
from ..config import FusionConfig, RunOptions, read_config_file

if TYPE_CHECKING:
    from ..io import RasterMeta

Warn = Callable[[str], None]
"""Where a warning goes: called with one line (the CLI prints ``warning: LINE`` to stderr)."""


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


class InputPair(NamedTuple):
    """Both inputs of a run, cropped to their common footprint: ``(C, h, w)`` / ``(c, H, W)`` cubes."""

    hsi: np.ndarray
    hsi_meta: RasterMeta
    msi: np.ndarray
    msi_meta: RasterMeta
    ratio: int | None


def read_file_pair(
    hsi_spec: str | Path,
    msi_spec: str | Path,
    ratio: int | None = None,
    *,
    hsi_nodata: float | None = None,
    msi_nodata: float | None = None,
) -> InputPair:
    """Read two files (not products: see :func:`pfs2c2.runs.read_pair`); with georeferencing, check the grids nest and crop both to their overlap.

    Args:
        hsi_spec, msi_spec: file specs (``FILE``, ``FILE.mat:VAR``, ``FILE.h5:/dataset``).
        ratio: the spatial scale factor when known (checked against the grids), else inferred.
        hsi_nodata, msi_nodata: the user's nodata value for a file (e.g. 0 for a zero-filled border);
            it replaces the file's own in the returned metadata. None: the file's (if any).

    Returns:
        An :class:`InputPair`; ``ratio`` is the one the grids give (None if they do not say).
    """
    from ..io import match_grids, read_cube

    hsi, hsi_meta = read_cube(hsi_spec)
    msi, msi_meta = read_cube(msi_spec)
    grid = match_grids(hsi_meta, hsi.shape[1:], msi_meta, msi.shape[1:], ratio)
    if grid.hsi_window is not None:
        hsi, hsi_meta = read_cube(hsi_spec, window=grid.hsi_window)
    if grid.msi_window is not None:
        msi, msi_meta = read_cube(msi_spec, window=grid.msi_window)
    if hsi_nodata is not None:
        hsi_meta = hsi_meta.replace(nodata=float(hsi_nodata))
    if msi_nodata is not None:
        msi_meta = msi_meta.replace(nodata=float(msi_nodata))
    return InputPair(hsi, hsi_meta, msi, msi_meta, grid.ratio)


def load_settings(
    preset: str = "default",
    config_path: str | Path | None = None,
    *,
    seed: int | None = None,
    ensemble: int | None = None,
    device: str | None = None,
) -> tuple[FusionConfig, RunOptions]:
    """The preset, overlaid with a YAML file and the ``--seed/--ensemble/--device`` overrides.

    Config files may still hold the run options ``device`` and ``threads`` (older files did); they go
    to the :class:`RunOptions`, and ``device`` gives way to the ``device`` argument.
    """
    cfg = FusionConfig.preset_config(preset)
    run_keys: dict[str, Any] = {}
    if config_path:
        cfg, run_keys = read_config_file(config_path, base=cfg)
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=seed)
    if ensemble is not None:
        cfg = dataclasses.replace(cfg, ensemble=ensemble)
    if device is not None:
        run_keys["device"] = device
    return cfg, RunOptions(**run_keys)


def hsi_wavelengths(spec: str | None, from_file: Any, n_bands: int) -> np.ndarray | None:
    """HSI band centres in nm: from ``spec`` (CSV file or ``start:stop``), else the file's, else None."""
    from ..sensors import parse_wavelengths

    if spec:
        return parse_wavelengths(spec, n_bands)
    return None if from_file is None else np.asarray(from_file, dtype=np.float64)


def srf_from_spec(
    spec: str | None, wavelengths: np.ndarray | None, bands: str | None, hsi_bands: int
) -> np.ndarray | None:
    """The ``(C, c)`` SRF a spec names: a sensor (needs ``wavelengths``), a response CSV or a matrix file."""
    from ..sensors import load_srf

    if spec is None:
        return None
    band_list = [b.strip() for b in bands.split(",")] if bands else None
    check_sensor_srf_wavelengths(spec, wavelengths is not None)
    matrix = load_srf(spec, hsi_wavelengths_nm=wavelengths, bands=band_list)
    check_srf_spec_rows(spec, matrix.shape[0], hsi_bands)
    return matrix


def psf_from_spec(spec: str | None) -> np.ndarray | None:
    """The ``(k, k)`` PSF in a ``.npy``/``.csv`` file, or None."""
    if spec is None:
        return None
    from ..io import read_array

    return read_array(spec)


def support_from_metadata(
    wavelengths: np.ndarray | None, msi_meta: RasterMeta, warn: Warn | None = None
) -> np.ndarray | None:
    """Blind SRF support from the HSI wavelengths and the MSI band centres/FWHM in its metadata.

    Returns:
        A ``(C, c)`` matrix whose non-zero entries bound the learned SRF, or None (after a warning
        through ``warn``, default :func:`warnings.warn`) when something is missing.
    """
    from ..sensors import gaussian_response, srf_matrix

    centres, widths = msi_meta.wavelengths_nm, msi_meta.fwhm_nm
    if wavelengths is None or centres is None or widths is None:
        known = (
            ("HSI wavelengths (--wavelengths)", wavelengths),
            ("MSI band centres", centres),
            ("MSI band widths", widths),
        )
        missing = [n for n, v in known if v is None]
        (warn or _warn)(
            f"the learned SRF may use every HSI band (missing: {', '.join(missing)}); "
            "give --srf-support SENSOR_OR_CSV [--bands ...] with --wavelengths to bound it"
        )
        return None
    grid = np.arange(min(centres - 2 * widths).clip(1), max(centres + 2 * widths), 1.0)
    return srf_matrix(gaussian_response(centres, widths, grid), wavelengths)


@dataclass(frozen=True)
class Operators:
    """The operators of a run as :func:`pfs2c2.fuse` takes them, and the HSI wavelengths (nm)."""

    wavelengths: np.ndarray | None
    srf: np.ndarray | None
    srf_support: np.ndarray | None
    psf: np.ndarray | None


def resolve_operators(
    hsi_meta: RasterMeta | None,
    msi_meta: RasterMeta,
    hsi_bands: int,
    *,
    srf: str | None = None,
    srf_support: str | None = None,
    bands: str | None = None,
    wavelengths: str | None = None,
    psf: str | None = None,
    psf_convention: PsfConvention = "auto",
    ratio: int | None = None,
    warn: Warn | None = None,
) -> Operators:
    """Resolve the operator specs of a run (``--srf``, ``--srf-support``, ``--bands``, ``--wavelengths``, ``--psf``).

    Without a known SRF or a support, the support comes from the MSI metadata
    (:func:`support_from_metadata`). With the ``ratio``, a known PSF is read in ``psf_convention``
    (``--psf-convention``: "combined" = pfs2c2's blur + decimation kernel, "blur" = a blur applied
    before decimation, "auto" = combined when it can be one) and returned as the combined kernel.
    """
    from_file = hsi_meta.wavelengths_nm if hsi_meta is not None else None
    wl = hsi_wavelengths(wavelengths, from_file, hsi_bands)
    known = srf_from_spec(srf, wl, bands, hsi_bands)
    support = srf_from_spec(srf_support, wl, bands, hsi_bands)
    if known is None and support is None:
        support = support_from_metadata(wl, msi_meta, warn)
    kernel = psf_from_spec(psf)
    if kernel is not None and ratio is not None:
        kernel = check_psf(kernel, ratio, sum_to_one=True, convention=psf_convention)
    return Operators(wl, known, support, kernel)


def output_meta(hsi_meta: RasterMeta, msi_meta: RasterMeta | None, wavelengths: np.ndarray | None) -> RasterMeta:
    """Metadata of the fused cube: on the MSI grid with the HSI's bands, units and nodata (NaN if none)."""
    nodata = hsi_meta.nodata if hsi_meta.nodata is not None and np.isfinite(hsi_meta.nodata) else float("nan")
    return hsi_meta.with_grid(msi_meta).replace(wavelengths_nm=wavelengths, source=None, nodata=nodata)
