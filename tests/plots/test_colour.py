"""Tests for pfs2c2.plots.colour: RGB band choice, the shared stretch and true-colour images."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2 import plots

from .conftest import RATIO, C, H, W


def test_rgb_bands_with_and_without_wavelengths() -> None:
    wl = np.linspace(400, 1000, 61)  # 10 nm steps
    assert plots.rgb_bands(wl, 61) == (25, 15, 6)  # 650, 550, 460 nm
    assert plots.rgb_bands(None, 101) == (75, 50, 25)
    assert plots.rgb_bands(None, 1) == (0, 0, 0)
    assert plots.msi_rgb_bands(None, 4) == (2, 1, 0)
    assert plots.msi_rgb_bands(None, 2) == (1, 1, 0)
    assert plots.msi_rgb_bands([485, 560, 660, 830], 4) == (2, 1, 0)
    with pytest.raises(ValueError, match="one centre"):
        plots.rgb_bands(wl[:10], 61)


def test_true_colour_range_shape_and_shared_stretch(case: dict) -> None:
    bands = plots.rgb_bands(case["hsi_wavelengths"], C)
    rgb = plots.true_colour(case["fused"], bands)
    assert rgb.shape == (H, W, 3)
    assert np.isfinite(rgb).all() and rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert rgb.min() == 0.0 and rgb.max() == 1.0  # 2-98 % stretch saturates the tails

    lim = plots.stretch_limits(case["reference"], bands)
    assert lim.shape == (3, 2) and np.all(lim[:, 1] > lim[:, 0])
    # same limits -> the same cube gives the same image, and a brighter cube a brighter one
    ref_rgb = plots.true_colour(case["reference"], bands, lim)
    np.testing.assert_array_equal(ref_rgb, plots.true_colour(case["reference"], bands))
    brighter = plots.true_colour(case["reference"] + 0.05, bands, lim)
    assert brighter.mean() > ref_rgb.mean()
    # the LR-HSI with the reference's limits is in the same range
    lr_rgb = plots.true_colour(case["lr_hsi"], bands, lim)
    assert lr_rgb.shape == (H // RATIO, W // RATIO, 3)
    assert 0.0 <= lr_rgb.min() and lr_rgb.max() <= 1.0


def test_true_colour_nan_and_constant() -> None:
    cube = np.ones((3, 8, 8))
    cube[:, 2, 3] = np.nan
    rgb = plots.true_colour(cube, (0, 1, 2))
    assert np.isfinite(rgb).all() and rgb.min() >= 0 and rgb.max() <= 1
    np.testing.assert_array_equal(rgb[2, 3], [1.0, 1.0, 1.0])  # nodata painted white
    all_nan = np.full((3, 4, 4), np.nan)
    np.testing.assert_array_equal(plots.stretch_limits(all_nan, (0, 1, 2)), [[0, 1]] * 3)
    with pytest.raises(ValueError, match="channels first"):
        plots.true_colour(np.ones((8, 8)), (0, 0, 0))
