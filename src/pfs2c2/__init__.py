"""pfs2c2: blind hyperspectral-multispectral image fusion (Jia et al., IEEE JSTARS 2025).

Public API::

    result = pfs2c2.fuse(lr_hsi, hr_msi)            # blind PSF and SRF, default preset
    result = pfs2c2.fuse(lr_hsi, hr_msi, config=pfs2c2.FusionConfig.preset_config("fast"),
                         run=pfs2c2.RunOptions(device="cuda", checkpoint="run.ckpt"))
    sim = pfs2c2.simulate(reference, 4, srf)        # Wald-protocol LR-HSI / HR-MSI pair
    scores = pfs2c2.evaluate(result.fused, reference, 4)

Names are imported on first use so that the command line starts without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "FusionConfig": "config",
    "StageConfig": "config",
    "RunOptions": "config",
    "FusionResult": "fusion",
    "RunResult": "fusion",
    "fuse": "fusion",
    "evaluate": "metrics",
    "Simulation": "simulation",
    "simulate": "simulation",
    "InputError": "errors",
    "FusionError": "errors",
    "open_dataarray": "dataarray",
}
__all__ = [
    "FusionConfig",
    "StageConfig",
    "RunOptions",
    "FusionResult",
    "RunResult",
    "fuse",
    "evaluate",
    "Simulation",
    "simulate",
    "InputError",
    "FusionError",
    "open_dataarray",
    "__version__",
]

if TYPE_CHECKING:
    from .config import FusionConfig, RunOptions, StageConfig
    from .dataarray import open_dataarray
    from .errors import FusionError, InputError
    from .fusion import FusionResult, RunResult, fuse
    from .metrics import evaluate
    from .simulation import Simulation, simulate


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'pfs2c2' has no attribute {name!r}")
