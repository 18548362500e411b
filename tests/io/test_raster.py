"""Tests for pfs2c2.io.formats.raster: GeoTIFF / ENVI read (files made with rasterio directly), probed
with open_cube, and written (header content, profile, tags, failed writes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pfs2c2.io import RasterMeta, open_cube, read_cube, write_cube

from .conftest import CRS, FWHM, TRANSFORM, WL, listing, one_line

rasterio = pytest.importorskip("rasterio")


def _dn_geotiff(p: Path) -> np.ndarray:
    from affine import Affine

    dn = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5) + 10
    dn[:, 0, 0] = 0
    with rasterio.open(
        p, "w", driver="GTiff", width=5, height=4, count=3, dtype="uint16", nodata=0,
        crs="EPSG:32633", transform=Affine(10, 0, 500000, 0, -10, 4000000),
    ) as dst:  # fmt: skip
        dst.write(dn)
        dst.scales = (1e-4, 1e-4, 1e-4)
        for i, d in enumerate(["490.5 nm", "560 nm", "665.2 nm"]):
            dst.set_band_description(i + 1, d)
    return dn


# ---------------------------------------------------------------------------------------------
# reading files written directly with rasterio (not with our writer)
# ---------------------------------------------------------------------------------------------
def test_geotiff_dn_scale_descriptions(tmp_path):
    p = tmp_path / "dn.tif"
    dn = _dn_geotiff(p)
    cube, meta = read_cube(p)
    assert cube.dtype == np.float32
    np.testing.assert_allclose(cube[:, 1:, :], dn[:, 1:, :] * 1e-4, rtol=1e-6)
    assert np.all(cube[:, 0, 0] == 0)
    np.testing.assert_allclose(meta.wavelengths_nm, [490.5, 560, 665.2])
    assert meta.scale == pytest.approx(1e-4) and meta.offset == 0.0 and meta.nodata == 0
    assert meta.crs == "EPSG:32633" and meta.transform == (10, 0, 500000, 0, -10, 4000000)
    assert meta.band_names is None  # descriptions carried only wavelengths
    win, wmeta = read_cube(p, window=(1, 2, 2, 2))
    np.testing.assert_array_equal(win, cube[:, 1:3, 2:4])
    assert wmeta.transform == (10, 0, 500020, 0, -10, 3999990)


@pytest.mark.filterwarnings("ignore:Dataset has no geotransform")
def test_envi_micrometres_header_and_reflectance_scale(tmp_path):
    dn = np.full((2, 3, 4), 5000, dtype=np.int16)
    p = tmp_path / "scene.bsq"
    with rasterio.open(p, "w", driver="ENVI", width=4, height=3, count=2, dtype="int16") as dst:
        dst.write(dn)
        dst.update_tags(ns="ENVI", wavelength="{0.5, 0.6}", fwhm="{0.01, 0.02}",
                        wavelength_units="Micrometers", reflectance_scale_factor="10000")  # fmt: skip
    for spec in (p, tmp_path / "scene.hdr"):
        cube, meta = read_cube(spec)
        np.testing.assert_allclose(cube, 0.5)
        np.testing.assert_allclose(meta.wavelengths_nm, [500, 600])
        np.testing.assert_allclose(meta.fwhm_nm, [10, 20])
        assert meta.scale == pytest.approx(1e-4)
        assert meta.crs is None and meta.transform is None
        src = open_cube(spec)  # the header is enough: same metadata, same pixels
        assert src.shape == (2, 3, 4) and src.format == "ENVI" and src.meta == meta
        assert src.meta.source == meta.source == str(p)
        np.testing.assert_array_equal(src.read()[0], cube)


@pytest.mark.filterwarnings("ignore:Dataset has no geotransform")
def test_envi_sibling_header_without_extension(tmp_path):
    p = tmp_path / "raw_scene"
    with rasterio.open(p, "w", driver="ENVI", width=2, height=2, count=3, dtype="float32") as dst:
        dst.write(np.ones((3, 2, 2), np.float32))
    assert (tmp_path / "raw_scene.hdr").exists()
    cube, _ = read_cube(p)
    assert cube.shape == (3, 2, 2)
    assert open_cube(p).shape == (3, 2, 2)


def test_truncated_envi_is_refused(tmp_path):
    data = write_cube(tmp_path / "t.hdr", np.ones((3, 8, 8), np.float32))
    with open(data, "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(ValueError) as exc:
        read_cube(tmp_path / "t.hdr")
    assert "truncated" in one_line(exc)
    with pytest.raises(ValueError) as exc:
        open_cube(tmp_path / "t.hdr")
    assert "truncated" in one_line(exc)


# ---------------------------------------------------------------------------------------------
# open_cube
# ---------------------------------------------------------------------------------------------
def test_open_cube_geotiff_header_only(tmp_path, monkeypatch):
    p = tmp_path / "dn.tif"
    _dn_geotiff(p)
    import rasterio.io

    def no_pixels(*args, **kwargs):
        raise AssertionError("open_cube read pixels")

    with monkeypatch.context() as m:
        m.setattr(rasterio.io.DatasetReader, "read", no_pixels)
        src = open_cube(p)
        wmeta = src.window_meta((1, 2, 1, 1))
    assert src.shape == (3, 4, 5) and src.format == "GeoTIFF/COG"
    cube, meta = read_cube(p)
    assert src.meta == meta and src.meta.scale == meta.scale and src.meta.offset == meta.offset
    assert wmeta == read_cube(p, window=(1, 2, 1, 1))[1]
    assert wmeta.transform == (10, 0, 500020, 0, -10, 3999990)
    for window in (None, (0, 0, 1, 1), (1, 2, 2, 3)):
        got, got_meta = src.read(window)
        want, want_meta = read_cube(p, window=window)
        np.testing.assert_array_equal(got, want)
        assert got_meta == want_meta
    with pytest.raises(ValueError, match="outside the 4 x 5 image"):
        src.read((3, 0, 2, 2))


def test_open_cube_gdal_cache_and_pickle(tmp_path, monkeypatch):
    import pickle

    p = tmp_path / "dn.tif"
    _dn_geotiff(p)
    seen = []
    real_env = rasterio.Env

    def env(*args, **kwargs):
        seen.append(kwargs.get("GDAL_CACHEMAX"))
        return real_env(*args, **kwargs)

    monkeypatch.setattr(rasterio, "Env", env)
    src = pickle.loads(pickle.dumps(open_cube(p, gdal_cache_bytes=2**20)))
    got, _ = src.read((0, 0, 2, 2))
    assert seen == [2**20]
    np.testing.assert_array_equal(got, read_cube(p, window=(0, 0, 2, 2))[0])


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def test_envi_header_content(tmp_path, cube, meta):
    data = write_cube(tmp_path / "out.hdr", cube, meta)
    assert data == tmp_path / "out.img"
    hdr = (tmp_path / "out.hdr").read_text()
    assert "wavelength = {" in hdr
    assert "fwhm = {" in hdr
    assert "wavelength units = Nanometers" in hdr
    assert "data ignore value = -9999" in hdr
    # nearest to 650, 550, 460 nm: 655.3 (5), 552 (3), 445 (1) -- 1-based
    assert "default bands = {5, 3, 1}" in hdr
    assert "map info = {UTM" in hdr
    assert ".tmp" not in hdr  # the description names the final file
    with rasterio.open(data) as src:
        assert (src.count, src.height, src.width) == (6, 7, 9)
        assert src.crs.to_epsg() == 32633
        np.testing.assert_array_equal(src.read(), cube)
        envi = src.tags(ns="ENVI")
        assert [float(v) for v in envi["wavelength"].strip("{}").split(",")] == pytest.approx(WL)
    assert listing(tmp_path) == ["out.hdr", "out.img"]


def test_geotiff_profile_and_tags(tmp_path, cube, meta):
    out = write_cube(tmp_path / "out.tif", cube, meta.replace(units="reflectance"))
    with rasterio.open(out) as src:
        assert src.dtypes[0] == "float32"
        assert src.compression.name.lower() == "zstd"
        assert src.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"
        assert src.profile["tiled"] and src.interleaving.name.lower() == "band"
        assert src.nodata == -9999.0
        assert src.descriptions[4] == "655.3 nm"
        assert src.tags(5)["wavelength"] == "655.3"
        assert src.tags(5)["wavelength_units"] == "nm"
        assert src.tags(5)["fwhm"] == "14"
        assert src.tags(5, ns="IMAGERY") == {"CENTRAL_WAVELENGTH_UM": "0.6553", "FWHM_UM": "0.014"}
        assert src.units[0] == "reflectance" and src.tags()["software"] == "pfs2c2"
    assert listing(tmp_path) == ["out.tif"]


def _cog_checks(path: Path) -> None:
    cogeo = pytest.importorskip("rio_cogeo.cogeo")
    valid, errors, warns = cogeo.cog_validate(str(path))
    assert valid and not errors and not warns, (errors, warns)


def test_geotiff_is_a_cog_with_overviews(tmp_path):
    c, h, w = 3, 600, 520
    cube = np.random.default_rng(0).random((c, h, w)).astype(np.float32)
    cube[:, :8, :8] = np.nan  # a 2x2-overview pixel that is all nodata
    meta = RasterMeta(crs=CRS, transform=(10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0), wavelengths_nm=WL[:3])
    out = write_cube(tmp_path / "big.tif", cube, meta)
    _cog_checks(out)
    with rasterio.open(out) as src:
        assert src.block_shapes[0] == (512, 512)
        assert src.overviews(1) == [2]  # 600 -> 300 fits one 512 block
        assert np.isnan(src.nodata)  # no nodata in the metadata: NaN marks the invalid pixels
        assert list(src.descriptions) == ["445 nm", "480.5 nm", "552 nm"]
        ov = src.read(1, out_shape=(h // 2, w // 2))
        assert np.isnan(ov[:4, :4]).all() and np.isfinite(ov[4:, 4:]).all()
        np.testing.assert_allclose(ov[10, 10], cube[0, 20:22, 20:22].mean(), rtol=1e-6)  # average
    back, back_meta = read_cube(out)
    np.testing.assert_array_equal(back, cube)
    assert back_meta.nodata is None  # a NaN nodata is reported as None (NaN pixels are invalid anyway)
    assert back_meta.replace(source=None) == meta
    assert listing(tmp_path) == ["big.tif"]


def test_small_geotiff_is_a_cog_and_rio_info_opens_it(tmp_path, cube, meta):
    import json
    import shutil
    import subprocess
    import sys

    out = write_cube(tmp_path / "small.tif", cube, meta)
    _cog_checks(out)
    rio = shutil.which("rio")  # rasterio's command line; the same entry point through python otherwise
    command = [rio] if rio else [sys.executable, "-c", "from rasterio.rio.main import main_group; main_group()"]
    done = subprocess.run(
        [*command, "info", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["crs"] == CRS and info["count"] == 6 and info["tiled"] and info["interleave"] == "band"
    assert info["descriptions"][0] == "445 nm" and info["nodata"] == -9999.0


def test_block_written_geotiff_is_the_same_cog(tmp_path):
    from pfs2c2.io import open_cube_writer

    cube = np.random.default_rng(1).random((2, 530, 700)).astype(np.float32)
    meta = RasterMeta(crs=CRS, transform=TRANSFORM, wavelengths_nm=[500.0, 600.0], fwhm_nm=[10.0, 12.0])
    with open_cube_writer(tmp_path / "blocks.tif", cube.shape, meta) as out:
        step = out.block
        for r0 in range(0, 530, step):
            for c0 in range(0, 700, step):
                out.write(cube[:, r0 : r0 + step, c0 : c0 + step], r0, c0)
        assert len(listing(tmp_path)) == 1  # only the hidden part file while writing
    _cog_checks(out.path)
    whole = write_cube(tmp_path / "whole.tif", cube, meta)
    assert out.path.read_bytes() == whole.read_bytes()
    assert listing(tmp_path) == ["blocks.tif", "whole.tif"]


def test_failed_cog_conversion_leaves_nothing(tmp_path, cube, meta, monkeypatch):
    import rasterio.shutil

    monkeypatch.setattr(rasterio.shutil, "copy", _boom)
    with pytest.raises(RuntimeError, match="simulated"):
        write_cube(tmp_path / "o.tif", cube, meta)
    from pfs2c2.io import open_cube_writer

    with pytest.raises(RuntimeError, match="simulated"):
        with open_cube_writer(tmp_path / "w.tif", cube.shape, meta) as out:
            out.write(cube, 0, 0)
    assert listing(tmp_path) == []


def test_envi_wavelengths_read_by_spectral(tmp_path, cube, meta):
    spectral = pytest.importorskip("spectral")
    names = [f"b{i}" for i in range(6)]
    write_cube(tmp_path / "s.hdr", cube, meta.replace(band_names=names))
    img = spectral.open_image(str(tmp_path / "s.hdr"))
    assert img.shape == (7, 9, 6)
    np.testing.assert_allclose(img.bands.centers, WL)
    np.testing.assert_allclose(img.bands.bandwidths, FWHM)
    assert img.bands.band_unit == "Nanometers"
    assert img.metadata["band names"] == names
    np.testing.assert_array_equal(np.asarray(img.load()).transpose(2, 0, 1), cube)


def _boom(*args, **kwargs):
    raise RuntimeError("disk full (simulated)")


@pytest.mark.parametrize("ext", [".tif", ".hdr"])
def test_failed_raster_write_leaves_nothing(tmp_path, cube, meta, monkeypatch, ext):
    import rasterio.io

    out = tmp_path / f"o{ext}"
    write_cube(out, cube, meta)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(rasterio.io.DatasetWriter, "write", _boom)
    with pytest.raises(RuntimeError, match="simulated"):
        write_cube(out, cube * 3, meta, overwrite=True)
    # the previous output is intact and no temporary file is left
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before
