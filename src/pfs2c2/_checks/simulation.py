"""The Wald simulation's inputs (:func:`pfs2c2.simulation.simulate`): a reference large enough for the
ratio and an SRF that makes an MSI with fewer bands."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["check_reference_size", "check_srf_reduces_bands"]


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
