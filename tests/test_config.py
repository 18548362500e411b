"""FusionConfig: presets, schedules, YAML round trip and validation."""

from __future__ import annotations

import pytest

from pfs2c2 import FusionConfig, StageConfig


def test_faithful_preset_is_the_authors_schedule():
    cfg = FusionConfig.preset_config("faithful")
    assert [(s.iterations, s.lr, s.decay_start) for s in (cfg.stage1, cfg.stage2, cfg.stage3)] == [
        (20000, 1e-3, 10000),
        (30000, 1e-3, 20000),
        (30000, 1e-3, 20000),
    ]
    assert cfg.anchor_weight == 0 and cfg.spectral_consistency_weight == 0 and not cfg.linear_skip


def test_linear_decay_reaches_zero_at_the_end():
    stage = StageConfig(10, 1e-3, 5)
    factors = [stage.lr_factor(i) for i in range(10)]
    assert factors[:5] == [1.0] * 5
    assert factors[5:] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])


def test_yaml_round_trip_and_overlay(tmp_path):
    cfg = FusionConfig.preset_config("fast")
    cfg.seed = 11
    path = tmp_path / "c.yaml"
    cfg.to_yaml(path)
    assert FusionConfig.from_yaml(path) == cfg
    (tmp_path / "o.yaml").write_text("stage3:\n  iterations: 7\n  decay_start: 3\nseed: 5\n")
    over = FusionConfig.from_yaml(tmp_path / "o.yaml", base=FusionConfig())
    assert over.stage3 == StageConfig(7, FusionConfig().stage3.lr, 3, FusionConfig().stage3.patience) and over.seed == 5


@pytest.mark.parametrize(
    "data, message",
    [
        ({"bogus": 1}, "unknown configuration key"),
        ({"stage1": {"iterations": 5, "decay_start": 9}}, "decay_start"),
        ({"stage2": {"speed": 1}}, "unknown key"),
        ({"psf_init": "box"}, "psf_init"),
        ({"preset": "turbo"}, "unknown preset"),
        ({"ensemble": 0}, "ensemble must be >= 1"),
    ],
)
def test_bad_config_values_are_named(data, message):
    with pytest.raises(ValueError, match=message):
        FusionConfig.from_dict(data)
