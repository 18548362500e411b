"""How good a run is: scores against a reference, no-reference indices, and Wald's reduced-resolution check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..config import FusionConfig, RunOptions

REDUCED_RESOLUTION_PROTOCOL = "reduced resolution (both inputs degraded by the ratio with a Gaussian PSF, FWHM = ratio)"
"""How :func:`reduced_resolution_check` degrades the inputs (recorded in run.json's ``validation``)."""


def scoring_mask(fused: np.ndarray, reference: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """``(H, W)`` pixels to score: valid in the reference (see :func:`pfs2c2.masks.valid_pixels`) and finite in ``fused``."""
    from ..masks import valid_pixels

    return valid_pixels(reference, nodata) & np.all(np.isfinite(fused), axis=0)


def reference_scores(
    fused: np.ndarray, reference: np.ndarray, ratio: int, *, nodata: float | None = None, peak: str | float = "band"
) -> dict[str, float]:
    """PSNR, SAM, ERGAS, RMSE, CC, SSIM, UIQI of ``(C, H, W)`` cubes over the :func:`scoring_mask` pixels."""
    from ..metrics import evaluate

    return evaluate(fused, reference, ratio, peak=peak, mask=scoring_mask(fused, reference, nodata))


def no_reference_scores(fused: np.ndarray, hsi: np.ndarray, msi: np.ndarray, ratio: int) -> dict[str, float]:
    """D_lambda, D_s, QNR, D_lambda^K, HQNR on blocks of 8 LR pixels (2 for small images), NaN pixels excluded."""
    from ..metrics import no_reference

    lr_pixels = 8 if min(hsi.shape[1:]) >= 8 else 2
    valid = np.all(np.isfinite(fused), axis=0)
    return no_reference(
        np.nan_to_num(fused), np.nan_to_num(hsi), np.nan_to_num(msi), ratio, mask=valid, block_size=lr_pixels * ratio
    )


def reduced_resolution_check(
    hsi: np.ndarray,
    msi: np.ndarray,
    *,
    ratio: int | None = None,
    srf: Any = None,
    psf: Any = None,
    srf_support: Any = None,
    hsi_mask: np.ndarray | None = None,
    msi_mask: np.ndarray | None = None,
    mask_nonfinite: bool = False,
    config: FusionConfig | None = None,
    run: RunOptions | None = None,
) -> dict[str, float]:
    """Wald's reduced-resolution protocol: fuse (HSI, MSI) degraded by the ratio, compare with the HSI.

    Both ``(C, h, w)`` / ``(c, H, W)`` inputs are blurred with ``psf`` (default: a Gaussian of FWHM =
    ratio) and decimated by the ratio; the fusion of that pair is scored against the HSI (see
    :func:`reference_scores`). The keyword arguments are :func:`pfs2c2.fuse`'s; masks are ``(h, w)`` /
    ``(H, W)`` bool, True = data (default: every pixel).

    Raises:
        ValueError: the HSI is smaller than 2 x 2 blocks of the ratio.
    """
    from .._checks import check_reduced_resolution_size, infer_ratio
    from ..fusion import fuse
    from ..masks import block_all
    from ..physics import blur_downsample, crop_to_ratio, gaussian_psf

    r = ratio or infer_ratio(hsi.shape, msi.shape)
    hsi_valid = np.ones(hsi.shape[1:], dtype=bool) if hsi_mask is None else hsi_mask
    msi_valid = np.ones(msi.shape[1:], dtype=bool) if msi_mask is None else msi_mask
    kernel = psf if psf is not None else gaussian_psf(r)
    target = crop_to_ratio(hsi, r)
    h, w = target.shape[1:]
    check_reduced_resolution_size(h, w, r)
    lr = blur_downsample(np.nan_to_num(target), kernel, r)
    hr = blur_downsample(np.nan_to_num(msi[:, : h * r, : w * r]), kernel, r)
    fused = fuse(
        lr,
        hr,
        ratio=ratio,
        srf=srf,
        psf=psf,
        srf_support=srf_support,
        hsi_mask=block_all(hsi_valid[:h, :w], r),
        msi_mask=block_all(msi_valid[: h * r, : w * r], r),
        mask_nonfinite=mask_nonfinite,
        config=config,
        run=run,
    ).fused
    from ..metrics import evaluate

    return evaluate(fused, target, r, mask=scoring_mask(fused, target) & hsi_valid[:h, :w])
