"""Classical reference methods, run beside PFS2C2 in tests and benchmarks.

Every method of :data:`METHODS` has the call form of :func:`pfs2c2.fusion.fuse`'s first arguments,
``method(lr_hsi, hr_msi, ratio=None, srf=None, psf=None) -> (C, H, W) float32``, with the LR-HSI
``(C, h, w)`` and the HR-MSI ``(c, H, W)``, ``H = ratio * h``, as numpy arrays. The ratio is inferred
from the shapes when not given. When ``srf`` / ``psf`` are ``None`` the method is *blind*: the PSF is
taken as a Gaussian with FWHM = ratio (:func:`~pfs2c2.physics.gaussian_psf`) and, where an SRF is
needed, it is estimated by non-negative least squares between the PSF-degraded MSI and the LR-HSI
(:func:`estimate_srf`). A given SRF is used for its shape only: one gain per MSI band is fitted so that
``MSI ~= HSI @ SRF`` in the inputs' units.

Methods (short name in :data:`METHODS`):

* ``bicubic`` -- :func:`bicubic` / :func:`bicubic_upsample`: the LR-HSI interpolated to the MSI grid (no
  MSI used).
* ``linear_regression`` -- :func:`linear_regression` / :func:`linear_regression_fusion`: least-squares
  affine map from the LR-MSI (the MSI blurred with the PSF) to the LR-HSI, applied to the HR-MSI, plus
  the bicubic-upsampled LR residual. A strong closed-form baseline (GUIDE section 6).
* ``gsa`` -- :func:`gsa`: Gram-Schmidt adaptive component substitution. B. Aiazzi, S. Baronti, M. Selva,
  "Improving component substitution pansharpening through multivariate regression of MS+Pan data",
  IEEE TGRS 45(10):3230-3239, 2007; applied to HS-MS fusion band group by band group as in N. Yokoya,
  C. Grohnfeldt, J. Chanussot, "Hyperspectral and multispectral data fusion: a comparative review of
  the recent literature", IEEE GRSM 5(2):29-56, 2017.
* ``glp_hs`` -- :func:`glp_hs`: MTF-GLP hyper-sharpening. M. Selva, B. Aiazzi, F. Butera,
  L. Chiarantini, S. Baronti, "Hyper-sharpening: a first approach on SIM-GA data", IEEE JSTSP
  9(6):1008-1018, 2015 (MTF-matched GLP: B. Aiazzi et al., PE&RS 72(5):591-596, 2006).
* ``cnmf`` -- :func:`cnmf`: coupled non-negative matrix factorisation. N. Yokoya, T. Yairi, A. Iwasaki,
  "Coupled nonnegative matrix factorization unmixing for hyperspectral and multispectral data
  fusion", IEEE TGRS 50(2):528-537, 2012; endmembers initialised by VCA (J. M. P. Nascimento,
  J. M. Bioucas-Dias, "Vertex component analysis: a fast algorithm to unmix hyperspectral data",
  IEEE TGRS 43(4):898-910, 2005).
* ``hysure`` -- :func:`hysure`: subspace-based regularisation with vector total variation. M. Simoes,
  J. Bioucas-Dias, L. B. Almeida, J. Chanussot, "A convex formulation for hyperspectral image
  superresolution via subspace-based regularization", IEEE TGRS 53(6):3373-3388, 2015 (fusion step
  only, with the given or estimated operators).

Grid convention (:mod:`pfs2c2.physics`): LR pixel ``(i, j)`` is the PSF-weighted mean of HR rows
``i*r .. i*r+r-1`` and columns ``j*r .. j*r+r-1`` (kernels larger than ``r`` centred on that block);
the bicubic interpolation puts LR pixel centres at the block centres. Every method here works on that
grid. Computations are in float64; inputs with bad shapes, a non-integer ratio or an MSI with as many
bands as the HSI raise :class:`~pfs2c2.errors.InputError`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.optimize
import torch

from .errors import InputError
from .io.grids import ratio_from_shapes
from .physics import bicubic_upsample_tensor, blur_downsample, check_psf, gaussian_psf

__all__ = [
    "METHODS",
    "FusionMethod",
    "bicubic",
    "bicubic_upsample",
    "cnmf",
    "estimate_srf",
    "glp_hs",
    "gsa",
    "hysure",
    "linear_regression",
    "linear_regression_fusion",
]

_EPS = 1e-12


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


# ==================================================================================================
# Inputs and operators
# ==================================================================================================
@dataclass
class _Problem:
    """Validated inputs in float64: ``y (C, h, w)``, ``z (c, H, W)``, the ratio and the PSF to use."""

    y: np.ndarray
    z: np.ndarray
    ratio: int
    psf: np.ndarray
    srf: np.ndarray | None  # validated (C, c) shape as given, or None (blind)


def _as_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a numeric array, got {type(x).__name__}") from None
    return arr


def _prepare(lr_hsi: Any, hr_msi: Any, ratio: Any, srf: Any, psf: Any) -> _Problem:
    """Check the inputs of a baseline and resolve the ratio and the PSF.

    Raises:
        InputError: wrong ranks, an MSI with at least as many bands as the HSI, sizes that are not an
            integer ratio apart, a bad ratio, non-finite values, or a malformed SRF / PSF.
    """
    y = _as_array(lr_hsi, "lr_hsi")
    z = _as_array(hr_msi, "hr_msi")
    if y.ndim != 3:
        raise InputError(f"lr_hsi must be a 3-D cube (C, h, w), got shape {y.shape}")
    if z.ndim != 3:
        raise InputError(f"hr_msi must be a 3-D cube (c, H, W), got shape {z.shape}")
    if min(y.shape) < 1 or min(z.shape) < 1:
        raise InputError(f"empty input: lr_hsi {y.shape}, hr_msi {z.shape}")
    big_c, small_c = y.shape[0], z.shape[0]
    if small_c >= big_c:
        raise InputError(
            f"the MSI has {small_c} bands and the HSI {big_c}; the MSI must have fewer bands (are lr_hsi and hr_msi swapped?)"
        )
    if ratio is not None and (
        isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not float(ratio).is_integer() or ratio < 2
    ):
        raise InputError(f"ratio must be an integer >= 2 (or None to infer it from the sizes), got {ratio!r}")
    try:
        r = ratio_from_shapes(y.shape[1], y.shape[2], z.shape[1], z.shape[2], None if ratio is None else int(ratio))
    except ValueError as exc:  # the message names the CLI flag; here the argument is ``ratio``
        raise InputError(str(exc).replace("--ratio ", "ratio=")) from None
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(z))):
        raise InputError("lr_hsi or hr_msi contains NaN or inf; fill or crop the invalid pixels before fusing")
    if psf is None:
        kernel = gaussian_psf(r)
    else:
        try:
            kernel = check_psf(psf, r)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    m = None
    if srf is not None:
        m = _as_array(srf, "srf")
        if m.shape != (big_c, small_c):
            hint = ": transpose it" if m.shape == (small_c, big_c) else ""
            raise InputError(f"SRF has shape {m.shape}; expected (HSI bands, MSI bands) = ({big_c}, {small_c}){hint}")
        if not np.all(np.isfinite(m)) or np.any(m < 0) or np.any(m.sum(0) <= 0):
            raise InputError("SRF must be finite and non-negative with a non-zero response in every MSI band")
    return _Problem(y, z, r, kernel, m)


def _upsample(x: np.ndarray, ratio: int) -> np.ndarray:
    """Bicubic ``(C, h, w) -> (C, h*r, w*r)`` in float64 on the block-centre grid."""
    return bicubic_upsample_tensor(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))[None], ratio)[0].numpy()


def _lowpass(x: np.ndarray, psf: np.ndarray, ratio: int) -> np.ndarray:
    """MTF-matched low-pass of an HR cube: PSF blur + decimation, then bicubic back to the HR grid."""
    return _upsample(blur_downsample(x, psf, ratio), ratio)


def _affine_fit(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
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


def _apply_affine(weights: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """``(p + 1, q)`` weights applied to ``(p, H, W)`` images -> ``(q, H, W)``."""
    return np.tensordot(weights[:-1].T, inputs, axes=1) + weights[-1][:, None, None]


def _gram(a: np.ndarray) -> np.ndarray:
    """``a a^T`` for ``(L, N)`` float64 ``a`` by :func:`numpy.einsum` (no BLAS threads; see :func:`_mm`)."""
    return np.einsum("ik,jk->ij", a, a)


def _leading_eigenvectors(gram: np.ndarray, count: int) -> np.ndarray:
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


def _srf_in_units(p: _Problem, lr_msi: np.ndarray) -> np.ndarray:
    """The ``(C, c)`` SRF in the inputs' units: the given shape times a fitted gain per band, or NNLS."""
    if p.srf is None:
        return estimate_srf(p.y, lr_msi)
    y = p.y.reshape(p.y.shape[0], -1)
    projected = p.srf.T @ y  # (c, n)
    target = lr_msi.reshape(lr_msi.shape[0], -1)
    gain = (projected * target).sum(1) / np.maximum((projected**2).sum(1), _EPS)
    return p.srf * np.where(gain > 0, gain, 1.0)


# ==================================================================================================
# Bicubic and linear regression
# ==================================================================================================
def bicubic_upsample(lr_hsi: np.ndarray, ratio: int) -> np.ndarray:
    """Bicubic interpolation of ``(C, h, w)`` to ``(C, h*ratio, w*ratio)`` (pixel centres aligned to blocks)."""
    t = torch.from_numpy(np.ascontiguousarray(lr_hsi, dtype=np.float32))[None]
    return bicubic_upsample_tensor(t, ratio)[0].numpy()


def bicubic(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
) -> np.ndarray:
    """Bicubic interpolation of the LR-HSI to the MSI grid, in the shared call form (the MSI gives only the size).

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``; only its size is used.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ignored (accepted for the common call form).
        psf: ignored.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes or ratio.
    """
    p = _prepare(lr_hsi, hr_msi, ratio, srf, psf)
    return _upsample(p.y, p.ratio).astype(np.float32)


def linear_regression_fusion(
    lr_hsi: np.ndarray, hr_msi: np.ndarray, ratio: int | None = None, psf: np.ndarray | None = None
) -> np.ndarray:
    """Fuse by a per-pixel affine map MSI -> HSI fitted at low resolution, plus the upsampled residual.

    ``spectral = W^T [MSI; 1]`` with ``W`` the least-squares fit of the LR-HSI on the PSF-degraded MSI;
    the result is ``spectral + bicubic(LR-HSI - PSF-degraded spectral)``, so it reproduces the LR-HSI
    up to the interpolation. A closed-form baseline (GUIDE section 6); no SRF is needed.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)`` with ``H = ratio * h``.
        ratio: scale factor; inferred from the shapes when ``None``.
        psf: PSF used to bring the MSI to the LR grid; default Gaussian with FWHM = ratio.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes, ratio or PSF.
    """
    p = _prepare(lr_hsi, hr_msi, ratio, None, psf)
    w = _affine_fit(blur_downsample(p.z, p.psf, p.ratio), p.y)  # (c + 1, C)
    spectral = _apply_affine(w, p.z)
    residual = p.y - blur_downsample(spectral, p.psf, p.ratio)
    return (spectral + _upsample(residual, p.ratio)).astype(np.float32)


def linear_regression(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`linear_regression_fusion` in the shared call form (the SRF is not needed and is ignored).

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ignored (the spectral map is fitted from the data).
        psf: PSF; default Gaussian with FWHM = ratio.

    Returns:
        ``(C, H, W)`` float32.
    """
    if srf is not None:  # validate it like the other methods do, even though it is not used
        _prepare(lr_hsi, hr_msi, ratio, srf, None)
    return linear_regression_fusion(lr_hsi, hr_msi, ratio, psf)


# ==================================================================================================
# GSA
# ==================================================================================================
def _assign_bands(y: np.ndarray, lr_msi: np.ndarray, srf: np.ndarray | None) -> np.ndarray:
    """MSI band of each HSI band: the largest relative SRF response, else the highest LR correlation.

    Returns:
        ``(C,)`` int indices into the MSI bands.
    """
    a = y.reshape(y.shape[0], -1)
    b = lr_msi.reshape(lr_msi.shape[0], -1)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    corr = (a @ b.T) / np.maximum(np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None], _EPS)
    groups = corr.argmax(1)
    if srf is not None:
        relative = srf / srf.max(0, keepdims=True)
        covered = relative.max(1) > 0
        groups[covered] = relative[covered].argmax(1)
    return groups


def gsa(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
) -> np.ndarray:
    """Gram-Schmidt adaptive (GSA) component substitution, applied per group of HSI bands.

    Aiazzi, Baronti, Selva, "Improving component substitution pansharpening through multivariate
    regression of MS+Pan data", IEEE TGRS 45(10):3230-3239, 2007; HS-MS form as in Yokoya,
    Grohnfeldt, Chanussot, IEEE GRSM 5(2):29-56, 2017. Each HSI band is assigned to one MSI band (the
    band whose SRF responds most to it relative to its peak; by LR correlation when the SRF is unknown
    or zero there). For each MSI band ``P`` and its group ``G``:

    * intensity ``I = sum_{k in G} a_k up(Y_k) + b``, with ``a, b`` the least-squares fit of the
      PSF-degraded ``P`` on the LR bands of ``G`` (the adaptive step);
    * detail ``D = (P - mean P) - (I - mean I)``;
    * ``X_k = up(Y_k) + g_k D`` with the regression gain ``g_k = cov(up(Y_k), I) / var(I)``.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``, ``c < C``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ``(C, c)`` SRF, used only to group the bands; ``None`` groups by correlation.
        psf: ``(k, k)`` PSF; default Gaussian with FWHM = ratio.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes, ratio, SRF or PSF.
    """
    p = _prepare(lr_hsi, hr_msi, ratio, srf, psf)
    lr_msi = blur_downsample(p.z, p.psf, p.ratio)
    y_up = _upsample(p.y, p.ratio)
    groups = _assign_bands(p.y, lr_msi, p.srf)
    out = y_up.copy()
    for j in range(p.z.shape[0]):
        idx = np.flatnonzero(groups == j)
        if idx.size == 0:
            continue
        w = _affine_fit(p.y[idx], lr_msi[j : j + 1])  # (|G| + 1, 1)
        intensity = _apply_affine(w, y_up[idx])[0]
        i0 = intensity - intensity.mean()
        detail = (p.z[j] - p.z[j].mean()) - i0
        bands0 = y_up[idx] - y_up[idx].mean(axis=(1, 2), keepdims=True)
        gains = (bands0 * i0).sum(axis=(1, 2)) / max(float((i0**2).sum()), _EPS)
        out[idx] += gains[:, None, None] * detail
    return out.astype(np.float32)


# ==================================================================================================
# MTF-GLP-HS
# ==================================================================================================
def glp_hs(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
    *,
    injection: Literal["hpm", "regression"] = "hpm",
) -> np.ndarray:
    """MTF-GLP hyper-sharpening: per HSI band, a synthetic HR image from the MSI, MTF-matched details.

    Selva, Aiazzi, Butera, Chiarantini, Baronti, "Hyper-sharpening: a first approach on SIM-GA data",
    IEEE JSTSP 9(6):1008-1018, 2015 (GLP with MTF-matched filter: Aiazzi et al., PE&RS 72(5), 2006).
    For HSI band ``k``:

    * synthetic image ``P_k = sum_j w_jk MSI_j + b_k``, with ``w, b`` the least-squares fit of the
      LR-HSI band on the PSF-degraded MSI bands;
    * its low-pass ``P_k^L = up(PSF-degrade(P_k))`` (the MTF-matched filter, then the same bicubic
      interpolation as the HSI);
    * ``X_k = up(Y_k) + g_k (P_k - P_k^L)`` with, for ``injection="hpm"`` (high-pass modulation), the
      pixel gain ``g_k = up(Y_k) / P_k^L``, or for ``"regression"`` the band gain
      ``cov(up(Y_k), P_k^L) / var(P_k^L)``.

    HPM gains are used only where ``P_k^L`` exceeds 1 % of the band's mean absolute value and are
    clipped to ``[0, 10]``; elsewhere the gain is 1.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``, ``c < C``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ignored (the synthetic images are fitted from the data); validated if given.
        psf: ``(k, k)`` PSF (the MTF-matched filter); default Gaussian with FWHM = ratio.
        injection: ``"hpm"`` or ``"regression"``.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes, ratio, SRF, PSF or injection.
    """
    if injection not in ("hpm", "regression"):
        raise InputError(f"injection must be 'hpm' or 'regression', got {injection!r}")
    p = _prepare(lr_hsi, hr_msi, ratio, srf, psf)
    w = _affine_fit(blur_downsample(p.z, p.psf, p.ratio), p.y)  # (c + 1, C)
    synthetic = _apply_affine(w, p.z)
    # the low-pass is linear, so P^L = W^T up(PSF-degrade(MSI)) + b: c bands filtered instead of C
    synthetic_low = _apply_affine(w, _lowpass(p.z, p.psf, p.ratio))
    y_up = _upsample(p.y, p.ratio)
    if injection == "hpm":
        floor = 0.01 * np.abs(y_up).mean(axis=(1, 2), keepdims=True) + _EPS
        safe = np.abs(synthetic_low) > floor
        gain = np.where(safe, y_up / np.where(safe, synthetic_low, 1.0), 1.0).clip(0.0, 10.0)
    else:
        low0 = synthetic_low - synthetic_low.mean(axis=(1, 2), keepdims=True)
        up0 = y_up - y_up.mean(axis=(1, 2), keepdims=True)
        gain = ((up0 * low0).sum(axis=(1, 2)) / np.maximum((low0**2).sum(axis=(1, 2)), _EPS))[:, None, None]
    return (y_up + gain * (synthetic - synthetic_low)).astype(np.float32)


# ==================================================================================================
# CNMF
# ==================================================================================================
def _vca(data: np.ndarray, n_endmembers: int, rng: np.random.Generator) -> np.ndarray:
    """Vertex component analysis (Nascimento & Bioucas-Dias, IEEE TGRS 43(4), 2005).

    Args:
        data: ``(L, N)`` non-negative spectra, one per column.
        n_endmembers: number ``p`` of endmembers (``p <= min(L, N)``).
        rng: random generator of the projection directions.

    Returns:
        ``(p,)`` column indices of the pixels chosen as endmembers.
    """
    bands, n = data.shape
    p = n_endmembers
    mean = data.mean(1, keepdims=True)
    centred = data - mean
    u = _leading_eigenvectors(_gram(centred) / n, p)
    x_p = u.T @ centred
    power_y = float((data**2).sum() / n)
    power_x = float((x_p**2).sum() / n + (mean**2).sum())
    snr = 10 * np.log10(max(power_x - p / bands * power_y, _EPS) / max(power_y - power_x, _EPS))
    if snr < 15 + 10 * np.log10(p):  # low SNR: projective projection onto a (p-1)-dim subspace
        x = x_p[: p - 1]
        scale = np.sqrt((x**2).sum(0)).max()
        proj = np.vstack([x, np.full((1, n), scale)])
    else:
        u = _leading_eigenvectors(_gram(data) / n, p)
        x = u.T @ data
        proj = x / np.maximum(x.mean(1) @ x, _EPS)
    # each direction is orthogonal to the endmembers found so far (to e_p before the first one),
    # as VCA's f = (I - A A^+) w, with Gram-Schmidt instead of a pseudo-inverse per step
    indices = np.zeros(p, dtype=int)
    first = np.zeros(p)
    first[-1] = 1.0
    found: list[np.ndarray] = []
    for i in range(p):
        f = rng.random(p)
        for q in found or [first]:
            f -= (q @ f) * q
        f /= max(np.linalg.norm(f), _EPS)
        indices[i] = int(np.abs(f @ proj).argmax())
        v = proj[:, indices[i]].astype(np.float64)
        for q in found:
            v = v - (q @ v) * q
        norm = np.linalg.norm(v)
        if norm > _EPS:
            found.append(v / norm)
    return indices


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix product by :func:`numpy.einsum`'s own loops: for the thin float32 products of the NMF
    updates this is as fast as BLAS on one core and does not suffer from oversubscribed BLAS threads
    on a busy machine (measured 1 ms vs 25 ms per update on a loaded 2-core host)."""
    return np.einsum("ij,jk->ik", a, b)


def _nmf(
    y: np.ndarray, w: np.ndarray, h: np.ndarray, iterations: int, delta: float, *, update_w: bool = True, update_h: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Lee-Seung multiplicative updates of ``Y ~= W H`` (in place), alternating ``W`` then ``H``.

    The ``H`` update includes the sum-to-one row of CNMF: ``[Y; delta 1^T] ~= [W; delta 1^T] H``, written
    without stacking (``delta**2`` terms).

    Args:
        y: ``(L, N)`` float32 data.
        w: ``(L, M)`` float32 endmembers.
        h: ``(M, N)`` float32 abundances.
        iterations: number of updates.
        delta: weight of the sum-to-one row (0 = none).
        update_w, update_h: which factor(s) to update.

    Returns:
        ``(w, h)``, the same arrays updated.
    """
    d2 = np.float32(delta**2)
    few_bands = w.shape[0] < w.shape[1]  # the MSI: W^T (W H) is cheaper than (W^T W) H
    wt = wty = wtw = None
    for _ in range(iterations):
        if update_w:
            yht, hht = np.einsum("ik,jk->ij", y, h), np.einsum("ik,jk->ij", h, h)
            w *= yht / np.maximum(_mm(w, hht), _EPS)
        if update_h:
            if update_w or wt is None:
                wt = np.ascontiguousarray(w.T)
                wty = _mm(wt, y) + d2
                wtw = None if few_bands else _mm(wt, w) + d2
            if wtw is None:
                denominator = _mm(wt, _mm(w, h)) + d2 * h.sum(0, keepdims=True)
            else:
                denominator = _mm(wtw, h)
            h *= wty / np.maximum(denominator, _EPS)
    return w, h


def cnmf(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
    *,
    n_endmembers: int = 30,
    outer_iterations: int = 3,
    inner_iterations: int = 100,
    sum_to_one: float = 0.01,
    seed: int = 0,
) -> np.ndarray:
    """Coupled non-negative matrix factorisation (CNMF) unmixing of both images.

    Yokoya, Yairi, Iwasaki, "Coupled nonnegative matrix factorization unmixing for hyperspectral and
    multispectral data fusion", IEEE TGRS 50(2):528-537, 2012. With ``Y_h (C, n)`` the LR-HSI pixels,
    ``Y_m (c, N)`` the HR-MSI pixels, ``R (c, C)`` the SRF and ``S`` the PSF blur + decimation:
    ``Y_h ~= W_h H_h`` and ``Y_m ~= W_m H_m`` with ``W_m = R W_h`` and ``H_h = H_m S``, solved by
    Lee-Seung multiplicative updates:

    1. ``W_h`` by VCA on ``Y_h``, ``H_h = 1/M``; update ``H_h`` alone, then ``W_h`` and ``H_h``
       alternately (HSI unmixing);
    2. ``W_m = R W_h``, ``H_m`` (first round: bicubic interpolation of ``H_h``); update ``H_m`` alone,
       then ``W_m`` and ``H_m`` alternately (MSI unmixing);
    3. ``H_h = H_m S``; update ``W_h`` alone, then ``W_h`` and ``H_h`` alternately;
       steps 2-3 form one of the ``outer_iterations`` rounds.

    The result is ``W_h H_m``. Each "update" is ``inner_iterations`` multiplicative steps (fixed
    counts instead of the paper's convergence test). The abundances' sum-to-one is encouraged by a row
    ``sum_to_one`` (times the data's largest band mean) appended to data and endmember matrices, as in
    the paper. Inputs are clipped at zero. The updates run in float32 with :func:`numpy.einsum`.
    On the Pavia test problem (102 bands, 100 x 100, ratio 4) the defaults give ~46.5 dB in a few
    seconds; ``outer_iterations=4, inner_iterations=200`` gives ~46.8 dB in about three times as long.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``, ``c < C``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ``(C, c)`` SRF shape (a gain per band is fitted); ``None`` estimates it by NNLS.
        psf: ``(k, k)`` PSF; default Gaussian with FWHM = ratio.
        n_endmembers: number ``M`` of endmembers (capped by the number of bands and LR pixels).
        outer_iterations: rounds of coupled HSI / MSI unmixing.
        inner_iterations: multiplicative updates per unmixing step.
        sum_to_one: weight of the abundance sum-to-one row (0 disables it), relative to the data scale.
        seed: seed of VCA's random directions.

    Returns:
        ``(C, H, W)`` float32, non-negative.

    Raises:
        InputError: on bad shapes, ratio, SRF, PSF or iteration counts.
    """
    if n_endmembers < 1 or outer_iterations < 1 or inner_iterations < 1:
        raise InputError("n_endmembers, outer_iterations and inner_iterations must be positive")
    p = _prepare(lr_hsi, hr_msi, ratio, srf, psf)
    y, z, r = np.maximum(p.y, 0.0), np.maximum(p.z, 0.0), p.ratio
    big_c, h, w = y.shape
    small_c, big_h, big_w = z.shape
    srf_units = _srf_in_units(_Problem(y, z, r, p.psf, p.srf), blur_downsample(z, p.psf, r))
    m = int(min(n_endmembers, big_c, h * w))
    yh = y.reshape(big_c, -1).astype(np.float32)
    ym = z.reshape(small_c, -1).astype(np.float32)
    # sum-to-one rows, scaled to the data
    delta_h = sum_to_one * float(yh.mean(1).max())
    delta_m = sum_to_one * float(ym.mean(1).max())

    rng = np.random.default_rng(seed)
    wh = np.maximum(yh[:, _vca(yh.astype(np.float64), m, rng)], _EPS)
    hh = np.full((m, yh.shape[1]), 1.0 / m, dtype=np.float32)
    psf32 = p.psf.astype(np.float32)
    # step 1: unmix the LR-HSI
    wh, hh = _nmf(yh, wh, hh, inner_iterations, delta_h, update_w=False)
    wh, hh = _nmf(yh, wh, hh, inner_iterations, delta_h)
    hm = np.maximum(_upsample(hh.reshape(m, h, w), r).reshape(m, -1), _EPS).astype(np.float32)
    for _ in range(outer_iterations):
        # step 2: unmix the HR-MSI starting from the endmembers the HSI implies
        wm = (srf_units.T @ wh).astype(np.float32)
        wm, hm = _nmf(ym, wm, hm, inner_iterations, delta_m, update_w=False)
        wm, hm = _nmf(ym, wm, hm, inner_iterations, delta_m)
        # step 3: endmembers that explain the LR-HSI with the degraded HR abundances
        hh = blur_downsample(hm.reshape(m, big_h, big_w), psf32, r).reshape(m, -1)
        wh, hh = _nmf(yh, wh, hh, inner_iterations, delta_h, update_h=False)
        wh, hh = _nmf(yh, wh, hh, inner_iterations, delta_h)
    return (wh @ hm).reshape(big_c, big_h, big_w).astype(np.float32)


# ==================================================================================================
# HySure
# ==================================================================================================
def _psf_transfer(psf: np.ndarray, ratio: int, shape: tuple[int, int]) -> np.ndarray:
    """Transfer function of the PSF blur on the HR grid, aligned so that sampling pixel ``(i r, j r)``
    of the blurred image gives exactly LR pixel ``(i, j)`` of :func:`~pfs2c2.physics.blur_downsample`.

    ``(x B)[u, v] = sum_ab psf[a, b] x[u + a - pad, v + b - pad]`` (periodic), ``pad = (k - r) / 2``.

    Returns:
        ``(H, W // 2 + 1)`` complex array: ``rfft2(x B) = rfft2(x) * transfer``.
    """
    k = psf.shape[0]
    pad = (k - ratio) // 2
    kernel = np.zeros(shape)
    rows = (np.arange(k) - pad) % shape[0]
    cols = (np.arange(k) - pad) % shape[1]
    kernel[np.ix_(rows, cols)] = psf
    return np.conj(np.fft.rfft2(kernel))  # a correlation: conjugate of the kernel's spectrum


def hysure(
    lr_hsi: np.ndarray,
    hr_msi: np.ndarray,
    ratio: int | None = None,
    srf: np.ndarray | None = None,
    psf: np.ndarray | None = None,
    *,
    subspace_dim: int = 10,
    lambda_m: float = 1.0,
    lambda_phi: float = 5e-4,
    mu: float = 0.05,
    iterations: int = 200,
) -> np.ndarray:
    """HySure: subspace-regularised fusion with vector total variation, solved by ADMM with FFTs.

    Simoes, Bioucas-Dias, Almeida, Chanussot, "A convex formulation for hyperspectral image
    superresolution via subspace-based regularization", IEEE TGRS 53(6):3373-3388, 2015 (the fusion
    step; the operators are the given ones or, blind, the NNLS SRF and the Gaussian PSF). With
    ``E (C, p)`` the first left singular vectors of the LR-HSI, the HR-HSI is ``E X`` and ``X (p, N)``
    solves

    ``min_X 1/2 ||Y_h - E X B M||^2 + lambda_m/2 ||Y_m - R^T E X||^2 + lambda_phi VTV(X)``

    where ``B`` is the PSF blur (periodic, FFT), ``M`` the decimation, ``R`` the SRF and ``VTV`` the
    vector total variation (isotropic over bands and both directions). ADMM splits
    ``V1 = X B, V2 = X, V3 = X D_h, V4 = X D_v``; every step is closed form (FFT, per-pixel ``p x p``
    solve, vector soft threshold), as in the authors' ``data_fusion.m`` (whose ``mu = 0.05``, 200
    iterations and demo weights ``lambda_phi = 5e-4``, ``lambda_m = 1`` are the defaults here). Both
    images are divided by the LR-HSI's maximum absolute value, so the weights apply to data in
    ``[0, 1]``. On the Pavia test problem a smaller subspace scores higher (``subspace_dim=6``:
    46.5 dB vs 44.5 dB for 10), since the MSI's 4 bands constrain few directions.

    Args:
        lr_hsi: ``(C, h, w)``.
        hr_msi: ``(c, H, W)``, ``c < C``.
        ratio: scale factor; inferred from the shapes when ``None``.
        srf: ``(C, c)`` SRF shape (a gain per band is fitted); ``None`` estimates it by NNLS.
        psf: ``(k, k)`` PSF; default Gaussian with FWHM = ratio.
        subspace_dim: dimension ``p`` of the spectral subspace (capped by the number of bands).
        lambda_m: weight of the MSI data term.
        lambda_phi: weight of the vector total variation.
        mu: ADMM penalty parameter.
        iterations: ADMM iterations.

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        InputError: on bad shapes, ratio, SRF, PSF or parameters.
    """
    if subspace_dim < 1 or iterations < 1 or not (mu > 0 and lambda_m >= 0 and lambda_phi >= 0):
        raise InputError("subspace_dim and iterations must be positive, mu > 0, lambda_m and lambda_phi >= 0")
    prob = _prepare(lr_hsi, hr_msi, ratio, srf, psf)
    r = prob.ratio
    scale = float(np.abs(prob.y).max()) or 1.0
    y, z = prob.y / scale, prob.z / scale
    srf_units = _srf_in_units(_Problem(y, z, r, prob.psf, prob.srf), blur_downsample(z, prob.psf, r))
    big_c, h, w = y.shape
    small_c, big_h, big_w = z.shape
    p = int(min(subspace_dim, big_c, h * w))
    e = _leading_eigenvectors(_gram(y.reshape(big_c, -1)), p)  # (C, p): leading left singular vectors

    # the ADMM loop runs in float32 / complex64 (scipy.fft keeps single precision)
    fft2 = lambda a: scipy.fft.rfft2(a)  # noqa: E731 - (p, H, W) -> (p, H, W//2+1)
    ifft2 = lambda a: scipy.fft.irfft2(a, s=(big_h, big_w))  # noqa: E731
    b_hat = _psf_transfer(prob.psf, r, (big_h, big_w)).astype(np.complex64)
    dh = np.zeros((big_h, big_w))
    dh[0, 0], dh[0, -1] = -1.0, 1.0  # (x D_h)[u, v] = x[u, v] - x[u, v - 1]
    dv = np.zeros((big_h, big_w))
    dv[0, 0], dv[-1, 0] = -1.0, 1.0
    dh_hat, dv_hat = np.fft.rfft2(dh).astype(np.complex64), np.fft.rfft2(dv).astype(np.complex64)
    denominator = (np.abs(b_hat) ** 2 + 1.0 + np.abs(dh_hat) ** 2 + np.abs(dv_hat) ** 2).astype(np.float32)
    b_conj, dh_conj, dv_conj = np.conj(b_hat), np.conj(dh_hat), np.conj(dv_hat)

    f32 = np.float32
    ety = (e.T @ y.reshape(big_c, -1)).reshape(p, h, w).astype(f32)  # LR data in the subspace
    re = srf_units.T @ e  # (c, p)
    v2_matrix = np.linalg.inv(lambda_m * re.T @ re + mu * np.eye(p)).astype(f32)
    v2_data = (lambda_m * (re.T @ z.reshape(small_c, -1))).reshape(p, big_h, big_w).astype(f32)
    threshold = f32(lambda_phi / mu)
    mu32 = f32(mu)

    x = (e.T @ _upsample(y, r).reshape(big_c, -1)).reshape(p, big_h, big_w).astype(f32)
    x_hat = fft2(x)
    xb, xdh, xdv = ifft2(x_hat * b_hat), ifft2(x_hat * dh_hat), ifft2(x_hat * dv_hat)
    v1, v2, v3, v4 = xb.copy(), x.copy(), xdh.copy(), xdv.copy()
    a1, a2, a3, a4 = (np.zeros_like(x) for _ in range(4))
    for _ in range(iterations):
        # X: least squares with all four splittings, diagonal in the Fourier domain
        x_hat = (
            fft2(v1 + a1) * b_conj + fft2(v2 + a2) + fft2(v3 + a3) * dh_conj + fft2(v4 + a4) * dv_conj
        ) / denominator
        x = ifft2(x_hat)
        xb, xdh, xdv = ifft2(x_hat * b_hat), ifft2(x_hat * dh_hat), ifft2(x_hat * dv_hat)
        # V1: LR-HSI data term on the sampled pixels (E has orthonormal columns)
        v1 = xb - a1
        v1[:, ::r, ::r] = (ety + mu32 * v1[:, ::r, ::r]) / (1 + mu32)
        # V2: MSI data term, a p x p solve per pixel
        v2 = np.einsum("ij,jhw->ihw", v2_matrix, v2_data + mu32 * (x - a2))
        # V3, V4: vector soft threshold (isotropic over bands and directions)
        n3, n4 = xdh - a3, xdv - a4
        norm = np.sqrt((n3**2).sum(0) + (n4**2).sum(0))
        shrink = np.maximum(norm - threshold, 0.0) / np.maximum(norm, _EPS)
        v3, v4 = n3 * shrink, n4 * shrink
        # scaled dual updates
        a1 -= xb - v1
        a2 -= x - v2
        a3 -= xdh - v3
        a4 -= xdv - v4
    return (scale * np.einsum("ij,jhw->ihw", e, x.astype(np.float64))).astype(np.float32)


# ==================================================================================================
# Registry
# ==================================================================================================
METHODS: dict[str, FusionMethod] = {
    "bicubic": bicubic,
    "linear_regression": linear_regression,
    "gsa": gsa,
    "glp_hs": glp_hs,
    "cnmf": cnmf,
    "hysure": hysure,
}
"""Short name -> baseline, all called as ``method(lr_hsi, hr_msi, ratio=None, srf=None, psf=None)``."""
