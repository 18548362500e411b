"""Atomic file writes: write to a hidden temporary name beside the destination, then ``os.replace``.

:func:`atomic_write` is the one implementation in the package: an interrupted or failed write never leaves
a partial output, and the destination is either the old file or the complete new one. The temporary name
keeps the suffix (so ``np.save`` / ``savefig`` add nothing and pick the right format) and gets the usual
umask permissions (unlike ``mkstemp``'s 0600).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from ._common import PathLike

__all__ = ["atomic_write", "temp_name", "remove_quietly", "check_overwrite"]


def temp_name(final: Path) -> Path:
    """A hidden, unique temporary name beside ``final`` with the same suffix: ``.NAME.1a2b3c4d.tmp.EXT``."""
    return final.with_name(f".{final.stem}.{secrets.token_hex(4)}.tmp{final.suffix}")


def remove_quietly(path: Path) -> None:
    """Delete ``path`` if it exists; errors are ignored (best-effort cleanup)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:  # pragma: no cover - best effort cleanup
        pass


def check_overwrite(shown: Path, finals: Sequence[Path], overwrite: bool) -> None:
    """Refuse to replace existing outputs unless ``overwrite`` (and never replace a directory).

    Raises:
        FileExistsError: one of ``finals`` exists and ``overwrite`` is false (message names ``shown``).
        InputError: ``overwrite`` is true but one of ``finals`` is a directory.
    """
    if overwrite:
        for f in finals:
            if f.is_dir():
                raise InputError(f"cannot write {f}: it is a directory")
        return
    if any(f.exists() for f in finals):
        raise FileExistsError(f"{shown} exists; pass --overwrite to replace it")


def atomic_write(path: PathLike, write: Callable[[Path], Any], *, durable: bool = False) -> Path:
    """Call ``write(tmp)`` on a temporary name beside ``path``, then rename it to ``path``.

    The temporary name keeps the suffix (so ``np.save`` adds nothing) and gets the usual umask
    permissions. On any error the temporary file is removed and ``path`` is left as it was.

    Args:
        path: the destination file.
        write: writes the complete content to the path it is given.
        durable: ``fsync`` the temporary file before the rename (survives a power cut; slower).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    out = Path(path)
    tmp = temp_name(out)
    try:
        write(tmp)
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, out)
    except BaseException:
        remove_quietly(tmp)
        raise
    return out
