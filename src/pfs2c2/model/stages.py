"""Stage numbers of a run, as recorded in the history, timings (``stage<N>``) and checkpoints."""

from __future__ import annotations

from enum import IntEnum


class Stage(IntEnum):
    """The stages of one run, in order.

    PRETRAIN, DEGRADATIONS and JOINT are the paper's stages 1-3. RETRAIN (4) is stage 3 run again on
    all LR pixels for the length a hold-out chose (``FusionConfig.holdout_retrain``). FINISHED (5)
    marks a checkpoint written after training ended. Outputs store the plain int (``int(stage)``).
    """

    PRETRAIN = 1
    DEGRADATIONS = 2
    JOINT = 3
    RETRAIN = 4
    FINISHED = 5
