"""pfs2c2.benchmark and `pfs2c2 benchmark`: case parsing, one real case with cheap methods, the tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from pfs2c2 import InputError
from pfs2c2.benchmark import (
    VALIDATION_CASES,
    Case,
    environment,
    make_problem,
    method_table,
    run_case,
    summary,
    to_csv,
    to_markdown,
)
from pfs2c2.cli import main
from pfs2c2.physics import gaussian_psf

from .conftest import DATA, data_path


def test_case_parsing():
    assert Case.parse("pavia/ikonos/8") == Case("pavia", "ikonos", 8)
    assert Case.parse("samson/sentinel2/4/30").snr == 30.0
    assert Case.parse("samson/sentinel2/4/30").name == "samson/sentinel2/4/30dB"
    box = Case.parse("pavia/ikonos/4/box")
    assert box.psf == "box" and box.name == "pavia/ikonos/4/box" and Case.parse("pavia/ikonos/4/30/box").snr == 30.0
    np.testing.assert_allclose(box.true_psf(), 1 / 16)
    np.testing.assert_allclose(Case.parse("pavia/ikonos/4").true_psf(), gaussian_psf(4))
    for bad, message in [
        ("mars/ikonos/4", "scene"),
        ("pavia/ikonos/4/blurry", "PSF one of"),
        ("pavia/landsat/4", "benchmarked with"),
        ("pavia/ikonos/x", "integer"),
        ("pavia/ikonos/1", ">= 2"),
        ("pavia/ikonos", "scene/sensor/ratio"),
    ]:
        with pytest.raises(InputError, match=message):
            Case.parse(bad)


@pytest.mark.parametrize("spec", VALIDATION_CASES)
def test_validation_cases_build_from_the_shared_data(spec):
    data_path("hsi/jasperRidge_100x100x198.npy")
    problem = make_problem(Case.parse(spec), DATA)
    C, H, W = problem.reference.shape
    r = problem.case.ratio
    assert problem.lr_hsi.shape == (C, H // r, W // r) and problem.hr_msi.shape[1:] == (H, W)
    assert problem.srf_support.shape == (C, problem.hr_msi.shape[0]) and problem.srf_support.any(axis=0).all()
    assert (problem.reference >= 0).all() and problem.reference.max() <= 1


def test_one_real_case_with_cheap_methods_writes_consistent_tables():
    data_path("hsi/abu-beach-4_pavia_rosis.mat")
    problem = make_problem(Case.parse("pavia/worldview2/8"), DATA)
    assert problem.lr_hsi.shape == (102, 12, 12) and problem.hr_msi.shape == (6, 96, 96)
    rows = run_case(
        problem, method_table(presets=(), baselines=["bicubic", "linear_regression"]), log=lambda line: None
    )
    assert [r["method"] for r in rows] == ["bicubic", "linear_regression"]
    assert rows[1]["psnr"] > rows[0]["psnr"] + 10  # the MSI's detail is worth more than 10 dB here
    assert all(r["seconds"] >= 0 and r["peak_mb"] >= 0 for r in rows)
    table = list(csv.DictReader(to_csv(rows).splitlines()))
    assert float(table[1]["psnr"]) == pytest.approx(rows[1]["psnr"], rel=1e-5)
    markdown = to_markdown(rows, environment(), "pfs2c2 benchmark")
    assert "| pavia/worldview2/8 | linear_regression |" in markdown and "torch" in markdown
    assert summary(rows)[0]["method"] == "linear_regression"


def test_cli_benchmark_runs_and_refuses_bad_cases(tmp_path, capsys):
    data_path("hsi/samson_95x95x156.npy")
    assert main(["benchmark", "--cases", "pavia/nosensor/4", "--out", str(tmp_path / "b"), "--data", str(DATA)]) == 2
    assert "benchmarked with" in capsys.readouterr().err
    bicubic_samson = ["--cases", "samson/sentinel2/8", "--methods", "bicubic", "--presets", "none"]
    out = ["--out", str(tmp_path / "b"), "--data", str(DATA)]
    assert main(["benchmark", *bicubic_samson, *out]) == 0
    assert (tmp_path / "b" / "results.md").read_text().count("samson/sentinel2/8") == 1
    assert main(["benchmark", *bicubic_samson, *out]) == 2  # results exist: no silent overwrite


def test_box_psf_case_is_simulated_with_the_box():
    data_path("hsi/abu-beach-4_pavia_rosis.mat")
    problem = make_problem(Case.parse("pavia/worldview2/8/box"), DATA)
    np.testing.assert_allclose(problem.true_psf, 1 / 64)
    block_means = problem.reference.reshape(102, 12, 8, 12, 8).mean(axis=(2, 4))
    np.testing.assert_allclose(problem.lr_hsi, block_means, rtol=1e-4, atol=1e-6)
