"""The settings checks added for config mappings, presets and RunOptions (:mod:`pfs2c2._checks.settings`)."""

from __future__ import annotations

import pytest

from pfs2c2 import FusionConfig, InputError, RunOptions, _checks


def _refused(message: str, check, *args, **kwargs) -> None:
    with pytest.raises(InputError) as info:
        check(*args, **kwargs)
    assert str(info.value) == message


def test_check_preset():
    _refused("unknown preset 'slow'; choose one of: default, faithful, fast, robust", _checks.check_preset, "slow")
    _refused(
        "unknown preset 'slow'; choose one of: default, faithful, fast, robust", FusionConfig.preset_config, "slow"
    )
    _checks.check_preset("faithful")


def test_check_presets():
    _refused(
        "unknown preset(s) slow, quick; choose from default, faithful, fast, robust",
        _checks.check_presets,
        ["default", "slow", "quick"],
    )
    _checks.check_presets(["default", "fast"])


def test_check_config_keys():
    _refused(
        "unknown configuration key(s) ratio, zeta; known keys: ensemble, seed",
        _checks.check_config_keys,
        {"zeta": 1, "ratio": 4, "seed": 1},
        ["seed", "ensemble"],
    )
    _checks.check_config_keys({"seed": 1}, ["seed", "ensemble"])


def test_check_stage_mapping():
    _refused("stage1 must be a mapping with iterations, lr, decay_start", _checks.check_stage_mapping, "stage1", 5)
    _refused(
        "unknown key(s) steps in stage2; use iterations, lr, decay_start, patience, decay",
        _checks.check_stage_mapping,
        "stage2",
        {"lr": 1e-3, "steps": 4},
    )
    _checks.check_stage_mapping("stage3", {"iterations": 10, "patience": 2})


def test_check_run_options():
    _refused(
        "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or another torch device, got 'cuda:x'",
        RunOptions,
        device="cuda:x",
    )
    _refused(
        "threads must be a whole number of CPU threads >= 1 (0 or None: torch's default), got -1",
        RunOptions,
        threads=-1,
    )
    _refused(
        "threads must be a whole number of CPU threads >= 1 (0 or None: torch's default), got 2.5",
        RunOptions,
        threads=2.5,
    )
    _refused(
        "checkpoint_every must be >= 0 seconds (0: at every snapshot), got -1.0",
        RunOptions,
        checkpoint_every=-1.0,
    )
    # every value accepted before stays accepted
    for run in (RunOptions(), RunOptions(device="cuda:1", threads=0), RunOptions(device="cpu", checkpoint_every=0)):
        _checks.check_run_options(run)
