"""Shared fixtures: real data from ../shared/data (skipped when absent) and the Pavia fusion problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default="cpu",
        help="torch device of the tests that take the `device` fixture: cpu (default) or cuda[:N] "
        "(benchmarks/gpu_check.py runs them on a GPU)",
    )


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> str:
    """The device the device-aware tests run on (``pytest --device cuda``); skips when it is absent."""
    import torch

    name = str(request.config.getoption("--device"))
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip(f"--device {name} asked for, but torch sees no CUDA device")
    return name


def data_path(relative: str) -> Path:
    """Path of a file in ../shared/data; skips the test when it is not there."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"shared data file {relative} not found at {DATA}")
    return path


@pytest.fixture(scope="session")
def pavia_problem():
    """Pavia beach-4 (ROSIS, 100x100x102, min-max to [0, 1]), ratio 4, IKONOS B/G/R/NIR (GUIDE section 6).

    Returns a dict with the reference, the simulation, the IKONOS SRF and the wavelengths.
    """
    import scipy.io

    from pfs2c2.sensors import load_srf
    from pfs2c2.simulation import simulate

    cube = scipy.io.loadmat(data_path("hsi/abu-beach-4_pavia_rosis.mat"))["data"].astype(np.float64)
    cube = (cube - cube.min()) / (cube.max() - cube.min())
    reference = cube.transpose(2, 0, 1).astype(np.float32)
    wavelengths = np.linspace(430.0, 860.0, reference.shape[0])
    srf = load_srf(
        str(data_path("srf/sensors/IKONOS2_rsr.csv")),
        hsi_wavelengths_nm=wavelengths,
        bands=["blue", "green", "red", "nir"],
    )
    sim = simulate(reference, 4, srf)
    return {"reference": sim.reference, "sim": sim, "srf": srf, "wavelengths": wavelengths}
