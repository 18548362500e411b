"""Tests for pfs2c2.sensors.wavelengths: HSI band centres from a range or a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pfs2c2.sensors import parse_wavelengths

from ..conftest import DATA
from .conftest import needs_data


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
