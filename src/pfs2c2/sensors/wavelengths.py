"""HSI band centres: :func:`parse_wavelengths` reads them from a range or a file (the checks are in ``_checks``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .._checks import (
    check_file_found,
    check_increasing_wavelengths,
    check_n_bands,
    check_wavelength_count,
    check_wavelength_range,
)
from ..errors import InputError
from .tables import read_table

__all__ = ["parse_wavelengths"]


def parse_wavelengths(spec: str | os.PathLike[str], n_bands: int) -> np.ndarray:
    """HSI band centres from a ``"start:stop"`` range or a file.

    Args:
        spec: ``"start:stop"`` in nm -> ``n_bands`` evenly spaced values from start to stop inclusive
            (``np.linspace``); or a path to a CSV/text file with one wavelength per row (the last
            numeric column is used when there are several, header lines are skipped), or a ``.npy``
            file with a 1-D array.
        n_bands: Number of HSI bands expected.

    Returns:
        float64 array of shape ``(n_bands,)`` in nm.

    Raises:
        FileNotFoundError: If ``spec`` is not a range and no such file exists.
        ValueError: If the range is malformed or the number of wavelengths differs from ``n_bands``
            (the message gives both numbers).
    """
    check_n_bands(n_bands)
    n = int(n_bands)
    text = os.fspath(spec).strip()
    m = re.fullmatch(r"\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*:\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*", text)
    if m:
        try:
            start, stop = float(m.group(1)), float(m.group(2))
        except ValueError:
            raise InputError(
                f"cannot read wavelength range {text!r}: expected 'START:STOP' in nm, e.g. 430:860"
            ) from None
        check_wavelength_range(start, stop, n, text)
        return np.linspace(start, stop, n)
    path = Path(text)
    if not path.is_file():
        if ":" in text and not os.path.splitdrive(text)[0]:
            raise InputError(
                f"cannot read wavelengths {text!r}: expected 'START:STOP' in nm (e.g. 430:860) or a "
                "path to a file with one wavelength per row"
            )
        check_file_found(path, f"wavelength file not found: {path} (or give a range 'START:STOP' in nm, e.g. 430:860)")
    if path.suffix.lower() == ".npy":
        try:
            values = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64).reshape(-1)
        except (ValueError, OSError, EOFError, TypeError) as exc:
            raise InputError(f"cannot read wavelengths from {path}: {' '.join(str(exc).split())}") from None
    else:
        try:
            _, data = read_table(path)
        except ValueError as exc:
            raise InputError(f"cannot read wavelengths: {exc}; expected one wavelength per row") from None
        values = data[:, -1]
    check_wavelength_count(values, n, path)
    check_increasing_wavelengths(values, f"{path}: wavelengths")
    return values.astype(np.float64)
