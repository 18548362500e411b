"""HSI band centres (nm): refuse impossible ones (reading them stays in :mod:`pfs2c2.sensors`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError

__all__ = ["MAX_BACKWARD_STEPS", "check_hsi_wavelengths", "check_increasing_wavelengths"]

#: Fraction of band-to-band steps allowed to go backwards (spectrometer overlaps, e.g. AVIRIS, EnMAP).
MAX_BACKWARD_STEPS = 0.1


def check_hsi_wavelengths(hsi_wavelengths_nm: Sequence[float] | np.ndarray) -> np.ndarray:
    """HSI band centres as float64 ``(C,)``: 1-D, finite, positive, in nm (not micrometres), increasing.

    Raises:
        InputError: one line naming the problem.
    """
    wl = np.asarray(hsi_wavelengths_nm, dtype=np.float64)
    if wl.ndim != 1 or wl.size == 0:
        raise InputError(f"HSI wavelengths must be a 1-D array of band centres in nm, got shape {wl.shape}")
    if not np.all(np.isfinite(wl)) or np.any(wl <= 0):
        raise InputError("HSI wavelengths must be finite and positive (nm)")
    if np.max(wl) < 30.0:
        raise InputError(
            f"HSI wavelengths look like micrometres (max {np.max(wl):g}); give them in nm (multiply by 1000)"
        )
    check_increasing_wavelengths(wl, "HSI wavelengths")
    return wl


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
