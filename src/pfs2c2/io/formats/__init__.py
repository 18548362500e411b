"""One module per file format, and the tables that choose between them.

==========  ====================================================  ==========================================
module      formats                                               reads / writes
==========  ====================================================  ==========================================
raster      GeoTIFF / COG, ENVI (rasterio)                        cubes; writes ENVI block by block
cog         Cloud Optimized GeoTIFF output (rasterio)             writes block by block, COG on close
matlab      MATLAB v5/v7 (scipy), v7.3 (h5py)                     cubes, matrices
hdf5        HDF5 / netCDF-4 (h5py)                                cubes, matrices
numpy       ``.npy``                                              cubes (memory-mapped), matrices; blocks
text        CSV / TSV / text tables                               matrices
==========  ====================================================  ==========================================

To add a format: write a module here with a :class:`CubeFormat` (``read``, ``probe``, ``window_meta``)
and/or writer functions, and add it to :data:`CUBE_FORMATS` / :data:`WRITE_FORMATS` /
:data:`MATRIX_READERS` below; :func:`pfs2c2.io.read_cube`, :func:`pfs2c2.io.open_cube`,
:func:`pfs2c2.io.write_cube` and :func:`pfs2c2.io.read_array` pick it up from these tables.

The libraries (rasterio, scipy, h5py) are imported inside the functions that use them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import cog, hdf5, matlab, raster, text
from . import numpy as npy
from ._shared import BlockSink, CubeFormat, CubeProbe, Window, WriteFormat, check_window

__all__ = [
    "CUBE_FORMATS",
    "WRITE_FORMATS",
    "MATRIX_READERS",
    "CubeFormat",
    "CubeProbe",
    "WriteFormat",
    "BlockSink",
    "Window",
    "check_window",
]

#: Readable cube formats by kind; the order is the order of detection and of the messages.
CUBE_FORMATS: dict[str, CubeFormat] = {
    "tif": raster.GEOTIFF,
    "envi": raster.ENVI,
    "mat": matlab.MATLAB,
    "npy": npy.NUMPY,
    "h5": hdf5.HDF5,
}

#: Writable cube formats by kind; the order is that of :data:`pfs2c2.io.WRITE_EXTENSIONS`.
WRITE_FORMATS: dict[str, WriteFormat] = {
    "tif": WriteFormat((".tif", ".tiff"), cog.write_tif, blocks=cog.open_tif_blocks),
    "envi": WriteFormat(
        (".hdr", ".img", ".dat", ".bsq"), raster.write_envi, blocks=raster.open_envi_blocks, paired_header=True
    ),
    "npy": WriteFormat((".npy",), npy.write_npy, blocks=npy.open_blocks),
    "mat": WriteFormat((".mat",), matlab.write_mat),
    "h5": WriteFormat((".h5", ".hdf5"), hdf5.write_h5),
}

#: Readers of 2-D matrices (other than text tables) by extension: ``reader(path, var) -> float64 array``.
MATRIX_READERS: dict[str, Callable[[Path, str | None], np.ndarray]] = {
    ".npy": npy.read_matrix,
    ".mat": matlab.read_matrix,
    ".h5": hdf5.read_matrix,
    ".hdf5": hdf5.read_matrix,
    ".he5": hdf5.read_matrix,
    ".nc": hdf5.read_matrix,
}

TEXT_EXTENSIONS = text.TEXT_EXTENSIONS
