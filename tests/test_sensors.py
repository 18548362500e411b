"""Tests for pfs2c2.sensors: SRF sources, band selection, the (C, c) matrix and the CLI entry points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pfs2c2 import sensors as S
from pfs2c2.sensors import (
    BAND_CENTRES,
    SensorResponse,
    band_support,
    gaussian_response,
    load_response_csv,
    load_srf,
    parse_wavelengths,
    select_bands,
    sensor_response,
    srf_matrix,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SRF_DIR = DATA / "srf" / "sensors"
needs_data = pytest.mark.skipif(not SRF_DIR.is_dir(), reason=f"shared data not found at {DATA}")

ROSIS_102 = np.linspace(430.0, 860.0, 102)  # GUIDE section 6: 102 bands evenly over 430-860 nm


def _weighted_centres(srf: np.ndarray, wl: np.ndarray) -> np.ndarray:
    return (wl[:, None] * srf).sum(0) / srf.sum(0)


def _half_max(wl: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """Midpoint and distance of the 50 % points (linear interpolation), like the published tables."""
    r = r / r.max()
    i = np.flatnonzero(r >= 0.5)
    a, b = i[0], i[-1]
    lo = np.interp(0.5, [r[a - 1], r[a]], [wl[a - 1], wl[a]])
    hi = np.interp(0.5, [r[b + 1], r[b]], [wl[b + 1], wl[b]])
    return (lo + hi) / 2, hi - lo


# ------------------------------------------------------------------------------------------------
# IKONOS on the ROSIS grid (the Pavia protocol)
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# pyrsr
# ------------------------------------------------------------------------------------------------
@needs_data
def test_pyrsr_sentinel2a_matches_esa_and_csv() -> None:
    s2 = sensor_response("Sentinel-2A")
    assert s2.name == "sentinel2a"
    assert s2.band_names == tuple(BAND_CENTRES["sentinel2a"])  # B1..B12 incl. B8A, 13 bands
    assert len(s2.band_names) == 13
    assert np.allclose(s2.responses.max(0), 1.0)
    b2 = s2.band_names.index("B2")
    c_pyrsr = s2.weighted_centres_nm()[b2]
    assert abs(c_pyrsr - 492.4) < 3.0
    csv = load_response_csv(SRF_DIR / "S2A_MSI_rsr.csv")
    c_csv = csv.weighted_centres_nm()[csv.band_names.index("B2")]
    assert abs(c_pyrsr - c_csv) < 1.0
    # every band agrees with the ESA table and with the acolite CSV
    np.testing.assert_allclose(
        s2.weighted_centres_nm(), [c for c, _ in BAND_CENTRES["sentinel2a"].values()], atol=1.0
    )
    np.testing.assert_allclose(s2.weighted_centres_nm(), csv.weighted_centres_nm(), atol=2.0)
    assert select_bands(s2, None).band_names == s2.band_names  # no pan: all 13 kept


@needs_data
@pytest.mark.parametrize("name,csv", [("landsat8", "L8_OLI_rsr.csv"), ("l9", "L9_OLI_rsr.csv")])
def test_pyrsr_landsat_in_nm_and_band_names(name: str, csv: str) -> None:
    ls = sensor_response(name)  # pyrsr stores Landsat in micrometres: must come back in nm
    assert 400 < ls.wavelengths_nm[0] < 450 and 2300 < ls.wavelengths_nm[-1] < 2400
    table = load_response_csv(SRF_DIR / csv)
    assert ls.band_names == table.band_names  # B1_coastal .. B9_cirrus, like the CSV
    np.testing.assert_allclose(ls.weighted_centres_nm(), table.weighted_centres_nm(), atol=1.5)
    assert "B8_pan" not in select_bands(ls, None).band_names
    sub = select_bands(ls, ["B4", "nir", "B2_blue"])  # short names resolve to the full ones
    assert sub.band_names == ("B4_red", "B5_nir", "B2_blue")


# ------------------------------------------------------------------------------------------------
# Published band table and Gaussian responses
# ------------------------------------------------------------------------------------------------
def test_band_table_contents() -> None:
    assert set(BAND_CENTRES) >= {
        "sentinel2a", "sentinel2b", "landsat8", "landsat9",
        "worldview2", "worldview3", "ikonos", "quickbird",
    }
    assert len(BAND_CENTRES["sentinel2a"]) == 13 and "B8A" in BAND_CENTRES["sentinel2b"]
    assert len(BAND_CENTRES["landsat8"]) == 9 and len(BAND_CENTRES["landsat9"]) == 9
    assert len(BAND_CENTRES["worldview2"]) == 9  # 8 MS + pan
    assert len(BAND_CENTRES["worldview3"]) == 17  # 8 VNIR + 8 SWIR + pan
    for s in ("ikonos", "quickbird"):
        assert list(BAND_CENTRES[s]) == ["blue", "green", "red", "nir", "pan"]
    for bands in BAND_CENTRES.values():
        for centre, fwhm in bands.values():
            assert 400 < centre < 2400 and 5 < fwhm < 450


@needs_data
@pytest.mark.parametrize(
    "sensor,csv",
    [
        ("sentinel2a", "S2A_MSI_rsr.csv"),
        ("sentinel2b", "S2B_MSI_rsr.csv"),
        ("landsat8", "L8_OLI_rsr.csv"),
        ("landsat9", "L9_OLI_rsr.csv"),
        ("worldview2", "WorldView2_rsr.csv"),
        ("worldview3", "WorldView3_rsr.csv"),
        ("ikonos", "IKONOS2_rsr.csv"),
        ("quickbird", "QuickBird2_rsr.csv"),
    ],
)
def test_band_table_agrees_with_measured_responses(sensor: str, csv: str) -> None:
    """The typed-in table against the manufacturers' response tables (50 % points)."""
    table = load_response_csv(SRF_DIR / csv)
    for band, (centre, fwhm) in BAND_CENTRES[sensor].items():
        j = table.band_names.index(band)
        mid, width = _half_max(table.wavelengths_nm, table.responses[:, j])
        assert abs(centre - mid) <= max(3.0, 0.1 * fwhm), (band, centre, mid)
        assert abs(fwhm - width) <= max(4.0, 0.1 * fwhm), (band, fwhm, width)


def test_gaussian_worldview2_peaks_at_table_centres() -> None:
    wv2 = sensor_response("WV-2")  # no pyrsr data: Gaussian from BAND_CENTRES
    assert wv2.name == "worldview2"
    table = BAND_CENTRES["worldview2"]
    assert wv2.band_names == tuple(table)
    peaks = wv2.wavelengths_nm[np.argmax(wv2.responses, axis=0)]
    np.testing.assert_allclose(peaks, [c for c, _ in table.values()])
    np.testing.assert_allclose(wv2.responses.max(0), 1.0)
    np.testing.assert_allclose(wv2.weighted_centres_nm(), [c for c, _ in table.values()], atol=0.5)


def test_gaussian_response_shape_and_fwhm() -> None:
    wl = np.arange(400.0, 701.0)
    g = gaussian_response([500.0, 600.0], [20.0, 40.0], wl, band_names=["a", "b"])
    assert g.responses.shape == (301, 2) and g.band_names == ("a", "b")
    assert g.responses[wl == 510.0, 0][0] == pytest.approx(0.5)  # half maximum at centre + FWHM/2
    assert g.responses[wl == 580.0, 1][0] == pytest.approx(0.5)
    assert gaussian_response([500.0], [10.0], wl).band_names == ("B1",)
    with pytest.raises(ValueError, match="FWHM"):
        gaussian_response([500.0, 600.0], [10.0], wl)
    with pytest.raises(ValueError, match="> 0"):
        gaussian_response([500.0], [0.0], wl)


def test_sensor_names_and_aliases() -> None:
    for alias in ("sentinel2", "S2", "sentinel-2a", "SENTINEL_2A"):
        assert sensor_response(alias).name == "sentinel2a"
    assert sensor_response("wv3").name == "worldview3"
    assert sensor_response("QuickBird").name == "quickbird"
    assert sensor_response("IKONOS-2").name == "ikonos"
    assert "sentinel2a" in S.available_sensors()


def test_unknown_sensor_lists_names() -> None:
    with pytest.raises(ValueError, match="unknown sensor") as exc:
        sensor_response("landsat7x")
    for name in BAND_CENTRES:
        assert name in str(exc.value)
    with pytest.raises(ValueError, match="sentinel2a"):
        load_srf("not-a-sensor", ROSIS_102)


# ------------------------------------------------------------------------------------------------
# srf_matrix / select_bands errors
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# load_response_csv / load_srf / parse_wavelengths
# ------------------------------------------------------------------------------------------------
def test_load_response_csv_malformed(tmp_path: Path) -> None:
    no_header = tmp_path / "a.csv"
    no_header.write_text("400,0.1\n410,0.2\n")
    with pytest.raises(ValueError, match="no header row.*expected a CSV"):
        load_response_csv(no_header)
    ragged = tmp_path / "b.csv"
    ragged.write_text("wavelength_nm,x,y\n400,0.1,0.2\n410,0.2\n")
    with pytest.raises(ValueError, match="line 3 has 2 columns"):
        load_response_csv(ragged)
    text = tmp_path / "c.csv"
    text.write_text("wavelength_nm,x\n400,0.1\n410,high\n")
    with pytest.raises(ValueError, match="non-numeric"):
        load_response_csv(text)
    unsorted = tmp_path / "d.csv"
    unsorted.write_text("wavelength_nm,x\n410,0.1\n400,0.2\n")
    with pytest.raises(ValueError, match="strictly increasing"):
        load_response_csv(unsorted)
    with pytest.raises(FileNotFoundError):
        load_response_csv(tmp_path / "missing.csv")
    micro = tmp_path / "e.csv"
    micro.write_text("wavelength_um,x\n0.40,0.1\n0.41,1.0\n")
    np.testing.assert_allclose(load_response_csv(micro).wavelengths_nm, [400.0, 410.0])


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


def test_parse_wavelengths(tmp_path: Path) -> None:
    wl = parse_wavelengths("430:860", 102)
    np.testing.assert_allclose(wl, np.linspace(430, 860, 102))
    assert wl[0] == 430 and wl[-1] == 860
    one_col = tmp_path / "wl.txt"
    one_col.write_text("wavelength\n450\n550\n650\n")
    np.testing.assert_allclose(parse_wavelengths(str(one_col), 3), [450, 550, 650])
    two_col = tmp_path / "wl.csv"
    two_col.write_text("band,wavelength_nm\n1,450.5\n2,550.5\n")
    np.testing.assert_allclose(parse_wavelengths(two_col, 2), [450.5, 550.5])
    with pytest.raises(ValueError, match=r"2 wavelengths.*5 bands"):
        parse_wavelengths(two_col, 5)
    with pytest.raises(ValueError, match="START:STOP"):
        parse_wavelengths("430:abc", 3)
    with pytest.raises(FileNotFoundError):
        parse_wavelengths(tmp_path / "nope.csv", 3)


@needs_data
def test_parse_wavelengths_shared_file() -> None:
    wl = parse_wavelengths(DATA / "wavelengths" / "ksc_aviris_176.csv", 176)
    assert wl.shape == (176,) and wl[0] == pytest.approx(439.25)


def test_sensor_response_is_frozen_and_validated() -> None:
    r = sensor_response("ikonos")
    with pytest.raises(Exception):
        r.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.responses[0, 0] = 2.0  # read-only arrays
    with pytest.raises(ValueError, match="band names"):
        SensorResponse("x", ("a",), np.array([1.0, 2.0]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="increasing"):
        SensorResponse("x", ("a",), np.array([2.0, 1.0]), np.ones((2, 1)))
