"""Output paths: refuse before hours of training instead of after."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["check_writable", "check_output_path", "check_output_extension", "check_not_existing"]


def check_writable(path: Any) -> None:
    """Check, before any work, that ``path`` can be created: its nearest existing ancestor directory
    must be a directory the user may write into (missing directories below it can be created).

    Raises:
        InputError: the ancestor is a file, or write permission is missing (one-line message).
    """
    out = Path(os.fspath(path))
    parent = out.parent if str(out.parent) else Path(".")
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot write {out}: {existing} is a file, not a directory; choose another output path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot write {out}: no write permission in the directory {existing}; choose an output "
            "directory you can write to"
        )


def check_output_path(path: Any) -> None:
    """Refuse an output file whose directory is missing, is a file, or is not writable.

    Unlike :func:`check_writable` the directory must exist already (``pfs2c2 fuse`` does not create it).

    Raises:
        InputError: one-line message naming the directory.
    """
    out = Path(os.fspath(path))
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InputError(f"cannot write {out}: {parent} is a file, not a directory; choose another output path")
    if not parent.exists():
        raise InputError(f"cannot write {out}: the output directory {parent} does not exist; create it first")
    check_writable(out)


def check_output_extension(path: Any, extensions: Sequence[str]) -> None:
    """Refuse an output file whose extension (lower-cased) is not one of ``extensions`` (``".tif"``, ...).

    Raises:
        InputError: naming the extension and the supported ones.
    """
    out = Path(os.fspath(path))
    if out.suffix.lower() not in extensions:
        raise InputError(
            f"cannot write {out}: unknown extension {out.suffix or '(none)'!r}; supported: {', '.join(extensions)}"
        )


def check_not_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Refuse to replace an existing output: the first of ``paths`` that exists, unless ``overwrite``.

    Raises:
        FileExistsError: ``"PATH exists; pass --overwrite to replace it"``.
    """
    if overwrite:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
