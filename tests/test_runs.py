"""pfs2c2.runs from Python: what `pfs2c2 fuse` / `batch` do around fuse(), without the command line."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml

from pfs2c2 import InputError, fuse, runs
from pfs2c2.config import FusionConfig, RunOptions, StageConfig
from pfs2c2.io import RasterMeta, write_cube

UTM = "EPSG:32631"
SHORT = {
    "stage1": {"iterations": 10, "decay_start": 5},
    "stage2": {"iterations": 20, "decay_start": 10},
    "stage3": {"iterations": 10, "decay_start": 5},
}


@pytest.fixture
def geo_pair(tmp_path):
    """A 6x6-pixel, 30 m HSI and a 20x20-pixel, 10 m MSI reaching one MSI pixel beyond it on every side."""
    rng = np.random.default_rng(0)
    x0, y0 = 500000.0, 4800000.0
    hsi_meta = RasterMeta(
        crs=UTM,
        transform=(30.0, 0.0, x0, 0.0, -30.0, y0),
        wavelengths_nm=np.linspace(450, 900, 12),
        fwhm_nm=np.full(12, 10.0),
    )
    msi_meta = RasterMeta(
        crs=UTM,
        transform=(10.0, 0.0, x0 - 10, 0.0, -10.0, y0 + 10),
        wavelengths_nm=np.array([490.0, 560.0, 665.0]),
        fwhm_nm=np.array([65.0, 35.0, 30.0]),
    )
    write_cube(tmp_path / "hsi.tif", rng.random((12, 6, 6)).astype(np.float32) + 0.1, hsi_meta)
    write_cube(tmp_path / "msi.tif", rng.random((3, 20, 20)).astype(np.float32) + 0.1, msi_meta)
    return tmp_path


def test_read_pair_crops_both_grids_to_their_overlap(geo_pair):
    pair = runs.read_pair(geo_pair / "hsi.tif", geo_pair / "msi.tif")
    assert pair.hsi.shape == (12, 6, 6) and pair.msi.shape == (3, 18, 18) and pair.ratio == 3
    hsi, hsi_meta, msi, msi_meta, ratio = pair  # unpacks like the CLI's tuple
    assert tuple(msi_meta.transform)[:6] == pytest.approx((10.0, 0.0, 500000.0, 0.0, -10.0, 4800000.0))
    with pytest.raises(InputError, match="ratio=4 was given but the HSI pixel size 30 x 30"):
        runs.read_pair(geo_pair / "hsi.tif", geo_pair / "msi.tif", 4)


def test_resolve_operators_support_from_metadata_or_a_warning(geo_pair):
    pair = runs.read_pair(geo_pair / "hsi.tif", geo_pair / "msi.tif")
    ops = runs.resolve_operators(pair.hsi_meta, pair.msi_meta, 12)
    assert ops.srf is None and ops.psf is None and ops.srf_support.shape == (12, 3)
    np.testing.assert_allclose(ops.wavelengths, np.linspace(450, 900, 12), rtol=1e-5)
    assert (ops.srf_support[:, 0] > 0).any() and not (ops.srf_support[-1] > 0).any()  # 900 nm is outside every band

    heard: list[str] = []
    bare = RasterMeta()
    ops = runs.resolve_operators(None, bare, 12, warn=heard.append)
    assert ops.srf_support is None and ops.wavelengths is None
    assert heard == [
        "the learned SRF may use every HSI band (missing: HSI wavelengths (--wavelengths), MSI band "
        "centres, MSI band widths); give --srf-support SENSOR_OR_CSV [--bands ...] with --wavelengths to bound it"
    ]
    with pytest.warns(UserWarning, match="may use every HSI band"):
        runs.resolve_operators(None, bare, 12)


def test_resolve_operators_reads_known_operators_and_a_sensor(tmp_path):
    np.save(tmp_path / "psf.npy", np.full((3, 3), 1 / 9))
    np.save(tmp_path / "srf.npy", np.ones((12, 3)) / 12)
    ops = runs.resolve_operators(
        None, RasterMeta(), 12, srf=str(tmp_path / "srf.npy"), psf=str(tmp_path / "psf.npy"), wavelengths="450:900"
    )
    assert ops.srf.shape == (12, 3) and ops.psf.shape == (3, 3) and ops.srf_support is None
    assert ops.wavelengths[0] == pytest.approx(450) and ops.wavelengths[-1] == pytest.approx(900)
    ops = runs.resolve_operators(None, RasterMeta(), 12, srf="sentinel2a", bands="B2,B3,B4", wavelengths="450:900")
    assert ops.srf.shape == (12, 3)
    with pytest.raises(ValueError, match="is a sensor name"):
        runs.resolve_operators(None, RasterMeta(), 12, srf="sentinel2a")
    with pytest.raises(ValueError, match="has 12 rows but the HSI has 10 bands"):
        runs.resolve_operators(None, RasterMeta(), 10, srf=str(tmp_path / "srf.npy"))


def test_load_settings_overrides_and_legacy_run_options(tmp_path):
    (tmp_path / "old.yaml").write_text(yaml.safe_dump({"seed": 7, "device": "cpu", "threads": 2, **SHORT}))
    cfg, run = runs.load_settings("fast", tmp_path / "old.yaml", ensemble=3)
    assert cfg.preset == "fast" and cfg.seed == 7 and cfg.ensemble == 3 and cfg.stage2 == StageConfig(20, 2e-2, 10)
    assert run == RunOptions(device="cpu", threads=2)
    cfg, run = runs.load_settings("default", tmp_path / "old.yaml", seed=1, device="cuda:1")
    assert cfg.seed == 1 and run.device == "cuda:1" and run.threads == 2
    assert runs.load_settings() == (FusionConfig(), RunOptions())


def test_reduced_resolution_check_scores_the_degraded_pair(geo_pair):
    pair = runs.read_pair(geo_pair / "hsi.tif", geo_pair / "msi.tif")
    config = FusionConfig.from_dict({"preset": "fast", **SHORT})
    scores = runs.reduced_resolution_check(
        pair.hsi, pair.msi, ratio=pair.ratio, config=config, run=RunOptions(threads=1)
    )
    assert {"psnr", "sam", "ergas"} <= set(scores) and np.isfinite(scores["psnr"]) and scores["sam"] >= 0
    masks = {"hsi_mask": np.ones((6, 6), bool), "msi_mask": np.ones((18, 18), bool)}
    again = runs.reduced_resolution_check(pair.hsi, pair.msi, config=config, run=RunOptions(threads=1), **masks)
    assert again == scores  # all-valid masks are the default; the ratio is inferred the same
    with pytest.raises(ValueError, match="too small for the reduced-resolution check"):
        runs.reduced_resolution_check(pair.hsi[:, :5, :5], pair.msi[:, :15, :15], config=config)


def test_write_run_outputs_writes_the_sidecars_and_run_json(tmp_path):
    rng = np.random.default_rng(3)
    lr, hr = rng.random((8, 4, 4)).astype(np.float32), rng.random((3, 16, 16)).astype(np.float32)
    reference = rng.random((8, 16, 16)).astype(np.float32)
    for name, cube in (("lr", lr), ("hr", hr), ("ref", reference)):
        np.save(tmp_path / f"{name}.npy", cube.transpose(1, 2, 0))
    config = FusionConfig.from_dict({"preset": "fast", **SHORT})
    result = fuse(lr, hr, config=config, run=RunOptions(threads=1))
    out = tmp_path / "out" / "fused.npy"
    out.parent.mkdir()
    meta = runs.output_meta(RasterMeta(), None, np.linspace(400, 900, 8))
    runs.write_fused(out, result.fused, meta, overwrite=False)
    inputs = runs.RunInputs(str(tmp_path / "lr.npy"), str(tmp_path / "hr.npy"), str(tmp_path / "ref.npy"))
    no_ref = runs.no_reference_scores(result.fused, lr, hr, result.ratio)
    scores = runs.write_run_outputs(result, out, inputs=inputs, wavelengths=meta.wavelengths_nm, no_reference=no_ref)
    files = runs.Sidecars.beside(out)
    assert [p.name for p in files.paths()] == [
        "psf.csv",
        "srf.csv",
        "history.csv",
        "config.yaml",
        "run.json",
        "metrics.json",
    ]
    assert all(p.stat().st_size > 0 for p in files.paths())
    record = json.loads(files.run.read_text())
    assert list(record) == [
        "hsi",
        "msi",
        "fused",
        "reference",
        "ratio",
        "wavelengths_nm",
        "psf_learned",
        "srf_learned",
        "timings_s",
        "device",
        "no_reference",
        "metrics",
    ]
    assert (
        record["fused"] == "fused.npy" and record["ratio"] == 4 and record["psf_learned"] and record["device"] == "cpu"
    )
    assert record["metrics"] == pytest.approx(scores, nan_ok=True)  # UIQI is NaN on so small an image
    assert json.loads(files.metrics.read_text()) == pytest.approx(scores, nan_ok=True)
    assert scores == pytest.approx(runs.reference_scores(result.fused, reference, 4), nan_ok=True)
    assert files.srf.read_text().splitlines()[0] == "wavelength_nm,msi_band1,msi_band2,msi_band3"
    assert FusionConfig.from_yaml(files.config) == result.config
    history = runs.read_history_csv(files.history)
    assert len(history) == len(result.history) and history[0]["stage"] == result.history[0]["stage"]
    assert history[-1]["loss"] == pytest.approx(result.history[-1]["loss"], rel=1e-7)
    batch_names = runs.Sidecars.beside(tmp_path / "a.tif", prefixed=True)
    assert batch_names.run.name == "a.run.json" and batch_names.psf.name == "a.psf.csv"


def test_history_csv_fills_missing_keys_and_formats_floats():
    text = runs.history_csv([{"stage": 1, "iteration": 1, "loss": 0.123456789}, {"stage": 2, "loss": 2.0, "member": 1}])
    assert text == "stage,iteration,loss,member\n1,1,0.12345679,\n2,,2,1\n"


def test_read_manifest_resolves_paths_and_refuses_bad_files(tmp_path):
    (tmp_path / "srf.csv").write_text("x")
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        'HSI,msi,out,srf,bands\n# comment\na.npy,/abs/b.npy,o/a.tif,srf.csv,"B2,B3"\nc.npy,d.npy,o/c.npy,ikonos,\n'
    )
    rows = runs.read_manifest(manifest)
    assert [r["line"] for r in rows] == ["2", "3"]
    assert (
        rows[0]["hsi"] == str(tmp_path / "a.npy")
        and rows[0]["msi"] == "/abs/b.npy"
        and rows[0]["out"] == str(tmp_path / "o/a.tif")
    )
    assert rows[0]["srf"] == str(tmp_path / "srf.csv") and rows[1]["srf"] == "ikonos" and rows[0]["bands"] == "B2,B3"
    with pytest.raises(FileNotFoundError, match="not found"):
        runs.read_manifest(tmp_path / "nope.csv")
    manifest.write_text("hsi,msi,out\na,b,o.tif\nc,d,o.tif\n")
    with pytest.raises(ValueError, match="more than once"):
        runs.read_manifest(manifest)


def test_absolute_spec(tmp_path):
    (tmp_path / "x").write_text("")
    assert runs.absolute_spec("rel/cube.mat:VAR").endswith("/rel/cube.mat:VAR")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert runs.absolute_spec(str(tmp_path / "x")) == str(tmp_path / "x")


def test_read_inputs_of_products_gives_masks_operators_and_the_record(tmp_path):
    from .products.make_enmap import ORIGIN, make_enmap
    from .products.make_sentinel2 import make_sentinel2

    enmap = make_enmap(tmp_path / "e", size=(18, 22), bands=60)
    s2 = make_sentinel2(tmp_path / "s", size=(54, 66), origin=ORIGIN)
    pair = runs.read_inputs(enmap, s2)
    assert pair.hsi.shape == (60, 18, 22) and pair.msi.shape == (4, 54, 66) and pair.ratio == 3
    assert pair.mask_nonfinite and pair.products == ["enmap L2A", "sentinel2a L2A"] and pair.alignment is None
    assert not pair.msi_mask[4:8, 4:10].any() and pair.msi_mask.mean() > 0.9  # the tile's clouds
    assert not pair.hsi_mask[0, 0] and pair.hsi_mask.mean() > 0.8  # EnMAP's background corner
    specs = runs.product_operator_specs(pair, {"srf": None, "srf_support": None, "bands": None})
    assert specs["srf_support"] == "sentinel2a" and specs["bands"] == "B2,B3,B4,B8"
    assert runs.product_operator_specs(pair, {"srf_support": "x.csv"})["srf_support"] == "x.csv"
    ops = runs.resolve_operators(pair.hsi_meta, pair.msi_meta, 60, **specs)
    assert ops.srf_support.shape == (60, 4) and ops.wavelengths[0] == pytest.approx(420.0)
    fused = np.ones((60, 54, 66), np.float32)
    masked = runs.masked_output(pair, fused)
    assert np.isnan(masked[:, 4:8, 4:10]).all() and np.isnan(masked[:, 0, 0]).all()  # MSI clouds, HSI fill
    record = runs.masks_record(pair, masked)
    assert record["msi"]["layers"]["cloud"] > 0 and record["hsi"]["product"] == "enmap L2A"
    assert record["output"]["masked"] == pytest.approx(np.isnan(masked[0]).mean())
    plain = runs.read_pair(enmap, s2)  # the five fields, as for files
    assert plain.hsi.shape == pair.hsi.shape and plain.ratio == 3
    assert runs.aligned_config(FusionConfig(), pair, psf_known=False) == FusionConfig()  # nothing moved


def test_read_inputs_of_files_is_read_pair_and_align_fixes_a_shift(geo_pair, tmp_path):
    pair = runs.read_inputs(geo_pair / "hsi.tif", geo_pair / "msi.tif", saturation=0.5)
    old = runs.read_file_pair(geo_pair / "hsi.tif", geo_pair / "msi.tif")
    np.testing.assert_array_equal(pair.msi, old.msi)
    assert not pair.mask_nonfinite and pair.alignment is None
    from pfs2c2.masks import valid_pixels

    np.testing.assert_array_equal(pair.hsi_mask, valid_pixels(old.hsi, None, 0.5))
    cube, meta = old.msi, old.msi_meta
    shifted = meta.replace(transform=(10.0, 0.0, 500004.0, 0.0, -10.0, 4800000.0))
    write_cube(tmp_path / "shifted.tif", cube, shifted)
    with pytest.raises(InputError, match="or pass --align"):
        runs.read_inputs(geo_pair / "hsi.tif", tmp_path / "shifted.tif")
    aligned = runs.read_inputs(geo_pair / "hsi.tif", tmp_path / "shifted.tif", align=True)
    assert aligned.alignment is not None and aligned.alignment["ratio"] == 3 and aligned.mask_nonfinite
    config = runs.aligned_config(FusionConfig(), aligned, psf_known=False)
    assert config.psf_size == aligned.alignment["psf_size"]
    record = runs.align_inputs(geo_pair / "hsi.tif", tmp_path / "shifted.tif", tmp_path / "a.tif", tmp_path / "b.tif")
    assert record["ratio"] == 3 and (tmp_path / "a.tif").exists() and (tmp_path / "b.tif").exists()
