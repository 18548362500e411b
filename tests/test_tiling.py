"""Tiled fusion: plan geometry, blending weights, memory options, quality against untiled fusion on a
real crop, file output with georeferencing, resume, and the CLI's tiled path and batch command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pfs2c2 import FusionConfig, StageConfig, evaluate, fuse
from pfs2c2.cli import main
from pfs2c2.errors import InputError
from pfs2c2.sensors import band_support
from pfs2c2.tiling import (
    TileProgress,
    assemble,
    choose_tile_size,
    default_overlap,
    estimate_run_memory,
    fuse_tiled,
    parse_memory,
    plan_tiles,
    tile_margin,
    work_dir_for,
)


def tiny_config(s1: int = 30, s2: int = 100, s3: int = 30) -> FusionConfig:
    cfg = FusionConfig.preset_config("fast")
    cfg.stage1, cfg.stage2, cfg.stage3 = StageConfig(s1, 5e-3, s1 // 2), StageConfig(s2, 2e-2, s2 // 2), StageConfig(s3, 2e-3, s3 // 2)
    cfg.threads = 1  # same thread count everywhere: reruns are bit-identical
    return cfg


def weight_sum(plan) -> np.ndarray:
    total = np.zeros(plan.hr_shape)
    for tile in plan.tiles:
        kr, kc, kh, kw = tile.keep
        wy, wx = plan.weights(tile)
        total[kr : kr + kh, kc : kc + kw] += np.outer(wy, wx)
    return total


# ------------------------------------------------------------------------------------------------
# geometry and weights
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, ratio, tile, overlap, margin", [
    ((25, 25), 4, 12, 6, 2), ((40, 23), 3, 16, 8, 2), ((10, 60), 2, 20, 5, 2), ((9, 9), 4, 64, 8, 2), ((33, 70), 5, 17, 7, 3),
])
def test_plan_covers_the_scene_and_weights_sum_to_one(shape, ratio, tile, overlap, margin):
    plan = plan_tiles(shape, ratio, tile, overlap, margin)
    np.testing.assert_allclose(weight_sum(plan), 1.0, atol=1e-6)
    rows = sorted({t.lr[0] for t in plan.tiles})
    for a, b in zip(rows, rows[1:]):
        assert min(tile, shape[0]) - (b - a) >= overlap  # neighbours share at least the overlap
    for t in plan.tiles:
        r0, c0, h, w = t.lr
        assert t.hr == (r0 * ratio, c0 * ratio, h * ratio, w * ratio)
        assert r0 + h <= shape[0] and c0 + w <= shape[1] and h == min(tile, shape[0]) and w == min(tile, shape[1])
        kr, kc, kh, kw = t.keep  # the kept part lies in the tile, away from interior borders by the margin
        assert t.hr[0] <= kr and kr + kh <= t.hr[0] + t.hr[2]
        if r0 > 0:
            assert kr >= (r0 + margin) * ratio
        if r0 + h < shape[0]:
            assert kr + kh <= (r0 + h - margin) * ratio
        wy, wx = plan.weights(t)
        assert wy.shape == (kh,) and wx.shape == (kw,) and (wy > 0).all() and (wx > 0).all() and wy.max() <= 1


def test_overlap_follows_the_psf_and_the_residual_reach():
    assert tile_margin(4, 4) == 2  # ratio x ratio PSF: only the bicubic residual (2 LR px)
    assert tile_margin(4, 12) == 1 + 2  # 12x12 PSF reaches 4 HR px = 1 LR px beyond its block
    assert tile_margin(3, 11) == 2 + 2
    assert tile_margin(4, 4, residual_correction=False) == 0
    assert default_overlap(4, 4) == 2 * 2 + 4


def test_bad_tile_options_are_one_line_errors():
    with pytest.raises(InputError, match="at least 12"):
        plan_tiles((50, 50), 4, 10, 6, 2)
    with pytest.raises(InputError, match="exceed twice the margin"):
        plan_tiles((50, 50), 4, 20, 4, 2)
    for bad in ("4", "lots", "-1GB", "4 parsecs"):
        with pytest.raises(InputError):
            parse_memory(bad)
    assert parse_memory("4GB") == 4 * 10**9 and parse_memory("512 MiB") == 512 * 2**20 and parse_memory("1.5g") == 1_500_000_000


def test_tile_size_from_the_budget_fits_and_grows_with_it():
    sizes = []
    for budget in ("2GB", "4GB", "8GB", "16GB"):
        for workers in (0, 2):
            t = choose_tile_size(parse_memory(budget), (750, 750), 3, 230, 8, workers=workers, overlap=8)
            assert estimate_run_memory((t * 3) ** 2, 230, 8, workers) <= parse_memory(budget)
            assert estimate_run_memory(((t + 1) * 3) ** 2, 230, 8, workers) > parse_memory(budget)
            if workers == 0:
                sizes.append(t)
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    with pytest.raises(InputError, match="too small"):
        choose_tile_size(parse_memory("300MB"), (750, 750), 3, 230, 8, overlap=8)


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


# ------------------------------------------------------------------------------------------------
# quality on the real Pavia crop
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pavia_tiled_vs_untiled(pavia_problem):
    """Blind fusion of the 100x100 Pavia crop: untiled, and in 16 tiles of 12x12 LR pixels (48x48 HR)."""
    sim, support = pavia_problem["sim"], band_support(pavia_problem["srf"])
    cfg = tiny_config(20, 60, 20)
    untiled = fuse(sim.lr_hsi, sim.hr_msi, config=cfg, srf_support=support)
    tiled = fuse_tiled(sim.lr_hsi, sim.hr_msi, config=cfg, srf_support=support, tile_size=12, overlap=6)
    return untiled, tiled


def test_tiled_matches_untiled_within_half_a_db_without_seams(pavia_problem, pavia_tiled_vs_untiled):
    reference, sim = pavia_problem["reference"], pavia_problem["sim"]
    untiled, tiled = pavia_tiled_vs_untiled
    assert len(tiled.plan.tiles) == 16 and tiled.plan.tile_size * 4 * 2 < 100  # tiles much smaller than the scene
    a, b = evaluate(untiled.fused, reference, 4), evaluate(tiled.fused, reference, 4)
    assert b["psnr"] >= a["psnr"] - 0.5, (a, b)  # measured: untiled 47.0 dB, tiled 48.0 dB (local models help)
    assert b["sam"] <= a["sam"] + 0.2
    # no seams: in the overlap zones (where two or four tiles blend) the error is no larger, relative to
    # the rest of the image, than the untiled fusion's; nor are the jumps between neighbouring pixels
    cover = np.zeros(tiled.plan.hr_shape, int)
    for t in tiled.plan.tiles:
        kr, kc, kh, kw = t.keep
        cover[kr : kr + kh, kc : kc + kw] += 1
    seams = cover > 1
    assert 0.2 < seams.mean() < 0.9
    err_t, err_u = np.abs(tiled.fused - reference).mean(0), np.abs(untiled.fused - reference).mean(0)
    ratio_t, ratio_u = err_t[seams].mean() / err_t[~seams].mean(), err_u[seams].mean() / err_u[~seams].mean()
    assert ratio_t <= ratio_u * 1.05, (ratio_t, ratio_u)
    jump_t = np.abs(np.diff(tiled.fused - reference, axis=2)).mean(0)
    jump_u = np.abs(np.diff(untiled.fused - reference, axis=2)).mean(0)
    at_seams = seams[:, 1:] & seams[:, :-1]
    assert jump_t[at_seams].mean() <= jump_u[at_seams].mean() * 1.05
    # the operators were learned once (on 3 sample tiles) and are close to the truth
    assert tiled.psf_learned and tiled.srf_learned and not tiled.per_tile_operators
    assert np.abs(tiled.psf - sim.psf).max() < 0.01
    assert np.abs(tiled.srf - sim.srf).max() < 0.05
    assert {r["tile"] for r in tiled.history} == set(range(1, 17))


# ------------------------------------------------------------------------------------------------
# files: georeferenced GeoTIFF in and out, resume
# ------------------------------------------------------------------------------------------------
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


class StopAfter(TileProgress):
    """Progress that interrupts the run after ``n`` tiles (as a kill would)."""

    def __init__(self, n: int) -> None:
        super().__init__(echo=lambda line: None)
        self.n = n

    def tile(self, name, tile, tiles, result) -> None:
        super().tile(name, tile, tiles, result)
        if self.computed >= self.n:
            raise RuntimeError("interrupted")


def test_geotiff_output_keeps_the_grid_and_resume_skips_finished_tiles(geotiff_pair, tmp_path):
    from pfs2c2.io import read_cube

    lr, hr, y, z, psf, srf = geotiff_pair
    cfg = tiny_config(10, 0, 10)
    options = dict(config=cfg, psf=psf, srf=srf, tile_size=12, overlap=5)
    in_memory = fuse_tiled(y, z, **options)
    assert len(in_memory.plan.tiles) == 4
    out = tmp_path / "fused.tif"
    with pytest.raises(RuntimeError, match="interrupted"):
        fuse_tiled(str(lr), str(hr), out=out, progress=StopAfter(2), **options)
    work = work_dir_for(out)
    assert not out.exists() and len(list(work.glob("tile_*.npy"))) == 2
    with pytest.raises(FileExistsError, match="--resume"):
        fuse_tiled(str(lr), str(hr), out=out, **options)
    progress = TileProgress(echo=lambda line: None)
    result = fuse_tiled(str(lr), str(hr), out=out, resume=True, progress=progress, **options)
    assert progress.computed == 2 and result.resumed_tiles == 2
    assert not work.exists() and not list(tmp_path.glob(".*tmp*"))
    fused, meta = read_cube(out)
    np.testing.assert_array_equal(fused, in_memory.fused)  # same tiles, same threads: bit-identical
    assert meta.crs == "EPSG:32632" and meta.transform == pytest.approx((7.5, 0.0, 600000.0, 0.0, -7.5, 5000000.0))
    assert meta.wavelengths_nm is not None and len(meta.wavelengths_nm) == 102
    with pytest.raises(FileExistsError, match="--overwrite"):
        fuse_tiled(str(lr), str(hr), out=out, **options)


def test_per_tile_operators_learn_in_every_tile(geotiff_pair):
    lr, hr, y, z, psf, srf = geotiff_pair
    result = fuse_tiled(y, z, config=tiny_config(5, 30, 5), tile_size=12, overlap=5, per_tile_operators=True)
    assert result.per_tile_operators and result.psf_learned and result.srf_learned
    assert result.psf.shape == (4, 4) and result.psf.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(result.srf.sum(0), 1.0, rtol=1e-6)
    assert np.isfinite(result.fused).all() and result.fused.shape == (102, 64, 64)
    assert all(r["stage"] in (1, 2, 3) for r in result.history) and any(r["stage"] == 2 for r in result.history)


@pytest.mark.parametrize("name", ["out.tif", "out.hdr", "out.npy", "out.mat"])
def test_windowed_writer_round_trips_blocks_with_metadata(tmp_path, name):
    from pfs2c2.io import RasterMeta, read_cube
    from pfs2c2.io.writers import open_cube_writer

    cube = np.random.default_rng(1).random((5, 40, 70)).astype(np.float32)
    meta = RasterMeta(crs="EPSG:32633", transform=(10.0, 0.0, 5e5, 0.0, -10.0, 4e6), wavelengths_nm=np.linspace(450, 850, 5))
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


def test_resume_refuses_a_work_dir_of_other_settings(geotiff_pair, tmp_path):
    lr, hr, y, z, psf, srf = geotiff_pair
    out = tmp_path / "fused.npy"
    options = dict(config=tiny_config(10, 0, 10), psf=psf, srf=srf, overlap=5, out=out)
    with pytest.raises(RuntimeError):
        fuse_tiled(str(lr), str(hr), tile_size=12, progress=StopAfter(1), **options)
    with pytest.raises(InputError, match="plan"):
        fuse_tiled(str(lr), str(hr), tile_size=14, resume=True, **options)


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def npy_pair(pavia_problem, tmp_path_factory):
    sim = pavia_problem["sim"]
    folder = tmp_path_factory.mktemp("npy")
    np.save(folder / "lr.npy", sim.lr_hsi[:, :12, :12].transpose(1, 2, 0))
    np.save(folder / "hr.npy", sim.hr_msi[:, :48, :48].transpose(1, 2, 0))
    np.save(folder / "ref.npy", pavia_problem["reference"][:, :48, :48].transpose(1, 2, 0))
    np.save(folder / "psf.npy", sim.psf)
    np.save(folder / "srf.npy", sim.srf)
    (folder / "tiny.yaml").write_text(json.dumps({"stage1": {"iterations": 10, "decay_start": 5}, "stage2": {"iterations": 20, "decay_start": 10},
                                                   "stage3": {"iterations": 10, "decay_start": 5}, "threads": 1}))
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_tiled_fuse_writes_output_and_sidecars(npy_pair, tmp_path, capsys):
    d = npy_pair
    out = tmp_path / "fused.tif"
    code, stdout, err = run(capsys, "fuse", "--hsi", d / "lr.npy", "--msi", d / "hr.npy", "--out", out, "--config", d / "tiny.yaml",
                            "--psf", d / "psf.npy", "--srf", d / "srf.npy", "--tile-size", 10, "--overlap", 5, "--reference", d / "ref.npy")
    assert code == 0, err
    assert "tiled fusion: 4 tiles" in err and "tile 4/4 LR rows 2:12 cols 2:12" in err and "ETA" in err
    assert "PSNR" in stdout and not work_dir_for(out).exists()
    for name in ("psf.csv", "srf.csv", "history.csv", "config.yaml", "run.json", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    run_json = json.loads((tmp_path / "run.json").read_text())
    assert run_json["tiling"]["tiles"] == 4 and run_json["tiling"]["executor"] == "in-process" and not run_json["psf_learned"]
    assert len(run_json["tiling"]["per_tile"]) == 4
    assert json.loads((tmp_path / "metrics.json").read_text())["psnr"] > 35


def test_cli_max_memory_tiles_only_when_the_scene_does_not_fit(npy_pair, tmp_path, capsys):
    d = npy_pair
    common = ["fuse", "--hsi", d / "lr.npy", "--msi", d / "hr.npy", "--config", d / "tiny.yaml", "--psf", d / "psf.npy",
              "--srf", d / "srf.npy", "--no-plots"]
    code, _, err = run(capsys, *common, "--out", tmp_path / "a.npy", "--max-memory", "8GB")
    assert code == 0, err
    assert "tiling" not in json.loads((tmp_path / "run.json").read_text())  # untiled path, unchanged


@pytest.mark.parametrize("extra, message", [
    (["--tile-size", "6", "--overlap", "5"], "--tile-size 6 is too small"),
    (["--tile-size", "10", "--overlap", "4"], "exceed twice the margin"),
    (["--max-memory", "4"], "has no unit"),
    (["--max-memory", "100MB"], "--max-memory 100MB is too small"),
    (["--overlap", "6"], "apply to tiled runs"),
    (["--workers", "0"], "--workers must be a positive number"),
    (["--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
    (["--tile-size", "10", "--validate"], "--validate needs the whole scene"),
])
def test_cli_bad_tiling_options_exit_2(npy_pair, tmp_path, capsys, extra, message):
    d = npy_pair
    code, _, err = run(capsys, "fuse", "--hsi", d / "lr.npy", "--msi", d / "hr.npy", "--out", tmp_path / "f.tif", *extra)
    assert code == 2 and message in err and err.count("\n") <= 2, err
    assert not (tmp_path / "f.tif").exists()


def test_cli_existing_work_dir_needs_resume_or_overwrite(npy_pair, tmp_path, capsys):
    d = npy_pair
    out = tmp_path / "f.tif"
    work_dir_for(out).mkdir()
    (work_dir_for(out) / "plan.json").write_text("{}")
    argv = ["fuse", "--hsi", d / "lr.npy", "--msi", d / "hr.npy", "--out", out, "--config", d / "tiny.yaml", "--psf", d / "psf.npy",
            "--srf", d / "srf.npy", "--tile-size", 10, "--overlap", 5]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "--resume" in err and "--overwrite" in err
    code, _, err = run(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert out.exists() and not work_dir_for(out).exists()


def test_cli_workers_without_dask_says_how_to_install(npy_pair, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    d = npy_pair
    code, _, err = run(capsys, "fuse", "--hsi", d / "lr.npy", "--msi", d / "hr.npy", "--out", tmp_path / "f.tif", "--workers", 2)
    assert code == 2 and "pfs2c2[dist]" in err


def test_cli_batch_fuses_every_row_and_reports_a_failing_scene(npy_pair, tmp_path, capsys):
    d = npy_pair
    bad = np.load(d / "hr.npy")
    bad[5, 5, 0] = np.nan  # NaN without --mask-nan: that scene fails, the other goes on
    np.save(tmp_path / "bad_hr.npy", bad)
    (tmp_path / "out").mkdir()
    manifest = tmp_path / "scenes.csv"
    manifest.write_text(
        "hsi,msi,out,psf,srf\n"
        f"{d / 'lr.npy'},{d / 'hr.npy'},out/a.tif,{d / 'psf.npy'},{d / 'srf.npy'}\n"
        "# a comment line\n"
        f"{d / 'lr.npy'},bad_hr.npy,out/b.npy,{d / 'psf.npy'},{d / 'srf.npy'}\n"
    )
    code, stdout, err = run(capsys, "batch", manifest, "--config", d / "tiny.yaml", "--tile-size", 10, "--overlap", 5)
    assert code == 1 and "1 of 2 scene(s) fused" in stdout and "b.npy" in err, (stdout, err)
    assert (tmp_path / "out" / "a.tif").exists() and (tmp_path / "out" / "a.run.json").exists()
    assert not (tmp_path / "out" / "b.npy").exists()
    # bad manifests are refused before any work, exit 2
    manifest.write_text("hsi,msi\nx,y\n")
    code, _, err = run(capsys, "batch", manifest)
    assert code == 2 and "hsi, msi, out" in err


def test_tiled_inputs_are_checked_like_untiled_ones(tmp_path):
    lr, hr = np.random.default_rng(0).random((12, 16, 16)), np.random.default_rng(1).random((3, 64, 64))
    with pytest.raises(InputError, match="sums to 16"):
        fuse_tiled(lr, hr, 4, psf=np.ones((4, 4)), tile_size=12)
    with pytest.raises(InputError, match="psf_size 5"):
        fuse_tiled(lr, hr, 4, config=FusionConfig(psf_size=5), tile_size=12)
    with pytest.raises(InputError, match="does not exist"):
        fuse_tiled(lr, hr, 4, tile_size=16, out=tmp_path / "missing" / "f.tif")
