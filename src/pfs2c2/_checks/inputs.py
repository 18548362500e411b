"""Checks of the fusion inputs, before any training (the refusal table is in :mod:`pfs2c2._checks`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .arrays import as_cube, combine_mask
from .operators import PsfConvention, check_psf, check_srf
from .ratio import ratio_from_shapes

__all__ = [
    "NEGATIVE_SHARE",
    "CONSTANT_RTOL",
    "FusionInputs",
    "check_fusion_inputs",
    "check_band_counts",
    "check_positive_peak",
    "check_lr_overlap",
]

#: Largest accepted share of negative values among the valid values of an image.
NEGATIVE_SHARE = 0.25
#: A band whose max - min over the valid pixels is at most this times its largest magnitude is constant.
CONSTANT_RTOL = 1e-6


@dataclass(frozen=True)
class FusionInputs:
    """What :func:`check_fusion_inputs` resolved.

    Attributes:
        ratio: the spatial ratio (given, or from the sizes).
        srf: the known ``(C, c)`` SRF as float64, or None.
        srf_support: the ``(C, c)`` SRF support as float64, or None.
        psf: the known ``(k, k)`` PSF as float64 divided by its sum, or None.
    """

    ratio: int
    srf: np.ndarray | None
    srf_support: np.ndarray | None
    psf: np.ndarray | None


def check_band_counts(hsi_bands: int, msi_bands: int, *, min_msi_bands: int = 2) -> None:
    """Refuse an MSI with fewer than ``min_msi_bands`` bands (default 2: a one-band MSI is a panchromatic
    image, i.e. pansharpening, which PFS2C2 does not do) or with as many bands as the HSI.

    Raises:
        InputError: ``"... (panchromatic) ..."`` or ``"... the HSI must have more bands, the MSI fewer bands ..."``.
    """
    C, c = hsi_bands, msi_bands
    if c < min_msi_bands:
        raise InputError(
            f"the HR-MSI has {c} band: a one-band (panchromatic) image makes this hyperspectral "
            "pansharpening, which PFS2C2 (HS-MS fusion) does not do; give an MSI with at least 2 bands, "
            "or use a pansharpening method (e.g. GSA or MTF-GLP)"
        )
    if c >= C:
        raise InputError(
            f"the MSI has {c} bands and the HSI {C}: the HSI must have more bands, the MSI fewer bands "
            "(are the two inputs swapped, or the layout wrong?)"
        )


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
    psf_convention: PsfConvention = "auto",
) -> FusionInputs:
    """Refuse fusion inputs that cannot give a meaningful result (see :mod:`pfs2c2._checks`).

    Args:
        lr_hsi: LR-HSI ``(C, h, w)``, numpy array or tensor.
        hr_msi: HR-MSI ``(c, H, W)``.
        ratio: the user's ratio, or ``None`` to take it from the sizes.
        srf: known ``(C, c)`` SRF or ``None``.
        psf: known ``(k, k)`` PSF or ``None``; must sum to 1 within 1%.
        srf_support: ``(C, c)`` support of the learned SRF or ``None``.
        hsi_mask, msi_mask: ``(h, w)`` / ``(H, W)`` bool, True = valid data, or ``None``.
        mask_nonfinite: accept NaN/Inf pixels (they are then treated as nodata).

    Returns:
        The resolved ratio and the checked operators (:class:`FusionInputs`).

    Raises:
        InputError: a one-line message naming the problem and the fix.
    """
    y = as_cube(lr_hsi, "LR-HSI", "(C, h, w)")
    z = as_cube(hr_msi, "HR-MSI", "(c, H, W)")
    C, c = y.shape[0], z.shape[0]
    check_band_counts(C, c)
    r = ratio_from_shapes(y.shape[1], y.shape[2], z.shape[1], z.shape[2], ratio)
    srf_known = None if srf is None else check_srf(srf, C, c, "SRF")
    support = None if srf_support is None else check_srf(srf_support, C, c, "SRF support")
    psf_known = None if psf is None else check_psf(psf, r, sum_to_one=True, convention=psf_convention)
    for cube, name, mask, mask_name in ((y, "LR-HSI", hsi_mask, "hsi_mask"), (z, "HR-MSI", msi_mask, "msi_mask")):
        _check_values(cube, name, mask, mask_name, mask_nonfinite)
    return FusionInputs(r, srf_known, support, psf_known)


def check_positive_peak(x: np.ndarray, valid: np.ndarray) -> float:
    """The largest value of a ``(C, H, W)`` image over its ``(H, W)`` valid pixels (the normalisation scale).

    Raises:
        InputError: the image has no positive value there.
    """
    peak = float(np.max(x[:, valid])) if valid.any() else 0.0
    if peak <= 0:
        raise InputError("an input image is all zero or negative; check the file and its scaling")
    return peak


def check_lr_overlap(lr_valid: np.ndarray) -> None:
    """Refuse a problem where no LR pixel is valid in the HSI together with its whole MSI block.

    Raises:
        InputError: one line naming nodata values and the overlap of the images.
    """
    if not lr_valid.any():
        raise InputError("no LR pixel has valid data in both images; check nodata values and that the images overlap")


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
    valid = combine_mask(valid, mask, cube.shape[1:], mask_name)
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
                f"{name} band(s) [{_ranges(constant)}] (0-based, {constant.size} of {cube.shape[0]}) are constant "
                f"over the valid pixels (e.g. value {float(lo[constant[0]]):g}): they carry no information; drop "
                "them before fusing (e.g. np.delete(cube, bands, axis=0)) or fix the file"
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
