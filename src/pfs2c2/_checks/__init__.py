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
* output paths (:mod:`.paths`): :func:`check_writable`, :func:`check_output_path`, :func:`check_output_extension`,
  :func:`check_not_existing` (a ``FileExistsError``);
* the settings (:mod:`.settings`): :func:`check_stage`, :func:`check_config`, :func:`check_preset`,
  :func:`check_presets`, :func:`check_config_keys`, :func:`check_stage_mapping`, :func:`check_run_options`;
* the model (:mod:`.model`, module arguments and checkpoints): :func:`check_spectral_bands`,
  :func:`check_module_activation`, :func:`check_inverse_psf_shape`, :func:`check_square_psf_shape`,
  :func:`check_srf_matrix_rank`, :func:`check_support_shape`, :func:`check_checkpoint_run`,
  :func:`check_no_leftover_checkpoint`;
* tiled runs (:mod:`.tiling`): :func:`parse_memory`, :func:`format_bytes`, :func:`check_memory_budget`,
  :func:`check_overlap`, :func:`check_tile_size`, :func:`check_tile_plan`, :func:`check_blend_ramp`,
  :func:`check_sample_count`, :func:`check_tiled_run_options`, :func:`check_executor_options`,
  :func:`check_workers`, :func:`check_input_kinds`, :func:`check_work_dir_run`,
  :func:`check_tiles_with_data`, :func:`check_sample_tiles_with_data`;
* runs and commands (:mod:`.runs`, for :mod:`pfs2c2.runs` and :mod:`pfs2c2.cli`):
  :func:`check_sensor_srf_wavelengths`, :func:`check_srf_spec_rows`, :func:`check_reference_shape`,
  :func:`check_fused_reference_shape`, :func:`check_fused_inputs_shape`, :func:`check_reduced_resolution_size`,
  :func:`check_tiling_only_options`, :func:`check_validate_untiled`, :func:`check_evaluate_inputs`,
  :func:`check_ratio_given`, :func:`parse_peak`, :func:`check_manifest_row`, :func:`check_manifest_scenes`;
* shapes (:mod:`.shapes`): :func:`check_ndim`, :func:`check_same_shape`;
* georeferencing (:mod:`.grids`, for :mod:`pfs2c2.io.grids`): :func:`check_grid_shape`,
  :func:`check_crs_comparable`, :func:`check_same_crs`, :func:`check_north_up`, :func:`check_pixel_ratio`,
  :func:`check_grid_offset`, :func:`check_grid_overlap`;
* raster metadata (:mod:`.meta`, for :class:`pfs2c2.io.RasterMeta`; these raise ``ValueError``):
  :func:`check_wavelength_list`, :func:`check_finite_field`, :func:`check_transform`,
  :func:`check_fwhm_count`, :func:`check_band_field`;
* spectral responses (:mod:`.sensors`): :func:`check_n_bands`, :func:`check_wavelength_range`,
  :func:`check_wavelength_count`, :func:`check_sensor_response`, :func:`check_gaussian_bands`,
  :func:`check_gaussian_names`, :func:`check_default_bands`, :func:`check_band_selection`,
  :func:`check_support_threshold`, :func:`check_band_coverage`, :func:`check_srf_spec`,
  :func:`check_no_band_selection`, :func:`check_srf_row_count`, :func:`check_wavelengths_given`,
  :func:`check_file_found` (a ``FileNotFoundError``);
* the metrics (:mod:`.metrics`): :func:`check_metric_pair`, :func:`check_peak`, :func:`check_gsd_ratio`,
  :func:`check_noref_shapes`, :func:`check_block_size`, :func:`check_msi_like_fused`,
  :func:`check_max_bands`, :func:`check_exponent`, :func:`check_min_bands`;
* the figures (:mod:`.plots`): :func:`as_float_array`, :func:`as_float_cube`, :func:`check_scene`,
  :func:`check_lr_bands`, :func:`plot_ratio`, :func:`check_band_centres`, :func:`check_band_names`,
  :func:`check_pixels`, :func:`check_some_pixel`, :func:`check_rgb_bands`, :func:`check_stretch_limits`,
  :func:`check_report_outputs` (a ``FileExistsError``);
* the baselines (:mod:`.baselines`): :func:`baseline_ratio`, :func:`check_finite_images`,
  :func:`check_subspace_settings`, :func:`check_injection`, :func:`check_unmixing_settings`,
  :func:`check_psf_estimation_settings`, :func:`check_local_regression_settings`;
* the simulation (:mod:`.simulation`): :func:`check_reference_size`, :func:`check_srf_reduces_bands`;
* the benchmark (:mod:`.benchmark`): :func:`check_case_ratio`, :func:`check_data_file`.

Outside this package stay only: errors raised while parsing a file's contents or a command-line text
(CSV tables in :mod:`pfs2c2.sensors.tables`, file formats, a benchmark case ``scene/sensor/ratio``, the
batch manifest's CSV header, a YAML config file, a checkpoint file's format), a failed lookup in a table
the module itself holds (unknown sensor, method, scene or band name; the message names the choices),
:class:`~pfs2c2.errors.FusionError`, internal programming assertions, and the re-raising of a check's
error with its context (the tile, the manifest line) or as a CLI error (:mod:`pfs2c2.cli.errors`).

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
PSF                         not a square 2-D kernel, NaN/Inf, all zero, or a sum more than 1% away
                            from 1 (a PSF is a weighting: divide it by its sum). A kernel valid as
                            pfs2c2's combined kernel (``k >= ratio``, ``k - ratio`` even, non-negative)
                            keeps that meaning; an odd kernel that cannot be one (smaller than the
                            ratio, or ``k - ratio`` odd) is read as a blur applied before decimation
                            and converted (:func:`blur_to_combined_psf`, size ``k + ratio - 1``), with
                            negative lobes up to 25% of its positive mass; an even kernel that fits
                            neither is refused
NaN / Inf                   non-finite values, unless ``mask_nonfinite`` (CLI ``--mask-nan``)
no valid pixel              every spectrum NaN/Inf, all zero or masked out
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

The checks judge the pixels whose bands are all finite, whose spectrum is not all zero (so that a
zero-filled border does not bias the band statistics) and that the optional ``hsi_mask``/``msi_mask``
keep. Which pixels the fusion uses follows :func:`pfs2c2.masks.valid_pixels`: all-zero spectra are data
there unless the user or the file says nodata.

The checks are cheap: a handful of vectorised passes over each image (finite test, valid-pixel mask,
per-band min and max, a count of negatives); no copy unless some pixels are invalid. Pure numpy: a
tensor is only moved to the CPU.

:func:`check_output_path` checks that an output file can be written (its directory exists and is
writable) so a command can refuse before hours of training instead of after.
"""

from __future__ import annotations

from .arrays import Layout, as_chw, as_cube, check_mask, combine_mask, to_numpy
from .baselines import (
    baseline_ratio,
    check_finite_images,
    check_injection,
    check_local_regression_settings,
    check_psf_estimation_settings,
    check_subspace_settings,
    check_unmixing_settings,
)
from .benchmark import check_case_ratio, check_data_file
from .grids import (
    OFFSET_ATOL_PX,
    RATIO_RTOL,
    ROTATION_RTOL,
    check_crs_comparable,
    check_dataarray_pair,
    check_grid_offset,
    check_grid_overlap,
    check_grid_shape,
    check_north_up,
    check_pixel_ratio,
    check_same_crs,
)
from .inputs import (
    CONSTANT_RTOL,
    NEGATIVE_SHARE,
    FusionInputs,
    check_band_counts,
    check_fusion_inputs,
    check_lr_overlap,
    check_positive_peak,
)
from .meta import check_band_field, check_finite_field, check_fwhm_count, check_transform, check_wavelength_list
from .metrics import (
    check_block_size,
    check_exponent,
    check_gsd_ratio,
    check_max_bands,
    check_metric_pair,
    check_min_bands,
    check_msi_like_fused,
    check_noref_shapes,
    check_peak,
)
from .model import (
    check_checkpoint_run,
    check_inverse_psf_shape,
    check_module_activation,
    check_no_leftover_checkpoint,
    check_spectral_bands,
    check_square_psf_shape,
    check_srf_matrix_rank,
    check_support_shape,
)
from .operators import (
    PSF_CONVENTIONS,
    PSF_NEGATIVE_LOBES_MAX,
    PSF_SUM_RTOL,
    PsfConvention,
    PsfSampling,
    blur_to_combined_psf,
    check_blur_psf,
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
from .paths import check_not_existing, check_output_extension, check_output_path, check_writable
from .plots import (
    as_float_array,
    as_float_cube,
    check_band_centres,
    check_band_names,
    check_lr_bands,
    check_pixels,
    check_report_outputs,
    check_rgb_bands,
    check_scene,
    check_some_pixel,
    check_stretch_limits,
    plot_ratio,
)
from .products import (
    ALIGN_HINT,
    check_msi_bands_option,
    check_product_role,
    check_untiled_inputs,
    check_valid_overlap,
    parse_band_list,
)
from .ratio import check_ratio, infer_ratio, integer_ratio, ratio_from_shapes
from .runs import (
    check_evaluate_inputs,
    check_fused_inputs_shape,
    check_fused_reference_shape,
    check_manifest_row,
    check_manifest_scenes,
    check_ratio_given,
    check_reduced_resolution_size,
    check_reference_shape,
    check_sensor_srf_wavelengths,
    check_srf_spec_rows,
    check_tiling_only_options,
    check_validate_untiled,
    parse_peak,
)
from .sensors import (
    check_band_coverage,
    check_band_selection,
    check_default_bands,
    check_file_found,
    check_gaussian_bands,
    check_gaussian_names,
    check_n_bands,
    check_no_band_selection,
    check_sensor_response,
    check_srf_row_count,
    check_srf_spec,
    check_support_threshold,
    check_wavelength_count,
    check_wavelength_range,
    check_wavelengths_given,
)
from .settings import (
    PRESETS,
    check_config,
    check_config_keys,
    check_preset,
    check_presets,
    check_run_options,
    check_sample_budget,
    check_stage,
    check_stage_mapping,
    check_streamable_residual,
)
from .shapes import check_ndim, check_ratio_shapes, check_same_shape
from .simulation import check_psf_widths, check_reference_size, check_srf_reduces_bands
from .tiling import (
    TRAINING_MODES,
    check_blend_ramp,
    check_executor_options,
    check_input_kinds,
    check_memory_budget,
    check_overlap,
    check_sample_count,
    check_sample_memory,
    check_sample_options,
    check_sample_tiles_with_data,
    check_tile_plan,
    check_tile_size,
    check_tiled_residual,
    check_tiled_run_options,
    check_tiles_with_data,
    check_training_mode,
    check_work_dir_run,
    check_workers,
    format_bytes,
    parse_memory,
)
from .wavelengths import MAX_BACKWARD_STEPS, check_hsi_wavelengths, check_increasing_wavelengths

__all__ = [
    "ALIGN_HINT",
    "check_msi_bands_option",
    "check_product_role",
    "check_untiled_inputs",
    "check_valid_overlap",
    "parse_band_list",
    "check_dataarray_pair",
    "CONSTANT_RTOL",
    "MAX_BACKWARD_STEPS",
    "NEGATIVE_SHARE",
    "OFFSET_ATOL_PX",
    "PRESETS",
    "PSF_SUM_RTOL",
    "RATIO_RTOL",
    "ROTATION_RTOL",
    "FusionInputs",
    "Layout",
    "as_chw",
    "as_cube",
    "as_float_array",
    "as_float_cube",
    "baseline_ratio",
    "check_band_centres",
    "check_band_counts",
    "check_band_coverage",
    "check_band_field",
    "check_band_names",
    "check_band_selection",
    "check_blend_ramp",
    "check_block_size",
    "check_case_ratio",
    "check_checkpoint_run",
    "check_config",
    "check_config_keys",
    "check_crs_comparable",
    "check_data_file",
    "check_default_bands",
    "check_evaluate_inputs",
    "check_executor_options",
    "check_exponent",
    "check_file_found",
    "check_finite_field",
    "check_finite_images",
    "check_fused_inputs_shape",
    "check_fused_reference_shape",
    "check_fusion_inputs",
    "check_fwhm_count",
    "check_gaussian_bands",
    "check_gaussian_names",
    "check_grid_offset",
    "check_grid_overlap",
    "check_grid_shape",
    "check_gsd_ratio",
    "check_hsi_wavelengths",
    "check_image_fits_psf",
    "check_image_or_batch",
    "check_increasing_wavelengths",
    "check_injection",
    "check_local_regression_settings",
    "check_psf_estimation_settings",
    "check_input_kinds",
    "check_inverse_psf_shape",
    "check_kernel_size",
    "check_lr_bands",
    "check_lr_overlap",
    "check_manifest_row",
    "check_manifest_scenes",
    "check_mask",
    "check_max_bands",
    "check_memory_budget",
    "check_metric_pair",
    "check_min_bands",
    "check_module_activation",
    "check_msi_like_fused",
    "check_n_bands",
    "check_ndim",
    "check_not_existing",
    "check_no_band_selection",
    "check_no_leftover_checkpoint",
    "check_noref_shapes",
    "check_north_up",
    "check_output_extension",
    "check_output_path",
    "check_overlap",
    "check_peak",
    "check_pixel_ratio",
    "check_pixels",
    "check_positive_peak",
    "check_preset",
    "check_presets",
    "check_psf",
    "check_blur_psf",
    "blur_to_combined_psf",
    "PSF_CONVENTIONS",
    "PSF_NEGATIVE_LOBES_MAX",
    "PsfConvention",
    "PsfSampling",
    "check_psf_size",
    "check_ratio",
    "check_ratio_given",
    "check_reduced_resolution_size",
    "check_reference_shape",
    "check_psf_widths",
    "check_reference_size",
    "check_report_outputs",
    "check_rgb_bands",
    "check_run_options",
    "check_sample_budget",
    "check_sample_memory",
    "check_sample_options",
    "check_training_mode",
    "TRAINING_MODES",
    "check_streamable_residual",
    "check_same_crs",
    "check_ratio_shapes",
    "check_same_shape",
    "check_sample_count",
    "check_sample_tiles_with_data",
    "check_scene",
    "check_sensor_response",
    "check_sensor_srf_wavelengths",
    "check_sigma",
    "check_some_pixel",
    "check_spectral_bands",
    "check_square_psf_shape",
    "check_srf",
    "check_srf_matrix",
    "check_srf_matrix_rank",
    "check_srf_reduces_bands",
    "check_srf_row_count",
    "check_srf_rows",
    "check_srf_spec",
    "check_srf_spec_rows",
    "check_stage",
    "check_stage_mapping",
    "check_stretch_limits",
    "check_subspace_settings",
    "check_support_shape",
    "check_support_threshold",
    "check_tile_plan",
    "check_tile_size",
    "check_tiled_residual",
    "check_tiled_run_options",
    "check_tiles_with_data",
    "check_tiling_only_options",
    "check_transform",
    "check_unmixing_settings",
    "check_validate_untiled",
    "check_wavelength_count",
    "check_wavelength_list",
    "check_wavelength_range",
    "check_wavelengths_given",
    "check_work_dir_run",
    "check_workers",
    "check_writable",
    "combine_mask",
    "format_bytes",
    "infer_ratio",
    "integer_ratio",
    "parse_memory",
    "parse_peak",
    "plot_ratio",
    "ratio_from_shapes",
    "to_numpy",
]
