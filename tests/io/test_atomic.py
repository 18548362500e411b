"""Tests for pfs2c2.io.atomic: the one atomic_write, and the overwrite refusal of the writers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pfs2c2.io import atomic_write
from pfs2c2.io.atomic import check_overwrite, temp_name

from .conftest import listing


def test_atomic_write_replaces_and_keeps_suffix(tmp_path):
    seen = []

    def write(tmp: Path) -> None:
        seen.append(tmp)
        tmp.write_text("new")

    (tmp_path / "a.txt").write_text("old")
    assert atomic_write(tmp_path / "a.txt", write) == tmp_path / "a.txt"
    assert (tmp_path / "a.txt").read_text() == "new"
    assert seen[0].parent == tmp_path and seen[0].suffix == ".txt" and seen[0].name.startswith(".a.")
    assert listing(tmp_path) == ["a.txt"]
    atomic_write(str(tmp_path / "b.bin"), lambda tmp: tmp.write_bytes(b"x"), durable=True)
    assert (tmp_path / "b.bin").read_bytes() == b"x"


def test_atomic_write_failure_leaves_old_file(tmp_path):
    (tmp_path / "a.txt").write_text("old")

    def write(tmp: Path) -> None:
        tmp.write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "a.txt", write)
    assert (tmp_path / "a.txt").read_text() == "old"
    assert listing(tmp_path) == ["a.txt"]


def test_temp_name_and_check_overwrite(tmp_path):
    a, b = temp_name(tmp_path / "x.tif"), temp_name(tmp_path / "x.tif")
    assert a != b and a.suffix == ".tif" and a.name.startswith(".x.") and ".tmp" in a.name
    check_overwrite(tmp_path / "x.tif", [tmp_path / "x.tif"], overwrite=False)
    (tmp_path / "x.tif").write_bytes(b"")
    with pytest.raises(FileExistsError) as exc:
        check_overwrite(tmp_path / "x.tif", [tmp_path / "x.tif"], overwrite=False)
    assert str(exc.value) == f"{tmp_path / 'x.tif'} exists; pass --overwrite to replace it"
    check_overwrite(tmp_path / "x.tif", [tmp_path / "x.tif"], overwrite=True)
    (tmp_path / "d.tif").mkdir()
    with pytest.raises(ValueError, match="it is a directory"):
        check_overwrite(tmp_path / "d.tif", [tmp_path / "d.tif"], overwrite=True)
