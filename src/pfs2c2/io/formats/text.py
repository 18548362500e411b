"""Text tables: 2-D matrices (PSF kernel, SRF matrix) as CSV / TSV / whitespace-separated text.

Reading accepts comma, semicolon, tab or space separated values, an optional header row, ``#`` comments
and an optional index column (see :func:`read_matrix_csv`). Writing (:func:`write_matrix_csv`) stores the
shortest representation that round-trips float64. :func:`split_line` and :func:`to_float` are the
tokenizer other text readers of the package (SRF tables) share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .._common import PathLike, check_exists
from ..atomic import atomic_write, check_overwrite

__all__ = ["TEXT_EXTENSIONS", "split_line", "to_float", "read_matrix_csv", "write_matrix_csv"]

#: Extensions read as text tables.
TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")

_INDEX_NAME_RE = re.compile(
    r"index|^wavelength|^wl(_|$)|^lambda|_nm$|\(nm\)$|_um$|"
    r"^(|#.*|idx|rows?|bands?|band[ _]?names?|names?|nm|um|µm|channels?)$",
    re.IGNORECASE,
)


def split_line(line: str) -> list[str]:
    """Split a text-table line on ',', ';', tab or whitespace (in that order of preference); strip quotes."""
    for sep in (",", ";", "\t"):
        if sep in line:
            return [t.strip().strip('"').strip() for t in line.split(sep)]
    return line.split()


def to_float(tok: str) -> float | None:
    """``float(tok)``, or None when the token is not a number."""
    try:
        return float(tok)
    except ValueError:
        return None


def _is_index_name(name: str) -> bool:
    return bool(_INDEX_NAME_RE.search(name.strip()))


def _rows(p: Path, text: str) -> tuple[list[str] | None, list[list[str]]]:
    """Header (or None) and the data rows of a table, all rows as long as the header / first row."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        toks = split_line(line)
        if header is None and not rows and any(to_float(t) is None for t in toks[1:] or toks):
            header = toks
            continue
        expected = len(header) if header is not None else (len(rows[0]) if rows else len(toks))
        if len(toks) != expected:
            raise InputError(
                f"{p}: line {lineno} has {len(toks)} columns, expected {expected}; "
                f"make every row as long as the {'header' if header is not None else 'first row'}"
            )
        rows.append(toks)
    if not rows:
        raise InputError(f"{p}: no numeric data rows; expected a table of numbers")
    return header, rows


def read_matrix_csv(
    path: PathLike, *, index_col: bool | None = None
) -> tuple[np.ndarray, list[str] | None, tuple[str, list[Any]] | None]:
    """Read a text table written by :func:`write_matrix_csv` (or by hand).

    Args:
        path: ``.csv`` / ``.tsv`` / ``.txt`` file.
        index_col: whether the first column is a row index to drop; ``None`` (default) drops it when it
            holds text or when its header is index-like (see :func:`pfs2c2.io.read_array`).

    Returns:
        ``(matrix float64 (rows, cols), column names or None, (index name, index values) or None)``.
        Index values are floats when numeric, strings otherwise.

    Raises:
        ValueError: Not a text table, ragged rows, non-numeric cells, no data (one-line message).
    """
    p = Path(path)
    check_exists(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"cannot read {p}: not a text table (binary content)") from None
    header, rows = _rows(p, text)
    first = [r[0] for r in rows]
    first_numeric = all(to_float(t) is not None for t in first)
    if index_col is None:
        index_col = (not first_numeric) or (header is not None and _is_index_name(header[0]) and len(rows[0]) > 1)
    index: tuple[str, list[Any]] | None = None
    if index_col:
        name = header[0] if header is not None else "index"
        values: list[Any] = [float(t) for t in first] if first_numeric else list(first)
        index = (name, values)
        rows = [r[1:] for r in rows]
        if header is not None:
            header = header[1:]
    out = np.empty((len(rows), len(rows[0])), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, t in enumerate(r):
            v = to_float(t)
            if v is None:
                raise InputError(
                    f"{p}: non-numeric value {t!r} in data row {i + 1}, column {j + 1}; "
                    f"only the header row and the first (index) column may hold text"
                )
            out[i, j] = v
    if out.shape[1] == 0:
        raise InputError(f"{p}: no data columns after the index column")
    return out, header, index


def _fmt_cell(v: Any) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)):
        return repr(float(v))
    return str(v)


def write_matrix_csv(
    path: PathLike,
    matrix: Any,
    header: Sequence[str] | None = None,
    index: tuple[str, Sequence[Any]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a 2-D matrix as CSV (``psf.csv``, ``srf.csv``), atomically.

    Layout: an optional header row (``index name`` first when ``index`` is given, then ``header`` or
    ``col1..colN``), then one row per matrix row, preceded by its index value. Numbers are written with
    the shortest representation that round-trips float64. :func:`~pfs2c2.io.read_array` and
    :func:`read_matrix_csv` read it back (an index column whose name looks like ``wavelength*``,
    ``band*``, ``index``, ``row`` or ``name`` is recognised as such).

    Args:
        path: Output ``.csv`` file.
        matrix: 2-D array ``(rows, cols)``.
        header: Column names (``cols`` entries), e.g. MSI band names for an SRF.
        index: ``(name, values)`` for a first column, e.g. ``("wavelength_nm", hsi_wavelengths)``.
        overwrite: Replace an existing file.

    Returns:
        The path written.

    Raises:
        ValueError: Not a 2-D finite matrix, header / index of the wrong length, names with commas.
        FileExistsError: The file exists and ``overwrite`` is false.
    """
    out = Path(path)
    m = np.asarray(matrix.detach().cpu() if hasattr(matrix, "detach") else matrix)
    if m.ndim != 2 or m.dtype.kind not in "iuf" or m.size == 0:
        raise InputError(
            f"cannot write {out}: expected a non-empty 2-D numeric matrix, got shape {m.shape} ({m.dtype})"
        )
    m = m.astype(np.float64)
    rows, cols = m.shape
    names: list[str] | None = None
    if header is not None:
        names = [str(h) for h in header]
        if len(names) != cols:
            raise InputError(f"cannot write {out}: {len(names)} column names for a matrix with {cols} columns")
    idx_vals: list[str] | None = None
    if index is not None:
        idx_name, values = index
        vals = list(np.asarray(values).reshape(-1)) if not isinstance(values, list) else values
        if len(vals) != rows:
            raise InputError(f"cannot write {out}: {len(vals)} index values for a matrix with {rows} rows")
        idx_vals = [_fmt_cell(v) for v in vals]
        names = [str(idx_name)] + (names if names is not None else [f"col{j + 1}" for j in range(cols)])
    for n in (names or []) + (idx_vals or []):
        if any(c in n for c in ',\n\r"'):
            raise InputError(f"cannot write {out}: name {n!r} contains a comma, quote or newline; rename it")
    lines = []
    if names is not None:
        lines.append(",".join(names))
    for i in range(rows):
        cells = [repr(float(v)) for v in m[i]]
        if idx_vals is not None:
            cells.insert(0, idx_vals[i])
        lines.append(",".join(cells))
    text = "\n".join(lines) + "\n"

    check_overwrite(out, [out], overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))
