"""What the baselines share (:mod:`pfs2c2.baselines.common`): the blind SRF estimate and the input checks."""

from __future__ import annotations

import numpy as np
import pytest

from pfs2c2.baselines import METHODS, estimate_srf, linear_regression_fusion
from pfs2c2.baselines.common import prepare
from pfs2c2.errors import InputError
from pfs2c2.physics import blur_downsample, gaussian_psf


def test_blind_srf_estimate_recovers_the_simulation_srf(pavia_problem):
    sim = pavia_problem["sim"]
    estimated = estimate_srf(sim.lr_hsi, blur_downsample(sim.hr_msi.astype(np.float64), sim.psf, 4))
    assert estimated.shape == sim.srf.shape and np.all(estimated >= 0)
    np.testing.assert_allclose(estimated, sim.srf, atol=2e-3)


def _bad_inputs() -> list[tuple[str, np.ndarray, np.ndarray, dict, str]]:
    rng = np.random.default_rng(0)
    lr, ms = rng.random((10, 8, 8)), rng.random((3, 32, 32))
    srf = rng.random((10, 3))
    return [
        ("2-D HSI", lr[0], ms, {}, "lr_hsi must be a 3-D"),
        ("2-D MSI", lr, ms[0], {}, "hr_msi must be a 3-D"),
        ("MSI with as many bands", lr, rng.random((10, 32, 32)), {}, "fewer bands"),
        ("MSI with more bands", lr[:3], rng.random((4, 32, 32)), {}, "fewer bands"),
        ("non-integer ratio", lr, ms, {"ratio": 2.5}, "ratio must be an integer"),
        ("contradicting ratio", lr, ms, {"ratio": 3}, "contradicts"),
        ("sizes not a multiple", lr, ms[:, :, :30], {}, "not an integer multiple"),
        ("same size", lr, ms[:, :8, :8], {}, "same size"),
        ("transposed SRF", lr, ms, {"srf": srf.T}, "transpose"),
        ("negative SRF", lr, ms, {"srf": -srf}, "non-negative"),
        ("PSF smaller than ratio", lr, ms, {"psf": np.ones((2, 2))}, "smaller than the ratio"),
        ("NaN in HSI", np.where(lr > 0.99, np.nan, lr), ms, {}, "NaN"),
    ]


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda case: case[0])
def test_bad_inputs_raise_one_line_input_error(name, case):
    _, lr, ms, kwargs, message = case
    with pytest.raises(InputError, match=message) as info:
        METHODS[name](lr, ms, **kwargs)
    assert "\n" not in str(info.value)


def test_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        linear_regression_fusion(np.ones((4, 4, 4)), np.ones((4, 8, 8)), 2)


def test_prepare_names_the_ratio_argument_and_accepts_a_one_band_msi():
    rng = np.random.default_rng(1)
    lr, ms = rng.random((10, 8, 8)), rng.random((3, 32, 32))
    with pytest.raises(InputError, match=r"^ratio=3 contradicts"):
        prepare(lr, ms, 3, None, None)
    problem = prepare(lr, ms[:1], None, None, np.ones((4, 4)))  # pansharpening is fine for the baselines
    assert problem.ratio == 4 and problem.y.dtype == problem.z.dtype == np.float64
    np.testing.assert_array_equal(problem.psf, np.full((4, 4), 1 / 16))  # a given PSF is divided by its sum
    np.testing.assert_array_equal(prepare(lr, ms, 4, None, None).psf, gaussian_psf(4))
