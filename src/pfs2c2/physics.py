"""The forward model of HS-MS fusion: spatial blur + decimation (PSF) and spectral projection (SRF).

Conventions (the paper's Wald protocol, GUIDE section 2):

* Images are torch tensors ``(C, H, W)`` or batches ``(N, C, H, W)``; numpy arrays are accepted by the
  public functions and returned as numpy.
* The PSF is a ``(k, k)`` kernel summing to 1 (non-negative but for the lobes below). ``blur_downsample``
  is a *valid* correlation with stride ``ratio``: with ``k == ratio`` every LR pixel is the PSF-weighted mean of one
  ``ratio x ratio`` block of HR pixels. A kernel larger than the ratio is centred on the block and the
  image is reflect-padded by ``(k - ratio) / 2`` so the LR grid keeps ``H / ratio`` rows.
* What a given PSF array means (``check_psf(..., convention=...)``, used by ``fuse``, ``simulate``, the
  baselines, tiling and the CLI's ``--psf``). Write ``X`` for one HR band, ``r`` for the ratio and ``Y[i, j]``
  for the LR pixel of HR block ``[r i, r i + r) x [r j, r j + r)``.

  - *combined* (pfs2c2's own meaning, and what ``blur_downsample``, ``FusionResult.psf`` and
    ``Simulation.psf`` always hold): blur + decimation in one ``(K, K)`` kernel, ``K >= r``, ``K - r``
    even, ``Y[i, j] = sum_uv K[u, v] X[r i + u - p, r j + v - p]`` with ``p = (K - r) / 2``, i.e. the
    kernel's centre sits on the block's centre ``r i + (r - 1) / 2``.
  - *blur* (the convention of most tools): an odd ``(k, k)`` blur ``b`` applied before decimation,
    ``Y = blockmean_r(b * X)`` with ``(b * X)[y, x] = sum_st b[s, t] X[y - s + c, x - t + c]``,
    ``c = (k - 1) / 2`` (a convolution centred on ``b``'s middle entry, as ``scipy.ndimage.convolve``).
    That is the combined kernel ``K[u, v] = r^-2 sum_{m, n in [0, r)} b[m + k - 1 - u, n + k - 1 - v]``
    (``b`` = 0 outside) of size ``K = k + r - 1`` (:func:`combined_psf`, ``sampling="box"``: an LR
    detector pixel integrating its footprint). With ``sampling="point"`` the blurred image is sampled at
    HR pixel ``(r i + r // 2, r j + r // 2)``: the block's centre for odd ``r``, half an HR pixel below
    and right of it for even ``r``; the kernel is then ``b`` flipped, placed there and zero-padded to the
    smallest ``K >= r`` with ``K - r`` even (``K = max(r, k)`` for odd ``r``, ``max(r, k + 1)`` for even).
  - *auto* (the default): an array valid as a combined kernel keeps that meaning (results stay as they
    were); an odd one that cannot be (``k < r`` or ``k - r`` odd) is read as a blur and converted, with a
    ``UserWarning``. A blur whose size differs from ``r`` by an even number is therefore read as
    combined: pass ``combined_psf(b, r)`` (or ``convention="blur"``) to be explicit.

  Under *blur* and *auto* a given PSF may have small negative lobes (ringing of a sinc-like kernel): at
  most ``PSF_NEGATIVE_LOBES_MAX`` (25 %) of its positive mass, summing to 1 all the same. Under
  *combined* it is non-negative, and a learned (blind) PSF always is.
* The SRF is a ``(C_hsi, C_msi)`` matrix; ``MSI = HSI @ SRF`` per pixel, i.e. MSI band ``j`` is
  ``sum_i SRF[i, j] * HSI[i]``. Columns sum to 1 when HSI and MSI share radiometric units.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import (
    PsfSampling,
    blur_to_combined_psf,
    check_blur_psf,
    check_image_fits_psf,
    check_image_or_batch,
    check_kernel_size,
    check_ratio,
    check_sigma,
    check_srf_rows,
)

FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))  # 1 / 2.35482

ArrayLike = np.ndarray | torch.Tensor

__all__ = [
    "FWHM_TO_SIGMA",
    "ArrayLike",
    "gaussian_psf",
    "combined_psf",
    "blur_downsample_tensor",
    "blur_downsample_window",
    "srf_project_tensor",
    "blur_downsample",
    "srf_project",
    "bicubic_upsample_tensor",
    "add_noise",
    "crop_to_ratio",
]


def gaussian_psf(
    ratio: int, kernel_size: int | None = None, sigma: float | None = None, fwhm: float | None = None
) -> np.ndarray:
    """Isotropic Gaussian PSF of the paper's protocol.

    Args:
        ratio: spatial scale factor between the HR and LR grids (pixels).
        kernel_size: side of the kernel in HR pixels; default ``ratio``.
        sigma: standard deviation in HR pixels; default from ``fwhm``.
        fwhm: full width at half maximum in HR pixels; default ``ratio`` (sigma = ratio / 2.35482).

    Returns:
        ``(k, k)`` float64 kernel, non-negative, summing to 1.

    Raises:
        ValueError: if a size is not positive or the kernel is smaller than the ratio.
    """
    ratio = check_ratio(ratio, minimum=1)
    k = ratio if kernel_size is None else int(kernel_size)
    check_kernel_size(k, ratio)
    if sigma is None:
        sigma = (ratio if fwhm is None else float(fwhm)) * FWHM_TO_SIGMA
    check_sigma(sigma)
    offsets = np.arange(k) - (k - 1) / 2.0
    # measured from the central sample, so a narrow sigma cannot underflow every weight to 0 (0/0 = NaN)
    g = np.exp(-(offsets**2 - np.min(offsets**2)) / (2.0 * sigma**2))
    kernel = np.outer(g, g)
    return kernel / kernel.sum()


def combined_psf(blur: ArrayLike, ratio: int, *, sampling: PsfSampling = "box") -> np.ndarray:
    """The one kernel that "blur with ``blur``, then decimate by ``ratio``" is (see the module docstring).

    Args:
        blur: ``(k, k)`` blur applied before decimation, ``k`` odd, summing to 1 (within 1 %); small
            negative lobes allowed.
        ratio: decimation factor.
        sampling: ``"box"``: each LR pixel is the mean of its ``ratio x ratio`` block of the blurred image
            (size ``k + ratio - 1``); ``"point"``: the blurred image's value at HR pixel
            ``ratio * i + ratio // 2`` of each block.

    Returns:
        ``(K, K)`` float64 combined kernel summing to 1, ``K - ratio`` even, for :func:`blur_downsample`.

    Raises:
        InputError: a blur that is not an odd square kernel summing to 1, or a bad ratio or sampling.
    """
    ratio = check_ratio(ratio, minimum=1)
    kernel = blur_to_combined_psf(check_blur_psf(blur, sum_to_one=True), ratio, sampling)
    return kernel / kernel.sum()


def _as_batch(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    check_image_or_batch(tuple(x.shape))
    if x.ndim == 3:
        return x.unsqueeze(0), True
    return x, False


def blur_downsample_tensor(x: torch.Tensor, psf: torch.Tensor, ratio: int) -> torch.Tensor:
    """Blur every band with ``psf`` and keep one pixel per ``ratio x ratio`` block (differentiable).

    Args:
        x: ``(C, H, W)`` or ``(N, C, H, W)`` with H and W divisible by ``ratio``.
        psf: ``(k, k)`` combined kernel, ``k >= ratio`` and ``k - ratio`` even (a blur applied before
            decimation is converted by :func:`combined_psf`).
        ratio: integer scale factor.

    Returns:
        ``(C, H / ratio, W / ratio)`` or ``(N, C, H / ratio, W / ratio)``.
    """
    xb, squeeze = _as_batch(x)
    n, c, h, w = xb.shape
    k = psf.shape[-1]
    check_image_fits_psf(h, w, k, ratio)
    pad = (k - ratio) // 2
    if pad:
        xb = F.pad(xb.reshape(n * c, 1, h, w), (pad, pad, pad, pad), mode="reflect").reshape(
            n, c, h + 2 * pad, w + 2 * pad
        )
    out = blur_downsample_window(xb, psf, ratio)
    return out[0] if squeeze else out


def blur_downsample_window(x: torch.Tensor, psf: torch.Tensor, ratio: int) -> torch.Tensor:
    """Blur + decimation of an HR window that already holds the PSF's halo, without padding.

    Args:
        x: ``(N, C, ratio * h + k - ratio, ratio * w + k - ratio)``: the HR pixels of ``h x w`` LR pixels
            plus ``(k - ratio) / 2`` on every side (how :func:`blur_downsample_tensor` pads the whole image,
            or real neighbours inside a scene).
        psf: ``(k, k)`` combined kernel.
        ratio: integer scale factor.

    Returns:
        ``(N, C, h, w)``.
    """
    n, c, hp, wp = x.shape
    k = psf.shape[-1]
    if k == ratio:  # non-overlapping blocks: a tensor contraction, much faster than conv2d backward on CPU
        blocks = x.reshape(n, c, hp // ratio, ratio, wp // ratio, ratio)
        return torch.einsum("ncyaxb,ab->ncyx", blocks, psf.to(x.dtype))
    out = F.conv2d(x.reshape(n * c, 1, hp, wp), psf.reshape(1, 1, k, k).to(x.dtype), stride=ratio)
    return out.reshape(n, c, out.shape[-2], out.shape[-1])


def srf_project_tensor(x: torch.Tensor, srf: torch.Tensor) -> torch.Tensor:
    """Project HSI bands onto MSI bands: ``(.., C, H, W) x (C, c) -> (.., c, H, W)`` (differentiable)."""
    check_srf_rows(srf.shape[0], x.shape[-3])
    return torch.einsum("...chw,cm->...mhw", x, srf.to(x.dtype))


@overload
def blur_downsample(x: np.ndarray, psf: ArrayLike, ratio: int) -> np.ndarray: ...
@overload
def blur_downsample(x: torch.Tensor, psf: ArrayLike, ratio: int) -> torch.Tensor: ...
def blur_downsample(x: ArrayLike, psf: ArrayLike, ratio: int) -> ArrayLike:
    """Spatial degradation for numpy or torch input; see :func:`blur_downsample_tensor`."""
    ratio = check_ratio(ratio, minimum=1)
    if isinstance(x, torch.Tensor):
        return blur_downsample_tensor(x, torch.as_tensor(psf, device=x.device), ratio)
    out = blur_downsample_tensor(torch.from_numpy(np.asarray(x)), torch.as_tensor(np.asarray(psf)), ratio)
    return out.numpy()


@overload
def srf_project(x: np.ndarray, srf: ArrayLike) -> np.ndarray: ...
@overload
def srf_project(x: torch.Tensor, srf: ArrayLike) -> torch.Tensor: ...
def srf_project(x: ArrayLike, srf: ArrayLike) -> ArrayLike:
    """Spectral degradation for numpy or torch input; see :func:`srf_project_tensor`."""
    if isinstance(x, torch.Tensor):
        return srf_project_tensor(x, torch.as_tensor(srf, device=x.device))
    return srf_project_tensor(torch.from_numpy(np.asarray(x)), torch.as_tensor(np.asarray(srf))).numpy()


def bicubic_upsample_tensor(x: torch.Tensor, ratio: int) -> torch.Tensor:
    """Bicubic interpolation of ``(N, C, h, w)`` to ``(N, C, h*ratio, w*ratio)``; pixel centres sit at the
    centres of the ratio x ratio blocks, matching :func:`blur_downsample_tensor`'s grid."""
    return F.interpolate(x, scale_factor=ratio, mode="bicubic", align_corners=False)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise at ``snr_db`` per band: sigma_k^2 = mean(x_k^2) / 10^(snr/10).

    Args:
        x: ``(C, H, W)`` array.
    """
    power = np.mean(x.astype(np.float64) ** 2, axis=(1, 2), keepdims=True)
    sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return (x + sigma * rng.standard_normal(x.shape)).astype(x.dtype)


def crop_to_ratio(x: np.ndarray, ratio: int) -> np.ndarray:
    """Crop a ``(C, H, W)`` cube so that H and W are multiples of ``ratio`` (top-left kept)."""
    h, w = x.shape[-2:]
    return x[..., : h - h % ratio, : w - w % ratio]
