"""Checks of product inputs, grid alignment and output band choices of a run (:mod:`pfs2c2.runs`, ``pfs2c2 fuse``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError

__all__ = [
    "ALIGN_HINT",
    "check_product_role",
    "check_msi_bands_option",
    "check_untiled_inputs",
    "check_valid_overlap",
    "parse_band_list",
]

#: Appended to the grid refusals (different CRS, non-integer ratio, shifted origin) of ``pfs2c2 fuse``.
ALIGN_HINT = "; or pass --align to reproject, resample and crop the pair (pfs2c2 align writes it)"


def check_product_role(spec: str, name: str, kind: str, role: str) -> None:
    """Refuse a product given as the wrong input (an HSI product as ``--msi`` or the reverse).

    ``name`` is the reader (``"enmap"``), ``kind`` the product's (``"hsi"``/``"msi"``), ``role`` the option's.
    """
    if kind != role:
        raise InputError(
            f"{spec} is a {name} product ({kind.upper()}) but was given as --{role}; "
            f"give it as --{kind} and the other image as --{role}"
        )


def check_msi_bands_option(msi_bands: str | None, reader: str | None) -> None:
    """Refuse ``--msi-bands`` unless the MSI is a Sentinel-2 product (the only reader that takes it)."""
    if msi_bands is not None and reader != "sentinel2":
        raise InputError(
            f"--msi-bands {msi_bands} chooses the bands of a Sentinel-2 product, but the MSI is "
            f"{'a ' + reader + ' product' if reader else 'not a product'}; drop --msi-bands"
        )


def check_untiled_inputs(tiled: bool, untiled_only: Sequence[str]) -> None:
    """Refuse tiling options together with what only an untiled run does (``untiled_only``: e.g.
    ``"product inputs (enmap)"``, ``"--align"``, ``"--rgb"``)."""
    if tiled and untiled_only:
        raise InputError(
            f"{', '.join(untiled_only)}: only for runs fused whole, in memory; drop "
            "--tile-size/--max-memory/--workers/--scheduler (for a large scene, write the aligned pair "
            "with pfs2c2 align and fuse those GeoTIFFs tiled)"
        )


def check_valid_overlap(lr_valid: int, hsi_masked: float, msi_masked: float, msi_reasons: str) -> None:
    """Refuse a pair in which no LR pixel is valid in the HSI and in its whole MSI block.

    Args:
        lr_valid: number of LR pixels valid in both.
        hsi_masked, msi_masked: fractions (0..1) of masked pixels of each input.
        msi_reasons: what masked the MSI (e.g. ``"cloud 80%, shadow 5%"``), or ``""``.
    """
    if lr_valid == 0:
        why = f" ({msi_reasons})" if msi_reasons else ""
        raise InputError(
            f"no LR pixel is valid in both images after masking (HSI {100 * hsi_masked:.0f}% masked, MSI "
            f"{100 * msi_masked:.0f}% masked{why}); choose acquisitions with fewer clouds over the common area"
        )


def parse_band_list(text: str, option: str) -> list[int | str]:
    """``"1,5,650nm"`` -> ``[0, 4, "650nm"]``: 1-based band numbers become 0-based indices, wavelengths stay.

    Raises:
        InputError: an empty list or a band number below 1.
    """
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise InputError(
            f"{option} {text!r}: give band numbers (1-based) or wavelengths such as 650nm, comma-separated"
        )
    out: list[int | str] = []
    for item in items:
        if item.isdigit():
            if int(item) < 1:
                raise InputError(f"{option}: band numbers are 1-based, got {item}")
            out.append(int(item) - 1)
        else:
            out.append(item)
    return out
