"""What every product reader returns: :class:`Product`, and how it refuses: :class:`ProductError`.

A *product* is what a user downloads from a data provider (an EnMAP L2A folder, a PRISMA L2D ``.he5``,
a Sentinel-2 L2A ``.SAFE`` folder or ``.zip``, an EMIT L2A netCDF). A reader (one module per product in
this package) turns it into a float32 ``(C, H, W)`` cube in physical units (surface reflectance 0..1),
a :class:`~pfs2c2.io.RasterMeta` and a validity mask, so the rest of pfs2c2 never sees the provider's
scaling, band layout or quality flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import InputError
from ..io import RasterMeta

__all__ = ["Product", "ProductError", "ProductReader"]


class ProductError(InputError):
    """A product cannot be read: one line that names the problem and the fix (the CLI exits with 2)."""


@dataclass(frozen=True)
class Product:
    """One product read into memory.

    ``cube`` is float32 ``(C, H, W)`` in physical units after the provider's scaling (surface reflectance
    0..1); invalid pixels are NaN. ``meta`` carries crs, transform, wavelengths_nm, fwhm_nm (``None``
    where unknown), band_names, ``units="reflectance"``, ``nodata=None`` (NaN marks invalid pixels) and
    ``source``. ``valid`` is ``(H, W)`` bool, True where the pixel is usable (not nodata/fill, cloud,
    shadow, snow, saturated). ``masks`` names the ``(H, W)`` bool layers (True = flagged) that went into
    ``~valid``, so a run can report the fraction of each.
    """

    cube: np.ndarray
    meta: RasterMeta
    valid: np.ndarray
    sensor: str  # "enmap", "prisma", "sentinel2a", "sentinel2b", "emit"
    level: str  # "L2A", "L2D", ...
    acquired: str | None  # ISO 8601 start time from the metadata
    kind: str  # "hsi" or "msi"
    masks: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the cube."""
        c, h, w = self.cube.shape
        return (int(c), int(h), int(w))

    def masked_fractions(self) -> dict[str, float]:
        """Fraction of pixels flagged by each mask, and ``"invalid"`` for ``~valid`` (for run.json)."""
        n = max(int(self.valid.size), 1)
        out = {name: float(np.count_nonzero(m)) / n for name, m in self.masks.items()}
        out["invalid"] = float(np.count_nonzero(~self.valid)) / n
        return out


@runtime_checkable
class ProductReader(Protocol):
    """A product reader: registered by name in :data:`pfs2c2.products.READERS`."""

    name: str

    def detect(self, path: str | Path) -> bool:
        """True when ``path`` (a folder, a ``.zip`` or a file) is this reader's product; never raises."""
        ...

    def read(self, path: str | Path, **options: Any) -> Product:
        """Read the product; refuses with :class:`ProductError` (one line) when it cannot."""
        ...
