"""`pfs2c2 evaluate`: refusals (the full-reference and no-reference scores run in test_round_trip)."""

from __future__ import annotations

import json

import numpy as np

from .helpers import run


def test_evaluate_shape_mismatch_exits_2(inputs, capsys):
    code, out, err = run(capsys, "evaluate", inputs / "lr.npy", inputs / "hr.npy", "--ratio", 4)
    assert code == 2 and "differ in shape" in err


def test_evaluate_needs_a_reference_or_both_inputs_and_a_ratio(inputs, capsys):
    code, _, err = run(capsys, "evaluate", inputs / "lr.npy")
    assert code == 2 and "give a REFERENCE cube, or --hsi and --msi" in err
    code, _, err = run(capsys, "evaluate", inputs / "lr.npy", inputs / "lr.npy")
    assert code == 2 and "--ratio is needed with a REFERENCE" in err
    code, _, err = run(capsys, "evaluate", inputs / "lr.npy", inputs / "lr.npy", "--ratio", 4, "--peak", "max")
    assert code == 2 and "--peak must be 'band' or a number" in err


def test_evaluate_identical_cubes_and_json_is_not_overwritten(inputs, capsys):
    cube = np.random.default_rng(2).random((16, 16, 4)).astype(np.float32) + 0.1
    np.save(inputs / "a.npy", cube)
    code, out, err = run(
        capsys, "evaluate", inputs / "a.npy", inputs / "a.npy", "--ratio", 4, "--json", inputs / "m.json"
    )
    assert code == 0, err
    assert json.loads((inputs / "m.json").read_text())["sam"] < 1e-3 and out.startswith("PSNR ")
    code, _, err = run(
        capsys, "evaluate", inputs / "a.npy", inputs / "a.npy", "--ratio", 4, "--json", inputs / "m.json"
    )
    assert code == 2 and "--overwrite" in err
