"""Make an HSI and an MSI grid nest: reproject, resample one image, crop to the common footprint.

:func:`pfs2c2.io.match_grids` accepts a pair only when the grids nest (same CRS, north-up, pixel-size
ratio an integer N, HSI pixel edges on MSI pixel edges). :func:`align_pair` makes any overlapping
georeferenced pair nest:

1. **one CRS**: the image that is not resampled (the *fixed* one) keeps its CRS and its grid; the other
   (the *moving* one) is reprojected onto it. By default the HSI moves and the MSI's grid (e.g.
   Sentinel-2's 10 m) is the output grid (``resample="hsi"``); ``resample="msi"`` keeps the HSI grid.
2. **an integer ratio**: N = ``ratio`` when given, else the pixel-size ratio rounded. In one CRS a
   measured ratio more than :data:`RATIO_TOLERANCE` (5 %) away from N is refused (a wrong pair). In
   different CRS the moving image is reprojected, i.e. resampled, anyway, so N is the rounded geometric
   mean of the x and y ratios (measured in the output CRS; at least 2) and any N is accepted: an EMIT
   granule (EPSG:4326, 0.000542 deg, about 45 x 60 m at 42 N) against Sentinel-2's 10 m gives N = 5
   (:attr:`AlignmentRecord.pixel_ratio` and :attr:`AlignmentRecord.ground_ratio` record the measurement).
   The moving image is resampled to exactly N (or 1/N) times the fixed pixel size.
3. **aligned origins**: the LR grid's pixel corners fall on HR pixel corners. With ``resample="hsi"``
   the LR grid is the MSI grid in N x N blocks, with the block phase nearest to the HSI's own origin
   (the HSI moves by less than half an MSI pixel); with ``resample="msi"`` the HR grid is the HSI grid
   split N x N.
4. **the common footprint**: both are cropped to the whole LR pixels inside both images' bounds.

The fixed image is only sliced (bit-identical values). The moving image is sliced too when its grid
already is the target grid up to whole pixels (an already nesting pair comes back unchanged, cropped)
or, with ``"nearest"`` in one CRS and pixel size, up to a rounded offset; otherwise it is warped with
:func:`rasterio.warp.reproject` (GDAL: ``bilinear``, ``cubic``, ``average``, ``nearest``), or with
``"guided"``: bilinear, corrected with the MSI's own interpolation error mapped to the HSI bands
(:func:`.pixels.guided_hsi`).

The default ``method="auto"``, from the measurements (``benchmarks/alignment.py``, docs/benchmarks.md
"Grid alignment"): in one CRS with one pixel size, ``"nearest"`` (no interpolation; the residual shift,
at most half an HR pixel, is left to a learned PSF of size ratio + 2: :attr:`AlignmentRecord.psf_size`,
which the run should use); otherwise ``"guided"`` (``"bilinear"`` with ``resample="msi"``).

Modules: :mod:`.pair` (the API), :mod:`.grid` (CRS, footprints, pixel sizes, ratio: no pixels),
:mod:`.pixels` (validity, cuts, warps, the guided correction).

Validity (:func:`pfs2c2.masks.valid_pixels` and the given masks) follows: invalid pixels are NaN for
the warp (``src_nodata = dst_nodata = NaN``), and a warped pixel is valid only when every source pixel
its kernel touched was valid and inside the source (the padded validity, warped alike, stays 1).
"""

from .grid import RATIO_TOLERANCE
from .pair import (
    AUTO_REPROJECT_METHOD,
    DEFAULT_METHOD,
    DEFAULT_RESAMPLE,
    METHODS,
    AlignedPair,
    AlignmentRecord,
    align_files,
    align_pair,
)

__all__ = [
    "AlignedPair",
    "AlignmentRecord",
    "align_pair",
    "align_files",
    "METHODS",
    "DEFAULT_METHOD",
    "DEFAULT_RESAMPLE",
    "AUTO_REPROJECT_METHOD",
    "RATIO_TOLERANCE",
]
