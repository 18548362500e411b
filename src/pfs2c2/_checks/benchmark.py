"""The benchmark's requests (:mod:`pfs2c2.benchmark`): a case's ratio and the shared data files it reads."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .ratio import check_ratio

__all__ = ["check_case_ratio", "check_data_file"]


def check_case_ratio(ratio: int, text: str) -> int:
    """The ratio of the case ``text`` (``scene/sensor/ratio...``) as an int; refused below 2 (:func:`check_ratio`)."""
    try:
        return check_ratio(ratio)
    except InputError:
        raise InputError(f"bad case {text!r}: the ratio must be >= 2") from None


def check_data_file(path: Path) -> Path:
    """``path`` when it exists; refused otherwise (the shared data folder is given with ``--data``)."""
    if not path.exists():
        raise InputError(f"benchmark data file {path} not found; point --data at the shared data folder")
    return path
