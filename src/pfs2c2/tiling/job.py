"""One scene as a job of tile tasks, and the driver's part: saving tiles, assembling and writing the output.

:func:`pfs2c2.tiling.executors.run_jobs` drives a :class:`SceneJob` and reports to a :class:`TileCallback`
(the CLI's progress bars, :class:`pfs2c2.cli.progress.TileProgress`, are one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._checks import check_tiles_with_data
from ..config import FusionConfig
from ..fusion import RunResult
from .plan import Tile, TilePlan, sample_tiles
from .sources import SceneInputs
from .store import TileStore
from .task import TileResult, TileTask, combine_operators

#: Side, in HR pixels, of the blocks in which the output is assembled and written (the GeoTIFF block).
ASSEMBLY_BLOCK = 256


class TileCallback(Protocol):
    """What a tiled run reports to while it runs (progress bars, logs, a test's recorder).

    :class:`pfs2c2.cli.progress.TileProgress` implements it with tqdm bars and one line per tile.
    """

    def add_scene(self, name: str, tiles: int, done: int) -> None:
        """A scene with ``tiles`` tiles starts, ``done`` of them finished earlier (resume)."""

    def tile(self, name: str, tile: Tile, tiles: int, result: TileResult) -> None:
        """Tile ``tile`` (of ``tiles``) of scene ``name`` is finished and saved."""

    def operators(self, name: str, tiles: Sequence[Tile], seconds: float) -> None:
        """The scene's PSF and SRF were learned on ``tiles`` in ``seconds``."""

    def scene(self, name: str, message: str) -> None:
        """Scene ``name`` ended (written, or failed: ``message`` says which)."""

    def close(self) -> None:
        """The run is over (success or not)."""


def assemble(
    plan: TilePlan,
    read_tile: Callable[[Tile], np.ndarray],
    write_block: Callable[[np.ndarray, int, int], None],
    bands: int,
    *,
    nodata: float = float("nan"),
    block: int = ASSEMBLY_BLOCK,
) -> None:
    """Blend the tiles into the output, one ``block x block`` HR block at a time.

    Args:
        plan: the tile plan.
        read_tile: returns a tile's ``(C, kh, kw)`` pixels over ``tile.keep`` (a memory map is best).
        write_block: called as ``write_block(cube (C, bh, bw), row_off, col_off)`` in row-major block order.
        bands: C.
        nodata: value written where the blend is NaN (MSI nodata).
        block: block side in HR pixels.
    """
    H, W = plan.hr_shape
    for b0 in range(0, H, block):
        for b1 in range(0, W, block):
            bh, bw = min(block, H - b0), min(block, W - b1)
            acc = np.zeros((bands, bh, bw), np.float32)
            wsum = np.zeros((bh, bw), np.float32)
            for tile in plan.tiles:
                kr, kc, kh, kw = tile.keep
                y0, y1 = max(b0, kr), min(b0 + bh, kr + kh)
                x0, x1 = max(b1, kc), min(b1 + bw, kc + kw)
                if y0 >= y1 or x0 >= x1:
                    continue
                wy, wx = plan.weights(tile)
                weight = np.outer(wy[y0 - kr : y1 - kr], wx[x0 - kc : x1 - kc])
                data = read_tile(tile)[:, y0 - kr : y1 - kr, x0 - kc : x1 - kc]
                acc[:, y0 - b0 : y1 - b0, x0 - b1 : x1 - b1] += data * weight
                wsum[y0 - b0 : y1 - b0, x0 - b1 : x1 - b1] += weight
                del data
            with np.errstate(invalid="ignore", divide="ignore"):
                acc /= wsum
            if not np.isnan(nodata):
                acc[np.isnan(acc)] = nodata
            write_block(acc, b0, b1)


@dataclass
class TiledResult(RunResult):
    """What a tiled run returns: a :class:`~pfs2c2.fusion.RunResult` plus the output and the tiling.

    The shared fields mean what they mean for :func:`~pfs2c2.fusion.fuse`, with these differences:
    ``psf``, ``srf``, ``srf_gain`` are the operators every tile used (with ``per_tile_operators``: their
    mean); ``history`` holds every tile's loss records, each with a ``tile`` key (1-based); ``timings``
    are ``operators``, ``tiles`` (sum of task seconds), ``assembly`` and ``total`` wall seconds;
    ``device`` is the device the tiles were asked to run on (``RunOptions.device``, e.g. ``"auto"``).

    Attributes:
        fused: the fused ``(C, H, W)`` cube when no output file was given, else None.
        path: the output file written, or None.
        plan: the tile plan.
        tiles: per tile: index, LR window, seconds, worker, valid LR pixels.
        per_tile_operators: whether each tile learned its own operators.
        resumed_tiles: tiles found finished in the work directory.
    """

    fused: np.ndarray | None = field(kw_only=True)
    path: Path | None = field(kw_only=True)
    plan: TilePlan = field(kw_only=True)
    tiles: list[dict[str, Any]] = field(kw_only=True)
    per_tile_operators: bool = field(kw_only=True)
    resumed_tiles: int = field(default=0, kw_only=True)


class SceneJob:
    """The tiles of one scene as tasks, and the driver's part: saving tiles, assembling, writing.

    :func:`pfs2c2.tiling.executors.run_jobs` drives it: :meth:`start` gives the first tasks, :meth:`on_result`
    stores a result and gives follow-up tasks, :meth:`finish` writes the output once every tile is done.
    Build it with :func:`prepare_scene`.
    """

    def __init__(
        self,
        name: str,
        scene: SceneInputs,
        plan: TilePlan,
        config: FusionConfig,
        *,
        srf: np.ndarray | None,
        psf: np.ndarray | None,
        srf_support: np.ndarray | None,
        saturation: float | None,
        mask_nonfinite: bool,
        per_tile_operators: bool,
        sample_count: int,
        out: Path | None,
        meta: Any,
        work_dir: Path,
        resume: bool,
        overwrite: bool,
        fingerprint: dict[str, Any],
        temporary_work_dir: bool,
        device: str = "auto",
    ) -> None:
        self.name, self.scene, self.plan, self.config = name, scene, plan, config
        self.srf_known, self.psf_known, self.srf_support = srf, psf, srf_support
        self.saturation, self.mask_nonfinite = saturation, mask_nonfinite
        self.per_tile = per_tile_operators
        self.sample_count = sample_count
        self.out, self.meta = out, meta
        self.store = TileStore(work_dir)
        self.resume, self.overwrite = resume, overwrite
        self.fingerprint = fingerprint
        self.temporary_work_dir = temporary_work_dir
        self.operators: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.operator_tiles: list[Tile] = []
        self.pending_operator: dict[int, TileResult | None] = {}
        self.finished: set[int] = set()
        self.resumed = 0
        self.infos: dict[int, dict[str, Any]] = {}
        self.started = time.perf_counter()
        self.timings = {"operators": 0.0, "tiles": 0.0, "assembly": 0.0}
        self.threads: int | None = None
        self.device = device
        self.callback: TileCallback | None = None
        #: keep the work directory after :meth:`finish` (the caller removes it once its own files are written)
        self.keep_work_dir = False

    @property
    def blind(self) -> bool:
        """Whether an operator (PSF or SRF) has to be learned."""
        return self.psf_known is None or self.srf_known is None

    def _task(self, tile: Tile, *, operators_only: bool = False) -> TileTask:
        psf, srf = self.psf_known, self.srf_known
        if self.operators is not None and not operators_only:
            psf, srf = self.operators[0], self.operators[1] * self.operators[2][None, :]
        return TileTask(
            self.name,
            tile,
            self.scene.hsi,
            self.scene.msi,
            self.scene.ratio,
            self.config,
            psf=psf,
            srf=srf,
            srf_support=self.srf_support,
            hsi_nodata=getattr(self.scene.hsi_meta, "nodata", None),
            msi_nodata=getattr(self.scene.msi_meta, "nodata", None),
            saturation=self.saturation,
            mask_nonfinite=self.mask_nonfinite,
            threads=self.threads,
            device=self.device,
            operators_only=operators_only,
        )

    def _tile_tasks(self) -> list[TileTask]:
        return [self._task(t) for t in self.plan.tiles if t.index not in self.finished]

    def start(self, callback: TileCallback | None = None) -> list[TileTask]:
        """Open the work directory (resuming if asked) and return the first tasks."""
        self.callback = callback
        self.started = time.perf_counter()
        self.finished = self.store.open(self.fingerprint, resume=self.resume, overwrite=self.overwrite)
        self.resumed = len(self.finished)
        self.infos = {i: self.store.tile_info(i) for i in self.finished}
        if callback is not None:
            callback.add_scene(self.name, len(self.plan.tiles), self.resumed)
        if not self.blind or self.per_tile:
            return self._tile_tasks()
        saved = self.store.load_operators()
        if saved is not None:
            self.operators = saved[:3]
            self.operator_tiles = [self.plan.tiles[i] for i in saved[3]]
            return self._tile_tasks()
        self.operator_tiles = sample_tiles(self.plan, self.sample_count)
        self.pending_operator = {t.index: None for t in self.operator_tiles}
        self._operator_start = time.perf_counter()
        return [self._task(t, operators_only=True) for t in self.operator_tiles]

    def on_result(self, task: TileTask, result: TileResult) -> list[TileTask]:
        """Store a finished task's result; return the tasks it unlocks."""
        if task.operators_only:
            self.pending_operator[task.tile.index] = result
            if any(v is None for v in self.pending_operator.values()):
                return []
            results = [v for v in self.pending_operator.values() if v is not None]
            psf, srf, gain = combine_operators(results)
            if self.psf_known is not None:
                psf = self.psf_known
            if self.srf_known is not None:
                full = self.srf_known
                gain = full.sum(0)
                srf = full / gain
            used = [i for i, r in self.pending_operator.items() if r is not None and r.psf is not None]
            self.operators = (psf, srf, gain)
            self.store.save_operators(psf, srf, gain, used)
            self.timings["operators"] = time.perf_counter() - self._operator_start
            if self.callback is not None:
                self.callback.operators(self.name, [self.plan.tiles[i] for i in used], self.timings["operators"])
            return self._tile_tasks()
        tile = task.tile
        info = {
            "tile": tile.index + 1,
            "lr_window": list(tile.lr),
            "seconds": result.seconds,
            "worker": result.worker,
            "threads": result.threads,
            "valid_lr_pixels": result.valid_lr_pixels,
            "timings": result.timings,
            "history": result.history,
            "psf": None if result.psf is None else result.psf.tolist(),
            "srf_full": None
            if result.srf is None or result.srf_gain is None
            else (result.srf * result.srf_gain[None, :]).tolist(),
        }
        assert result.fused is not None
        self.store.save_tile(tile.index, result.fused, info)
        self.infos[tile.index] = info
        self.finished.add(tile.index)
        self.timings["tiles"] += result.seconds
        if self.callback is not None:
            self.callback.tile(self.name, tile, len(self.plan.tiles), result)
        return []

    @property
    def complete(self) -> bool:
        """Whether every tile is finished."""
        return len(self.finished) == len(self.plan.tiles)

    def _final_operators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.operators is not None:
            return self.operators
        if not self.blind:
            full = self.srf_known
            return self.psf_known, full / full.sum(0), full.sum(0)  # type: ignore[return-value,union-attr]
        # per-tile operators: report their mean
        psfs = [np.asarray(i["psf"]) for i in self.infos.values() if i.get("psf") is not None]
        fulls = [np.asarray(i["srf_full"]) for i in self.infos.values() if i.get("srf_full") is not None]
        psf = np.mean(psfs, axis=0) if psfs else np.full((1, 1), np.nan)
        full = np.mean(fulls, axis=0) if fulls else np.full((self.scene.hsi_bands, self.scene.msi_bands), np.nan)
        return psf / psf.sum(), full / full.sum(0), full.sum(0)

    def finish(self) -> TiledResult:
        """Blend the finished tiles into the output (file or array); delete the work directory."""
        t0 = time.perf_counter()
        C = self.scene.hsi_bands
        H, W = self.plan.hr_shape
        check_tiles_with_data(info.get("valid_lr_pixels", 1) for info in self.infos.values())

        def read_tile(tile: Tile) -> np.ndarray:
            # a fresh memory map per use: once the block is added it is unmapped, so the pages read do not
            # pile up in the resident set (keeping every tile mapped would grow it to the whole scene)
            return np.load(self.store.tile_path(tile.index), mmap_mode="r")

        fused: np.ndarray | None = None
        path: Path | None = None
        nodata = float("nan")
        if self.meta is not None and self.meta.nodata is not None:
            nodata = float(self.meta.nodata)
        if self.out is None:
            fused = np.empty((C, H, W), np.float32)

            def write_block(block: np.ndarray, r0: int, c0: int) -> None:
                fused[:, r0 : r0 + block.shape[1], c0 : c0 + block.shape[2]] = block

            assemble(self.plan, read_tile, write_block, C, nodata=nodata)
        else:
            from ..io import open_cube_writer

            with open_cube_writer(self.out, (C, H, W), self.meta, overwrite=self.overwrite) as writer:
                assemble(self.plan, read_tile, writer.write, C, nodata=nodata, block=writer.block)
            path = writer.path
        self.timings["assembly"] = time.perf_counter() - t0
        self.timings["total"] = time.perf_counter() - self.started
        psf, srf, gain = self._final_operators()
        history = [{"tile": i + 1, **record} for i in sorted(self.infos) for record in self.infos[i].get("history", [])]
        tiles = [
            {k: v for k, v in self.infos[i].items() if k not in ("history", "psf", "srf_full")}
            for i in sorted(self.infos)
        ]
        if not self.keep_work_dir:
            self.store.remove()
        return TiledResult(
            psf=psf,
            srf=srf,
            srf_gain=gain,
            ratio=self.plan.ratio,
            history=history,
            timings=dict(self.timings),
            config=self.config,
            device=self.device,
            psf_learned=self.psf_known is None,
            srf_learned=self.srf_known is None,
            fused=fused,
            path=path,
            plan=self.plan,
            tiles=tiles,
            per_tile_operators=self.per_tile,
            resumed_tiles=self.resumed,
        )

    def abort(self) -> None:
        """Remove a temporary work directory after a failure (a user's one is kept for --resume)."""
        if self.temporary_work_dir:
            self.store.remove()
