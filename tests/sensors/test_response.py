"""Tests for pfs2c2.sensors.response: pyrsr, Gaussian and CSV responses, sensor names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from pfs2c2 import sensors as S
from pfs2c2.sensors import (
    BAND_CENTRES,
    SensorResponse,
    gaussian_response,
    load_response_csv,
    load_srf,
    select_bands,
    sensor_response,
)

from .conftest import ROSIS_102, SRF_DIR, needs_data


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
    np.testing.assert_allclose(s2.weighted_centres_nm(), [c for c, _ in BAND_CENTRES["sentinel2a"].values()], atol=1.0)
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


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("400,0.1\n410,0.2\n", "no header row.*expected a CSV", id="no_header"),
        pytest.param("wavelength_nm,x,y\n400,0.1,0.2\n410,0.2\n", "line 3 has 2 columns", id="ragged"),
        pytest.param("wavelength_nm,x\n400,0.1\n410,high\n", "non-numeric", id="text"),
        pytest.param("wavelength_nm,x\n410,0.1\n400,0.2\n", "strictly increasing", id="unsorted"),
    ],
)
def test_load_response_csv_malformed(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=words):
        load_response_csv(path)


def test_load_response_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_response_csv(tmp_path / "missing.csv")
    micro = tmp_path / "e.csv"
    micro.write_text("wavelength_um,x\n0.40,0.1\n0.41,1.0\n")
    np.testing.assert_allclose(load_response_csv(micro).wavelengths_nm, [400.0, 410.0])


def test_sensor_response_is_frozen_and_validated() -> None:
    r = sensor_response("ikonos")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.responses[0, 0] = 2.0  # read-only arrays
    with pytest.raises(ValueError, match="band names"):
        SensorResponse("x", ("a",), np.array([1.0, 2.0]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="increasing"):
        SensorResponse("x", ("a",), np.array([2.0, 1.0]), np.ones((2, 1)))
