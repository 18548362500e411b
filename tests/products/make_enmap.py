"""Write a small EnMAP HSI L2A product shaped as DLR's product specification (EN-PCV-ICD-2009-2) describes.

One product folder ``ENMAP01-____L2A-DT0000001234_20220609T101010Z_001_V010111_20230101T000000Z/``
holding ``<id>-SPECTRAL_IMAGE.TIF`` (int16 GeoTIFF, reflectance * 10000, nodata -32768, UTM 32N, 30 m),
``<id>-METADATA.XML`` (``level_X`` with ``base/level``, ``base/temporalCoverage``,
``specific/bandCharacterisation/bandID[@number]`` with wavelength, FWHM, gain 1e-4 and offset 0,
``product/image/merge/channels``, ...), and the uint8 quality layers ``QL_QUALITY_CLOUD``,
``QL_QUALITY_CLOUDSHADOW``, ``QL_QUALITY_HAZE``, ``QL_QUALITY_SNOW`` (1 = flagged), ``QL_QUALITY_CIRRUS``
(1 thin, 2 medium, 3 thick), ``QL_QUALITY_CLASSES`` (1 land, 2 water, 3 background) and
``QL_PIXELMASK`` (one band per spectral band, 1 = defective). Or a .zip of that folder.

Known values, so tests check the reflectance scale exactly: :func:`enmap_dn` gives the DN written
(``300 + (211 b) mod 4000 + 17 y + 11 x`` for band index b, row y, column x), the reflectance is
``DN * gain + offset`` with the gains/offsets written into the XML. The top-left corner (x + y < 3) is
background (fill in every band, class 3), as at the edge of a real, rotated scene.

    python tests/products/make_enmap.py OUTDIR [--zip] [--level L2A] [--bands 30] [--size 20 24]
"""

from __future__ import annotations

import argparse
import shutil
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PRODUCT = "ENMAP01-____{level}-DT0000001234_20220609T101010Z_001_V010111_20230101T000000Z"
START = "2022-06-09T10:10:10.123456Z"
STOP = "2022-06-09T10:10:14.654321Z"
CRS = "EPSG:32632"
ORIGIN = (600000.0, 5300010.0)  # upper-left corner (x, y), UTM 32N
PIXEL = 30.0
GAIN = 1.0e-4
NODATA = -32768


def enmap_bands(bands: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (nm), FWHM (nm) and detector (0 VNIR, 1 SWIR) of ``bands`` EnMAP-like bands, VNIR first.

    VNIR 420-1000 nm (FWHM 6.5-9 nm) and SWIR 902-2445 nm (FWHM 8-12 nm), 40 % / 60 % of the bands,
    overlapping at 900-1000 nm as the two EnMAP detectors do.
    """
    n_vnir = max(1, round(0.4 * bands))
    n_swir = bands - n_vnir
    wl = np.round(np.concatenate([np.linspace(420.0, 1000.0, n_vnir), np.linspace(902.0, 2445.0, n_swir)]), 3)
    fw = np.round(np.concatenate([np.linspace(6.5, 9.0, n_vnir), np.linspace(8.0, 12.0, n_swir)]), 3)
    det = np.concatenate([np.zeros(n_vnir, dtype=int), np.ones(n_swir, dtype=int)])
    return wl, fw, det


def enmap_dn(bands: int = 30, size: tuple[int, int] = (20, 24)) -> np.ndarray:
    """The int16 DN ``(bands, H, W)`` written before fill is applied (band index in file order)."""
    b, y, x = np.meshgrid(np.arange(bands), np.arange(size[0]), np.arange(size[1]), indexing="ij")
    return (300 + (211 * b) % 4000 + 17 * y + 11 * x).astype(np.int16)


def background(size: tuple[int, int] = (20, 24)) -> np.ndarray:
    """``(H, W)`` bool: the background corner (fill in every band)."""
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    return (x + y) < 3


def quality_layers(size: tuple[int, int], clouds: str | np.ndarray | None) -> dict[str, np.ndarray]:
    """The uint8 quality layers the fixture writes (keys: file KEY), for ``clouds`` "some", "all", None or a mask."""
    h, w = size
    q = {k: np.zeros(size, dtype=np.uint8) for k in ("CLOUD", "CLOUDSHADOW", "HAZE", "SNOW", "CIRRUS")}
    if isinstance(clouds, np.ndarray):
        q["CLOUD"][np.asarray(clouds, dtype=bool)] = 1
    elif clouds == "all":
        q["CLOUD"][:] = 1
    elif clouds == "some":
        q["CLOUD"][4:8, 4:9] = 1
        q["CLOUDSHADOW"][8:11, 9:13] = 1
        q["SNOW"][14:17, 2:5] = 1
        q["HAZE"][12:14, 15:21] = 1
        q["CIRRUS"][1:3, 18:22] = 1  # thin
        q["CIRRUS"][17, 18:21] = 3  # thick
    elif clouds is not None:
        raise ValueError(f"clouds={clouds!r}: give 'some', 'all', None or an (H, W) bool array")
    classes = np.ones(size, dtype=np.uint8)
    classes[h // 2 :, w - 4 :] = 2  # water
    classes[background(size)] = 3
    for layer in q.values():
        layer[background(size)] = 0
    q["CLASSES"] = classes
    return q


def _write_tif(path: Path, data: np.ndarray, *, nodata: float | None, georef: bool = True) -> None:
    import rasterio
    import rasterio.errors
    from affine import Affine

    profile = {"driver": "GTiff", "count": data.shape[0], "height": data.shape[1], "width": data.shape[2]}
    profile["dtype"] = str(data.dtype)
    if georef:
        profile.update(crs=CRS, transform=Affine(PIXEL, 0.0, ORIGIN[0], 0.0, -PIXEL, ORIGIN[1]))
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # L1B: sensor geometry
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)


def _sub(parent: ET.Element, tag: str, text: object = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _metadata_xml(
    pid: str, level: str, size: tuple[int, int], wl, fw, gains, offsets, det, files: list[str], channels: int
) -> bytes:
    root = ET.Element("level_X")
    md = _sub(root, "metadata")
    _sub(_sub(md, "schema"), "versionSchema", "01.02.00")
    _sub(md, "name", f"{pid}-METADATA.XML")
    base = _sub(root, "base")
    _sub(base, "format", f"ENMAP_{level}")
    _sub(base, "level", level)
    _sub(base, "revision", "01.01.11")
    tc = _sub(base, "temporalCoverage")
    _sub(tc, "startTime", START)
    _sub(tc, "stopTime", STOP)
    poly = _sub(_sub(base, "spatialCoverage"), "boundingPolygon")
    for frame, lat, lon in (("upper_left", 47.83, 10.31), ("upper_right", 47.83, 10.32), ("lower_left", 47.82, 10.31)):
        pt = _sub(poly, "point")
        _sub(pt, "frame", frame)
        _sub(pt, "latitude", lat)
        _sub(pt, "longitude", lon)
    spec = _sub(root, "specific")
    _sub(spec, "widthOfOrthoScene", size[1])
    _sub(spec, "heightOfOrthoScene", size[0])
    _sub(spec, "pixelSizeOfOrthoScene", int(PIXEL))
    _sub(spec, "backgroundValue", NODATA)
    for name, d in (("vnirProductQuality", 0), ("swirProductQuality", 1)):
        numbers = [str(i + 1) for i in range(len(det)) if det[i] == d]
        pq = _sub(spec, name)
        _sub(pq, "numChannelsExpected", len(numbers))
        _sub(pq, "expectedChannelsList", ",".join(numbers))
    chars = _sub(spec, "bandCharacterisation")
    for i in range(len(wl)):
        band = _sub(chars, "bandID", number=str(i + 1))
        _sub(band, "wavelengthCenterOfBand", repr(float(wl[i])))
        _sub(band, "FWHMOfBand", repr(float(fw[i])))
        _sub(band, "GainOfBand", repr(float(gains[i])))
        _sub(band, "OffsetOfBand", repr(float(offsets[i])))
    _sub(_sub(root, "processing"), "productFormat", "GeoTIFF+Metadata")
    product = _sub(root, "product")
    merge = _sub(_sub(product, "image"), "merge")
    _sub(merge, "name", f"{pid}-SPECTRAL_IMAGE.TIF")
    dim = _sub(merge, "dimension")
    _sub(dim, "rows", size[0])
    _sub(dim, "columns", size[1])
    _sub(merge, "channels", channels)
    ortho = _sub(product, "ortho")
    _sub(ortho, "projection", "UTM_Zone32_North")
    _sub(ortho, "resolution", int(PIXEL))
    info = _sub(product, "productFileInformation")
    for name in files:
        f = _sub(info, "file")
        _sub(f, "name", name)
        _sub(f, "format", "binary" if name.endswith(".TIF") else "xml")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def make_enmap(
    folder: str | Path,
    *,
    size: tuple[int, int] = (20, 24),
    bands: int = 30,
    level: str = "L2A",
    zip: bool = False,
    nested_zip: bool = False,
    missing_xml: bool = False,
    missing_quality: Sequence[str] = (),
    clouds: str | np.ndarray | None = "some",
    gains: float | Sequence[float] | np.ndarray = GAIN,
    offsets: float | Sequence[float] | np.ndarray = 0.0,
    empty_bands: Sequence[int] = (),
    order: str = "wavelength",
    xml_bands: int | None = None,
    nodata_tag: bool = True,
) -> Path:
    """Write the product into ``folder`` and return its folder (or its .zip with ``zip=True``).

    ``level`` "L1B" writes SPECTRAL_IMAGE_VNIR/_SWIR in sensor geometry, "L1C" an orthorectified
    radiance product. ``order`` "wavelength" (as L2A is delivered: sorted, the two detectors interleaved
    at 900-1000 nm) or "detector" (VNIR block, then SWIR). ``empty_bands`` (indices in file order) are
    fill everywhere; ``xml_bands`` writes that many bandIDs (a damaged XML); ``missing_quality`` leaves
    out those layers (e.g. ``("CLOUD",)``); ``nested_zip`` puts the product's .zip in a delivery .zip.
    """
    folder = Path(folder)
    pid = PRODUCT.format(level=level)
    root = folder / pid
    root.mkdir(parents=True, exist_ok=True)
    wl, fw, det = enmap_bands(bands)
    if order == "wavelength":
        idx = np.argsort(wl, kind="stable")
        wl, fw, det = wl[idx], fw[idx], det[idx]
    elif order != "detector":
        raise ValueError(f"order={order!r}: 'wavelength' or 'detector'")
    g = np.broadcast_to(np.asarray(gains, dtype=np.float64), (bands,))
    o = np.broadcast_to(np.asarray(offsets, dtype=np.float64), (bands,))
    dn = enmap_dn(bands, size)
    dn[:, background(size)] = NODATA
    dn[list(empty_bands)] = NODATA
    nd = NODATA if nodata_tag else None
    files: list[str] = []
    if level == "L1B":
        for name, d in (("SPECTRAL_IMAGE_VNIR", 0), ("SPECTRAL_IMAGE_SWIR", 1)):
            _write_tif(root / f"{pid}-{name}.TIF", dn[det == d], nodata=nd, georef=False)
            files.append(f"{pid}-{name}.TIF")
    else:
        _write_tif(root / f"{pid}-SPECTRAL_IMAGE.TIF", dn, nodata=nd)
        files.append(f"{pid}-SPECTRAL_IMAGE.TIF")
    for key, layer in quality_layers(size, clouds).items():
        if key not in missing_quality:
            _write_tif(root / f"{pid}-QL_QUALITY_{key}.TIF", layer[None], nodata=None, georef=level != "L1B")
            files.append(f"{pid}-QL_QUALITY_{key}.TIF")
    pixelmask = np.zeros((bands, *size), dtype=np.uint8)
    if clouds == "some" and size[0] > 10 and size[1] > 20 and bands > 3:
        pixelmask[3, 10, 20] = 1  # one defective detector element in one band
    if "PIXELMASK" not in missing_quality:
        _write_tif(root / f"{pid}-QL_PIXELMASK.TIF", pixelmask, nodata=None, georef=level != "L1B")
        files.append(f"{pid}-QL_PIXELMASK.TIF")
    n_xml = bands if xml_bands is None else xml_bands
    if not missing_xml:
        xml = _metadata_xml(
            pid, level, size, wl[:n_xml], fw[:n_xml], g, o, det[:n_xml], [*files, f"{pid}-METADATA.XML"], n_xml
        )
        (root / f"{pid}-METADATA.XML").write_bytes(xml)
    if not (zip or nested_zip):
        return root
    archive = folder / f"{pid}.ZIP"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(root.iterdir()):
            z.write(f, f"{pid}/{f.name}")
    shutil.rmtree(root)
    if not nested_zip:
        return archive
    outer = folder / "enmap_delivery.zip"
    with zipfile.ZipFile(outer, "w") as z:
        z.write(archive, f"ENMAP.HSI.L2A/{archive.name}")
    archive.unlink()
    return outer


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write the fixture into OUTDIR and print its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--zip", action="store_true", help="write the product as a .zip")
    parser.add_argument("--level", default="L2A", choices=("L1B", "L1C", "L2A"))
    parser.add_argument("--bands", type=int, default=30)
    parser.add_argument("--size", type=int, nargs=2, default=(20, 24), metavar=("H", "W"))
    parser.add_argument("--missing-xml", action="store_true", help="leave out METADATA.XML (a bad product)")
    args = parser.parse_args(argv)
    path = make_enmap(
        args.outdir,
        size=tuple(args.size),
        bands=args.bands,
        level=args.level,
        zip=args.zip,
        missing_xml=args.missing_xml,
    )
    print(path)


if __name__ == "__main__":
    main()
