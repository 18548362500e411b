"""Figures for inspecting a fusion: quicklooks, error maps, spectra, PSF, SRF and losses.

Every public function returns a :class:`matplotlib.figure.Figure` built with the object API
(no pyplot state, never ``plt.show()``), so it works under any backend, in notebooks and in
headless runs. :func:`write_report` saves them as PNGs.

Conventions:

* Cubes are ``(C, H, W)`` (channels first): the LR-HSI ``(C, h, w)``, the HR-MSI ``(c, H, W)``,
  the fused and reference HR-HSI ``(C, H, W)``. numpy arrays or CPU/GPU torch tensors.
* Values are in the data's own units (e.g. reflectance); nothing is rescaled except for display.
* Wavelengths are band centres in **nanometres**, one per band.
* The PSF is ``(k, k)`` in HR pixels, non-negative and summing to 1; the SRF is ``(C, c)`` with
  each column (one MSI band) summing to 1.
* NaN marks nodata: percentiles and metrics ignore it, maps leave it blank (transparent),
  true-colour images paint it white.
* Metric conventions as :mod:`pfs2c2.metrics`: PSNR per band with peak = the maximum of the
  reference band, SAM in degrees.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported lazily so that importing pfs2c2 stays fast
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "RGB_TARGETS_NM",
    "error_maps",
    "loss_curves",
    "msi_rgb_bands",
    "per_band_metrics",
    "psf_figure",
    "quicklooks",
    "report_figure",
    "rgb_bands",
    "spectra",
    "srf_figure",
    "stretch_limits",
    "true_colour",
    "write_report",
]

RGB_TARGETS_NM: tuple[float, float, float] = (650.0, 550.0, 460.0)
"""Wavelengths (nm) shown as red, green and blue in true-colour images."""

DPI = 110
"""Resolution of the PNGs written by :func:`write_report` (dots per inch)."""

PERCENTILES: tuple[float, float] = (2.0, 98.0)
"""Lower and upper percentiles of the display stretch."""

_FUSED_COLOUR = "tab:blue"
_REF_COLOUR = "black"
_LR_COLOUR = "tab:orange"


# --------------------------------------------------------------------------------------------
# input helpers
# --------------------------------------------------------------------------------------------


def _to_numpy(x: Any, name: str) -> np.ndarray:
    """numpy view of an array or torch tensor, as floating point."""
    if hasattr(x, "detach"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def _cube(x: Any, name: str) -> np.ndarray:
    arr = _to_numpy(x, name)
    if arr.ndim != 3:
        raise ValueError(
            f"{name} must be a (C, H, W) cube (channels first), got shape {arr.shape}; "
            "transpose (H, W, C) arrays with np.moveaxis(x, -1, 0)"
        )
    return arr


def _infer_ratio(lr: np.ndarray, hr: np.ndarray) -> int | None:
    """``H // h`` when it divides both sides equally, else None."""
    (h, w), (height, width) = lr.shape[-2:], hr.shape[-2:]
    if h == 0 or w == 0 or height % h or width % w or height // h != width // w:
        return None
    return height // h


def _check_scene(
    lr: np.ndarray, msi: np.ndarray, fused: np.ndarray, ref: np.ndarray | None
) -> None:
    """Consistency of the LR-HSI, HR-MSI, fused and reference shapes."""
    if ref is not None:
        _same_shape(fused, ref, "fused", "reference")
    if lr.shape[0] != fused.shape[0]:
        raise ValueError(f"lr_hsi has {lr.shape[0]} bands but fused has {fused.shape[0]}; both are (C, ...) HSI cubes")
    if msi.shape[1:] != fused.shape[1:]:
        raise ValueError(f"hr_msi {msi.shape} and fused {fused.shape} must share the HR grid (H, W)")


def _same_shape(a: np.ndarray, b: np.ndarray, na: str, nb: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{na} {a.shape} and {nb} {b.shape} must have the same (C, H, W) shape")


def _wavelengths(wl: Any, n_bands: int, name: str) -> np.ndarray | None:
    if wl is None:
        return None
    arr = np.asarray(_to_numpy(wl, name), dtype=np.float64).ravel()
    if arr.size != n_bands:
        raise ValueError(f"{name} has {arr.size} values but the image has {n_bands} bands; give one centre (nm) per band")
    return arr


def _valid_pixels(*cubes: np.ndarray) -> np.ndarray:
    """``(H, W)`` True where every band of every cube is finite."""
    valid = np.ones(cubes[0].shape[1:], dtype=bool)
    for c in cubes:
        valid &= np.isfinite(c).all(axis=0)
    return valid


def _masked_mean(x: np.ndarray, valid: np.ndarray, axis: Any) -> np.ndarray:
    """Mean of ``x`` over ``axis`` where ``valid``; NaN where nothing is valid (no warnings)."""
    count = valid.sum(axis=axis)
    total = np.where(valid, x, 0.0).sum(axis=axis, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _panel_size(h: int, w: int, width: float = 3.4) -> tuple[float, float]:
    """Width and height (inches) of one image panel, following the image's aspect ratio."""
    aspect = h / max(w, 1)
    return width, float(np.clip(width * aspect, 1.6, 2.2 * width))


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _hide_ticks(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------------------------
# true colour
# --------------------------------------------------------------------------------------------


def rgb_bands(wavelengths_nm: np.ndarray | Sequence[float] | None, n_bands: int) -> tuple[int, int, int]:
    """Band indices shown as (red, green, blue).

    With wavelengths: the bands whose centres are nearest to 650, 550 and 460 nm (a cube that
    does not cover the visible gets its nearest bands, possibly the same band twice). Without
    wavelengths the cube is assumed to be ordered by increasing wavelength and the bands at
    3/4, 1/2 and 1/4 of the index range are used (a false-colour view for non-visible cubes).

    Args:
        wavelengths_nm: ``(n_bands,)`` band centres in nm, or ``None``.
        n_bands: number of bands of the cube (>= 1).

    Returns:
        ``(red, green, blue)`` band indices.
    """
    if n_bands < 1:
        raise ValueError(f"n_bands must be >= 1, got {n_bands}")
    wl = _wavelengths(wavelengths_nm, n_bands, "wavelengths_nm")
    if wl is not None:
        r, g, b = (int(np.nanargmin(np.abs(wl - t))) for t in RGB_TARGETS_NM)
        return r, g, b
    last = n_bands - 1
    r, g, b = (int(math.floor(f * last + 0.5)) for f in (0.75, 0.5, 0.25))
    return r, g, b


def msi_rgb_bands(wavelengths_nm: np.ndarray | Sequence[float] | None, n_bands: int) -> tuple[int, int, int]:
    """Band indices shown as (red, green, blue) for a multispectral image.

    With wavelengths: as :func:`rgb_bands`. Without: the first three bands reversed,
    ``(2, 1, 0)``, since MSI products usually start blue, green, red (IKONOS, Sentinel-2 10 m,
    Landsat 8 bands 2-4 ...); with fewer than three bands the indices are clipped to the last band.

    Args:
        wavelengths_nm: ``(n_bands,)`` band centres in nm, or ``None``.
        n_bands: number of MSI bands (>= 1).

    Returns:
        ``(red, green, blue)`` band indices.
    """
    if n_bands < 1:
        raise ValueError(f"n_bands must be >= 1, got {n_bands}")
    if wavelengths_nm is not None:
        return rgb_bands(wavelengths_nm, n_bands)
    r, g, b = (min(i, n_bands - 1) for i in (2, 1, 0))
    return r, g, b


def _check_bands(bands: Sequence[int], n_bands: int) -> tuple[int, int, int]:
    if len(bands) != 3:
        raise ValueError(f"bands must be three indices (red, green, blue), got {bands}")
    out = tuple(int(b) for b in bands)
    for b in out:
        if not -n_bands <= b < n_bands:
            raise ValueError(f"band index {b} is out of range for a cube with {n_bands} bands")
    return out  # type: ignore[return-value]


def stretch_limits(
    cube: Any, bands: Sequence[int], percentiles: tuple[float, float] = PERCENTILES
) -> np.ndarray:
    """Display limits of a percentile stretch for three bands, to share between images.

    Compute them once (from the reference, or the fused image without one) and pass them to
    :func:`true_colour` for every image that must be compared by eye.

    Args:
        cube: ``(C, H, W)`` cube; NaN is ignored.
        bands: ``(red, green, blue)`` band indices.
        percentiles: lower and upper percentile (default 2 and 98).

    Returns:
        ``(3, 2)`` float64 array of ``(low, high)`` per channel in data units. A band with no
        finite value gets ``(0, 1)``; a constant band gets ``high = low + 1``.
    """
    arr = _cube(cube, "cube")
    idx = _check_bands(bands, arr.shape[0])
    limits = np.empty((3, 2), dtype=np.float64)
    for i, b in enumerate(idx):
        band = np.asarray(arr[b], dtype=np.float64)
        finite = band[np.isfinite(band)]
        if finite.size == 0:
            limits[i] = (0.0, 1.0)
            continue
        lo, hi = np.percentile(finite, percentiles)
        if not hi > lo:
            hi = lo + 1.0
        limits[i] = (lo, hi)
    return limits


def true_colour(
    cube: Any,
    bands: Sequence[int],
    limits: np.ndarray | Sequence[Sequence[float]] | None = None,
    nodata_value: float = 1.0,
) -> np.ndarray:
    """True-colour (or false-colour) image of three bands with a linear percentile stretch.

    Args:
        cube: ``(C, H, W)`` cube in data units.
        bands: ``(red, green, blue)`` band indices, e.g. from :func:`rgb_bands`.
        limits: ``(3, 2)`` ``(low, high)`` per channel from :func:`stretch_limits`; default
            the cube's own 2-98 percentile stretch.
        nodata_value: value painted in all three channels where any of the bands is NaN
            (default 1, white).

    Returns:
        ``(H, W, 3)`` float64 image in ``[0, 1]``, ready for ``imshow``.
    """
    arr = _cube(cube, "cube")
    idx = _check_bands(bands, arr.shape[0])
    lim = stretch_limits(arr, idx) if limits is None else np.asarray(limits, dtype=np.float64)
    if lim.shape != (3, 2):
        raise ValueError(f"limits must have shape (3, 2) (low, high per channel), got {lim.shape}")
    rgb = np.stack([np.asarray(arr[b], dtype=np.float64) for b in idx], axis=-1)
    nodata = ~np.isfinite(rgb).all(axis=-1)
    span = np.where(lim[:, 1] > lim[:, 0], lim[:, 1] - lim[:, 0], 1.0)
    with np.errstate(invalid="ignore"):
        rgb = np.clip((rgb - lim[:, 0]) / span, 0.0, 1.0)
    rgb[nodata] = float(np.clip(nodata_value, 0.0, 1.0))
    return rgb


# --------------------------------------------------------------------------------------------
# per-pixel and per-band errors (numpy, NaN-aware)
# --------------------------------------------------------------------------------------------


def _rmse_map(fused: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(H, W)`` RMSE over bands, in data units; NaN where a band is missing."""
    valid = _valid_pixels(fused, reference)
    diff = np.where(valid, fused - reference, 0.0).astype(np.float64)
    out = np.sqrt(np.mean(diff**2, axis=0))
    out[~valid] = np.nan
    return out


def _sam_map(fused: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(H, W)`` spectral angle in degrees; NaN for nodata or all-zero spectra."""
    valid = _valid_pixels(fused, reference)
    f = np.where(valid, fused, 0.0).astype(np.float64)
    r = np.where(valid, reference, 0.0).astype(np.float64)
    dot = np.sum(f * r, axis=0)
    norm = np.sqrt(np.sum(f * f, axis=0) * np.sum(r * r, axis=0))
    ok = valid & (norm > 0)
    cos = np.divide(dot, norm, out=np.zeros_like(dot), where=ok)
    out = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    out[~ok] = np.nan
    return out


def _band_errors(fused: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band RMSE (data units) and PSNR (dB, peak = band max of the reference).

    Computed over the pixels where both cubes are finite in that band. PSNR is NaN for a
    band without valid pixels or with a non-positive peak, and ``inf`` for an exact band.
    """
    valid = np.isfinite(fused) & np.isfinite(reference)
    diff = fused.astype(np.float64) - reference
    mse = _masked_mean(diff**2, valid, axis=(1, 2))
    rmse = np.sqrt(mse)
    peak = np.where(valid, reference, -np.inf).max(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        psnr = 10.0 * np.log10(peak.astype(np.float64) ** 2 / mse)
    psnr[~(peak > 0) | ~np.isfinite(mse)] = np.nan
    return rmse, psnr


def _summary(fused: np.ndarray, reference: np.ndarray) -> str:
    """One line of headline metrics for titles."""
    _, psnr = _band_errors(fused, reference)
    finite = psnr[np.isfinite(psnr)]
    sam = _sam_map(fused, reference)
    parts = []
    if finite.size:
        parts.append(f"PSNR {finite.mean():.2f} dB")
    if np.isfinite(sam).any():
        parts.append(f"SAM {np.nanmean(sam):.2f}°")
    rmse = _rmse_map(fused, reference)
    if np.isfinite(rmse).any():
        parts.append(f"RMSE {np.sqrt(np.nanmean(rmse**2)):.4g}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# drawing helpers shared by the single figures and the report
# --------------------------------------------------------------------------------------------


def _show_rgb(ax: Axes, rgb: np.ndarray, title: str, extent: tuple[float, float, float, float] | None = None) -> None:
    ax.imshow(rgb, interpolation="nearest", extent=extent)
    ax.set_title(title, fontsize=10)
    _hide_ticks(ax)


def _show_map(ax: Axes, values: np.ndarray, title: str, label: str, cmap: str) -> None:
    finite = values[np.isfinite(values)]
    vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
    if not vmax > 0:
        vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    _hide_ticks(ax)
    cb = ax.figure.colorbar(im, ax=ax, shrink=0.85, extend="max" if finite.size and finite.max() > vmax else "neither")
    cb.set_label(label, fontsize=9)
    cb.ax.tick_params(labelsize=8)


def _draw_psf(ax: Axes, psf: np.ndarray, title: str, vmax: float, annotate: bool) -> Any:
    im = ax.imshow(psf, cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
    k0, k1 = psf.shape
    ax.set_title(title, fontsize=10)
    _hide_ticks(ax)
    if annotate:
        size = 8 if max(psf.shape) <= 5 else 6
        for i in range(k0):
            for j in range(k1):
                v = psf[i, j]
                colour = "black" if v > 0.6 * vmax else "white"
                ax.text(j, i, f"{v:.3f}", ha="center", va="center", color=colour, fontsize=size)
    return im


def _psf_profile(psf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre row of the kernel (mean of the two middle rows for even k) and offsets from centre."""
    k = psf.shape[0]
    row = psf[k // 2] if k % 2 else 0.5 * (psf[k // 2 - 1] + psf[k // 2])
    offsets = np.arange(psf.shape[1]) - (psf.shape[1] - 1) / 2.0
    return offsets, row


_VISIBLE_CLASSES: tuple[tuple[float, float, str], ...] = (
    (0.0, 430.0, "tab:purple"),  # violet / coastal aerosol
    (430.0, 500.0, "tab:blue"),
    (500.0, 590.0, "tab:green"),
    (590.0, 700.0, "tab:red"),
)
_INFRARED_COLOURS = ("tab:brown", "black", "tab:gray", "tab:olive", "tab:pink", "tab:cyan")


def _band_colours(centres_nm: np.ndarray | None, n: int) -> list[Any]:
    """Line colours per MSI band.

    With centroid wavelengths: violet, blue, green and red for bands centred below 430, 500,
    590 and 700 nm, and brown, black, grey ... for the infrared bands in order. When two
    bands fall in the same visible class (e.g. coastal and blue of Sentinel-2 at 443 and
    490 nm both being "blue"), or without wavelengths, tab10 in band order is used instead.
    """
    from matplotlib import colormaps

    tab = [colormaps["tab10"](i % 10) for i in range(n)]
    if centres_nm is None or not np.all(np.isfinite(centres_nm)):
        return tab
    colours: list[Any] = []
    n_ir = 0
    for c in centres_nm:
        match = [col for lo, hi, col in _VISIBLE_CLASSES if lo <= c < hi]
        if match:
            colours.append(match[0])
        else:
            colours.append(_INFRARED_COLOURS[n_ir % len(_INFRARED_COLOURS)])
            n_ir += 1
    return colours if len(set(colours)) == n else tab


def _srf_centres(srf: np.ndarray, wl: np.ndarray | None) -> np.ndarray | None:
    if wl is None:
        return None
    w = np.clip(srf, 0.0, None)
    s = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * wl[:, None]).sum(axis=0) / s


def _draw_srf(
    ax: Axes,
    srf: np.ndarray,
    wl: np.ndarray | None,
    true_srf: np.ndarray | None,
    band_names: Sequence[str] | None,
    legend_size: float = 8,
    legend_outside: bool = True,
) -> None:
    from matplotlib.lines import Line2D

    n_hsi, n_msi = srf.shape
    x = wl if wl is not None else np.arange(n_hsi)
    centres = _srf_centres(srf, wl)
    colours = _band_colours(centres, n_msi)
    handles = []
    for j in range(n_msi):
        name = band_names[j] if band_names is not None else f"band {j + 1}"
        if centres is not None and np.isfinite(centres[j]):
            name = f"{name} ({centres[j]:.0f} nm)"
        (line,) = ax.plot(x, srf[:, j], color=colours[j], lw=1.6, label=name)
        handles.append(line)
        if true_srf is not None:
            ax.plot(x, true_srf[:, j], color=colours[j], lw=1.2, ls="--", alpha=0.85)
    if true_srf is not None:
        handles += [
            Line2D([], [], color="gray", lw=1.6, label="learned"),
            Line2D([], [], color="gray", lw=1.2, ls="--", label="true"),
        ]
    ax.set_xlabel("wavelength (nm)" if wl is not None else "HSI band index")
    ax.set_ylabel("weight (column sums to 1)")
    if legend_outside:
        ax.legend(handles=handles, fontsize=legend_size, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_ylim(bottom=0.0)
    else:  # leave head room above the curves for a legend in rows
        top = max(float(np.nanmax(srf)), float(np.nanmax(true_srf)) if true_srf is not None else 0.0)
        ax.set_ylim(0.0, 1.45 * top if top > 0 else 1.0)
        ax.legend(handles=handles, fontsize=legend_size, loc="upper center", ncol=3, framealpha=0.8)
    ax.grid(alpha=0.3)


def _history_by_stage(history: Sequence[Mapping[str, Any]]) -> dict[int, dict[str, np.ndarray]]:
    """``{stage: {"iteration": ..., "loss": ..., term: ...}}`` with records in logged order; of an
    ensemble (records tagged ``member``), the first run's."""
    stages: dict[int, list[Mapping[str, Any]]] = {}
    for rec in history:
        if rec.get("member", 0) != 0:
            continue
        stages.setdefault(int(rec.get("stage", 0)), []).append(rec)
    out: dict[int, dict[str, np.ndarray]] = {}
    for stage in sorted(stages):
        recs = stages[stage]
        keys: list[str] = []
        for rec in recs:
            for k, v in rec.items():
                if k not in ("stage", "iteration", "member") and k not in keys and isinstance(v, (int, float, np.number)):
                    keys.append(k)
        data = {
            "iteration": np.array([float(r.get("iteration", i + 1)) for i, r in enumerate(recs)]),
        }
        for k in keys:
            data[k] = np.array([float(r.get(k, np.nan)) for r in recs])
        out[stage] = data
    return out


def _draw_loss_stage(ax: Axes, stage: int, data: Mapping[str, np.ndarray]) -> None:
    from matplotlib import colormaps

    it = data["iteration"]
    tab = colormaps["tab10"]
    if "loss" in data:
        ax.plot(it, data["loss"], color="black", lw=1.8, label="total")
    terms = [k for k in data if k not in ("iteration", "loss")]
    for i, k in enumerate(terms):
        ax.plot(it, data[k], color=tab(i % 10), lw=1.1, label=k)
    _log_y(ax, [data[k] for k in data if k != "iteration"])
    ax.set_title(f"stage {stage}" if stage <= 3 else "stage 3 again, all pixels", fontsize=10)
    ax.set_xlabel("iteration")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right", framealpha=0.8)


def _log_y(ax: Axes, series: Sequence[np.ndarray]) -> None:
    values = np.concatenate([np.ravel(s) for s in series]) if series else np.array([])
    if np.any(np.isfinite(values) & (values > 0)):
        ax.set_yscale("log", nonpositive="mask")


# --------------------------------------------------------------------------------------------
# public figures
# --------------------------------------------------------------------------------------------


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
    lr = _cube(lr_hsi, "lr_hsi")
    msi = _cube(hr_msi, "hr_msi")
    fu = _cube(fused, "fused")
    ref = None if reference is None else _cube(reference, "reference")
    _check_scene(lr, msi, fu, ref)
    n_bands, height, width = fu.shape
    hb = rgb_bands(hsi_wavelengths, n_bands)
    mb = msi_rgb_bands(msi_wavelengths, msi.shape[0])
    lim = stretch_limits(ref if ref is not None else fu, hb)

    n = 4 if ref is not None else 3
    pw, ph = _panel_size(height, width)
    fig = _new_figure(pw * n, ph + 0.6)
    axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    ratio = height / lr.shape[1]
    _show_rgb(
        axes[0],
        true_colour(lr, hb, lim),
        f"LR-HSI {lr.shape[1]}×{lr.shape[2]} (nearest ×{ratio:g})",
        extent=extent,
    )
    _show_rgb(axes[1], true_colour(msi, mb), f"HR-MSI {height}×{width}, bands {mb}")
    _show_rgb(axes[2], true_colour(fu, hb, lim), f"fused {height}×{width}")
    if ref is not None:
        _show_rgb(axes[3], true_colour(ref, hb, lim), "reference")
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
    fu = _cube(fused, "fused")
    ref = _cube(reference, "reference")
    _same_shape(fu, ref, "fused", "reference")
    rm = _rmse_map(fu, ref)
    sm = _sam_map(fu, ref)
    pw, ph = _panel_size(*fu.shape[1:], width=4.0)
    fig = _new_figure(2 * pw + 1.0, ph + 0.6)
    ax0, ax1 = fig.subplots(1, 2)
    _show_map(ax0, rm, f"RMSE over bands (mean {_nanmean_text(rm)})", "RMSE (data units)", "magma")
    _show_map(ax1, sm, f"spectral angle (mean {_nanmean_text(sm)}°)", "SAM (degrees)", "viridis")
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
    fu = _cube(fused, "fused")
    ref = _cube(reference, "reference")
    _same_shape(fu, ref, "fused", "reference")
    wl = _wavelengths(wavelengths, fu.shape[0], "wavelengths")
    x = wl if wl is not None else np.arange(fu.shape[0])
    rmse, psnr = _band_errors(fu, ref)
    shown = np.where(np.isfinite(psnr), psnr, np.nan)
    fig = _new_figure(11.0, 3.8)
    ax0, ax1 = fig.subplots(1, 2, sharex=True)
    ax0.plot(x, shown, color=_FUSED_COLOUR, marker=".", ms=3, lw=1.2)
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
    valid = _valid_pixels(cube)
    if not valid.any():
        return fixed
    brightness = _masked_mean(cube, np.broadcast_to(valid, cube.shape), axis=0)
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
    fu = _cube(fused, "fused")
    n_bands, height, width = fu.shape
    ref = None if reference is None else _cube(reference, "reference")
    if ref is not None:
        _same_shape(fu, ref, "fused", "reference")
    lr = None if lr_hsi is None else _cube(lr_hsi, "lr_hsi")
    if lr is not None:
        if lr.shape[0] != n_bands:
            raise ValueError(f"lr_hsi has {lr.shape[0]} bands but fused has {n_bands}")
        if ratio is None:
            ratio = _infer_ratio(lr, fu)
            if ratio is None:
                raise ValueError(
                    f"cannot infer the ratio from lr_hsi {lr.shape} and fused {fu.shape}; pass ratio="
                )
        if int(ratio) < 1:
            raise ValueError(f"ratio must be a positive integer, got {ratio}")
        ratio = int(ratio)
    wl = _wavelengths(wavelengths, n_bands, "wavelengths")
    x = wl if wl is not None else np.arange(n_bands)

    if pixels is None:
        chosen = _default_pixels(ref if ref is not None else fu)
    else:
        chosen = []
        for p in pixels:
            r, c = int(p[0]), int(p[1])
            if not (0 <= r < height and 0 <= c < width):
                raise ValueError(f"pixel {(r, c)} is outside the {height}×{width} image")
            chosen.append((r, c, ""))
    if not chosen:
        raise ValueError("pixels must name at least one (row, col)")

    ncols = 1 if len(chosen) == 1 else 2
    nrows = math.ceil(len(chosen) / ncols)
    fig = _new_figure(5.2 * ncols, 3.0 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (r, c, why) in zip(axes, chosen):
        ax.plot(x, fu[:, r, c], color=_FUSED_COLOUR, lw=1.5, label="fused")
        if ref is not None:
            ax.plot(x, ref[:, r, c], color=_REF_COLOUR, lw=1.2, ls="--", label="reference")
        if lr is not None:
            assert ratio is not None
            lr_r = min(r // ratio, lr.shape[1] - 1)
            lr_c = min(c // ratio, lr.shape[2] - 1)
            ax.plot(x, lr[:, lr_r, lr_c], color=_LR_COLOUR, lw=1.5, ls=":", label=f"LR-HSI ({lr_r}, {lr_c})")
        title = f"pixel (row {r}, col {c})" + (f", {why}" if why else "")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("value (data units)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best", framealpha=0.8)
    for ax in axes[len(chosen):]:
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
    p = _to_numpy(psf, "psf")
    if p.ndim != 2:
        raise ValueError(f"psf must be a 2-D (k, k) kernel, got shape {p.shape}")
    t = None if true_psf is None else _to_numpy(true_psf, "true_psf")
    if t is not None and t.ndim != 2:
        raise ValueError(f"true_psf must be a 2-D (k, k) kernel, got shape {t.shape}")
    kernels = [(p, "learned PSF")] + ([(t, "true PSF")] if t is not None else [])
    vmax = max(float(np.nanmax(k)) for k, _ in kernels)
    vmax = vmax if vmax > 0 else 1.0
    n = len(kernels) + 1
    fig = _new_figure(3.6 * n + 0.6, 3.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    im = None
    for ax, (k, name) in zip(axes, kernels):
        im = _draw_psf(ax, k, f"{name} {k.shape[0]}×{k.shape[1]} (sum {np.nansum(k):.3f})", vmax, max(k.shape) <= 8)
    assert im is not None
    cb = fig.colorbar(im, ax=list(axes[: len(kernels)]), shrink=0.85)
    cb.set_label("weight", fontsize=9)
    prof = axes[-1]
    off, row = _psf_profile(p)
    prof.plot(off, row, color=_FUSED_COLOUR, marker="o", ms=4, lw=1.5, label="learned")
    if t is not None:
        off_t, row_t = _psf_profile(t)
        prof.plot(off_t, row_t, color=_REF_COLOUR, marker="s", ms=3, lw=1.2, ls="--", label="true")
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
    s = _to_numpy(srf, "srf")
    if s.ndim != 2:
        raise ValueError(f"srf must be a (C, c) matrix (HSI bands x MSI bands), got shape {s.shape}")
    t = None if true_srf is None else _to_numpy(true_srf, "true_srf")
    if t is not None and t.shape != s.shape:
        raise ValueError(f"true_srf {t.shape} and srf {s.shape} must have the same (C, c) shape")
    if band_names is not None and len(band_names) != s.shape[1]:
        raise ValueError(f"band_names has {len(band_names)} names for {s.shape[1]} MSI bands")
    wl = _wavelengths(wavelengths, s.shape[0], "wavelengths")
    fig = _new_figure(9.0, 4.2)
    ax = fig.subplots()
    _draw_srf(ax, s, wl, t, band_names)
    ax.set_title(f"spectral response, {s.shape[1]} MSI bands over {s.shape[0]} HSI bands", fontsize=10)
    return fig


def loss_curves(history: Sequence[Mapping[str, Any]]) -> Figure:
    """Training losses: one panel per stage, log y, total loss (black) and each term.

    Args:
        history: records ``{"stage": int, "iteration": int, "loss": float, <term>: float, ...}``.

    Returns:
        Figure with one axes per stage present in ``history`` (one empty axes when it is empty).
    """
    stages = _history_by_stage(history)
    if not stages:
        fig = _new_figure(5.0, 3.2)
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)
        _hide_ticks(ax)
        return fig
    n = len(stages)
    fig = _new_figure(4.6 * n, 3.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (stage, data) in zip(axes, stages.items()):
        _draw_loss_stage(ax, stage, data)
    axes[0].set_ylabel("loss")
    return fig


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
    lr = _cube(lr_hsi, "lr_hsi")
    msi = _cube(hr_msi, "hr_msi")
    fu = _cube(fused, "fused")
    ref = None if reference is None else _cube(reference, "reference")
    _check_scene(lr, msi, fu, ref)
    n_bands, height, width = fu.shape
    p = _to_numpy(psf, "psf")
    s = _to_numpy(srf, "srf")
    t_psf = None if true_psf is None else _to_numpy(true_psf, "true_psf")
    t_srf = None if true_srf is None else _to_numpy(true_srf, "true_srf")
    wl = _wavelengths(hsi_wavelengths, n_bands, "hsi_wavelengths")
    hb = rgb_bands(wl, n_bands)
    mb = msi_rgb_bands(msi_wavelengths, msi.shape[0])
    lim = stretch_limits(ref if ref is not None else fu, hb)

    pw, ph = _panel_size(height, width, width=4.6)
    fig = _new_figure(3 * pw + 1.0, ph + 4.8)
    grid = fig.add_gridspec(2, 3, height_ratios=[ph + 0.4, 3.6])
    a_fused = fig.add_subplot(grid[0, 0])
    a_second = fig.add_subplot(grid[0, 1], sharex=a_fused, sharey=a_fused)
    a_third = fig.add_subplot(grid[0, 2], sharex=a_fused, sharey=a_fused)
    a_psf = fig.add_subplot(grid[1, 0])
    a_srf = fig.add_subplot(grid[1, 1])
    a_loss = fig.add_subplot(grid[1, 2])

    _show_rgb(a_fused, true_colour(fu, hb, lim), f"fused {n_bands}×{height}×{width}")
    if ref is not None:
        _show_rgb(a_second, true_colour(ref, hb, lim), "reference (same stretch)")
        _show_map(a_third, _rmse_map(fu, ref), "RMSE over bands", "RMSE (data units)", "magma")
    else:
        _show_rgb(a_second, true_colour(msi, mb), f"HR-MSI, bands {mb}")
        extent = (-0.5, width - 0.5, height - 0.5, -0.5)
        _show_rgb(a_third, true_colour(lr, hb, lim), f"LR-HSI {lr.shape[1]}×{lr.shape[2]} (nearest)", extent)

    annotate = max(p.shape) <= 8
    vmax = float(np.nanmax(p)) if np.nanmax(p) > 0 else 1.0
    title = f"PSF {p.shape[0]}×{p.shape[1]}"
    if t_psf is not None and t_psf.shape == p.shape:
        title += f", max |Δ| vs true {np.nanmax(np.abs(p - t_psf)):.2g}"
    im = _draw_psf(a_psf, p, title, vmax, annotate)
    fig.colorbar(im, ax=a_psf, shrink=0.85)

    _draw_srf(a_srf, s, wl, t_srf, None, legend_size=7, legend_outside=False)
    a_srf.set_title("SRF" + (" (true dashed)" if t_srf is not None else ""), fontsize=10)

    stages = _history_by_stage(history)
    offset = 0.0
    series = []
    for stage, data in stages.items():
        if "loss" not in data:
            continue
        it = data["iteration"] + offset
        a_loss.plot(it, data["loss"], lw=1.3, label=f"stage {stage}")
        series.append(data["loss"])
        if offset > 0:
            a_loss.axvline(offset, color="gray", lw=0.8, ls=":")
        offset = float(it.max()) if it.size else offset
    if series:
        _log_y(a_loss, series)
        a_loss.legend(fontsize=8)
    else:
        a_loss.text(0.5, 0.5, "no training history", ha="center", va="center", transform=a_loss.transAxes)
    a_loss.set_title("total loss", fontsize=10)
    a_loss.set_ylabel("loss")
    a_loss.set_xlabel("iteration (stages end to end)")
    a_loss.grid(alpha=0.3, which="both")

    head = "PFS2C2 fusion report"
    if ref is not None:
        head += " - " + _summary(fu, ref)
    fig.suptitle(head, fontsize=12)
    return fig


def _save_atomic(fig: Figure, path: Path, dpi: int) -> None:
    """Save ``fig`` as PNG to a temporary file in the same directory, then rename it."""
    # a unique name rather than mkstemp, whose 0600 mode would survive the rename: the PNG
    # gets the usual permissions from the umask
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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
    if ratio is None and _infer_ratio(_cube(lr_hsi, "lr_hsi"), _cube(fused, "fused")) is None:
        lr_for_spectra = None
    names = ["report.png", "quicklook.png"]
    if reference is not None:
        names += ["error_maps.png", "per_band.png"]
    names += ["spectra.png", "psf.png", "srf.png", "loss.png"]
    if not overwrite:
        existing = [n for n in names if (out / n).exists()]
        if existing:
            raise FileExistsError(f"{out} already holds {', '.join(existing)}; pass overwrite=True to replace them")
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
            _save_atomic(fig, path, dpi)
            written.append(path)
        finally:
            fig.clear()  # object-API figures are not registered with pyplot; free their artists
    return written
