"""The command line, in-process: simulate -> fuse -> evaluate on a real scene, demo, report, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from pfs2c2.cli import main

from .conftest import data_path

TINY = {"stage1": {"iterations": 20, "decay_start": 10}, "stage2": {"iterations": 50, "decay_start": 25}, "stage3": {"iterations": 20, "decay_start": 10}}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_fuse_evaluate_round_trip_on_pavia(tmp_path, capsys):
    pavia = data_path("hsi/abu-beach-4_pavia_rosis.mat")
    ikonos = data_path("srf/sensors/IKONOS2_rsr.csv")
    sim = tmp_path / "sim"
    code, out, err = run(capsys, "simulate", pavia, "--ratio", 4, "--srf", ikonos, "--bands", "blue,green,red,nir", "--wavelengths", "430:860", "--out", sim)
    assert code == 0, err
    lr, hr, ref = (np.load(sim / f"{n}.npy") for n in ("lr_hsi", "hr_msi", "reference"))
    assert lr.shape == (25, 25, 102) and hr.shape == (100, 100, 4) and ref.shape == (100, 100, 102)
    assert np.load(sim / "srf.npy").shape == (102, 4)

    fused = tmp_path / "run" / "fused.npy"
    fused.parent.mkdir()
    code, out, err = run(
        capsys, "fuse", "--hsi", sim / "lr_hsi.npy", "--msi", sim / "hr_msi.npy", "--out", fused, "--preset", "fast",
        "--srf-support", ikonos, "--bands", "blue,green,red,nir", "--wavelengths", "430:860", "--reference", sim / "reference.npy",
    )
    assert code == 0, err
    assert np.load(fused).shape == (100, 100, 102)
    for name in ("psf.csv", "srf.csv", "history.csv", "config.yaml", "run.json", "metrics.json", "report.png", "srf.png"):
        assert (fused.parent / name).stat().st_size > 0, name
    assert yaml.safe_load((fused.parent / "config.yaml").read_text())["preset"] == "fast"
    history = (fused.parent / "history.csv").read_text().splitlines()
    assert history[0].startswith("stage,iteration,loss") and len(history) > 10
    psf = np.loadtxt(fused.parent / "psf.csv", delimiter=",")
    assert psf.shape == (4, 4) and psf.sum() == pytest.approx(1.0, abs=1e-6)

    code, out, err = run(capsys, "evaluate", fused, sim / "reference.npy", "--ratio", 4, "--json", tmp_path / "m.json")
    assert code == 0, err
    scores = json.loads((tmp_path / "m.json").read_text())
    assert set(scores) == {"psnr", "sam", "ergas", "rmse", "cc", "ssim", "uiqi"}
    assert scores["psnr"] > 43.0  # bicubic gives ~31.6 dB on this scene
    assert scores == pytest.approx(json.loads((fused.parent / "metrics.json").read_text()))

    code, out, err = run(capsys, "evaluate", fused, "--hsi", sim / "lr_hsi.npy", "--msi", sim / "hr_msi.npy", "--json", tmp_path / "nr.json")
    assert code == 0, err
    no_ref = json.loads((tmp_path / "nr.json").read_text())
    assert 0 < no_ref["hqnr"] <= 1 and 0 <= no_ref["d_s"] < 0.2

    (tmp_path / "run" / "report.png").unlink()
    code, out, err = run(capsys, "report", fused.parent)
    assert code == 0, err
    assert (fused.parent / "report.png").exists()


def test_fuse_writes_mat_and_non_blind(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "lr.npy", rng.random((6, 6, 12)).astype(np.float32))
    np.save(tmp_path / "hr.npy", rng.random((18, 18, 3)).astype(np.float32))
    np.save(tmp_path / "srf.npy", rng.random((12, 3)))
    np.save(tmp_path / "psf.npy", np.full((3, 3), 1 / 9))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    code, out, err = run(capsys, "fuse", "--hsi", tmp_path / "lr.npy", "--msi", tmp_path / "hr.npy", "--out", tmp_path / "f.mat",
                         "--srf", tmp_path / "srf.npy", "--psf", tmp_path / "psf.npy", "--config", tmp_path / "tiny.yaml", "--no-plots", "--seed", 3, "--ensemble", 3)
    assert code == 0, err
    import scipy.io

    assert scipy.io.loadmat(tmp_path / "f.mat")["fused"].shape == (18, 18, 12)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["seed"] == 3 and config["ensemble"] == 3
    header, *rows = (tmp_path / "history.csv").read_text().splitlines()
    member = header.split(",").index("member")
    assert {row.split(",")[member] for row in rows} == {"0", "1", "2"}
    assert not (tmp_path / "report.png").exists()
    assert not list(tmp_path.glob("f.mat.ckpt*"))  # every run's checkpoint is removed


def test_demo_runs_and_reports(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--preset", "fast")
    assert code == 0, err
    assert "PSNR" in out and "outputs written to" in out
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert metrics["pfs2c2"]["psnr"] > metrics["bicubic"]["psnr"] + 5
    assert (tmp_path / "demo" / "report.png").exists()
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--preset", "fast")
    assert code == 2 and "--overwrite" in err


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "lr.npy", rng.random((5, 5, 10)).astype(np.float32))
    np.save(tmp_path / "hr.npy", rng.random((20, 20, 3)).astype(np.float32))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return tmp_path


def _bad(tmp_path, name, array):
    np.save(tmp_path / name, array)
    return tmp_path / name


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "not found|No such file|does not exist"),
        ("unreadable", "cannot read"),
        ("two_d", "2-D"),
        ("not_nested", "not an integer multiple"),
        ("ratio", "contradicts"),
        ("srf_shape", "SRF"),
        ("nan", "NaN"),
        ("inf", "NaN or Inf"),
        ("msi_more_bands", "more bands"),
        ("exists", "--overwrite"),
        ("bad_config", "unknown configuration key"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(inputs, capsys, case, message):
    t = inputs
    hsi, msi, extra = t / "lr.npy", t / "hr.npy", []
    out = t / "out" / "fused.npy"
    out.parent.mkdir()
    if case == "missing":
        hsi = t / "nope.npy"
    elif case == "unreadable":
        hsi = t / "junk.npy"
        hsi.write_bytes(b"this is not a numpy file")
    elif case == "two_d":
        hsi = _bad(t, "flat.npy", np.ones((5, 5)))
    elif case == "not_nested":
        msi = _bad(t, "odd.npy", np.ones((21, 20, 3)))
    elif case == "ratio":
        extra = ["--ratio", "3"]
    elif case == "srf_shape":
        extra = ["--srf", _bad(t, "srf.npy", np.ones((9, 3)))]
    elif case in ("nan", "inf"):
        a = np.ones((5, 5, 10))
        a[1, 1, 1] = np.nan if case == "nan" else np.inf
        hsi = _bad(t, "nan.npy", a)
    elif case == "msi_more_bands":
        msi = _bad(t, "wide.npy", np.ones((20, 20, 12)))
    elif case == "exists":
        out.write_bytes(b"old result")
    elif case == "bad_config":
        (t / "bad.yaml").write_text("bogus: 1\n")
        extra = ["--config", t / "bad.yaml"]
    config = [] if case == "bad_config" else ["--config", t / "tiny.yaml"]
    code, stdout, err = run(capsys, "fuse", "--hsi", hsi, "--msi", msi, "--out", out, *config, *extra)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("Error:"), err
    import re

    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err
    leftovers = sorted(p.name for p in out.parent.iterdir())
    assert leftovers == (["fused.npy"] if case == "exists" else []), leftovers
    if case == "exists":
        assert out.read_bytes() == b"old result"


def test_evaluate_shape_mismatch_exits_2(inputs, capsys):
    code, out, err = run(capsys, "evaluate", inputs / "lr.npy", inputs / "hr.npy", "--ratio", 4)
    assert code == 2 and "differ in shape" in err


def test_help_is_fast_and_lists_commands(capsys):
    code, out, err = run(capsys, "--help")
    assert code == 0
    for command in ("simulate", "fuse", "evaluate", "demo", "report"):
        assert command in out


def test_progress_names_the_run_of_an_ensemble():
    from pfs2c2.cli import _Progress

    progress, seen = _Progress(runs=2), []
    for stage in (1, 2, 3, 1, 2, 3):
        progress(stage, 1, 10, 0.5)
        seen.append(progress.desc)
    progress.close()
    assert seen[0] == "run 1/2, stage 1/3" and seen[3] == "run 2/2, stage 1/3" and seen[5] == "run 2/2, stage 3/3"
    single = _Progress()
    single(1, 1, 10, 0.5)
    single.close()
    assert single.desc == "stage 1/3"
