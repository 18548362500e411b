"""The single figures: quicklooks, error maps, per-band metrics, spectra, PSF, SRF and loss curves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import (
    as_float_array,
    as_float_cube,
    check_band_centres,
    check_band_names,
    check_lr_bands,
    check_ndim,
    check_pixels,
    check_same_shape,
    check_scene,
    check_some_pixel,
    plot_ratio,
)
from ..metrics.maps import band_rmse_psnr, finite_pixels, masked_mean, rmse_map, sam_map
from .colour import msi_rgb_bands, rgb_bands, stretch_limits, true_colour
from .draw import (
    FUSED_COLOUR,
    LR_COLOUR,
    REF_COLOUR,
    draw_loss_stage,
    draw_psf,
    draw_srf,
    hide_ticks,
    history_by_stage,
    new_figure,
    panel_size,
    psf_profile,
    show_map,
    show_rgb,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["error_maps", "loss_curves", "per_band_metrics", "psf_figure", "quicklooks", "spectra", "srf_figure"]


def scene_cubes(
    lr_hsi: Any, hr_msi: Any, fused: Any, reference: Any | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The LR-HSI ``(C, h, w)``, HR-MSI ``(c, H, W)``, fused and reference ``(C, H, W)`` (or ``None``) as
    float arrays, refused unless their shapes make one scene.

    Raises:
        InputError: a cube that is not 3-D numeric, or shapes that do not fit together.
    """
    lr = as_float_cube(lr_hsi, "lr_hsi")
    msi = as_float_cube(hr_msi, "hr_msi")
    fu = as_float_cube(fused, "fused")
    ref = None if reference is None else as_float_cube(reference, "reference")
    check_scene(lr, msi, fu, ref)
    return lr, msi, fu, ref


def quicklooks(
    lr_hsi: Any,
    hr_msi: Any,
    fused: Any,
    reference: Any | None = None,
    hsi_wavelengths: np.ndarray | Sequence[float] | None = None,
    msi_wavelengths: np.ndarray | Sequence[float] | None = None,
) -> Figure:
    """Side-by-side true-colour views: LR-HSI, HR-MSI, fused and (if given) reference.

    The LR-HSI is drawn on the HR grid with nearest-neighbour upsampling, so its pixels show as
    blocks. LR-HSI, fused and reference share one 2-98 % stretch (the reference's, else the
    fused image's) so differences in brightness and colour are real; the HR-MSI has its own
    stretch on its own bands (:func:`msi_rgb_bands`).

    Args:
        lr_hsi: ``(C, h, w)`` LR-HSI.
        hr_msi: ``(c, H, W)`` HR-MSI.
        fused: ``(C, H, W)`` fused HR-HSI.
        reference: ``(C, H, W)`` ground truth, optional.
        hsi_wavelengths: ``(C,)`` HSI band centres in nm, optional.
        msi_wavelengths: ``(c,)`` MSI band centres in nm, optional.

    Returns:
        Figure with 3 image axes (4 with a reference).
    """
    lr, msi, fu, ref = scene_cubes(lr_hsi, hr_msi, fused, reference)
    n_bands, height, width = fu.shape
    hb = rgb_bands(hsi_wavelengths, n_bands)
    mb = msi_rgb_bands(msi_wavelengths, msi.shape[0])
    lim = stretch_limits(ref if ref is not None else fu, hb)

    n = 4 if ref is not None else 3
    pw, ph = panel_size(height, width)
    fig = new_figure(pw * n, ph + 0.6)
    axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    ratio = height / lr.shape[1]
    show_rgb(
        axes[0],
        true_colour(lr, hb, lim),
        f"LR-HSI {lr.shape[1]}×{lr.shape[2]} (nearest ×{ratio:g})",
        extent=extent,
    )
    show_rgb(axes[1], true_colour(msi, mb), f"HR-MSI {height}×{width}, bands {mb}")
    show_rgb(axes[2], true_colour(fu, hb, lim), f"fused {height}×{width}")
    if ref is not None:
        show_rgb(axes[3], true_colour(ref, hb, lim), "reference")
    fig.suptitle(f"true colour, HSI bands (R, G, B) = {hb}" + _wl_note(hsi_wavelengths, hb), fontsize=10)
    return fig


def _wl_note(wl: Any, bands: Sequence[int]) -> str:
    if wl is None:
        return ""
    w = np.asarray(wl, dtype=np.float64).ravel()
    return " at " + "/".join(f"{w[b]:.0f}" for b in bands) + " nm"


def error_maps(fused: Any, reference: Any) -> Figure:
    """Per-pixel RMSE over bands (data units) and spectral angle (degrees).

    Nodata pixels (NaN in any band) and all-zero spectra are left blank. Colour scales start
    at 0 and end at the 99.5th percentile so a few outliers do not wash the maps out.

    Args:
        fused: ``(C, H, W)`` fused HR-HSI.
        reference: ``(C, H, W)`` ground truth.

    Returns:
        Figure with 2 image axes plus their 2 colorbars.
    """
    fu = as_float_cube(fused, "fused")
    ref = as_float_cube(reference, "reference")
    check_same_shape(fu, ref, "fused", "reference")
    rm = rmse_map(fu, ref)
    sm = sam_map(fu, ref)
    height, width = fu.shape[1:]
    pw, ph = panel_size(height, width, width=4.0)
    fig = new_figure(2 * pw + 1.0, ph + 0.6)
    ax0, ax1 = fig.subplots(1, 2)
    show_map(ax0, rm, f"RMSE over bands (mean {_nanmean_text(rm)})", "RMSE (data units)", "magma")
    show_map(ax1, sm, f"spectral angle (mean {_nanmean_text(sm)}°)", "SAM (degrees)", "viridis")
    return fig


def _nanmean_text(x: np.ndarray) -> str:
    finite = x[np.isfinite(x)]
    return f"{finite.mean():.4g}" if finite.size else "n/a"


def per_band_metrics(fused: Any, reference: Any, wavelengths: np.ndarray | Sequence[float] | None = None) -> Figure:
    """PSNR and RMSE per band.

    PSNR uses ``peak_k`` = the maximum of reference band ``k`` (as :mod:`pfs2c2.metrics`);
    SAM is a per-pixel quantity, so it is shown in :func:`error_maps` instead. Bands fused
    exactly (infinite PSNR) are not drawn.

    Args:
        fused: ``(C, H, W)`` fused HR-HSI.
        reference: ``(C, H, W)`` ground truth.
        wavelengths: ``(C,)`` band centres in nm for the x axis; default the band index.

    Returns:
        Figure with 2 axes (PSNR in dB, RMSE in data units), one line each.
    """
    fu = as_float_cube(fused, "fused")
    ref = as_float_cube(reference, "reference")
    check_same_shape(fu, ref, "fused", "reference")
    wl = check_band_centres(wavelengths, fu.shape[0], "wavelengths")
    x = wl if wl is not None else np.arange(fu.shape[0])
    rmse, psnr = band_rmse_psnr(fu, ref)
    shown = np.where(np.isfinite(psnr), psnr, np.nan)
    fig = new_figure(11.0, 3.8)
    ax0, ax1 = fig.subplots(1, 2, sharex=True)
    ax0.plot(x, shown, color=FUSED_COLOUR, marker=".", ms=3, lw=1.2)
    ax0.set_ylabel("PSNR (dB), peak = band max")
    finite = psnr[np.isfinite(psnr)]
    ax0.set_title(f"PSNR per band (mean {finite.mean():.2f} dB)" if finite.size else "PSNR per band", fontsize=10)
    ax1.plot(x, rmse, color="tab:red", marker=".", ms=3, lw=1.2)
    ax1.set_ylabel("RMSE (data units)")
    ax1.set_title(f"RMSE per band (mean {_nanmean_text(rmse)})", fontsize=10)
    ax1.set_ylim(bottom=0.0)
    for ax in (ax0, ax1):
        ax.set_xlabel("wavelength (nm)" if wl is not None else "band index")
        ax.grid(alpha=0.3)
    return fig


def _default_pixels(cube: np.ndarray) -> list[tuple[int, int, str]]:
    """Brightest and darkest valid pixel plus two fixed ones at (H/4, 3W/4) and (3H/4, W/4)."""
    _, height, width = cube.shape
    fixed = [(height // 4, (3 * width) // 4, "fixed"), ((3 * height) // 4, width // 4, "fixed")]
    valid = finite_pixels(cube)
    if not valid.any():
        return fixed
    brightness = masked_mean(cube, np.broadcast_to(valid, cube.shape), axis=0)
    flat = np.where(valid, brightness, np.nan).ravel()
    hi = np.unravel_index(int(np.nanargmax(flat)), (height, width))
    lo = np.unravel_index(int(np.nanargmin(flat)), (height, width))
    return [(int(hi[0]), int(hi[1]), "brightest"), (int(lo[0]), int(lo[1]), "darkest"), *fixed]


def spectra(
    fused: Any,
    reference: Any | None = None,
    lr_hsi: Any | None = None,
    pixels: Sequence[tuple[int, int]] | None = None,
    wavelengths: np.ndarray | Sequence[float] | None = None,
    ratio: int | None = None,
) -> Figure:
    """Spectra at a few pixels: fused solid, reference dashed, LR-HSI dotted.

    Args:
        fused: ``(C, H, W)`` fused HR-HSI.
        reference: ``(C, H, W)`` ground truth, optional.
        lr_hsi: ``(C, h, w)`` LR-HSI, optional; the spectrum of the LR pixel that contains the
            HR pixel, ``(row // ratio, col // ratio)``.
        pixels: ``(row, col)`` HR pixels; default four pixels: the brightest and the darkest
            (mean over bands of the reference, else the fused image) and two fixed ones at
            ``(H/4, 3W/4)`` and ``(3H/4, W/4)``.
        wavelengths: ``(C,)`` band centres in nm for the x axis; default the band index.
        ratio: HR/LR scale factor; inferred as ``H // h`` when it divides both sides.

    Returns:
        Figure with one axes per pixel (2 columns), each with 1 to 3 lines.
    """
    fu = as_float_cube(fused, "fused")
    n_bands, height, width = fu.shape
    ref = None if reference is None else as_float_cube(reference, "reference")
    if ref is not None:
        check_same_shape(fu, ref, "fused", "reference")
    lr = None if lr_hsi is None else as_float_cube(lr_hsi, "lr_hsi")
    if lr is not None:
        check_lr_bands(lr, n_bands)
        ratio = plot_ratio(lr.shape, fu.shape, ratio)
    wl = check_band_centres(wavelengths, n_bands, "wavelengths")
    x = wl if wl is not None else np.arange(n_bands)

    if pixels is None:
        chosen = _default_pixels(ref if ref is not None else fu)
        check_some_pixel(chosen)
    else:
        chosen = check_pixels(pixels, height, width)

    ncols = 1 if len(chosen) == 1 else 2
    nrows = math.ceil(len(chosen) / ncols)
    fig = new_figure(5.2 * ncols, 3.0 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (r, c, why) in zip(axes, chosen):
        ax.plot(x, fu[:, r, c], color=FUSED_COLOUR, lw=1.5, label="fused")
        if ref is not None:
            ax.plot(x, ref[:, r, c], color=REF_COLOUR, lw=1.2, ls="--", label="reference")
        if lr is not None:
            assert ratio is not None
            lr_r = min(r // ratio, lr.shape[1] - 1)
            lr_c = min(c // ratio, lr.shape[2] - 1)
            ax.plot(x, lr[:, lr_r, lr_c], color=LR_COLOUR, lw=1.5, ls=":", label=f"LR-HSI ({lr_r}, {lr_c})")
        title = f"pixel (row {r}, col {c})" + (f", {why}" if why else "")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("value (data units)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best", framealpha=0.8)
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
        fig.delaxes(ax)
    for ax in fig.axes:
        ax.set_xlabel("wavelength (nm)" if wl is not None else "band index")
    return fig


def psf_figure(psf: Any, true_psf: Any | None = None) -> Figure:
    """PSF kernel image(s) and their centre-row profiles.

    Values are written in the cells when ``k <= 8``. Learned and true kernels share one colour
    scale. The profile is the centre row (the mean of the two middle rows for an even ``k``)
    against the offset from the kernel centre in HR pixels.

    Args:
        psf: ``(k, k)`` learned (or used) PSF.
        true_psf: ``(k', k')`` true PSF, optional (may differ in size).

    Returns:
        Figure with the learned image, the true image if given, a shared colorbar and a profile
        axes (1 line, 2 with ``true_psf``).
    """
    p = as_float_array(psf)
    check_ndim(p, 2, "psf must be a 2-D (k, k) kernel, got shape {shape}")
    t = None if true_psf is None else as_float_array(true_psf)
    if t is not None:
        check_ndim(t, 2, "true_psf must be a 2-D (k, k) kernel, got shape {shape}")
    kernels = [(p, "learned PSF")] + ([(t, "true PSF")] if t is not None else [])
    vmax = max(float(np.nanmax(k)) for k, _ in kernels)
    vmax = vmax if vmax > 0 else 1.0
    n = len(kernels) + 1
    fig = new_figure(3.6 * n + 0.6, 3.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    im = None
    for ax, (k, name) in zip(axes, kernels):
        im = draw_psf(ax, k, f"{name} {k.shape[0]}×{k.shape[1]} (sum {np.nansum(k):.3f})", vmax, max(k.shape) <= 8)
    assert im is not None
    cb = fig.colorbar(im, ax=list(axes[: len(kernels)]), shrink=0.85)
    cb.set_label("weight", fontsize=9)
    prof = axes[-1]
    off, row = psf_profile(p)
    prof.plot(off, row, color=FUSED_COLOUR, marker="o", ms=4, lw=1.5, label="learned")
    if t is not None:
        off_t, row_t = psf_profile(t)
        prof.plot(off_t, row_t, color=REF_COLOUR, marker="s", ms=3, lw=1.2, ls="--", label="true")
        if t.shape == p.shape:
            prof.set_title(f"centre row (max |Δ| = {np.nanmax(np.abs(p - t)):.2g})", fontsize=10)
        else:
            prof.set_title("centre row", fontsize=10)
    else:
        prof.set_title("centre row", fontsize=10)
    prof.set_xlabel("offset from centre (HR pixels)")
    prof.set_ylabel("weight")
    prof.set_ylim(bottom=0.0)
    prof.grid(alpha=0.3)
    prof.legend(fontsize=8)
    return fig


def srf_figure(
    srf: Any,
    wavelengths: np.ndarray | Sequence[float] | None = None,
    true_srf: Any | None = None,
    band_names: Sequence[str] | None = None,
) -> Figure:
    """SRF: one curve per MSI band against the HSI wavelengths; the true SRF dashed.

    Lines take the colour of the band's centroid wavelength when it is visible (blue band
    blue, red band red ...), otherwise a distinct colour.

    Args:
        srf: ``(C, c)`` SRF, columns summing to 1.
        wavelengths: ``(C,)`` HSI band centres in nm; default the HSI band index.
        true_srf: ``(C, c)`` true SRF, optional.
        band_names: ``c`` MSI band names for the legend, optional.

    Returns:
        Figure with one axes holding ``c`` lines (``2c`` with ``true_srf``).
    """
    s = as_float_array(srf)
    check_ndim(s, 2, "srf must be a (C, c) matrix (HSI bands x MSI bands), got shape {shape}")
    t = None if true_srf is None else as_float_array(true_srf)
    if t is not None:
        check_same_shape(t, s, "true_srf", "srf", "(C, c)")
    check_band_names(band_names, s.shape[1])
    wl = check_band_centres(wavelengths, s.shape[0], "wavelengths")
    fig = new_figure(9.0, 4.2)
    ax = fig.subplots()
    draw_srf(ax, s, wl, t, band_names)
    ax.set_title(f"spectral response, {s.shape[1]} MSI bands over {s.shape[0]} HSI bands", fontsize=10)
    return fig


def loss_curves(history: Sequence[Mapping[str, Any]]) -> Figure:
    """Training losses: one panel per stage, log y, total loss (black) and each term.

    Args:
        history: records ``{"stage": int, "iteration": int, "loss": float, <term>: float, ...}``.

    Returns:
        Figure with one axes per stage present in ``history`` (one empty axes when it is empty).
    """
    stages = history_by_stage(history)
    if not stages:
        fig = new_figure(5.0, 3.2)
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)
        hide_ticks(ax)
        return fig
    n = len(stages)
    fig = new_figure(4.6 * n, 3.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (stage, data) in zip(axes, stages.items()):
        draw_loss_stage(ax, stage, data)
    axes[0].set_ylabel("loss")
    return fig
