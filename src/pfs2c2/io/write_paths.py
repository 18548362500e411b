"""Where a cube write puts its files: final and temporary names, the resume journal's name and the
digest of the metadata it records, and the small file-system steps around them (used by
:mod:`pfs2c2.io.writers`)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import as_cube
from ..errors import InputError
from .atomic import remove_quietly, temp_name
from .formats import WRITE_FORMATS, WriteFormat
from .meta import RasterMeta


def _write_kind(ext: str) -> str | None:
    """The key of :data:`~pfs2c2.io.formats.WRITE_FORMATS` for an extension, or ``None``."""
    for kind, fmt in WRITE_FORMATS.items():
        if ext in fmt.extensions:
            return kind
    return None


def _final_paths(out: Path, fmt: WriteFormat) -> list[Path]:
    """The file(s) a write to ``out`` produces: ``[data, data.hdr]`` for ENVI (``OUT.img`` for ``OUT.hdr``)."""
    if fmt.paired_header:
        data = out.with_suffix(".img") if out.suffix.lower() == ".hdr" else out
        return [data, data.with_suffix(".hdr")]
    return [out]


def _temp_paths(finals: Sequence[Path]) -> list[Path]:
    tmp = temp_name(finals[0])
    return [tmp] if len(finals) == 1 else [tmp, tmp.with_suffix(".hdr")]


def _resume_temp_paths(finals: Sequence[Path]) -> list[Path]:
    """Deterministic partial names of a resumable write: ``.NAME.EXT.resume.EXT`` (+ its ``.hdr`` for ENVI)."""
    data = finals[0]
    tmp = data.with_name(f".{data.name}.resume{data.suffix}")
    return [tmp] if len(finals) == 1 else [tmp, tmp.with_suffix(".hdr")]


def _journal_path(final: Path) -> Path:
    """The journal of a resumable write to ``final``: ``.NAME.EXT.resume.json``."""
    return final.with_name(f".{final.name}.resume.json")


def _meta_digest(meta: RasterMeta) -> str:
    """A short digest of the metadata written into the file (grid, bands, nodata, units)."""

    def floats(v: Any) -> list[float] | None:
        return None if v is None else [float(x) for x in np.asarray(v, dtype=np.float64).ravel()]

    rec = {
        "crs": meta.crs,
        "transform": floats(meta.transform),
        "wavelengths_nm": floats(meta.wavelengths_nm),
        "fwhm_nm": floats(meta.fwhm_nm),
        "nodata": None if meta.nodata is None else repr(float(meta.nodata)),
        "band_names": meta.band_names,
        "units": meta.units,
    }
    return hashlib.sha256(json.dumps(rec, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _fsync_dir(path: Path) -> None:
    """``fsync`` a directory so that a rename in it is durable (best effort; not possible everywhere)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _drop_aux_xml(paths: Sequence[Path]) -> None:
    for p in paths:
        remove_quietly(Path(str(p) + ".aux.xml"))  # stale PAM side file would override the new metadata


def _as_cube(cube: Any, out: Path) -> np.ndarray:
    """The cube to write as C-contiguous float32 (numpy or tensor in; refused by :func:`as_cube`)."""
    try:
        arr = as_cube(cube, "the cube", "(C, H, W)")
    except InputError as exc:
        raise InputError(f"cannot write {out}: {exc}") from None
    return np.ascontiguousarray(arr, dtype=np.float32)
