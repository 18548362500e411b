"""Benchmark request checks (:mod:`pfs2c2._checks.benchmark`)."""

from __future__ import annotations

import pytest

from pfs2c2 import _checks
from pfs2c2.errors import InputError


def test_check_case_ratio():
    assert _checks.check_case_ratio(4, "pavia/ikonos/4") == 4
    with pytest.raises(InputError, match=r"bad case 'pavia/ikonos/1': the ratio must be >= 2"):
        _checks.check_case_ratio(1, "pavia/ikonos/1")


def test_check_data_file(tmp_path):
    f = tmp_path / "a.npy"
    f.write_bytes(b"")
    assert _checks.check_data_file(f) == f
    with pytest.raises(InputError, match="benchmark data file .*b.npy not found; point --data at the shared data"):
        _checks.check_data_file(tmp_path / "b.npy")
