"""Product readers: from what users download (EnMAP, PRISMA, Sentinel-2, EMIT) to a :class:`Product`.

Each product has one module here defining a reader object (:class:`ProductReader`: ``name``,
``detect(path)``, ``read(path, **options)``). The module is registered below by name; its reader is
loaded when the module imports. A registered module that does not exist yet, or whose optional
dependency is not installed, is skipped, so the package always imports.

    detect_product(path) -> name of the reader that claims ``path``, or ``None``
    read_product(path, **options) -> Product (ProductError when no reader claims it)
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .base import Product, ProductError, ProductReader

__all__ = ["READERS", "Product", "ProductError", "ProductReader", "detect_product", "read_product"]

#: Product modules, tried in this order by :func:`detect_product`: one line per product module (its
#: name in this package); the module defines ``READER`` (a :class:`ProductReader`). A module listed
#: here that does not exist yet is skipped.
_MODULES: list[str] = [
    "enmap",
    "prisma",
    "sentinel2",
    "emit",
]

#: name -> reader, for every module above that imported.
READERS: dict[str, ProductReader] = {}


def _load() -> None:
    for module in _MODULES:
        full = f"{__name__}.{module}"
        try:
            mod = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            # Skip a product module not written yet, or one whose optional dependency is absent; a broken
            # import inside pfs2c2 is a bug and is raised.
            if exc.name == full or not (exc.name or "").startswith("pfs2c2"):
                continue
            raise
        reader = getattr(mod, "READER", None)
        if reader is not None:
            READERS[reader.name] = reader


_load()


def detect_product(path: str | Path) -> str | None:
    """Name of the reader that recognises ``path`` (a folder, a ``.zip`` or a known file name), or ``None``."""
    for name, reader in READERS.items():
        try:
            if reader.detect(path):
                return name
        except (OSError, ValueError):
            continue
    return None


def read_product(path: str | Path, **options: Any) -> Product:
    """Read ``path`` with the reader that recognises it; :class:`ProductError` when none does."""
    name = detect_product(path)
    if name is None:
        known = ", ".join(sorted(READERS)) or "none"
        raise ProductError(
            f"{path}: not a product pfs2c2 recognises (readers: {known}); give a product folder, .zip or file"
        )
    return READERS[name].read(path, **options)
