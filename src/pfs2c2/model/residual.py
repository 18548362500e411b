"""The residual step: spread the LR residual ``LR-HSI - SpaDown(SpeUp(MSI))`` back onto the HR grid.

Two ways (``FusionConfig.residual_upsampling``):

* ``"bicubic"``: bicubic interpolation of the residual, as if every LR pixel sat at the centre of its
  ``ratio x ratio`` block (:func:`pfs2c2.physics.bicubic_upsample_tensor`).
* ``"psf"``: follows the PSF: the residual is interpolated bicubically onto the grid shifted to the PSF's
  centroid (:func:`psf_offset`, :func:`shifted_upsample`), then refined by iterative back-projection
  ``d <- d + U(r - B(d))`` (``U`` the shifted interpolation, ``B`` blur + decimation with the PSF), so that
  the correction ``d`` degrades through the PSF to the residual ``r``. For a centred PSF and no iterations
  it is the bicubic step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..physics import bicubic_upsample_tensor, blur_downsample_tensor

__all__ = ["BACK_PROJECTION_ITERATIONS", "psf_offset", "shifted_upsample", "psf_residual", "residual_upsample"]

#: Back-projection iterations of the ``"psf"`` residual step.
BACK_PROJECTION_ITERATIONS = 10


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
