"""Assembling a scene: blending cut tiles gives the cube back (NaN kept), the block writer round-trips,
and operators learned per tile."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.tiling import assemble, fuse_tiled, plan_tiles

from .conftest import RUN, tiny_config


def test_assembly_of_cut_tiles_gives_back_the_cube_and_keeps_nan():
    rng = np.random.default_rng(0)
    cube = rng.random((3, 60, 84)).astype(np.float32)
    cube[:, 10:14, 30:33] = np.nan
    plan = plan_tiles((15, 21), 4, 10, 5, 2)
    out = np.full_like(cube, -1.0)

    def read(tile):
        kr, kc, kh, kw = tile.keep
        return cube[:, kr : kr + kh, kc : kc + kw]

    def write(block, r0, c0):
        out[:, r0 : r0 + block.shape[1], c0 : c0 + block.shape[2]] = block

    assemble(plan, read, write, 3, block=16)
    np.testing.assert_allclose(out, cube, rtol=1e-6)
    assert np.isnan(out[:, 10:14, 30:33]).all() and np.isfinite(out).sum() == np.isfinite(cube).sum()


@pytest.mark.parametrize("name", ["out.tif", "out.hdr", "out.npy", "out.mat"])
def test_windowed_writer_round_trips_blocks_with_metadata(tmp_path, name):
    from pfs2c2.io import RasterMeta, read_cube
    from pfs2c2.io.writers import open_cube_writer

    cube = np.random.default_rng(1).random((5, 40, 70)).astype(np.float32)
    meta = RasterMeta(
        crs="EPSG:32633", transform=(10.0, 0.0, 5e5, 0.0, -10.0, 4e6), wavelengths_nm=np.linspace(450, 850, 5)
    )
    with open_cube_writer(tmp_path / name, cube.shape, meta) as out:
        for r0 in range(0, 40, 16):
            for c0 in range(0, 70, 32):
                out.write(cube[:, r0 : r0 + 16, c0 : c0 + 32], r0, c0)
        assert not out.path.exists()  # written under a temporary name until closed
    back, back_meta = read_cube(out.path)
    np.testing.assert_array_equal(back, cube)
    if not name.endswith(".npy"):
        assert back_meta.crs == "EPSG:32633" and np.allclose(back_meta.wavelengths_nm, meta.wavelengths_nm)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(FileExistsError):
        open_cube_writer(tmp_path / name, cube.shape, meta)
    with pytest.raises(ValueError, match="does not fit"):
        with open_cube_writer(tmp_path / ("b" + name), cube.shape, meta) as out:
            out.write(cube[:, :16, :16], 30, 60)
    assert not (tmp_path / ("b" + name)).exists()


def test_per_tile_operators_learn_in_every_tile(geotiff_pair):
    lr, hr, y, z, psf, srf = geotiff_pair
    result = fuse_tiled(y, z, config=tiny_config(5, 30, 5), run=RUN, tile_size=12, overlap=5, per_tile_operators=True)
    assert result.per_tile_operators and result.psf_learned and result.srf_learned
    assert result.psf.shape == (4, 4) and result.psf.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(result.srf.sum(0), 1.0, rtol=1e-6)
    assert np.isfinite(result.fused).all() and result.fused.shape == (102, 64, 64)
    assert all(r["stage"] in (1, 2, 3) for r in result.history) and any(r["stage"] == 2 for r in result.history)
