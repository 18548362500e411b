"""TileProgress, the CLI's tiled-run callback: one line per scene and tile (window, worker, seconds, ETA)."""

from __future__ import annotations

import numpy as np

from pfs2c2.cli.progress import TileProgress
from pfs2c2.tiling import TileResult, plan_tiles


def test_tile_progress_names_each_tile_and_counts_resumed_ones():
    lines: list[str] = []
    progress = TileProgress(echo=lines.append)
    plan = plan_tiles((20, 20), 4, 10, 5, 2)
    progress.add_scene("a.tif", len(plan.tiles), 1)
    result = TileResult(np.zeros((3, 1, 1), np.float32), None, None, None, [], {}, 2.5, "host:1", 1, 100)
    progress.tile("a.tif", plan.tiles[-1], len(plan.tiles), result)
    progress.operators("a.tif", plan.tiles[:2], 1.25)
    progress.scene("a.tif", "written")
    empty = TileResult(None, None, None, None, [], {}, 0.1, "host:1", 1, 0)
    progress.tile("a.tif", plan.tiles[0], len(plan.tiles), empty)
    progress.close()
    assert lines[0] == f"[a.tif] {len(plan.tiles)} tiles, 1 already done (resumed)"
    r0, c0, h, w = plan.tiles[-1].lr
    assert lines[1].startswith(
        f"[a.tif] tile {len(plan.tiles)}/{len(plan.tiles)} LR rows {r0}:{r0 + h} cols {c0}:{c0 + w} on host:1 in 2.5 s;"
    )
    assert f"2/{len(plan.tiles)} tiles, ETA " in lines[1] and progress.computed == 2 and progress.done == 3
    assert lines[2] == "[a.tif] PSF and SRF learned on tile(s) 1, 2 in 1.2 s" and lines[3] == "[a.tif] written"
    assert "(no valid data: nodata)" in lines[4]
