"""Quality metrics of a fusion: full-reference scores, no-reference indices and error maps.

* :mod:`~pfs2c2.metrics.reference` -- against a ground truth: :func:`psnr`, :func:`sam`,
  :func:`ergas`, :func:`rmse`, :func:`cc`, :func:`ssim`, :func:`uiqi` and :func:`evaluate` (all at once);
  conventions in that module's docstring.
* :mod:`~pfs2c2.metrics.noref` -- without one, from the two inputs: :func:`d_lambda`, :func:`d_s`,
  :func:`qnr`, :func:`d_lambda_k` and :func:`no_reference` (QNR and HQNR).
* :mod:`~pfs2c2.metrics.maps` -- per-pixel and per-band errors for figures (NaN-aware numpy):
  :func:`rmse_map`, :func:`sam_map`, :func:`band_rmse_psnr`.

Names are imported on first use, so :mod:`~pfs2c2.metrics.maps` (numpy only, used by the figures) does
not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "SSIM_SIGMA": "reference",
    "SSIM_WINDOW": "reference",
    "UIQI_BLOCK": "reference",
    "ArrayLike": "reference",
    "cc": "reference",
    "ergas": "reference",
    "evaluate": "reference",
    "psnr": "reference",
    "rmse": "reference",
    "sam": "reference",
    "ssim": "reference",
    "uiqi": "reference",
    "d_lambda": "noref",
    "d_lambda_k": "noref",
    "d_s": "noref",
    "no_reference": "noref",
    "qnr": "noref",
    "band_rmse_psnr": "maps",
    "finite_pixels": "maps",
    "masked_mean": "maps",
    "rmse_map": "maps",
    "sam_map": "maps",
}
__all__ = [
    "ArrayLike",
    "SSIM_SIGMA",
    "SSIM_WINDOW",
    "UIQI_BLOCK",
    "band_rmse_psnr",
    "cc",
    "d_lambda",
    "d_lambda_k",
    "d_s",
    "ergas",
    "evaluate",
    "finite_pixels",
    "masked_mean",
    "no_reference",
    "psnr",
    "qnr",
    "rmse",
    "rmse_map",
    "sam",
    "sam_map",
    "ssim",
    "uiqi",
]

if TYPE_CHECKING:
    from .maps import band_rmse_psnr, finite_pixels, masked_mean, rmse_map, sam_map
    from .noref import d_lambda, d_lambda_k, d_s, no_reference, qnr
    from .reference import (
        SSIM_SIGMA,
        SSIM_WINDOW,
        UIQI_BLOCK,
        ArrayLike,
        cc,
        ergas,
        evaluate,
        psnr,
        rmse,
        sam,
        ssim,
        uiqi,
    )


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'pfs2c2.metrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
