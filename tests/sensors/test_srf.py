"""Tests for pfs2c2.sensors.srf: band selection, the (C, c) matrix, its support and load_srf."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pfs2c2.sensors import (
    BAND_CENTRES,
    band_support,
    gaussian_response,
    load_response_csv,
    load_srf,
    select_bands,
    sensor_response,
    srf_matrix,
)

from ..conftest import DATA
from .conftest import ROSIS_102, SRF_DIR, needs_data


def _weighted_centres(srf: np.ndarray, wl: np.ndarray) -> np.ndarray:
    return (wl[:, None] * srf).sum(0) / srf.sum(0)


@needs_data
def test_ikonos_csv_on_rosis_grid() -> None:
    resp = load_response_csv(SRF_DIR / "IKONOS2_rsr.csv")
    assert resp.band_names == ("pan", "blue", "green", "red", "nir")
    resp = select_bands(resp, ["blue", "green", "red", "nir"])
    srf = srf_matrix(resp, ROSIS_102)
    assert srf.shape == (102, 4)
    assert srf.dtype == np.float64
    assert np.all(srf >= 0)
    np.testing.assert_allclose(srf.sum(0), 1.0, atol=1e-12)
    support = band_support(srf)
    for j in range(4):
        idx = np.flatnonzero(support[:, j])
        assert idx.size > 3
        assert np.array_equal(idx, np.arange(idx[0], idx[-1] + 1)), f"band {j} support not contiguous"
        # support = the nonzero entries (threshold already applied)
        assert np.array_equal(support[:, j], srf[:, j] > 0)
    centres = _weighted_centres(srf, ROSIS_102)
    published = np.array([480.0, 550.0, 665.0, 805.0])
    assert np.all(np.abs(centres - published) < 15.0), centres
    table = np.array([BAND_CENTRES["ikonos"][b][0] for b in ("blue", "green", "red", "nir")])
    assert np.all(np.abs(centres - table) < 15.0)


@needs_data
def test_default_selection_drops_pan_and_load_srf_csv_table() -> None:
    path = SRF_DIR / "IKONOS2_rsr.csv"
    assert select_bands(load_response_csv(path), None).band_names == ("blue", "green", "red", "nir")
    via_load = load_srf(path, ROSIS_102)  # default bands: pan dropped
    direct = srf_matrix(select_bands(load_response_csv(path), None), ROSIS_102)
    np.testing.assert_array_equal(via_load, direct)
    with pytest.raises(ValueError, match="wavelengths"):
        load_srf(path)  # a response table needs the HSI grid


def test_srf_matrix_raises_for_band_outside_hsi_range() -> None:
    s2 = sensor_response("s2")
    with pytest.raises(ValueError) as exc:
        srf_matrix(s2, ROSIS_102)
    msg = str(exc.value)
    assert "B12" in msg and "B11" in msg and "430-860 nm" in msg and "bands=" in msg
    # the suggested selection works
    srf = srf_matrix(select_bands(s2, ["B2", "B3", "B4", "B5", "B6", "B7", "B8"]), ROSIS_102)
    assert srf.shape == (102, 7)
    np.testing.assert_allclose(srf.sum(0), 1.0)


def test_srf_matrix_options_and_warning() -> None:
    wl = np.arange(400.0, 701.0)
    g = gaussian_response([500.0, 600.0], [20.0, 40.0], wl)
    hsi = np.arange(400.0, 701.0, 10.0)
    raw = srf_matrix(g, hsi, normalise=False)
    assert raw.max() == pytest.approx(1.0)  # sampled on the peaks, not normalised
    thr = srf_matrix(g, hsi, support_threshold=0.5, normalise=False)
    assert np.all((thr == 0) | (thr >= 0.5))
    with pytest.raises(ValueError, match="micrometres"):
        srf_matrix(g, hsi / 1000.0)
    with pytest.raises(ValueError, match="support_threshold"):
        srf_matrix(g, hsi, support_threshold=1.5)
    with pytest.warns(UserWarning, match="less than half"):
        srf_matrix(select_bands(g, ["B2"]), np.arange(600.0, 701.0, 10.0))  # B2 half cut off


def test_select_bands_errors() -> None:
    resp = sensor_response("ikonos")
    with pytest.raises(ValueError, match="available bands") as exc:
        select_bands(resp, ["blue", "swir"])
    assert "nir" in str(exc.value)
    with pytest.raises(ValueError, match="twice"):
        select_bands(resp, ["red", "red"])
    assert select_bands(resp, ["NIR", "Red"]).band_names == ("nir", "red")


def test_band_support() -> None:
    srf = np.array([[0.0, 1.0], [0.04, 0.5], [1.0, 0.06], [0.5, 0.0]])
    expected = np.array([[False, True], [False, True], [True, True], [True, False]])
    np.testing.assert_array_equal(band_support(srf, 0.05), expected)


@needs_data
def test_load_srf_hsi_grid_matrices() -> None:
    grid = DATA / "srf" / "hsi_grid"
    path = grid / "ikonos_on_rosis_pavia103_103x4.csv"
    srf = load_srf(path)
    assert srf.shape == (103, 4) and srf.dtype == np.float64
    expected = np.loadtxt(path, delimiter=",", skiprows=1)[:, 1:]
    np.testing.assert_array_equal(srf, expected)  # kept as given, not renormalised
    assert load_srf(path, hsi_wavelengths_nm=np.linspace(430, 860, 103)).shape == (103, 4)
    with pytest.raises(ValueError, match="103 rows"):
        load_srf(path, hsi_wavelengths_nm=ROSIS_102)
    assert load_srf(path, bands=["nir", "red"]).shape == (103, 2)
    assert load_srf(grid / "houston18_46bands_to_wv2_46x8.csv").shape == (46, 8)
    assert load_srf(grid / "tiangong1_54bands_to_wv2_54x8.csv").shape == (54, 8)
    # The Nikon file has a wavelength column: it is treated as a response table.
    nikon = load_srf(grid / "nikon_d700_cave31_31x3.csv", np.arange(400.0, 701.0, 10.0))
    assert nikon.shape == (31, 3)
    np.testing.assert_allclose(nikon.sum(0), 1.0)


def test_load_srf_arrays_and_files(tmp_path: Path) -> None:
    m = np.array([[0.2, 0.0], [0.8, 0.3], [0.0, 0.7]], dtype=np.float32)
    out = load_srf(m)
    assert out.dtype == np.float64 and np.array_equal(out, m.astype(np.float64))
    with pytest.raises(ValueError, match="negative"):
        load_srf(-m)
    with pytest.raises(ValueError, match="all zero"):
        load_srf(np.array([[1.0, 0.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="NaN"):
        load_srf(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        load_srf(np.ones(3))
    npy = tmp_path / "r.npy"
    np.save(npy, m)
    np.testing.assert_array_equal(load_srf(npy), out)
    np.testing.assert_array_equal(load_srf(str(npy)), out)
    plain = tmp_path / "r.csv"  # headerless matrix
    np.savetxt(plain, m, delimiter=",")
    np.testing.assert_allclose(load_srf(plain), out)
    with pytest.raises(FileNotFoundError):
        load_srf(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="wavelengths"):
        load_srf("sentinel2a")
    srf = load_srf("landsat8", ROSIS_102, bands=["blue", "green", "red"])
    assert srf.shape == (102, 3)
