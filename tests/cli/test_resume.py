"""Interrupted `pfs2c2 fuse` runs resume to the uninterrupted result; outputs are never silently replaced.

The fast test interrupts an in-process run (KeyboardInterrupt from the progress callback once a stage-3
checkpoint exists); the slow one kills a real process with SIGKILL mid-stage.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from pfs2c2.cli import main
from pfs2c2.cli.terminal import StageProgress


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _write_inputs(folder, size: int, schedule: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(11)
    endmembers = rng.random((16, 4))
    abundance = rng.dirichlet(np.ones(4), size=(size, size))  # (H, W, 4)
    hr_hsi = abundance @ endmembers.T  # (H, W, C)
    lr = hr_hsi.reshape(size // 4, 4, size // 4, 4, 16).mean(axis=(1, 3))
    srf = np.zeros((16, 3))
    srf[0:5, 0], srf[5:10, 1], srf[10:16, 2] = 1 / 5, 1 / 5, 1 / 6
    np.save(folder / "lr.npy", lr.astype(np.float32))
    np.save(folder / "hr.npy", (hr_hsi @ srf).astype(np.float32))
    s1, s2, s3 = schedule
    config = {
        "stage1": {"iterations": s1, "decay_start": s1 // 2},
        "stage2": {"iterations": s2, "decay_start": s2 // 2},
        "stage3": {"iterations": s3, "decay_start": s3 // 2},
        "threads": 1,
        "device": "cpu",
    }
    (folder / "run.yaml").write_text(yaml.safe_dump(config))


@pytest.fixture
def inputs(tmp_path):
    _write_inputs(tmp_path, 64, (100, 300, 1500))
    return tmp_path


@pytest.fixture
def small_inputs(tmp_path):
    _write_inputs(tmp_path, 32, (20, 60, 300))
    return tmp_path


def fuse_args(directory, out_name):
    (directory / out_name).mkdir(exist_ok=True)
    return [
        "fuse",
        "--hsi",
        str(directory / "lr.npy"),
        "--msi",
        str(directory / "hr.npy"),
        "--out",
        str(directory / out_name / "fused.npy"),
        "--config",
        str(directory / "run.yaml"),
        "--no-plots",
    ]


def checkpoint_stage(path) -> int:
    try:
        return int(torch.load(path, weights_only=True)["stage"])
    except Exception:  # not written yet (the rename is atomic, so a present file is complete)
        return 0


def test_interrupted_run_resumes_to_the_uninterrupted_result(small_inputs, restore_threads, monkeypatch, capsys):
    args = fuse_args(small_inputs, "stopped") + ["--checkpoint-every", "0"]
    out = small_inputs / "stopped" / "fused.npy"
    ckpt = small_inputs / "stopped" / "fused.npy.ckpt"

    class StopInStage3(StageProgress):
        def __call__(self, stage: int, iteration: int, total: int, loss: float) -> None:
            super().__call__(stage, iteration, total, loss)
            if stage == 3 and iteration > 50 and checkpoint_stage(ckpt) == 3:
                raise KeyboardInterrupt

    monkeypatch.setattr("pfs2c2.cli.fuse.StageProgress", StopInStage3)
    assert main(args) == 1  # "Aborted!"
    assert checkpoint_stage(ckpt) == 3 and not out.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["fused.npy.ckpt"]
    monkeypatch.setattr("pfs2c2.cli.fuse.StageProgress", StageProgress)

    assert main(args) == 2  # without --resume the old checkpoint is not silently thrown away
    assert "--resume" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0
    assert not ckpt.exists()
    assert main(fuse_args(small_inputs, "straight")) == 0
    np.testing.assert_array_equal(np.load(out), np.load(small_inputs / "straight" / "fused.npy"))


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_sigkill_mid_stage_then_resume_matches_uninterrupted_run(inputs, restore_threads):
    args = fuse_args(inputs, "killed") + ["--checkpoint-every", "0"]
    out = inputs / "killed" / "fused.npy"
    ckpt = inputs / "killed" / "fused.npy.ckpt"
    proc = subprocess.Popen([sys.executable, "-m", "pfs2c2", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while checkpoint_stage(ckpt) < 3:
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()[1].decode()[-500:]}"
        assert time.monotonic() < deadline, "no stage-3 checkpoint within 300 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # nothing at the output path, no temporary files beside it; the checkpoint survives
    assert not out.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["fused.npy.ckpt"]

    # without --resume the old checkpoint is not silently thrown away
    assert main(args) == 2
    assert main(args + ["--resume"]) == 0
    assert not ckpt.exists()

    assert main(fuse_args(inputs, "straight")) == 0
    np.testing.assert_array_equal(np.load(out), np.load(inputs / "straight" / "fused.npy"))


def test_existing_output_survives_a_second_run_without_overwrite(inputs, restore_threads):
    fast = inputs / "fast.yaml"
    fast.write_text(
        yaml.safe_dump(
            {
                "preset": "fast",
                "stage1": {"iterations": 10, "decay_start": 5},
                "stage2": {"iterations": 10, "decay_start": 5},
                "stage3": {"iterations": 10, "decay_start": 5},
            }
        )
    )
    args = fuse_args(inputs, "twice")[:-3] + ["--config", str(fast), "--no-plots"]
    assert main(args) == 0
    out = inputs / "twice" / "fused.npy"
    before = out.read_bytes()
    mtime = out.stat().st_mtime_ns
    assert main(args + ["--seed", "5"]) == 2
    assert out.read_bytes() == before and out.stat().st_mtime_ns == mtime
