"""A real `pfs2c2 fuse` process killed with SIGKILL mid-stage resumes to the uninterrupted result."""

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

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(11)
    endmembers = rng.random((16, 4))
    abundance = rng.dirichlet(np.ones(4), size=(64, 64))  # (H, W, 4)
    hr_hsi = abundance @ endmembers.T  # (H, W, C)
    lr = hr_hsi.reshape(16, 4, 16, 4, 16).mean(axis=(1, 3))
    srf = np.zeros((16, 3))
    srf[0:5, 0], srf[5:10, 1], srf[10:16, 2] = 1 / 5, 1 / 5, 1 / 6
    np.save(tmp_path / "lr.npy", lr.astype(np.float32))
    np.save(tmp_path / "hr.npy", (hr_hsi @ srf).astype(np.float32))
    config = {"stage1": {"iterations": 100, "decay_start": 50}, "stage2": {"iterations": 300, "decay_start": 150},
              "stage3": {"iterations": 1500, "decay_start": 750}, "threads": 1, "device": "cpu"}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def fuse_args(directory, out_name):
    (directory / out_name).mkdir(exist_ok=True)
    return ["fuse", "--hsi", str(directory / "lr.npy"), "--msi", str(directory / "hr.npy"),
            "--out", str(directory / out_name / "fused.npy"), "--config", str(directory / "run.yaml"), "--no-plots"]


def checkpoint_stage(path) -> int:
    try:
        return int(torch.load(path, weights_only=True)["stage"])
    except Exception:  # not written yet (the rename is atomic, so a present file is complete)
        return 0


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
    fast.write_text(yaml.safe_dump({"preset": "fast", "stage1": {"iterations": 10, "decay_start": 5},
                                    "stage2": {"iterations": 10, "decay_start": 5}, "stage3": {"iterations": 10, "decay_start": 5}}))
    args = fuse_args(inputs, "twice")[:-3] + ["--config", str(fast), "--no-plots"]
    assert main(args) == 0
    out = inputs / "twice" / "fused.npy"
    before = out.read_bytes()
    mtime = out.stat().st_mtime_ns
    assert main(args + ["--seed", "5"]) == 2
    assert out.read_bytes() == before and out.stat().st_mtime_ns == mtime
