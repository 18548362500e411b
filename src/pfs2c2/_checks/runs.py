"""Checks of a run's options and files (:mod:`pfs2c2.runs`, :mod:`pfs2c2.cli`): option combinations,
operator specs, reference shapes, manifest rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = [
    "check_sensor_srf_wavelengths",
    "check_srf_spec_rows",
    "check_reference_shape",
    "check_fused_reference_shape",
    "check_fused_inputs_shape",
    "check_reduced_resolution_size",
    "check_tiling_only_options",
    "check_validate_untiled",
    "check_evaluate_inputs",
    "check_ratio_given",
    "parse_peak",
    "check_manifest_row",
    "check_manifest_scenes",
]


def check_sensor_srf_wavelengths(spec: str, has_wavelengths: bool) -> None:
    """Refuse an ``--srf`` that names a sensor (not a ``.npy/.csv/.txt/.mat`` file) without HSI band centres.

    Raises:
        InputError: asking for ``--wavelengths``.
    """
    if not has_wavelengths and not spec.lower().endswith((".npy", ".csv", ".txt", ".mat")):
        raise InputError(f"--srf {spec} is a sensor name: give the HSI band centres with --wavelengths CSV|start:stop")


def check_srf_spec_rows(spec: str, srf_rows: int, hsi_bands: int) -> None:
    """Refuse the SRF read from ``spec`` when its number of rows is not the HSI's number of bands.

    Raises:
        InputError: ``"SRF from SPEC has N rows but the HSI has C bands"``.
    """
    if srf_rows != hsi_bands:
        raise InputError(f"SRF from {spec} has {srf_rows} rows but the HSI has {hsi_bands} bands")


def check_reference_shape(reference_shape: tuple[int, ...], fused_shape: tuple[int, ...]) -> None:
    """Refuse a reference cube whose ``(C, H, W)`` shape is not the fused cube's (``pfs2c2 fuse --reference``).

    Raises:
        InputError: ``"reference has shape ... but the fused cube ..."``.
    """
    if reference_shape != fused_shape:
        raise InputError(f"reference has shape {reference_shape} but the fused cube {fused_shape}")


def check_fused_reference_shape(fused_shape: tuple[int, ...], reference_shape: tuple[int, ...]) -> None:
    """Refuse a FUSED cube and a REFERENCE of other ``(C, H, W)`` shapes (``pfs2c2 evaluate``).

    Raises:
        InputError: ``"fused cube ... and reference ... differ in shape (C, H, W)"``.
    """
    if fused_shape != reference_shape:
        raise InputError(f"fused cube {fused_shape} and reference {reference_shape} differ in shape (C, H, W)")


def check_fused_inputs_shape(
    fused_shape: tuple[int, ...], hsi_shape: tuple[int, ...], msi_shape: tuple[int, ...]
) -> None:
    """Refuse a fused ``(C, H, W)`` cube without the HSI's ``C`` bands or the MSI's ``H x W`` size.

    Raises:
        InputError: naming the three shapes.
    """
    if msi_shape[1:] != fused_shape[1:] or hsi_shape[0] != fused_shape[0]:
        raise InputError(
            f"fused cube {fused_shape} does not match the HSI {hsi_shape} bands and the MSI {msi_shape} size"
        )


def check_reduced_resolution_size(h: int, w: int, ratio: int) -> None:
    """Refuse an ``h x w`` HSI (cropped to the ratio) with fewer than 2 pixels per side once degraded by ``ratio``.

    Raises:
        InputError: the HSI is too small for the reduced-resolution check.
    """
    if h // ratio < 2 or w // ratio < 2:
        raise InputError(f"the HSI ({h}x{w}) is too small for the reduced-resolution check at ratio {ratio}")


def check_tiling_only_options(overlap: int | None, per_tile_operators: bool) -> None:
    """Refuse ``--overlap`` or ``--per-tile-operators`` on a run without any tiling option.

    Raises:
        InputError: naming the tiling options to add.
    """
    if overlap is not None or per_tile_operators:
        raise InputError(
            "--overlap and --per-tile-operators apply to tiled runs: add --tile-size, --max-memory, --workers or --scheduler"
        )


def check_validate_untiled(validate: bool, tiled: bool) -> None:
    """Refuse ``--validate`` (the reduced-resolution check) on a tiled run.

    Raises:
        InputError: the check needs the whole scene in memory.
    """
    if validate and tiled:
        raise InputError("--validate needs the whole scene in memory; run it without tiling options (e.g. on a crop)")


def check_evaluate_inputs(reference: str | None, hsi_spec: str | None, msi_spec: str | None) -> None:
    """Refuse ``pfs2c2 evaluate`` without a REFERENCE and without both ``--hsi`` and ``--msi``, or with only one of them.

    Raises:
        InputError: naming what to give.
    """
    if reference is None and not (hsi_spec and msi_spec):
        raise InputError("give a REFERENCE cube, or --hsi and --msi for the no-reference indices")
    if bool(hsi_spec) != bool(msi_spec):
        raise InputError("--hsi and --msi go together")


def check_ratio_given(ratio: int | None) -> int:
    """``ratio``; refuse a scoring against a REFERENCE without ``--ratio`` (ERGAS needs it).

    Raises:
        InputError: ``"--ratio is needed with a REFERENCE (for ERGAS)"``.
    """
    if ratio is None:
        raise InputError("--ratio is needed with a REFERENCE (for ERGAS)")
    return ratio


def parse_peak(peak: str) -> str | float:
    """``--peak``: ``"band"`` (each band's own peak) or a number (one peak for all bands).

    Raises:
        InputError: ``"--peak must be 'band' or a number, ..."``.
    """
    try:
        return "band" if peak == "band" else float(peak)
    except ValueError:
        raise InputError(f"--peak must be 'band' or a number, got {peak!r}") from None


def check_manifest_row(path: Path, number: int, row: Mapping[str, Any]) -> None:
    """Refuse manifest row ``number`` (the header is line 1) without an hsi, msi or out value.

    Raises:
        InputError: ``"manifest PATH line N: hsi, msi and out are required"``.
    """
    if not all(row.get(k) for k in ("hsi", "msi", "out")):
        raise InputError(f"manifest {path} line {number}: hsi, msi and out are required")


def check_manifest_scenes(path: Path, outputs: Sequence[str]) -> None:
    """Refuse a manifest whose rows' resolved ``outputs`` are none, or name one file twice.

    Raises:
        InputError: the manifest lists no scene / writes a file more than once.
    """
    if not outputs:
        raise InputError(f"manifest {path} lists no scene")
    dup = sorted({o for o in outputs if outputs.count(o) > 1})
    if dup:
        raise InputError(f"manifest {path} writes {dup[0]} more than once; give every scene its own output")
