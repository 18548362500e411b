"""Problem and Trainer: the data inside the model, the stage numbers, one run stage by stage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pfs2c2 import FusionConfig, InputError, StageConfig
from pfs2c2.masks import valid_pixels
from pfs2c2.model.trainer import Problem, Stage, Trainer


def test_stage_numbers_are_the_history_values():
    assert [int(s) for s in Stage] == [1, 2, 3, 4, 5]
    assert (Stage.PRETRAIN, Stage.DEGRADATIONS, Stage.JOINT, Stage.RETRAIN, Stage.FINISHED) == (1, 2, 3, 4, 5)


def small_problem(**changes) -> Problem:
    rng = np.random.default_rng(0)
    y = rng.random((6, 4, 4)).astype(np.float32) + 0.1
    z = rng.random((2, 8, 8)).astype(np.float32) + 0.1
    hsi_valid, msi_valid = valid_pixels(y), valid_pixels(z)
    return Problem.build(y * 2, z, hsi_valid, msi_valid, 2, **changes)


def test_problem_normalises_each_image_by_its_maximum():
    p = small_problem()
    assert p.lr_hsi.shape == (1, 6, 4, 4) and p.hr_msi.shape == (1, 2, 8, 8)
    assert p.lr_hsi.max().item() == pytest.approx(1.0) and p.hr_msi.max().item() == pytest.approx(1.0)
    assert p.full_lr_mask is None and p.lr_valid.all()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.ratio = 3  # type: ignore[misc]


def test_problem_refuses_no_usable_lr_pixel():
    y, z = np.ones((6, 4, 4), np.float32), np.ones((2, 8, 8), np.float32)
    hsi_valid = np.ones((4, 4), bool)
    msi_valid = np.ones((8, 8), bool)
    msi_valid[::2, ::2] = False  # every MSI block has a hole: no LR pixel is usable
    with pytest.raises(InputError, match="no LR pixel has valid data in both images"):
        Problem.build(y, z, hsi_valid, msi_valid, 2)
    with pytest.raises(InputError, match="all zero or negative"):
        Problem.build(-y, z, hsi_valid, np.ones((8, 8), bool), 2)


def test_trainer_runs_the_stages_and_reports_plain_stage_numbers():
    cfg = dataclasses.replace(
        FusionConfig.preset_config("fast"),
        stage1=StageConfig(10, 5e-3, 5),
        stage2=StageConfig(10, 2e-2, 5),
        stage3=StageConfig(10, 2e-3, 5),
        log_every=5,
    )
    torch.manual_seed(cfg.seed)
    seen = []
    trainer = Trainer(small_problem(), cfg, callback=lambda *a: seen.append(a))
    trainer.train()
    assert {r["stage"] for r in trainer.log.history} == {1, 2, 3}
    assert set(trainer.log.timings) == {"stage1", "stage2", "stage3"}
    assert {type(s) for s, *_ in seen} == {int}
    fused = trainer.fused()
    assert fused.shape == (6, 8, 8) and np.all(np.isfinite(fused))
    psf, srf, gain = trainer.operators()
    assert psf.shape == (2, 2) and srf.shape == (6, 2) and gain.shape == (2,)
    np.testing.assert_allclose(srf.sum(0), 1.0, rtol=1e-6)


def test_known_operators_skip_stage_2():
    psf = np.full((2, 2), 0.25)
    srf = np.zeros((6, 2))
    srf[:3, 0], srf[3:, 1] = 1 / 3, 1 / 3
    cfg = dataclasses.replace(
        FusionConfig.preset_config("fast"),
        stage1=StageConfig(5, 5e-3, 2),
        stage2=StageConfig(5, 2e-2, 2),
        stage3=StageConfig(5, 2e-3, 2),
    )
    torch.manual_seed(0)
    trainer = Trainer(small_problem(psf=psf, srf=srf), cfg)
    trainer.train()
    assert trainer.log.timings["stage2"] == 0.0
    assert not any(r["stage"] == 2 for r in trainer.log.history)
    assert "degradation" not in next(r for r in trainer.log.history if r["stage"] == 3)


def test_retrain_needs_a_stage_3_start():
    torch.manual_seed(0)
    trainer = Trainer(small_problem(), FusionConfig.preset_config("fast"))
    with pytest.raises(RuntimeError, match="retrain"):
        trainer.retrain(10)
