"""Side-by-side benchmark of PFS2C2 and the classical methods on real scenes (Wald protocol).

A :class:`Case` is a real reference HR-HSI (a crop from ``../shared/data`` or any ``--data`` folder of
the same layout), an MSI sensor, a ratio and an optional SNR. For each case the reference is degraded
with a Gaussian PSF (FWHM = ratio) and the sensor's SRF (:func:`pfs2c2.simulate`), every method fuses
the pair *blind* (no PSF or SRF given; PFS2C2 gets only the SRF support from wavelengths, which a user
has from the sensor's band list), and the result is scored against the reference with
:func:`pfs2c2.metrics.evaluate` (PSNR with per-band peak, SAM in degrees, ERGAS, SSIM). Wall time and
peak resident memory above the process's level before the method are recorded (memory is sampled every
20 ms with psutil, so very short peaks can be missed).

The real Hyperion + ALI pair over Paris is the ``paris`` scene: the HS is degraded by the ratio, the
MSI is the real ALI image (its SRF and gains are unknown), as in Simoes et al. 2015.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_case_ratio, check_data_file
from .errors import InputError

DEFAULT_DATA = Path("..") / "shared" / "data"

#: scene -> sensors it is benchmarked with (first = the default one).
SCENE_SENSORS: dict[str, tuple[str, ...]] = {
    "pavia": ("ikonos", "worldview2"),
    "samson": ("sentinel2",),
    "aviris": ("sentinel2",),
    "cave": ("nikon",),
    "paris": ("ali",),
    "jasper": ("landsat8", "sentinel2"),
    "muufl": ("quickbird", "worldview3"),
}

#: Standard case list: 4 scenes x ratios 4 and 8 x 4 sensors, no noise (+ the real Paris pair).
STANDARD_CASES = (
    "pavia/ikonos/4",
    "pavia/ikonos/8",
    "pavia/worldview2/4",
    "samson/sentinel2/4",
    "samson/sentinel2/8",
    "aviris/sentinel2/4",
    "aviris/sentinel2/8",
    "cave/nikon/4",
    "cave/nikon/8",
    "paris/ali/3",
)

#: The standard cases with ratios 4 and 8, simulated with a box PSF instead of the Gaussian every
#: classical baseline assumes: the blur is unknown to all methods, as it usually is to users.
BOX_PSF_CASES = tuple(f"{c}/box" for c in STANDARD_CASES if not c.startswith("paris"))

#: Validation cases: scenes and sensors the default preset's choices were *not* tuned on, to check
#: that a change which helps the standard cases also helps elsewhere.
VALIDATION_CASES = (
    "jasper/landsat8/4",
    "jasper/landsat8/8",
    "jasper/sentinel2/4",
    "muufl/quickbird/4",
    "muufl/worldview3/4",
    "muufl/worldview3/8",
)


#: PSFs a case can be simulated with: the protocol's Gaussian (FWHM = ratio), which is also the guess
#: of every classical baseline, or a ratio x ratio box (pixel averaging), which none of them assumes.
PSF_KINDS = ("gauss", "box")

#: Sensors whose SRF :func:`sensor_srf` makes (every simulated case's sensor in :data:`SCENE_SENSORS`).
_SRF_SENSORS = ("ikonos", "worldview2", "sentinel2", "landsat8", "quickbird", "worldview3", "nikon")


@dataclass(frozen=True)
class Case:
    """One benchmark problem: ``scene/sensor/ratio[/snr_db][/box]`` on the command line."""

    scene: str
    sensor: str
    ratio: int
    snr: float | None = None
    psf: str = "gauss"

    @classmethod
    def parse(cls, text: str) -> Case:
        parts = text.strip().split("/")
        psf = "gauss"
        if len(parts) > 3 and parts[-1] in PSF_KINDS:
            psf = parts.pop()
        if len(parts) not in (3, 4) or parts[0] not in SCENE_SENSORS:
            raise InputError(
                f"bad case {text!r}: write scene/sensor/ratio[/snr_db][/box] with scene one of {', '.join(SCENE_SENSORS)}"
            )
        if parts[1] not in SCENE_SENSORS[parts[0]]:
            raise InputError(
                f"scene {parts[0]} is benchmarked with sensor(s) {', '.join(SCENE_SENSORS[parts[0]])}, not {parts[1]!r}"
            )
        try:
            ratio, snr = int(parts[2]), (float(parts[3]) if len(parts) == 4 else None)
        except ValueError:
            raise InputError(
                f"bad case {text!r}: the ratio must be an integer, the SNR a number (dB), the PSF one of {', '.join(PSF_KINDS)}"
            ) from None
        ratio = check_case_ratio(ratio, text)
        return cls(parts[0], parts[1], ratio, snr, psf)

    @property
    def name(self) -> str:
        return (
            f"{self.scene}/{self.sensor}/{self.ratio}"
            + ("" if self.snr is None else f"/{self.snr:g}dB")
            + ("" if self.psf == "gauss" else f"/{self.psf}")
        )

    def true_psf(self) -> np.ndarray:
        """The PSF the case is simulated with (``ratio x ratio``, sums to 1)."""
        from .physics import gaussian_psf

        r = self.ratio
        return gaussian_psf(r) if self.psf == "gauss" else np.full((r, r), 1.0 / r**2)


@dataclass
class Problem:
    """Inputs of one case and what is needed to score it."""

    case: Case
    description: str
    reference: np.ndarray  # (C, H, W)
    lr_hsi: np.ndarray  # (C, h, w)
    hr_msi: np.ndarray  # (c, H, W)
    srf_support: np.ndarray  # (C, c) bool
    true_psf: np.ndarray | None
    true_srf: np.ndarray | None


def _unit(cube: np.ndarray) -> np.ndarray:
    cube = cube.astype(np.float64)
    return ((cube - cube.min()) / (cube.max() - cube.min())).astype(np.float32)


def hyperion_wavelengths(bands_1based: np.ndarray) -> np.ndarray:
    """Approximate Hyperion band centres (nm) from 1-based band numbers (shared data README)."""
    b = bands_1based.astype(np.float64)
    return np.where(b <= 70, 355.59 + 10.1756 * (b - 1), 851.92 + 10.0907 * (b - 71))


def load_reference(scene: str, data: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Reference ``(C, H, W)`` in [0, 1], its band centres (nm) and a description."""
    import scipy.io

    if scene == "pavia":
        x = _unit(scipy.io.loadmat(check_data_file(data / "hsi/abu-beach-4_pavia_rosis.mat"))["data"]).transpose(
            2, 0, 1
        )
        return x, np.linspace(430, 860, x.shape[0]), "ROSIS Pavia beach-4 100x100x102"
    if scene == "samson":
        x = _unit(np.load(check_data_file(data / "hsi/samson_95x95x156.npy"))).transpose(2, 0, 1)
        return x, np.linspace(401, 889, x.shape[0]), "SAMSON 95x95x156"
    if scene == "aviris":
        d = scipy.io.loadmat(check_data_file(data / "hsi/aviris_90x90x224_gatorsense.mat"))
        x = _unit(np.clip(d["hsi_img"], 0, None)).transpose(2, 0, 1)
        wl = d["wavelengths"].ravel().astype(np.float64)
        keep = x.max(axis=(1, 2)) > 0.01  # the dead water-absorption bands are all ~0
        return x[keep], wl[keep], f"AVIRIS 90x90x{int(keep.sum())} (dead bands dropped)"
    if scene == "cave":
        x = (
            scipy.io.loadmat(check_data_file(data / "hsi/cave_chart_and_stuffed_toy_ms_256.mat"))["NRD"].astype(
                np.float32
            )
            / 65535
        )
        return (
            x[64:192, 64:192].transpose(2, 0, 1).copy(),
            np.arange(400, 701, 10.0),
            "CAVE chart_and_stuffed_toy 128x128x31 crop",
        )
    if scene == "jasper":
        d = scipy.io.loadmat(check_data_file(data / "hsi/jasperRidge2_R198.mat"))
        x = _unit(np.load(check_data_file(data / "hsi/jasperRidge_100x100x198.npy"))).transpose(2, 0, 1)
        table = np.loadtxt(check_data_file(data / "wavelengths/aviris_224_gatorsense.csv"), delimiter=",", skiprows=1)
        wl = table[d["SlectBands"].ravel().astype(int) - 1, 1]
        return x, wl, "AVIRIS Jasper Ridge 100x100x198"
    if scene == "muufl":
        d = scipy.io.loadmat(check_data_file(data / "hsi/muufl_casi_51x88x72_gatorsense.mat"))
        x = _unit(np.clip(d["hsi_img_sub"], 0, None)).transpose(2, 0, 1)[:, :48]  # 48 rows: divisible by 4 and 8
        return x, d["wavelengths"].ravel().astype(np.float64), "CASI MUUFL Gulfport 48x88x72 (negatives clipped)"
    raise InputError(f"unknown scene {scene!r}; choose one of {', '.join(SCENE_SENSORS)}")


def sensor_srf(sensor: str, wavelengths: np.ndarray, data: Path) -> tuple[np.ndarray, str]:
    """``(C, c)`` SRF of a benchmark sensor sampled at ``wavelengths``, and its band list."""
    from .sensors import load_srf

    if sensor == "ikonos":
        bands = ["blue", "green", "red", "nir"]
        return load_srf(
            str(check_data_file(data / "srf/sensors/IKONOS2_rsr.csv")), wavelengths, bands=bands
        ), "IKONOS B/G/R/NIR"
    if sensor == "worldview2":
        bands = ["blue", "green", "yellow", "red", "rededge", "nir1"]
        return load_srf(
            str(check_data_file(data / "srf/sensors/WorldView2_rsr.csv")), wavelengths, bands=bands
        ), "WorldView-2 B/G/Y/R/RE/NIR1"
    if sensor == "sentinel2":
        bands = (
            ["B2", "B3", "B4", "B5", "B6", "B7", "B8"]
            if wavelengths.max() < 1000
            else ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
        )
        return load_srf(
            "sentinel2a", wavelengths, bands=bands
        ), f"Sentinel-2A {bands[0]}-{bands[-1]} ({len(bands)} bands)"
    if sensor == "landsat8":
        bands = ["B1_coastal", "B2_blue", "B3_green", "B4_red", "B5_nir", "B6_swir1", "B7_swir2"]
        return load_srf(
            str(check_data_file(data / "srf/sensors/L8_OLI_rsr.csv")), wavelengths, bands=bands
        ), "Landsat-8 OLI B1-B7"
    if sensor == "quickbird":
        bands = ["blue", "green", "red", "nir"]
        return load_srf(
            str(check_data_file(data / "srf/sensors/QuickBird2_rsr.csv")), wavelengths, bands=bands
        ), "QuickBird B/G/R/NIR"
    if sensor == "worldview3":
        bands = ["coastal", "blue", "green", "yellow", "red", "rededge", "nir1", "nir2"]
        return load_srf(
            str(check_data_file(data / "srf/sensors/WorldView3_rsr.csv")), wavelengths, bands=bands
        ), "WorldView-3 VNIR (8 bands)"
    if sensor == "nikon":
        return load_srf(
            str(check_data_file(data / "srf/hsi_grid/nikon_d700_cave31_31x3.csv")), wavelengths
        ), "Nikon D700 RGB"
    raise InputError(f"unknown benchmark sensor {sensor!r}; choose one of {', '.join(_SRF_SENSORS)}")


def make_problem(case: Case, data: Path = DEFAULT_DATA, seed: int = 0) -> Problem:
    """Simulate the case's inputs from its reference (Wald protocol), or load the real Paris pair."""
    from .physics import blur_downsample, crop_to_ratio
    from .sensors import band_support
    from .simulation import simulate

    if case.scene == "paris":
        import scipy.io

        d = scipy.io.loadmat(check_data_file(data / "hsi/paris_hyperion_ali_hs_ms.mat"))
        hs, ms = d["HSim"].astype(np.float32).transpose(2, 0, 1), d["MSim"].astype(np.float32).transpose(2, 0, 1)
        hs, ms = crop_to_ratio(hs, case.ratio), crop_to_ratio(ms, case.ratio)
        wl = hyperion_wavelengths(d["non_del_bands"].ravel())
        ali = ["MS1p", "MS1", "MS2", "MS3", "MS4", "MS4p", "MS5p", "MS5", "MS7"]
        from .sensors import load_srf

        support = band_support(load_srf(str(check_data_file(data / "srf/sensors/EO1_ALI_rsr.csv")), wl, bands=ali))
        lr = blur_downsample(hs, case.true_psf(), case.ratio).astype(np.float32)
        if case.snr is not None:
            from .physics import add_noise

            rng = np.random.default_rng(seed)
            lr, ms = add_noise(lr, case.snr, rng), add_noise(ms, case.snr, rng)
        description = f"Paris EO-1 Hyperion {hs.shape[1]}x{hs.shape[2]}x{hs.shape[0]} + real ALI MS (9 bands)"
        return Problem(case, description, hs, lr, ms, support, None, None)
    reference, wavelengths, description = load_reference(case.scene, data)
    srf, bands = sensor_srf(case.sensor, wavelengths, data)
    sim = simulate(reference, case.ratio, srf, psf=case.true_psf(), snr_db=case.snr, seed=seed)
    return Problem(
        case, f"{description}, {bands}", sim.reference, sim.lr_hsi, sim.hr_msi, band_support(srf), sim.psf, sim.srf
    )


class PeakMemory:
    """Peak resident memory (bytes) of this process above its level at start, sampled every 20 ms."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def above_start_mb(self) -> float:
        return (self.peak - self.start) / 2**20


Method = Callable[[Problem], np.ndarray]


def method_table(presets: Iterable[str] = ("default",), baselines: Iterable[str] | None = None) -> dict[str, Method]:
    """Named methods: the classical baselines (blind) and PFS2C2 presets (blind, SRF support given)."""
    from . import baselines as classical
    from .config import FusionConfig
    from .fusion import fuse

    names = list(classical.METHODS) if baselines is None else list(baselines)
    unknown = [n for n in names if n not in classical.METHODS]
    if unknown:
        raise InputError(f"unknown baseline(s) {', '.join(unknown)}; known: {', '.join(classical.METHODS)}")

    def baseline(method: classical.FusionMethod) -> Method:
        return lambda p: method(p.lr_hsi, p.hr_msi, p.case.ratio)

    def pfs2c2_preset(config: FusionConfig) -> Method:
        return lambda p: fuse(p.lr_hsi, p.hr_msi, ratio=p.case.ratio, config=config, srf_support=p.srf_support).fused

    table: dict[str, Method] = {name: baseline(classical.METHODS[name]) for name in names}
    for preset in presets:
        table[f"pfs2c2-{preset}"] = pfs2c2_preset(FusionConfig.preset_config(preset))
    return table


def run_case(problem: Problem, methods: dict[str, Method], log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run every method on one problem; one row of scores per method."""
    from .metrics import evaluate

    rows = []
    for name, method in methods.items():
        with PeakMemory() as memory:
            start = time.perf_counter()
            fused = method(problem)
            seconds = time.perf_counter() - start
        scores = evaluate(fused, problem.reference, problem.case.ratio)
        row = {
            "case": problem.case.name,
            "method": name,
            "psnr": scores["psnr"],
            "sam": scores["sam"],
            "ergas": scores["ergas"],
            "ssim": scores["ssim"],
            "seconds": seconds,
            "peak_mb": memory.above_start_mb,
        }
        rows.append(row)
        log(
            f"{row['case']:24s} {name:20s} PSNR {row['psnr']:6.2f}  SAM {row['sam']:6.2f}  ERGAS {row['ergas']:6.2f}  "
            f"SSIM {row['ssim']:.4f}  {seconds:7.1f} s  {row['peak_mb']:7.1f} MB"
        )
    return rows


def environment() -> dict[str, str]:
    """Machine and library versions, for the table's header."""
    import numpy
    import scipy
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "date": time.strftime("%Y-%m-%d"),
    }


def summary(
    rows: list[dict[str, Any]], keys: Iterable[str] = ("psnr", "sam", "ergas", "ssim", "seconds", "peak_mb")
) -> list[dict[str, Any]]:
    """Mean of each of ``keys`` (default PSNR/SAM/ERGAS/SSIM/time/memory) per method over all cases, best PSNR first."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        out.append(
            {
                "method": method,
                "cases": len(mine),
                **{k: float(np.mean([r[k] for r in mine])) for k in keys},
            }
        )
    return sorted(out, key=lambda r: -r["psnr"])


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows([{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows])
    return buffer.getvalue()


def to_markdown(rows: list[dict[str, Any]], env: dict[str, str], command: str) -> str:
    """Per-case table, mean table and the environment, as Markdown."""
    lines = [
        f"Command: `{command}`  ",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".",
        "",
        "| case | method | PSNR (dB) | SAM (deg) | ERGAS | SSIM | time (s) | peak memory (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['case']} | {r['method']} | {r['psnr']:.2f} | {r['sam']:.2f} | {r['ergas']:.2f} | {r['ssim']:.4f} | {r['seconds']:.1f} | {r['peak_mb']:.0f} |"
        for r in rows
    ]
    lines += [
        "",
        "Mean over the cases each method ran:",
        "",
        "| method | cases | PSNR (dB) | SAM (deg) | ERGAS | SSIM | time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['method']} | {r['cases']} | {r['psnr']:.2f} | {r['sam']:.2f} | {r['ergas']:.2f} | {r['ssim']:.4f} | {r['seconds']:.1f} |"
        for r in summary(rows)
    ]
    return "\n".join(lines) + "\n"


def update_doc(doc: Path, key: str, section: str) -> None:
    """Replace (or append) the section between ``<!-- BEGIN key -->`` and ``<!-- END key -->``."""
    begin, end = f"<!-- BEGIN {key} -->", f"<!-- END {key} -->"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = f"{begin}\n{section}{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
