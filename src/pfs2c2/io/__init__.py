"""File input/output: one internal form for every file users have.

Cubes are float32 ``(C, H, W)`` numpy arrays plus a :class:`RasterMeta` (CRS, affine transform,
wavelengths and FWHM in nm, nodata, band names, applied scale/offset). Files store ``(H, W, C)`` (MATLAB,
NumPy, HDF5) or band-sequential rasters (GeoTIFF, ENVI); the conversion happens here and nowhere else.

rasterio is imported only when a GeoTIFF or ENVI file is read or written.
"""

from .grids import GridMatch, match_grids
from .meta import RasterMeta, wavelengths_to_nm
from .readers import (
    ARRAY_EXTENSIONS,
    READ_FORMATS,
    SUPPORTED_EXTENSIONS,
    read_array,
    read_cube,
    read_matrix_csv,
)
from .writers import WRITE_EXTENSIONS, atomic_write, default_bands, write_cube, write_matrix_csv

__all__ = [
    "RasterMeta",
    "wavelengths_to_nm",
    "read_cube",
    "read_array",
    "read_matrix_csv",
    "write_cube",
    "write_matrix_csv",
    "atomic_write",
    "GridMatch",
    "match_grids",
    "default_bands",
    "SUPPORTED_EXTENSIONS",
    "READ_FORMATS",
    "ARRAY_EXTENSIONS",
    "WRITE_EXTENSIONS",
]
