"""FusionConfig: presets, schedules, YAML round trip, validation; RunOptions and legacy run keys."""

from __future__ import annotations

import dataclasses

import pytest

from pfs2c2 import FusionConfig, InputError, StageConfig
from pfs2c2.config import PRESETS, RunOptions, read_config_file, split_run_options


def test_faithful_preset_is_the_authors_schedule():
    cfg = FusionConfig.preset_config("faithful")
    assert [(s.iterations, s.lr, s.decay_start) for s in (cfg.stage1, cfg.stage2, cfg.stage3)] == [
        (20000, 1e-3, 10000),
        (30000, 1e-3, 20000),
        (30000, 1e-3, 20000),
    ]
    assert cfg.anchor_weight == 0 and cfg.spectral_consistency_weight == 0 and not cfg.linear_skip
    assert cfg.ensemble == 1 and not cfg.learn_srf_gain and not cfg.residual_correction
    assert [s.decay for s in (cfg.stage1, cfg.stage2, cfg.stage3)] == ["authors"] * 3


def authors_rates(lr0: float, iterations: int, decay_begin: int) -> list[float]:
    """The rate each step of the authors' loop uses (train.py of Welcome-to-LISA/PFS2C2), re-enacted.

    Every epoch starts with ``lr = lr0``; from epoch ``decay_begin`` on, after the step, the optimiser
    gets ``lr - lr0 / (iterations - decay_begin + 1)``, which the next epoch's step uses.
    """
    current, used = lr0, []
    for epoch in range(1, iterations + 1):
        lr = lr0
        used.append(current)
        if epoch > decay_begin - 1:
            lr = lr - lr0 / (iterations - decay_begin + 1)
            current = lr
    return used


def test_faithful_follows_the_authors_effective_schedule():
    cfg = FusionConfig.preset_config("faithful")
    for stage in (cfg.stage1, cfg.stage2, cfg.stage3):
        ours = [stage.lr * stage.lr_factor(i) for i in range(stage.iterations)]
        assert ours == pytest.approx(authors_rates(stage.lr, stage.iterations, stage.decay_start), rel=1e-12)
        assert min(ours) > 0.9999 * stage.lr  # a constant rate in effect, not a decay to 0


@pytest.mark.parametrize("iterations, decay_start", [(10, 5), (10, 0), (10, 10), (1, 0), (7, 6)])
def test_authors_decay_matches_their_loop_at_the_edges(iterations, decay_start):
    stage = StageConfig(iterations, 2e-3, decay_start, decay="authors")
    ours = [stage.lr * stage.lr_factor(i) for i in range(iterations)]
    assert ours == pytest.approx(authors_rates(2e-3, iterations, decay_start), rel=1e-12)


def test_default_and_fast_keep_the_linear_decay():
    for name in ("default", "fast"):
        cfg = FusionConfig.preset_config(name)
        assert [s.decay for s in (cfg.stage1, cfg.stage2, cfg.stage3)] == ["linear"] * 3
    assert StageConfig(10, 1e-3, 5).decay == "linear"


def test_every_preset_builds_and_names_itself():
    for name in PRESETS:
        assert FusionConfig.preset_config(name).preset == name


def test_linear_decay_reaches_zero_at_the_end():
    stage = StageConfig(10, 1e-3, 5)
    factors = [stage.lr_factor(i) for i in range(10)]
    assert factors[:5] == [1.0] * 5
    assert factors[5:] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])


def test_yaml_round_trip_and_overlay(tmp_path):
    cfg = dataclasses.replace(FusionConfig.preset_config("fast"), seed=11)
    path = tmp_path / "c.yaml"
    cfg.to_yaml(path)
    assert FusionConfig.from_yaml(path) == cfg
    (tmp_path / "o.yaml").write_text("stage3:\n  iterations: 7\n  decay_start: 3\nseed: 5\n")
    over = FusionConfig.from_yaml(tmp_path / "o.yaml", base=FusionConfig())
    assert over.stage3 == StageConfig(7, FusionConfig().stage3.lr, 3, FusionConfig().stage3.patience) and over.seed == 5


def test_decay_round_trips_through_yaml_and_overlays(tmp_path):
    faithful = FusionConfig.preset_config("faithful")
    path = tmp_path / "f.yaml"
    faithful.to_yaml(path)
    assert "decay: authors" in path.read_text()
    assert FusionConfig.from_yaml(path) == faithful
    (tmp_path / "o.yaml").write_text("preset: faithful\nstage2:\n  decay: linear\n")
    over = FusionConfig.from_yaml(tmp_path / "o.yaml")
    assert (over.stage1.decay, over.stage2.decay, over.stage3.decay) == ("authors", "linear", "authors")
    assert over.stage2 == dataclasses.replace(faithful.stage2, decay="linear")
    assert FusionConfig.from_dict({"stage1": {"decay": "authors"}}).stage1.decay == "authors"


def test_an_unknown_decay_is_refused_naming_the_stage():
    with pytest.raises(InputError) as info:
        FusionConfig.from_dict({"stage3": {"decay": "cosine"}})
    assert str(info.value) == "stage3.decay must be one of 'linear', 'authors', got 'cosine'"
    with pytest.raises(InputError, match=r"stage1\.decay must be one of"):
        FusionConfig(stage1=StageConfig(10, 1e-3, 5, decay="step"))  # type: ignore[arg-type]


def test_config_is_frozen_and_overridden_with_replace():
    cfg = FusionConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.stage1.iterations = 3  # type: ignore[misc]
    assert dataclasses.replace(cfg, seed=3).seed == 3 and cfg.seed == 0
    with pytest.raises(InputError, match="ensemble must be >= 1"):
        dataclasses.replace(cfg, ensemble=0)  # replace builds a new config, which is checked


def test_device_and_threads_are_run_options_not_config():
    names = {f.name for f in dataclasses.fields(FusionConfig)}
    assert "device" not in names and "threads" not in names and "log_every" in names
    assert RunOptions() == RunOptions(
        device="auto",
        threads=None,
        callback=None,
        checkpoint=None,
        checkpoint_every=60.0,
        resume=False,
        keep_checkpoint=False,
    )
    with pytest.raises(InputError, match="unknown configuration key"):
        FusionConfig.from_dict({"device": "cpu"})


def test_legacy_run_keys_are_split_off(tmp_path):
    config, run = split_run_options({"seed": 3, "device": "cpu", "threads": 1, "stage1": {"iterations": 5}})
    assert config == {"seed": 3, "stage1": {"iterations": 5}} and run == {"device": "cpu", "threads": 1}
    assert RunOptions(**run).threads == 1
    path = tmp_path / "old.yaml"
    path.write_text("seed: 4\ndevice: cpu\nthreads: 2\n")
    cfg, run = read_config_file(path, base=FusionConfig.preset_config("fast"))
    assert cfg.seed == 4 and cfg.preset == "fast" and run == {"device": "cpu", "threads": 2}


def test_both_stage_1_weights_zero_is_refused():
    with pytest.raises(InputError, match="anchor_weight and agreement_weight are both 0"):
        FusionConfig(anchor_weight=0, agreement_weight=0)
    with pytest.raises(InputError, match="both 0"):
        FusionConfig.from_dict({"preset": "faithful", "agreement_weight": 0.0})
    assert FusionConfig(anchor_weight=0, agreement_weight=0.5).agreement_weight == 0.5


@pytest.mark.parametrize(
    "data, message",
    [
        ({"bogus": 1}, "unknown configuration key"),
        ({"stage1": {"iterations": 5, "decay_start": 9}}, "decay_start"),
        ({"stage2": {"speed": 1}}, "unknown key"),
        ({"psf_init": "box"}, "psf_init"),
        ({"preset": "turbo"}, "unknown preset"),
        ({"ensemble": 0}, "ensemble must be >= 1"),
        ({"anchor_weight": -1}, "anchor_weight must be >= 0"),
        ({"stage3": {"lr": 0}}, "stage3.lr must be positive"),
    ],
)
def test_bad_config_values_are_named(data, message):
    with pytest.raises(InputError, match=message) as info:
        FusionConfig.from_dict(data)
    assert "\n" not in str(info.value)


def test_bad_yaml_is_refused_in_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("seed: [1\n")
    with pytest.raises(InputError, match="cannot parse YAML config"):
        FusionConfig.from_yaml(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match="must hold a mapping"):
        FusionConfig.from_yaml(tmp_path / "list.yaml")


def test_robust_preset_is_the_default_with_a_psf_that_can_hold_a_shift():
    robust, default = FusionConfig.preset_config("robust"), FusionConfig()
    assert (robust.psf_size, robust.psf_form, robust.residual_upsampling) == ("auto", "gaussian", "psf")
    assert robust.stage3 == default.stage3 and robust.ensemble == default.ensemble
    assert FusionConfig.from_dict(robust.to_dict()) == robust
