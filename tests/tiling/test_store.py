"""The work directory: a GeoTIFF output keeps the grid, resume skips finished tiles (bit-identical
result), an existing work directory needs resume or overwrite, and resume refuses other settings."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.tiling import fuse_tiled, work_dir_for

from .conftest import RUN, Recorder, tiny_config


def test_geotiff_output_keeps_the_grid_and_resume_skips_finished_tiles(geotiff_pair, tmp_path):
    from pfs2c2.io import read_cube

    lr, hr, y, z, psf, srf = geotiff_pair
    cfg = tiny_config(10, 0, 10)
    options = dict(config=cfg, run=RUN, psf=psf, srf=srf, tile_size=12, overlap=5)
    in_memory = fuse_tiled(y, z, **options)
    assert len(in_memory.plan.tiles) == 4
    out = tmp_path / "fused.tif"
    with pytest.raises(RuntimeError, match="interrupted"):
        fuse_tiled(str(lr), str(hr), out=out, callback=Recorder(stop_after=2), **options)
    work = work_dir_for(out)
    assert not out.exists() and len(list(work.glob("tile_*.npy"))) == 2
    with pytest.raises(FileExistsError, match="--resume"):
        fuse_tiled(str(lr), str(hr), out=out, **options)
    progress = Recorder()
    result = fuse_tiled(str(lr), str(hr), out=out, resume=True, callback=progress, **options)
    assert progress.computed == 2 and result.resumed_tiles == 2
    assert progress.scenes == [("scene", 4, 2)] and progress.closed
    assert not work.exists() and not list(tmp_path.glob(".*tmp*"))
    fused, meta = read_cube(out)
    np.testing.assert_array_equal(fused, in_memory.fused)  # same tiles, same threads: bit-identical
    assert meta.crs == "EPSG:32632" and meta.transform == pytest.approx((7.5, 0.0, 600000.0, 0.0, -7.5, 5000000.0))
    assert meta.wavelengths_nm is not None and len(meta.wavelengths_nm) == 102
    with pytest.raises(FileExistsError, match="--overwrite"):
        fuse_tiled(str(lr), str(hr), out=out, **options)


def test_resume_refuses_a_work_dir_of_other_settings(geotiff_pair, tmp_path):
    lr, hr, y, z, psf, srf = geotiff_pair
    out = tmp_path / "fused.npy"
    options = dict(config=tiny_config(10, 0, 10), run=RUN, psf=psf, srf=srf, overlap=5, out=out)
    with pytest.raises(RuntimeError):
        fuse_tiled(str(lr), str(hr), tile_size=12, callback=Recorder(stop_after=1), **options)
    with pytest.raises(InputError, match="plan"):
        fuse_tiled(str(lr), str(hr), tile_size=14, resume=True, **options)
