"""Shared by the io tests: a 6-band grid (CRS, transform, wavelengths, FWHM), the cube and metadata
fixtures on it, small random ``(H, W, C)`` arrays and helpers for one-line errors, folder listings and
windowed reads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pfs2c2.io import CubeReader, RasterMeta, read_cube

CRS = "EPSG:32633"
TRANSFORM = (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)
WL = np.array([445.0, 480.5, 552.0, 610.0, 655.3, 700.0])
FWHM = np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0])


@pytest.fixture
def cube() -> np.ndarray:
    """A float32 ``(6, 7, 9)`` cube in [0, 1)."""
    return np.random.default_rng(3).random((6, 7, 9)).astype(np.float32)


@pytest.fixture
def meta() -> RasterMeta:
    """The grid and bands of :data:`CRS`, :data:`TRANSFORM`, :data:`WL`, :data:`FWHM`, nodata -9999."""
    return RasterMeta(crs=CRS, transform=TRANSFORM, wavelengths_nm=WL, fwhm_nm=FWHM, nodata=-9999.0)


def random_hwc(h: int = 4, w: int = 5, c: int = 3, seed: int = 0) -> np.ndarray:
    """A float32 ``(h, w, c)`` array in [0, 1) (the layout MATLAB, NumPy and HDF5 files store)."""
    return np.random.default_rng(seed).random((h, w, c)).astype(np.float32)


def to_chw(hwc: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` -> ``(C, H, W)`` (a view)."""
    return np.transpose(hwc, (2, 0, 1))


def one_line(exc: pytest.ExceptionInfo) -> str:
    """The message of a raised error, asserted to be one line."""
    msg = str(exc.value)
    assert "\n" not in msg, msg
    return msg


def listing(d: Path) -> list[str]:
    """The sorted names in folder ``d``."""
    return sorted(os.listdir(d))


def assert_windows_match(src: CubeReader, spec: object, windows: tuple) -> None:
    """Each window read from the open ``src`` equals :func:`read_cube` of ``spec`` with that window, and
    its metadata equals both read_cube's and ``src.window_meta``."""
    for window in windows:
        got, got_meta = src.read(window)
        want, want_meta = read_cube(spec, window=window)
        np.testing.assert_array_equal(got, want)
        assert got_meta == want_meta == src.window_meta(window)
