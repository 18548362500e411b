"""Scene-scale fusion: learn the four modules once from LR pixels sampled over the whole scene, then
stream the fused cube block by block to the output file (issue 15; being built).

* :class:`FusionModel`: a trained SpeUp with a frozen attention gate plus the residual step's operators
  (:meth:`FusionModel.from_trainer`);
* :func:`stream_fused`: block-by-block inference with a halo, equal to the whole-image pass;
* :func:`stream_to_file`: the same, written atomically through :func:`pfs2c2.io.open_cube_writer`.
"""

from __future__ import annotations

from .model import FusionModel
from .stream import BlockWriter, stream_fused, stream_to_file

__all__ = ["BlockWriter", "FusionModel", "stream_fused", "stream_to_file"]
