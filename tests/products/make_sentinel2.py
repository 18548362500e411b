"""Write a small Sentinel-2 Level-2A product (SAFE folder or .zip) with known values, for the tests.

The tree follows the Sentinel-2 Products Specification Document (S2-PDGS-TAS-DI-PSD, issue 14.6,
"Level-2A product physical format")::

    S2A_MSIL2A_20230615T101559_N0510_R065_T32TQM_20230615T142311.SAFE/
        MTD_MSIL2A.xml
        GRANULE/L2A_T32TQM_A041634_20230615T101559/
            MTD_TL.xml
            IMG_DATA/R10m/T32TQM_20230615T101559_B02_10m.jp2   (B02 B03 B04 B08)
            IMG_DATA/R20m/T32TQM_20230615T101559_B05_20m.jp2   (B02-B07 B8A B11 B12 SCL)

The band files are real JPEG2000 (GDAL's JP2OpenJPEG driver, lossless, with a GMLJP2 grid), uint16.
Left out (pfs2c2 does not read them): R60m, TCI/AOT/WVP, QI_DATA, AUX_DATA, DATASTRIP, HTML, rep_info,
manifest.safe, the Spectral_Response curves and the Reflectance_Conversion block of the XML.

Known values: :func:`true_reflectance` gives every band's surface reflectance (multiples of 1e-4);
the DN written is ``reflectance * 10000 - BOA_ADD_OFFSET`` with the offset -1000 for baseline >= 04.00
and no offset (and no BOA_ADD_OFFSET_VALUES_LIST) before, so both baselines must read back the same
reflectance. :func:`scl_layer` gives the 20 m scene classification: class 4 (vegetation) with a
no-data pixel (0, DN 0 in every band) at [0, 0], a saturated pixel (1) at [0, 1], and with
``clouds="some"`` cloud (8, 9, 10) in [2:4, 2:5], shadow (3) in [5, 2:5], snow (11) at [8, 8], plus
unclassified (7) and dark (2) pixels that stay valid; ``clouds="all"`` makes every other pixel 9.
The grid is UTM 32N (EPSG:32632) with the upper-left corner at (699960, 5000040), an illustrative
tile corner (not the real T32TQM one).

As a script: ``python tests/products/make_sentinel2.py OUTDIR [--baseline 03.01] [--zip]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np

QUANTIFICATION = 10000
ORIGIN = (699960.0, 5000040.0)
CRS = "EPSG:32632"
TILE = "T32TQM"
R10M = ("B02", "B03", "B04", "B08")
R20M = ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")
BAND_ORDER = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
CENTRAL_S2A = (442.7, 492.4, 559.8, 664.6, 704.1, 740.5, 782.8, 832.8, 864.7, 945.1, 1373.5, 1613.7, 2202.4)
RESOLUTION = (60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20)
SCL_NAMES = (
    "SC_NODATA", "SC_SATURATED_DEFECTIVE", "SC_DARK_FEATURE_SHADOW", "SC_CLOUD_SHADOW", "SC_VEGETATION",
    "SC_NOT_VEGETATED", "SC_WATER", "SC_UNCLASSIFIED", "SC_CLOUD_MEDIUM_PROBA", "SC_CLOUD_HIGH_PROBA",
    "SC_THIN_CIRRUS", "SC_SNOW_ICE",
)  # fmt: skip
#: Base reflectance (x 1e-4) of each band, distinct so that a band read in the wrong order shows.
BASE = {"B02": 400, "B03": 700, "B04": 600, "B05": 1200, "B06": 2500, "B07": 2900, "B08": 3100,
        "B8A": 3300, "B11": 2000, "B12": 1100}  # fmt: skip
DATES = {"05.10": "20230615T101559", "03.01": "20210615T101559"}


def true_reflectance(band: str, shape: tuple[int, int]) -> np.ndarray:
    """Surface reflectance (float64, multiples of 1e-4) of ``band`` on a grid of ``shape`` (H, W).

    ``BASE + 3 * row + col`` (x 1e-4), with row 0 dark (0.0005 + 0.0001 * col) so that the offset is
    exercised where a DN below 1000 would read negative without it.
    """
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w]
    values = BASE[band] + 3 * rows + cols
    values[0, :] = 5 + cols[0]  # dark pixels: DN < 1000 before 04.00, < 2000 after
    return values.astype(np.float64) / QUANTIFICATION


def scl_layer(shape20: tuple[int, int], clouds: Literal["none", "some", "all"] = "some") -> np.ndarray:
    """The 20 m SCL (uint8) the fixture writes, on a ``shape20`` grid (at least 10 x 10 for "some")."""
    scl = np.full(shape20, 4, dtype=np.uint8)
    scl[1, :] = 5
    scl[-1, :] = 6
    if clouds == "some":
        scl[2, 2:5] = (8, 9, 10)
        scl[3, 2:5] = (9, 9, 8)
        scl[5, 2:5] = 3
        scl[8, 8] = 11
        scl[6, 0:3] = 7  # unclassified (includes low cloud probability): valid
        scl[7, 0] = 2  # dark area: valid
    elif clouds == "all":
        scl[:] = 9
    scl[0, 0] = 0
    scl[0, 1] = 1
    return scl


def _write_jp2(path: Path, data: np.ndarray, res: int, georef: bool, origin: tuple[float, float] = ORIGIN) -> None:
    import rasterio
    from affine import Affine

    path.parent.mkdir(parents=True, exist_ok=True)
    grid = {"crs": CRS, "transform": Affine(res, 0.0, origin[0], 0.0, -res, origin[1])} if georef else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # georef=False on purpose
        dst = rasterio.open(
        path, "w", driver="JP2OpenJPEG", width=data.shape[1], height=data.shape[0], count=1,
            dtype=data.dtype.name, QUALITY=100, REVERSIBLE="YES", **grid,
        )  # fmt: skip
    with dst:
        dst.write(data, 1)


def _product_xml(*, level: str, baseline: str, spacecraft: str, date: str, uri: str, images: list[str]) -> str:
    l2a = level == "L2A"
    root = "Level-2A_User_Product" if l2a else "Level-1C_User_Product"
    psd = "psd-15" if baseline >= "05.00" else "psd-14"
    ns = f"https://{psd}.sentinel2.eo.esa.int/PSD/User_Product_Level-{'2A' if l2a else '1C'}.xsd"
    iso = f"{date[:4]}-{date[4:6]}-{date[6:8]}T{date[9:11]}:{date[11:13]}:{date[13:15]}.024Z"
    image_files = "\n".join(f"            <IMAGE_FILE>{i}</IMAGE_FILE>" for i in images)
    special = "".join(
        f"<Special_Values><SPECIAL_VALUE_TEXT>{t}</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>{v}</SPECIAL_VALUE_INDEX></Special_Values>\n      "
        for t, v in (("NODATA", 0), ("SATURATED", 65535))
    )
    quant = (
        f'<QUANTIFICATION_VALUES_LIST>\n        <BOA_QUANTIFICATION_VALUE unit="none">{QUANTIFICATION}</BOA_QUANTIFICATION_VALUE>\n'
        '        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>\n'
        '        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>\n      </QUANTIFICATION_VALUES_LIST>'
        if l2a
        else f'<QUANTIFICATION_VALUE unit="none">{QUANTIFICATION}</QUANTIFICATION_VALUE>'
    )
    offsets = ""
    if baseline >= "04.00":
        tag, lst = (
            ("BOA_ADD_OFFSET", "BOA_ADD_OFFSET_VALUES_LIST") if l2a else ("RADIO_ADD_OFFSET", "Radiometric_Offset_List")
        )
        rows = "\n".join(f'        <{tag} band_id="{i}">-1000</{tag}>' for i in range(13))
        offsets = f"<{lst}>\n{rows}\n      </{lst}>"
    scl_list = ""
    if l2a:
        ids = "\n".join(
            f"        <Scene_Classification_ID><SCENE_CLASSIFICATION_TEXT>{n}</SCENE_CLASSIFICATION_TEXT>"
            f"<SCENE_CLASSIFICATION_INDEX>{i}</SCENE_CLASSIFICATION_INDEX></Scene_Classification_ID>"
            for i, n in enumerate(SCL_NAMES)
        )
        scl_list = f"<Scene_Classification_List>\n{ids}\n      </Scene_Classification_List>"
    spectral = "\n".join(
        f'        <Spectral_Information bandId="{i}" physicalBand="{b}"><RESOLUTION>{r}</RESOLUTION>'
        f'<Wavelength><CENTRAL unit="nm">{c}</CENTRAL></Wavelength></Spectral_Information>'
        for i, (b, r, c) in enumerate(zip(BAND_ORDER, RESOLUTION, CENTRAL_S2A))
    )
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:{root} xmlns:n1="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{iso}</PRODUCT_START_TIME>
      <PRODUCT_STOP_TIME>{iso}</PRODUCT_STOP_TIME>
      <PRODUCT_URI>{uri}</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-{"2A" if l2a else "1C"}</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI{"2A" if l2a else "1C"}</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Datatake datatakeIdentifier="G{spacecraft}_{date}_041634_N{baseline}">
        <SPACECRAFT_NAME>Sentinel-{spacecraft[-2:]}</SPACECRAFT_NAME>
        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>
        <DATATAKE_SENSING_START>{iso}</DATATAKE_SENSING_START>
        <SENSING_ORBIT_NUMBER>65</SENSING_ORBIT_NUMBER>
        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
      </Datatake>
      <Query_Options completeSingleTile="true"><PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT></Query_Options>
      <Product_Organisation>
        <Granule_List>
          <Granule datastripIdentifier="{spacecraft}_OPER_MSI_{level}_DS_2APS_{date}_S{date}_N{baseline}" granuleIdentifier="{spacecraft}_OPER_MSI_{level}_TL_2APS_{date}_A041634_{TILE}_N{baseline}" imageFormat="JPEG2000">
{image_files}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      {special}{quant}
      {offsets}
      {scl_list}
      <Spectral_Information_List>
{spectral}
      </Spectral_Information_List>
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:{root}>
"""


def _tile_xml(size: tuple[int, int], origin: tuple[float, float] = ORIGIN) -> str:
    h, w = size
    geo = "\n".join(
        f'      <Size resolution="{r}"><NROWS>{h * 10 // r}</NROWS><NCOLS>{w * 10 // r}</NCOLS></Size>' for r in (10, 20)
    ) + "\n" + "\n".join(
        f'      <Geoposition resolution="{r}"><ULX>{origin[0]:.0f}</ULX><ULY>{origin[1]:.0f}</ULY>'
        f"<XDIM>{r}</XDIM><YDIM>-{r}</YDIM></Geoposition>"
        for r in (10, 20)
    )  # fmt: skip
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>WGS84 / UTM zone 32N</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>{CRS}</HORIZONTAL_CS_CODE>
{geo}
    </Tile_Geocoding>
  </n1:Geometric_Info>
</n1:Level-2A_Tile_ID>
"""


def make_sentinel2(
    folder: str | Path,
    *,
    baseline: str = "05.10",
    size: tuple[int, int] = (24, 24),
    zip: bool = False,
    level: Literal["L2A", "L1C"] = "L2A",
    clouds: Literal["none", "some", "all"] = "some",
    missing_xml: bool = False,
    spacecraft: Literal["S2A", "S2B"] = "S2A",
    georef: bool = True,
    origin: tuple[float, float] = ORIGIN,
) -> Path:
    """Write the product into ``folder``; return the ``.SAFE`` folder (or the ``.zip`` with ``zip=True``).

    ``size`` is the 10 m grid ``(H, W)`` (even, at least 20 x 20 for ``clouds="some"``); the 20 m files are
    half that. ``level="L1C"`` writes a Level-1C product (MTD_MSIL1C.xml, name MSIL1C) to be refused;
    ``missing_xml`` leaves MTD_MSIL2A.xml out; ``georef=False`` writes JP2 files without a grid (the
    grid is then only in MTD_TL.xml). ``origin`` is the upper-left corner ``(x, y)`` in UTM 32N (default
    :data:`ORIGIN`), to place the tile under another fixture.
    """
    h, w = size
    if h % 2 or w % 2:
        raise ValueError(f"size {size}: give an even 10 m grid (the 20 m files are half of it)")
    date = DATES.get(baseline, "20230615T101559" if baseline >= "04.00" else "20210615T101559")
    lvl = "L2A" if level == "L2A" else "L1C"
    uri = f"{spacecraft}_MSI{lvl}_{date}_N{baseline.replace('.', '')}_R065_{TILE}_{date[:8]}T142311.SAFE"
    root = Path(folder) / uri
    if root.exists():
        shutil.rmtree(root)
    granule = f"GRANULE/{lvl}_{TILE}_A041634_{date}"
    offset = -1000 if baseline >= "04.00" else 0
    scl = scl_layer((h // 2, w // 2), clouds)
    nodata10 = np.kron(scl == 0, np.ones((2, 2), dtype=bool))
    images: list[str] = []
    for res, bands in ((10, R10M), (20, R20M)):
        shape = (h * 10 // res, w * 10 // res)
        nodata = nodata10 if res == 10 else scl == 0
        for band in bands:
            dn = np.round(true_reflectance(band, shape) * QUANTIFICATION).astype(np.int64) - offset
            dn[nodata] = 0
            name = f"{granule}/IMG_DATA/R{res}m/{TILE}_{date}_{band}_{res}m"
            _write_jp2(root / f"{name}.jp2", dn.astype(np.uint16), res, georef, origin)
            images.append(name)
    if lvl == "L2A":
        name = f"{granule}/IMG_DATA/R20m/{TILE}_{date}_SCL_20m"
        _write_jp2(root / f"{name}.jp2", scl, 20, georef, origin)
        images.append(name)
    (root / granule / "MTD_TL.xml").write_text(_tile_xml(size, origin), encoding="utf-8")
    if not missing_xml:
        xml = _product_xml(level=lvl, baseline=baseline, spacecraft=spacecraft, date=date, uri=uri, images=images)
        (root / f"MTD_MSI{lvl}.xml").write_text(xml, encoding="utf-8")
    if not zip:
        return root
    archive = root.with_name(uri + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(root.rglob("*")):
            z.write(f, f.relative_to(root.parent).as_posix())
    shutil.rmtree(root)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a small Sentinel-2 L2A SAFE product with known values.")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--baseline", default="05.10", help="processing baseline, e.g. 05.10 (offset -1000) or 03.01")
    parser.add_argument("--zip", action="store_true", help="write the .SAFE.zip instead of the folder")
    parser.add_argument("--level", default="L2A", choices=("L2A", "L1C"))
    parser.add_argument("--clouds", default="some", choices=("none", "some", "all"))
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    print(make_sentinel2(args.outdir, baseline=args.baseline, zip=args.zip, level=args.level, clouds=args.clouds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
