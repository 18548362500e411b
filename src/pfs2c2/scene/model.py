"""A trained pfs2c2 model detached from its training data: what streaming inference needs."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from ..model import SpectralUp, Trainer


@dataclass
class FusionModel:
    """SpeUp with a frozen attention gate plus the residual step's operators.

    Attributes:
        spe_up: SpectralUp whose attention gate is frozen (block-wise application equals a whole-image
            pass).
        psf: ``(k, k)`` float32 combined PSF of SpaDown (``k >= ratio``, ``k - ratio`` even).
        ratio: integer scale factor.
        hsi_scale, msi_scale: the maxima the LR-HSI and HR-MSI are divided by (input units).
        residual_correction: add the upsampled LR residual ``Y - SpaDown(SpeUp(Z))``.
        residual_upsampling: ``"bicubic"`` (streamable) or ``"psf"`` (whole-image only).
    """

    spe_up: SpectralUp
    psf: np.ndarray
    ratio: int
    hsi_scale: float
    msi_scale: float
    residual_correction: bool
    residual_upsampling: str

    @classmethod
    @torch.no_grad()
    def from_trainer(cls, trainer: Trainer) -> FusionModel:
        """Copy a trained :class:`~pfs2c2.model.Trainer`'s SpeUp and freeze its gate on the whole HR-MSI
        the trainer used (the gate its whole-image pass computes); the trainer is left unchanged."""
        p, m = trainer.problem, trainer.modules
        spe_up = copy.deepcopy(m.spe_up).eval()
        spe_up.freeze_attention(p.hr_msi)
        return cls(
            spe_up=spe_up,
            psf=m.spa_down.psf.detach().float().cpu().numpy().copy(),
            ratio=int(p.ratio),
            hsi_scale=float(p.hsi_scale),
            msi_scale=float(p.msi_scale),
            residual_correction=bool(trainer.cfg.residual_correction),
            residual_upsampling=str(trainer.cfg.residual_upsampling),
        )

    @property
    def bands(self) -> int:
        """HSI bands C of the fused cube."""
        last = self.spe_up.net[-1]
        assert isinstance(last, torch.nn.Conv2d)  # SpectralUp ends with its output convolution
        return int(last.out_channels)

    def fingerprint(self) -> str:
        """SHA-1 of everything that decides the output (weights, frozen gate, PSF, scales, settings)."""
        digest = hashlib.sha1()
        for name, tensor in sorted(self.spe_up.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
        digest.update(np.ascontiguousarray(self.psf, dtype=np.float32).tobytes())
        settings = (self.ratio, self.hsi_scale, self.msi_scale, self.residual_correction, self.residual_upsampling)
        digest.update(repr(settings).encode())
        return digest.hexdigest()
