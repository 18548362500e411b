"""The method: the four modules, the stage losses, the optimisation loop, one run's trainer, checkpoints.

* :mod:`.modules`: SpectralUp, SpatialUp, SpectralDown, SpatialDown (keys ``spe_up``, ``spa_up``,
  ``spe_down``, ``spa_down``) and how each starts.
* :mod:`.losses`: the terms of stages 1, 2 and 3 (``stage1_terms`` ...), ``masked_l1``.
* :mod:`.loop`: ``optimise()`` and its hooks (roll-back, hold-out, checkpoint, history).
* :mod:`.trainer`: ``Problem`` (the data), ``Trainer`` (one run), ``Stage``.
* :mod:`.checkpoint`: training states in memory and on disk.

The forward model these modules learn is in :mod:`pfs2c2.physics`; :func:`pfs2c2.fuse` drives it.
"""

from __future__ import annotations

from .checkpoint import TrainingState, checkpoint_files, fingerprint, load_checkpoint, remove_checkpoint
from .losses import masked_l1, stage1_terms, stage2_terms, stage3_terms
from .modules import Modules, SpatialDown, SpatialUp, SpectralDown, SpectralUp
from .stages import Stage
from .trainer import Problem, Trainer

__all__ = [
    "Modules",
    "Problem",
    "SpatialDown",
    "SpatialUp",
    "SpectralDown",
    "SpectralUp",
    "Stage",
    "Trainer",
    "TrainingState",
    "checkpoint_files",
    "fingerprint",
    "load_checkpoint",
    "masked_l1",
    "remove_checkpoint",
    "stage1_terms",
    "stage2_terms",
    "stage3_terms",
]
