"""The run and command checks (:mod:`pfs2c2._checks.runs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pfs2c2 import InputError, _checks


def _refused(message: str, check, *args, **kwargs) -> None:
    with pytest.raises(InputError) as info:
        check(*args, **kwargs)
    assert str(info.value) == message


def test_check_sensor_srf_wavelengths():
    _refused(
        "--srf sentinel2 is a sensor name: give the HSI band centres with --wavelengths CSV|start:stop",
        _checks.check_sensor_srf_wavelengths,
        "sentinel2",
        False,
    )
    _checks.check_sensor_srf_wavelengths("sentinel2", True)
    _checks.check_sensor_srf_wavelengths("srf.CSV", False)


def test_check_srf_spec_rows():
    _refused("SRF from s.npy has 12 rows but the HSI has 10 bands", _checks.check_srf_spec_rows, "s.npy", 12, 10)
    _checks.check_srf_spec_rows("s.npy", 10, 10)


def test_check_reference_shape():
    _refused(
        "reference has shape (3, 8, 8) but the fused cube (3, 8, 9)",
        _checks.check_reference_shape,
        (3, 8, 8),
        (3, 8, 9),
    )
    _checks.check_reference_shape((3, 8, 8), (3, 8, 8))


def test_check_fused_reference_shape():
    _refused(
        "fused cube (3, 8, 9) and reference (3, 8, 8) differ in shape (C, H, W)",
        _checks.check_fused_reference_shape,
        (3, 8, 9),
        (3, 8, 8),
    )
    _checks.check_fused_reference_shape((3, 8, 8), (3, 8, 8))


def test_check_fused_inputs_shape():
    _refused(
        "fused cube (31, 16, 16) does not match the HSI (30, 4, 4) bands and the MSI (3, 16, 16) size",
        _checks.check_fused_inputs_shape,
        (31, 16, 16),
        (30, 4, 4),
        (3, 16, 16),
    )
    _checks.check_fused_inputs_shape((31, 16, 16), (31, 4, 4), (3, 16, 16))


def test_check_reduced_resolution_size():
    _refused(
        "the HSI (4x12) is too small for the reduced-resolution check at ratio 4",
        _checks.check_reduced_resolution_size,
        4,
        12,
        4,
    )
    _checks.check_reduced_resolution_size(8, 8, 4)


def test_check_tiling_only_options():
    _refused(
        "--overlap and --per-tile-operators apply to tiled runs: add --tile-size, --max-memory, --workers or --scheduler",
        _checks.check_tiling_only_options,
        None,
        True,
    )
    _checks.check_tiling_only_options(None, False)


def test_check_validate_untiled():
    _refused(
        "--validate needs the whole scene in memory; run it without tiling options (e.g. on a crop)",
        _checks.check_validate_untiled,
        True,
        tiled=True,
    )
    _checks.check_validate_untiled(True, tiled=False)
    _checks.check_validate_untiled(False, tiled=True)


def test_check_evaluate_inputs():
    _refused(
        "give a REFERENCE cube, or --hsi and --msi for the no-reference indices",
        _checks.check_evaluate_inputs,
        None,
        "h.tif",
        None,
    )
    _refused("--hsi and --msi go together", _checks.check_evaluate_inputs, "ref.tif", "h.tif", None)
    _checks.check_evaluate_inputs("ref.tif", None, None)
    _checks.check_evaluate_inputs(None, "h.tif", "m.tif")


def test_check_ratio_given():
    _refused("--ratio is needed with a REFERENCE (for ERGAS)", _checks.check_ratio_given, None)
    assert _checks.check_ratio_given(4) == 4


def test_parse_peak():
    _refused("--peak must be 'band' or a number, got 'max'", _checks.parse_peak, "max")
    assert _checks.parse_peak("band") == "band" and _checks.parse_peak("255") == 255.0


def test_check_manifest_row():
    _refused(
        "manifest m.csv line 3: hsi, msi and out are required",
        _checks.check_manifest_row,
        Path("m.csv"),
        3,
        {"hsi": "a.tif", "msi": "", "out": "o.tif"},
    )
    _checks.check_manifest_row(Path("m.csv"), 3, {"hsi": "a.tif", "msi": "b.tif", "out": "o.tif"})


def test_check_manifest_scenes():
    _refused("manifest m.csv lists no scene", _checks.check_manifest_scenes, Path("m.csv"), [])
    _refused(
        "manifest m.csv writes /o/a.tif more than once; give every scene its own output",
        _checks.check_manifest_scenes,
        Path("m.csv"),
        ["/o/a.tif", "/o/b.tif", "/o/a.tif"],
    )
    _checks.check_manifest_scenes(Path("m.csv"), ["/o/a.tif", "/o/b.tif"])
