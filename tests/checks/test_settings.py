"""The settings checks (:mod:`pfs2c2._checks.settings`) on FusionConfig and StageConfig."""

from __future__ import annotations

import dataclasses

import pytest

import pfs2c2
from pfs2c2 import FusionConfig, _checks


def test_check_config_refuses_both_stage1_weights_zero():
    """The old bug: both weights 0 passed the config check and fuse() died with an AttributeError."""
    from pfs2c2.config import StageConfig

    with pytest.raises(pfs2c2.InputError, match="anchor_weight and agreement_weight are both 0") as info:
        _checks.check_config(dataclasses.replace(FusionConfig(), anchor_weight=0.0, agreement_weight=0.0))
    assert "\n" not in str(info.value)
    _checks.check_config(FusionConfig())
    _checks.check_config(FusionConfig.preset_config("faithful"))  # anchor 0, agreement 1: fine
    _checks.check_config(dataclasses.replace(FusionConfig(), agreement_weight=0.0))
    with pytest.raises(pfs2c2.InputError, match="agreement_weight must be >= 0"):
        _checks.check_config(dataclasses.replace(FusionConfig(), agreement_weight=-1.0))
    with pytest.raises(pfs2c2.InputError, match=r"stage2\.decay_start must be in \[0, iterations=5\], got 9"):
        _checks.check_stage(StageConfig(5, 1e-3, 9), "stage2")
    with pytest.raises(pfs2c2.InputError, match="psf_init must be"):
        _checks.check_config(dataclasses.replace(FusionConfig(), psf_init="box"))


def test_check_config_refuses_an_unknown_preset_name():
    with pytest.raises(
        pfs2c2.InputError, match="unknown preset 'turbo'; choose one of: default, faithful, fast, robust"
    ):
        _checks.check_config(dataclasses.replace(FusionConfig(), preset="turbo"))  # type: ignore[arg-type]
