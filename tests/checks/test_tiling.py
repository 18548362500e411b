"""The tiled-run checks (:mod:`pfs2c2._checks.tiling`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pfs2c2 import InputError, RunOptions, _checks


def _refused(message: str, check, *args, **kwargs) -> None:
    with pytest.raises(InputError) as info:
        check(*args, **kwargs)
    assert str(info.value) == message


def test_parse_memory_and_format_bytes():
    _refused("memory size '4' has no unit; write e.g. 4GB or 4MB", _checks.parse_memory, "4")
    _refused(
        "cannot read memory size 'lots'; write a number and a unit, e.g. 4GB, 512MB or 2GiB",
        _checks.parse_memory,
        "lots",
    )
    _refused("memory size must be positive, got 0", _checks.parse_memory, 0)
    assert _checks.parse_memory("2GiB") == 2 * 2**30 and _checks.parse_memory(1000) == 1000
    assert _checks.format_bytes(3 * 2**20) == "3.0 MiB"


def test_check_memory_budget():
    _refused(
        "--max-memory 1GB is too small for 2 workers: the smallest tile (16 LR pixels, twice the overlap) needs "
        "about 2.0 GiB; raise --max-memory or use fewer workers",
        _checks.check_memory_budget,
        2 * 2**30,
        10**9,
        smallest=16,
        workers=2,
        label="1GB",
    )
    _checks.check_memory_budget(10**9, 10**9, smallest=16)


def test_check_overlap_and_tile_size():
    _refused("--overlap must be a positive number of LR pixels, got 0", _checks.check_overlap, 0)
    _refused("--tile-size must be a positive number of LR pixels, got 2.5", _checks.check_tile_size, 2.5)
    _refused("--tile-size must be a positive number of LR pixels, got True", _checks.check_tile_size, True)
    assert _checks.check_overlap(8.0) == 8 and type(_checks.check_overlap(8.0)) is int
    assert _checks.check_tile_size(64) == 64


def test_check_tile_plan():
    _refused(
        "overlap 4 LR pixels is too small: it must exceed twice the margin (2 LR pixels: PSF reach beyond its block "
        "+ residual upsampling), i.e. be at least 5",
        _checks.check_tile_plan,
        (100, 100),
        32,
        4,
        2,
    )
    _refused(
        "--tile-size 8 is too small for an overlap of 6 LR pixels (PSF reach + receptive field + blend): use at "
        "least 12, or a smaller --overlap",
        _checks.check_tile_plan,
        (100, 100),
        8,
        6,
        2,
    )
    _checks.check_tile_plan((100, 100), 32, 6, 2)
    _checks.check_tile_plan((8, 8), 8, 6, 2)  # one tile holds the scene


def test_check_blend_ramp():
    _refused(
        "tiles overlap by 4 LR pixels, not more than twice the margin 2; use a larger --overlap",
        _checks.check_blend_ramp,
        40,
        40,
        shared=4,
        margin=2,
    )
    _checks.check_blend_ramp(40, 48, shared=6, margin=2)


def test_check_sample_count():
    _refused("sample_count must be >= 1, got 0", _checks.check_sample_count, 0)
    _checks.check_sample_count(1)


def test_check_tiled_run_options():
    _refused(
        "tiled fusion does not use RunOptions checkpoint, resume: finished tiles are kept in the work directory "
        "(fuse_tiled(resume=True) continues a run); report progress with fuse_tiled(callback=...)",
        _checks.check_tiled_run_options,
        RunOptions(checkpoint="c.pt", resume=True),
    )
    _checks.check_tiled_run_options(RunOptions(device="cpu", threads=2))


def test_check_executor_options_and_workers():
    _refused(
        "give --workers (a new local cluster) or --scheduler (an existing one), not both",
        _checks.check_executor_options,
        2,
        "tcp://127.0.0.1:1",
    )
    _refused("--workers must be a positive number, got 0", _checks.check_workers, 0)
    _refused("--workers must be a positive number, got None", _checks.check_workers, None)
    _checks.check_executor_options(None, "tcp://127.0.0.1:1")
    assert _checks.check_workers(3) == 3


def test_check_input_kinds():
    _refused("give both inputs as files or both as arrays", _checks.check_input_kinds, True, False)
    _checks.check_input_kinds(False, False)


def test_check_work_dir_run():
    _refused(
        "work directory w belongs to a run with other config, ratio; rerun with the same settings, or pass "
        "--overwrite (without --resume) to start over",
        _checks.check_work_dir_run,
        Path("w"),
        {"ratio": 4, "config": {"seed": 0}, "plan": 1},
        {"ratio": 2, "config": {"seed": 1}, "plan": 1},
    )
    _checks.check_work_dir_run(Path("w"), {"ratio": 4}, {"ratio": 4})


def test_check_tiles_with_data():
    _refused(
        "no tile has valid data in both images; check the nodata values and that the images overlap",
        _checks.check_tiles_with_data,
        [0, 0],
    )
    _checks.check_tiles_with_data([0, 12])
    _checks.check_tiles_with_data([])  # nothing run yet: nothing to refuse


def test_check_sample_tiles_with_data():
    _refused(
        "no sample tile has valid data in both images to learn the PSF and SRF from; check the nodata values",
        _checks.check_sample_tiles_with_data,
        0,
    )
    _checks.check_sample_tiles_with_data(2)


def test_check_tiled_residual():
    _checks.check_tiled_residual("bicubic")
    with pytest.raises(InputError, match="not supported in tiled runs yet"):
        _checks.check_tiled_residual("psf")
