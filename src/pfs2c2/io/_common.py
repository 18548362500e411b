"""Helpers shared by the readers and writers: path specs, one-line errors, lazy rasterio import, metadata
value parsing (ENVI lists, HDF5 / MATLAB attribute strings)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

#: Container formats in which ``FILE:VAR`` selects a variable / dataset.
CONTAINER_EXTENSIONS = (".mat", ".h5", ".hdf5", ".he5", ".nc")
_SPEC_RE = re.compile(r"^(?P<file>.+?\.(?:mat|h5|hdf5|he5|nc)):(?P<var>[^\\]*)$", re.IGNORECASE)

PathLike = str | os.PathLike


def one_line(text: object, limit: int = 300) -> str:
    """Collapse an exception text to one short line."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def short_reason(exc: BaseException) -> str:
    """A short one-line reason for an exception raised by a third-party reader."""
    msg = one_line(exc, 200)
    if not msg:
        msg = type(exc).__name__
    return msg


def split_spec(spec: PathLike) -> tuple[Path, str | None]:
    """Split ``FILE.mat:VAR`` / ``FILE.h5:/group/dataset`` into ``(Path, var or None)``.

    A string that names an existing file is never split (so Windows drive letters and file names with
    colons keep working).
    """
    s = os.fspath(spec) if isinstance(spec, os.PathLike) else str(spec)
    if os.path.exists(s):
        return Path(s), None
    m = _SPEC_RE.match(s)
    if m:
        var = m.group("var").strip()
        return Path(m.group("file")), (var or None)
    return Path(s), None


def check_exists(path: Path) -> None:
    """Refuse a missing path (``FileNotFoundError``) or a directory (:class:`InputError`)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file")


def import_rasterio(path: Path, what: str) -> Any:
    """Import rasterio lazily with a one-line message when it is missing."""
    try:
        import rasterio
    except ImportError:  # pragma: no cover - rasterio is installed in the test environment
        raise InputError(f"{path}: {what} needs rasterio; install it with 'pip install rasterio'") from None
    return rasterio


def parse_envi_list(text: str | None) -> list[str] | None:
    """Parse an ENVI header list ``{a, b, c}`` into its items (stripped)."""
    if text is None:
        return None
    s = str(text).strip()
    if s.startswith("{"):
        s = s[1:]
    if s.endswith("}"):
        s = s[:-1]
    items = [t.strip() for t in s.split(",")]
    items = [t for t in items if t]
    return items or None


def parse_float_list(text: Any) -> np.ndarray | None:
    """Floats from an ENVI list ``{a, b}``, a numeric array / list or a number; ``None`` if not numeric."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(text, str):
        items = parse_envi_list(text)
        if items is None:
            return None
        if len(items) == 1 and " " in items[0]:
            items = items[0].split()
        try:
            return np.asarray([float(t) for t in items], dtype=np.float64)
        except ValueError:
            return None
    try:
        arr = np.asarray(text, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    return arr if arr.size else None


def as_str(value: Any) -> str | None:
    """Decode an HDF5 / MATLAB attribute value to ``str`` (``None`` if empty)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "SUO" and value.size == 1:
            return as_str(value.reshape(-1)[0])
        if value.dtype.kind in "SUO":
            return ",".join(filter(None, (as_str(v) for v in value.reshape(-1)))) or None
        return None
    s = str(value).strip()
    return s or None
