"""The forward model of HS-MS fusion: spatial blur + decimation (PSF) and spectral projection (SRF).

Conventions (the paper's Wald protocol, GUIDE section 2):

* Images are torch tensors ``(C, H, W)`` or batches ``(N, C, H, W)``; numpy arrays are accepted by the
  public functions and returned as numpy.
* The PSF is a ``(k, k)`` kernel, non-negative, summing to 1. ``blur_downsample`` is a *valid*
  correlation with stride ``ratio``: with ``k == ratio`` every LR pixel is the PSF-weighted mean of one
  ``ratio x ratio`` block of HR pixels. A kernel larger than the ratio is centred on the block and the
  image is reflect-padded by ``(k - ratio) / 2`` so the LR grid keeps ``H / ratio`` rows.
* The SRF is a ``(C_hsi, C_msi)`` matrix; ``MSI = HSI @ SRF`` per pixel, i.e. MSI band ``j`` is
  ``sum_i SRF[i, j] * HSI[i]``. Columns sum to 1 when HSI and MSI share radiometric units.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import InputError

FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))  # 1 / 2.35482

ArrayLike = np.ndarray | torch.Tensor


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
    ratio = _check_ratio(ratio)
    k = ratio if kernel_size is None else int(kernel_size)
    if k < ratio:
        raise InputError(f"PSF kernel size {k} is smaller than the ratio {ratio}; use a kernel of at least {ratio}")
    if sigma is None:
        sigma = (ratio if fwhm is None else float(fwhm)) * FWHM_TO_SIGMA
    if not sigma > 0:
        raise InputError(f"PSF sigma must be positive, got {sigma}")
    offsets = np.arange(k) - (k - 1) / 2.0
    # measured from the central sample, so a narrow sigma cannot underflow every weight to 0 (0/0 = NaN)
    g = np.exp(-(offsets**2 - np.min(offsets**2)) / (2.0 * sigma**2))
    kernel = np.outer(g, g)
    return kernel / kernel.sum()


def check_psf(psf: ArrayLike, ratio: int) -> np.ndarray:
    """Validate a user PSF and return it as a float64 ``(k, k)`` kernel normalised to sum 1.

    Raises:
        ValueError: with a one-line message when the kernel is not square, smaller than the ratio,
            negative, non-finite or all zero.
    """
    k = np.asarray(psf.detach().cpu() if isinstance(psf, torch.Tensor) else psf, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise InputError(f"PSF must be a square 2-D kernel, got shape {k.shape}")
    if k.shape[0] < ratio:
        raise InputError(f"PSF size {k.shape[0]} is smaller than the ratio {ratio}; give a kernel of at least {ratio}x{ratio}")
    if (k.shape[0] - ratio) % 2:
        raise InputError(f"PSF size {k.shape[0]} minus the ratio {ratio} must be even so the kernel can be centred on an LR pixel")
    if not np.all(np.isfinite(k)) or np.any(k < 0) or k.sum() <= 0:
        raise InputError("PSF must be finite, non-negative and not all zero")
    return k / k.sum()


def _check_ratio(ratio: int) -> int:
    if int(ratio) != ratio or ratio < 1:
        raise InputError(f"ratio must be a positive integer, got {ratio}")
    return int(ratio)


def _as_batch(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim == 4:
        return x, False
    raise InputError(f"expected an image (C, H, W) or batch (N, C, H, W), got shape {tuple(x.shape)}")


def blur_downsample_tensor(x: torch.Tensor, psf: torch.Tensor, ratio: int) -> torch.Tensor:
    """Blur every band with ``psf`` and keep one pixel per ``ratio x ratio`` block (differentiable).

    Args:
        x: ``(C, H, W)`` or ``(N, C, H, W)`` with H and W divisible by ``ratio``.
        psf: ``(k, k)`` kernel, ``k >= ratio`` and ``k - ratio`` even.
        ratio: integer scale factor.

    Returns:
        ``(C, H / ratio, W / ratio)`` or ``(N, C, H / ratio, W / ratio)``.
    """
    xb, squeeze = _as_batch(x)
    n, c, h, w = xb.shape
    k = psf.shape[-1]
    if h % ratio or w % ratio:
        raise InputError(f"image size {h}x{w} is not divisible by the ratio {ratio}; crop it to a multiple of {ratio}")
    if k == ratio:  # non-overlapping blocks: a tensor contraction, much faster than conv2d backward on CPU
        blocks = xb.reshape(n, c, h // ratio, ratio, w // ratio, ratio)
        out = torch.einsum("ncyaxb,ab->ncyx", blocks, psf.to(xb.dtype))
        return out[0] if squeeze else out
    flat = xb.reshape(n * c, 1, h, w)
    pad = (k - ratio) // 2
    if pad >= min(h, w):
        raise InputError(
            f"image size {h}x{w} is too small for a {k}x{k} PSF at ratio {ratio}: the reflect padding of {pad} "
            f"pixels needs at least {pad + 1} rows and columns; use a larger image or a smaller kernel"
        )
    if pad:
        flat = F.pad(flat, (pad, pad, pad, pad), mode="reflect")
    out = F.conv2d(flat, psf.reshape(1, 1, k, k).to(flat.dtype), stride=ratio)
    out = out.reshape(n, c, h // ratio, w // ratio)
    return out[0] if squeeze else out


def srf_project_tensor(x: torch.Tensor, srf: torch.Tensor) -> torch.Tensor:
    """Project HSI bands onto MSI bands: ``(.., C, H, W) x (C, c) -> (.., c, H, W)`` (differentiable)."""
    if x.shape[-3] != srf.shape[0]:
        raise InputError(f"SRF has {srf.shape[0]} rows but the image has {x.shape[-3]} bands")
    return torch.einsum("...chw,cm->...mhw", x, srf.to(x.dtype))


@overload
def blur_downsample(x: np.ndarray, psf: ArrayLike, ratio: int) -> np.ndarray: ...
@overload
def blur_downsample(x: torch.Tensor, psf: ArrayLike, ratio: int) -> torch.Tensor: ...
def blur_downsample(x: ArrayLike, psf: ArrayLike, ratio: int) -> ArrayLike:
    """Spatial degradation for numpy or torch input; see :func:`blur_downsample_tensor`."""
    ratio = _check_ratio(ratio)
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


class BlurDownsample(nn.Module):
    """Fixed spatial degradation as a module: ``(N, C, H, W) -> (N, C, H/r, W/r)``."""

    def __init__(self, psf: ArrayLike, ratio: int) -> None:
        super().__init__()
        self.ratio = _check_ratio(ratio)
        self.register_buffer("psf", torch.as_tensor(check_psf(psf, self.ratio), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return blur_downsample_tensor(x, self.psf, self.ratio)


class SpectralProject(nn.Module):
    """Fixed spectral degradation as a module: ``(N, C, H, W) -> (N, c, H, W)``."""

    def __init__(self, srf: ArrayLike) -> None:
        super().__init__()
        self.register_buffer("srf", torch.as_tensor(np.asarray(srf, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return srf_project_tensor(x, self.srf)


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
