"""Parametric forms of a learned PSF: a few parameters the data can pin down instead of ``k * k``.

:class:`GaussianPSF` renders an anisotropic, rotated Gaussian with a sub-pixel offset on a ``k x k``
combined kernel (blur + decimation in one, :mod:`pfs2c2.physics`), integrated over each HR pixel (the
mean of a ``supersample x supersample`` grid of point samples inside the pixel), summing to 1. Its
five parameters are the offset ``(dy, dx)`` of the Gaussian's centre from the kernel's centre
``(k - 1) / 2`` in HR pixels, the log of its two standard deviations (HR pixels, along its own axes)
and its rotation (radians). It starts centred and isotropic with FWHM = ratio.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..physics import FWHM_TO_SIGMA

__all__ = ["GaussianPSF", "centroid_window", "render_gaussian_psf"]

#: Point samples per HR pixel side when a Gaussian is integrated over the pixel.
SUPERSAMPLE = 4


def render_gaussian_psf(
    size: int,
    offset: torch.Tensor,
    log_sigma: torch.Tensor,
    angle: torch.Tensor,
    supersample: int = SUPERSAMPLE,
) -> torch.Tensor:
    """A ``(size, size)`` pixel-integrated anisotropic Gaussian, non-negative, summing to 1.

    Args:
        size: kernel side ``k`` in HR pixels.
        offset: ``(2,)`` ``(dy, dx)`` of the centre from the kernel's centre ``(k - 1) / 2``, HR pixels.
        log_sigma: ``(2,)`` log standard deviations along the Gaussian's axes, HR pixels.
        angle: ``()`` rotation of the first axis from the row axis, radians.
        supersample: point samples per pixel side (their mean is the pixel's value).

    Differentiable in ``offset``, ``log_sigma`` and ``angle``; float64 when they are.
    """
    dtype = offset.dtype
    sub = (torch.arange(supersample, dtype=dtype) + 0.5) / supersample - 0.5  # sample offsets in a pixel
    pos = (torch.arange(size, dtype=dtype)[:, None] + sub[None, :]).reshape(-1) - (size - 1) / 2.0
    y = pos[:, None] - offset[0]
    x = pos[None, :] - offset[1]
    cos, sin = torch.cos(angle), torch.sin(angle)
    a, b = cos * y + sin * x, -sin * y + cos * x
    sigma = torch.exp(log_sigma)
    q = -0.5 * ((a / sigma[0]) ** 2 + (b / sigma[1]) ** 2)
    g = torch.exp(q - q.max().detach())  # from the peak, so a narrow Gaussian cannot underflow to 0/0
    g = g.reshape(size, supersample, size, supersample).mean(dim=(1, 3))
    return g / g.sum()


class GaussianPSF(nn.Module):
    """A learned anisotropic Gaussian PSF on a ``size x size`` kernel (see :func:`render_gaussian_psf`).

    Args:
        size: kernel side ``k`` in HR pixels.
        ratio: scale factor; the start is centred and isotropic with FWHM = ``ratio``.

    Parameters: ``offset (2,)``, ``log_sigma (2,)``, ``angle ()``. Calling it gives the ``(k, k)`` kernel.
    """

    def __init__(self, size: int, ratio: int) -> None:
        super().__init__()
        self.size = size
        self.offset = nn.Parameter(torch.zeros(2))
        self.log_sigma = nn.Parameter(torch.full((2,), math.log(ratio * FWHM_TO_SIGMA)))
        self.angle = nn.Parameter(torch.zeros(()))

    def forward(self) -> torch.Tensor:
        """The current ``(k, k)`` kernel, float32, non-negative, summing to 1."""
        kernel = render_gaussian_psf(self.size, self.offset.double(), self.log_sigma.double(), self.angle.double())
        return kernel.float()


def centroid_window(psf: np.ndarray, ratio: int) -> np.ndarray:
    """The ``(ratio, ratio)`` window of a ``(k, k)`` PSF around its centroid (clipped to the kernel).

    For a centred PSF it is the central block (what :class:`~pfs2c2.model.modules.SpatialUp` crops);
    for a shifted one it moves with the PSF's mass, so an inverse built from it follows the shift.
    """
    w = np.asarray(psf, dtype=np.float64)
    k = w.shape[0]
    u = np.arange(k)
    w = w / w.sum()
    starts = []
    for profile in (w.sum(1), w.sum(0)):
        centroid = float((profile * u).sum())
        starts.append(int(np.clip(round(centroid - (ratio - 1) / 2.0), 0, k - ratio)))
    return w[starts[0] : starts[0] + ratio, starts[1] : starts[1] + ratio]
