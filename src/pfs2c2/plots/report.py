"""The overview figure and the PNG report: :func:`report_figure` and :func:`write_report`."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import (
    as_float_array,
    as_float_cube,
    check_band_centres,
    check_report_outputs,
    integer_ratio,
)
from ..io import atomic_write
from ..metrics.maps import band_rmse_psnr, rmse_map, sam_map
from .colour import msi_rgb_bands, rgb_bands, stretch_limits, true_colour
from .draw import draw_psf, draw_srf, history_by_stage, log_y, new_figure, panel_size, show_map, show_rgb
from .figures import (
    error_maps,
    loss_curves,
    per_band_metrics,
    psf_figure,
    quicklooks,
    scene_cubes,
    spectra,
    srf_figure,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DPI", "report_figure", "write_report"]

DPI = 110
"""Resolution of the PNGs written by :func:`write_report` (dots per inch)."""


def _summary(fused: np.ndarray, reference: np.ndarray) -> str:
    """One line of headline metrics for titles."""
    _, psnr = band_rmse_psnr(fused, reference)
    finite = psnr[np.isfinite(psnr)]
    sam = sam_map(fused, reference)
    parts = []
    if finite.size:
        parts.append(f"PSNR {finite.mean():.2f} dB")
    if np.isfinite(sam).any():
        parts.append(f"SAM {np.nanmean(sam):.2f}°")
    rmse = rmse_map(fused, reference)
    if np.isfinite(rmse).any():
        parts.append(f"RMSE {np.sqrt(np.nanmean(rmse**2)):.4g}")
    return ", ".join(parts)


def report_figure(
    *,
    lr_hsi: Any,
    hr_msi: Any,
    fused: Any,
    psf: Any,
    srf: Any,
    history: Sequence[Mapping[str, Any]],
    reference: Any | None = None,
    hsi_wavelengths: np.ndarray | Sequence[float] | None = None,
    msi_wavelengths: np.ndarray | Sequence[float] | None = None,
    true_psf: Any | None = None,
    true_srf: Any | None = None,
) -> Figure:
    """One overview figure in a 2 × 3 grid.

    Top row: fused true colour; reference (else HR-MSI) true colour; RMSE map (else the
    LR-HSI, nearest). Bottom row: PSF (image, with the true PSF's error in the title), SRF
    curves (true dashed), and the total loss of all stages end to end (log y, one colour per
    stage). The title carries the headline metrics when a reference is given.

    Args:
        lr_hsi, hr_msi, fused, reference: cubes as in :func:`quicklooks`.
        psf, true_psf: ``(k, k)`` kernels.
        srf, true_srf: ``(C, c)`` SRFs.
        history: training records as in :func:`loss_curves`.
        hsi_wavelengths, msi_wavelengths: band centres in nm, optional.

    Returns:
        Figure with 6 main axes (plus colorbars).
    """
    lr, msi, fu, ref = scene_cubes(lr_hsi, hr_msi, fused, reference)
    n_bands, height, width = fu.shape
    p = as_float_array(psf)
    s = as_float_array(srf)
    t_psf = None if true_psf is None else as_float_array(true_psf)
    t_srf = None if true_srf is None else as_float_array(true_srf)
    wl = check_band_centres(hsi_wavelengths, n_bands, "hsi_wavelengths")
    hb = rgb_bands(wl, n_bands)
    mb = msi_rgb_bands(msi_wavelengths, msi.shape[0])
    lim = stretch_limits(ref if ref is not None else fu, hb)

    fig, (a_fused, a_second, a_third, a_psf, a_srf, a_loss) = _report_grid(height, width)
    _image_row((a_fused, a_second, a_third), lr, msi, fu, ref, hb, mb, lim)
    _psf_panel(a_psf, p, t_psf)
    _srf_panel(a_srf, s, wl, t_srf)
    _loss_panel(a_loss, history)
    fig.suptitle(_report_title(fu, ref), fontsize=12)
    return fig


def _report_grid(height: int, width: int) -> tuple[Figure, tuple[Axes, Axes, Axes, Axes, Axes, Axes]]:
    """The 2 x 3 layout: three image axes sharing their extent on top, PSF, SRF and loss below."""
    pw, ph = panel_size(height, width, width=4.6)
    fig = new_figure(3 * pw + 1.0, ph + 4.8)
    grid = fig.add_gridspec(2, 3, height_ratios=[ph + 0.4, 3.6])
    a_fused = fig.add_subplot(grid[0, 0])
    a_second = fig.add_subplot(grid[0, 1], sharex=a_fused, sharey=a_fused)
    a_third = fig.add_subplot(grid[0, 2], sharex=a_fused, sharey=a_fused)
    a_psf = fig.add_subplot(grid[1, 0])
    a_srf = fig.add_subplot(grid[1, 1])
    a_loss = fig.add_subplot(grid[1, 2])
    return fig, (a_fused, a_second, a_third, a_psf, a_srf, a_loss)


def _image_row(
    axes: tuple[Axes, Axes, Axes],
    lr: np.ndarray,
    msi: np.ndarray,
    fu: np.ndarray,
    ref: np.ndarray | None,
    hb: tuple[int, int, int],
    mb: tuple[int, int, int],
    lim: np.ndarray,
) -> None:
    """Fused true colour; reference (else HR-MSI) true colour; RMSE map (else the LR-HSI, nearest)."""
    a_fused, a_second, a_third = axes
    n_bands, height, width = fu.shape
    show_rgb(a_fused, true_colour(fu, hb, lim), f"fused {n_bands}×{height}×{width}")
    if ref is not None:
        show_rgb(a_second, true_colour(ref, hb, lim), "reference (same stretch)")
        show_map(a_third, rmse_map(fu, ref), "RMSE over bands", "RMSE (data units)", "magma")
    else:
        show_rgb(a_second, true_colour(msi, mb), f"HR-MSI, bands {mb}")
        extent = (-0.5, width - 0.5, height - 0.5, -0.5)
        show_rgb(a_third, true_colour(lr, hb, lim), f"LR-HSI {lr.shape[1]}×{lr.shape[2]} (nearest)", extent)


def _psf_panel(ax: Axes, p: np.ndarray, t_psf: np.ndarray | None) -> None:
    """The PSF image with its colorbar; the title gives the error against the true PSF of the same size."""
    annotate = max(p.shape) <= 8
    vmax = float(np.nanmax(p)) if np.nanmax(p) > 0 else 1.0
    title = f"PSF {p.shape[0]}×{p.shape[1]}"
    if t_psf is not None and t_psf.shape == p.shape:
        title += f", max |Δ| vs true {np.nanmax(np.abs(p - t_psf)):.2g}"
    im = draw_psf(ax, p, title, vmax, annotate)
    ax.figure.colorbar(im, ax=ax, shrink=0.85)


def _srf_panel(ax: Axes, s: np.ndarray, wl: np.ndarray | None, t_srf: np.ndarray | None) -> None:
    """SRF curves with the legend inside, the true SRF dashed."""
    draw_srf(ax, s, wl, t_srf, None, legend_size=7, legend_outside=False)
    ax.set_title("SRF" + (" (true dashed)" if t_srf is not None else ""), fontsize=10)


def _loss_panel(ax: Axes, history: Sequence[Mapping[str, Any]]) -> None:
    """Total loss of all stages end to end (log y, one colour per stage, dotted stage boundaries)."""
    stages = history_by_stage(history)
    offset = 0.0
    series = []
    for stage, data in stages.items():
        if "loss" not in data:
            continue
        it = data["iteration"] + offset
        ax.plot(it, data["loss"], lw=1.3, label=f"stage {stage}")
        series.append(data["loss"])
        if offset > 0:
            ax.axvline(offset, color="gray", lw=0.8, ls=":")
        offset = float(it.max()) if it.size else offset
    if series:
        log_y(ax, series)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("total loss", fontsize=10)
    ax.set_ylabel("loss")
    ax.set_xlabel("iteration (stages end to end)")
    ax.grid(alpha=0.3, which="both")


def _report_title(fu: np.ndarray, ref: np.ndarray | None) -> str:
    """The report's title, with the headline metrics when a reference is given."""
    head = "PFS2C2 fusion report"
    if ref is not None:
        head += " - " + _summary(fu, ref)
    return head


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    lr_hsi: Any,
    hr_msi: Any,
    fused: Any,
    psf: Any,
    srf: Any,
    history: Sequence[Mapping[str, Any]],
    reference: Any | None = None,
    hsi_wavelengths: np.ndarray | Sequence[float] | None = None,
    msi_wavelengths: np.ndarray | Sequence[float] | None = None,
    true_psf: Any | None = None,
    true_srf: Any | None = None,
    ratio: int | None = None,
    overwrite: bool = True,
    dpi: int = DPI,
) -> list[Path]:
    """Write the report PNGs into ``out_dir`` (created if needed).

    Files: ``report.png`` (:func:`report_figure`), ``quicklook.png``, ``error_maps.png`` and
    ``per_band.png`` (only with a reference), ``spectra.png``, ``psf.png``, ``srf.png``,
    ``loss.png``. Each is written to a temporary name in ``out_dir`` and renamed into place, so
    a reader never sees a half-written PNG. Error files left by an earlier run with a
    reference are not removed.

    Args:
        out_dir: output directory.
        lr_hsi, hr_msi, fused, reference: cubes as in :func:`quicklooks`.
        psf, true_psf: ``(k, k)`` kernels.
        srf, true_srf: ``(C, c)`` SRFs.
        history: training records as in :func:`loss_curves`.
        hsi_wavelengths, msi_wavelengths: band centres in nm, optional.
        ratio: HR/LR scale factor for the LR spectra; inferred from the shapes when omitted
            (the LR spectra are left out when it cannot be inferred).
        overwrite: if False, raise :class:`FileExistsError` before writing anything when one
            of the files exists.
        dpi: resolution of the PNGs.

    Returns:
        Paths written, ``report.png`` first.
    """
    out = Path(out_dir)
    lr_for_spectra = lr_hsi
    if (
        ratio is None
        and integer_ratio(*as_float_cube(lr_hsi, "lr_hsi").shape[-2:], *as_float_cube(fused, "fused").shape[-2:])
        is None
    ):
        lr_for_spectra = None
    names = ["report.png", "quicklook.png"]
    if reference is not None:
        names += ["error_maps.png", "per_band.png"]
    names += ["spectra.png", "psf.png", "srf.png", "loss.png"]
    check_report_outputs(out, names, overwrite)
    out.mkdir(parents=True, exist_ok=True)

    makers: dict[str, Any] = {
        "report.png": lambda: report_figure(
            lr_hsi=lr_hsi,
            hr_msi=hr_msi,
            fused=fused,
            psf=psf,
            srf=srf,
            history=history,
            reference=reference,
            hsi_wavelengths=hsi_wavelengths,
            msi_wavelengths=msi_wavelengths,
            true_psf=true_psf,
            true_srf=true_srf,
        ),
        "quicklook.png": lambda: quicklooks(lr_hsi, hr_msi, fused, reference, hsi_wavelengths, msi_wavelengths),
        "error_maps.png": lambda: error_maps(fused, reference),
        "per_band.png": lambda: per_band_metrics(fused, reference, hsi_wavelengths),
        "spectra.png": lambda: spectra(fused, reference, lr_for_spectra, wavelengths=hsi_wavelengths, ratio=ratio),
        "psf.png": lambda: psf_figure(psf, true_psf),
        "srf.png": lambda: srf_figure(srf, hsi_wavelengths, true_srf),
        "loss.png": lambda: loss_curves(history),
    }
    written: list[Path] = []
    for name in names:
        fig = makers[name]()
        try:
            path = out / name
            atomic_write(path, functools.partial(fig.savefig, dpi=dpi, format="png"))
            written.append(path)
        finally:
            fig.clear()  # object-API figures are not registered with pyplot; free their artists
    return written
