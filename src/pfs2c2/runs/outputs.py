"""What a run writes beside its fused cube: operators, loss history, configuration and run.json.

One writer, :func:`write_run_outputs`, for untiled (:class:`pfs2c2.fusion.FusionResult`) and tiled
(:class:`pfs2c2.tiling.TiledResult`) runs. The files (see :class:`Sidecars`):

* ``psf.csv``: the ``(k, k)`` PSF; ``srf.csv``: the ``(C, c)`` SRF, one row per HSI band (indexed by
  wavelength when known);
* ``history.csv``: one row per logged iteration; ``config.yaml``: the resolved configuration;
* ``run.json``: inputs (absolute paths), ratio, wavelengths, which operators were learned, timings,
  device, the reduced-resolution check, tiling, no-reference indices and metrics;
* ``metrics.json``: the scores against the reference, when there is one.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_reference_shape
from .quality import reference_scores

if TYPE_CHECKING:
    from ..fusion import FusionResult
    from ..io import RasterMeta
    from ..scene import SceneResult
    from ..tiling import TiledResult

SIDECAR_NAMES = {
    "psf": "psf.csv",
    "srf": "srf.csv",
    "history": "history.csv",
    "config": "config.yaml",
    "run": "run.json",
    "metrics": "metrics.json",
}
"""File names of a run's outputs beside its fused cube (``pfs2c2 batch`` prefixes them with OUT's stem)."""


@dataclass(frozen=True)
class Sidecars:
    """Paths of the files :func:`write_run_outputs` writes."""

    psf: Path
    srf: Path
    history: Path
    config: Path
    run: Path
    metrics: Path

    @classmethod
    def beside(cls, out: str | Path, *, prefixed: bool = False) -> Sidecars:
        """``psf.csv`` etc. in OUT's folder; ``prefixed``: ``OUT_STEM.psf.csv`` etc., so that scenes can share a folder."""
        out = Path(out)
        return cls(**{k: out.with_name(f"{out.stem}.{v}" if prefixed else v) for k, v in SIDECAR_NAMES.items()})

    def paths(self) -> list[Path]:
        """Every path, in the order psf, srf, history, config, run, metrics."""
        return list(astuple(self))


@dataclass(frozen=True)
class RunInputs:
    """The file specs a run read, as given (run.json records them with absolute paths)."""

    hsi: str
    msi: str
    reference: str | None = None


def checkpoint_path(out: str | Path) -> Path:
    """``OUT.ckpt``: where an untiled run writing ``out`` keeps its training state."""
    out = Path(out)
    return out.with_name(out.name + ".ckpt")


def may_replace_outputs(out: str | Path, *, resume: bool, overwrite: bool) -> bool:
    """Whether the outputs of a run writing ``out`` may replace existing files.

    An interrupted run (a checkpoint ``OUT.ckpt`` or a work directory ``OUT.tiles``) is continued with
    ``resume``, whose leftover outputs it then replaces (the checkpoint proves they are its own), or
    discarded with ``overwrite`` (the checkpoint is deleted now).

    Raises:
        FileExistsError: a checkpoint exists and neither ``resume`` nor ``overwrite`` is given.
    """
    from ..model import checkpoint_files, remove_checkpoint
    from ..tiling import work_dir_for

    checkpoint = checkpoint_path(out)
    interrupted = bool(checkpoint_files(checkpoint))
    if interrupted and not resume:
        if not overwrite:
            raise FileExistsError(
                f"{checkpoint} holds an interrupted run; pass --resume to continue it or --overwrite to start over"
            )
        remove_checkpoint(checkpoint)
    return overwrite or (resume and interrupted) or (resume and work_dir_for(out).exists())


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (newlines as given)."""
    from ..io import atomic_write

    atomic_write(path, lambda tmp: tmp.write_text(text, newline=""))


def write_npy(path: Path, array: np.ndarray) -> None:
    """Save ``array`` to ``path`` (.npy) atomically."""
    from ..io import atomic_write

    atomic_write(path, lambda tmp: np.save(tmp, array))


def history_csv(history: Sequence[dict[str, Any]]) -> str:
    """The loss history as CSV text: one column per key seen (in order of appearance), floats as ``%.8g``."""
    keys: list[str] = []
    for record in history:
        keys += [k for k in record if k not in keys]
    rows = [",".join(keys)]
    for r in history:
        rows.append(
            ",".join("" if k not in r else (f"{r[k]:.8g}" if isinstance(r[k], float) else str(r[k])) for k in keys)
        )
    return "\n".join(rows) + "\n"


def read_history_csv(path: str | Path) -> list[dict[str, Any]]:
    """The records of a history.csv (:func:`history_csv`): ``stage``/``iteration`` as int, the rest as float."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: (int(v) if k in ("stage", "iteration") else float(v)) for k, v in r.items() if v != ""} for r in rows]


def write_operators(
    psf: np.ndarray, srf: np.ndarray, wavelengths: np.ndarray | None, *, psf_path: Path, srf_path: Path, overwrite: bool
) -> None:
    """``psf_path`` (k x k CSV) and ``srf_path`` (one row per HSI band, indexed by wavelength when known)."""
    from ..io import write_matrix_csv

    write_matrix_csv(psf_path, psf, overwrite=overwrite)
    if wavelengths is not None:
        index: tuple[str, list[Any]] = ("wavelength_nm", [float(w) for w in wavelengths])
    else:
        index = ("hsi_band", list(range(1, srf.shape[0] + 1)))
    columns = [f"msi_band{j + 1}" for j in range(srf.shape[1])]
    write_matrix_csv(srf_path, srf, columns, index, overwrite=overwrite)


def write_fused(
    out: str | Path, fused: np.ndarray, meta: RasterMeta, *, overwrite: bool, bands: Sequence[int] | None = None
) -> None:
    """Write a fused ``(C, H, W)`` cube with its NaN pixels set to ``meta.nodata`` (see :func:`pfs2c2.runs.output_meta`).

    ``bands``: 0-based indices of the bands to write (with their wavelengths and FWHM), default all.
    """
    from ..io import write_band_subset, write_cube

    nodata = meta.nodata if meta.nodata is not None else float("nan")
    cube = np.where(np.isnan(fused), nodata, fused)
    if bands is None:
        write_cube(out, cube, meta, overwrite=overwrite)
    else:
        write_band_subset(cube, meta, out, list(bands), overwrite=overwrite)


def absolute_spec(spec: str) -> str:
    """``spec`` with an absolute path, keeping a ``:VAR`` / ``:/dataset`` suffix."""
    path, sep, var = spec.rpartition(":") if not Path(spec).exists() and ":" in spec else (spec, "", "")
    return str(Path(path).resolve()) + sep + var


def tiling_record(result: TiledResult, executor: str | None) -> dict[str, Any]:
    """run.json's ``tiling`` entry: the tile plan, where the tiles ran, and each tile's record."""
    plan = result.plan
    return {
        "tile_size_lr": plan.tile_size,
        "overlap_lr": plan.overlap,
        "margin_lr": plan.margin,
        "tiles": len(plan.tiles),
        "grid": list(plan.grid_shape),
        "executor": executor,
        "per_tile_operators": result.per_tile_operators,
        "resumed_tiles": result.resumed_tiles,
        "per_tile": result.tiles,
    }


def run_record(
    result: FusionResult | TiledResult | SceneResult, out: Path, inputs: RunInputs, wavelengths: np.ndarray | None
) -> dict[str, Any]:
    """The keys of run.json every run has (see :func:`write_run_outputs` for the others)."""
    return {
        "hsi": absolute_spec(inputs.hsi),
        "msi": absolute_spec(inputs.msi),
        "fused": out.name,
        "reference": absolute_spec(inputs.reference) if inputs.reference else None,
        "ratio": result.ratio,
        "wavelengths_nm": None if wavelengths is None else [float(w) for w in wavelengths],
        "psf_learned": result.psf_learned,
        "srf_learned": result.srf_learned,
        "timings_s": result.timings,
        "device": result.device,
    }


def write_run_outputs(
    result: FusionResult | TiledResult | SceneResult,
    out: str | Path,
    *,
    inputs: RunInputs,
    wavelengths: np.ndarray | None = None,
    sidecars: Sidecars | None = None,
    reference: np.ndarray | None = None,
    validation: dict[str, Any] | None = None,
    no_reference: dict[str, float] | None = None,
    executor: str | None = None,
    overwrite: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, float] | None:
    """Write the files of a finished run beside its fused cube ``out`` (already written).

    Args:
        result: what :func:`pfs2c2.fuse` or :func:`pfs2c2.tiling.fuse_tiled` returned.
        out: the fused cube's path (run.json names it).
        inputs: the file specs read; with ``inputs.reference`` the fused cube is scored against it.
        wavelengths: HSI band centres in nm (index of srf.csv, recorded in run.json).
        sidecars: where to write (default :meth:`Sidecars.beside` ``out``).
        reference: the reference cube when already read (else it is read from ``inputs.reference``).
        validation: the reduced-resolution check's scores (run.json ``validation``).
        no_reference: the no-reference indices (run.json ``no_reference``; None for tiled runs).
        executor: where the tiles ran (tiled runs).
        overwrite: replace existing psf.csv/srf.csv.
        extra: more run.json entries (e.g. ``masks``, ``alignment``: see :func:`pfs2c2.runs.masks_record`).

    Returns:
        The scores against the reference, or None without one.
    """
    from ..io import atomic_write, read_cube
    from ..tiling import TiledResult

    out = Path(out)
    files = sidecars or Sidecars.beside(out)
    write_operators(result.psf, result.srf, wavelengths, psf_path=files.psf, srf_path=files.srf, overwrite=overwrite)
    write_text(files.history, history_csv(result.history))
    atomic_write(files.config, result.config.to_yaml)
    record = run_record(result, out, inputs, wavelengths)
    if validation is not None:
        record["validation"] = validation
    if isinstance(result, TiledResult):
        record["tiling"] = tiling_record(result, executor)
    record.update(extra or {})
    record["no_reference"] = no_reference
    scores = None
    if inputs.reference:
        fused = _fused_cube(result)
        if reference is None:
            reference = read_cube(inputs.reference)[0]
        check_reference_shape(reference.shape, fused.shape)
        scores = reference_scores(fused, reference, result.ratio)
        record["metrics"] = scores
        write_text(files.metrics, json.dumps(scores, indent=2) + "\n")
    write_text(files.run, json.dumps(record, indent=2) + "\n")
    return scores


def _fused_cube(result: FusionResult | TiledResult | SceneResult) -> np.ndarray:
    """The fused ``(C, H, W)`` cube of a run: in memory, or read back from the output file of a tiled or
    sampled run."""
    from ..io import read_cube

    fused = getattr(result, "fused", None)
    if fused is None:
        return read_cube(str(result.path))[0]  # type: ignore[union-attr]  # tiled and sampled runs have one
    return np.asarray(fused)
