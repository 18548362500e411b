"""Resumable block-by-block writing (``open_cube_writer(..., resume_key=...)``): an interrupted write (an
exception, ``KeyboardInterrupt`` or ``kill -9`` of the writing process) keeps its partial files, and the
next writer with the same key writes only the missing blocks and produces the same file as an
uninterrupted write (the same bytes: GDAL's GeoTIFF / COG and ENVI output is deterministic)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.io import RasterMeta, open_cube_writer, read_cube

from .conftest import CRS, listing, one_line

SHAPE = (3, 300, 280)  # > 256 px: the COG gets an overview level, the part file several tiles
BLOCK = 50  # not aligned on the part file's 256 px tiles: tiles are completed across runs
WL3 = np.array([450.0, 550.0, 650.0])
FMTS = {"tif": "out.tif", "envi": "out.img", "npy": "out.npy"}


def _meta() -> RasterMeta:
    return RasterMeta(
        crs=CRS,
        transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0),
        wavelengths_nm=WL3,
        fwhm_nm=np.array([10.0, 11.0, 12.0]),
        nodata=-9999.0,
    )


def _cube() -> np.ndarray:
    return np.random.default_rng(7).random(SHAPE).astype(np.float32)


def _blocks() -> list[tuple[int, int]]:
    return [(r, c) for r in range(0, SHAPE[1], BLOCK) for c in range(0, SHAPE[2], BLOCK)]


def _extent(r: int, c: int) -> tuple[int, int, int, int]:
    """The block ``(row_off, col_off, h, w)`` written at ``(r, c)`` (edge blocks are smaller)."""
    return r, c, min(BLOCK, SHAPE[1] - r), min(BLOCK, SHAPE[2] - c)


def _put(writer, cube: np.ndarray, r: int, c: int) -> None:
    writer.write(cube[:, r : r + BLOCK, c : c + BLOCK], r, c)


def _files(out: Path) -> list[Path]:
    """The final file(s) of ``out`` (ENVI: data and header)."""
    return [out, out.with_suffix(".hdr")] if out.suffix == ".img" else [out]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def reference(tmp_path_factory):
    """``kind -> final path`` of uninterrupted writes without a key (same blocks, same file name)."""
    pytest.importorskip("rasterio")
    d = tmp_path_factory.mktemp("reference")
    cube, meta, refs = _cube(), _meta(), {}
    for kind, name in FMTS.items():
        with open_cube_writer(d / name, SHAPE, meta) as w:
            for r, c in _blocks():
                _put(w, cube, r, c)
        refs[kind] = d / name
    return refs


def _assert_same_output(out: Path, ref: Path) -> None:
    """Byte-identical file(s) (data, ENVI header, GeoTIFF tags and overviews), and equal pixels on reading."""
    for got, want in zip(_files(out), _files(ref)):
        if got.suffix == ".hdr":  # the header names its own data file
            text = got.read_text().replace(str(got.with_suffix(".img")), "X")
            assert text == want.read_text().replace(str(want.with_suffix(".img")), "X")
        else:
            assert _sha(got) == _sha(want), got
    back, m = read_cube(out)
    want_cube, want_meta = read_cube(ref)
    np.testing.assert_array_equal(back, _cube())
    np.testing.assert_array_equal(back, want_cube)
    assert m == want_meta
    if out.suffix == ".tif":
        import rasterio

        with rasterio.open(out) as a, rasterio.open(ref) as b:
            assert a.overviews(1) == b.overviews(1) == [2]
            assert a.profile == b.profile and a.tags() == b.tags() and a.tags(1) == b.tags(1)


def _journal_blocks(out: Path) -> list[list[int]]:
    return json.loads((out.parent / f".{out.name}.resume.json").read_text())["blocks"]


# ---------------------------------------------------------------------------------------------
# interrupted inside the with-block
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("kind", list(FMTS))
def test_interrupted_write_resumes_to_same_bytes(tmp_path, reference, kind, exc):
    out, cube, meta, blocks = tmp_path / FMTS[kind], _cube(), _meta(), _blocks()
    n_first = 14
    with pytest.raises(exc):
        with open_cube_writer(out, SHAPE, meta, resume_key="run-1") as w:
            assert not w.resumed and w.finished == frozenset()
            for i, (r, c) in enumerate(blocks):
                if i == n_first:
                    raise exc("interrupted")
                _put(w, cube, r, c)
                assert not any(f.exists() for f in _files(out))  # never a partial output at the final name
    assert not any(f.exists() for f in _files(out))
    kept = listing(tmp_path)
    assert f".{out.name}.resume.json" in kept and all(n.startswith(f".{out.name}.resume") for n in kept)
    assert len(_journal_blocks(out)) == n_first

    written = []
    with open_cube_writer(out, SHAPE, meta, resume_key="run-1") as w:
        assert w.resumed
        assert w.finished == {_extent(r, c) for r, c in blocks[:n_first]}
        assert [w.done(r, c) for r, c in blocks] == [True] * n_first + [False] * (len(blocks) - n_first)
        for r, c in blocks:
            if not w.done(r, c):
                _put(w, cube, r, c)
                written.append((r, c))
    assert written == blocks[n_first:]
    assert listing(tmp_path) == sorted(f.name for f in _files(out))  # journal and partial files gone
    _assert_same_output(out, reference[kind])


def test_block_written_but_not_recorded_is_written_again(tmp_path, reference, monkeypatch):
    """A kill between a block's data and its journal entry: the block is not done, it is written again."""
    from pfs2c2.io.writers import CubeWriter

    out, cube, meta, blocks = tmp_path / "out.tif", _cube(), _meta(), _blocks()
    calls = {"n": 0}
    real = CubeWriter._write_journal

    def failing(self):
        calls["n"] += 1
        if calls["n"] == 6:  # the journal written at the start, then 4 blocks; the 5th block is not recorded
            raise KeyboardInterrupt
        real(self)

    monkeypatch.setattr(CubeWriter, "_write_journal", failing)
    with pytest.raises(KeyboardInterrupt):
        with open_cube_writer(out, SHAPE, meta, resume_key="k") as w:
            for r, c in blocks:
                _put(w, cube, r, c)
    monkeypatch.setattr(CubeWriter, "_write_journal", real)
    assert len(_journal_blocks(out)) == 4
    with open_cube_writer(out, SHAPE, meta, resume_key="k") as w:
        assert not w.done(*blocks[4]) and w.done(*blocks[3])
        for r, c in blocks:
            if not w.done(r, c):
                _put(w, cube, r, c)
    _assert_same_output(out, reference["tif"])


# ---------------------------------------------------------------------------------------------
# a real kill -9 of the writing process
# ---------------------------------------------------------------------------------------------
_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from pfs2c2.io import RasterMeta, open_cube_writer
    out, shape, block = sys.argv[1], (3, 300, 280), 50
    cube = np.random.default_rng(7).random(shape).astype(np.float32)
    meta = RasterMeta(crs="EPSG:32633", transform=(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0),
                      wavelengths_nm=np.array([450.0, 550.0, 650.0]), fwhm_nm=np.array([10.0, 11.0, 12.0]),
                      nodata=-9999.0)
    with open_cube_writer(out, shape, meta, resume_key="killed-run") as w:
        for r in range(0, shape[1], block):
            for c in range(0, shape[2], block):
                w.write(cube[:, r:r + block, c:c + block], r, c)
                time.sleep(0.05)
    """
)


@pytest.mark.parametrize("kind", list(FMTS))
def test_sigkill_during_write_resumes_to_same_bytes(tmp_path, reference, kind):
    out, cube, meta, blocks = tmp_path / FMTS[kind], _cube(), _meta(), _blocks()
    journal = tmp_path / f".{out.name}.resume.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(out)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if len(json.loads(journal.read_text())["blocks"]) >= 3:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.01)
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert not any(f.exists() for f in _files(out))
    done = {tuple(b) for b in _journal_blocks(out)}
    assert 3 <= len(done) < len(blocks)

    n = 0
    with open_cube_writer(out, SHAPE, meta, resume_key="killed-run") as w:
        assert w.resumed and w.finished == done
        for r, c in blocks:
            if not w.done(r, c):
                _put(w, cube, r, c)
                n += 1
    assert n == len(blocks) - len(done)
    assert listing(tmp_path) == sorted(f.name for f in _files(out))
    _assert_same_output(out, reference[kind])


# ---------------------------------------------------------------------------------------------
# refusals: another run's partial files, formats without resume
# ---------------------------------------------------------------------------------------------
def _interrupted(out: Path, key: str, n: int = 3, meta: RasterMeta | None = None) -> None:
    cube = _cube()
    with pytest.raises(RuntimeError):
        with open_cube_writer(out, SHAPE, meta or _meta(), resume_key=key) as w:
            for r, c in _blocks()[:n]:
                _put(w, cube, r, c)
            raise RuntimeError("stop")


@pytest.mark.parametrize("kind", list(FMTS))
def test_partial_files_of_another_key_are_refused(tmp_path, reference, kind):
    out = tmp_path / FMTS[kind]
    _interrupted(out, "run-A")
    before = {n: _sha(tmp_path / n) for n in listing(tmp_path)}
    with pytest.raises(InputError) as e:
        open_cube_writer(out, SHAPE, _meta(), resume_key="run-B")
    msg = one_line(e)
    assert "different resume key" in msg and "overwrite" in msg and "delete" in msg
    for name in before:
        assert str(tmp_path / name) in msg  # names every stale partial file
    assert {n: _sha(tmp_path / n) for n in listing(tmp_path)} == before  # untouched

    # overwrite=True starts again from nothing
    cube = _cube()
    with open_cube_writer(out, SHAPE, _meta(), overwrite=True, resume_key="run-B") as w:
        assert not w.resumed and w.finished == frozenset()
        assert not any(w.done(r, c) for r, c in _blocks())
        for r, c in _blocks():
            _put(w, cube, r, c)
    _assert_same_output(out, reference[kind])


def test_other_shape_or_metadata_is_refused(tmp_path):
    out = tmp_path / "out.npy"
    _interrupted(out, "k")
    with pytest.raises(InputError, match="different shape"):
        open_cube_writer(out, (3, 300, 281), _meta(), resume_key="k")
    other = _meta()
    other.nodata = 0.0
    with pytest.raises(InputError, match="different metadata"):
        open_cube_writer(out, SHAPE, other, resume_key="k")
    # the same writer continues
    with open_cube_writer(out, SHAPE, _meta(), resume_key="k") as w:
        assert w.resumed and len(w.finished) == 3
        w.abort()


@pytest.mark.parametrize("ext", [".mat", ".h5"])
def test_memory_formats_refuse_resume_key(tmp_path, ext):
    with pytest.raises(InputError) as e:
        open_cube_writer(tmp_path / f"o{ext}", SHAPE, _meta(), resume_key="k")
    msg = one_line(e)
    assert ext in msg and ".tif" in msg and ".npy" in msg and "drop resume_key" in msg
    assert listing(tmp_path) == []


def test_bad_key_and_existing_output(tmp_path):
    with pytest.raises(InputError, match="resume_key must be a non-empty string"):
        open_cube_writer(tmp_path / "o.npy", SHAPE, resume_key="  ")
    (tmp_path / "o.npy").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        open_cube_writer(tmp_path / "o.npy", SHAPE, resume_key="k")
    assert listing(tmp_path) == ["o.npy"]


def test_unreadable_journal_is_refused(tmp_path):
    out = tmp_path / "out.npy"
    _interrupted(out, "k")
    (tmp_path / ".out.npy.resume.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable") as e:
        open_cube_writer(out, SHAPE, _meta(), resume_key="k")
    assert "overwrite" in one_line(e)
    with open_cube_writer(out, SHAPE, _meta(), resume_key="k", overwrite=True) as w:
        assert not w.resumed
        w.discard()
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# abort / discard, damaged partial files, no key
# ---------------------------------------------------------------------------------------------
def test_abort_keeps_and_discard_deletes(tmp_path):
    pytest.importorskip("rasterio")
    out, cube = tmp_path / "out.tif", _cube()
    w = open_cube_writer(out, SHAPE, _meta(), resume_key="k")
    _put(w, cube, 0, 0)
    w.abort()
    kept = w.partial_files()
    assert sorted(p.name for p in kept) == [".out.tif.resume.json", ".out.tif.resume.part.tif"]
    w2 = open_cube_writer(out, SHAPE, _meta(), resume_key="k")
    assert w2.resumed and w2.done(0, 0) and not w2.done(0, BLOCK)
    w2.discard()
    assert listing(tmp_path) == []


@pytest.mark.parametrize("kind", list(FMTS))
def test_damaged_partial_file_starts_again(tmp_path, reference, kind, caplog):
    out = tmp_path / FMTS[kind]
    _interrupted(out, "k")
    data = tmp_path / (f".{out.name}.resume.part.tif" if kind == "tif" else f".{out.name}.resume{out.suffix}")
    with open(data, "r+b") as fh:  # truncated (.npy) / header destroyed (GeoTIFF, ENVI)
        if kind == "npy":
            fh.truncate(1000)
        else:
            fh.write(b"\0" * 16)
    if kind == "envi":
        data.with_suffix(".hdr").write_text("garbage\n")
    cube = _cube()
    with caplog.at_level("WARNING", logger="pfs2c2"):
        with open_cube_writer(out, SHAPE, _meta(), resume_key="k") as w:
            assert not w.resumed and w.finished == frozenset()
            for r, c in _blocks():
                _put(w, cube, r, c)
    assert "cannot continue the partial write" in caplog.text and "starting again" in caplog.text
    assert listing(tmp_path) == sorted(f.name for f in _files(out))
    _assert_same_output(out, reference[kind])


def test_missing_partial_file_starts_again(tmp_path):
    out = tmp_path / "out.npy"
    _interrupted(out, "k")
    (tmp_path / ".out.npy.resume.npy").unlink()
    with open_cube_writer(out, SHAPE, _meta(), resume_key="k") as w:
        assert not w.resumed
        w.discard()
    assert listing(tmp_path) == []


def test_without_key_nothing_is_kept(tmp_path):
    out, cube = tmp_path / "out.npy", _cube()
    with pytest.raises(RuntimeError):
        with open_cube_writer(out, SHAPE, _meta()) as w:
            assert w.journal is None and w.partial_files() == [] and not w.done(0, 0)
            _put(w, cube, 0, 0)
            assert not w.done(0, 0) and w.finished == frozenset()
            raise RuntimeError("stop")
    assert listing(tmp_path) == []
