"""The four modules PFS2C2 learns per scene, and how each one starts.

* :class:`SpectralUp` (the paper's SpeUp, key ``spe_up``): MSI bands -> HSI bands, 1x1 convolutions
  with spectral attention. Applied to the HR-MSI it gives the fused HR-HSI.
* :class:`SpatialUp` (SpaUp, ``spa_up``): one transposed convolution shared by all bands
  (kernel = stride = ratio), initialised from the pseudo-inverse of a PSF.
* :class:`SpectralDown` (SpeDown, ``spe_down``): the SRF, one non-negative response per MSI band over
  the HSI bands that band covers (its support), times a positive gain per MSI band.
* :class:`SpatialDown` (SpaDown, ``spa_down``): one PSF shared by all bands (non-negative, sums to 1).

All modules take and return batches ``(N, C, H, W)``. The degradation modules are either learned
(blind: :meth:`SpatialDown.blind`, :meth:`SpectralDown.from_data`) or fixed to a known PSF / SRF
(non-blind: :meth:`SpatialDown.known`, :meth:`SpectralDown.known`); both expose the current operator
as ``.psf`` or ``.srf``. The forward model they learn (blur + decimation, SRF projection) is in
:mod:`pfs2c2.physics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._checks import (
    check_inverse_psf_shape,
    check_module_activation,
    check_spectral_bands,
    check_square_psf_shape,
    check_srf_matrix_rank,
    check_support_shape,
)
from ..config import PsfForm
from ..physics import blur_downsample_tensor, gaussian_psf, srf_project_tensor
from .psf_forms import GaussianPSF

MODULE_NAMES = ("spe_up", "spa_up", "spe_down", "spa_down")
"""Keys of the four modules in results, checkpoints and :meth:`Modules.as_dict`, in that order."""


class SpectralAttention(nn.Module):
    """Squeeze-and-excitation over bands: global mean per band -> MLP -> sigmoid gate per band.

    By default the mean is per sample (dims 2, 3). With ``pool_batch = True`` (or a ``mask``) one gate is
    computed from the mean over all samples and valid pixels of the batch (dims 0, 2, 3), so a batch of
    patches drawn from one scene gets the scene's gate. :meth:`freeze` fixes the gate (buffer
    ``frozen_gate``, saved in the state_dict only while frozen), so block-wise application equals a
    whole-image pass.
    """

    frozen_gate: torch.Tensor | None

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid())
        self.pool_batch = False
        self.register_buffer("frozen_gate", None)

    def pooled_mean(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, C, H, W)`` (and ``(N, 1, H, W)`` mask, 1 = valid) -> ``(1, C)`` mean over dims 0, 2, 3.

        For one unmasked image this is bit-identical to the per-sample mean the default uses.
        """
        if mask is None:
            if x.shape[0] == 1:
                return x.mean(dim=(2, 3))
            return x.mean(dim=(0, 2, 3))[None]
        m = mask.to(x.dtype)
        return ((x * m).sum(dim=(0, 2, 3)) / m.sum().clamp_min(1.0))[None]

    @torch.no_grad()
    def freeze(self, mean: torch.Tensor) -> None:
        """Fix the gate to ``gate(mean)``; ``mean``: ``(C,)`` or ``(1, C)`` band means of the input."""
        self.frozen_gate = self.gate(mean.reshape(1, -1)).detach().clone()

    def unfreeze(self) -> None:
        """Compute the gate from the input again."""
        self.frozen_gate = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, C, H, W)`` -> same shape, each band scaled by its gate in (0, 1).

        ``mask`` ``(N, 1, H, W)`` (1 = valid) restricts the pooled mean to valid pixels.
        """
        if self.frozen_gate is not None:
            weights = self.frozen_gate.to(x)
        elif self.pool_batch or mask is not None:
            weights = self.gate(self.pooled_mean(x, mask))
        else:
            weights = self.gate(x.mean(dim=(2, 3)))
        return x * weights[:, :, None, None]

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # A frozen gate is optional: take it when the checkpoint has one, otherwise stay unfrozen.
        key = prefix + "frozen_gate"
        gate = state_dict.get(key)
        self.frozen_gate = None
        rest = {k: v for k, v in state_dict.items() if k != key}
        super()._load_from_state_dict(rest, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        if gate is not None:
            self.frozen_gate = gate.detach().clone()


def spectral_widths(msi_bands: int, hsi_bands: int) -> list[int]:
    """Hidden widths of SpectralUp: the MSI band count doubled ``max(1, floor(log2(C / c)))`` times.

    This is the authors' layout when the HSI has at least twice the MSI bands, and still gives one
    hidden layer when it has fewer (e.g. 8 MSI -> 12 HSI bands).
    """
    check_spectral_bands(msi_bands, hsi_bands)
    doublings = max(1, int(math.floor(math.log2(hsi_bands / msi_bands))))
    return [msi_bands * 2**i for i in range(doublings + 1)]


class SpectralUp(nn.Module):
    """SpeUp: per-pixel MLP (1x1 convolutions, LeakyReLU 0.2) with spectral attention.

    Args:
        msi_bands: c, input bands.
        hsi_bands: C, output bands (C > c).
        attention: put a spectral attention block before the last convolution (the paper's design).
        output_activation: "leaky_relu" (the authors' code) or "none".
        linear_skip: add a linear 1x1 path ``W z + b`` beside the MLP (ours, not the authors'); with
            :meth:`init_linear` it starts as the least-squares spectral map and the MLP learns the rest.

    Shapes: ``(N, c, H, W)`` -> ``(N, C, H, W)``.
    """

    def __init__(
        self,
        msi_bands: int,
        hsi_bands: int,
        attention: bool = True,
        output_activation: Literal["leaky_relu", "none"] = "leaky_relu",
        linear_skip: bool = False,
    ) -> None:
        super().__init__()
        self.skip = nn.Conv2d(msi_bands, hsi_bands, 1) if linear_skip else None
        widths = spectral_widths(msi_bands, hsi_bands)
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 1), nn.LeakyReLU(0.2)]
        if attention:
            layers.append(SpectralAttention(widths[-1]))
        layers.append(nn.Conv2d(widths[-1], hsi_bands, 1))
        check_module_activation(output_activation)
        if output_activation == "leaky_relu":
            layers.append(nn.LeakyReLU(0.2))
        self.activation = layers.pop() if output_activation == "leaky_relu" else nn.Identity()
        self.net = nn.Sequential(*layers)

    @torch.no_grad()
    def init_linear(
        self, msi: torch.Tensor, hsi: torch.Tensor, mask: torch.Tensor | None = None, keep_mlp: bool = False
    ) -> None:
        """Set the linear path to the least-squares map from ``msi`` to ``hsi`` pixels.

        Args:
            msi: ``(1, c, h, w)`` MSI pixels; hsi: ``(1, C, h, w)`` HSI pixels at the same positions.
            mask: ``(1, 1, h, w)``, 1 where the pair is valid (default all).
            keep_mlp: fit the linear path to what the MLP leaves (``hsi - MLP(msi)``) and keep the MLP;
                by default the MLP is silenced (its last layer zeroed) and the fit is to ``hsi``.
        """
        if self.skip is None:
            raise RuntimeError("init_linear needs linear_skip=True")
        if keep_mlp:
            hsi = hsi - self.net(msi)
        a = msi[0].reshape(msi.shape[1], -1).T.double()
        b = hsi[0].reshape(hsi.shape[1], -1).T.double()
        if mask is not None:
            keep = mask.reshape(-1) > 0
            a, b = a[keep], b[keep]
        a = torch.cat([a, torch.ones_like(a[:, :1])], 1)
        sol = torch.linalg.lstsq(a, b).solution  # (c + 1, C)
        self.skip.weight.copy_(sol[:-1].T[:, :, None, None].to(self.skip.weight))
        assert self.skip.bias is not None  # nn.Conv2d has a bias by default
        self.skip.bias.copy_(sol[-1].to(self.skip.bias))
        if keep_mlp:
            return
        last = self.net[-1]
        assert isinstance(last, nn.Conv2d)  # the output convolution (the activation is kept apart)
        assert last.bias is not None
        last.weight.zero_()
        last.bias.zero_()

    @property
    def attention(self) -> SpectralAttention | None:
        """The attention block, or None when built without one."""
        for layer in self.net:
            if isinstance(layer, SpectralAttention):
                return layer
        return None

    def set_pool_batch(self, on: bool) -> None:
        """Pool the attention gate over the whole batch (dims 0, 2, 3) instead of per sample."""
        if self.attention is not None:
            self.attention.pool_batch = on

    def hidden_features(self, msi: torch.Tensor) -> torch.Tensor:
        """``(N, c, H, W)`` -> ``(N, widths[-1], H, W)``: the features that enter the attention block."""
        x = msi
        for layer in self.net:
            if isinstance(layer, SpectralAttention):
                return x
            x = layer(x)
        raise RuntimeError("hidden_features needs attention=True")

    @torch.no_grad()
    def freeze_attention(self, msi: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Fix the attention gate to the one of the mean hidden features over ``msi``'s (valid) pixels.

        Args:
            msi: ``(N, c, H, W)``, e.g. the whole HR-MSI or a sample of patches of it.
            mask: ``(N, 1, H, W)``, 1 where a pixel counts (default all).

        After this, applying the module block by block equals a whole-image pass (up to float rounding
        in the 1x1 convolutions). No-op without attention. For block-wise accumulation of the mean use
        :meth:`hidden_features` and ``self.attention.freeze(mean)``.
        """
        att = self.attention
        if att is None:
            return
        att.unfreeze()
        att.freeze(att.pooled_mean(self.hidden_features(msi), mask))

    def unfreeze_attention(self) -> None:
        """Undo :meth:`freeze_attention`."""
        if self.attention is not None:
            self.attention.unfreeze()

    def forward(self, msi: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, c, H, W)`` MSI -> ``(N, C, H, W)`` HSI; ``mask`` ``(N, 1, H, W)`` limits the attention mean."""
        if mask is None:
            out = self.net(msi)
        else:
            out = msi
            for layer in self.net:
                out = layer(out, mask) if isinstance(layer, SpectralAttention) else layer(out)
        if self.skip is not None:
            out = out + self.skip(msi)
        return self.activation(out)


class SpatialUp(nn.Module):
    """SpaUp: a transposed convolution (kernel = stride = ratio) shared by all bands.

    Initialised with ``psf / sum(psf**2)``, the pseudo-inverse of blur + decimation with that PSF:
    for a ``ratio x ratio`` PSF, ``SpatialDown(SpatialUp(y)) == y`` at initialisation. A wider PSF is
    cropped to its central ``ratio x ratio`` block ``b`` first; the identity then does not hold (a
    constant image comes back scaled by ``sum(psf * tile(b)) / sum(b**2)``).

    Shapes: ``(N, C, h, w)`` -> ``(N, C, ratio * h, ratio * w)``.
    """

    def __init__(self, ratio: int, init_psf: np.ndarray) -> None:
        super().__init__()
        init_psf = np.asarray(init_psf)
        check_inverse_psf_shape(init_psf.shape, ratio)
        if init_psf.shape != (ratio, ratio):
            # a wider PSF is cropped to its central ratio x ratio block for the inverse
            off = (init_psf.shape[0] - ratio) // 2
            init_psf = init_psf[off : off + ratio, off : off + ratio]
        self.ratio = ratio
        kernel = init_psf / np.sum(init_psf**2)
        self.kernel = nn.Parameter(torch.as_tensor(kernel, dtype=torch.float32))

    @classmethod
    def inverse_of(cls, ratio: int, psf: np.ndarray | None = None) -> SpatialUp:
        """The pseudo-inverse of blur + decimation with ``psf`` (default a Gaussian of FWHM = ratio)."""
        return cls(ratio, psf if psf is not None else gaussian_psf(ratio))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """``(N, C, h, w)`` -> ``(N, C, ratio * h, ratio * w)``."""
        n, c, h, w = lr.shape
        # transposed convolution with kernel = stride: each LR pixel becomes kernel-weighted r x r block
        up = torch.einsum("ncyx,ab->ncyaxb", lr, self.kernel.to(lr.dtype))
        return up.reshape(n, c, h * self.ratio, w * self.ratio)


class SpatialDown(nn.Module):
    """SpaDown: blur + decimation with one PSF shared by all bands.

    Blind, ``form = "free"``: the PSF is ``softmax(logits)`` over the ``k x k`` kernel, so it is always
    non-negative and sums to 1. Blind, ``form = "gaussian"``: a pixel-integrated anisotropic Gaussian
    with an offset (:class:`~pfs2c2.model.psf_forms.GaussianPSF`, five parameters, starting centred with
    FWHM = ratio; ``init_psf`` gives only the size). Non-blind: the PSF is a fixed buffer.

    Args:
        ratio: scale factor.
        init_psf: ``(k, k)`` starting (blind) or known (non-blind) kernel, summing to 1.
        learn: learn the kernel (blind) or keep it fixed.
        form: "free" or "gaussian" (blind only).

    Shapes: ``(N, C, H, W)`` -> ``(N, C, H / ratio, W / ratio)``.
    """

    fixed_psf: torch.Tensor  # buffer (non-blind)
    form: GaussianPSF | None  # the parametric PSF (blind, form "gaussian")

    def __init__(self, ratio: int, init_psf: np.ndarray, learn: bool = True, form: PsfForm = "free") -> None:
        super().__init__()
        self.ratio = ratio
        kernel = torch.as_tensor(init_psf, dtype=torch.float32)
        check_square_psf_shape(tuple(kernel.shape))
        self.form = GaussianPSF(kernel.shape[-1], ratio) if learn and form == "gaussian" else None
        if learn and self.form is None:
            self.logits = nn.Parameter(torch.log(kernel.clamp_min(1e-8)))
        elif not learn:
            self.register_buffer("fixed_psf", kernel / kernel.sum())

    @classmethod
    def known(cls, ratio: int, psf: np.ndarray) -> SpatialDown:
        """Non-blind: blur + decimation with the fixed ``(k, k)`` PSF ``psf``."""
        return cls(ratio, psf, learn=False)

    @classmethod
    def blind(
        cls,
        ratio: int,
        size: int | None = None,
        init: Literal["uniform", "gaussian"] = "uniform",
        form: PsfForm = "free",
    ) -> SpatialDown:
        """Blind: a learned ``size x size`` PSF (default ``ratio``), starting uniform or Gaussian (FWHM = ratio).

        ``form = "gaussian"`` learns a parametric Gaussian instead (it always starts as FWHM = ratio).
        """
        k = size or ratio
        start = gaussian_psf(ratio, k) if init == "gaussian" else np.full((k, k), 1.0 / k**2)
        return cls(ratio, start, learn=True, form=form)

    @property
    def learnable(self) -> bool:
        """True when the PSF is learned (blind)."""
        return hasattr(self, "logits") or self.form is not None

    @property
    def psf(self) -> torch.Tensor:
        """The current ``(k, k)`` PSF, non-negative, summing to 1."""
        if self.form is not None:
            return self.form()
        if self.learnable:
            return torch.softmax(self.logits.flatten(), 0).reshape(self.logits.shape)
        return self.fixed_psf

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> ``(N, C, H / ratio, W / ratio)``."""
        return blur_downsample_tensor(hr, self.psf, self.ratio)


class SpectralDown(nn.Module):
    """SpeDown: the SRF, ``(C, c)``, non-negative, zero outside each MSI band's support.

    Blind: column ``j`` is ``gain_j * softmax(logits[:, j])`` restricted to the support, so the shape of
    each response sums to 1 and ``gain_j`` absorbs a difference of radiometric units between the
    images. Non-blind: a fixed matrix.

    Args:
        init_srf: ``(C, c)`` starting (blind) or known (non-blind) matrix; its zeros define the support.
        learn: learn the response (blind) or keep it fixed.
        learn_gain: also learn the per-band gain (blind only).

    Shapes: ``(N, C, H, W)`` -> ``(N, c, H, W)``.
    """

    fixed_srf: torch.Tensor  # buffer (non-blind)
    support: torch.Tensor  # bool buffer (blind)
    log_gain: torch.Tensor  # parameter, or buffer without learn_gain (blind)

    def __init__(self, init_srf: np.ndarray, learn: bool = True, learn_gain: bool = True) -> None:
        super().__init__()
        srf = torch.as_tensor(init_srf, dtype=torch.float32)
        check_srf_matrix_rank(tuple(srf.shape))
        if not learn:
            self.register_buffer("fixed_srf", srf)
            return
        support = srf > 0
        self.register_buffer("support", support)
        sums = srf.sum(0)
        self.logits = nn.Parameter(torch.log((srf / sums).clamp_min(1e-8)))
        log_gain = torch.log(sums)
        if learn_gain:
            self.log_gain = nn.Parameter(log_gain)
        else:
            self.register_buffer("log_gain", log_gain)

    @classmethod
    def known(cls, srf: np.ndarray) -> SpectralDown:
        """Non-blind: projection with the fixed ``(C, c)`` matrix ``srf``."""
        return cls(srf, learn=False)

    @classmethod
    def from_data(
        cls,
        lr_msi: np.ndarray,
        lr_hsi: np.ndarray,
        support: np.ndarray | None = None,
        *,
        hsi_scale: float = 1.0,
        learn_gain: bool = True,
    ) -> SpectralDown:
        """Blind: a learned SRF, flat over each band's support, with gains from the data.

        Each gain starts at the ratio of means ``mean(lr_msi_j) / mean(shape_j . lr_hsi / hsi_scale)``,
        so the first SRF already matches the MSI's units.

        Args:
            lr_msi: ``(c, n)`` the spatially degraded MSI at ``n`` valid LR pixels.
            lr_hsi: ``(C, n)`` the LR-HSI at the same pixels, in units of ``hsi_scale``.
            support: ``(C, c)`` non-zero where an MSI band may respond (default everywhere).
            hsi_scale: what ``lr_hsi`` is divided by to be in the units of ``lr_msi``'s model.
            learn_gain: also learn the gains (else they stay at their start).
        """
        hsi_bands, msi_bands = lr_hsi.shape[0], lr_msi.shape[0]
        mask = np.ones((hsi_bands, msi_bands), bool) if support is None else np.asarray(support) > 0
        check_support_shape(mask.shape, hsi_bands, msi_bands)
        shape = mask / mask.sum(0, keepdims=True)
        msi_mean = lr_msi.mean(axis=1)
        projected = shape.T @ lr_hsi.mean(axis=1) / hsi_scale
        gain = np.where(projected > 0, msi_mean / np.maximum(projected, 1e-12), 1.0)
        return cls((shape * gain).astype(np.float32), learn=True, learn_gain=learn_gain)

    @property
    def learnable(self) -> bool:
        """True when the SRF is learned (blind)."""
        return hasattr(self, "logits")

    @property
    def srf(self) -> torch.Tensor:
        """The current ``(C, c)`` SRF (shape times gain), zero outside the support."""
        if not self.learnable:
            return self.fixed_srf
        shape = torch.softmax(self.logits.masked_fill(~self.support, -torch.inf), dim=0)
        return shape * torch.exp(self.log_gain)[None, :]

    def forward(self, hsi: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> ``(N, c, H, W)``."""
        return srf_project_tensor(hsi, self.srf)


@dataclass
class Modules:
    """The four modules of one run, by their one name each."""

    spe_up: SpectralUp
    spa_up: SpatialUp
    spe_down: SpectralDown
    spa_down: SpatialDown

    def as_dict(self) -> dict[str, nn.Module]:
        """``{"spe_up": ..., "spa_up": ..., "spe_down": ..., "spa_down": ...}`` (see :data:`MODULE_NAMES`)."""
        return {name: getattr(self, name) for name in MODULE_NAMES}
