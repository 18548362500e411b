"""Checks of the model's building blocks (:mod:`pfs2c2.model`): module arguments and checkpoints.

The module checks take shapes, not tensors, so this layer needs no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError

__all__ = [
    "check_spectral_bands",
    "check_module_activation",
    "check_inverse_psf_shape",
    "check_square_psf_shape",
    "check_srf_matrix_rank",
    "check_support_shape",
    "check_checkpoint_run",
    "check_no_leftover_checkpoint",
]


def check_spectral_bands(msi_bands: int, hsi_bands: int) -> None:
    """Refuse a SpectralUp from ``msi_bands`` to ``hsi_bands`` unless ``0 < msi_bands < hsi_bands``.

    Raises:
        InputError: ``"SpectralUp needs 0 < MSI bands < HSI bands, ..."``.
    """
    if not 0 < msi_bands < hsi_bands:
        raise InputError(f"SpectralUp needs 0 < MSI bands < HSI bands, got {msi_bands} and {hsi_bands}")


def check_module_activation(output_activation: str) -> None:
    """Refuse a SpectralUp output activation other than ``"leaky_relu"`` or ``"none"``.

    Raises:
        InputError: ``"unknown output_activation ...; use 'leaky_relu' or 'none'"``.
    """
    if output_activation not in ("leaky_relu", "none"):
        raise InputError(f"unknown output_activation {output_activation!r}; use 'leaky_relu' or 'none'")


def check_inverse_psf_shape(shape: tuple[int, ...], ratio: int) -> None:
    """Refuse the PSF shape of a SpatialUp unless it is square, 2-D and at least ``ratio x ratio``.

    Raises:
        InputError: ``"SpatialUp needs a square PSF of at least RxR, got shape ..."``.
    """
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] < ratio:
        raise InputError(f"SpatialUp needs a square PSF of at least {ratio}x{ratio}, got shape {shape}")


def check_square_psf_shape(shape: tuple[int, ...]) -> None:
    """Refuse the PSF shape of a SpatialDown unless it is a square 2-D ``(k, k)``.

    Raises:
        InputError: ``"SpatialDown needs a square 2-D PSF, got shape ..."``.
    """
    if len(shape) != 2 or shape[0] != shape[1]:
        raise InputError(f"SpatialDown needs a square 2-D PSF, got shape {shape}")


def check_srf_matrix_rank(shape: tuple[int, ...]) -> None:
    """Refuse the SRF shape of a SpectralDown unless it is a 2-D ``(C, c)`` matrix.

    Raises:
        InputError: ``"SpectralDown needs a (C, c) SRF matrix, got shape ..."``.
    """
    if len(shape) != 2:
        raise InputError(f"SpectralDown needs a (C, c) SRF matrix, got shape {shape}")


def check_support_shape(shape: tuple[int, ...], hsi_bands: int, msi_bands: int) -> None:
    """Refuse an SRF support whose shape is not ``(hsi_bands, msi_bands)``.

    Raises:
        InputError: ``"SRF support has shape ...; expected (C, c)"``.
    """
    if shape != (hsi_bands, msi_bands):
        raise InputError(f"SRF support has shape {shape}; expected ({hsi_bands}, {msi_bands})")


def check_checkpoint_run(path: Path, found: object, run_id: str) -> None:
    """Refuse a checkpoint whose fingerprint ``found`` is not the run's ``run_id``.

    Raises:
        InputError: the checkpoint comes from a run with other inputs or settings.
    """
    if found != run_id:
        raise InputError(
            f"checkpoint {path} is from a run with other inputs or settings; delete it (or pass --overwrite) to start over"
        )


def check_no_leftover_checkpoint(leftover: Sequence[Path]) -> None:
    """Refuse to start a run over the checkpoint files ``leftover`` of an earlier one (without resume).

    Raises:
        InputError: naming the first file, resume or delete it.
    """
    if leftover:
        raise InputError(
            f"checkpoint {leftover[0]} exists from an earlier run; resume it (resume=True, CLI --resume) or delete it"
        )
