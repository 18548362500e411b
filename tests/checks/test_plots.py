"""Figure input checks and coercions (:mod:`pfs2c2._checks.plots`)."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError

FUSED = np.ones((3, 8, 8), dtype=np.float32)


def test_as_float_array_and_cube():
    assert _checks.as_float_array([1, 2]).dtype == np.float64
    assert _checks.as_float_array(FUSED).dtype == np.float32
    assert _checks.as_float_cube(np.ones((3, 2, 2), dtype=np.int16), "cube").dtype == np.float64
    with pytest.raises(InputError, match=r"cube must be a 3-D cube \(C, H, W\) \(channels first\).*np.moveaxis"):
        _checks.as_float_cube(np.ones((2, 2, 2, 2)), "cube")


def test_check_scene():
    _checks.check_scene(np.ones((3, 2, 2)), np.ones((2, 8, 8)), FUSED, FUSED)
    with pytest.raises(InputError, match=r"fused \(3, 8, 8\) and reference \(3, 8, 4\) must have the same"):
        _checks.check_scene(np.ones((3, 2, 2)), np.ones((2, 8, 8)), FUSED, np.ones((3, 8, 4)))
    with pytest.raises(InputError, match=r"lr_hsi has 2 bands but fused has 3; both are \(C, ...\) HSI cubes"):
        _checks.check_scene(np.ones((2, 2, 2)), np.ones((2, 8, 8)), FUSED, None)
    with pytest.raises(InputError, match=r"hr_msi \(2, 8, 4\) and fused \(3, 8, 8\) must share the HR grid"):
        _checks.check_scene(np.ones((3, 2, 2)), np.ones((2, 8, 4)), FUSED, None)


def test_check_lr_bands():
    _checks.check_lr_bands(np.ones((3, 2, 2)), 3)
    with pytest.raises(InputError, match="^lr_hsi has 2 bands but fused has 3$"):
        _checks.check_lr_bands(np.ones((2, 2, 2)), 3)


def test_plot_ratio():
    assert _checks.plot_ratio((3, 2, 2), (3, 8, 8), None) == 4
    assert _checks.plot_ratio((3, 2, 2), (3, 8, 8), 4.0) == 4
    with pytest.raises(InputError, match=r"cannot infer the ratio from lr_hsi \(3, 3, 3\) and fused \(3, 8, 8\)"):
        _checks.plot_ratio((3, 3, 3), (3, 8, 8), None)


def test_check_band_centres():
    assert _checks.check_band_centres(None, 3, "wl") is None
    assert _checks.check_band_centres([1, 2, 3], 3, "wl").dtype == np.float64
    with pytest.raises(InputError, match=r"wl has 2 values but the image has 3 bands; give one centre \(nm\)"):
        _checks.check_band_centres([1, 2], 3, "wl")


def test_check_band_names():
    _checks.check_band_names(None, 2)
    _checks.check_band_names(["a", "b"], 2)
    with pytest.raises(InputError, match="band_names has 1 names for 2 MSI bands"):
        _checks.check_band_names(["a"], 2)


def test_check_pixels():
    assert _checks.check_pixels([(1, 2)], 8, 8) == [(1, 2, "")]
    with pytest.raises(InputError, match=r"pixel \(8, 0\) is outside the 8×8 image"):
        _checks.check_pixels([(8, 0)], 8, 8)
    with pytest.raises(InputError, match=r"pixels must name at least one \(row, col\)"):
        _checks.check_pixels([], 8, 8)


def test_check_some_pixel():
    _checks.check_some_pixel([(0, 0, "")])
    with pytest.raises(InputError, match=r"pixels must name at least one \(row, col\)"):
        _checks.check_some_pixel([])


def test_check_rgb_bands():
    assert _checks.check_rgb_bands([2, 1, -1], 3) == (2, 1, -1)
    with pytest.raises(InputError, match=r"bands must be three indices \(red, green, blue\), got \[0, 1\]"):
        _checks.check_rgb_bands([0, 1], 3)
    with pytest.raises(InputError, match="band index 3 is out of range for a cube with 3 bands"):
        _checks.check_rgb_bands([0, 1, 3], 3)


def test_check_stretch_limits():
    _checks.check_stretch_limits(np.zeros((3, 2)))
    with pytest.raises(InputError, match=r"limits must have shape \(3, 2\) \(low, high per channel\), got \(2, 2\)"):
        _checks.check_stretch_limits(np.zeros((2, 2)))


def test_check_report_outputs(tmp_path):
    (tmp_path / "report.png").write_bytes(b"")
    _checks.check_report_outputs(tmp_path, ["report.png"], True)
    _checks.check_report_outputs(tmp_path, ["psf.png"], False)
    with pytest.raises(FileExistsError, match="already holds report.png; pass overwrite=True to replace them"):
        _checks.check_report_outputs(tmp_path, ["report.png", "psf.png"], False)
