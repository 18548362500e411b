"""The forward model: PSF properties, simulation reproduces the inputs, float64 gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pfs2c2.physics import (
    blur_downsample,
    blur_downsample_tensor,
    gaussian_psf,
    srf_project,
    srf_project_tensor,
)


@pytest.mark.parametrize("ratio", [2, 3, 4, 5, 8])
def test_gaussian_psf_is_normalised_symmetric_and_has_fwhm_ratio(ratio):
    psf = gaussian_psf(ratio)
    assert psf.shape == (ratio, ratio)
    assert np.all(psf > 0) and psf.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(psf, psf.T)
    np.testing.assert_allclose(psf, psf[::-1, ::-1])
    # FWHM = ratio: a wide kernel's centre profile falls to half its peak at +-ratio/2
    wide = gaussian_psf(ratio, kernel_size=ratio + 40)
    centre = (wide.shape[0] - 1) / 2
    sigma = ratio / (2 * np.sqrt(2 * np.log(2)))
    x = np.arange(wide.shape[0]) - centre
    # the package's kernel itself: log(profile) is a parabola -x^2 / (2 sigma^2) whose width is FWHM = ratio
    profile = wide.sum(0)
    curvature = np.polyfit(x**2, np.log(profile), 1)[0]
    fwhm = 2 * np.sqrt(2 * np.log(2)) * np.sqrt(-1 / (2 * curvature))
    assert fwhm == pytest.approx(ratio, rel=1e-9)
    assert np.sum(profile * x**2) == pytest.approx(sigma**2, rel=1e-4)  # its variance
    expected = np.exp(-(x**2) / (2 * sigma**2))
    np.testing.assert_allclose(wide.sum(0), expected / expected.sum(), rtol=1e-9, atol=1e-300)


def test_blur_downsample_equals_blockwise_weighted_mean():
    rng = np.random.default_rng(0)
    x = rng.random((3, 12, 8))
    psf = gaussian_psf(4)
    out = blur_downsample(x, psf, 4)
    assert out.shape == (3, 3, 2)
    expected = np.einsum("cyaxb,ab->cyx", x.reshape(3, 3, 4, 2, 4), psf)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_constant_image_is_preserved_by_any_normalised_psf():
    x = np.full((2, 16, 16), 0.7)
    for psf in (gaussian_psf(4), gaussian_psf(4, kernel_size=8), np.full((4, 4), 1 / 16)):
        np.testing.assert_allclose(blur_downsample(x, psf, 4), 0.7, rtol=1e-12)


def test_srf_projection_is_matrix_product_per_pixel():
    rng = np.random.default_rng(1)
    x, srf = rng.random((10, 5, 6)), rng.random((10, 3))
    out = srf_project(x, srf)
    np.testing.assert_allclose(out[:, 2, 4], x[:, 2, 4] @ srf)


def test_operators_pass_float64_gradcheck():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    psf = torch.rand(4, 4, dtype=torch.float64, requires_grad=True)
    srf = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, k: blur_downsample_tensor(a, k, 4), (x, psf))
    wide = torch.rand(6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, k: blur_downsample_tensor(a, k, 2), (x, wide))
    assert torch.autograd.gradcheck(srf_project_tensor, (x, srf))


def test_size_not_divisible_by_ratio_is_rejected():
    with pytest.raises(ValueError, match="not divisible"):
        blur_downsample(np.zeros((1, 10, 8)), gaussian_psf(4), 4)
