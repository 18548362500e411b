"""PSF families for simulation and validation (combined blur + decimation kernels).

Every kernel follows :mod:`pfs2c2.physics`: one ``(k, k)`` kernel, ``k >= ratio``, ``k - ratio`` even,
centred on the LR pixel's HR block (LR pixel ``i`` sees HR rows ``ratio * i + u - (k - ratio) / 2``).
Each family samples a continuous response at the HR pixel centres (offsets in HR pixels from the block
centre), is non-negative and sums to 1. The size is the smallest valid one that holds the response
out to ``reach`` (about 3 sigma plus the shift).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.special

from ._checks import check_psf_widths, check_ratio
from .errors import InputError
from .physics import FWHM_TO_SIGMA

__all__ = [
    "FAMILIES",
    "airy",
    "anisotropic",
    "box",
    "gaussian",
    "kernel_size",
    "moffat",
    "psf_family",
    "shifted",
    "wide",
]


def kernel_size(ratio: int, reach: float) -> int:
    """Smallest valid kernel side (``>= ratio``, ``k - ratio`` even) covering ``+-reach`` HR pixels."""
    k = max(ratio, 2 * math.ceil(reach) + 1)
    return k + (k - ratio) % 2


def _grid(ratio: int, reach: float) -> tuple[np.ndarray, np.ndarray]:
    k = kernel_size(ratio, reach)
    o = np.arange(k) - (k - 1) / 2.0
    return np.meshgrid(o, o, indexing="ij")


def _norm(kernel: np.ndarray) -> np.ndarray:
    kernel = np.clip(kernel, 0.0, None)
    return (kernel / kernel.sum()).astype(np.float64)


def anisotropic(
    ratio: int, fwhm_y: float, fwhm_x: float, angle_deg: float = 0.0, shift: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Rotated anisotropic Gaussian, FWHMs and shift ``(dy, dx)`` in HR pixels; ``(k, k)``."""
    sy, sx = fwhm_y * FWHM_TO_SIGMA, fwhm_x * FWHM_TO_SIGMA
    check_psf_widths(fwhm_y, fwhm_x)
    y, x = _grid(ratio, 3.0 * max(sy, sx) + max(abs(shift[0]), abs(shift[1])))
    y, x = y - shift[0], x - shift[1]
    a = math.radians(angle_deg)
    u, v = math.cos(a) * y + math.sin(a) * x, -math.sin(a) * y + math.cos(a) * x
    return _norm(np.exp(-0.5 * ((u / sy) ** 2 + (v / sx) ** 2)))


def gaussian(ratio: int, fwhm: float | None = None) -> np.ndarray:
    """Centred isotropic Gaussian, FWHM in HR pixels (default ``ratio``, the protocol's)."""
    f = float(ratio if fwhm is None else fwhm)
    return anisotropic(ratio, f, f)


def shifted(ratio: int, shift_lr: float = 0.25, fwhm: float | None = None, angle_deg: float = 0.0) -> np.ndarray:
    """Gaussian shifted by ``shift_lr`` LR pixels along ``angle_deg`` (0 = along rows/y)."""
    f = float(ratio if fwhm is None else fwhm)
    a = math.radians(angle_deg)
    d = shift_lr * ratio
    return anisotropic(ratio, f, f, shift=(d * math.cos(a), d * math.sin(a)))


def wide(ratio: int, factor: float = 1.75) -> np.ndarray:
    """Gaussian wider than the ratio: FWHM = ``factor * ratio`` HR pixels."""
    return gaussian(ratio, factor * ratio)


def box(ratio: int) -> np.ndarray:
    """Pixel averaging: ``ratio x ratio`` box."""
    return np.full((ratio, ratio), 1.0 / ratio**2)


def moffat(ratio: int, fwhm: float | None = None, beta: float = 2.5) -> np.ndarray:
    """Moffat profile ``(1 + (rho/alpha)^2)^-beta`` with FWHM in HR pixels (default ``ratio``)."""
    f = float(ratio if fwhm is None else fwhm)
    alpha = f / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    reach = alpha * math.sqrt(0.01 ** (-1.0 / beta) - 1.0)  # where the profile falls to 1 % of its peak
    y, x = _grid(ratio, reach)
    return _norm((1.0 + (y**2 + x**2) / alpha**2) ** (-beta))


def airy(ratio: int, fwhm: float | None = None, rings: int = 2) -> np.ndarray:
    """Airy intensity ``(2 J1(z)/z)^2`` (non-negative), FWHM in HR pixels, truncated after ``rings`` rings."""
    f = float(ratio if fwhm is None else fwhm)
    scale = 1.6163 / (f / 2.0)  # z at the half maximum is 1.6163
    zeros = scipy.special.jn_zeros(1, rings + 1)
    reach = zeros[rings] / scale
    y, x = _grid(ratio, reach)
    z = np.hypot(y, x) * scale
    safe = np.where(z == 0, 1.0, z)
    kernel = np.where(z == 0, 1.0, (2.0 * scipy.special.j1(safe) / safe) ** 2)
    return _norm(np.where(z <= zeros[rings], kernel, 0.0))


#: family name -> generator ``f(ratio, **params) -> (k, k)``.
FAMILIES: dict[str, Callable[..., np.ndarray]] = {
    "gaussian": gaussian,
    "shifted": shifted,
    "wide": wide,
    "anisotropic": anisotropic,
    "box": box,
    "moffat": moffat,
    "airy": airy,
}


def psf_family(name: str, ratio: int, **params: float) -> np.ndarray:
    """Combined ``(k, k)`` float64 kernel of family ``name`` (one of :data:`FAMILIES`) at ``ratio``."""
    if name not in FAMILIES:
        raise InputError(f"unknown PSF family {name!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name](check_ratio(ratio, minimum=1), **params)
