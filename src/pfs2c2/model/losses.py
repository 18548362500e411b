"""The loss of each stage, term by term.

Notation (all inside the model, images normalised by their own maximum): ``Y`` LR-HSI ``(1, C, h, w)``,
``Z`` HR-MSI ``(1, c, H, W)``, ``F`` = ``spe_up`` (SpectralUp), ``G`` = ``spa_up`` (SpatialUp),
``R`` = ``spe_down`` (SpectralDown), ``B`` = ``spa_down`` (SpatialDown), ``B0`` the PSF before learning.

1. Pretrain the inverses (:func:`stage1_terms`): ``agreement = |G(Y) - F(Z)|`` (the paper) plus the
   ``anchor = |F(B0(Z)) - Y|``, each times its weight.
2. Learn the degradations (:func:`stage2_terms`): ``degradation = |R(Y) - B(Z)|``.
3. Jointly (:func:`stage3_terms`): ``spe_up_cycle = |F(B(Z)) - Y|``, ``spa_up_cycle = |G(R(Y)) - Z|``,
   ``fused_spatial = |B(F(Z)) - Y|``, ``degradation = |R(Y) - B(Z)|`` (when a degradation is learned)
   and the spectral-consistency term ``fused_spectral = w |R(F(Z)) - Z|``.

All terms are masked L1 means (:func:`masked_l1`); a stage minimises their sum (:func:`total_loss`).
The names are the columns of the run's history. Stage 3 is scored on held-out LR pixels by
:func:`holdout_mse`.
"""

from __future__ import annotations

import functools
import operator
from typing import NamedTuple

import torch

from .modules import Modules

Terms = dict[str, torch.Tensor]
"""Loss terms of one iteration by name (scalar tensors), in the order they are summed."""


class HRBatch(NamedTuple):
    """The MSI and LR-HSI that the HR loss terms of one iteration see, with their masks.

    Without sampling these are the whole images ``z (1, c, H, W)``, ``y (1, C, h, w)`` and their
    masks; with sampling, ``n`` LR pixels and their MSI blocks, ``z (1, c, n*r, r)``, ``y (1, C, n, 1)``,
    all valid (masks None).
    """

    z: torch.Tensor
    y: torch.Tensor
    lr_mask: torch.Tensor | None
    hr_mask: torch.Tensor | None


def masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean absolute difference over the pixels where ``mask`` (broadcast to ``a``) is 1."""
    if mask is None:
        return torch.nn.functional.l1_loss(a, b)
    weights = mask.expand_as(a)
    return ((a - b).abs() * weights).sum() / weights.sum().clamp_min(1.0)


def total_loss(terms: Terms) -> torch.Tensor:
    """The sum of the terms, left to right.

    Raises:
        ValueError: if there is no term (a stage with nothing to minimise).
    """
    if not terms:
        raise ValueError("a training step returned no loss term")
    return functools.reduce(operator.add, terms.values())


def stage1_terms(
    modules: Modules,
    lr_hsi: torch.Tensor,
    lr_msi0: torch.Tensor,
    lr_mask: torch.Tensor | None,
    batch: HRBatch | None,
    pair_mask: torch.Tensor | None,
    *,
    anchor_weight: float,
    agreement_weight: float,
) -> Terms:
    """Stage 1: ``agreement_weight |G(y) - F(z)|`` on ``batch`` and ``anchor_weight |F(B0(Z)) - Y|``.

    Args:
        lr_hsi: ``Y``; lr_msi0: ``B0(Z)``, the MSI degraded with the starting PSF, both ``(1, ., h, w)``.
        lr_mask: ``(1, 1, h, w)`` LR pixels in use, or None for all.
        batch: the HR pixels of this iteration (needed when ``agreement_weight`` > 0).
        pair_mask: ``(1, 1, H, W)`` HR pixels whose LR pixel and block are in use, or None.
    A term whose weight is 0 is left out.
    """
    terms: Terms = {}
    if agreement_weight > 0:
        if batch is None:
            raise ValueError("the agreement term needs an HR batch")
        terms["agreement"] = agreement_weight * masked_l1(modules.spa_up(batch.y), modules.spe_up(batch.z), pair_mask)
    if anchor_weight > 0:
        terms["anchor"] = anchor_weight * masked_l1(modules.spe_up(lr_msi0), lr_hsi, lr_mask)
    return terms


def stage2_terms(modules: Modules, lr_hsi: torch.Tensor, hr_msi: torch.Tensor, lr_mask: torch.Tensor | None) -> Terms:
    """Stage 2: ``degradation = |R(Y) - B(Z)|`` on the LR pixels in ``lr_mask``."""
    return {"degradation": masked_l1(modules.spe_down(lr_hsi), modules.spa_down(hr_msi), lr_mask)}


def stage3_terms(
    modules: Modules,
    lr_hsi: torch.Tensor,
    hr_msi: torch.Tensor,
    lr_mask: torch.Tensor | None,
    pair_mask: torch.Tensor | None,
    batch: HRBatch,
    *,
    learn_degradation: bool,
    spectral_consistency_weight: float,
) -> Terms:
    """Stage 3: the cycle terms, the fused cube's degradations and (optionally) the degradation term.

    Args:
        lr_hsi, hr_msi: ``Y`` and ``Z``.
        lr_mask: ``(1, 1, h, w)`` LR pixels in use; pair_mask: ``(1, 1, H, W)`` HR pixels in use.
        batch: the HR pixels the fused terms see this iteration.
        learn_degradation: add ``|R(Y) - B(Z)|`` (when the PSF or SRF is learned).
        spectral_consistency_weight: weight of ``|R(F(z)) - z|`` (0 = left out, as the authors).
    The inputs of the cycle terms are detached: they train F and G, not R and B.
    """
    lr_msi_spatial = modules.spa_down(hr_msi)
    lr_msi_spectral = modules.spe_down(lr_hsi)
    fused = modules.spe_up(batch.z)
    terms = {
        "spe_up_cycle": masked_l1(modules.spe_up(lr_msi_spatial.detach()), lr_hsi, lr_mask),
        "spa_up_cycle": masked_l1(modules.spa_up(lr_msi_spectral.detach()), hr_msi, pair_mask),
        "fused_spatial": masked_l1(modules.spa_down(fused), batch.y, batch.lr_mask),
    }
    if learn_degradation:
        terms["degradation"] = masked_l1(lr_msi_spectral, lr_msi_spatial, lr_mask)
    if spectral_consistency_weight > 0:
        terms["fused_spectral"] = spectral_consistency_weight * masked_l1(
            modules.spe_down(fused), batch.z, batch.hr_mask
        )
    return terms


@torch.no_grad()
def holdout_mse(modules: Modules, lr_hsi: torch.Tensor, hr_msi: torch.Tensor, holdout_mask: torch.Tensor) -> float:
    """Mean squared error of ``B(F(Z))`` against ``Y`` on the held-out LR pixels (``(1, 1, h, w)`` mask)."""
    n = holdout_mask.sum()
    error = ((modules.spa_down(modules.spe_up(hr_msi)) - lr_hsi) ** 2) * holdout_mask
    return float(error.sum() / (n * lr_hsi.shape[1]))
