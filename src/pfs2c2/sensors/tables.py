"""A reader for the small numeric text tables of spectral responses and wavelengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import split_line, to_float

__all__ = ["read_table"]


def read_table(path: Path) -> tuple[list[str] | None, np.ndarray]:
    """Read a small numeric text table with an optional single header row.

    Blank lines and lines starting with ``#`` are skipped.

    Returns:
        ``(header or None, values)`` with values of shape ``(rows, cols)`` float64.

    Raises:
        ValueError: On ragged rows, non-numeric cells after the header, or no data rows.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a text table ({exc})") from None
    header: list[str] | None = None
    rows: list[list[float]] = []
    ncols: int | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        toks = split_line(line)
        vals = [to_float(t) for t in toks]
        if any(v is None for v in vals):
            if header is None and not rows:
                header = toks
                ncols = len(toks)
                continue
            bad = next(t for t, v in zip(toks, vals) if v is None)
            raise InputError(f"{path}: line {lineno}: non-numeric value {bad!r}")
        if ncols is None:
            ncols = len(toks)
        if len(toks) != ncols:
            raise InputError(
                f"{path}: line {lineno} has {len(toks)} columns, expected {ncols} (like the "
                f"{'header' if header is not None else 'first row'})"
            )
        rows.append([float(v) for v in vals])  # type: ignore[arg-type]
    if not rows:
        raise InputError(f"{path}: no numeric data rows")
    return header, np.asarray(rows, dtype=np.float64)
