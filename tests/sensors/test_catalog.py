"""Tests for pfs2c2.sensors.catalog: the published band table against measured responses."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.sensors import BAND_CENTRES, load_response_csv

from .conftest import SRF_DIR, needs_data


def _half_max(wl: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """Midpoint and distance of the 50 % points (linear interpolation), like the published tables."""
    r = r / r.max()
    i = np.flatnonzero(r >= 0.5)
    a, b = i[0], i[-1]
    lo = np.interp(0.5, [r[a - 1], r[a]], [wl[a - 1], wl[a]])
    hi = np.interp(0.5, [r[b + 1], r[b]], [wl[b + 1], wl[b]])
    return (lo + hi) / 2, hi - lo


def test_band_table_contents() -> None:
    assert set(BAND_CENTRES) >= {
        "sentinel2a",
        "sentinel2b",
        "landsat8",
        "landsat9",
        "worldview2",
        "worldview3",
        "ikonos",
        "quickbird",
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
