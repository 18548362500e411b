"""The residual step through the learned PSF (``residual_upsampling="psf"``) against the bicubic one.

Run from the repository root (../shared/data beside it), one thread:

    OMP_NUM_THREADS=1 python benchmarks/residual_step.py                      # shifted cases, then the nine standard
    OMP_NUM_THREADS=1 python benchmarks/residual_step.py --cases shift:pavia/ikonos/4 pavia/ikonos/8

Every case is fused once with the default preset (blind); the last step of every ensemble member is
evaluated five ways from the same trained modules, so the columns differ only in the residual step: no
residual step, bicubic (today's default), "psf" with no back-projection (the residual interpolated onto
the PSF's centroid grid), with 3 back-projection steps, and "psf" as
``FusionConfig(residual_upsampling="psf")`` computes it
(:data:`pfs2c2.model.residual.BACK_PROJECTION_ITERATIONS` back-projection steps).
``shift:scene/sensor/r`` is simulated with the protocol's Gaussian (FWHM = r) shifted by one HR pixel
down and right, on a ``2 r x 2 r`` combined kernel (``shiftS:...``: by S HR pixels), and fused blind
with ``psf_size = 2 r``; linear regression + residual given that exact PSF is the oracle column.
``known-shift...``: the same, fused given the exact PSF and SRF. The table is printed; paste it into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pfs2c2 import FusionConfig, fuse, simulate
from pfs2c2.baselines import linear_regression
from pfs2c2.benchmark import STANDARD_CASES, Case, load_reference, make_problem, sensor_srf
from pfs2c2.metrics import evaluate
from pfs2c2.model import trainer as trainer_module
from pfs2c2.model.residual import psf_residual
from pfs2c2.physics import bicubic_upsample_tensor
from pfs2c2.sensors import band_support

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SHIFTED = ("shift:pavia/ikonos/4", "shift:samson/sentinel2/8")
VARIANTS = ("none", "bicubic", "psf (centroid only)", "psf, 3 steps", "psf")

_captured: list[dict[str, np.ndarray]] = []
_original_fused = trainer_module.Trainer.fused


@torch.no_grad()
def _fused_variants(self: Any) -> np.ndarray:
    """Trainer.fused, recording the four residual steps of this ensemble member on the way."""
    m, p = self.modules, self.problem
    out = m.spe_up(p.hr_msi)
    residual = p.lr_hsi - m.spa_down(out)
    mask = p.full_lr_mask
    psf = m.spa_down.psf
    masked = residual if mask is None else residual * mask
    cubes = {
        "none": out,
        "bicubic": out + bicubic_upsample_tensor(masked, p.ratio),
        "psf (centroid only)": out + psf_residual(residual, psf, p.ratio, mask, iterations=0),
        "psf, 3 steps": out + psf_residual(residual, psf, p.ratio, mask, iterations=3),
        "psf": out + psf_residual(residual, psf, p.ratio, mask),
    }
    record = {}
    for name, cube in cubes.items():
        fused = (cube[0] * p.hsi_scale).float().cpu().numpy()
        fused[:, ~p.msi_valid] = np.nan
        record[name] = fused
    _captured.append(record)
    return _original_fused(self)


def shifted_gaussian(ratio: int, shift: float = 1.0) -> np.ndarray:
    """The protocol's Gaussian (FWHM = ratio) on a ``2 ratio`` combined kernel, centred ``shift`` HR pixels
    below and right of the block centre."""
    k = 2 * ratio
    sigma = ratio / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    u = np.arange(k) - (k - 1) / 2.0 - shift
    g = np.exp(-(u**2) / (2.0 * sigma**2))
    kernel = np.outer(g, g)
    return kernel / kernel.sum()


def problem_of(
    spec: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, dict[str, Any], np.ndarray | None, FusionConfig]:
    """``(reference, lr_hsi, hr_msi, ratio, operators, true_psf or None, config)`` of a case spec;
    ``operators`` are the keyword arguments of :func:`pfs2c2.fuse` that say what is known."""
    known = spec.startswith("known-")
    spec = spec.removeprefix("known-")
    if spec.startswith("shift"):
        amount, _, rest = spec.removeprefix("shift").partition(":")
        case = Case.parse(rest)
        reference, wavelengths, _ = load_reference(case.scene, DATA)
        srf, _ = sensor_srf(case.sensor, wavelengths, DATA)
        psf = shifted_gaussian(case.ratio, float(amount or 1))
        sim = simulate(reference, case.ratio, srf, psf=psf, psf_convention="combined")
        config = FusionConfig(psf_size=psf.shape[0])
        operators = {"psf": sim.psf, "srf": sim.srf} if known else {"srf_support": band_support(srf)}
        return sim.reference, sim.lr_hsi, sim.hr_msi, case.ratio, operators, sim.psf, config
    problem = make_problem(Case.parse(spec), DATA)
    return (
        problem.reference,
        problem.lr_hsi,
        problem.hr_msi,
        problem.case.ratio,
        {"srf_support": problem.srf_support},
        None,
        FusionConfig(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=[*SHIFTED, *STANDARD_CASES], help="[shift[S]:]scene/sensor/ratio")
    args = parser.parse_args()
    trainer_module.Trainer.fused = _fused_variants  # type: ignore[method-assign]  # record every variant
    head = "| case | " + " | ".join(VARIANTS) + " | LR + residual, exact PSF | PSF error (max) | time |"
    lines = [head, "|---" * (len(VARIANTS) + 4) + "|"]
    sums: dict[str, list[np.ndarray]] = {"standard": [], "shifted": []}
    for spec in args.cases:
        reference, lr_hsi, hr_msi, ratio, operators, true_psf, config = problem_of(spec)
        _captured.clear()
        start = time.perf_counter()
        result = fuse(lr_hsi, hr_msi, ratio=ratio, config=config, **operators)
        seconds = time.perf_counter() - start
        means = {
            name: np.asarray(np.mean([run[name] for run in _captured], axis=0, dtype=np.float64), dtype=np.float32)
            for name in VARIANTS
        }
        assert np.array_equal(means["bicubic"], result.fused, equal_nan=True), "bicubic variant != fuse()"
        scores = [evaluate(means[name], reference, ratio) for name in VARIANTS]
        cells = [f"{s['psnr']:.2f} / {s['sam']:.2f}" for s in scores]
        row = [[s["psnr"], s["sam"]] for s in scores]
        oracle, error = "", ""
        if true_psf is not None:
            o = evaluate(linear_regression(lr_hsi, hr_msi, ratio, psf=true_psf), reference, ratio)
            oracle = f"{o['psnr']:.2f} / {o['sam']:.2f}"
            k = min(true_psf.shape[0], result.psf.shape[0])
            error = f"{np.abs(result.psf - true_psf).max():.4f}" if result.psf.shape == true_psf.shape else f"k={k}"
        sums["shifted" if true_psf is not None else "standard"].append(np.array(row))
        lines.append(f"| {spec} | {' | '.join(cells)} | {oracle} | {error} | {seconds:.0f} s |")
        print(lines[-1], flush=True)
    for split, rows in sums.items():
        if rows:
            mean = np.mean(rows, axis=0)
            cells = [f"{p:.2f} / {s:.2f}" for p, s in mean]
            lines.append(f"| mean of {len(rows)} {split} | {' | '.join(cells)} | | | |")
    command = "OMP_NUM_THREADS=1 python benchmarks/residual_step.py " + " ".join(sys.argv[1:])
    print(f"\nCommand: `{command.strip()}`\n\nPSNR (dB) / SAM (deg).\n\n" + "\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
