"""Streaming inference equals the whole-image pass (issue 15 item 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from pfs2c2.config import FusionConfig, StageConfig
from pfs2c2.errors import InputError
from pfs2c2.io import open_cube, write_cube
from pfs2c2.masks import block_all
from pfs2c2.model import Problem, Trainer
from pfs2c2.scene import FusionModel, stream_fused, stream_to_file

RATIO, H = 4, 48


def _smooth(rng: np.random.Generator, bands: int, size: int) -> np.ndarray:
    """``(bands, size, size)`` positive smooth float32 data."""
    y, x = np.mgrid[0:size, 0:size] / size
    out = [
        1.0 + 0.5 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y + rng.uniform()))
        for _ in range(bands)
    ]
    return np.asarray(out, dtype=np.float32)


def _gauss(k: int, sigma: float) -> np.ndarray:
    t = np.arange(k) - (k - 1) / 2
    g = np.exp(-0.5 * (t / sigma) ** 2)
    psf = np.outer(g, g)
    return (psf / psf.sum()).astype(np.float32)


def _trainer(psf: np.ndarray | None, invalid: bool, upsampling: str = "bicubic") -> tuple[Trainer, dict]:
    rng = np.random.default_rng(0)
    hr = _smooth(rng, 12, H)
    lr = hr.reshape(12, H // RATIO, RATIO, H // RATIO, RATIO).mean(axis=(2, 4)).astype(np.float32)
    srf = rng.uniform(0, 1, (12, 3)).astype(np.float32)
    msi = np.einsum("chw,cd->dhw", hr, srf / srf.sum(0)).astype(np.float32)
    msi_valid = np.ones((H, H), bool)
    hsi_valid = np.ones((H // RATIO, H // RATIO), bool)
    if invalid:
        msi_valid[5:9, 30:33] = False
        msi_valid[40, 2] = False
        msi[:, ~msi_valid] = np.nan
        hsi_valid[0, 11] = False
    stage = StageConfig(20, 5e-3, 10)
    cfg = dataclasses.replace(
        FusionConfig.preset_config("fast"),
        stage1=stage,
        stage2=stage,
        stage3=stage,
        ensemble=1,
        residual_upsampling=upsampling,
    )
    problem = Problem.build(lr, msi, hsi_valid, msi_valid, RATIO, psf=psf, device=torch.device("cpu"))
    trainer = Trainer(problem, cfg)
    trainer.train()
    data = {"lr_hsi": lr, "hr_msi": msi, "hsi_valid": hsi_valid, "msi_valid": msi_valid}
    return trainer, data


def _streamed(model: FusionModel, data: dict, block_lr: int, masks: bool) -> np.ndarray:
    bands = data["lr_hsi"].shape[0]
    out = np.full((bands, H, H), -1.0, np.float32)
    calls = []

    def write(r0: int, c0: int, block: np.ndarray) -> None:
        assert block.dtype == np.float32
        calls.append((r0, c0))
        out[:, r0 : r0 + block.shape[1], c0 : c0 + block.shape[2]] = block

    kwargs = {"hsi_valid": data["hsi_valid"], "msi_valid": data["msi_valid"]} if masks else {}
    stream_fused(model, data["lr_hsi"], data["hr_msi"], write, block_lr=block_lr, **kwargs)
    assert len(calls) == len(set(calls)) == (-(-(H // RATIO) // block_lr)) ** 2
    return out


def _assert_equal(streamed: np.ndarray, whole: np.ndarray) -> None:
    assert np.array_equal(np.isnan(streamed), np.isnan(whole))
    scale = np.nanmax(np.abs(whole))
    assert np.nanmax(np.abs(streamed - whole)) < 1e-5 * scale


@pytest.mark.parametrize(
    ("psf", "invalid"),
    [(None, False), (_gauss(8, 1.7), False), (_gauss(8, 1.7), True)],
    ids=["learned", "psf8", "psf8-invalid"],
)
def test_stream_equals_whole_image(psf: np.ndarray | None, invalid: bool) -> None:
    trainer, data = _trainer(psf, invalid)
    model = FusionModel.from_trainer(trainer)
    whole = trainer.fused()
    if invalid:
        assert np.isnan(whole).any()
        assert not block_all(data["msi_valid"], RATIO).all()
    for block_lr in (5, 7):
        _assert_equal(_streamed(model, data, block_lr, masks=True), whole)
    if invalid:  # the NaNs in the MSI mark its invalid pixels without a mask, but not the HSI's one
        data = {**data, "hsi_valid": None}
        streamed = _streamed(model, data, 5, masks=True)
        assert np.nanmax(np.abs(streamed - whole)) > 1e-5 * np.nanmax(np.abs(whole))


def test_psf_residual_refused() -> None:
    trainer, data = _trainer(None, False, upsampling="psf")
    model = FusionModel.from_trainer(trainer)
    with pytest.raises(InputError, match="bicubic") as err:
        stream_fused(model, data["lr_hsi"], data["hr_msi"], lambda *a: None)
    assert "\n" not in str(err.value)


def test_stream_to_file_npy(tmp_path: Path) -> None:
    trainer, data = _trainer(_gauss(8, 1.7), False)
    model = FusionModel.from_trainer(trainer)
    memory = _streamed(model, data, 5, masks=False)
    path = stream_to_file(model, data["lr_hsi"], data["hr_msi"], tmp_path / "fused.npy", block_lr=5)
    assert path == tmp_path / "fused.npy"
    written = np.load(path)
    assert written.shape == (H, H, 12)  # the writers' .npy layout is (H, W, C)
    assert np.array_equal(np.moveaxis(written, -1, 0), memory)


class _FailingCube:
    """An array-like that raises on its ``fail_at``-th read (a disk error in mid-stream)."""

    def __init__(self, data: np.ndarray, fail_at: int) -> None:
        self.data, self.shape, self.reads, self.fail_at = data, data.shape, 0, fail_at

    def __getitem__(self, key: object) -> np.ndarray:
        self.reads += 1
        if self.reads == self.fail_at:
            raise OSError("read failed")
        return self.data[key]  # type: ignore[index]


def test_stream_to_file_atomic(tmp_path: Path) -> None:
    trainer, data = _trainer(None, False)
    model = FusionModel.from_trainer(trainer)
    lr = _FailingCube(data["lr_hsi"], fail_at=4)
    with pytest.raises(OSError, match="read failed"):
        stream_to_file(model, lr, data["hr_msi"], tmp_path / "fused.npy", block_lr=5)
    assert lr.reads == 4
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary file is left


def test_shape_mismatch_refused() -> None:
    trainer, data = _trainer(None, False)
    model = FusionModel.from_trainer(trainer)
    with pytest.raises(InputError, match="crop both"):
        stream_fused(model, data["lr_hsi"], data["hr_msi"][:, :, :-4], lambda *a: None)


class _RecordingCube:
    """An array-like that records the ``(rows, cols)`` size of every read."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.shape, self.sizes = data, data.shape, []

    def __getitem__(self, key: tuple[slice, slice, slice]) -> np.ndarray:
        out = self.data[key]
        self.sizes.append(out.shape[-2:])
        return out


def test_reads_follow_the_block_size() -> None:
    trainer, data = _trainer(_gauss(8, 1.7), False)
    model = FusionModel.from_trainer(trainer)
    lr, hr = _RecordingCube(data["lr_hsi"]), _RecordingCube(data["hr_msi"])
    stream_fused(model, lr, hr, lambda *a: None, block_lr=3)
    assert len(lr.sizes) == len(hr.sizes) == 16
    assert max(max(s) for s in lr.sizes) <= 3 + 2 * 2  # the block plus the bicubic halo
    assert max(max(s) for s in hr.sizes) <= (3 + 2 * 2) * RATIO + 2 * 2  # plus the blur halo (8 - 4) / 2
    assert max(max(s) for s in hr.sizes) < H


def test_cube_reader_inputs(tmp_path: Path) -> None:
    trainer, data = _trainer(None, True)
    model = FusionModel.from_trainer(trainer)
    lr = open_cube(write_cube(tmp_path / "lr.npy", data["lr_hsi"]))
    hr = open_cube(write_cube(tmp_path / "hr.npy", data["hr_msi"]))
    out = np.zeros((12, H, H), np.float32)

    def write(r0: int, c0: int, block: np.ndarray) -> None:
        out[:, r0 : r0 + block.shape[1], c0 : c0 + block.shape[2]] = block

    kwargs = {"hsi_valid": data["hsi_valid"], "msi_valid": data["msi_valid"]}
    stream_fused(model, lr, hr, write, block_lr=5, **kwargs)
    _assert_equal(out, _streamed(model, data, 7, masks=True))
