"""Fixtures of the CLI tests."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from .helpers import TINY


@pytest.fixture
def inputs(tmp_path):
    """A random 5x5x10 LR-HSI / 20x20x3 HR-MSI pair (.npy, (H, W, C)) and tiny.yaml (:data:`TINY`)."""
    rng = np.random.default_rng(1)
    np.save(tmp_path / "lr.npy", rng.random((5, 5, 10)).astype(np.float32))
    np.save(tmp_path / "hr.npy", rng.random((20, 20, 3)).astype(np.float32))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return tmp_path
