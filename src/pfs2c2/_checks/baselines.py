"""The classical methods' inputs (:mod:`pfs2c2.baselines`): the ratio argument, finite images, and each
method's settings."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .ratio import ratio_from_shapes

__all__ = [
    "baseline_ratio",
    "check_finite_images",
    "check_subspace_settings",
    "check_injection",
    "check_unmixing_settings",
    "check_psf_estimation_settings",
    "check_local_regression_settings",
]


def baseline_ratio(h: int, w: int, H: int, W: int, ratio: Any) -> int:
    """:func:`ratio_from_shapes` for a baseline's ``ratio`` argument (its messages say ``ratio=``, not the
    CLI flag ``--ratio``)."""
    try:
        return ratio_from_shapes(h, w, H, W, ratio)
    except InputError as exc:
        raise InputError(str(exc).replace("--ratio ", "ratio=")) from None


def check_finite_images(y: np.ndarray, z: np.ndarray) -> None:
    """Refuse an LR-HSI ``y`` or HR-MSI ``z`` with NaN or Inf."""
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(z))):
        raise InputError("lr_hsi or hr_msi contains NaN or inf; fill or crop the invalid pixels before fusing")


def check_subspace_settings(subspace_dim: int, iterations: int, mu: float, lambda_m: float, lambda_phi: float) -> None:
    """Refuse HySure settings: ``subspace_dim``/``iterations`` < 1, ``mu <= 0``, a negative weight."""
    if subspace_dim < 1 or iterations < 1 or not (mu > 0 and lambda_m >= 0 and lambda_phi >= 0):
        raise InputError("subspace_dim and iterations must be positive, mu > 0, lambda_m and lambda_phi >= 0")


def check_injection(injection: str) -> None:
    """Refuse an injection scheme of the multiresolution methods other than ``"hpm"`` / ``"regression"``."""
    if injection not in ("hpm", "regression"):
        raise InputError(f"injection must be 'hpm' or 'regression', got {injection!r}")


def check_unmixing_settings(n_endmembers: int, outer_iterations: int, inner_iterations: int) -> None:
    """Refuse CNMF settings below 1."""
    if n_endmembers < 1 or outer_iterations < 1 or inner_iterations < 1:
        raise InputError("n_endmembers, outer_iterations and inner_iterations must be positive")


def check_psf_estimation_settings(size: int, ratio: int, iterations: int, smoothness: float) -> None:
    """Refuse a PSF-estimate side that cannot be centred on an LR pixel, ``iterations < 1`` or a negative
    smoothness weight (:func:`pfs2c2.baselines.estimate_psf`)."""
    if size < ratio or (size - ratio) % 2:
        raise InputError(f"size {size} must be >= the ratio {ratio} and differ from it by an even number")
    if iterations < 1 or not smoothness >= 0:
        raise InputError("iterations must be positive and smoothness >= 0")


def check_local_regression_settings(window: int, stride: int, ridge: float) -> None:
    """Refuse a local-regression window or stride below 1, a stride above the window, or a negative ridge."""
    if window < 1 or stride < 1 or stride > window or not ridge >= 0:
        raise InputError(
            f"need window >= stride >= 1 and ridge >= 0, got window={window}, stride={stride}, ridge={ridge}"
        )
