"""What every baseline shares: the call form, the input checks and the operators on the common grid.

Grid convention (:mod:`pfs2c2.physics`): LR pixel ``(i, j)`` is the PSF-weighted mean of HR rows
``i*r .. i*r+r-1`` and columns ``j*r .. j*r+r-1`` (kernels larger than ``r`` centred on that block);
the bicubic interpolation puts LR pixel centres at the block centres. Every method works on that
grid, in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.linalg
import scipy.optimize
import torch

from .._checks import as_cube, baseline_ratio, check_band_counts, check_finite_images, check_psf, check_srf
from ..physics import bicubic_upsample_tensor, blur_downsample, gaussian_psf

__all__ = [
    "EPS",
    "FusionMethod",
    "Problem",
    "prepare",
    "upsample",
    "lowpass",
    "affine_fit",
    "apply_affine",
    "gram",
    "leading_eigenvectors",
    "estimate_srf",
    "srf_in_units",
]

EPS = 1e-12
"""Floor of every denominator."""


class FusionMethod(Protocol):
    """Call form shared by the baselines: ``(C, h, w)``, ``(c, H, W)`` -> ``(C, H, W)`` float32."""

    def __call__(
        self,
        lr_hsi: np.ndarray,
        hr_msi: np.ndarray,
        ratio: int | None = None,
        srf: np.ndarray | None = None,
        psf: np.ndarray | None = None,
    ) -> np.ndarray: ...


@dataclass
class Problem:
    """Validated inputs in float64: ``y (C, h, w)``, ``z (c, H, W)``, the ratio and the PSF to use."""

    y: np.ndarray
    z: np.ndarray
    ratio: int
    psf: np.ndarray
    srf: np.ndarray | None  # validated (C, c) shape as given, or None (blind)


def prepare(lr_hsi: Any, hr_msi: Any, ratio: Any, srf: Any, psf: Any) -> Problem:
    """Check the inputs of a baseline and resolve the ratio and the PSF (all checks from :mod:`pfs2c2._checks`).

    Raises:
        InputError: wrong ranks, an MSI with at least as many bands as the HSI, sizes that are not an
            integer ratio apart, a bad ratio, non-finite values, or a malformed SRF / PSF.
    """
    y = as_cube(lr_hsi, "lr_hsi", "(C, h, w)").astype(np.float64, copy=False)
    z = as_cube(hr_msi, "hr_msi", "(c, H, W)").astype(np.float64, copy=False)
    big_c, small_c = y.shape[0], z.shape[0]
    check_band_counts(big_c, small_c, min_msi_bands=1)  # one MSI band (pansharpening) is fine here
    r = baseline_ratio(y.shape[1], y.shape[2], z.shape[1], z.shape[2], ratio)
    check_finite_images(y, z)
    kernel = gaussian_psf(r) if psf is None else check_psf(psf, r)
    m = None if srf is None else check_srf(srf, big_c, small_c)
    return Problem(y, z, r, kernel, m)


def upsample(x: np.ndarray, ratio: int) -> np.ndarray:
    """Bicubic ``(C, h, w) -> (C, h*r, w*r)`` in float64 on the block-centre grid."""
    return bicubic_upsample_tensor(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))[None], ratio)[0].numpy()


def lowpass(x: np.ndarray, psf: np.ndarray, ratio: int) -> np.ndarray:
    """MTF-matched low-pass of an HR cube: PSF blur + decimation, then bicubic back to the HR grid."""
    return upsample(blur_downsample(x, psf, ratio), ratio)


def affine_fit(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Least-squares affine map between two sets of images on one grid.

    Args:
        inputs: ``(p, ...)`` regressors (one image per row).
        targets: ``(q, ...)`` images to predict, same pixel shape.

    Returns:
        ``(p + 1, q)`` weights; the last row is the offset: ``targets ~= w[:-1].T @ inputs + w[-1]``.
    """
    a = inputs.reshape(inputs.shape[0], -1).T
    a = np.concatenate([a, np.ones((a.shape[0], 1))], 1)
    return np.linalg.lstsq(a, targets.reshape(targets.shape[0], -1).T, rcond=None)[0]


def apply_affine(weights: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """``(p + 1, q)`` weights applied to ``(p, H, W)`` images -> ``(q, H, W)``."""
    return np.tensordot(weights[:-1].T, inputs, axes=1) + weights[-1][:, None, None]


def gram(a: np.ndarray) -> np.ndarray:
    """``a a^T`` for ``(L, N)`` float64 ``a`` by :func:`numpy.einsum` (no BLAS threads; see :func:`_mm`)."""
    return np.einsum("ik,jk->ij", a, a)


def leading_eigenvectors(gram: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` eigenvectors of a symmetric PSD ``(L, L)`` matrix with the largest eigenvalues,
    as ``(L, count)`` columns in decreasing order: the leading left singular vectors of ``a`` when
    ``gram = a a^T``. Only the needed eigenpairs are computed (much faster than a full SVD on a busy
    host, where threaded LAPACK calls stall)."""
    size = gram.shape[0]
    vectors = scipy.linalg.eigh(gram, subset_by_index=[size - count, size - 1])[1]
    return vectors[:, ::-1]


def estimate_srf(lr_hsi: np.ndarray, lr_msi: np.ndarray, max_pixels: int = 20000) -> np.ndarray:
    """Blind SRF: non-negative least squares of each LR-MSI band on the LR-HSI bands.

    Solves ``min_{s_j >= 0} || lr_msi_j - lr_hsi^T s_j ||`` per MSI band with
    :func:`scipy.optimize.nnls` (no offset, so the SRF carries the units of both images).

    Args:
        lr_hsi: ``(C, h, w)`` LR-HSI.
        lr_msi: ``(c, h, w)`` the HR-MSI degraded by the PSF onto the LR grid.
        max_pixels: at most this many LR pixels (evenly spaced) enter the fit, to bound the cost.

    Returns:
        ``(C, c)`` non-negative float64 matrix with ``lr_msi ~= lr_hsi @ srf`` per pixel.
    """
    a = lr_hsi.reshape(lr_hsi.shape[0], -1).T.astype(np.float64)
    b = lr_msi.reshape(lr_msi.shape[0], -1).T.astype(np.float64)
    if a.shape[0] > max_pixels:
        keep = np.linspace(0, a.shape[0] - 1, max_pixels).round().astype(int)
        a, b = a[keep], b[keep]
    return np.stack([scipy.optimize.nnls(a, b[:, j])[0] for j in range(b.shape[1])], 1)


def srf_in_units(p: Problem, lr_msi: np.ndarray) -> np.ndarray:
    """The ``(C, c)`` SRF in the inputs' units: the given shape times a fitted gain per band, or NNLS."""
    if p.srf is None:
        return estimate_srf(p.y, lr_msi)
    y = p.y.reshape(p.y.shape[0], -1)
    projected = p.srf.T @ y  # (c, n)
    target = lr_msi.reshape(lr_msi.shape[0], -1)
    gain = (projected * target).sum(1) / np.maximum((projected**2).sum(1), EPS)
    return p.srf * np.where(gain > 0, gain, 1.0)
