"""Full-reference quality metrics for hyperspectral-multispectral fusion.

All functions take ``fused`` and ``reference`` as numpy arrays or torch tensors of shape
``(C, H, W)`` (channels first, same shape), an optional boolean ``mask`` of shape ``(H, W)``
(True = valid pixel), and compute in float64 on the CPU. Masked-out pixels are set to zero
before anything else, so NaN / nodata values there never reach a computation.

Conventions:

* **PSNR**: mean over bands of ``10 log10(peak_k**2 / MSE_k)`` over valid pixels, with
  ``peak_k`` the maximum of reference band ``k`` (``peak="band"``, the default) or one fixed
  value for all bands (e.g. ``peak=1.0``, as many papers do). A band with ``MSE_k = 0`` gives
  ``inf``. Always record which peak was used.
* **SAM**: mean spectral angle in **degrees** over valid pixels, skipping pixels whose reference
  or fused spectrum is all zero (NaN only if no pixel is left). Needs ``C >= 2``.
* **ERGAS**: ``100 / ratio * sqrt(mean_k (RMSE_k / mean_k(reference))**2)``, ``ratio`` the GSD
  ratio (4 for a 4x fusion; sewar uses the inverse, ``r = 0.25``).
* **RMSE**: square root of the mean squared error over all bands and valid pixels.
* **CC**: mean over bands of the Pearson correlation over valid pixels.
* **SSIM**: per band, Gaussian window (sigma 1.5, 11 x 11, K1 = 0.01, K2 = 0.03, population
  statistics, as Wang et al. 2004), ``data_range`` = max - min of the valid pixels of the
  reference band; the SSIM map is averaged over the windows lying fully inside the image and the
  valid pixels (as Wang et al.'s MATLAB code and scikit-image; torchmetrics' own reduction also
  averages its reflect-padded border, and is slow in float64, so SSIM is written here), then
  over bands.
* **UIQI**: Wang-Bovik universal image quality index on 32 x 32 sliding windows with stride 1
  (``img_qi.m`` with ``block_size=32``, the block size of the pansharpening toolbox), averaged
  over windows fully inside the image and the valid pixels, then over bands.

SSIM and UIQI are NaN when no full window fits inside the valid pixels (e.g. images smaller
than 11 x 11 or 32 x 32); SSIM and CC are NaN for a constant reference band.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage
from torchmetrics.functional.image import spectral_angle_mapper

from .._checks import check_gsd_ratio, check_mask, check_metric_pair, check_peak

__all__ = ["cc", "ergas", "evaluate", "psnr", "rmse", "sam", "ssim", "to_float64", "uiqi"]

ArrayLike = np.ndarray | torch.Tensor

SSIM_SIGMA = 1.5
SSIM_WINDOW = 11  # 2 * int(3.5 * sigma + 0.5) + 1, as scikit-image and torchmetrics
UIQI_BLOCK = 32


def to_float64(x: ArrayLike) -> torch.Tensor:
    """A float64 CPU tensor of ``x`` (numpy array or tensor; a tensor is detached), the metrics' precision."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(device="cpu", dtype=torch.float64)
    return torch.from_numpy(np.array(x, dtype=np.float64))


def _prepare(
    fused: ArrayLike, reference: ArrayLike, mask: ArrayLike | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check shapes, convert to float64 tensors and zero the masked-out pixels.

    Returns:
        ``(fused, reference, mask)`` with shapes ``(C, H, W)``, ``(C, H, W)``, ``(H, W)`` bool.
    """
    f, r = to_float64(fused), to_float64(reference)
    check_metric_pair(tuple(f.shape), tuple(r.shape))
    if mask is None:
        return f, r, torch.ones(r.shape[1:], dtype=torch.bool)
    m = torch.as_tensor(check_mask(mask, tuple(r.shape[1:])))
    return torch.where(m, f, 0.0), torch.where(m, r, 0.0), m


def _valid_pixels(fused: ArrayLike, reference: ArrayLike, mask: ArrayLike | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid pixels of both images as ``(C, N)`` float64 tensors."""
    f, r, m = _prepare(fused, reference, mask)
    if mask is None:
        return f.reshape(f.shape[0], -1), r.reshape(r.shape[0], -1)
    return f[:, m], r[:, m]


def _box_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    """Means over all ``size x size`` windows fully inside ``x``: ``(C, H, W) -> (C, H-size+1, W-size+1)``."""
    for dim in (1, 2):
        c = torch.cumsum(x, dim=dim)
        c = torch.cat([torch.zeros_like(c.narrow(dim, 0, 1)), c], dim=dim)
        n = c.shape[dim] - size
        x = (c.narrow(dim, size, n) - c.narrow(dim, 0, n)) / size
    return x


def _full_windows(mask: torch.Tensor, size: int) -> torch.Tensor:
    """``(H-size+1, W-size+1)`` bool: True where the window starting there has only valid pixels."""
    if mask.shape[0] < size or mask.shape[1] < size:
        return torch.zeros((0, 0), dtype=torch.bool)
    # a window with one invalid pixel has mean <= 1 - 1/size**2, far below the threshold
    return _box_mean(mask.to(torch.float64)[None], size)[0] > 1.0 - 1e-9


def psnr(fused: ArrayLike, reference: ArrayLike, *, mask: ArrayLike | None = None, peak: str | float = "band") -> float:
    """Peak signal-to-noise ratio in dB, averaged over bands.

    Args:
        fused: Fused image, shape ``(C, H, W)``.
        reference: Reference image, shape ``(C, H, W)``.
        mask: Optional bool array ``(H, W)``, True = valid pixel.
        peak: ``"band"`` to use the maximum of each reference band (over valid pixels), or one
            positive number used for every band (e.g. ``1.0``).

    Returns:
        Mean over bands of ``10 log10(peak_k**2 / MSE_k)``; ``inf`` if a band is error-free.

    Raises:
        InputError: On shape mismatch, a bad mask, or a bad ``peak``.
    """
    f, r = _valid_pixels(fused, reference, mask)
    mse = ((f - r) ** 2).mean(dim=1)
    check_peak(peak)
    if isinstance(peak, str):
        peaks = r.max(dim=1).values
    else:
        peaks = torch.full_like(mse, float(peak))
    # an error-free band is inf even when its peak is 0 (0 / 0 would make the whole mean NaN)
    per_band = torch.where(mse == 0, math.inf, 10 * torch.log10(peaks**2 / mse))
    return float(per_band.mean())


def sam(fused: ArrayLike, reference: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Spectral angle mapper: mean angle between fused and reference spectra, in degrees.

    Pixels whose fused or reference spectrum is all zero are skipped (torchmetrics would
    return NaN for them).

    Args:
        fused: Fused image, shape ``(C, H, W)`` with ``C >= 2``.
        reference: Reference image, shape ``(C, H, W)``.
        mask: Optional bool array ``(H, W)``, True = valid pixel.

    Returns:
        Mean spectral angle in degrees; NaN if no valid non-zero pixel is left.

    Raises:
        InputError: On shape mismatch or a bad mask.
    """
    f, r = _valid_pixels(fused, reference, mask)
    keep = (f != 0).any(dim=0) & (r != 0).any(dim=0)
    if not bool(keep.any()):
        return math.nan
    # valid pixels laid out as a (1, C, 1, N) image for torchmetrics
    angle = spectral_angle_mapper(f[None, :, None, keep], r[None, :, None, keep])
    return math.degrees(float(angle))


def ergas(fused: ArrayLike, reference: ArrayLike, ratio: float, *, mask: ArrayLike | None = None) -> float:
    """Erreur relative globale adimensionnelle de synthese.

    Args:
        fused: Fused image, shape ``(C, H, W)``.
        reference: Reference image, shape ``(C, H, W)``.
        ratio: GSD ratio between the low- and high-resolution images (4 for a 4x fusion).
        mask: Optional bool array ``(H, W)``, True = valid pixel.

    Returns:
        ``100 / ratio * sqrt(mean_k (RMSE_k / mean_k(reference))**2)``.

    Raises:
        InputError: On shape mismatch, a bad mask, or a non-positive ratio.
    """
    check_gsd_ratio(ratio)
    f, r = _valid_pixels(fused, reference, mask)
    # torchmetrics' formula, except that an error-free band counts 0 even when its mean is 0 (an
    # all-zero band, e.g. a blanked absorption band, would otherwise make a perfect result NaN)
    rmse_k = torch.sqrt(((f - r) ** 2).mean(dim=1))
    relative = torch.where(rmse_k == 0, 0.0, rmse_k / r.mean(dim=1))
    return float(100.0 / ratio * torch.sqrt((relative**2).mean()))


def rmse(fused: ArrayLike, reference: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Root mean squared error over all bands and valid pixels.

    Args:
        fused: Fused image, shape ``(C, H, W)``.
        reference: Reference image, shape ``(C, H, W)``.
        mask: Optional bool array ``(H, W)``, True = valid pixel.

    Returns:
        ``sqrt(mean((fused - reference)**2))``.

    Raises:
        InputError: On shape mismatch or a bad mask.
    """
    f, r = _valid_pixels(fused, reference, mask)
    return float(torch.sqrt(((f - r) ** 2).mean()))


def cc(fused: ArrayLike, reference: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Cross-correlation: Pearson correlation per band over valid pixels, averaged over bands.

    Args:
        fused: Fused image, shape ``(C, H, W)``.
        reference: Reference image, shape ``(C, H, W)``.
        mask: Optional bool array ``(H, W)``, True = valid pixel.

    Returns:
        Mean Pearson correlation in ``[-1, 1]``; NaN if a band is constant.

    Raises:
        InputError: On shape mismatch or a bad mask.
    """
    f, r = _valid_pixels(fused, reference, mask)
    f = f - f.mean(dim=1, keepdim=True)
    r = r - r.mean(dim=1, keepdim=True)
    corr = (f * r).sum(dim=1) / torch.sqrt((f * f).sum(dim=1) * (r * r).sum(dim=1))
    return float(corr.mean())


def _gaussian_means(x: np.ndarray) -> np.ndarray:
    """Gaussian-weighted means (sigma 1.5, 11 x 11) of the windows fully inside ``x``.

    ``(C, H, W) -> (C, H - 10, W - 10)``; separable, so fast in float64.
    """
    half = SSIM_WINDOW // 2
    g = np.exp(-0.5 * (np.arange(-half, half + 1) / SSIM_SIGMA) ** 2)
    g /= g.sum()
    for axis in (1, 2):
        x = ndimage.correlate1d(x, g, axis=axis, mode="constant")
    return x[:, half:-half, half:-half]


def ssim(fused: ArrayLike, reference: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Structural similarity (Wang et al. 2004), per band, averaged over bands.

    Gaussian window sigma 1.5 (11 x 11), K1 = 0.01, K2 = 0.03, population statistics,
    ``data_range`` = max - min of the valid pixels of the reference band. The SSIM map is
    averaged over the windows lying fully inside the image and the valid pixels.

    Written here rather than taken from torchmetrics: its float64 SSIM is ~50x slower (a
    non-separable grouped conv2d) and its mean includes the reflect-padded border.

    Args:
        fused: Fused image, shape ``(C, H, W)``.
        reference: Reference image, shape ``(C, H, W)``.
        mask: Optional bool array ``(H, W)``, True = valid pixel.

    Returns:
        Mean SSIM; NaN if no 11 x 11 window fits inside the valid pixels.

    Raises:
        InputError: On shape mismatch or a bad mask.
    """
    f, r, m = _prepare(fused, reference, mask)
    windows = _full_windows(m, SSIM_WINDOW).numpy()
    if not windows.any():
        return math.nan
    ref_valid = r[:, m]
    data_range = (ref_valid.max(dim=1).values - ref_valid.min(dim=1).values).numpy()[:, None, None]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    fn, rn = f.numpy(), r.numpy()
    mu_f, mu_r = _gaussian_means(fn), _gaussian_means(rn)
    var_f = _gaussian_means(fn * fn) - mu_f**2
    var_r = _gaussian_means(rn * rn) - mu_r**2
    cov = _gaussian_means(fn * rn) - mu_f * mu_r
    ssim_map = ((2 * mu_f * mu_r + c1) * (2 * cov + c2)) / ((mu_f**2 + mu_r**2 + c1) * (var_f + var_r + c2))
    return float(ssim_map[:, windows].mean(axis=1).mean())


def uiqi(
    fused: ArrayLike, reference: ArrayLike, *, mask: ArrayLike | None = None, block_size: int = UIQI_BLOCK
) -> float:
    """Universal image quality index (Wang & Bovik 2002), per band, averaged over bands.

    ``Q = 4 cov(x, y) mean(x) mean(y) / ((var(x) + var(y)) (mean(x)**2 + mean(y)**2))`` on
    every ``block_size x block_size`` window (stride 1) fully inside the image and the valid
    pixels; degenerate windows are handled as in Wang's ``img_qi.m``.

    Args:
        fused: Fused image, shape ``(C, H, W)``.
        reference: Reference image, shape ``(C, H, W)``.
        mask: Optional bool array ``(H, W)``, True = valid pixel.
        block_size: Window side in pixels (32 by convention).

    Returns:
        Mean UIQI; NaN if no window fits inside the valid pixels.

    Raises:
        InputError: On shape mismatch or a bad mask.
    """
    f, r, m = _prepare(fused, reference, mask)
    windows = _full_windows(m, block_size)
    if not bool(windows.any()):
        return math.nan
    mu_f, mu_r = _box_mean(f, block_size), _box_mean(r, block_size)
    var_sum = _box_mean(f * f, block_size) - mu_f**2 + _box_mean(r * r, block_size) - mu_r**2
    cov = _box_mean(f * r, block_size) - mu_f * mu_r
    mean_sq = mu_f**2 + mu_r**2
    # img_qi.m: 1 for flat zero windows, 2 mu_f mu_r / mean_sq for flat windows, else the formula
    q = torch.ones_like(cov)
    q = torch.where((var_sum == 0) & (mean_sq != 0), 2 * mu_f * mu_r / mean_sq, q)
    denominator = var_sum * mean_sq
    q = torch.where(denominator != 0, 4 * cov * mu_f * mu_r / denominator, q)
    return float(q[:, windows].mean(dim=1).mean())


def evaluate(
    fused: ArrayLike,
    reference: ArrayLike,
    ratio: int,
    *,
    mask: ArrayLike | None = None,
    peak: str | float = "band",
) -> dict[str, float]:
    """All full-reference metrics at once (conventions in the module docstring).

    Args:
        fused: Fused image, shape ``(C, H, W)``.
        reference: Reference image, shape ``(C, H, W)``.
        ratio: GSD ratio of the fusion (4 for 4x), used by ERGAS.
        mask: Optional bool array ``(H, W)``, True = valid pixel.
        peak: PSNR peak: ``"band"`` (maximum of each reference band) or a number such as ``1.0``.

    Returns:
        Dict with keys ``psnr, sam, ergas, rmse, cc, ssim, uiqi`` (SAM in degrees).

    Raises:
        InputError: On shape mismatch, a bad mask, ratio or peak.
    """
    return {
        "psnr": psnr(fused, reference, mask=mask, peak=peak),
        "sam": sam(fused, reference, mask=mask),
        "ergas": ergas(fused, reference, ratio, mask=mask),
        "rmse": rmse(fused, reference, mask=mask),
        "cc": cc(fused, reference, mask=mask),
        "ssim": ssim(fused, reference, mask=mask),
        "uiqi": uiqi(fused, reference, mask=mask),
    }
