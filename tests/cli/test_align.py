"""`pfs2c2 align` and `pfs2c2 fuse --align`: pairs shifted by a fraction of a pixel or in different UTM zones."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from pfs2c2.io import RasterMeta, match_grids, read_cube, write_cube

from .helpers import TINY, run

X0, Y0 = 500000.0, 4800000.0  # MSI corner, UTM 31N


def _scene(rows: int, cols: int, bands: int, step: float, x0: float, y0: float, crs: str) -> np.ndarray:
    """A smooth positive scene sampled at pixel centres of a grid (the same ground for every grid in one CRS)."""
    if crs != "EPSG:32631":
        from rasterio.warp import transform

        xs, ys = np.meshgrid(x0 + step * (np.arange(cols) + 0.5), y0 - step * (np.arange(rows) + 0.5))
        gx, gy = transform(crs, "EPSG:32631", xs.ravel(), ys.ravel())
        gx, gy = np.asarray(gx).reshape(rows, cols), np.asarray(gy).reshape(rows, cols)
    else:
        gx, gy = np.meshgrid(x0 + step * (np.arange(cols) + 0.5), y0 - step * (np.arange(rows) + 0.5))
    u, v = (gx - X0) / 300.0, (Y0 - gy) / 300.0
    k = np.arange(bands)[:, None, None]
    return (0.3 + 0.1 * np.sin(u[None] * (1 + 0.1 * k)) * np.cos(v[None] * 0.7) + 0.01 * k).astype(np.float32)


def _write_pair(tmp_path, hsi_crs: str, hsi_x0: float, hsi_y0: float) -> tuple[str, str]:
    wl = np.linspace(450, 900, 12)
    msi = _scene(60, 60, 3, 10.0, X0, Y0, "EPSG:32631")
    msi_meta = RasterMeta(
        crs="EPSG:32631",
        transform=(10.0, 0.0, X0, 0.0, -10.0, Y0),
        wavelengths_nm=[490.0, 560.0, 665.0],
        fwhm_nm=[65.0, 35.0, 30.0],
    )
    hsi = _scene(16, 16, 12, 30.0, hsi_x0, hsi_y0, hsi_crs)
    hsi_meta = RasterMeta(
        crs=hsi_crs, transform=(30.0, 0.0, hsi_x0, 0.0, -30.0, hsi_y0), wavelengths_nm=wl, fwhm_nm=np.full(12, 20.0)
    )
    write_cube(tmp_path / "hsi.tif", hsi, hsi_meta)
    write_cube(tmp_path / "msi.tif", msi, msi_meta)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return str(tmp_path / "hsi.tif"), str(tmp_path / "msi.tif")


def _other_zone_corner() -> tuple[float, float]:
    """The MSI corner (UTM 31N) in UTM 32N, moved inwards by 40 m and rounded."""
    from rasterio.warp import transform

    xs, ys = transform("EPSG:32631", "EPSG:32632", [X0 + 40], [Y0 - 40])
    return round(xs[0]), round(ys[0])


CASES = {
    "fraction of a pixel": ("EPSG:32631", X0 + 34.0, Y0 - 47.0),  # 0.4 / 0.7 MSI pixels off the MSI edges
    "other UTM zone": ("EPSG:32632", *_other_zone_corner()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_align_writes_a_pair_that_fuse_takes_without_align(tmp_path, capsys, case):
    hsi, msi = _write_pair(tmp_path, *CASES[case])
    fast = ["--preset", "fast", "--config", tmp_path / "tiny.yaml", "--no-plots"]
    code, _, err = run(capsys, "fuse", "--hsi", hsi, "--msi", msi, "--out", tmp_path / "f0.tif", *fast)
    assert code == 2 and "or pass --align" in err and err.count("\n") == 1
    assert not (tmp_path / "f0.tif").exists()

    a_hsi, a_msi = tmp_path / "a_hsi.tif", tmp_path / "a_msi.tif"
    code, out, err = run(capsys, "align", "--hsi", hsi, "--msi", msi, "--out-hsi", a_hsi, "--out-msi", a_msi)
    assert code == 0, err
    record = json.loads(out)
    assert record["ratio"] == 3 and record["resampled"] == "hsi" and "masks" in record
    y, y_meta = read_cube(str(a_hsi))
    z, z_meta = read_cube(str(a_msi))
    assert match_grids(y_meta, y.shape[1:], z_meta, z.shape[1:]).ratio == 3  # the written pair nests
    assert z_meta.crs is not None and "32631" in z_meta.crs

    (tmp_path / "run1").mkdir()
    out1 = tmp_path / "run1" / "fused.tif"
    mask_nan = ["--mask-nan"] if np.isnan(y).any() or np.isnan(z).any() else []
    code, _, err = run(capsys, "fuse", "--hsi", a_hsi, "--msi", a_msi, "--out", out1, *fast, *mask_nan)
    assert code == 0, err

    (tmp_path / "run2").mkdir()
    out2 = tmp_path / "run2" / "fused.tif"
    code, _, err = run(capsys, "fuse", "--hsi", hsi, "--msi", msi, "--out", out2, "--align", *fast)
    assert code == 0, err
    run_json = json.loads((tmp_path / "run2" / "run.json").read_text())
    assert run_json["alignment"]["ratio"] == 3 and run_json["alignment"]["resampled"] == "hsi"
    assert run_json["masks"]["output"]["masked"] < 0.5
    fused, meta = read_cube(str(out2))
    assert fused.shape[0] == 12 and "32631" in meta.crs
    if case == "other UTM zone":
        assert run_json["alignment"]["reprojected_from"] is not None


def test_align_refuses_existing_outputs_and_pairs_far_apart(tmp_path, capsys):
    hsi, msi = _write_pair(tmp_path, "EPSG:32631", X0 + 90_000.0, Y0)
    code, _, err = run(
        capsys, "align", "--hsi", hsi, "--msi", msi, "--out-hsi", tmp_path / "a.tif", "--out-msi", tmp_path / "b.tif"
    )
    assert code == 2 and "do not overlap" in err and err.count("\n") == 1
    assert not (tmp_path / "a.tif").exists() and not (tmp_path / "b.tif").exists()
    code, _, err = run(capsys, "align", "--hsi", hsi, "--msi", msi, "--out-hsi", hsi, "--out-msi", tmp_path / "b.tif")
    assert code == 2 and "exists" in err
