"""Tests for pfs2c2.io.writers: round trips, overwrite, atomic writes, window-by-window writing."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from pfs2c2.io import (
    WINDOWED_EXTENSIONS,
    WRITE_EXTENSIONS,
    open_cube_writer,
    read_cube,
    write_cube,
)

from .conftest import CRS, FWHM, TRANSFORM, WL, listing


def test_extension_tables():
    assert WRITE_EXTENSIONS == (".tif", ".tiff", ".hdr", ".img", ".dat", ".bsq", ".npy", ".mat", ".h5", ".hdf5")
    assert WINDOWED_EXTENSIONS == (".tif", ".tiff", ".hdr", ".img", ".dat", ".bsq", ".npy")


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".tif", ".hdr", ".img", ".npy", ".mat", ".h5"])
def test_round_trip(tmp_path, cube, meta, ext):
    if ext in (".tif", ".hdr", ".img"):
        pytest.importorskip("rasterio")
    out = write_cube(tmp_path / f"fused{ext}", cube, meta)
    assert out.exists()
    back, m = read_cube(out if ext != ".hdr" else tmp_path / "fused.hdr")
    assert back.shape == cube.shape and back.dtype == np.float32
    np.testing.assert_array_equal(back, cube)
    if ext == ".npy":
        assert m.wavelengths_nm is None  # .npy carries no metadata
        return
    np.testing.assert_allclose(m.wavelengths_nm, WL)
    np.testing.assert_allclose(m.fwhm_nm, FWHM)
    assert m.crs == CRS
    assert m.transform == pytest.approx(TRANSFORM)
    assert m.nodata == -9999.0
    assert m.band_names is None
    assert m.scale is None and m.offset is None
    # nothing but the outputs is left in the directory
    expected = {".hdr": ["fused.hdr", "fused.img"], ".img": ["fused.hdr", "fused.img"]}
    assert listing(tmp_path) == expected.get(ext, [f"fused{ext}"])


def test_round_trip_without_metadata_and_torch_input(tmp_path, cube):
    torch = pytest.importorskip("torch")
    for ext in (".tif", ".mat", ".h5"):
        out = write_cube(tmp_path / f"x{ext}", torch.from_numpy(cube))
        back, m = read_cube(out)
        np.testing.assert_array_equal(back, cube)
        assert m.crs is None and m.transform is None and m.wavelengths_nm is None


def test_band_names_round_trip(tmp_path, cube, meta):
    pytest.importorskip("rasterio")
    names = [f"b{i}" for i in range(6)]
    m = meta.replace(band_names=names)
    for ext in (".tif", ".img", ".h5"):
        _, back = read_cube(write_cube(tmp_path / f"n{ext}", cube, m))
        assert back.band_names == names, ext


# ---------------------------------------------------------------------------------------------
# overwrite, errors, atomicity
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".npy", ".tif", ".hdr"])
def test_overwrite_protection(tmp_path, cube, meta, ext):
    if ext != ".npy":
        pytest.importorskip("rasterio")
    out = tmp_path / f"o{ext}"
    write_cube(out, cube, meta)
    with pytest.raises(FileExistsError) as exc:
        write_cube(out, cube * 2, meta)
    assert str(exc.value) == f"{out} exists; pass --overwrite to replace it"
    np.testing.assert_array_equal(read_cube(out)[0], cube)
    write_cube(out, cube * 2, meta, overwrite=True)
    np.testing.assert_array_equal(read_cube(out)[0], cube * 2)


def test_envi_header_alone_blocks_write(tmp_path, cube):
    (tmp_path / "o.hdr").write_text("ENVI\n")
    with pytest.raises(FileExistsError):
        write_cube(tmp_path / "o.img", cube)


def test_stale_aux_xml_removed(tmp_path, cube, meta):
    pytest.importorskip("rasterio")
    aux = tmp_path / "o.tif.aux.xml"
    aux.write_text("<PAMDataset><PAMRasterBand band='1'><Description>stale</Description></PAMRasterBand></PAMDataset>")
    write_cube(tmp_path / "o.tif", cube, meta)
    assert not aux.exists()
    assert read_cube(tmp_path / "o.tif")[1].band_names is None


def test_bad_inputs(tmp_path, cube, meta):
    with pytest.raises(ValueError) as exc:
        write_cube(tmp_path / "o.png", cube)
    msg = str(exc.value)
    assert "\n" not in msg and all(e in msg for e in WRITE_EXTENSIONS)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        write_cube(tmp_path / "o.npy", cube[0])
    with pytest.raises(ValueError, match="5 bands but its metadata lists 6"):
        write_cube(tmp_path / "o.npy", cube[:5], meta)
    with pytest.raises(ValueError, match=f"cannot write {tmp_path / 'o.npy'}: the cube is empty"):
        write_cube(tmp_path / "o.npy", cube[:, :0])
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        write_cube(tmp_path / "file" / "o.npy", cube)
    assert listing(tmp_path) == ["file"]


def _boom(*args, **kwargs):
    raise RuntimeError("disk full (simulated)")


def test_failed_mat_and_h5_write_leaves_nothing(tmp_path, cube, meta, monkeypatch):
    import h5py

    monkeypatch.setattr(scipy.io, "savemat", _boom)
    with pytest.raises(RuntimeError):
        write_cube(tmp_path / "o.mat", cube, meta)
    monkeypatch.setattr(h5py.Group, "create_dataset", _boom)
    with pytest.raises(RuntimeError):
        write_cube(tmp_path / "o.h5", cube, meta)
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# window by window
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".tif", ".hdr", ".npy", ".mat", ".h5"])
def test_cube_writer_blocks_equal_write_cube(tmp_path, cube, meta, ext):
    if ext in (".tif", ".hdr"):
        pytest.importorskip("rasterio")
    with open_cube_writer(tmp_path / f"w{ext}", cube.shape, meta) as out:
        assert out.kind == {".tif": "tif", ".hdr": "envi", ".npy": "npy"}.get(ext, "memory")
        for r0 in range(0, 7, 3):
            for c0 in range(0, 9, 4):
                out.write(cube[:, r0 : r0 + 3, c0 : c0 + 4], r0, c0)
    whole = write_cube(tmp_path / f"whole{ext}", cube, meta)
    back, m = read_cube(out.path)
    want, want_meta = read_cube(whole)
    np.testing.assert_array_equal(back, want)
    assert m.replace(source=None) == want_meta.replace(source=None)
    names = [f"w{ext}", f"whole{ext}"] if ext != ".hdr" else ["w.hdr", "w.img", "whole.hdr", "whole.img"]
    assert listing(tmp_path) == sorted(names)


def test_cube_writer_refusals_and_abort(tmp_path, cube, meta):
    with pytest.raises(ValueError, match="unknown extension '.png'"):
        open_cube_writer(tmp_path / "o.png", cube.shape, meta)
    with pytest.raises(ValueError, match="empty cube shape"):
        open_cube_writer(tmp_path / "o.npy", (0, 7, 9), meta)
    with pytest.raises(ValueError, match="5 bands but its metadata lists 6"):
        open_cube_writer(tmp_path / "o.npy", (5, 7, 9), meta)
    with pytest.raises(RuntimeError, match="simulated"):
        with open_cube_writer(tmp_path / "o.npy", cube.shape, meta) as out:
            with pytest.raises(ValueError, match="does not fit the cube"):
                out.write(cube[:, :3, :3], 6, 0)
            out.write(cube[:, :3, :3], 0, 0)
            raise RuntimeError("simulated")
    assert listing(tmp_path) == []


def test_geotiff_cube_writer_abort_leaves_nothing(tmp_path, cube, meta):
    pytest.importorskip("rasterio")
    with pytest.raises(RuntimeError, match="simulated"):
        with open_cube_writer(tmp_path / "o.tif", cube.shape, meta) as out:
            out.write(cube[:, :3, :3], 0, 0)
            hidden = listing(tmp_path)
            assert len(hidden) == 1 and hidden[0].startswith(".o.") and hidden[0].endswith(".part.tif")
            raise RuntimeError("simulated")
    assert listing(tmp_path) == []
