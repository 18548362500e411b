"""The model checks (:mod:`pfs2c2._checks.model`): module arguments and checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pfs2c2 import InputError, _checks


def _refused(message: str, check, *args, **kwargs) -> None:
    with pytest.raises(InputError) as info:
        check(*args, **kwargs)
    assert str(info.value) == message


def test_check_spectral_bands():
    _refused("SpectralUp needs 0 < MSI bands < HSI bands, got 8 and 8", _checks.check_spectral_bands, 8, 8)
    _checks.check_spectral_bands(4, 31)


def test_check_module_activation():
    _refused("unknown output_activation 'relu'; use 'leaky_relu' or 'none'", _checks.check_module_activation, "relu")
    _checks.check_module_activation("none")


def test_check_inverse_psf_shape():
    _refused(
        "SpatialUp needs a square PSF of at least 4x4, got shape (3, 3)",
        _checks.check_inverse_psf_shape,
        np.ones((3, 3)).shape,
        4,
    )
    _checks.check_inverse_psf_shape((5, 5), 4)


def test_check_square_psf_shape():
    _refused("SpatialDown needs a square 2-D PSF, got shape (3, 4)", _checks.check_square_psf_shape, (3, 4))
    _checks.check_square_psf_shape((3, 3))


def test_check_srf_matrix_rank():
    _refused("SpectralDown needs a (C, c) SRF matrix, got shape (31,)", _checks.check_srf_matrix_rank, (31,))
    _checks.check_srf_matrix_rank((31, 3))


def test_check_support_shape():
    _refused("SRF support has shape (3, 31); expected (31, 3)", _checks.check_support_shape, (3, 31), 31, 3)
    _checks.check_support_shape((31, 3), 31, 3)


def test_check_checkpoint_run():
    _refused(
        "checkpoint run.ckpt is from a run with other inputs or settings; delete it (or pass --overwrite) to start over",
        _checks.check_checkpoint_run,
        Path("run.ckpt"),
        "abc",
        "def",
    )
    _checks.check_checkpoint_run(Path("run.ckpt"), "abc", "abc")


def test_check_no_leftover_checkpoint():
    _refused(
        "checkpoint run.ckpt exists from an earlier run; resume it (resume=True, CLI --resume) or delete it",
        _checks.check_no_leftover_checkpoint,
        [Path("run.ckpt"), Path("run.ckpt.member1")],
    )
    _checks.check_no_leftover_checkpoint([])
