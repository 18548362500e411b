"""Runs from files: what ``pfs2c2 fuse`` and ``pfs2c2 batch`` do around :func:`pfs2c2.fuse`, as library functions.

The command line only parses options and calls these, so Python users get the same run::

    from pfs2c2 import fuse, runs

    pair = runs.read_pair("hsi.tif", "msi.tif")            # grids matched, both cropped to the overlap
    ops = runs.resolve_operators(pair.hsi_meta, pair.msi_meta, pair.hsi.shape[0], wavelengths="400:1000")
    config, run = runs.load_settings("default", seed=1)
    print(runs.reduced_resolution_check(pair.hsi, pair.msi, ratio=pair.ratio, config=config, run=run))
    result = fuse(pair.hsi, pair.msi, ratio=pair.ratio, srf_support=ops.srf_support, config=config, run=run)
    runs.write_fused("fused.tif", result.fused, runs.output_meta(pair.hsi_meta, pair.msi_meta, ops.wavelengths), overwrite=False)
    runs.write_run_outputs(result, "fused.tif", inputs=runs.RunInputs("hsi.tif", "msi.tif"), wavelengths=ops.wavelengths)

* :mod:`~pfs2c2.runs.inputs`: the grid-matched pair of files, the configuration, the operators, the output metadata;
* :mod:`~pfs2c2.runs.products`: product inputs (EnMAP, PRISMA, Sentinel-2, EMIT), alignment, the masks that travel;
* :mod:`~pfs2c2.runs.quality`: scores, the no-reference policy, the reduced-resolution (Wald) check;
* :mod:`~pfs2c2.runs.outputs`: psf.csv, srf.csv, history.csv, config.yaml, run.json, metrics.json;
* :mod:`~pfs2c2.runs.sampled`: when a run trains on a sample of the scene, its memory plan, and the run;
* :mod:`~pfs2c2.runs.tiled`: when a run is tiled, and its scene job;
* :mod:`~pfs2c2.runs.manifest`: batch manifests.
"""

from __future__ import annotations

from .inputs import (
    InputPair,
    Operators,
    Warn,
    hsi_wavelengths,
    load_settings,
    output_meta,
    psf_from_spec,
    read_file_pair,
    resolve_operators,
    srf_from_spec,
    support_from_metadata,
)
from .manifest import MANIFEST_COLUMNS, OPERATOR_COLUMNS, read_manifest
from .outputs import (
    SIDECAR_NAMES,
    RunInputs,
    Sidecars,
    absolute_spec,
    checkpoint_path,
    history_csv,
    may_replace_outputs,
    read_history_csv,
    run_record,
    tiling_record,
    write_fused,
    write_npy,
    write_operators,
    write_run_outputs,
    write_text,
)
from .products import (
    InputSource,
    RunPair,
    align_inputs,
    aligned_config,
    masked_output,
    masks_record,
    product_operator_specs,
    read_inputs,
    read_pair,
)
from .quality import (
    REDUCED_RESOLUTION_PROTOCOL,
    no_reference_scores,
    reduced_resolution_check,
    reference_scores,
    scoring_mask,
)
from .sampled import (
    SamplePlan,
    Training,
    choose_training,
    fuse_sampled,
    plan_sample,
    training_mode,
    whole_only_inputs,
)
from .tiled import tiled_job, tiled_scene

__all__ = [
    "SamplePlan",
    "Training",
    "choose_training",
    "fuse_sampled",
    "plan_sample",
    "training_mode",
    "whole_only_inputs",
    "InputPair",
    "Operators",
    "Warn",
    "hsi_wavelengths",
    "load_settings",
    "output_meta",
    "psf_from_spec",
    "read_pair",
    "read_file_pair",
    "read_inputs",
    "RunPair",
    "InputSource",
    "align_inputs",
    "aligned_config",
    "masks_record",
    "masked_output",
    "product_operator_specs",
    "resolve_operators",
    "srf_from_spec",
    "support_from_metadata",
    "MANIFEST_COLUMNS",
    "OPERATOR_COLUMNS",
    "read_manifest",
    "SIDECAR_NAMES",
    "RunInputs",
    "Sidecars",
    "absolute_spec",
    "checkpoint_path",
    "history_csv",
    "may_replace_outputs",
    "read_history_csv",
    "run_record",
    "tiling_record",
    "write_fused",
    "write_npy",
    "write_operators",
    "write_run_outputs",
    "write_text",
    "REDUCED_RESOLUTION_PROTOCOL",
    "no_reference_scores",
    "reduced_resolution_check",
    "reference_scores",
    "scoring_mask",
    "tiled_job",
    "tiled_scene",
]
