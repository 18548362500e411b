"""The work directory of a tiled run: plan, operators and finished tiles, written atomically.

Work directory and resume
    Finished tiles are kept in a work directory next to the output (``OUT.tiles/``): ``plan.json``
    (scene, plan, configuration: a resumed run must match it), ``operators.npz`` and one
    ``tile_NNNNNN.npy`` (+ ``.json`` with its timings and history) per finished tile, every file
    written under a temporary name and renamed. With ``resume`` finished tiles are not recomputed;
    without it an existing work directory is an error (pass resume, or overwrite to start over). The
    work directory is deleted once the output is written (atomically: temporary name, then
    ``os.replace``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_work_dir_run


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    from ..io import atomic_write

    atomic_write(path, write)


class TileStore:
    """The work directory of a tiled run (``OUT.tiles/``): plan, operators and finished tiles.

    Every file is written to a temporary name and renamed, so a crash never leaves a half tile; a tile
    is finished when its ``tile_NNNNNN.npy`` exists.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.dir = Path(directory)

    def open(self, fingerprint: dict[str, Any], *, resume: bool, overwrite: bool) -> set[int]:
        """Create the directory, or reuse it with ``resume``; return the indices of finished tiles.

        Raises:
            FileExistsError: the directory exists and neither ``resume`` nor ``overwrite`` is set.
            InputError: ``resume`` with a directory made for other inputs or settings.
        """
        fingerprint = json.loads(json.dumps(fingerprint))
        plan_file = self.dir / "plan.json"
        if self.dir.is_dir() and not any(self.dir.iterdir()):
            self.dir.rmdir()  # an empty directory (e.g. a fresh temporary one) holds nothing to resume
        if self.dir.exists():
            if resume and plan_file.exists():
                saved = json.loads(plan_file.read_text())
                check_work_dir_run(self.dir, saved, fingerprint)
                return self.done()
            if not resume and not overwrite:
                raise FileExistsError(
                    f"{self.dir} holds the tiles of an interrupted run; pass --resume to continue it or --overwrite to start over"
                )
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        _atomic(plan_file, lambda tmp: tmp.write_text(json.dumps(fingerprint, indent=1)))
        return set()

    def tile_path(self, index: int) -> Path:
        """The ``.npy`` of finished tile ``index`` (0-based)."""
        return self.dir / f"tile_{index:06d}.npy"

    def done(self) -> set[int]:
        """Indices of the finished tiles."""
        return {int(p.stem[5:]) for p in self.dir.glob("tile_*.npy")}

    def save_tile(self, index: int, fused: np.ndarray, info: dict[str, Any]) -> None:
        """Write a tile's info (``.json``), then its pixels (``.npy``: the tile is finished once it exists)."""
        _atomic(self.dir / f"tile_{index:06d}.json", lambda tmp: tmp.write_text(json.dumps(info)))
        _atomic(self.tile_path(index), lambda tmp: np.save(tmp, fused, allow_pickle=False))

    def tile_info(self, index: int) -> dict[str, Any]:
        """What :meth:`save_tile` wrote for tile ``index`` (``{}`` if none)."""
        path = self.dir / f"tile_{index:06d}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def save_operators(self, psf: np.ndarray, srf: np.ndarray, gain: np.ndarray, sources: list[int]) -> None:
        """Keep the scene's learned ``psf (k, k)``, ``srf (C, c)``, ``gain (c,)`` and the tiles they came from."""
        _atomic(
            self.dir / "operators.npz",
            lambda tmp: np.savez(tmp, psf=psf, srf=srf, srf_gain=gain, sources=np.asarray(sources)),
        )

    def load_operators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]] | None:
        """``(psf, srf, gain, source tiles)`` saved by :meth:`save_operators`, or None."""
        path = self.dir / "operators.npz"
        if not path.exists():
            return None
        with np.load(path) as data:
            return data["psf"], data["srf"], data["srf_gain"], [int(v) for v in data["sources"]]

    def remove(self) -> None:
        """Delete the work directory."""
        shutil.rmtree(self.dir, ignore_errors=True)


def work_dir_for(out: str | os.PathLike) -> Path:
    """``OUT.tiles`` next to the output file."""
    out = Path(out)
    return out.with_name(out.name + ".tiles")
