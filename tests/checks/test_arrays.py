"""Array coercion (:mod:`pfs2c2._checks.arrays`)."""

from __future__ import annotations

import numpy as np
import pytest

import pfs2c2
from pfs2c2 import _checks


def test_as_cube_and_as_chw():
    import torch

    cube = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    assert _checks.as_cube(cube, "x") is cube  # no copy
    np.testing.assert_array_equal(_checks.as_cube(torch.from_numpy(cube), "x"), cube)
    chw = _checks.as_chw(cube.transpose(1, 2, 0), "hwc", "x")
    assert chw.dtype == np.float32 and chw.flags.c_contiguous and np.array_equal(chw, cube)
    with pytest.raises(pfs2c2.InputError, match=r"x must be a 3-D cube \(H, W, C\), got shape \(3, 4\); a 2-D"):
        _checks.as_chw(cube[0], "hwc", "x")
    with pytest.raises(pfs2c2.InputError, match="layout must be"):
        _checks.as_chw(cube, "whc", "x")  # type: ignore[arg-type]
    with pytest.raises(pfs2c2.InputError, match="channels first"):
        _checks.as_cube(cube[0], "x", hint="; give it channels first")


def test_combine_mask():
    valid = np.ones((2, 3), bool)
    assert _checks.combine_mask(valid, None, (2, 3), "mask") is valid
    mask = np.array([[1, 0, 1], [1, 1, 0]])
    np.testing.assert_array_equal(_checks.combine_mask(valid, mask, (2, 3), "mask"), mask.astype(bool))
    with pytest.raises(pfs2c2.InputError, match=r"hsi_mask has shape \(3, 2\); expected the image size \(2, 3\)"):
        _checks.combine_mask(valid, mask.T, (2, 3), "hsi_mask")


def test_check_mask():
    import torch

    m = _checks.check_mask(torch.ones(4, 5), (4, 5))
    assert m.dtype == bool and m.shape == (4, 5) and m.all()
    with pytest.raises(pfs2c2.InputError, match=r"mask must have shape \(H, W\) = \(4, 5\), got \(4, 4\)"):
        _checks.check_mask(np.ones((4, 4), bool), (4, 5))
    with pytest.raises(pfs2c2.InputError, match=r"mask has no valid \(True\) pixel"):
        _checks.check_mask(np.zeros((4, 5)), (4, 5))
