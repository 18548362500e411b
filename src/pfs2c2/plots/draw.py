"""Axes-level drawing shared by the single figures and the report (matplotlib object API only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported lazily so that importing pfs2c2 stays fast
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FUSED_COLOUR = "tab:blue"
REF_COLOUR = "black"
LR_COLOUR = "tab:orange"


def panel_size(h: int, w: int, width: float = 3.4) -> tuple[float, float]:
    """Width and height (inches) of one image panel, following the image's aspect ratio."""
    aspect = h / max(w, 1)
    return width, float(np.clip(width * aspect, 1.6, 2.2 * width))


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def hide_ticks(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def show_rgb(ax: Axes, rgb: np.ndarray, title: str, extent: tuple[float, float, float, float] | None = None) -> None:
    ax.imshow(rgb, interpolation="nearest", extent=extent)
    ax.set_title(title, fontsize=10)
    hide_ticks(ax)


def show_map(ax: Axes, values: np.ndarray, title: str, label: str, cmap: str) -> None:
    finite = values[np.isfinite(values)]
    vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
    if not vmax > 0:
        vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    hide_ticks(ax)
    cb = ax.figure.colorbar(im, ax=ax, shrink=0.85, extend="max" if finite.size and finite.max() > vmax else "neither")
    cb.set_label(label, fontsize=9)
    cb.ax.tick_params(labelsize=8)


def draw_psf(ax: Axes, psf: np.ndarray, title: str, vmax: float, annotate: bool) -> Any:
    im = ax.imshow(psf, cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
    k0, k1 = psf.shape
    ax.set_title(title, fontsize=10)
    hide_ticks(ax)
    if annotate:
        size = 8 if max(psf.shape) <= 5 else 6
        for i in range(k0):
            for j in range(k1):
                v = psf[i, j]
                colour = "black" if v > 0.6 * vmax else "white"
                ax.text(j, i, f"{v:.3f}", ha="center", va="center", color=colour, fontsize=size)
    return im


def psf_profile(psf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def band_colours(centres_nm: np.ndarray | None, n: int) -> list[Any]:
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


def srf_centres(srf: np.ndarray, wl: np.ndarray | None) -> np.ndarray | None:
    if wl is None:
        return None
    w = np.clip(srf, 0.0, None)
    s = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * wl[:, None]).sum(axis=0) / s


def draw_srf(
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
    centres = srf_centres(srf, wl)
    colours = band_colours(centres, n_msi)
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


def history_by_stage(history: Sequence[Mapping[str, Any]]) -> dict[int, dict[str, np.ndarray]]:
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
                if (
                    k not in ("stage", "iteration", "member")
                    and k not in keys
                    and isinstance(v, (int, float, np.number))
                ):
                    keys.append(k)
        data = {
            "iteration": np.array([float(r.get("iteration", i + 1)) for i, r in enumerate(recs)]),
        }
        for k in keys:
            data[k] = np.array([float(r.get(k, np.nan)) for r in recs])
        out[stage] = data
    return out


def draw_loss_stage(ax: Axes, stage: int, data: Mapping[str, np.ndarray]) -> None:
    from matplotlib import colormaps

    it = data["iteration"]
    tab = colormaps["tab10"]
    if "loss" in data:
        ax.plot(it, data["loss"], color="black", lw=1.8, label="total")
    terms = [k for k in data if k not in ("iteration", "loss")]
    for i, k in enumerate(terms):
        ax.plot(it, data[k], color=tab(i % 10), lw=1.1, label=k)
    log_y(ax, [data[k] for k in data if k != "iteration"])
    ax.set_title(f"stage {stage}" if stage <= 3 else "stage 3 again, all pixels", fontsize=10)
    ax.set_xlabel("iteration")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right", framealpha=0.8)


def log_y(ax: Axes, series: Sequence[np.ndarray]) -> None:
    values = np.concatenate([np.ravel(s) for s in series]) if series else np.array([])
    if np.any(np.isfinite(values) & (values > 0)):
        ax.set_yscale("log", nonpositive="mask")
