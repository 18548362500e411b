"""File input/output: one internal form for every file users have.

Cubes are float32 ``(C, H, W)`` numpy arrays plus a :class:`RasterMeta` (CRS, affine transform,
wavelengths and FWHM in nm, nodata, band names, applied scale/offset). Files store ``(H, W, C)`` (MATLAB,
NumPy, HDF5) or band-sequential rasters (GeoTIFF, ENVI); the conversion happens here and nowhere else.

Layout: :mod:`~pfs2c2.io.readers` (:func:`read_cube`, :func:`open_cube`, :func:`read_array`) and
:mod:`~pfs2c2.io.writers` (:func:`write_cube`, :func:`open_cube_writer`) choose a format from the tables
in :mod:`pfs2c2.io.formats`, which holds one module per format (raster, matlab, hdf5, numpy, text);
:mod:`~pfs2c2.io.meta` is the metadata, :mod:`~pfs2c2.io.grids` matches two grids and
:mod:`~pfs2c2.io.atomic` writes files atomically. :mod:`~pfs2c2.io.quicklook` writes band subsets and RGB
quicklooks; :mod:`~pfs2c2.io.dataarray` converts to and from ``xarray.DataArray`` (optional extra
``pfs2c2[xarray]``; xarray is imported only when used).

rasterio is imported only when a GeoTIFF or ENVI file is read or written.
"""

from ._common import split_spec
from .atomic import atomic_write
from .dataarray import from_dataarray, is_dataarray, to_dataarray
from .formats.text import split_line, to_float
from .grids import GridMatch, match_grids
from .meta import RasterMeta, wavelength_unit_factor, wavelengths_to_nm
from .quicklook import select_bands, write_band_subset, write_rgb_quicklook
from .readers import (
    ARRAY_EXTENSIONS,
    READ_FORMATS,
    SUPPORTED_EXTENSIONS,
    CubeReader,
    open_cube,
    read_array,
    read_cube,
    read_matrix_csv,
)
from .writers import (
    WINDOWED_EXTENSIONS,
    WRITE_EXTENSIONS,
    CubeWriter,
    default_bands,
    open_cube_writer,
    write_cube,
    write_matrix_csv,
)

__all__ = [
    "RasterMeta",
    "wavelengths_to_nm",
    "wavelength_unit_factor",
    "read_cube",
    "open_cube",
    "CubeReader",
    "read_array",
    "read_matrix_csv",
    "write_cube",
    "write_matrix_csv",
    "open_cube_writer",
    "CubeWriter",
    "atomic_write",
    "GridMatch",
    "match_grids",
    "default_bands",
    "split_spec",
    "split_line",
    "to_float",
    "SUPPORTED_EXTENSIONS",
    "READ_FORMATS",
    "ARRAY_EXTENSIONS",
    "WRITE_EXTENSIONS",
    "WINDOWED_EXTENSIONS",
    "select_bands",
    "write_band_subset",
    "write_rgb_quicklook",
    "to_dataarray",
    "from_dataarray",
    "is_dataarray",
]
