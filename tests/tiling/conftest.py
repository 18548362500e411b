"""Shared helpers of the tiling tests: a short schedule, one torch thread, a recording callback, and small
crops of the Pavia simulation as files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from pfs2c2 import FusionConfig, StageConfig
from pfs2c2.config import RunOptions
from pfs2c2.sensors import band_support

RUN = RunOptions(threads=1)
"""Same thread count everywhere: reruns are bit-identical."""


def tiny_config(s1: int = 30, s2: int = 100, s3: int = 30) -> FusionConfig:
    """The fast preset with ``s1``/``s2``/``s3`` iterations (decay from half way)."""
    cfg = FusionConfig.preset_config("fast")
    return dataclasses.replace(
        cfg,
        stage1=StageConfig(s1, 5e-3, s1 // 2),
        stage2=StageConfig(s2, 2e-2, s2 // 2),
        stage3=StageConfig(s3, 2e-3, s3 // 2),
    )


class Recorder:
    """A :class:`pfs2c2.tiling.TileCallback` that counts the tiles computed in this run and, with ``stop_after``,
    interrupts the run after that many (as a kill would)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.computed = 0
        self.scenes: list[tuple[str, int, int]] = []
        self.closed = False

    def add_scene(self, name, tiles, done) -> None:
        self.scenes.append((name, tiles, done))

    def tile(self, name, tile, tiles, result) -> None:
        self.computed += 1
        if self.stop_after is not None and self.computed >= self.stop_after:
            raise RuntimeError("interrupted")

    def operators(self, name, tiles, seconds) -> None:
        pass

    def scene(self, name, message) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def geotiff_pair(pavia_problem, tmp_path_factory):
    """A 64x64 HR crop of the Pavia simulation as georeferenced GeoTIFFs (the MSI one LR pixel larger)."""
    from pfs2c2.io import RasterMeta, write_cube

    sim = pavia_problem["sim"]
    folder = tmp_path_factory.mktemp("geo")
    wl = pavia_problem["wavelengths"]
    lr_meta = RasterMeta(crs="EPSG:32632", transform=(30.0, 0.0, 600000.0, 0.0, -30.0, 5000000.0), wavelengths_nm=wl)
    hr_meta = RasterMeta(crs="EPSG:32632", transform=(7.5, 0.0, 600000.0, 0.0, -7.5, 5000030.0))  # one LR row above
    lr, hr = folder / "lr.tif", folder / "hr.tif"
    write_cube(lr, sim.lr_hsi[:, :16, :16], lr_meta)
    write_cube(hr, np.concatenate([sim.hr_msi[:, :4, :64] * 0 + 0.5, sim.hr_msi[:, :64, :64]], axis=1), hr_meta)
    return lr, hr, sim.lr_hsi[:, :16, :16], sim.hr_msi[:, :64, :64], sim.psf, sim.srf


@pytest.fixture(scope="module")
def crop(pavia_problem, tmp_path_factory):
    """A 64x64 HR crop of the Pavia simulation as .npy files (H, W, C), plus a tiny config as YAML."""
    sim = pavia_problem["sim"]
    folder = tmp_path_factory.mktemp("crop")
    y, z = sim.lr_hsi[:, :16, :16], sim.hr_msi[:, :64, :64]
    np.save(folder / "lr.npy", y.transpose(1, 2, 0))
    np.save(folder / "hr.npy", z.transpose(1, 2, 0))
    np.save(folder / "support.npy", band_support(pavia_problem["srf"]).astype(np.float64))
    cfg = tiny_config(10, 40, 10).to_dict()
    # threads: a run option now; the CLI still reads it from older config files
    (folder / "tiny.yaml").write_text(
        json.dumps({**{k: cfg[k] for k in ("stage1", "stage2", "stage3", "ensemble")}, "threads": 1})
    )
    return folder, y, z, band_support(pavia_problem["srf"])
