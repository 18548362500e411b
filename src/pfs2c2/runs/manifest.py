"""Batch manifests: a CSV with one scene pair per row (``pfs2c2 batch``)."""

from __future__ import annotations

import csv
from pathlib import Path

from .._checks import check_manifest_row, check_manifest_scenes

MANIFEST_COLUMNS = ("hsi", "msi", "out", "ratio", "srf", "srf_support", "bands", "wavelengths", "psf", "reference")
"""Columns a manifest may have: the first three are required, the others are the options of ``pfs2c2 fuse``."""

OPERATOR_COLUMNS = ("srf", "srf_support", "bands", "wavelengths", "psf")
"""Columns that are :func:`pfs2c2.runs.resolve_operators` keywords of the same name."""


def read_manifest(path: str | Path) -> list[dict[str, str]]:
    """Rows of a batch manifest (CSV with a header; ``#`` lines are comments).

    Column names are case-insensitive; values are stripped. Paths are relative to the manifest's folder
    (``srf``, ``srf_support``, ``psf``, ``wavelengths`` only when such a file exists: they may also name a
    sensor or a range). Each row also gets ``line``: its number, the header being line 1 (comment and blank lines not counted).

    Raises:
        FileNotFoundError: no such manifest.
        ValueError: missing or unknown columns, a row without hsi/msi/out, no rows, two rows with one output.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} not found")
    text = path.read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    missing = [k for k in ("hsi", "msi", "out") if k not in fields]
    if missing:
        raise ValueError(
            f"manifest {path} needs the columns hsi, msi, out (missing: {', '.join(missing)}); "
            f"optional: {', '.join(MANIFEST_COLUMNS[3:])}"
        )
    unknown = [f for f in fields if f not in MANIFEST_COLUMNS]
    if unknown:
        raise ValueError(
            f"manifest {path} has unknown column(s) {', '.join(unknown)}; known: {', '.join(MANIFEST_COLUMNS)}"
        )
    base = path.resolve().parent
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        check_manifest_row(path, number, row)
        for key in ("hsi", "msi", "out", "reference"):
            if row.get(key) and not Path(row[key]).is_absolute():
                row[key] = str(base / row[key])
        for key in ("srf", "srf_support", "psf", "wavelengths"):
            if row.get(key) and not Path(row[key]).is_absolute() and (base / row[key]).exists():
                row[key] = str(base / row[key])
        row["line"] = str(number)
        rows.append(row)
    check_manifest_scenes(path, [str(Path(r["out"]).resolve()) for r in rows])
    return rows
