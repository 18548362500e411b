"""`pfs2c2 fuse` on whole scenes: outputs, known operators, ensembles, and bad input (exit 2, one line, no output)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from .helpers import TINY, run


def test_fuse_writes_mat_and_non_blind(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "lr.npy", rng.random((6, 6, 12)).astype(np.float32))
    np.save(tmp_path / "hr.npy", rng.random((18, 18, 3)).astype(np.float32))
    np.save(tmp_path / "srf.npy", rng.random((12, 3)))
    np.save(tmp_path / "psf.npy", np.full((3, 3), 1 / 9))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    code, out, err = run(
        capsys,
        "fuse",
        "--hsi",
        tmp_path / "lr.npy",
        "--msi",
        tmp_path / "hr.npy",
        "--out",
        tmp_path / "f.mat",
        "--srf",
        tmp_path / "srf.npy",
        "--psf",
        tmp_path / "psf.npy",
        "--config",
        tmp_path / "tiny.yaml",
        "--no-plots",
        "--seed",
        3,
        "--ensemble",
        3,
    )
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


def test_config_file_with_legacy_run_options_loads_and_config_yaml_holds_the_method_only(inputs, capsys):
    legacy = {**TINY, "device": "cpu", "threads": 1}  # config files written before device/threads left FusionConfig
    (inputs / "legacy.yaml").write_text(yaml.safe_dump(legacy))
    code, out, err = run(
        capsys,
        "fuse",
        "--hsi",
        inputs / "lr.npy",
        "--msi",
        inputs / "hr.npy",
        "--out",
        inputs / "f.npy",
        "--config",
        inputs / "legacy.yaml",
        "--no-plots",
    )
    assert code == 0, err
    written = yaml.safe_load((inputs / "config.yaml").read_text())
    assert "device" not in written and "threads" not in written and written["stage3"]["iterations"] == 20
    assert json.loads((inputs / "run.json").read_text())["device"] == "cpu"
    assert "on cpu ->" in out


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
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err
    leftovers = sorted(p.name for p in out.parent.iterdir())
    assert leftovers == (["fused.npy"] if case == "exists" else []), leftovers
    if case == "exists":
        assert out.read_bytes() == b"old result"


def test_psf_convention_blur_reads_an_odd_blur_at_an_odd_ratio(tmp_path):
    """A 3x3 blur at ratio 3 fits both conventions: --psf-convention says which one the file means."""
    import json

    import numpy as np

    from pfs2c2.cli import main
    from pfs2c2.physics import combined_psf
    from pfs2c2.scenes import synthetic_scene
    from pfs2c2.simulation import simulate

    reference, wavelengths = synthetic_scene(size=24, bands=12, seed=1)
    centres = np.array([450.0, 550.0, 650.0, 850.0])
    srf = np.exp(-0.5 * ((wavelengths[:, None] - centres) / 60.0) ** 2)
    blur = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0
    sim = simulate(reference, 3, srf, psf=blur, psf_convention="blur")
    np.testing.assert_allclose(sim.psf, combined_psf(blur, 3))
    np.save(tmp_path / "lr.npy", sim.lr_hsi.transpose(1, 2, 0))
    np.save(tmp_path / "msi.npy", sim.hr_msi.transpose(1, 2, 0))
    np.save(tmp_path / "psf.npy", blur)
    (tmp_path / "cfg.yaml").write_text(
        json.dumps(
            {
                "stage1": {"iterations": 5, "decay_start": 2},
                "stage2": {"iterations": 5, "decay_start": 2},
                "stage3": {"iterations": 5, "decay_start": 2, "patience": 5},
            }
        )
    )
    for convention, expected in (("blur", combined_psf(blur, 3)), ("combined", blur)):
        out = tmp_path / convention
        out.mkdir()
        code = main(
            [
                "fuse",
                "--hsi",
                str(tmp_path / "lr.npy"),
                "--msi",
                str(tmp_path / "msi.npy"),
                "--out",
                str(out / "fused.npy"),
                "--psf",
                str(tmp_path / "psf.npy"),
                "--psf-convention",
                convention,
                "--preset",
                "fast",
                "--config",
                str(tmp_path / "cfg.yaml"),
                "--no-plots",
            ]
        )
        assert code == 0
        psf = np.loadtxt(out / "psf.csv", delimiter=",")
        np.testing.assert_allclose(psf, expected, atol=1e-6)
