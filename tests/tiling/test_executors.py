"""Running tiles on executors: a 2-worker Dask LocalCluster gives the in-process result, completion
order does not matter, a failing scene does not stop the others, missing Dask is a one-line error."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from pfs2c2.cli import main
from pfs2c2.errors import InputError
from pfs2c2.tiling import InProcessExecutor, check_executor_options, fuse_tiled, make_executor, prepare_scene, run_jobs

from .conftest import RUN, tiny_config


def test_two_worker_local_cluster_matches_in_process_tiling(crop, tmp_path, capsys):
    folder, y, z, support = crop
    in_process = fuse_tiled(
        str(folder / "lr.npy"),
        str(folder / "hr.npy"),
        config=tiny_config(10, 40, 10),
        run=RUN,
        srf_support=support,
        tile_size=12,
        overlap=5,
    )
    out = tmp_path / "fused.npy"
    code = main(
        [
            "fuse",
            "--hsi",
            str(folder / "lr.npy"),
            "--msi",
            str(folder / "hr.npy"),
            "--out",
            str(out),
            "--config",
            str(folder / "tiny.yaml"),
            "--srf-support",
            str(folder / "support.npy"),
            "--tile-size",
            "12",
            "--overlap",
            "5",
            "--workers",
            "2",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "2 Dask worker(s), 1 torch thread(s) per task" in err
    run = json.loads((tmp_path / "run.json").read_text())
    workers = {t["worker"] for t in run["tiling"]["per_tile"]}
    assert run["tiling"]["tiles"] == 4 and run["psf_learned"] and len(workers) >= 1
    assert all(t["threads"] == 1 for t in run["tiling"]["per_tile"])
    fused = np.load(out).transpose(2, 0, 1)
    # same tiles, same seeds, same thread count: the cluster reproduces the in-process cube (measured: identical)
    scale = np.nanmax(np.abs(in_process.fused))
    np.testing.assert_allclose(fused, in_process.fused, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(np.loadtxt(tmp_path / "psf.csv", delimiter=","), in_process.psf, atol=1e-6)


def test_an_existing_scheduler_is_used_by_address(crop):
    """--scheduler ADDR: tasks go to a cluster the run did not start (here an in-process one, quick to start)."""
    import logging

    from distributed import LocalCluster

    from pfs2c2.tiling.executors import DaskExecutor

    folder, y, z, support = crop
    options = dict(
        config=tiny_config(10, 40, 10),
        psf=np.full((4, 4), 1 / 16),
        srf=np.full((102, 4), 1 / 102),
        tile_size=12,
        overlap=5,
    )
    expected = fuse_tiled(str(folder / "lr.npy"), str(folder / "hr.npy"), run=RUN, **options).fused
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster:
        job = prepare_scene(str(folder / "lr.npy"), str(folder / "hr.npy"), **options)
        with DaskExecutor(scheduler=cluster.scheduler_address, threads=1) as executor:
            assert f"cluster at {cluster.scheduler_address}" in executor.describe()
            outcome = run_jobs([job], executor)[0]
    assert outcome.error is None
    np.testing.assert_array_equal(outcome.result.fused, expected)


class ReversedExecutor(InProcessExecutor):
    """Runs the most recently submitted task first, as a cluster may finish tasks in any order."""

    def next_done(self):
        self._queue.rotate(1)
        return super().next_done()


def test_results_do_not_depend_on_the_completion_order(crop):
    folder, y, z, support = crop
    options = dict(config=tiny_config(10, 40, 10), srf_support=support, tile_size=12, overlap=5)
    expected = fuse_tiled(y, z, run=RUN, **options).fused
    job = prepare_scene(y, z, **options)
    outcome = run_jobs([job], ReversedExecutor(threads=RUN.threads))[0]
    assert outcome.error is None
    np.testing.assert_array_equal(outcome.result.fused, expected)


def test_a_failing_scene_does_not_stop_the_others(crop):
    folder, y, z, support = crop
    bad = z.copy()
    bad[0, 3, 3] = np.nan  # refused by fuse (no mask_nonfinite): every tile task touching it fails
    cfg = tiny_config(10, 40, 10)
    jobs = [
        prepare_scene(
            y,
            bad,
            config=cfg,
            psf=np.full((4, 4), 1 / 16),
            srf=np.full((102, 4), 1 / 102),
            tile_size=12,
            overlap=5,
            name="bad",
        ),
        prepare_scene(y, z, config=cfg, srf_support=support, tile_size=12, overlap=5, name="good"),
    ]
    seen = []
    outcomes = run_jobs(jobs, InProcessExecutor(threads=RUN.threads), on_done=lambda o: seen.append(o.job.name))
    assert (
        isinstance(outcomes[0].error, InputError)
        and "tile 1" in str(outcomes[0].error)
        and "NaN" in str(outcomes[0].error)
    )
    assert outcomes[1].error is None and outcomes[1].result.fused.shape == (102, 64, 64)
    assert seen == ["bad", "good"]


def test_executor_options_are_checked():
    with pytest.raises(InputError, match="not both"):
        make_executor(workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(InputError, match="positive"):
        make_executor(workers=0)
    assert isinstance(make_executor(), InProcessExecutor)
    with pytest.raises(InputError, match="not both"):
        check_executor_options(2, "tcp://127.0.0.1:1")
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InputError, match="--workers must be a positive number"):
            check_executor_options(bad, None)
    check_executor_options(None, None)
    check_executor_options(3, None)
    check_executor_options(None, "tcp://127.0.0.1:1")


def test_missing_dask_is_a_one_line_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(InputError, match=r"pfs2c2\[dist\]"):
        make_executor(workers=2)
