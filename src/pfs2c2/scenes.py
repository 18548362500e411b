"""A built-in synthetic scene for the demo: no file needed, nothing downloaded.

Five materials with smooth, physically shaped reflectance spectra (vegetation with a red edge, dry
soil, water, a bright roof, asphalt) are mixed by abundance maps that combine smooth random fields
with sharp-edged objects (fields, roads, buildings), so the scene has both texture and edges.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def material_spectra(wavelengths_nm: np.ndarray) -> np.ndarray:
    """Reflectance ``(5, C)`` in [0, 1] of vegetation, soil, water, roof and asphalt at ``wavelengths_nm``."""
    w = np.asarray(wavelengths_nm, dtype=np.float64)

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((w - centre) / width) ** 2)

    red_edge = 1.0 / (1.0 + np.exp(-(w - 715.0) / 12.0))
    vegetation = 0.04 + 0.08 * bump(550, 35) + 0.42 * red_edge - 0.06 * bump(970, 30) * red_edge
    soil = 0.12 + 0.25 * (w - w.min()) / np.ptp(w) - 0.03 * bump(900, 60)
    water = 0.08 * np.exp(-(w - 400.0) / 180.0) + 0.01
    roof = 0.45 + 0.1 * bump(620, 80) - 0.05 * bump(850, 50)
    asphalt = 0.07 + 0.04 * (w - w.min()) / np.ptp(w)
    return np.clip(np.stack([vegetation, soil, water, roof, asphalt]), 0.0, 1.0)


def synthetic_scene(size: int = 96, bands: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A reflectance cube over 400-1000 nm.

    Args:
        size: height and width in pixels.
        bands: number of spectral bands, evenly spaced over 400-1000 nm.
        seed: random seed of the layout.

    Returns:
        ``(cube (bands, size, size) float32 in [0, 1], wavelengths_nm (bands,))``.
    """
    rng = np.random.default_rng(seed)
    wavelengths = np.linspace(400.0, 1000.0, bands)
    logits = np.stack([gaussian_filter(rng.standard_normal((size, size)), size / 12) for _ in range(5)])
    logits *= 3.0 / logits.std()
    yy, xx = np.mgrid[:size, :size]
    for _ in range(6):  # rectangular buildings (roof) and fields (vegetation / soil)
        y0, x0 = rng.integers(0, size - 8, 2)
        h, w = rng.integers(4, size // 4, 2)
        logits[rng.choice([0, 1, 3]), y0 : y0 + h, x0 : x0 + w] += 6.0
    road = np.abs((yy - 0.4 * xx) - size * 0.3) < 2.0
    logits[4, road] += 8.0
    river = (xx - size * 0.8 - 5 * np.sin(yy / 7.0)) ** 2 < 9.0
    logits[2, river] += 8.0
    abundances = np.exp(logits - logits.max(0))
    abundances /= abundances.sum(0)
    shading = 0.85 + 0.15 * gaussian_filter(rng.random((size, size)), 2.0) / 0.5
    cube = np.einsum("mc,mhw->chw", material_spectra(wavelengths), abundances) * shading
    return np.clip(cube, 0.0, 1.0).astype(np.float32), wavelengths
