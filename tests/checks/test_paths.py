"""Output paths (:mod:`pfs2c2._checks.paths`)."""

from __future__ import annotations

import pytest

import pfs2c2
from pfs2c2 import _checks
from pfs2c2._checks import check_output_path


def test_check_output_path(tmp_path):
    check_output_path(tmp_path / "fused.tif")
    with pytest.raises(pfs2c2.InputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "fused.tif")


def test_check_writable_allows_missing_directories_but_check_output_path_does_not(tmp_path):
    _checks.check_writable(tmp_path / "new" / "deeper" / "fused.tif")
    with pytest.raises(pfs2c2.InputError, match="does not exist"):
        _checks.check_output_path(tmp_path / "new" / "fused.tif")
