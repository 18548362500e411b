"""The operators: an SRF ``(C, c)`` matrix, a PSF ``(k, k)`` kernel (given, learned or Gaussian), and the
images they apply to (:mod:`pfs2c2.physics`)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np

from ..errors import InputError
from .arrays import to_numpy

__all__ = [
    "PSF_SUM_RTOL",
    "check_srf",
    "check_srf_matrix",
    "PSF_CONVENTIONS",
    "PSF_NEGATIVE_LOBES_MAX",
    "PsfConvention",
    "PsfSampling",
    "check_psf",
    "check_blur_psf",
    "blur_to_combined_psf",
    "check_psf_size",
    "check_kernel_size",
    "check_sigma",
    "check_image_or_batch",
    "check_image_fits_psf",
    "check_srf_rows",
]

#: Largest accepted relative deviation of a PSF's sum from 1 (``check_psf(..., sum_to_one=True)``).
PSF_SUM_RTOL = 0.01

#: What a PSF array means (:func:`check_psf`): ``"combined"`` blur + decimation in one kernel, ``"blur"`` a
#: blur applied before decimation, ``"auto"`` combined where the size allows it, else blur.
PsfConvention = Literal["auto", "combined", "blur"]
PSF_CONVENTIONS: tuple[str, ...] = ("auto", "combined", "blur")

#: How a blur is decimated (:func:`blur_to_combined_psf`): block mean or one sample per block.
PsfSampling = Literal["box", "point"]

#: Largest accepted negative mass of a PSF (``convention`` "blur" or "auto"), as a fraction of its positive
#: mass: the ringing of a sinc-like kernel. A separable kernel about doubles its 1-D lobes in 2-D, so 10 %
#: would refuse the 9x9 separable Lanczos-2 sinc (17.6 %); sharpening kernels (a 3x3 unsharp mask of
#: centre 2, edges -0.25: 50 %; the Laplacian sharpen: 80 %) stay refused.
PSF_NEGATIVE_LOBES_MAX = 0.25


def check_srf(m: Any, hsi_bands: int, msi_bands: int, what: str = "SRF") -> np.ndarray:
    """A ``(C, c)`` SRF (or SRF support) matrix as float64: numeric, of that shape, finite, non-negative,
    no all-zero column.

    Args:
        m: the matrix (numpy array, list or tensor).
        hsi_bands, msi_bands: ``C`` and ``c``.
        what: its name in the messages (``"SRF"``, ``"SRF support"``).

    Raises:
        InputError: one line naming the problem (a transposed matrix gets ``": transpose it"``).
    """
    C, c = hsi_bands, msi_bands
    a = to_numpy(m)
    if a.dtype.kind not in "biuf":
        raise InputError(f"{what} must hold numbers, got {a.dtype} data")
    a = a.astype(np.float64, copy=False)
    if a.shape != (C, c):
        hint = ": transpose it" if a.shape == (c, C) else " (one row per HSI band, one column per MSI band)"
        raise InputError(f"{what} has shape {a.shape}; expected (HSI bands, MSI bands) = ({C}, {c}){hint}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what} contains NaN or Inf; give a finite (HSI bands, MSI bands) matrix")
    if np.any(a < 0):
        i, j = np.unravel_index(int(np.argmin(a)), a.shape)
        raise InputError(
            f"{what} has negative entries (min {a[i, j]:g} at HSI band {i}, MSI band {j}, 0-based); "
            "spectral responses are non-negative: clip them to 0 or fix the matrix"
        )
    empty = np.flatnonzero(~np.any(a > 0, axis=0))
    if empty.size:
        raise InputError(
            f"{what} column(s) {empty.tolist()} (0-based) are all zero: each MSI band needs a response "
            "over some HSI band; fix the matrix or drop those MSI bands"
        )
    return a


def check_srf_matrix(m: Any, what: str) -> np.ndarray:
    """An SRF matrix read from a file, of any ``(bands_HSI, bands_MSI)`` shape, as a float64 copy.

    Entries down to ``-1e-9`` times the largest magnitude (rounding in a CSV) are clipped to 0.

    Args:
        m: the matrix.
        what: where it came from (a file name), prefixed to every message.

    Raises:
        InputError: not 2-D or empty, NaN/Inf, negative entries, an all-zero column.
    """
    a = np.array(m, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"{what}: an SRF matrix must have shape (bands_HSI, bands_MSI), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what}: the SRF matrix contains NaN or inf")
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    if np.any(a < -1e-9 * scale):
        raise InputError(f"{what}: the SRF matrix has negative entries (min {a.min():g}); responses must be >= 0")
    a = np.clip(a, 0.0, None)
    zero_cols = np.flatnonzero(~np.any(a > 0, axis=0))
    if zero_cols.size:
        raise InputError(
            f"{what}: SRF column(s) {zero_cols.tolist()} are all zero (of {a.shape[1]}); every MSI "
            "band needs some response"
        )
    return a


def check_psf(k: Any, ratio: int, *, sum_to_one: bool = False, convention: PsfConvention = "auto") -> np.ndarray:
    """A ``(k, k)`` PSF for ``ratio`` as the float64 *combined* kernel (blur + decimation), divided by its sum.

    What the array means (:mod:`pfs2c2.physics` states the formulas):

    * ``"combined"``: blur + decimation in one kernel, pfs2c2's own meaning: ``k >= ratio``, ``k - ratio``
      even, non-negative; returned as given (normalised).
    * ``"blur"``: a blur of odd size applied *before* decimation (the convention of most tools); it is
      converted to the one combined kernel "blur, then ``ratio x ratio`` block mean" of size
      ``k + ratio - 1`` (:func:`blur_to_combined_psf`, box sampling).
    * ``"auto"`` (default): a kernel that is valid as a combined kernel keeps that meaning (so results are
      unchanged); one that can only be a blur (odd ``k`` with ``k - ratio`` odd, or odd ``k < ratio``) is
      converted as under ``"blur"``, with a :class:`UserWarning` naming the convention applied.

    Under ``"blur"`` and ``"auto"`` small negative lobes (ringing of a sinc-like kernel) are accepted: the
    negative entries may hold at most :data:`PSF_NEGATIVE_LOBES_MAX` of the positive mass.

    Args:
        k: the kernel (numpy array, list or tensor).
        ratio: the spatial ratio it is used at.
        sum_to_one: also refuse a kernel whose sum is more than :data:`PSF_SUM_RTOL` from 1 (a PSF given
            to :func:`pfs2c2.fuse` or :func:`pfs2c2.simulate` is never normalised silently).
        convention: what ``k`` means, see above.

    Returns:
        ``(k', k')`` float64 combined kernel summing to 1, ``k' >= ratio`` and ``k' - ratio`` even.

    Raises:
        InputError: not numeric, not a square 2-D kernel, a size that fits neither convention (smaller than
            the ratio or ``k - ratio`` odd for a combined kernel, even for a blur), NaN/Inf, all zero,
            negative (beyond small lobes where allowed); with ``sum_to_one``, a sum away from 1.
    """
    if convention not in PSF_CONVENTIONS:
        raise InputError(f"PSF convention must be one of {', '.join(PSF_CONVENTIONS)}, got {convention!r}")
    a = _square_kernel(k)
    size = a.shape[0]
    as_combined = size >= ratio and (size - ratio) % 2 == 0
    if convention == "combined" or (convention == "auto" and (as_combined or size % 2 == 0)):
        hint = "" if convention == "combined" else "; a blur applied before decimation needs an odd size"
        if size < ratio:
            raise InputError(
                f"PSF size {size} is smaller than the ratio {ratio}; give a kernel of at least {ratio}x{ratio}{hint}"
            )
        if (size - ratio) % 2:
            raise InputError(
                f"PSF size {size} minus the ratio {ratio} must be even so the kernel can be centred on an LR "
                f"pixel{hint}"
            )
        a = _checked_weights(a, sum_to_one, lobes=convention == "auto")
        return a / a.sum()
    combined = blur_to_combined_psf(check_blur_psf(a, sum_to_one=sum_to_one), ratio)
    if convention == "auto":
        reason = "smaller than the ratio" if size < ratio else "of a size that differs from the ratio by an odd number"
        warnings.warn(
            f"PSF of size {size} at ratio {ratio} is {reason}, so it is read as a blur applied before decimation "
            f"(convention 'blur') and used as the {combined.shape[0]}x{combined.shape[0]} combined kernel: blur, "
            f"then {ratio}x{ratio} block mean (pfs2c2.physics.combined_psf); pass that kernel to keep this explicit",
            UserWarning,
            stacklevel=2,
        )
    return combined / combined.sum()


def check_blur_psf(k: Any, *, sum_to_one: bool = False) -> np.ndarray:
    """A blur PSF (applied before decimation) as a float64 ``(k, k)`` kernel divided by its sum.

    Raises:
        InputError: not numeric, not square, an even size (no centre pixel), NaN/Inf, all zero, negative
            lobes above :data:`PSF_NEGATIVE_LOBES_MAX` of the positive mass; with ``sum_to_one``, a sum
            more than :data:`PSF_SUM_RTOL` from 1.
    """
    a = _square_kernel(k)
    size = a.shape[0]
    if size % 2 == 0:
        raise InputError(
            f"PSF size {size} is even: a blur applied before decimation needs an odd size so that it has a centre "
            "pixel; give an odd kernel, or a combined blur + decimation kernel with convention 'combined'"
        )
    a = _checked_weights(a, sum_to_one, lobes=True)
    return a / a.sum()


def blur_to_combined_psf(blur: np.ndarray, ratio: int, sampling: PsfSampling = "box") -> np.ndarray:
    """The combined kernel of "convolve with ``blur``, then decimate by ``ratio``" (no checks; see
    :func:`pfs2c2.physics.combined_psf`, which checks ``blur`` and documents the formulas).

    Args:
        blur: ``(k, k)`` kernel, ``k`` odd, applied as a convolution centred on its middle entry.
        ratio: the decimation factor.
        sampling: ``"box"`` (the mean of each ``ratio x ratio`` block) or ``"point"`` (the value at HR
            pixel ``ratio * i + ratio // 2`` of each block).

    Returns:
        ``(k', k')`` float64 kernel for :func:`pfs2c2.physics.blur_downsample`, ``k' - ratio`` even: box
        ``k' = k + ratio - 1``; point ``k' = max(ratio, k)`` (odd ratio) or ``max(ratio, k + 1)`` (even).
    """
    b = np.asarray(blur, dtype=np.float64)[::-1, ::-1]  # a convolution is a correlation with the flipped kernel
    k, half = b.shape[0], (b.shape[0] - 1) // 2
    if sampling == "box":
        out = np.zeros((k + ratio - 1, k + ratio - 1))
        for m in range(ratio):
            for n in range(ratio):
                out[m : m + k, n : n + k] += b
        return out / ratio**2
    if sampling != "point":
        raise InputError(f"PSF sampling must be 'box' or 'point', got {sampling!r}")
    first = ratio // 2 - half  # HR offset of the kernel's first entry from the block's first pixel
    pad = max(0, -first, first + k - ratio)  # the operator's padding (k' - ratio) / 2
    out = np.zeros((ratio + 2 * pad, ratio + 2 * pad))
    out[first + pad : first + pad + k, first + pad : first + pad + k] = b
    return out


def _square_kernel(k: Any) -> np.ndarray:
    a = to_numpy(k)
    if a.dtype.kind not in "biuf":
        raise InputError(f"PSF must hold numbers, got {a.dtype} data")
    a = a.astype(np.float64, copy=False)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.size == 0:
        raise InputError(f"PSF must be a square 2-D kernel, got shape {a.shape}")
    return a


def _checked_weights(a: np.ndarray, sum_to_one: bool, *, lobes: bool) -> np.ndarray:
    """``a`` if finite, not all zero, with a positive sum and no negative entry (``lobes``: negative entries
    up to :data:`PSF_NEGATIVE_LOBES_MAX` of the positive mass); with ``sum_to_one``, summing to 1."""
    if not np.all(np.isfinite(a)) or a.sum() <= 0 or (not lobes and np.any(a < 0)):
        raise InputError("PSF must be finite, non-negative and not all zero")
    negative, positive = float(-a[a < 0].sum()), float(a[a > 0].sum())
    if negative > PSF_NEGATIVE_LOBES_MAX * positive:
        raise InputError(
            f"PSF must be finite, non-negative and not all zero: its negative lobes hold {negative / positive:.1%} "
            f"of its positive mass, more than the {PSF_NEGATIVE_LOBES_MAX:.0%} a ringing (sinc-like) kernel may "
            "have; clip it to 0 and divide it by its sum"
        )
    if sum_to_one:
        total = float(a.sum())
        if abs(total - 1.0) > PSF_SUM_RTOL:
            raise InputError(
                f"PSF sums to {total:.6g}, not 1 (tolerance {PSF_SUM_RTOL:g}): a PSF is a weighting of the HR "
                "pixels; divide it by its sum (psf / psf.sum()) and pass it again"
            )
    return a


def check_psf_size(psf_size: int | str | None, ratio: int) -> None:
    """Refuse a learned-PSF side (``FusionConfig.psf_size``) that cannot be centred on an LR pixel."""
    if isinstance(psf_size, str):
        if psf_size != "auto":
            raise InputError(f"psf_size must be an integer, None or 'auto', got {psf_size!r}")
        return
    if psf_size is not None and (psf_size < ratio or (psf_size - ratio) % 2):
        raise InputError(f"psf_size {psf_size} must be >= the ratio {ratio} and differ from it by an even number")


def check_kernel_size(kernel_size: int, ratio: int) -> None:
    """Refuse a Gaussian PSF kernel (:func:`pfs2c2.physics.gaussian_psf`) smaller than the ratio."""
    if kernel_size < ratio:
        raise InputError(
            f"PSF kernel size {kernel_size} is smaller than the ratio {ratio}; use a kernel of at least {ratio}"
        )


def check_sigma(sigma: float) -> None:
    """Refuse a Gaussian PSF width (HR pixels) that is not positive (or NaN)."""
    if not sigma > 0:
        raise InputError(f"PSF sigma must be positive, got {sigma}")


def check_image_or_batch(shape: tuple[int, ...]) -> None:
    """Refuse a tensor that is neither an image ``(C, H, W)`` nor a batch ``(N, C, H, W)``."""
    if len(shape) not in (3, 4):
        raise InputError(f"expected an image (C, H, W) or batch (N, C, H, W), got shape {tuple(shape)}")


def check_image_fits_psf(h: int, w: int, kernel_size: int, ratio: int) -> None:
    """Refuse an ``h x w`` image that :func:`pfs2c2.physics.blur_downsample` cannot degrade with a
    ``kernel_size`` PSF at ``ratio``: sizes not divisible by the ratio, or (kernel larger than the ratio)
    too few pixels for the reflect padding of ``(kernel_size - ratio) / 2``."""
    if h % ratio or w % ratio:
        raise InputError(f"image size {h}x{w} is not divisible by the ratio {ratio}; crop it to a multiple of {ratio}")
    if kernel_size == ratio:
        return
    pad = (kernel_size - ratio) // 2
    if pad >= min(h, w):
        raise InputError(
            f"image size {h}x{w} is too small for a {kernel_size}x{kernel_size} PSF at ratio {ratio}: the reflect "
            f"padding of {pad} pixels needs at least {pad + 1} rows and columns; use a larger image or a smaller kernel"
        )


def check_srf_rows(srf_rows: int, bands: int) -> None:
    """Refuse an SRF whose number of rows is not the image's number of bands."""
    if bands != srf_rows:
        raise InputError(f"SRF has {srf_rows} rows but the image has {bands} bands")
