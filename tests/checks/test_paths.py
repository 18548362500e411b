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


def test_check_output_extension(tmp_path):
    with pytest.raises(pfs2c2.InputError) as info:
        _checks.check_output_extension(tmp_path / "out.jpg", (".tif", ".npy"))
    assert str(info.value) == f"cannot write {tmp_path / 'out.jpg'}: unknown extension '.jpg'; supported: .tif, .npy"
    _checks.check_output_extension(tmp_path / "out.TIF", (".tif", ".npy"))


def test_check_not_existing(tmp_path):
    (tmp_path / "x").write_text("")
    with pytest.raises(FileExistsError) as info:
        _checks.check_not_existing([tmp_path / "y", tmp_path / "x"], overwrite=False)
    assert str(info.value) == f"{tmp_path / 'x'} exists; pass --overwrite to replace it"
    _checks.check_not_existing([tmp_path / "x"], overwrite=True)
    _checks.check_not_existing([tmp_path / "y"], overwrite=False)
