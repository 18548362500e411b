"""Progress of tiled runs on the terminal: tqdm bars over tiles and scenes, one line per tile with an ETA.

:class:`TileProgress` is the CLI's :class:`pfs2c2.tiling.TileCallback`; Python users can pass it to
:func:`pfs2c2.tiling.fuse_tiled` (``callback=TileProgress()``) or to :func:`pfs2c2.tiling.executors.run_jobs`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tiling import Tile, TileResult


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class TileProgress:
    """A tqdm bar over tiles (and one over scenes when there are several) plus one line per tile.

    Lines go to ``echo`` (default: stderr); the bars turn themselves off when stderr is not a terminal.
    Each line names the scene, the tile, its LR window, the worker, its seconds, and the run's ETA
    (tiles left times the mean wall time per tile finished in this run).
    """

    def __init__(self, echo: Callable[[str], None] | None = None, scenes: int = 1) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.total = self.done = self.computed = 0
        self.start = time.perf_counter()
        self.bar = tqdm(total=0, desc="tiles", unit="tile", disable=None, file=sys.stderr, leave=True)
        self.scene_bar = (
            tqdm(total=scenes, desc="scenes", unit="scene", disable=None, file=sys.stderr, leave=True)
            if scenes > 1
            else None
        )

    def _line(self, text: str) -> None:
        with self._tqdm.external_write_mode(file=sys.stderr):
            self.echo(text)

    def add_scene(self, name: str, tiles: int, done: int) -> None:
        """A scene with ``tiles`` tiles starts, ``done`` of them finished earlier (resume)."""
        self.total += tiles
        self.done += done
        self.bar.total = self.total
        self.bar.update(done)
        extra = f", {done} already done (resumed)" if done else ""
        self._line(f"[{name}] {tiles} tiles{extra}")

    def eta(self) -> float | None:
        if not self.computed:
            return None
        return (time.perf_counter() - self.start) / self.computed * (self.total - self.done)

    def tile(self, name: str, tile: Tile, tiles: int, result: TileResult) -> None:
        self.done += 1
        self.computed += 1
        self.bar.update(1)
        r0, c0, h, w = tile.lr
        eta = self.eta()
        note = "" if result.valid_lr_pixels else " (no valid data: nodata)"
        self._line(
            f"[{name}] tile {tile.index + 1}/{tiles} LR rows {r0}:{r0 + h} cols {c0}:{c0 + w} on {result.worker} "
            f"in {result.seconds:.1f} s{note}; {self.done}/{self.total} tiles, ETA {_duration(eta) if eta is not None else '?'}"
        )

    def operators(self, name: str, tiles: Sequence[Tile], seconds: float) -> None:
        self._line(
            f"[{name}] PSF and SRF learned on tile(s) {', '.join(str(t.index + 1) for t in tiles)} in {seconds:.1f} s"
        )

    def scene(self, name: str, message: str) -> None:
        if self.scene_bar is not None:
            self.scene_bar.update(1)
        self._line(f"[{name}] {message}")

    def close(self) -> None:
        self.bar.close()
        if self.scene_bar is not None:
            self.scene_bar.close()
