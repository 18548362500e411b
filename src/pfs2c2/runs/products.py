"""Inputs as users download them: product folders/files, grid alignment, and the masks that travel with them.

:func:`read_inputs` reads the pair of a run. Either input may be a product (an EnMAP L2A folder, a
PRISMA L2D ``.he5``, a Sentinel-2 L2A ``.SAFE``/``.zip``, an EMIT L2A granule: see
:mod:`pfs2c2.products`) or a file spec (``FILE``, ``FILE.mat:VAR``); file pairs without ``align`` are read
exactly as :func:`pfs2c2.runs.inputs.read_file_pair` does. The pair comes back cropped to the common
footprint with its ratio and the ``(h, w)`` / ``(H, W)`` valid-pixel masks (True = data) that
:func:`pfs2c2.fuse` takes: the products' own masks (clouds, shadow, snow, nodata, saturated, ...), the
nodata value, NaN pixels, and the ``saturation`` level. With ``align``, grids that do not nest (another
CRS, a shifted origin, a non-integer ratio) are made to nest with :func:`pfs2c2.alignment.align_pair`;
without it they are refused with the ``gdalwarp`` hint and ``or pass --align``.

A product pair also gives the operators' bounds: the MSI product's sensor (``sentinel2a``/``b``) and
bands become the SRF support (as ``--srf-support sentinel2a --bands B2,B3,B4,B8`` would), the HSI
product's band centres and FWHM the wavelengths (:func:`product_operator_specs`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from .._checks import (
    ALIGN_HINT,
    check_msi_bands_option,
    check_product_role,
    check_valid_overlap,
)
from ..errors import InputError
from .inputs import InputPair, read_file_pair

if TYPE_CHECKING:
    from ..config import FusionConfig
    from ..io import RasterMeta
    from ..products import Product

__all__ = [
    "InputSource",
    "RunPair",
    "read_inputs",
    "read_pair",
    "align_inputs",
    "product_operator_specs",
    "aligned_config",
    "masks_record",
    "masked_output",
]

_GRID_FIXES = ("gdalwarp", "rio warp", "reproject one onto the other")
"""Words of the grid refusals that alignment fixes (different CRS, non-integer ratio, shifted origin)."""


@dataclass(frozen=True)
class InputSource:
    """One input as read, whole: ``(C, H, W)`` cube, metadata, and the product it came from (or None)."""

    cube: np.ndarray
    meta: RasterMeta
    product: Product | None = None
    reader: str | None = None

    @property
    def valid(self) -> np.ndarray | None:
        """``(H, W)`` valid pixels of the product (None for a plain file)."""
        return None if self.product is None else self.product.valid


@dataclass
class RunPair:
    """The pair of a run, cropped (and with ``align`` resampled) so that the grids nest.

    ``hsi`` is ``(C, h, w)``, ``msi`` ``(c, H, W)``; ``hsi_mask`` / ``msi_mask`` are ``(h, w)`` / ``(H, W)``
    bool, True = data (pass them to :func:`pfs2c2.fuse` with ``mask_nonfinite=self.mask_nonfinite``).
    ``alignment`` is :meth:`pfs2c2.alignment.AlignmentRecord.to_dict` when the pair was aligned.
    """

    hsi: np.ndarray
    hsi_meta: RasterMeta
    msi: np.ndarray
    msi_meta: RasterMeta
    ratio: int | None
    hsi_mask: np.ndarray
    msi_mask: np.ndarray
    hsi_product: Product | None = field(default=None, repr=False)
    msi_product: Product | None = field(default=None, repr=False)
    alignment: dict[str, Any] | None = None
    mask_nonfinite: bool = False

    @property
    def products(self) -> list[str]:
        """``"enmap L2A"`` etc. for each input that is a product."""
        return [f"{p.sensor} {p.level}" for p in (self.hsi_product, self.msi_product) if p is not None]

    def input_pair(self) -> InputPair:
        """The five fields of :class:`pfs2c2.runs.InputPair` (cubes, metadata, ratio)."""
        return InputPair(self.hsi, self.hsi_meta, self.msi, self.msi_meta, self.ratio)


def _reader_of(spec: str | Path) -> str | None:
    from ..products import detect_product

    return detect_product(spec) if Path(str(spec)).exists() else None


def _read_source(spec: str | Path, role: str, reader: str | None, msi_bands: str | None) -> InputSource:
    """Read one input whole: a product with its reader, else a file with :func:`pfs2c2.io.read_cube`."""
    from ..io import read_cube
    from ..products import READERS

    if reader is None:
        cube, meta = read_cube(spec)
        return InputSource(cube, meta)
    options: dict[str, Any] = {}
    if reader == "sentinel2":
        options["bands"] = _sentinel2_bands(msi_bands or "10m")
    product = READERS[reader].read(spec, **options)  # detected once, by _reader_of
    check_product_role(str(spec), reader, product.kind, role)
    return InputSource(product.cube, product.meta, product, reader)


def _sentinel2_bands(text: str) -> str | list[str]:
    """``--msi-bands``: ``10m``, ``20m`` or band names ``B02,B03,...``."""
    t = text.strip()
    if t.lower() in ("10m", "20m"):
        return t.lower()
    return [b.strip() for b in t.split(",") if b.strip()]


def _window(cube: np.ndarray, meta: RasterMeta, window: tuple[int, int, int, int] | None) -> tuple[np.ndarray, Any]:
    """``cube[:, window]`` and its metadata (the transform moved to the window's corner)."""
    if window is None:
        return cube, meta
    r0, c0, h, w = window
    assert meta.transform is not None  # match_grids gives windows only for georeferenced images
    a, b, c, d, e, f = tuple(meta.transform)[:6]
    moved = meta.replace(transform=(a, b, c + c0 * a + r0 * b, d, e, f + c0 * d + r0 * e))
    return cube[..., r0 : r0 + h, c0 : c0 + w], moved


def _crop_mask(mask: np.ndarray | None, window: tuple[int, int, int, int] | None) -> np.ndarray | None:
    if mask is None or window is None:
        return mask
    r0, c0, h, w = window
    return mask[r0 : r0 + h, c0 : c0 + w]


def read_inputs(
    hsi_spec: str | Path,
    msi_spec: str | Path,
    ratio: int | None = None,
    *,
    msi_bands: str | None = None,
    align: bool = False,
    saturation: float | None = None,
    resample: str | None = None,
    method: str | None = None,
) -> RunPair:
    """Read a run's pair (products or files), make the grids nest, and combine the masks.

    Args:
        hsi_spec, msi_spec: product paths or file specs.
        ratio: the spatial scale factor when known.
        msi_bands: Sentinel-2 bands: ``"10m"`` (default), ``"20m"`` or ``"B02,B03,..."``.
        align: make grids that do not nest nest (:func:`pfs2c2.alignment.align_pair`) instead of refusing.
        saturation: pixels with any band at or above it are masked.
        resample, method: :func:`pfs2c2.alignment.align_pair`'s (default: its own).

    Raises:
        InputError: unreadable products, grids that do not nest (without ``align``), no overlap, no LR
            pixel valid in both images (one-line messages).
    """
    from ..io import match_grids
    from ..masks import valid_pixels

    hsi_reader, msi_reader = _reader_of(hsi_spec), _reader_of(msi_spec)
    check_msi_bands_option(msi_bands, msi_reader)
    if hsi_reader is None and msi_reader is None and not align:
        try:
            plain = read_file_pair(hsi_spec, msi_spec, ratio)  # exactly as before products existed
        except InputError as exc:
            _raise_with_hint(exc)
        return RunPair(
            *plain,
            hsi_mask=valid_pixels(plain.hsi, plain.hsi_meta.nodata, saturation),
            msi_mask=valid_pixels(plain.msi, plain.msi_meta.nodata, saturation),
        )
    hsi = _read_source(hsi_spec, "hsi", hsi_reader, None)
    msi = _read_source(msi_spec, "msi", msi_reader, msi_bands)
    alignment = None
    try:
        grid = match_grids(hsi.meta, hsi.cube.shape[1:], msi.meta, msi.cube.shape[1:], ratio)
    except InputError as exc:
        if not align or not _alignable(exc):
            _raise_with_hint(exc)
        grid = None
    if grid is not None:
        y, y_meta = _window(hsi.cube, hsi.meta, grid.hsi_window)
        z, z_meta = _window(msi.cube, msi.meta, grid.msi_window)
        y_valid, z_valid = _crop_mask(hsi.valid, grid.hsi_window), _crop_mask(msi.valid, grid.msi_window)
        r = grid.ratio
    else:
        y, y_meta, z, z_meta, y_valid, z_valid, r, alignment = _align(hsi, msi, ratio, resample, method)
    hsi_mask = valid_pixels(y, y_meta.nodata, saturation)
    msi_mask = valid_pixels(z, z_meta.nodata, saturation)
    if y_valid is not None:
        hsi_mask &= y_valid
    if z_valid is not None:
        msi_mask &= z_valid
    pair = RunPair(y, y_meta, z, z_meta, r, hsi_mask, msi_mask, hsi.product, msi.product, alignment, True)
    _check_overlap(pair)
    return pair


def _alignable(exc: InputError) -> bool:
    """Whether a grid refusal of :func:`pfs2c2.io.match_grids` is one that alignment fixes."""
    return any(w in str(exc) for w in _GRID_FIXES)


def _raise_with_hint(exc: InputError) -> NoReturn:
    """Raise ``exc`` again, with "or pass --align" when alignment would fix it."""
    if _alignable(exc):
        raise InputError(str(exc) + ALIGN_HINT) from None
    raise exc


def _align(
    hsi: InputSource, msi: InputSource, ratio: int | None, resample: str | None, method: str | None
) -> tuple[np.ndarray, Any, np.ndarray, Any, np.ndarray, np.ndarray, int, dict[str, Any]]:
    from ..alignment import align_pair

    options: dict[str, Any] = {"ratio": ratio}
    if resample is not None:
        options["resample"] = resample
    if method is not None:
        options["method"] = method
    out = align_pair(hsi.cube, hsi.meta, msi.cube, msi.meta, hsi_valid=hsi.valid, msi_valid=msi.valid, **options)
    return out.hsi, out.hsi_meta, out.msi, out.msi_meta, out.hsi_valid, out.msi_valid, out.ratio, out.record.to_dict()


def _check_overlap(pair: RunPair) -> None:
    """No LR pixel valid in the HSI and in its whole MSI block: one line with what masked them."""
    from .._checks import infer_ratio
    from ..masks import block_all

    r = pair.ratio or infer_ratio(pair.hsi.shape, pair.msi.shape)
    h, w = pair.msi_mask.shape[0] // r, pair.msi_mask.shape[1] // r
    lr = pair.hsi_mask[:h, :w] & block_all(pair.msi_mask, r)
    reasons = ""
    if pair.msi_product is not None:
        layers = {k: v for k, v in pair.msi_product.masked_fractions().items() if k != "invalid" and v > 0}
        reasons = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(layers.items(), key=lambda kv: -kv[1])[:3])
    check_valid_overlap(int(np.count_nonzero(lr)), _masked(pair.hsi_mask), _masked(pair.msi_mask), reasons)


def _masked(mask: np.ndarray) -> float:
    return float(np.count_nonzero(~mask)) / max(int(mask.size), 1)


def read_pair(
    hsi_spec: str | Path,
    msi_spec: str | Path,
    ratio: int | None = None,
    *,
    msi_bands: str | None = None,
    align: bool = False,
) -> InputPair:
    """Read both inputs (products or files); with georeferencing, check the grids nest and crop both to their overlap.

    File pairs are read as :func:`pfs2c2.runs.inputs.read_file_pair` does; a product (see
    :func:`read_inputs`) has NaN at its masked pixels. Returns an :class:`InputPair` (unpacks as
    ``hsi, hsi_meta, msi, msi_meta, ratio``); :func:`read_inputs` also gives the masks.
    """
    if not align and _reader_of(hsi_spec) is None and _reader_of(msi_spec) is None:
        return read_file_pair(hsi_spec, msi_spec, ratio)
    return read_inputs(hsi_spec, msi_spec, ratio, msi_bands=msi_bands, align=align).input_pair()


_S2_NAME = re.compile(r"^B0(\d)$", re.IGNORECASE)


def product_operator_specs(pair: RunPair, specs: dict[str, Any]) -> dict[str, Any]:
    """The operator specs of :func:`pfs2c2.runs.resolve_operators`, bounded by the MSI product's sensor.

    Without ``srf``/``srf_support`` given and with an MSI product, the support is its sensor's responses
    (``sentinel2a``/``sentinel2b``) for its bands (``B02`` -> ``B2``), unless ``bands`` names them.
    """
    out = dict(specs)
    product = pair.msi_product
    if product is None or out.get("srf") or out.get("srf_support"):
        return out
    out["srf_support"] = product.sensor
    if not out.get("bands") and product.meta.band_names:
        out["bands"] = ",".join(_S2_NAME.sub(r"B\1", b) for b in product.meta.band_names)
    return out


def aligned_config(config: FusionConfig, pair: RunPair, psf_known: bool) -> FusionConfig:
    """``config`` with the PSF size alignment asks for (ratio + 2, absorbing a residual shift) when an image moved.

    Unchanged when nothing moved, the PSF is known, or the configuration sets ``psf_size``.
    """
    size = (pair.alignment or {}).get("psf_size")
    if size is None or psf_known or config.psf_size is not None:
        return config
    return dataclasses.replace(config, psf_size=int(size))


def masked_output(pair: RunPair, fused: np.ndarray) -> np.ndarray:
    """The fused ``(C, H, W)`` cube with NaN wherever a mask of a product or aligned pair says no data: the
    MSI pixel or the HSI pixel above it (a file pair without ``align`` is returned as is)."""
    if not pair.mask_nonfinite:
        return fused
    r = fused.shape[1] // pair.hsi_mask.shape[0] if pair.ratio is None else pair.ratio
    hsi_hr = np.repeat(np.repeat(pair.hsi_mask, r, axis=0), r, axis=1)[: fused.shape[1], : fused.shape[2]]
    keep = hsi_hr & pair.msi_mask[: fused.shape[1], : fused.shape[2]]
    return np.where(keep[None], fused, np.float32(np.nan)).astype(fused.dtype, copy=False)


def masks_record(pair: RunPair, fused: np.ndarray | None = None) -> dict[str, Any]:
    """run.json's ``masks``: per input the fraction of pixels masked (after cropping) and, for a product,
    each named layer's fraction over the product as read (:meth:`pfs2c2.products.Product.masked_fractions`);
    ``output``: the fraction of fused pixels that are nodata."""
    record: dict[str, Any] = {}
    for name, mask, product in (
        ("hsi", pair.hsi_mask, pair.hsi_product),
        ("msi", pair.msi_mask, pair.msi_product),
    ):
        entry: dict[str, Any] = {"masked": _masked(mask)}
        if product is not None:
            entry["product"] = f"{product.sensor} {product.level}"
            entry["acquired"] = product.acquired
            entry["layers"] = product.masked_fractions()
        record[name] = entry
    if fused is not None:
        bad = ~np.all(np.isfinite(fused), axis=0)
        record["output"] = {"masked": float(np.count_nonzero(bad)) / max(int(bad.size), 1)}
    return record


def align_inputs(
    hsi_spec: str | Path,
    msi_spec: str | Path,
    out_hsi: str | Path,
    out_msi: str | Path,
    *,
    ratio: int | None = None,
    msi_bands: str | None = None,
    resample: str | None = None,
    method: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Read a pair (products or files), make the grids nest and write both cubes (masked pixels NaN).

    Grids that already nest are only cropped. Returns the alignment record
    (:meth:`pfs2c2.alignment.AlignmentRecord.to_dict`) with the masked fractions (``masks``).
    """
    from ..alignment import align_pair
    from ..io import write_cube

    hsi_reader, msi_reader = _reader_of(hsi_spec), _reader_of(msi_spec)
    check_msi_bands_option(msi_bands, msi_reader)
    hsi = _read_source(hsi_spec, "hsi", hsi_reader, None)
    msi = _read_source(msi_spec, "msi", msi_reader, msi_bands)
    options: dict[str, Any] = {"ratio": ratio}
    if resample is not None:
        options["resample"] = resample
    if method is not None:
        options["method"] = method
    out = align_pair(hsi.cube, hsi.meta, msi.cube, msi.meta, hsi_valid=hsi.valid, msi_valid=msi.valid, **options)
    pair = RunPair(
        out.hsi, out.hsi_meta, out.msi, out.msi_meta, out.ratio, out.hsi_valid, out.msi_valid,
        hsi.product, msi.product, out.record.to_dict(), True,
    )  # fmt: skip
    _check_overlap(pair)
    written = []
    try:
        for path, cube, meta, valid in (
            (out_hsi, out.hsi, out.hsi_meta, out.hsi_valid),
            (out_msi, out.msi, out.msi_meta, out.msi_valid),
        ):
            fill = float("nan") if meta.nodata is None else meta.nodata
            data = np.where(valid[None], cube, np.float32(fill)).astype(np.float32, copy=False)
            written.append(write_cube(path, data, meta.replace(nodata=fill, source=None), overwrite=overwrite))
    except BaseException:
        if not overwrite:
            for p in written:
                Path(p).unlink(missing_ok=True)
        raise
    return {**out.record.to_dict(), "masks": masks_record(pair)}
