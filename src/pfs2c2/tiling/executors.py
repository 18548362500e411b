"""Run the tiles of one or many scenes in this process or on a Dask cluster.

Two executors share one small interface (``submit``, ``next_done``, ``cancel``, ``pending``):

* :class:`InProcessExecutor` runs tasks one after the other in the driver (no Dask needed).
* :class:`DaskExecutor` sends them to a ``dask.distributed`` cluster: a ``LocalCluster`` of
  ``workers`` processes with one thread each (``pfs2c2 fuse --workers N``), or an existing cluster
  by scheduler address (``--scheduler tcp://host:8786``), e.g. one started by dask-jobqueue on SLURM.
  Dask is an optional extra: ``pip install 'pfs2c2[dist]'``.

:func:`run_jobs` is the driver's loop. It asks each :class:`~pfs2c2.tiling.SceneJob` for tasks, hands
them to the executor, and feeds every finished task back to its job, which saves the tile (the driver is
the only writer) and, once a scene's tiles are all done, blends and writes its output. Scenes of a
batch share the cluster: tasks of later scenes keep the workers busy while the driver assembles an
earlier one. Tasks (:class:`~pfs2c2.tiling.TileTask`) carry file paths, windows, the configuration and
the small operators, never the pixels of a file: a worker opens the files itself, reads its windows and
sets its own torch thread count (Dask's nanny starts workers with ``OMP_NUM_THREADS=1``; each task
calls ``torch.set_num_threads``: the CPU count divided by the workers on a LocalCluster, 1 on an
external cluster, unless ``RunOptions.threads`` says otherwise).

A task that fails fails its scene (its other tasks are cancelled, the work directory is kept for
``--resume``); the other scenes of a batch go on.

Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``; with it glibc unmaps every freed
tensor above 128 KiB and torch page-faults through every iteration: a tile trained 6-8x slower than
in-process (2.6 s -> 15-21 s on the benchmark scene). The LocalCluster started here does not set it, and
on an external cluster each worker's first task restores glibc's usual thresholds
(:func:`pfs2c2.tiling.task._undo_malloc_trim`); setting ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_:
null`` in the cluster's Dask configuration does the same from the start.
"""

from __future__ import annotations

import collections
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._checks import check_executor_options, check_workers
from ..errors import InputError, one_line
from .job import SceneJob, TileCallback, TiledResult
from .task import TileResult, TileTask, run_tile

DIST_HINT = "install the optional extra with: pip install 'pfs2c2[dist]'"


@dataclass
class JobOutcome:
    """The end of one scene: its result, or the error that stopped it."""

    job: SceneJob
    result: TiledResult | None = None
    error: BaseException | None = None


class InProcessExecutor:
    """Runs each task in the driver when the driver asks for the next result (first in, first out)."""

    workers = 0

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._queue: collections.deque[tuple[Any, Callable[[Any], Any], Any]] = collections.deque()

    def submit(self, fn: Callable[[Any], Any], arg: Any, token: Any) -> None:
        """Queue ``fn(arg)``; ``token`` comes back with its result."""
        self._queue.append((token, fn, arg))

    def pending(self) -> int:
        """Tasks submitted and not yet returned."""
        return len(self._queue)

    def next_done(self) -> tuple[Any, Any, BaseException | None]:
        """Run the oldest task: ``(token, result, None)`` or ``(token, None, error)``."""
        token, fn, arg = self._queue.popleft()
        try:
            return token, fn(arg), None
        except Exception as exc:  # handed to the job that owns the task
            return token, None, exc

    def cancel(self, tokens: Sequence[Any]) -> None:
        """Drop the queued tasks of ``tokens``."""
        drop = set(map(id, tokens))
        self._queue = collections.deque(item for item in self._queue if id(item[0]) not in drop)

    def close(self) -> None:
        """Drop every queued task."""
        self._queue.clear()

    def describe(self) -> str:
        """``"in-process"`` (what run.json and the CLI report as the executor)."""
        return "in-process"

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def require_distributed() -> Any:
    """Import ``distributed`` or raise a one-line :class:`InputError` saying how to install it."""
    return _import_distributed()


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError(
            f"--workers and --scheduler need dask.distributed, which is not installed; {DIST_HINT}"
        ) from None
    return distributed


class DaskExecutor:
    """Runs tasks on a Dask cluster: a new ``LocalCluster`` (``workers``) or an existing one (``scheduler``).

    Args:
        workers: number of worker processes of a new LocalCluster (one thread each).
        scheduler: address of an existing scheduler (``tcp://host:8786``) or a scheduler-file path.
        threads: torch threads per task (default: CPU count // workers locally, 1 on an external cluster).
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None, threads: int | None = None) -> None:
        distributed = _import_distributed()
        self.cluster = None
        if scheduler:
            try:
                if os.path.isfile(scheduler):
                    self.client = distributed.Client(scheduler_file=scheduler, timeout="30s")
                else:
                    self.client = distributed.Client(scheduler, timeout="30s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"cannot connect to the Dask scheduler at {scheduler}: {one_line(exc, 200)}") from None
            self.workers = max(
                1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info().get("workers", {}).values())
            )
            self.threads = threads or 1
            self.address = scheduler
        else:
            workers = check_workers(workers)
            import dask

            # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand every
            # tensor above 128 KiB back to the OS when freed: torch then page-faults through every
            # iteration and a tile ran 6-8x slower than in-process (2.6 s -> 15-21 s). Not for our workers.
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self.cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            self.client = distributed.Client(self.cluster)
            self.workers = workers
            self.threads = threads or max(1, (os.cpu_count() or 1) // workers)
            self.address = self.cluster.scheduler_address
        self._completed = distributed.as_completed()
        self._tokens: dict[str, Any] = {}
        self._futures: dict[int, Any] = {}

    def submit(self, fn: Callable[[Any], Any], arg: Any, token: Any) -> None:
        """Send ``fn(arg)`` to the cluster; ``token`` comes back with its result."""
        future = self.client.submit(fn, arg, key=f"pfs2c2-tile-{uuid.uuid4().hex}", pure=False)
        self._tokens[future.key] = token
        self._futures[id(token)] = future
        self._completed.add(future)

    def pending(self) -> int:
        """Tasks submitted and not yet returned (cancelled ones excluded)."""
        return len(self._tokens)

    def next_done(self) -> tuple[Any, Any, BaseException | None]:
        """Wait for the next finished task: ``(token, result, None)`` or ``(token, None, error)``."""
        while True:
            future = next(self._completed)
            token = self._tokens.pop(future.key, None)
            if token is None:  # cancelled
                future.release()
                continue
            self._futures.pop(id(token), None)
            try:
                return token, future.result(), None
            except Exception as exc:  # handed to the job that owns the task
                return token, None, exc
            finally:
                future.release()

    def cancel(self, tokens: Sequence[Any]) -> None:
        """Cancel the running or queued tasks of ``tokens``."""
        for token in tokens:
            future = self._futures.pop(id(token), None)
            if future is not None:
                self._tokens.pop(future.key, None)
                future.cancel()

    def close(self) -> None:
        """Close the client, and the LocalCluster this executor started."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def describe(self) -> str:
        """Workers, torch threads per task and the cluster's address, for the CLI and run.json."""
        where = f"LocalCluster at {self.address}" if self.cluster is not None else f"cluster at {self.address}"
        return f"{self.workers} Dask worker(s), {self.threads} torch thread(s) per task ({where})"

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def make_executor(
    workers: int | None = None, scheduler: str | None = None, threads: int | None = None
) -> InProcessExecutor | DaskExecutor:
    """:class:`DaskExecutor` when ``workers`` or ``scheduler`` is given, else :class:`InProcessExecutor`.

    Raises:
        InputError: Dask missing ("install pfs2c2[dist]"), both options given, a bad worker count.
    """
    check_executor_options(workers, scheduler)
    if workers is None and scheduler is None:
        return InProcessExecutor(threads)
    return DaskExecutor(workers=workers, scheduler=scheduler, threads=threads)


def run_jobs(
    jobs: Sequence[SceneJob],
    executor: InProcessExecutor | DaskExecutor,
    callback: TileCallback | None = None,
    on_done: Callable[[JobOutcome], None] | None = None,
) -> list[JobOutcome]:
    """Run every scene's tasks on ``executor``; save, assemble and write each scene as it completes.

    Args:
        jobs: the scenes (:func:`pfs2c2.tiling.prepare_scene`).
        executor: where tasks run.
        callback: told about every tile and scene (e.g. progress bars and one line per tile).
        on_done: called with each scene's :class:`JobOutcome` as soon as it ends (success or failure).

    Returns:
        One :class:`JobOutcome` per job, in order. Errors are returned, not raised (a
        ``KeyboardInterrupt`` is raised: work directories stay for ``--resume``).
    """
    outcomes = [JobOutcome(job) for job in jobs]
    owner: dict[int, tuple[int, TileTask]] = {}
    live: dict[int, list[TileTask]] = {i: [] for i in range(len(jobs))}

    def submit(i: int, tasks: list[TileTask]) -> None:
        for task in tasks:
            owner[id(task)] = (i, task)
            live[i].append(task)
            executor.submit(run_tile, task, task)

    def end(i: int, result: TiledResult | None = None, error: BaseException | None = None) -> None:
        outcomes[i].result, outcomes[i].error = result, error
        if error is not None:
            executor.cancel(live[i])
            for task in live[i]:
                owner.pop(id(task), None)
            live[i].clear()
            jobs[i].abort()
        if callback is not None:
            name = jobs[i].name
            if error is not None:
                callback.scene(name, f"failed: {one_line(error)}")
            elif result is not None:
                where = result.path if result.path is not None else "memory"
                callback.scene(name, f"written to {where} in {result.timings['total']:.1f} s")
        if on_done is not None:
            on_done(outcomes[i])

    def finish_if_complete(i: int) -> None:
        if jobs[i].complete and not live[i]:
            try:
                result = jobs[i].finish()
            except Exception as exc:  # fails this scene only; the others go on
                end(i, error=exc)
            else:
                end(i, result=result)

    for i, job in enumerate(jobs):
        job.threads = executor.threads
        try:
            tasks = job.start(callback)
        except Exception as exc:  # fails this scene only; the others go on
            end(i, error=exc)
            continue
        submit(i, tasks)
        finish_if_complete(i)

    while executor.pending():
        token, result, error = executor.next_done()
        entry = owner.pop(id(token), None)
        if entry is None:
            continue
        i, task = entry
        live[i] = [t for t in live[i] if t is not task]
        if error is not None:
            end(i, error=error)
            continue
        try:
            follow = jobs[i].on_result(task, result)
        except Exception as exc:  # fails this scene only; the others go on
            end(i, error=exc)
            continue
        submit(i, follow)
        finish_if_complete(i)
    return outcomes


__all__ = [
    "InProcessExecutor",
    "DaskExecutor",
    "make_executor",
    "require_distributed",
    "run_jobs",
    "JobOutcome",
    "TileResult",
    "DIST_HINT",
]
