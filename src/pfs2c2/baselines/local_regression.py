"""Local (windowed) linear regression: affine MSI -> HSI maps fitted in overlapping LR windows, pulled
towards the global map, blended smoothly on the HR grid, plus the bicubic-upsampled LR residual."""

from __future__ import annotations

import numpy as np

from .._checks import check_local_regression_settings
from ..physics import blur_downsample
from .common import affine_fit, apply_affine, prepare, upsample
from .psf_estimation import estimate_psf

__all__ = ["local_linear_regression"]


def _starts(n: int, window: int, stride: int) -> list[int]:
    """Window starts along an axis of ``n`` LR pixels, the last one flush with the end."""
    if n <= window:
        return [0]
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] != n - window:
        starts.append(n - window)
    return starts


def _tent(length: int) -> np.ndarray:
    """A positive tent over ``length`` HR pixels, peak 1 at the centre (overlapping tents blend smoothly)."""
    u = np.arange(length) + 0.5
    return np.maximum(np.minimum(u, length - u) / (length / 2.0), 1e-3)


def _design(inputs: np.ndarray) -> np.ndarray:
    """``(n, p + 1)`` affine design matrix of ``(p, ...)`` regressor images."""
    a = inputs.reshape(inputs.shape[0], -1).T
    return np.concatenate([a, np.ones((a.shape[0], 1))], 1)


def _pulled_fit(
    inputs: np.ndarray, targets: np.ndarray, prior: np.ndarray, prior_gram: np.ndarray, ridge: float
) -> np.ndarray:
    """Affine least squares pulled towards the global map ``prior (p + 1, q)``:
    ``min ||A w - b||^2 + ridge n (w - prior)^T G (w - prior)`` with ``G`` the global design's mean
    ``a a^T`` per pixel, so the pull acts like ``ridge n`` pixels that follow the global map (the same in
    every direction of the regressors, however correlated they are)."""
    a = _design(inputs)
    b = targets.reshape(targets.shape[0], -1).T
    pull = ridge * a.shape[0] * prior_gram
    return np.linalg.solve(a.T @ a + pull, a.T @ b + pull @ prior)


def local_linear_regression(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
    *,
    window: int = 12,
    stride: int = 6,
    ridge: float = 0.05,
    psf_estimate: bool = True,
) -> np.ndarray:
    """Linear regression + residual with spatially varying maps (tiles gain from local maps).

    The LR grid is covered by ``window x window`` LR windows every ``stride`` pixels (the last flush with
    the edge). In each, an affine map from the PSF-degraded MSI to the LR-HSI is fitted by least squares
    with a pull towards the global map (as if ``ridge`` times the window's pixel count more pixels
    followed the global map; :func:`_pulled_fit`), applied to the HR-MSI over the window's HR footprint, and the window predictions are
    blended with tent weights (normalised). The result is ``spectral + bicubic(LR-HSI -
    PSF-degraded spectral)``, as in :func:`~pfs2c2.baselines.linear_regression_fusion`.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: used by the PSF estimate only (the maps are fitted from the data); validated when given.
        psf: PSF; default estimated from the data (:func:`~pfs2c2.baselines.estimate_psf`).
        window: window side in LR pixels.
        stride: step between windows in LR pixels (``<= window``).
        ridge: pull of each local map towards the global one (0: free local fits).
        psf_estimate: blind only: estimate the PSF (default) rather than take the Gaussian guess
            (FWHM = ratio).

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad inputs or settings.
    """
    check_local_regression_settings(window, stride, ridge)
    if psf is None and psf_estimate:
        psf = estimate_psf(lr_hsi, hr_msi, ratio, srf=srf)
    p = prepare(lr_hsi, hr_msi, ratio, srf, psf)
    r = p.ratio
    lr_msi = blur_downsample(p.z, p.psf, r)
    global_map = affine_fit(lr_msi, p.y)  # (c + 1, C)
    design = _design(lr_msi)
    global_gram = design.T @ design / design.shape[0]
    h, w = p.y.shape[1:]
    spectral = np.zeros((p.y.shape[0], *p.z.shape[1:]))
    weights = np.zeros(p.z.shape[1:])
    for top in _starts(h, window, stride):
        for left in _starts(w, window, stride):
            rows, cols = slice(top, top + window), slice(left, left + window)
            local = _pulled_fit(lr_msi[:, rows, cols], p.y[:, rows, cols], global_map, global_gram, ridge)
            hr_rows, hr_cols = slice(top * r, (top + window) * r), slice(left * r, (left + window) * r)
            z = p.z[:, hr_rows, hr_cols]
            tent = np.outer(_tent(z.shape[1]), _tent(z.shape[2]))
            spectral[:, hr_rows, hr_cols] += tent * apply_affine(local, z)
            weights[hr_rows, hr_cols] += tent
    spectral /= weights
    residual = p.y - blur_downsample(spectral, p.psf, r)
    return (spectral + upsample(residual, r)).astype(np.float32)
