"""Checks of the fusion inputs, before any training: one-line :class:`~pfs2c2.errors.InputError`\\ s.

:func:`check_fusion_inputs` takes the LR-HSI ``(C, h, w)`` and the HR-MSI ``(c, H, W)`` (numpy arrays or
tensors, channels first) plus the optional ratio and operators, and refuses, in this order:

==========================  ==========================================================================
rank / type                 an image that is not a 3-D numeric array
empty                       an image with a zero-size axis
MSI bands                   ``c < 2``: a one-band MSI is a panchromatic image, i.e. hyperspectral
                            *pansharpening*, which this HS-MS method does not do;
                            ``c >= C``: the HSI must have more bands than the MSI (swapped inputs?)
ratio                       a given ratio that is not an integer >= 2 (0, 1, negative, 2.5);
                            sizes that are not ``H = ratio * h`` and ``W = ratio * w``
SRF                         not ``(C, c)`` (with a transpose hint), NaN/Inf, a negative entry, an
                            all-zero column (an MSI band without response); same for ``srf_support``
PSF                         not a square 2-D kernel, smaller than the ratio, ``k - ratio`` odd,
                            NaN/Inf, negative, all zero, or a sum more than 1% away from 1 (a PSF
                            is a weighting: divide it by its sum)
NaN / Inf                   non-finite values, unless ``mask_nonfinite`` (CLI ``--mask-nan``)
no valid pixel              every spectrum NaN/Inf, all zero (nodata) or masked out
constant band               a band with the same value over every valid pixel (no information, and
                            it breaks the per-image normalisation): the message lists the 0-based
                            band indices to drop
negative values             no positive value; a negative value larger in magnitude than the largest
                            positive one (an unmasked fill value such as -9999, or a sign error); or
                            more than 25% of the valid values negative (standardised / mean-centred
                            data, a wrong offset). Negatives from atmospheric correction are accepted:
                            the MUUFL CASI reflectance cube has 7.4% negatives down to -21% of its
                            maximum, AVIRIS radiance cubes 1.5% at most
==========================  ==========================================================================

Masks follow :func:`pfs2c2.masks.valid_pixels`: a pixel is valid when all its bands are finite, its
spectrum is not all zero, and the optional ``hsi_mask``/``msi_mask`` say so.

The checks are cheap: a handful of vectorised passes over each image (finite test, valid-pixel mask,
per-band min and max, a count of negatives); no copy unless some pixels are invalid. Pure numpy: a
tensor is only moved to the CPU.

:func:`check_output_path` checks that an output file can be written (its directory exists and is
writable) so a command can refuse before hours of training instead of after.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .io.grids import check_ratio_value, ratio_from_shapes
from .io.writers import check_writable

__all__ = ["check_fusion_inputs", "check_output_path", "NEGATIVE_SHARE", "PSF_SUM_RTOL", "CONSTANT_RTOL"]

#: Largest accepted share of negative values among the valid values of an image.
NEGATIVE_SHARE = 0.25
#: Largest accepted relative deviation of a PSF's sum from 1.
PSF_SUM_RTOL = 0.01
#: A band whose max - min over the valid pixels is at most this times its largest magnitude is constant.
CONSTANT_RTOL = 1e-6


def check_fusion_inputs(
    lr_hsi: Any,
    hr_msi: Any,
    ratio: Any = None,
    srf: Any = None,
    psf: Any = None,
    srf_support: Any = None,
    *,
    hsi_mask: Any = None,
    msi_mask: Any = None,
    mask_nonfinite: bool = False,
) -> None:
    """Refuse fusion inputs that cannot give a meaningful result (see the module docstring).

    Args:
        lr_hsi: LR-HSI ``(C, h, w)``, numpy array or tensor.
        hr_msi: HR-MSI ``(c, H, W)``.
        ratio: the user's ratio, or ``None`` to take it from the sizes.
        srf: known ``(C, c)`` SRF or ``None``.
        psf: known ``(k, k)`` PSF or ``None``; must sum to 1 within 1%.
        srf_support: ``(C, c)`` support of the learned SRF or ``None``.
        hsi_mask, msi_mask: ``(h, w)`` / ``(H, W)`` bool, True = valid data, or ``None``.
        mask_nonfinite: accept NaN/Inf pixels (they are then treated as nodata).

    Raises:
        InputError: a one-line message naming the problem and the fix.
    """
    y = _cube(lr_hsi, "LR-HSI", "(C, h, w)")
    z = _cube(hr_msi, "HR-MSI", "(c, H, W)")
    C, c = y.shape[0], z.shape[0]
    if c < 2:
        raise InputError(
            f"the HR-MSI has {c} band: a one-band (panchromatic) image makes this hyperspectral "
            "pansharpening, which PFS2C2 (HS-MS fusion) does not do; give an MSI with at least 2 bands, "
            "or use a pansharpening method (e.g. GSA or MTF-GLP)"
        )
    if c >= C:
        raise InputError(
            f"the MSI has {c} bands and the HSI {C}: the HSI must have more bands "
            "(are the two inputs swapped, or the layout wrong?)"
        )
    if ratio is not None:
        check_ratio_value(ratio)
    r = ratio_from_shapes(y.shape[1], y.shape[2], z.shape[1], z.shape[2], ratio)
    if srf is not None:
        _check_srf(srf, C, c, "SRF")
    if srf_support is not None:
        _check_srf(srf_support, C, c, "SRF support")
    if psf is not None:
        check_known_psf(psf, r)
    for cube, name, mask, mask_name in ((y, "LR-HSI", hsi_mask, "hsi_mask"), (z, "HR-MSI", msi_mask, "msi_mask")):
        _check_values(cube, name, mask, mask_name, mask_nonfinite)


def check_output_path(path: Any) -> None:
    """Refuse an output file whose directory is missing, is a file, or is not writable.

    Call it before any computation (``pfs2c2 fuse`` writes only after training).

    Raises:
        InputError: one-line message naming the directory.
    """
    out = Path(os.fspath(path))
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InputError(f"cannot write {out}: {parent} is a file, not a directory; choose another output path")
    if not parent.exists():
        raise InputError(f"cannot write {out}: the output directory {parent} does not exist; create it first")
    check_writable(out)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _ranges(indices: np.ndarray) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"``."""
    parts, start = [], None
    for i, value in enumerate(indices.tolist()):
        if start is None:
            start = value
        if i + 1 == len(indices) or indices[i + 1] != value + 1:
            parts.append(str(start) if start == value else f"{start}-{value}")
            start = None
    return ", ".join(parts)


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _cube(x: Any, name: str, axes: str) -> np.ndarray:
    a = _numpy(x)
    if a.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold numbers, got {a.dtype} data")
    if a.ndim != 3:
        hint = "; a 2-D array is a single band: add a band axis (x[None])" if a.ndim == 2 else ""
        raise InputError(f"{name} must be a 3-D cube {axes}, got shape {a.shape}{hint}")
    if a.size == 0:
        raise InputError(f"{name} is empty (shape {a.shape}); every axis needs at least one element")
    return a


def _check_srf(m: Any, C: int, c: int, what: str) -> None:
    a = _numpy(m)
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
            "spectral responses are >= 0: clip them to 0 or fix the matrix"
        )
    empty = np.flatnonzero(~np.any(a > 0, axis=0))
    if empty.size:
        raise InputError(
            f"{what} column(s) {empty.tolist()} (0-based) are all zero: each MSI band needs a response "
            "over some HSI band; fix the matrix or drop those MSI bands"
        )


def check_psf_size(psf_size: int | None, ratio: int) -> None:
    """Refuse a learned-PSF side (``FusionConfig.psf_size``) that cannot be centred on an LR pixel."""
    if psf_size is not None and (psf_size < ratio or (psf_size - ratio) % 2):
        raise InputError(f"psf_size {psf_size} must be >= the ratio {ratio} and differ from it by an even number")


def check_known_psf(k: Any, ratio: int) -> None:
    """Refuse a given ``(k, k)`` PSF that is not square, too small, off-centre, negative, non-finite or
    more than ``PSF_SUM_RTOL`` from summing to 1 (never normalised silently). Raises InputError."""
    a = _numpy(k)
    if a.dtype.kind not in "biuf":
        raise InputError(f"PSF must hold numbers, got {a.dtype} data")
    a = a.astype(np.float64, copy=False)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.size == 0:
        raise InputError(f"PSF must be a square 2-D kernel, got shape {a.shape}")
    size = a.shape[0]
    if size < ratio:
        raise InputError(f"PSF size {size} is smaller than the ratio {ratio}; give a kernel of at least {ratio}x{ratio}")
    if (size - ratio) % 2:
        raise InputError(f"PSF size {size} minus the ratio {ratio} must be even so the kernel can be centred on an LR pixel")
    if not np.all(np.isfinite(a)) or np.any(a < 0) or a.sum() <= 0:
        raise InputError("PSF must be finite, non-negative and not all zero")
    total = float(a.sum())
    if abs(total - 1.0) > PSF_SUM_RTOL:
        raise InputError(
            f"PSF sums to {total:.6g}, not 1 (tolerance {PSF_SUM_RTOL:g}): a PSF is a weighting of the HR "
            "pixels; divide it by its sum (psf / psf.sum()) and pass it again"
        )


def _check_values(cube: np.ndarray, name: str, mask: Any, mask_name: str, mask_nonfinite: bool) -> None:
    finite = np.isfinite(cube)
    all_finite = bool(finite.all())
    if not all_finite and not mask_nonfinite:
        bad = int(finite.size - np.count_nonzero(finite))
        raise InputError(
            f"{name} contains {bad} NaN or Inf value(s); fill them, or mask them (mask_nonfinite=True, CLI --mask-nan)"
        )
    valid = finite.all(axis=0) if not all_finite else None
    del finite
    data = np.any(cube != 0, axis=0)
    valid = data if valid is None else valid & data
    if mask is not None:
        m = _numpy(mask)
        if m.shape != cube.shape[1:]:
            raise InputError(f"{mask_name} has shape {m.shape}; expected the image size {cube.shape[1:]}")
        valid &= m.astype(bool, copy=False)
    n_valid = int(np.count_nonzero(valid))
    if n_valid == 0:
        raise InputError(
            f"{name} has no valid pixel (every spectrum is NaN/Inf, all zero or masked out); check the file, "
            "its nodata value and the masks"
        )
    values = cube.reshape(cube.shape[0], -1) if n_valid == valid.size else cube[:, valid]
    lo, hi = values.min(axis=1), values.max(axis=1)
    if n_valid >= 2:
        magnitude = np.maximum(np.abs(lo), np.abs(hi)).astype(np.float64)
        constant = np.flatnonzero((hi.astype(np.float64) - lo) <= CONSTANT_RTOL * magnitude)
        if constant.size:
            raise InputError(
                f"{name} band(s) [{_ranges(constant)}] (0-based, {constant.size} of {cube.shape[0]}) are constant over the "
                f"valid pixels (e.g. value {float(lo[constant[0]]):g}): they carry no information; drop them "
                "before fusing (e.g. np.delete(cube, bands, axis=0)) or fix the file"
            )
    peak, low = float(hi.max()), float(lo.min())
    if peak <= 0:
        raise InputError(
            f"{name} has no positive value (max {peak:g}): radiance and reflectance are >= 0; check the "
            "sign, scale and offset of the file"
        )
    if low < 0:
        share = np.count_nonzero(values < 0) / values.size
        if share > NEGATIVE_SHARE:
            raise InputError(
                f"{name} has {100 * share:.1f}% negative values (min {low:g}): standardised or offset data? "
                "Give radiance or reflectance (small negatives from atmospheric correction are fine); apply "
                "the file's scale/offset"
            )
    if low < -peak:
        raise InputError(
            f"{name} has a value of {low:g}, more negative than its maximum {peak:g} is positive: an unmasked "
            "fill value (set the file's nodata value or pass a mask) or a sign/offset error"
        )
