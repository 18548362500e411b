"""Scene-scale fusion: learn the four modules once from LR pixels sampled over the whole scene, then
stream the fused cube block by block to the output file.

* :func:`fuse_scene`: files (or arrays) in, a written cube out; training on :func:`draw_sample`'s
  patches, so its cost does not grow with the scene;
* :func:`draw_sample`: LR patches with their HR windows, stratified over the scene, read by windows;

* :class:`FusionModel`: a trained SpeUp with a frozen attention gate plus the residual step's operators
  (:meth:`FusionModel.from_trainer`);
* :func:`stream_fused`: block-by-block inference with a halo, equal to the whole-image pass;
* :func:`stream_to_file`: the same, written atomically through :func:`pfs2c2.io.open_cube_writer`.
"""

from __future__ import annotations

from .fuse import DEFAULT_SAMPLE_PIXELS, SceneResult, fuse_scene
from .model import FusionModel
from .sample import SceneSample, draw_sample
from .stream import BlockWriter, stream_fused, stream_to_file
from .windows import CubeWindow

__all__ = [
    "DEFAULT_SAMPLE_PIXELS",
    "BlockWriter",
    "CubeWindow",
    "FusionModel",
    "SceneResult",
    "SceneSample",
    "draw_sample",
    "fuse_scene",
    "stream_fused",
    "stream_to_file",
]
