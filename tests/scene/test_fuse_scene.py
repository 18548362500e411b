"""fuse_scene (issue 15): the whole scene when it fits the budget, a sample otherwise, the output
streamed, resumed after an interruption to the same bytes, memory independent of the scene size."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pfs2c2.scene.stream as stream_module
from pfs2c2 import fuse
from pfs2c2.config import FusionConfig, RunOptions, StageConfig
from pfs2c2.errors import InputError
from pfs2c2.io import open_cube, write_cube
from pfs2c2.scene import fuse_scene

R = 4
STAGE = StageConfig(30, 5e-3, 15)
CFG = dataclasses.replace(FusionConfig.preset_config("fast"), stage1=STAGE, stage2=STAGE, stage3=STAGE)


def _scene(h: int, w: int, bands: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth positive ``(bands, h R, w R)`` reference, its LR-HSI (block means) and a 3-band MSI."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : h * R, 0 : w * R] / (8.0 * R)
    ref = np.asarray(
        [1.2 + np.sin(rng.uniform(0.3, 1.5) * x + rng.uniform(0.3, 1.5) * y + rng.uniform(0, 6)) for _ in range(bands)],
        dtype=np.float32,
    )
    lr = ref.reshape(bands, h, R, w, R).mean(axis=(2, 4)).astype(np.float32)
    srf = rng.uniform(0, 1, (bands, 3))
    msi = np.einsum("chw,cd->dhw", ref, srf / srf.sum(0)).astype(np.float32)
    return ref, lr, msi


def test_a_scene_within_the_budget_gives_exactly_what_fuse_gives(tmp_path, device):
    _, lr, msi = _scene(12, 10)
    cfg = dataclasses.replace(CFG, ensemble=2)
    run = RunOptions(device=device)
    expected = fuse(lr, msi, config=cfg, run=run).fused
    result = fuse_scene(lr, msi, tmp_path / "out.npy", config=cfg, run=run, sample_pixels=120)
    got = np.load(tmp_path / "out.npy").transpose(2, 0, 1)
    assert result.sample["whole"] and result.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_larger_scene_trains_on_a_sample_of_files_and_writes_a_georeferenced_cube(tmp_path, device):
    ref, lr, msi = _scene(40, 48)
    from pfs2c2.io import RasterMeta

    meta = RasterMeta(crs="EPSG:32633", transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0))
    write_cube(tmp_path / "lr.tif", lr, meta)
    msi_meta = meta.replace(transform=(7.5, 0.0, 500000.0, 0.0, -7.5, 4000000.0))
    write_cube(tmp_path / "msi.tif", msi, msi_meta)
    out_meta = msi_meta.replace(wavelengths_nm=np.linspace(400, 900, lr.shape[0]))
    result = fuse_scene(
        tmp_path / "lr.tif",
        tmp_path / "msi.tif",
        tmp_path / "fused.tif",
        meta=out_meta,
        config=CFG,
        run=RunOptions(device=device),
        sample_pixels=400,
    )
    assert result.device.startswith(device.split(":")[0])
    assert not result.sample["whole"] and result.sample["lr_pixels"] <= 400 < lr.shape[1] * lr.shape[2]
    fused, got_meta = open_cube(tmp_path / "fused.tif").read()
    assert fused.shape == ref.shape and got_meta.crs is not None and got_meta.wavelengths_nm is not None
    from pfs2c2.metrics import psnr

    # trained on 400 of 1920 LR pixels; the residual step uses them all
    assert psnr(ref, fused) > 35
    assert set(result.timings) >= {"sample", "training", "inference", "total"}


def test_an_interrupted_output_write_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    _, lr, msi = _scene(24, 24)
    kwargs = dict(config=CFG, sample_pixels=256, block_lr=8, resumable=True)
    reference = tmp_path / "ref.npy"
    fuse_scene(lr, msi, reference, run=RunOptions(checkpoint=tmp_path / "a.ckpt"), **kwargs)

    out, ckpt = tmp_path / "out.npy", tmp_path / "b.ckpt"
    real = stream_module._fused_block
    calls = {"n": 0}

    def dies_at_the_fourth_block(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # a kill while the output is being written
        return real(*args, **kw)

    monkeypatch.setattr(stream_module, "_fused_block", dies_at_the_fourth_block)
    with pytest.raises(KeyboardInterrupt):
        fuse_scene(lr, msi, out, run=RunOptions(checkpoint=ckpt, keep_checkpoint=True), **kwargs)
    assert not out.exists() and ckpt.exists()
    journal = next(tmp_path.glob(".out.npy*.json"))
    assert len(json.loads(journal.read_text())["blocks"]) == 3

    calls["n"] = -100  # no more interruptions; count the blocks computed again
    fuse_scene(lr, msi, out, run=RunOptions(checkpoint=ckpt, resume=True), **kwargs)
    assert calls["n"] == -100 + 9 - 3  # 3 x 3 blocks, 3 already on disk
    assert out.read_bytes() == reference.read_bytes()
    assert not list(tmp_path.glob(".out.npy*"))  # partial file and journal gone


def test_a_residual_step_that_cannot_stream_is_refused_before_training(tmp_path):
    _, lr, msi = _scene(12, 12)
    cfg = dataclasses.replace(CFG, residual_upsampling="psf")
    with pytest.raises(InputError, match="residual_upsampling='bicubic'"):
        fuse_scene(lr, msi, tmp_path / "out.npy", config=cfg)
    assert not (tmp_path / "out.npy").exists()


_PEAK_SCRIPT = textwrap.dedent(
    """
    import dataclasses, resource, sys
    import numpy as np
    from pfs2c2.config import FusionConfig, StageConfig
    from pfs2c2.scene import fuse_scene
    h, bands, folder = int(sys.argv[1]), 48, sys.argv[2]
    lr = np.lib.format.open_memmap(folder + "/lr.npy", "w+", np.float32, (bands, h, h))
    msi = np.lib.format.open_memmap(folder + "/msi.npy", "w+", np.float32, (4, 4 * h, 4 * h))
    for i in range(0, h, 50):  # written in strips, never whole in memory
        rows = np.arange(i, min(h, i + 50))[:, None] + np.arange(h)[None, :]
        lr[:, i : i + len(rows)] = 1.0 + 0.5 * np.sin(rows / 7.0 + np.arange(bands)[:, None, None])
        msi[:, 4 * i : 4 * (i + len(rows))] = np.repeat(np.repeat(lr[:4, i : i + len(rows)], 4, 1), 4, 2)
    lr.flush(); msi.flush(); del lr, msi
    stage = StageConfig(10, 5e-3, 5)
    cfg = dataclasses.replace(FusionConfig.preset_config("fast"), stage1=stage, stage2=stage, stage3=stage)
    lr = np.load(folder + "/lr.npy", mmap_mode="r")
    msi = np.load(folder + "/msi.npy", mmap_mode="r")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fuse_scene(lr, msi, folder + "/out.tif", config=cfg, sample_pixels=1024, block_lr=32)
    print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


@pytest.mark.parametrize("h", [60, 240])
def test_memory_follows_the_block_not_the_scene(tmp_path, h):
    """Fusing a scene 16x larger (a 960x960x48 output, 177 MB) costs no more memory than a small one."""
    folder = tmp_path / str(h)
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(h), str(folder)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    before, after = (int(v) for v in done.stdout.split())
    grown_mib = (after - before) / 1024  # ru_maxrss is in KiB on Linux
    output_mib = 48 * (4 * h) ** 2 * 4 / 2**20
    (tmp_path.parent / f"peak_{h}.txt").write_text(f"{grown_mib:.1f} {output_mib:.1f}")
    assert grown_mib < 150, f"peak grew by {grown_mib:.0f} MiB for a {output_mib:.0f} MiB output"
