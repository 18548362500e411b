"""The CLI's tiled path (`pfs2c2 fuse` with tiling options) and the batch command: output and sidecars, when
--max-memory tiles, bad options exit 2, an existing work directory, missing Dask, a failing scene of a batch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pfs2c2.cli import main
from pfs2c2.tiling import work_dir_for


@pytest.fixture(scope="module")
def npy_pair(pavia_problem, tmp_path_factory):
    sim = pavia_problem["sim"]
    folder = tmp_path_factory.mktemp("npy")
    np.save(folder / "lr.npy", sim.lr_hsi[:, :12, :12].transpose(1, 2, 0))
    np.save(folder / "hr.npy", sim.hr_msi[:, :48, :48].transpose(1, 2, 0))
    np.save(folder / "ref.npy", pavia_problem["reference"][:, :48, :48].transpose(1, 2, 0))
    np.save(folder / "psf.npy", sim.psf)
    np.save(folder / "srf.npy", sim.srf)
    (folder / "tiny.yaml").write_text(
        json.dumps(
            {
                "stage1": {"iterations": 10, "decay_start": 5},
                "stage2": {"iterations": 20, "decay_start": 10},
                "stage3": {"iterations": 10, "decay_start": 5},
                "threads": 1,
            }
        )
    )
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_tiled_fuse_writes_output_and_sidecars(npy_pair, tmp_path, capsys):
    d = npy_pair
    out = tmp_path / "fused.tif"
    code, stdout, err = run(
        capsys,
        "fuse",
        "--hsi",
        d / "lr.npy",
        "--msi",
        d / "hr.npy",
        "--out",
        out,
        "--config",
        d / "tiny.yaml",
        "--psf",
        d / "psf.npy",
        "--srf",
        d / "srf.npy",
        "--tile-size",
        10,
        "--overlap",
        5,
        "--reference",
        d / "ref.npy",
    )
    assert code == 0, err
    assert "tiled fusion: 4 tiles" in err and "tile 4/4 LR rows 2:12 cols 2:12" in err and "ETA" in err
    assert "PSNR" in stdout and not work_dir_for(out).exists()
    for name in ("psf.csv", "srf.csv", "history.csv", "config.yaml", "run.json", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    run_json = json.loads((tmp_path / "run.json").read_text())
    assert (
        run_json["tiling"]["tiles"] == 4
        and run_json["tiling"]["executor"] == "in-process"
        and not run_json["psf_learned"]
    )
    assert len(run_json["tiling"]["per_tile"]) == 4
    assert json.loads((tmp_path / "metrics.json").read_text())["psnr"] > 35


def test_cli_max_memory_tiles_only_when_the_scene_does_not_fit(npy_pair, tmp_path, capsys):
    d = npy_pair
    common = [
        "fuse",
        "--hsi",
        d / "lr.npy",
        "--msi",
        d / "hr.npy",
        "--config",
        d / "tiny.yaml",
        "--psf",
        d / "psf.npy",
        "--srf",
        d / "srf.npy",
        "--no-plots",
    ]
    code, _, err = run(capsys, *common, "--out", tmp_path / "a.npy", "--max-memory", "8GB")
    assert code == 0, err
    assert "tiling" not in json.loads((tmp_path / "run.json").read_text())  # untiled path, unchanged


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--tile-size", "6", "--overlap", "5"], "--tile-size 6 is too small"),
        (["--tile-size", "10", "--overlap", "4"], "exceed twice the margin"),
        (["--max-memory", "4"], "has no unit"),
        (["--max-memory", "100MB"], "--max-memory 100MB is too small"),
        (["--overlap", "6"], "apply to tiled runs"),
        (["--workers", "0"], "--workers must be a positive number"),
        (["--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
        (["--tile-size", "10", "--validate"], "--validate needs the whole scene"),
    ],
)
def test_cli_bad_tiling_options_exit_2(npy_pair, tmp_path, capsys, extra, message):
    d = npy_pair
    code, _, err = run(
        capsys, "fuse", "--hsi", d / "lr.npy", "--msi", d / "hr.npy", "--out", tmp_path / "f.tif", *extra
    )
    assert code == 2 and message in err and err.count("\n") <= 2, err
    assert not (tmp_path / "f.tif").exists()


def test_cli_existing_work_dir_needs_resume_or_overwrite(npy_pair, tmp_path, capsys):
    d = npy_pair
    out = tmp_path / "f.tif"
    work_dir_for(out).mkdir()
    (work_dir_for(out) / "plan.json").write_text("{}")
    argv = [
        "fuse",
        "--hsi",
        d / "lr.npy",
        "--msi",
        d / "hr.npy",
        "--out",
        out,
        "--config",
        d / "tiny.yaml",
        "--psf",
        d / "psf.npy",
        "--srf",
        d / "srf.npy",
        "--tile-size",
        10,
        "--overlap",
        5,
    ]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "--resume" in err and "--overwrite" in err
    code, _, err = run(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert out.exists() and not work_dir_for(out).exists()


def test_cli_workers_without_dask_says_how_to_install(npy_pair, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    d = npy_pair
    code, _, err = run(
        capsys, "fuse", "--hsi", d / "lr.npy", "--msi", d / "hr.npy", "--out", tmp_path / "f.tif", "--workers", 2
    )
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
