"""Checks of the classical methods' inputs (:mod:`pfs2c2._checks.baselines`)."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError


def test_baseline_ratio_names_the_argument():
    assert _checks.baseline_ratio(4, 4, 16, 16, None) == 4
    with pytest.raises(InputError, match=r"^ratio=2 contradicts the image sizes") as info:
        _checks.baseline_ratio(4, 4, 16, 16, 2)
    assert "--ratio" not in str(info.value)


def test_check_finite_images():
    _checks.check_finite_images(np.ones((3, 2, 2)), np.ones((2, 4, 4)))
    with pytest.raises(InputError, match="lr_hsi or hr_msi contains NaN or inf; fill or crop"):
        _checks.check_finite_images(np.ones((3, 2, 2)), np.full((2, 4, 4), np.inf))


def test_check_subspace_settings():
    _checks.check_subspace_settings(10, 100, 0.05, 1.0, 0.0)
    with pytest.raises(InputError, match="subspace_dim and iterations must be positive, mu > 0"):
        _checks.check_subspace_settings(10, 100, 0.0, 1.0, 0.0)


def test_check_injection():
    _checks.check_injection("hpm")
    with pytest.raises(InputError, match="injection must be 'hpm' or 'regression', got 'x'"):
        _checks.check_injection("x")


def test_check_unmixing_settings():
    _checks.check_unmixing_settings(4, 2, 10)
    with pytest.raises(InputError, match="n_endmembers, outer_iterations and inner_iterations must be positive"):
        _checks.check_unmixing_settings(4, 0, 10)
