"""Tests for pfs2c2.plots.report: the overview figure, and the report writes PNGs.

Set ``PFS2C2_PLOTS_PREVIEW=/some/dir`` to keep the real-data report PNGs for a look by eye.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from pfs2c2 import plots

from ..conftest import DATA as SHARED
from .conftest import RATIO, block_mean, box_srf, gaussian_psf

DATA = SHARED / "hsi/abu-beach-4_pavia_rosis.mat"

ALL = ["report.png", "quicklook.png", "error_maps.png", "per_band.png", "spectra.png", "psf.png", "srf.png", "loss.png"]


def test_report_figure(case: dict) -> None:
    fig = plots.report_figure(**case)
    main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(main) == 6
    kw = {k: v for k, v in case.items() if k != "reference"}
    fig = plots.report_figure(**kw)
    assert len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"]) == 6


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
    srf = box_srf(wl, [(430, 520), (520, 600), (630, 700), (760, 861)])
    rng = np.random.default_rng(1)
    fused = ref + rng.normal(0, 0.01, ref.shape).astype(np.float32)
    fused[:, 10:16, 60:70] = np.nan
    psf = gaussian_psf(4, 4 / 2.35482)
    inputs = dict(
        lr_hsi=block_mean(ref, 4),
        hr_msi=np.einsum("khw,km->mhw", ref, srf),
        fused=fused,
        psf=np.clip(psf + rng.normal(0, 0.002, psf.shape), 0, None),
        srf=srf,
        history=[
            {"stage": s, "iteration": i, "loss": 1 / i, "term": 0.5 / i} for s in (1, 2, 3) for i in range(1, 500, 25)
        ],
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
