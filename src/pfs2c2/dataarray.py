"""xarray in and out: open any input as a DataArray, fuse two DataArrays into one.

Needs the optional extra ``pip install 'pfs2c2[xarray]'`` (xarray and rioxarray). The conversions
themselves (:func:`to_dataarray`, :func:`from_dataarray`) live in :mod:`pfs2c2.io.dataarray`, low in the
layers, so that :func:`pfs2c2.fusion.fuse` may use them; this module adds what needs the layers above:

* :func:`open_dataarray` reads a product (an EnMAP / PRISMA / Sentinel-2 / EMIT folder, ``.zip`` or file
  that :func:`pfs2c2.products.detect_product` recognises) or any cube file of :func:`pfs2c2.io.read_cube`;
* :func:`fuse_dataarrays` runs :func:`pfs2c2.fusion.fuse` on two DataArrays and returns the fused cube
  as a DataArray on the MSI grid (its CRS, transform, ``y`` / ``x``) with the HSI's wavelengths, FWHM
  and band names.

Example::

    hsi = pfs2c2.dataarray.open_dataarray("ENMAP01-..._L2A/")
    msi = pfs2c2.dataarray.open_dataarray("S2B_MSIL2A_....SAFE")
    fused = pfs2c2.dataarray.fuse_dataarrays(hsi, msi, config=FusionConfig.preset_config("fast"))
    fused.rio.to_raster("fused.tif")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .fusion import FusionResult, fuse
from .io import RasterMeta
from .io.dataarray import (
    XARRAY_HINT,
    from_dataarray,
    fused_meta,
    import_xarray,
    is_dataarray,
    to_dataarray,
    valid_coordinate,
)
from .io.dataarray import open_dataarray as open_cube_dataarray
from .masks import valid_pixels
from .products import detect_product, read_product

__all__ = [
    "XARRAY_HINT",
    "open_dataarray",
    "to_dataarray",
    "from_dataarray",
    "is_dataarray",
    "fuse_dataarrays",
    "fused_meta",
    "valid_coordinate",
]


def open_dataarray(path: str | Path, *, name: str | None = None, **product_options: Any) -> Any:
    """Read a product or a cube file as a DataArray (dims ``("band", "y", "x")``).

    A product also gets the attributes ``sensor``, ``level``, ``kind``, ``acquired`` and a boolean
    ``valid`` coordinate on ``("y", "x")`` (True = usable pixel); its invalid pixels are NaN.
    ``product_options`` go to the product reader (e.g. the Sentinel-2 band set).
    """
    import_xarray()
    if detect_product(path) is not None:
        product = read_product(path, **product_options)
        da = to_dataarray(product.cube, product.meta, name=name)
        da = da.assign_coords(valid=(("y", "x"), np.asarray(product.valid, dtype=bool)))
        da.attrs.update(sensor=product.sensor, level=product.level, kind=product.kind)
        if product.acquired:
            da.attrs["acquired"] = product.acquired
        return da
    if product_options:
        raise InputError(f"{path}: options {sorted(product_options)} are for products, and this is a plain cube file")
    return open_cube_dataarray(path, name=name)


def _valid(da: Any, cube: np.ndarray, meta: RasterMeta) -> np.ndarray:
    """Valid pixels: :func:`valid_pixels` of the cube, and the ``valid`` coordinate when there is one."""
    valid = valid_pixels(cube, meta.nodata)
    coord = valid_coordinate(da)
    if coord is not None and coord.shape == valid.shape:
        valid &= coord
    return valid


def fuse_dataarrays(lr_hsi: Any, hr_msi: Any, *, return_result: bool = False, **fuse_kwargs: Any) -> Any:
    """Fuse two DataArrays with :func:`pfs2c2.fusion.fuse`; returns the fused DataArray.

    Args:
        lr_hsi: LR-HSI DataArray (``("band", "y", "x")`` or ``("y", "x", "band")``, a ``wavelength``
            coordinate, rioxarray CRS / transform).
        hr_msi: HR-MSI DataArray on the fine grid.
        return_result: also return the :class:`~pfs2c2.fusion.FusionResult` (PSF, SRF, history).
        fuse_kwargs: passed to :func:`~pfs2c2.fusion.fuse` (``ratio``, ``srf``, ``psf``, ``srf_support``,
            ``config``, ``run``, ...). Unless given, ``hsi_mask`` / ``msi_mask`` are the valid pixels
            (finite, not nodata, the ``valid`` coordinate of a product) and NaN pixels are masked.

    Returns:
        The fused DataArray ``("band", "y", "x")`` on the MSI grid with the HSI wavelengths and the
        MSI CRS (pixels invalid in the MSI are NaN), or ``(DataArray, FusionResult)``.
    """
    import_xarray()
    for what, da in (("lr_hsi", lr_hsi), ("hr_msi", hr_msi)):
        if not is_dataarray(da):
            raise InputError(f"fuse_dataarrays: {what} must be an xarray.DataArray, got {type(da).__name__}")
    fuse_kwargs.pop("layout", None)  # the layout comes from the dims
    result: FusionResult = fuse(lr_hsi, hr_msi, **fuse_kwargs)  # fuse takes DataArrays itself
    fused = result.fused
    return (fused, result) if return_result else fused
