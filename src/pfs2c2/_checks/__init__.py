"""Every refusal and coercion of the package, once: one-line :class:`~pfs2c2.errors.InputError`\\ s.

Each check has one function here; every other module calls it instead of keeping a copy. Import
from ``pfs2c2._checks`` (the submodules are an implementation detail):

* arrays (:mod:`.arrays`): :func:`to_numpy`, :func:`as_cube`, :func:`as_chw`, :func:`combine_mask`,
  :func:`check_mask`;
* the ratio (:mod:`.ratio`): :func:`check_ratio`, :func:`integer_ratio`, :func:`ratio_from_shapes`,
  :func:`infer_ratio`;
* the operators (:mod:`.operators`): :func:`check_srf`, :func:`check_srf_matrix`, :func:`check_psf`,
  :func:`check_psf_size`, and for :mod:`pfs2c2.physics` :func:`check_kernel_size`, :func:`check_sigma`,
  :func:`check_image_or_batch`, :func:`check_image_fits_psf`, :func:`check_srf_rows`;
* the fusion inputs (:mod:`.inputs`): :func:`check_fusion_inputs`, :func:`check_band_counts`,
  :func:`check_positive_peak`, :func:`check_lr_overlap`;
* wavelengths (:mod:`.wavelengths`): :func:`check_hsi_wavelengths`, :func:`check_increasing_wavelengths`;
* output paths (:mod:`.paths`): :func:`check_writable`, :func:`check_output_path`;
* the settings (:mod:`.settings`): :func:`check_stage`, :func:`check_config`.

This layer imports only :mod:`pfs2c2.errors` and numpy (a tensor is recognised by its ``detach``
method and only moved to the CPU), so every layer above may use it.

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

from .arrays import Layout, as_chw, as_cube, check_mask, combine_mask, to_numpy
from .inputs import (
    CONSTANT_RTOL,
    NEGATIVE_SHARE,
    FusionInputs,
    check_band_counts,
    check_fusion_inputs,
    check_lr_overlap,
    check_positive_peak,
)
from .operators import (
    PSF_SUM_RTOL,
    check_image_fits_psf,
    check_image_or_batch,
    check_kernel_size,
    check_psf,
    check_psf_size,
    check_sigma,
    check_srf,
    check_srf_matrix,
    check_srf_rows,
)
from .paths import check_output_path, check_writable
from .ratio import check_ratio, infer_ratio, integer_ratio, ratio_from_shapes
from .settings import PRESETS, check_config, check_stage
from .wavelengths import MAX_BACKWARD_STEPS, check_hsi_wavelengths, check_increasing_wavelengths

__all__ = [
    "CONSTANT_RTOL",
    "MAX_BACKWARD_STEPS",
    "NEGATIVE_SHARE",
    "PRESETS",
    "PSF_SUM_RTOL",
    "FusionInputs",
    "Layout",
    "as_chw",
    "as_cube",
    "check_band_counts",
    "check_config",
    "check_fusion_inputs",
    "check_hsi_wavelengths",
    "check_image_fits_psf",
    "check_image_or_batch",
    "check_kernel_size",
    "check_increasing_wavelengths",
    "check_lr_overlap",
    "check_mask",
    "check_positive_peak",
    "check_output_path",
    "check_psf",
    "check_psf_size",
    "check_ratio",
    "check_sigma",
    "check_srf",
    "check_srf_matrix",
    "check_srf_rows",
    "check_stage",
    "check_writable",
    "combine_mask",
    "infer_ratio",
    "integer_ratio",
    "ratio_from_shapes",
    "to_numpy",
]
