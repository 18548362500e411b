"""The Wald simulation's inputs (:func:`pfs2c2.simulation.simulate`): a reference large enough for the
ratio and an SRF that makes an MSI with fewer bands."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["check_psf_widths", "check_reference_size", "check_srf_reduces_bands"]


def check_reference_size(h: int, w: int, ratio: int) -> None:
    """Refuse an ``h x w`` reference (after cropping to the ratio) smaller than ``ratio`` on an axis."""
    if h < ratio or w < ratio:
        raise InputError(f"reference of size {h}x{w} is smaller than the ratio {ratio}")


def check_srf_reduces_bands(srf: np.ndarray) -> None:
    """Refuse a ``(C, c)`` SRF with ``c >= C``: the simulated MSI needs fewer bands than the HSI."""
    if srf.shape[1] >= srf.shape[0]:
        raise InputError(
            f"the SRF maps {srf.shape[0]} HSI bands to {srf.shape[1]} MSI bands; the MSI needs fewer bands"
        )


def check_psf_widths(*fwhm: float) -> None:
    """Refuse a PSF family's width (FWHM, HR pixels) that is not positive and finite."""
    bad = [w for w in fwhm if not (np.isfinite(w) and w > 0)]
    if bad:
        raise InputError(f"PSF FWHM must be a positive number of HR pixels, got {bad[0]}; pass e.g. fwhm=ratio")
