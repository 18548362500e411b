"""Tests for pfs2c2.plots.figures: every figure builds and has the expected artists."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from pfs2c2 import plots

from .conftest import RATIO, C, H, W, c, gaussian_psf


def _lines(fig: Figure) -> list[int]:
    return [len(ax.lines) for ax in fig.axes]


def test_quicklooks(case: dict) -> None:
    fig = plots.quicklooks(
        case["lr_hsi"],
        case["hr_msi"],
        case["fused"],
        case["reference"],
        case["hsi_wavelengths"],
        case["msi_wavelengths"],
    )
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert all(len(ax.images) == 1 for ax in fig.axes)
    # LR-HSI is drawn at its own resolution over the HR extent (nearest, blocks visible)
    lr_img = fig.axes[0].images[0]
    assert lr_img.get_array().shape[:2] == (H // RATIO, W // RATIO)
    assert lr_img.get_interpolation() == "nearest"
    assert lr_img.get_extent() == [-0.5, W - 0.5, H - 0.5, -0.5]
    fig3 = plots.quicklooks(case["lr_hsi"], case["hr_msi"], case["fused"])
    assert len(fig3.axes) == 3
    with pytest.raises(ValueError, match="HR grid"):
        plots.quicklooks(case["lr_hsi"], case["hr_msi"][:, :16], case["fused"])


def test_error_maps(case: dict) -> None:
    fig = plots.error_maps(case["fused"], case["reference"])
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 2 and len(fig.axes) == 4  # two maps + two colorbars
    rmse_map = images[0].images[0].get_array()
    assert rmse_map.shape == (H, W)
    np.testing.assert_allclose(rmse_map.mean(), 0.01, rtol=0.1)
    with pytest.raises(ValueError, match="same"):
        plots.error_maps(case["fused"], case["reference"][:, :16])


def test_error_maps_nan_blank(case: dict) -> None:
    fused = case["fused"].copy()
    fused[:, 3:6, 4:9] = np.nan
    fig = plots.error_maps(fused, case["reference"])
    for ax in (ax for ax in fig.axes if ax.images):
        arr = ax.images[0].get_array()
        assert np.ma.isMaskedArray(arr)
        assert arr.mask[3:6, 4:9].all() and not arr.mask[10:, 10:].any()


def test_per_band_metrics_matches_metrics_module(case: dict) -> None:
    fig = plots.per_band_metrics(case["fused"], case["reference"], case["hsi_wavelengths"])
    assert len(fig.axes) == 2 and _lines(fig) == [1, 1]
    x, psnr = fig.axes[0].lines[0].get_data()
    np.testing.assert_allclose(x, case["hsi_wavelengths"])
    metrics = pytest.importorskip("pfs2c2.metrics")
    expected = metrics.psnr(case["fused"], case["reference"])  # peak = band max, mean over bands
    np.testing.assert_allclose(np.mean(psnr), expected, rtol=1e-6)
    # without wavelengths the x axis is the band index
    fig = plots.per_band_metrics(case["fused"], case["reference"])
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), np.arange(C))


def test_spectra(case: dict) -> None:
    fig = plots.spectra(case["fused"], case["reference"], case["lr_hsi"], wavelengths=case["hsi_wavelengths"])
    assert len(fig.axes) == 4 and _lines(fig) == [3, 3, 3, 3]
    assert [ln.get_linestyle() for ln in fig.axes[0].lines] == ["-", "--", ":"]
    # the LR line is the LR pixel containing the HR pixel
    fig = plots.spectra(case["fused"], lr_hsi=case["lr_hsi"], pixels=[(9, 30)], ratio=RATIO)
    assert len(fig.axes) == 1 and _lines(fig) == [2]
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), case["lr_hsi"][:, 2, 7])
    fig = plots.spectra(case["fused"], pixels=[(0, 0), (1, 1), (2, 2)])
    assert len(fig.axes) == 3 and _lines(fig) == [1, 1, 1]
    with pytest.raises(ValueError, match="outside"):
        plots.spectra(case["fused"], pixels=[(H, 0)])
    with pytest.raises(ValueError, match="ratio"):
        plots.spectra(case["fused"], lr_hsi=case["lr_hsi"][:, :5])


def test_psf_figure(case: dict) -> None:
    fig = plots.psf_figure(case["psf"], case["true_psf"])
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 2
    assert len(images[0].texts) == 25  # values annotated for k <= 8
    profile = [ax for ax in fig.axes if ax.lines]
    assert len(profile) == 1 and len(profile[0].lines) == 2
    fig = plots.psf_figure(gaussian_psf(11, 3.0))
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 1 and len(images[0].texts) == 0  # no annotation for k > 8
    assert sum(_lines(fig)) == 1


def test_srf_figure(case: dict) -> None:
    fig = plots.srf_figure(case["srf"], case["hsi_wavelengths"])
    assert len(fig.axes) == 1 and _lines(fig) == [c]
    fig = plots.srf_figure(case["srf"], case["hsi_wavelengths"], case["true_srf"], band_names=["B", "G", "R", "NIR"])
    assert _lines(fig) == [2 * c]
    lines = fig.axes[0].lines
    assert [ln.get_linestyle() for ln in lines[:2]] == ["-", "--"]
    # visible bands drawn in their colour: blue, green, red
    from matplotlib.colors import to_rgb

    assert to_rgb(lines[0].get_color()) == to_rgb("tab:blue")
    assert to_rgb(lines[4].get_color()) == to_rgb("tab:red")
    assert plots.srf_figure(case["srf"]).axes[0].get_xlabel() == "HSI band index"
    with pytest.raises(ValueError, match="same"):
        plots.srf_figure(case["srf"], true_srf=case["true_srf"][:, :2])


def test_loss_curves(case: dict) -> None:
    fig = plots.loss_curves(case["history"])
    assert len(fig.axes) == 3
    assert _lines(fig) == [3, 3, 3]  # total + 2 terms
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    only_13 = [r for r in case["history"] if r["stage"] != 2]
    assert len(plots.loss_curves(only_13).axes) == 2
    empty = plots.loss_curves([])
    assert len(empty.axes) == 1 and empty.axes[0].texts


def test_torch_inputs(case: dict) -> None:
    torch = pytest.importorskip("torch")
    fig = plots.quicklooks(
        torch.from_numpy(case["lr_hsi"]), torch.from_numpy(case["hr_msi"]), torch.from_numpy(case["fused"])
    )
    assert len(fig.axes) == 3
    assert len(plots.psf_figure(torch.from_numpy(case["psf"]).requires_grad_()).axes) >= 2
