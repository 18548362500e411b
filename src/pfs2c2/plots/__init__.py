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

Modules: :mod:`~pfs2c2.plots.figures` (the single figures), :mod:`~pfs2c2.plots.report`
(:func:`report_figure`, :func:`write_report`), :mod:`~pfs2c2.plots.colour` (true colour),
:mod:`~pfs2c2.plots.draw` (axes-level drawing); the input coercion and checks are in
:mod:`pfs2c2._checks` (``as_float_cube``, ``check_scene`` ...).
The error maps come from :mod:`pfs2c2.metrics.maps`.
"""

from __future__ import annotations

from .colour import PERCENTILES, RGB_TARGETS_NM, msi_rgb_bands, rgb_bands, stretch_limits, true_colour
from .figures import error_maps, loss_curves, per_band_metrics, psf_figure, quicklooks, spectra, srf_figure
from .report import DPI, report_figure, write_report

__all__ = [
    "DPI",
    "PERCENTILES",
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
