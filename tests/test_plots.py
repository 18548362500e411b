"""Tests for pfs2c2.plots: every figure builds, has the expected artists, and the report writes PNGs.

Set ``PFS2C2_PLOTS_PREVIEW=/some/dir`` to keep the real-data report PNGs for a look by eye.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import ndimage  # noqa: E402

from pfs2c2 import plots  # noqa: E402

C, c, H, W, RATIO = 20, 4, 32, 32, 4
DATA = Path(__file__).resolve().parents[2] / "shared/data/hsi/abu-beach-4_pavia_rosis.mat"


def _gaussian_psf(k: int, sigma: float) -> np.ndarray:
    o = np.arange(k) - (k - 1) / 2
    g = np.exp(-(o**2) / (2 * sigma**2))
    p = np.outer(g, g)
    return p / p.sum()


def _block_mean(x: np.ndarray, r: int) -> np.ndarray:
    n, h, w = x.shape
    return x.reshape(n, h // r, r, w // r, r).mean(axis=(2, 4))


def _box_srf(wl: np.ndarray, edges: list[tuple[float, float]]) -> np.ndarray:
    srf = np.zeros((wl.size, len(edges)))
    for j, (a, b) in enumerate(edges):
        srf[(wl >= a) & (wl < b), j] = 1.0
        srf[:, j] /= srf[:, j].sum()
    return srf


@pytest.fixture(scope="module")
def case() -> dict:
    rng = np.random.default_rng(0)
    ref = ndimage.gaussian_filter(rng.random((C, H, W)), sigma=(2, 3, 3))
    ref = (ref - ref.min()) / (ref.max() - ref.min())
    wl = np.linspace(430, 860, C)
    srf = _box_srf(wl, [(430, 500), (500, 590), (590, 700), (760, 861)])
    psf = _gaussian_psf(5, 1.7)
    learned_psf = np.clip(psf + rng.normal(0, 0.002, psf.shape), 0, None)
    learned_srf = np.clip(srf + rng.normal(0, 0.003, srf.shape), 0, None)
    history = [
        {"stage": s, "iteration": it, "loss": 1.0 / it + 0.01, "rec_hsi": 0.5 / it, "rec_msi": 0.5 / it + 0.01}
        for s in (1, 2, 3)
        for it in range(1, 200, 10)
    ]
    return {
        "lr_hsi": _block_mean(ref, RATIO),
        "hr_msi": np.einsum("khw,km->mhw", ref, srf),
        "fused": ref + rng.normal(0, 0.01, ref.shape),
        "reference": ref,
        "psf": learned_psf / learned_psf.sum(),
        "true_psf": psf,
        "srf": learned_srf / learned_srf.sum(axis=0),
        "true_srf": srf,
        "history": history,
        "hsi_wavelengths": wl,
        "msi_wavelengths": (srf * wl[:, None]).sum(axis=0),
    }


def _lines(fig: Figure) -> list[int]:
    return [len(ax.lines) for ax in fig.axes]


# ------------------------------------------------------------------ true colour


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


# ------------------------------------------------------------------ figures


def test_quicklooks(case: dict) -> None:
    fig = plots.quicklooks(
        case["lr_hsi"], case["hr_msi"], case["fused"], case["reference"], case["hsi_wavelengths"], case["msi_wavelengths"]
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
    fig = plots.psf_figure(_gaussian_psf(11, 3.0))
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


def test_report_figure(case: dict) -> None:
    fig = plots.report_figure(**case)
    main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(main) == 6
    kw = {k: v for k, v in case.items() if k != "reference"}
    fig = plots.report_figure(**kw)
    assert len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"]) == 6


def test_torch_inputs(case: dict) -> None:
    torch = pytest.importorskip("torch")
    fig = plots.quicklooks(torch.from_numpy(case["lr_hsi"]), torch.from_numpy(case["hr_msi"]), torch.from_numpy(case["fused"]))
    assert len(fig.axes) == 3
    assert len(plots.psf_figure(torch.from_numpy(case["psf"]).requires_grad_()).axes) >= 2


# ------------------------------------------------------------------ write_report

ALL = ["report.png", "quicklook.png", "error_maps.png", "per_band.png", "spectra.png", "psf.png", "srf.png", "loss.png"]


def _check_pngs(paths: list[Path], out: Path, names: list[str]) -> None:
    assert [p.name for p in paths] == names
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left
    probe = out / "probe.txt"
    probe.write_text("x")  # a plainly created file: the PNGs must get the same permissions
    mode = probe.stat().st_mode
    probe.unlink()
    for p in paths:
        assert p.stat().st_mode == mode
        assert p.stat().st_size > 1000
        img = mpimg.imread(p)
        assert img.ndim == 3 and img.shape[2] in (3, 4)


def test_write_report_with_reference(case: dict, tmp_path: Path) -> None:
    out = tmp_path / "report"
    paths = plots.write_report(out, ratio=RATIO, **case)
    _check_pngs(paths, out, ALL)
    # pixel size = figure size x dpi
    for name, fig in [
        ("srf.png", plots.srf_figure(case["srf"], case["hsi_wavelengths"], case["true_srf"])),
        ("loss.png", plots.loss_curves(case["history"])),
        ("quicklook.png", plots.quicklooks(case["lr_hsi"], case["hr_msi"], case["fused"], case["reference"])),
    ]:
        w_in, h_in = fig.get_size_inches()
        rows, cols = mpimg.imread(out / name).shape[:2]
        assert abs(rows - h_in * plots.DPI) <= 1 and abs(cols - w_in * plots.DPI) <= 1
    before = {p.name: p.stat().st_mtime_ns for p in paths}
    with pytest.raises(FileExistsError, match="overwrite"):
        plots.write_report(out, overwrite=False, **case)
    assert {p.name: p.stat().st_mtime_ns for p in paths} == before  # nothing touched


def test_write_report_without_reference(case: dict, tmp_path: Path) -> None:
    kw = {k: v for k, v in case.items() if k not in ("reference", "true_psf", "true_srf")}
    out = tmp_path / "noref"
    paths = plots.write_report(out, dpi=50, **kw)  # low dpi: this test is about which files
    names = [n for n in ALL if n not in ("error_maps.png", "per_band.png")]
    _check_pngs(paths, out, names)
    assert not (out / "error_maps.png").exists() and not (out / "per_band.png").exists()


@pytest.mark.skipif(not DATA.exists(), reason=f"real scene not available at {DATA}")
def test_report_on_real_scene(tmp_path: Path) -> None:
    """Pavia beach scene, ratio 4, 4-band box MSI, fused = reference + noise, with a nodata patch."""
    from scipy.io import loadmat

    ref = np.moveaxis(loadmat(DATA)["data"], -1, 0).astype(np.float32)  # (102, 100, 100) in [0, 1]
    wl = np.linspace(430, 860, ref.shape[0])
    srf = _box_srf(wl, [(430, 520), (520, 600), (630, 700), (760, 861)])
    rng = np.random.default_rng(1)
    fused = ref + rng.normal(0, 0.01, ref.shape).astype(np.float32)
    fused[:, 10:16, 60:70] = np.nan
    psf = _gaussian_psf(4, 4 / 2.35482)
    inputs = dict(
        lr_hsi=_block_mean(ref, 4),
        hr_msi=np.einsum("khw,km->mhw", ref, srf),
        fused=fused,
        psf=np.clip(psf + rng.normal(0, 0.002, psf.shape), 0, None),
        srf=srf,
        history=[{"stage": s, "iteration": i, "loss": 1 / i, "term": 0.5 / i} for s in (1, 2, 3) for i in range(1, 500, 25)],
        reference=ref,
        hsi_wavelengths=wl,
        msi_wavelengths=(srf * wl[:, None]).sum(axis=0),
        true_psf=psf,
        true_srf=srf,
    )
    preview = os.environ.get("PFS2C2_PLOTS_PREVIEW")
    if preview:  # every PNG at full size, for a look by eye
        assert len(plots.write_report(preview, **inputs)) == len(ALL)
        return
    fig = plots.report_figure(**inputs)
    assert "PSNR" in fig.get_suptitle() and "SAM" in fig.get_suptitle()
    fig.savefig(tmp_path / "report.png", dpi=60)
    report = mpimg.imread(tmp_path / "report.png")
    assert report.shape[0] > 300 and report.shape[1] > 600
