"""Validation matrix (issue 14 item 3): PFS2C2 presets vs the classical baselines on a broad case table.

Every case is a real reference crop (64-128 HR pixels, except MUUFL's 48 rows and the 72-pixel Paris
pair) degraded with a PSF from :mod:`pfs2c2.psf_families` and a sensor SRF (:func:`pfs2c2.simulate`);
the Paris case keeps its real ALI MSI (SRF unknown) and only the Hyperion cube is degraded. Each case
fixes what the user knows: ``none`` (no wavelengths: no SRF, no support), ``support`` (the SRF's band
support, from the sensor's band list) or ``srf`` (the true SRF; baselines get ``srf=`` too). No method
is given the PSF, except the ``oracle``: linear regression + residual with the true PSF.

Split rule (fixed before any tuning): the **tuning** split is every case on the Pavia and Samson
scenes; the **validation** split is every case on the other scenes (AVIRIS, CAVE, Jasper Ridge, MUUFL
and the real Paris pair). The scenes are disjoint, so nothing tuned on the first split has seen a
pixel of the second. Report the two separately and never tune on the validation split.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/validation_matrix.py [--split tuning|validation|all]
        [--methods default fast:psf_form=gaussian ...] [--baselines all|none|NAME ...] [--cases ID ...]
        [--jobs 2] [--quick] [--out-csv docs/validation_matrix.csv] [--no-doc]

``--methods`` takes presets, optionally with overrides ``preset:key=value,key=value``. ``--quick`` runs
three cases with the ``fast`` preset. Each case runs in its own worker process (one torch thread).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import io
import multiprocessing
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
CSV = Path(__file__).resolve().parents[1] / "docs" / "validation_matrix.csv"
DOC_KEY = "validation-matrix"  # the section between <!-- BEGIN validation-matrix --> and <!-- END ... -->
TUNING_SCENES = ("pavia", "samson")
ORACLE = "oracle"


@dataclass(frozen=True)
class Case:
    """One matrix case: scene/sensor/ratio/SNR (dB or None), PSF family + params, user knowledge."""

    id: str
    scene: str
    sensor: str
    ratio: int
    snr: float | None
    psf: str
    knowledge: str  # "none" | "support" | "srf"
    params: dict[str, Any] = field(default_factory=dict)
    size: int = 96  # crop side cap, HR pixels

    @property
    def split(self) -> str:
        return "tuning" if self.scene in TUNING_SCENES else "validation"

    @property
    def psf_label(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.psf}({args})" if args else self.psf

    def kernel(self) -> np.ndarray:
        from pfs2c2.psf_families import psf_family

        return psf_family(self.psf, self.ratio, **self.params)


def _c(
    id: str, scene: str, sensor: str, ratio: int, snr: float | None, psf: str, knowledge: str, **params: Any
) -> Case:
    return Case(id, scene, sensor, ratio, snr, psf, knowledge, params, 128 if scene == "cave" else 96)


#: The fixed case table. Tuning: Pavia + Samson; validation: all other scenes.
CASES: tuple[Case, ...] = (
    # tuning split (8)
    _c("T1", "pavia", "ikonos", 4, None, "shifted", "support", shift_lr=0.25),
    _c("T2", "pavia", "worldview2", 8, 40, "wide", "none", factor=1.75),
    _c("T3", "pavia", "quickbird", 5, 30, "anisotropic", "srf", fwhm_y=7.5, fwhm_x=3.5, angle_deg=30.0),
    _c("T4", "pavia", "ikonos", 3, 25, "box", "support"),
    _c("T5", "samson", "sentinel2", 4, None, "moffat", "srf"),
    _c("T6", "samson", "sentinel2", 5, 40, "airy", "support"),
    _c("T7", "samson", "sentinel2", 3, 30, "shifted", "none", shift_lr=0.5),
    _c("T8", "pavia", "worldview2", 6, None, "shifted", "support", shift_lr=0.33, angle_deg=45.0),
    # validation split (26)
    _c("V01", "aviris", "sentinel2", 3, None, "shifted", "support", shift_lr=0.5),
    _c("V02", "aviris", "landsat8", 5, 40, "wide", "srf", factor=1.75),
    _c("V03", "aviris", "sentinel2", 6, 30, "anisotropic", "none", fwhm_y=9.0, fwhm_x=4.5, angle_deg=60.0),
    _c("V04", "aviris", "landsat8", 3, 25, "moffat", "support"),
    _c("V05", "aviris", "sentinel2", 5, None, "box", "srf"),
    _c("V06", "cave", "nikon", 4, 40, "shifted", "support", shift_lr=0.25),
    _c("V07", "cave", "nikon", 8, None, "wide", "srf", factor=1.5),
    _c("V08", "cave", "nikon", 8, 30, "shifted", "none", shift_lr=0.375, angle_deg=90.0),
    _c("V09", "cave", "nikon", 4, 25, "airy", "srf"),
    _c("V10", "cave", "nikon", 8, None, "anisotropic", "support", fwhm_y=12.0, fwhm_x=6.0, angle_deg=20.0),
    _c("V11", "jasper", "landsat8", 4, None, "shifted", "srf", shift_lr=0.5),
    _c("V12", "jasper", "sentinel2", 8, 40, "shifted", "support", shift_lr=0.25, angle_deg=45.0),
    _c("V13", "jasper", "landsat8", 6, 30, "wide", "support", factor=2.0),
    _c("V14", "jasper", "sentinel2", 5, 25, "anisotropic", "none", fwhm_y=4.0, fwhm_x=8.0, shift=(1.0, 0.0)),
    _c("V15", "jasper", "worldview3", 4, 40, "box", "support"),
    _c("V16", "jasper", "landsat8", 3, None, "moffat", "srf", beta=2.0),
    _c("V17", "jasper", "sentinel2", 8, 30, "airy", "srf"),
    _c("V18", "muufl", "quickbird", 4, 30, "shifted", "support", shift_lr=0.25),
    _c("V19", "muufl", "worldview3", 3, None, "wide", "srf", factor=1.75),
    _c("V20", "muufl", "worldview3", 6, 40, "box", "none"),
    _c("V21", "muufl", "quickbird", 4, 25, "moffat", "srf"),
    _c("V22", "muufl", "worldview3", 4, None, "anisotropic", "support", fwhm_y=6.0, fwhm_x=3.0, angle_deg=45.0),
    _c("V23", "paris", "ali", 3, None, "shifted", "support", shift_lr=0.33),
    _c("V24", "paris", "ali", 4, 40, "wide", "none", factor=1.5),
    _c("V25", "paris", "ali", 3, 30, "anisotropic", "support", fwhm_y=4.5, fwhm_x=2.5, angle_deg=30.0),
    _c("V26", "paris", "ali", 6, None, "box", "support"),
)
QUICK = ("T1", "V06", "V11")


@dataclass
class Inputs:
    """The simulated (or real Paris) pair of one case, float32 ``(C, h, w)`` and ``(c, H, W)``."""

    reference: np.ndarray
    lr: np.ndarray
    msi: np.ndarray
    psf: np.ndarray
    srf: np.ndarray | None  # None for Paris (the real ALI SRF is unknown)
    support: np.ndarray


def _crop(cube: np.ndarray, ratio: int, size: int) -> np.ndarray:
    h, w = (min(n, size) // ratio * ratio for n in cube.shape[1:])
    return np.ascontiguousarray(cube[:, :h, :w])


def make_inputs(case: Case, seed: int = 0) -> Inputs:
    """Degrade the case's reference with its PSF family, SRF and noise (or load the real Paris pair)."""
    from pfs2c2.benchmark import hyperion_wavelengths, load_reference, sensor_srf
    from pfs2c2.physics import add_noise, blur_downsample
    from pfs2c2.sensors import band_support, load_srf
    from pfs2c2.simulation import simulate

    kernel = case.kernel()
    if case.scene == "paris":
        import scipy.io

        d = scipy.io.loadmat(DATA / "hsi/paris_hyperion_ali_hs_ms.mat")
        hs = _crop(d["HSim"].astype(np.float32).transpose(2, 0, 1), case.ratio, case.size)
        ms = _crop(d["MSim"].astype(np.float32).transpose(2, 0, 1), case.ratio, case.size)
        wl = hyperion_wavelengths(d["non_del_bands"].ravel())
        ali = ["MS1p", "MS1", "MS2", "MS3", "MS4", "MS4p", "MS5p", "MS5", "MS7"]
        support = band_support(load_srf(str(DATA / "srf/sensors/EO1_ALI_rsr.csv"), wl, bands=ali))
        lr = blur_downsample(hs, kernel, case.ratio).astype(np.float32)
        if case.snr is not None:
            rng = np.random.default_rng(seed)
            lr, ms = add_noise(lr, case.snr, rng).astype(np.float32), add_noise(ms, case.snr, rng).astype(np.float32)
        return Inputs(hs, lr, ms, kernel, None, support)
    reference, wavelengths, _ = load_reference(case.scene, DATA)
    srf, _ = sensor_srf(case.sensor, wavelengths, DATA)
    sim = simulate(_crop(reference, case.ratio, case.size), case.ratio, srf, psf=kernel, snr_db=case.snr, seed=seed)
    return Inputs(sim.reference, sim.lr_hsi, sim.hr_msi, sim.psf, sim.srf, band_support(srf))


def parse_method(text: str) -> tuple[str, dict[str, Any]]:
    """``preset[:key=value,...]`` -> (preset, overrides); values parsed as int, float, bool or str."""
    preset, _, rest = text.partition(":")
    overrides: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"bad method {text!r}: write preset:key=value,key=value")
        value: Any = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(raw)
                    break
                except ValueError:
                    pass
        overrides[key] = value
    return preset, overrides


def run_case(case: Case, methods: list[str], baselines: list[str] | None) -> list[dict[str, Any]]:
    """Run every method on one case (in a worker); one row per method."""
    import torch

    torch.set_num_threads(1)
    from pfs2c2 import baselines as classical
    from pfs2c2 import fuse
    from pfs2c2.config import FusionConfig
    from pfs2c2.metrics import ergas, psnr, sam

    x = make_inputs(case)
    known = x.srf if case.knowledge == "srf" else None
    support = x.support if case.knowledge == "support" else None
    names = list(classical.METHODS) if baselines is None else baselines
    runs: list[tuple[str, Any]] = []
    for text in methods:
        preset, overrides = parse_method(text)
        config = FusionConfig.from_dict(overrides, base=FusionConfig.preset_config(preset))
        runs.append(
            (
                f"pfs2c2-{text}",
                lambda c=config: fuse(x.lr, x.msi, ratio=case.ratio, srf=known, srf_support=support, config=c).fused,
            )
        )
    for name in names:
        method = classical.METHODS[name]
        runs.append((name, lambda m=method: m(x.lr, x.msi, case.ratio, srf=known)))
    if baselines is None or baselines:
        runs.append((ORACLE, lambda: classical.linear_regression(x.lr, x.msi, case.ratio, srf=known, psf=x.psf)))
    rows = []
    for name, call in runs:
        start = time.perf_counter()
        fused = np.asarray(call(), dtype=np.float64)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "case": case.id,
                "split": case.split,
                "scene": case.scene,
                "sensor": case.sensor,
                "ratio": case.ratio,
                "snr": "none" if case.snr is None else f"{case.snr:g}",
                "psf": case.psf_label,
                "knowledge": case.knowledge,
                "method": name,
                "psnr": psnr(fused, x.reference),
                "sam": sam(fused, x.reference),
                "ergas": ergas(fused, x.reference, case.ratio),
                "seconds": seconds,
            }
        )
    return rows


def _is_default(method: str) -> bool:
    return method == "pfs2c2-default"


def _is_baseline(method: str) -> bool:
    """A blind closed form: not a pfs2c2 preset, not the oracle."""
    return not method.startswith("pfs2c2-") and method != ORACLE


def split_summary(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Mean PSNR/SAM per method (best PSNR first) and notes on the default's margins, for one split."""
    from pfs2c2.benchmark import summary

    table = summary(rows, ("psnr", "sam", "seconds"))
    notes: list[str] = []
    default = next((r for r in table if _is_default(r["method"])), None)
    blind = [r for r in table if _is_baseline(r["method"])]
    oracle = next((r for r in table if r["method"] == ORACLE), None)
    if default is not None and blind:
        best = blind[0]
        notes.append(
            f"default - best blind closed form ({best['method']}): {default['psnr'] - best['psnr']:+.2f} dB PSNR, "
            f"{default['sam'] - best['sam']:+.2f} deg SAM"
        )
        gaps = []
        for case in dict.fromkeys(r["case"] for r in rows):
            here = [r for r in rows if r["case"] == case]
            mine = [r["psnr"] for r in here if _is_default(r["method"])]
            base = [r for r in here if _is_baseline(r["method"])]
            if mine and base:
                top = max(base, key=lambda r: r["psnr"])
                gaps.append((mine[0] - top["psnr"], case, top["method"]))
        gap, case, name = min(gaps)
        notes.append(f"worst per-case gap of default vs the best baseline: {gap:+.2f} dB ({case}, {name})")
    if default is not None and oracle is not None:
        notes.append(f"default - oracle (linear regression, true PSF): {default['psnr'] - oracle['psnr']:+.2f} dB PSNR")
    return table, notes


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows([{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows])
    return buffer.getvalue()


def to_markdown(rows: list[dict[str, Any]], command: str, seconds: float) -> str:
    """Per-split summary tables, then the per-case rows."""
    lines = ["## Validation matrix", "", f"Command: `{command}` ({seconds:.0f} s wall).", ""]
    lines += [__doc__.split("\n\n")[2].replace("\n", " "), ""] if __doc__ else []
    for split in ("tuning", "validation"):
        mine = [r for r in rows if r["split"] == split]
        if not mine:
            continue
        table, notes = split_summary(mine)
        ncases = len({r["case"] for r in mine})
        lines += [f"### {split} split ({ncases} cases)", "", "| method | cases | PSNR (dB) | SAM (deg) | time (s) |"]
        lines += ["|---|---|---|---|---|"]
        lines += [
            f"| {r['method']} | {r['cases']} | {r['psnr']:.2f} | {r['sam']:.2f} | {r['seconds']:.1f} |" for r in table
        ]
        lines += [""] + ([f"- {n}" for n in notes] + [""] if notes else [])
    lines += [
        "### Per-case rows",
        "",
        "| case | split | scene | sensor | r | SNR | PSF | knows | method | PSNR | SAM | ERGAS | s |",
    ]
    lines += ["|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [
        f"| {r['case']} | {r['split']} | {r['scene']} | {r['sensor']} | {r['ratio']} | {r['snr']} | {r['psf']} | "
        f"{r['knowledge']} | {r['method']} | {r['psnr']:.2f} | {r['sam']:.2f} | {r['ergas']:.2f} | {r['seconds']:.1f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--split", choices=("tuning", "validation", "all"), default="all")
    ap.add_argument("--methods", nargs="+", default=["default"])
    ap.add_argument("--baselines", nargs="+", default=["all"])
    ap.add_argument("--cases", nargs="+")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="3 cases with the fast preset")
    ap.add_argument("--out-csv", type=Path, default=CSV)
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args(argv)
    from pfs2c2 import baselines as classical

    baselines: list[str] | None = None
    if args.baselines == ["none"]:
        baselines = []
    elif args.baselines != ["all"]:
        unknown = [b for b in args.baselines if b not in classical.METHODS]
        if unknown:
            ap.error(f"unknown baseline(s) {', '.join(unknown)}; known: {', '.join(classical.METHODS)}")
        baselines = list(args.baselines)
    methods = ["fast"] if args.quick and args.methods == ["default"] else list(args.methods)
    ids = set(QUICK if args.quick else (args.cases or [c.id for c in CASES]))
    unknown_ids = ids - {c.id for c in CASES}
    if unknown_ids:
        ap.error(f"unknown case id(s) {', '.join(sorted(unknown_ids))}")
    cases = [c for c in CASES if c.id in ids and args.split in ("all", c.split)]
    start = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {}
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=context) as pool:
        futures = {pool.submit(run_case, c, methods, baselines): c for c in cases}
        for future in concurrent.futures.as_completed(futures):
            case = futures[future]
            results[case.id] = future.result()
            for r in results[case.id]:
                print(
                    f"{r['case']:4s} {r['split']:10s} {r['scene']:7s} {r['sensor']:10s} r{r['ratio']} snr {r['snr']:4s} "
                    f"{r['psf']:40s} {r['knowledge']:7s} {r['method']:28s} PSNR {r['psnr']:6.2f} SAM {r['sam']:5.2f} "
                    f"{r['seconds']:6.1f} s",
                    flush=True,
                )
    rows = [r for c in cases for r in results[c.id]]
    wall = time.perf_counter() - start
    args.out_csv.parent.mkdir(parents=True, exist_ok=True)
    args.out_csv.write_text(to_csv(rows))
    command = "python benchmarks/validation_matrix.py " + " ".join(argv if argv is not None else sys.argv[1:])
    section = to_markdown(rows, command.strip(), wall)
    print(section)
    if not args.no_doc:
        from pfs2c2.benchmark import update_doc

        update_doc(DOC, DOC_KEY, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
