"""The residual step: spread the LR residual ``LR-HSI - SpaDown(SpeUp(MSI))`` back onto the HR grid.

Two ways (``FusionConfig.residual_upsampling``):

* ``"bicubic"``: bicubic interpolation of the residual, as if every LR pixel sat at the centre of its
  ``ratio x ratio`` block (:func:`pfs2c2.physics.bicubic_upsample_tensor`).
* ``"psf"``: follows the PSF: the residual is interpolated bicubically onto the grid shifted to the PSF's
  centroid (:func:`psf_offset`, :func:`shifted_upsample`), then refined by iterative back-projection
  ``d <- d + U(r - B(d))`` (``U`` the shifted interpolation, ``B`` blur + decimation with the PSF), so that
  the correction ``d`` degrades through the PSF to the residual ``r``. For a centred PSF and no iterations
  it is the bicubic step.

Borders: an LR image made elsewhere may have been blurred with zero-filled (or otherwise unlike
the model's reflected) edges, so its outer ring(s) are darker than any blur of the MSI-side estimate
predicts. :func:`border_consistent` finds the outer LR rings that are clearly darker than predicted
(:data:`BORDER_DARKENING`, :data:`BORDER_Z`), so that their residual is left out instead of being
copied into the fused border.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..physics import bicubic_upsample_tensor, blur_downsample_tensor

__all__ = [
    "BACK_PROJECTION_ITERATIONS",
    "BORDER_DARKENING",
    "BORDER_Z",
    "border_consistent",
    "psf_offset",
    "shifted_upsample",
    "psf_residual",
    "residual_upsample",
]

#: Back-projection iterations of the ``"psf"`` residual step.
BACK_PROJECTION_ITERATIONS = 10

#: An outer LR ring at least this much darker than predicted (0.03 = 3%) may be a zero-filled edge ...
BORDER_DARKENING = 0.03

#: ... when its darkening is also this many robust standard deviations above the interior rows' and
#: columns' (:func:`border_consistent`; both limits measured on clean and zero-edge simulations).
BORDER_Z = 3.0

#: Fewest valid interior LR pixels for :func:`border_consistent` to judge the rings at all.
_MIN_INTERIOR = 16


def psf_offset(psf: torch.Tensor, ratio: int) -> tuple[float, float]:
    """``(dy, dx)``: the centroid of the combined ``(k, k)`` PSF minus its LR pixel's block centre, in HR pixels.

    An LR pixel of block ``[r i, r i + r)`` sees HR row ``r i + u - (k - r) / 2`` with weight ``psf[u, :]``,
    so its centroid row is ``r i + sum_u u psf_u - (k - r) / 2``; the block centre is ``r i + (r - 1) / 2``.
    """
    k = psf.shape[-1]
    w = psf.detach().double()
    w = w / w.sum()
    u = torch.arange(k, dtype=torch.float64)
    centre = (k - 1) / 2.0  # = (k - r) / 2 + (r - 1) / 2
    return float((w.sum(1) * u).sum()) - centre, float((w.sum(0) * u).sum()) - centre


def shifted_upsample(x: torch.Tensor, ratio: int, offset: tuple[float, float]) -> torch.Tensor:
    """Bicubic interpolation ``(N, C, h, w) -> (N, C, h r, w r)`` with LR pixel ``(i, j)`` at HR position
    ``(r i + (r - 1) / 2 + dy, r j + (r - 1) / 2 + dx)`` (edges replicated); ``offset = (0, 0)`` is
    :func:`~pfs2c2.physics.bicubic_upsample_tensor` exactly."""
    dy, dx = offset
    if dy == 0 and dx == 0:
        return bicubic_upsample_tensor(x, ratio)
    n, _, h, w = x.shape
    rows = (torch.arange(h * ratio, dtype=torch.float64) - (ratio - 1) / 2.0 - dy) / ratio  # LR coordinates
    cols = (torch.arange(w * ratio, dtype=torch.float64) - (ratio - 1) / 2.0 - dx) / ratio
    gy = (2.0 * rows + 1.0) / h - 1.0  # grid_sample's normalised coordinates (align_corners=False)
    gx = (2.0 * cols + 1.0) / w - 1.0
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)
    grid = grid.to(device=x.device, dtype=x.dtype).expand(n, -1, -1, -1)
    return F.grid_sample(x, grid, mode="bicubic", padding_mode="border", align_corners=False)


def psf_residual(
    residual: torch.Tensor,
    psf: torch.Tensor,
    ratio: int,
    mask: torch.Tensor | None = None,
    iterations: int = BACK_PROJECTION_ITERATIONS,
) -> torch.Tensor:
    """The HR correction ``d`` ``(N, C, H, W)`` whose blur + decimation by ``psf`` is the LR ``residual``
    ``(N, C, h, w)`` (on the LR pixels where ``mask``, broadcastable to it, is non-zero).

    Starts at the residual interpolated onto the PSF's centroid grid and takes ``iterations`` steps of
    back-projection ``d <- d + U(mask (r - B(d)))``, stopping early once a step no longer shrinks the LR
    error (so it never leaves more of the residual than the step before).
    """
    psf = psf.detach().to(device=residual.device, dtype=residual.dtype)
    offset = psf_offset(psf, ratio)
    if mask is not None:
        residual = residual * mask
    d = shifted_upsample(residual, ratio, offset)
    error = _lr_error(residual, d, psf, ratio, mask)
    size = float(error.square().sum())
    for _ in range(iterations):
        step = d + shifted_upsample(error, ratio, offset)
        step_error = _lr_error(residual, step, psf, ratio, mask)
        step_size = float(step_error.square().sum())
        if not step_size < size:  # stalled or diverging (e.g. at the edges): keep the last better one
            break
        d, error, size = step, step_error, step_size
    return d


def _lr_error(
    residual: torch.Tensor, d: torch.Tensor, psf: torch.Tensor, ratio: int, mask: torch.Tensor | None
) -> torch.Tensor:
    """``mask (residual - B(d))``: what the correction ``d`` leaves of the residual."""
    error = residual - blur_downsample_tensor(d, psf, ratio)
    return error if mask is None else error * mask


def residual_upsample(
    residual: torch.Tensor, psf: torch.Tensor, ratio: int, method: str, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The residual step's HR correction for ``FusionConfig.residual_upsampling`` ``method``
    (``"bicubic"`` or ``"psf"``): ``(N, C, h, w) -> (N, C, h r, w r)``."""
    if method == "psf":
        return psf_residual(residual, psf, ratio, mask)
    if mask is not None:
        residual = residual * mask
    return bicubic_upsample_tensor(residual, ratio)


def border_rings(psf_size: int, ratio: int) -> int:
    """How many outer LR rings :func:`border_consistent` examines per side: those whose footprint under a
    ``psf_size`` combined kernel crosses the image edge, plus one (the true blur may be wider)."""
    return math.ceil(max(psf_size - ratio, 0) / (2 * ratio)) + 1


def _darkening(residual: torch.Tensor, prediction: torch.Tensor, valid: torch.Tensor) -> float:
    """``a`` of the least-squares fit ``residual ~ -a * prediction`` over the valid pixels of a ring
    (``(C, n)`` values, ``(n,)`` mask): how much darker the LR image is than predicted (0.1 = 10%)."""
    r, p = residual[:, valid], prediction[:, valid]
    energy = float(p.square().sum())
    return -float((r * p).sum()) / energy if energy > 0 else 0.0


def border_consistent(
    residual: torch.Tensor,
    prediction: torch.Tensor,
    psf: torch.Tensor,
    ratio: int,
    lr_valid: torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """``(h, w)`` bool: False on the outer LR rings that are darker than the model predicts, as an LR image
    blurred with zero-filled edges is; their residual is then left out of the fused border.

    Each LR row or column ``j`` gets its darkening ``a_j`` (:func:`_darkening`: the residual fitted as
    ``-a_j`` times the prediction, over all bands and its valid pixels away from the other sides' rings).
    For each side the walk goes inward over at most :func:`border_rings` rings and marks a ring False
    while its ``a`` exceeds ``max(BORDER_DARKENING, BORDER_Z * s)``, ``s`` the robust spread (1.4826 MAD)
    of ``a`` over the interior rows and columns. All True when the image is too small to judge (fewer
    than 16 valid interior pixels). In simulations of six scenes (Gaussian blurs of FWHM 1 and 2 LR
    pixels, ratios 4 and 8, SNR none and 30 dB) zero-filled edges darkened the outer ring by 2-34%,
    clean (reflect, replicate) ones by at most 5% and 1.9 robust standard deviations.

    Args:
        residual: ``(N, C, h, w)`` LR residual ``LR-HSI - prediction``.
        prediction: ``(N, C, h, w)`` the model's LR image ``SpaDown(SpeUp(MSI))``.
        psf: the model's ``(k, k)`` combined kernel (only its size is used).
        ratio: spatial scale factor.
        lr_valid: ``(h, w)`` (or ``(1, 1, h, w)``) valid LR pixels; None: all.
    """
    h, w = residual.shape[-2:]
    keep = torch.ones(h, w, dtype=torch.bool, device=residual.device)
    rings = border_rings(int(psf.shape[-1]), ratio)
    if h <= 2 * rings or w <= 2 * rings:
        return keep
    r = residual.detach().double().reshape(-1, h, w)
    p = prediction.detach().double().reshape(-1, h, w)
    if lr_valid is None:
        valid = torch.ones(h, w, dtype=torch.bool, device=residual.device)
    else:
        valid = torch.as_tensor(lr_valid, device=residual.device).reshape(h, w) != 0
    rows, cols = slice(rings, h - rings), slice(rings, w - rings)  # a side is judged off the other sides' rings
    if int(valid[rows, cols].sum()) < _MIN_INTERIOR:
        return keep

    def darkening(index: tuple[int | slice, int | slice]) -> float | None:
        v = valid[index]
        at = (slice(None),) + index
        return _darkening(r[at], p[at], v) if bool(v.any()) else None

    inner = [darkening((i, cols)) for i in range(rings, h - rings)]
    inner += [darkening((rows, j)) for j in range(rings, w - rings)]
    values = torch.tensor([a for a in inner if a is not None], dtype=torch.float64)
    spread = 1.4826 * float((values - values.median()).abs().median())
    limit = max(BORDER_DARKENING, BORDER_Z * spread)
    sides = (
        lambda j, span: (j, span),  # top rows
        lambda j, span: (h - 1 - j, span),  # bottom rows
        lambda j, span: (span, j),  # left columns
        lambda j, span: (span, w - 1 - j),  # right columns
    )
    for side, span in zip(sides, (cols, cols, rows, rows)):
        for j in range(rings):
            a = darkening(side(j, span))
            if a is None or not a > limit:
                break
            keep[side(j, slice(None))] = False
    return keep
