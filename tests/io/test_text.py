"""Tests for pfs2c2.io.formats.text: CSV matrices written and read back, the shared tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.io import atomic as atomic_mod
from pfs2c2.io import read_array, read_matrix_csv, split_line, to_float, write_matrix_csv

from .conftest import WL, listing


def test_split_line_and_to_float():
    assert split_line('a, "b" ,c') == ["a", "b", "c"]
    assert split_line("1;2") == ["1", "2"]
    assert split_line("1\t2 3") == ["1", "2 3"]
    assert split_line(" 1  2 ") == ["1", "2"]
    assert to_float("2.5e3") == 2500.0
    assert to_float("nm") is None


def test_write_matrix_csv(tmp_path, monkeypatch):
    srf = np.random.default_rng(0).random((5, 3))
    out = write_matrix_csv(tmp_path / "srf.csv", srf, ["blue", "green", "red"], ("wavelength_nm", WL[:5]))
    lines = out.read_text().splitlines()
    assert lines[0] == "wavelength_nm,blue,green,red"
    assert lines[1].startswith("445.0,")
    m, header, index = read_matrix_csv(out)
    np.testing.assert_array_equal(m, srf)  # exact float64 round trip
    assert header == ["blue", "green", "red"] and index[0] == "wavelength_nm"
    np.testing.assert_array_equal(read_array(out), srf)

    psf = np.full((3, 3), 1 / 9)
    p2 = write_matrix_csv(tmp_path / "psf.csv", psf)
    np.testing.assert_array_equal(read_array(p2), psf)

    with pytest.raises(FileExistsError, match="pass --overwrite"):
        write_matrix_csv(out, srf)
    write_matrix_csv(out, srf * 2, overwrite=True)
    np.testing.assert_array_equal(read_array(out), srf * 2)
    with pytest.raises(ValueError, match="2 column names"):
        write_matrix_csv(tmp_path / "bad.csv", srf, ["a", "b"])
    with pytest.raises(ValueError, match="index values"):
        write_matrix_csv(tmp_path / "bad.csv", srf, None, ("wl", [1, 2]))

    def bad_replace(*a):
        raise OSError("simulated")

    monkeypatch.setattr(atomic_mod.os, "replace", bad_replace)
    with pytest.raises(OSError):
        write_matrix_csv(tmp_path / "new.csv", srf)
    assert listing(tmp_path) == ["psf.csv", "srf.csv"]


def test_read_matrix_csv_errors(tmp_path):
    (tmp_path / "rag.csv").write_text("1,2\n3\n")
    with pytest.raises(ValueError, match="line 2 has 1 columns, expected 2"):
        read_matrix_csv(tmp_path / "rag.csv")
    (tmp_path / "empty.csv").write_text("# nothing\n")
    with pytest.raises(ValueError, match="no numeric data rows"):
        read_matrix_csv(tmp_path / "empty.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match="binary content"):
        read_matrix_csv(tmp_path / "bin.csv")
