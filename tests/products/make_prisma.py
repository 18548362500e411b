"""A small PRISMA L2D ``.he5`` shaped as the ASI *PRISMA Products Specification Document* (Issue 2.3) describes.

``make_prisma(folder)`` writes ``PRS_L2D_STD_20200101101010_20200101101015_0001.he5``: an HDF-EOS5 file
with ``/HDFEOS INFORMATION/StructMetadata.0`` and the swath ``/HDFEOS/SWATHS/PRS_L2D_HCO`` holding
``Data Fields/VNIR_Cube`` and ``SWIR_Cube`` (uint16, ``(rows, bands, cols)``), the L2 error matrices,
``Geolocation Fields/Latitude``/``Longitude`` and ``Geometric Fields/Solar_Zenith_Angle``, and the root
attributes the reader uses (band centres and widths in descending order with zero-centre slots, the
L2Scale min/max pairs, EPSG code, corner coordinates as pixel centres, start time, processing level).

Known values, so tests can check the scale exactly (see :func:`dn_value`, :data:`SCALES`):

* DN of band slot ``b`` (0-based, in the cube's order) of arm ``arm`` at ``(row, col)`` is
  ``dn_value(arm, b, row, col)`` (1..60000); zero-centre slots hold DN 0 everywhere.
* The ``PAD`` top-left block (rows < 3 and cols < 4) is 0 in every band: the L2D padding (nodata).
* Reflectance = ``Min + DN * (Max - Min) / 65535`` with ``SCALES["vnir"] = (0.0, 0.8)`` and
  ``SCALES["swir"] = (0.01, 0.6)``.
* Grid: EPSG:32632, pixel (0, 0) centred at (500015, 4999985), 30 m, so the transform is
  ``(30, 0, 500000, 0, -30, 5000000)``.

``make_prisma_zip(folder)`` writes the same product as ASI delivers it: ``PRS_L2D_STD_..._0001.zip`` holding
the ``.he5`` (deflated by default; ``compression=zipfile.ZIP_STORED`` for an uncompressed member, ``inner``
for a folder inside the zip).

Usable as a script: ``python tests/products/make_prisma.py OUTDIR [--level 2C] [--zip]``.
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

#: (Min, Max) of the L2 scaling per arm.
SCALES = {"vnir": (0.0, 0.8), "swir": (0.01, 0.6)}
EPSG = 32632
#: Centre of pixel (0, 0) (the Product_ULcorner attributes) and the pixel size.
UL_CENTRE = (500015.0, 4999985.0)
GSD = 30.0
#: The padded (all-zero, nodata) block: rows < PAD[0] and cols < PAD[1].
PAD = (3, 4)
START = "2020-01-01T10:10:10.000000"
STOP = "2020-01-01T10:10:15.000000"


def dn_value(arm: str, band: int, row: np.ndarray | int, col: np.ndarray | int) -> np.ndarray:
    """DN of band slot ``band`` of ``arm`` at ``(row, col)``: distinct per band and pixel, in 1..60000."""
    base = 1000 if arm == "vnir" else 30000
    return (base + 997 * band + 37 * np.asarray(row) + 11 * np.asarray(col)) % 60000 + 1


def band_table(arm: str, n: int, zero_bands: int, overlap: bool) -> tuple[np.ndarray, np.ndarray]:
    """Centres and FWHM (nm) of the ``n`` slots of one arm in the cube's order (descending), zero slots included.

    VNIR: ``zero_bands`` zero slots first, then 1000 -> 410 nm. SWIR: 2490 -> 930 nm (overlap) or 2490 ->
    1050 nm, then ``zero_bands`` zero slots last.
    """
    m = n - zero_bands
    if arm == "vnir":
        cw = np.linspace(1000.0, 410.0, m)
        fw = np.full(m, 12.0)
        zeros = np.zeros(zero_bands)
        return np.concatenate([zeros, cw]), np.concatenate([zeros, fw])
    cw = np.linspace(2490.0, 930.0 if overlap else 1050.0, m)
    fw = np.full(m, 10.0)
    zeros = np.zeros(zero_bands)
    return np.concatenate([cw, zeros]), np.concatenate([fw, zeros])


def _cube(arm: str, cw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    cube = np.zeros((rows, cw.size, cols), dtype=np.uint16)
    for b in range(cw.size):
        if cw[b] > 0:
            cube[:, b, :] = dn_value(arm, b, r, c)
    cube[: PAD[0], :, : PAD[1]] = 0
    return cube


def product_name(level: str = "2D") -> str:
    """File name of the product at ``level`` (``"1"``, ``"2B"``, ``"2C"``, ``"2D"``) as ASI names it."""
    kind = "STD_OFFL" if level == "1" else "STD"
    return f"PRS_L{level}_{kind}_20200101101010_20200101101015_0001.he5"


def make_prisma(
    folder: str | Path,
    *,
    size: tuple[int, int] = (20, 24),
    vnir: int = 12,
    swir: int = 14,
    level: str = "2D",
    zero_bands: int = 2,
    overlap: bool = True,
) -> Path:
    """Write a small PRISMA product (``size`` = (rows, cols); ``vnir``/``swir`` band slots per cube, of which
    ``zero_bands`` have centre 0) into ``folder``; returns the ``.he5`` path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = size
    path = folder / product_name(level)
    swath = f"HDFEOS/SWATHS/PRS_L{level}_HCO"
    ul_e, ul_n = UL_CENTRE
    lr_e, lr_n = ul_e + GSD * (cols - 1), ul_n - GSD * (rows - 1)
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "HDFEOS INFORMATION/StructMetadata.0",
            data=np.bytes_(f'GROUP=SwathStructure\n\tGROUP=SWATH_1\n\t\tSwathName="PRS_L{level}_HCO"\n'),
        )
        a = f.attrs
        a["Processing_Level"] = np.bytes_(level)
        a["Product_ID"] = np.bytes_(f"PRS_L{level}_STD")
        a["Product_StartTime"] = np.bytes_(START)
        a["Product_StopTime"] = np.bytes_(STOP)
        a["Epsg_Code"] = np.int32(EPSG)
        a["Projection_Name"] = np.bytes_("UTM")
        a["Projection_Id"] = np.bytes_("32")
        a["Reference_Ellipsoid"] = np.bytes_("WGS84")
        for corner, (e, n) in {"UL": (ul_e, ul_n), "UR": (lr_e, ul_n), "LL": (ul_e, lr_n), "LR": (lr_e, lr_n)}.items():
            a[f"Product_{corner}corner_easting"] = np.float64(e)
            a[f"Product_{corner}corner_northing"] = np.float64(n)
        a["Product_center_easting"] = np.float64((ul_e + lr_e) / 2)
        a["Product_center_northing"] = np.float64((ul_n + lr_n) / 2)
        for arm, n in (("vnir", vnir), ("swir", swir)):
            key = arm.capitalize()
            cw, fw = band_table(arm, n, zero_bands, overlap)
            a[f"List_Cw_{key}"] = cw.astype(np.float32)
            a[f"List_Fwhm_{key}"] = fw.astype(np.float32)
            a[f"List_Cw_{key}_Flags"] = (cw > 0).astype(np.int8)
            lo, hi = SCALES[arm]
            a[f"L2Scale{key}Min"] = np.float64(lo)
            a[f"L2Scale{key}Max"] = np.float64(hi)
            cube = _cube(arm, cw.astype(np.float32), rows, cols)
            f.create_dataset(f"{swath}/Data Fields/{arm.upper()}_Cube", data=cube)
            f.create_dataset(
                f"{swath}/Data Fields/{arm.upper()}_PIXEL_L2_ERR_MATRIX", data=np.zeros_like(cube, np.uint8)
            )
        lat = np.linspace(45.1, 45.0, rows, dtype=np.float32)[:, None] * np.ones((1, cols), np.float32)
        lon = np.linspace(9.0, 9.01, cols, dtype=np.float32)[None, :] * np.ones((rows, 1), np.float32)
        f.create_dataset(f"{swath}/Geolocation Fields/Latitude", data=lat)
        f.create_dataset(f"{swath}/Geolocation Fields/Longitude", data=lon)
        sza = np.full((rows, cols), 40.0, dtype=np.float32)
        sza[: PAD[0], : PAD[1]] = 0.0
        f.create_dataset(f"{swath}/Geometric Fields/Solar_Zenith_Angle", data=sza)
    return path


def make_prisma_zip(
    folder: str | Path,
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    inner: str = "",
    extra: dict[str, bytes] | None = None,
    **options: Any,
) -> Path:
    """Write the product of :func:`make_prisma` (``options``) zipped as ASI delivers it into ``folder``: the
    ``.he5`` at the top of ``PRS_L2D_..._0001.zip`` (or under the folder ``inner``), and the ``extra``
    members (name -> bytes); returns the ``.zip`` path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        he5 = make_prisma(tmp, **options)
        path = folder / he5.with_suffix(".zip").name
        with zipfile.ZipFile(path, "w", compression=compression) as z:
            z.write(he5, f"{inner.strip('/')}/{he5.name}" if inner else he5.name)
            for name, data in (extra or {}).items():
                z.writestr(name, data)
    return path


def make_plain_hdf5(folder: str | Path, name: str = "PRS_L2D_STD_20200101101010_20200101101015_0001.he5") -> Path:
    """A BAD variant: an HDF5 file named like a PRISMA product but without the HDF-EOS5 swaths."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("cube", data=np.zeros((2, 3, 4), dtype=np.uint16))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a small PRISMA L2D .he5 fixture.")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--level", default="2D", help="processing level: 1, 2B, 2C or 2D (default)")
    parser.add_argument("--zip", action="store_true", help="write the .zip ASI delivers instead of the .he5")
    args = parser.parse_args(argv)
    make = make_prisma_zip if args.zip else make_prisma
    print(make(args.outdir, level=args.level))


if __name__ == "__main__":
    main()
