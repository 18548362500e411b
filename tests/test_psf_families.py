import numpy as np
import pytest

from pfs2c2.errors import InputError
from pfs2c2.physics import blur_downsample
from pfs2c2.psf_families import FAMILIES, psf_family

PARAMS = {"anisotropic": {"fwhm_y": 6.0, "fwhm_x": 3.0, "angle_deg": 30.0}}


def _moments(k: np.ndarray) -> tuple[float, float, float, float]:
    o = np.arange(k.shape[0]) - (k.shape[0] - 1) / 2.0
    cy, cx = (k.sum(1) * o).sum(), (k.sum(0) * o).sum()
    vy, vx = (k.sum(1) * (o - cy) ** 2).sum(), (k.sum(0) * (o - cx) ** 2).sum()
    return cy, cx, vy, vx


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("ratio", [3, 4, 8])
def test_valid_kernel(name: str, ratio: int) -> None:
    k = psf_family(name, ratio, **PARAMS.get(name, {}))
    assert k.shape[0] == k.shape[1] >= ratio and (k.shape[0] - ratio) % 2 == 0
    assert k.min() >= 0 and abs(k.sum() - 1) < 1e-12
    x = np.random.default_rng(0).random((2, 8 * ratio, 8 * ratio))
    assert blur_downsample(x, k, ratio).shape == (2, 8, 8)


def test_shift_and_width() -> None:
    cy, cx, _, _ = _moments(psf_family("shifted", 4, shift_lr=0.5))
    assert abs(cy - 2.0) < 0.02 and abs(cx) < 1e-9
    _, _, vy, _ = _moments(psf_family("gaussian", 4, fwhm=4.0))
    assert abs(np.sqrt(vy) - 4.0 / 2.35482) < 0.05
    _, _, vy, vx = _moments(psf_family("anisotropic", 4, fwhm_y=6.0, fwhm_x=3.0))
    assert vy > 3 * vx
    assert psf_family("wide", 4).shape[0] > 4


def test_unknown_family() -> None:
    with pytest.raises(InputError, match="unknown PSF family"):
        psf_family("sinc", 4)
