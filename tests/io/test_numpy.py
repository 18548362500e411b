"""Tests for pfs2c2.io.formats.numpy: ``.npy`` cubes (memory-mapped windows), matrices, writing."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.io import open_cube, read_cube, write_cube
from pfs2c2.io.formats import numpy as numpy_mod

from .conftest import listing, one_line, random_hwc, to_chw


def test_npy_cube_window_and_2d_error(tmp_path):
    hwc = random_hwc(h=6, w=7, c=4)
    p = tmp_path / "c.npy"
    np.save(p, hwc)
    cube, meta = read_cube(p)
    np.testing.assert_array_equal(cube, to_chw(hwc))
    win, _ = read_cube(p, window=(2, 3, 3, 2))
    np.testing.assert_array_equal(win, to_chw(hwc)[:, 2:5, 3:5])
    with pytest.raises(ValueError, match="outside"):
        read_cube(p, window=(5, 0, 3, 3))
    p2 = tmp_path / "m.npy"
    np.save(p2, np.zeros((8, 9)))
    with pytest.raises(ValueError) as exc:
        read_cube(p2)
    assert one_line(exc) == (f"{p2} holds a 2-D array (8, 9); a cube needs 3 dimensions (H, W, bands)")


def test_open_cube_npy_is_memory_mapped(tmp_path, monkeypatch):
    hwc = (random_hwc(h=6, w=7, c=4) * 100).astype(np.int16)
    p = tmp_path / "c.npy"
    np.save(p, hwc)
    modes = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **kw: modes.append(kw.get("mmap_mode")) or real_load(*a, **kw))
    src = open_cube(p)
    assert modes == ["r"]
    assert src.shape == (4, 6, 7) and (src.bands, src.height, src.width) == (4, 6, 7)
    assert src.format == "NumPy" and src.meta == read_cube(p)[1] and src.meta.source == str(p)
    for window in (None, (0, 0, 1, 1), (2, 3, 3, 2)):
        got, meta = src.read(window)
        want, want_meta = read_cube(p, window=window)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)
        assert meta == want_meta == src.window_meta(window)
    with pytest.raises(ValueError, match="outside the 6 x 7 image"):
        src.window_meta((5, 0, 3, 3))


def test_open_cube_npy_refuses_what_read_cube_refuses(tmp_path):
    cases = {
        "m.npy": np.zeros((8, 9)),
        "e.npy": np.zeros((0, 3, 2)),
        "s.npy": np.array([[["a"]]]),
    }
    for name, arr in cases.items():
        np.save(tmp_path / name, arr)
        with pytest.raises(ValueError) as want:
            read_cube(tmp_path / name)
        with pytest.raises(ValueError) as got:
            open_cube(tmp_path / name)
        assert one_line(got) == one_line(want)
    hwc_bytes = (tmp_path / "m.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(hwc_bytes[:140])
    with pytest.raises(ValueError, match="truncated"):
        open_cube(tmp_path / "t.npy")


def test_failed_npy_write_leaves_nothing(tmp_path, monkeypatch):
    cube = np.random.default_rng(3).random((6, 7, 9)).astype(np.float32)

    def partial_save(fh, arr, **kw):
        fh.write(b"\x93NUMPY partial")
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(numpy_mod.np, "save", partial_save)
    with pytest.raises(RuntimeError, match="simulated"):
        write_cube(tmp_path / "o.npy", cube)
    assert listing(tmp_path) == []
