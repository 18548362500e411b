"""The bad-input catalogue: every kind of bad input gives one ``Error:`` line and exit code 2 on the
command line, and a typed exception (:class:`pfs2c2.InputError`, or ``FileNotFoundError`` /
``FileExistsError`` for a missing input / an existing output) in the API. No case may start training.

Each catalogue entry builds its bad input in ``tmp_path`` and gives the CLI arguments to change plus
the API calls that must fail. Every fusion call uses a *tripwire* configuration: zero iterations and
``psf_size: 1``, which ``fuse()`` refuses only after all its input checks ("psf_size 1 must be >= the
ratio"). So a bad input that gets past the checks can never start training: the case fails at once
with the tripwire message instead of the expected one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import yaml

import pfs2c2
from pfs2c2 import FusionConfig
from pfs2c2.cli import main
from pfs2c2.io import read_array, read_cube, write_cube
from pfs2c2.sensors import load_srf, parse_wavelengths
from pfs2c2.validation import check_fusion_inputs, check_output_path

from .conftest import data_path

C, c, h, r = 10, 3, 8, 4  # HSI bands, MSI bands, LR size, ratio: 8x8x10 LR-HSI, 32x32x3 HR-MSI
TRIPWIRE = {**{f"stage{i}": {"iterations": 0, "decay_start": 0} for i in (1, 2, 3)}, "psf_size": 1, "device": "cpu"}


def tripwire_config() -> FusionConfig:
    """Zero iterations, and a PSF size below any ratio: fuse() refuses it after checking the inputs."""
    return FusionConfig.from_dict(TRIPWIRE, base=FusionConfig.preset_config("fast"))


@dataclass
class Inputs:
    """A valid tiny problem in ``dir/in``; the CLI writes into the empty ``dir/out``."""

    dir: Path
    lr: np.ndarray  # (C, h, w)
    hr: np.ndarray  # (c, H, W)

    def path(self, name: str) -> Path:
        return self.dir / "in" / name

    def save(self, name: str, array: np.ndarray) -> Path:
        np.save(self.path(name), array)
        return self.path(name)

    def save_cube(self, name: str, chw: np.ndarray) -> Path:
        return self.save(name, np.ascontiguousarray(chw.transpose(1, 2, 0)))  # files are (H, W, C)

    def fuse(self, lr: Any = None, hr: Any = None, **kwargs: Any) -> Any:
        return pfs2c2.fuse(self.lr if lr is None else lr, self.hr if hr is None else hr, config=tripwire_config(), **kwargs)


@pytest.fixture
def inputs(tmp_path: Path) -> Inputs:
    rng = np.random.default_rng(0)
    t = Inputs(tmp_path, (0.1 + rng.random((C, h, h))).astype(np.float32), (0.1 + rng.random((c, h * r, h * r))).astype(np.float32))
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    t.save_cube("lr.npy", t.lr)
    t.save_cube("hr.npy", t.hr)
    t.save("support.npy", np.ones((C, c)))
    t.path("tripwire.yaml").write_text(yaml.safe_dump(TRIPWIRE))
    return t


# --------------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------------
ApiCall = tuple[Callable[[], Any], type[BaseException], str]


@dataclass
class Bad:
    """One bad input: CLI options to replace/add, API calls ``(call, exception type, regex)``."""

    message: str  # regex the CLI's Error line must match
    options: dict[str, Any] = field(default_factory=dict)  # replaces/adds --option value; None drops it
    api: list[ApiCall] = field(default_factory=list)
    out: Path | None = None  # --out when not out/fused.npy


CATALOGUE: dict[str, Callable[[Inputs], Bad]] = {}
#: Kinds whose CLI check needs ``check_fusion_inputs`` called from ``fusion.fuse``.
NEEDS_FUSE_WIRING = {"constant_band", "negative_image", "psf_not_normalised", "one_band_msi"}
#: Kinds whose API check also needs it (fuse() raises a bare ValueError for them today; wrong_rank also
#: needs ``fusion.to_chw`` to raise InputError, as it runs before the check).
NEEDS_FUSE_WIRING_API = NEEDS_FUSE_WIRING | {"wrong_rank", "nan", "inf", "srf_wrong_shape", "srf_negative",
                                             "srf_empty_column", "msi_as_many_bands_as_hsi"}
#: Kinds whose CLI check needs ``check_output_path(out)`` called before training in ``pfs2c2 fuse``.
NEEDS_CLI_WIRING = {"output_dir_not_writable", "output_parent_is_a_file"}


def kind(name: str) -> Callable[[Callable[[Inputs], Bad]], Callable[[Inputs], Bad]]:
    def register(build: Callable[[Inputs], Bad]) -> Callable[[Inputs], Bad]:
        CATALOGUE[name] = build
        return build

    return register


def api(call: Callable[[], Any], message: str, error: type[BaseException] = pfs2c2.InputError) -> ApiCall:
    return (call, error, message)


@kind("missing_file")
def _(t: Inputs) -> Bad:
    missing = t.path("nope.npy")
    return Bad("not found", {"--hsi": missing}, [api(lambda: read_cube(missing), "not found", FileNotFoundError)])


@kind("truncated_npy")
def _(t: Inputs) -> Bad:
    data = t.path("lr.npy").read_bytes()
    cut = t.path("cut.npy")
    cut.write_bytes(data[: len(data) // 2])
    return Bad("truncated", {"--hsi": cut}, [api(lambda: read_cube(cut), "truncated")])


@kind("garbage_tif")
def _(t: Inputs) -> Bad:
    junk = t.path("junk.tif")
    junk.write_bytes(np.random.default_rng(1).bytes(500))
    return Bad(r"cannot read .*junk\.tif", {"--msi": junk}, [api(lambda: read_cube(junk), "cannot read")])


@kind("unsupported_extension")
def _(t: Inputs) -> Bad:
    odd = t.path("cube.xyz")
    odd.write_bytes(t.path("lr.npy").read_bytes())
    return Bad(r"unknown extension '\.xyz'", {"--hsi": odd},
               [api(lambda: read_cube(odd), "unknown extension"), api(lambda: read_array(odd), "unknown extension")])


@kind("wrong_rank")
def _(t: Inputs) -> Bad:
    flat = t.save("flat.npy", t.lr[0])
    return Bad("2-D", {"--hsi": flat}, [api(lambda: read_cube(flat), "2-D"), api(lambda: t.fuse(lr=t.lr[0]), "3-D")])


@kind("empty_array")
def _(t: Inputs) -> Bad:
    empty = t.save("empty.npy", np.zeros((0, h, C), np.float32))
    return Bad("empty", {"--hsi": empty},
               [api(lambda: read_cube(empty), "empty"), api(lambda: t.fuse(lr=np.zeros((C, 0, h), np.float32)), "empty")])


@kind("nan")
def _(t: Inputs) -> Bad:
    lr = t.lr.copy()
    lr[2, 3, 4] = np.nan
    return Bad("NaN", {"--hsi": t.save_cube("nan.npy", lr)}, [api(lambda: t.fuse(lr=lr), "NaN")])


@kind("inf")
def _(t: Inputs) -> Bad:
    hr = t.hr.copy()
    hr[1, 5, 6] = np.inf
    return Bad("NaN or Inf", {"--msi": t.save_cube("inf.npy", hr)}, [api(lambda: t.fuse(hr=hr), "NaN or Inf")])


@kind("constant_band")
def _(t: Inputs) -> Bad:
    lr = t.lr.copy()
    lr[4] = 0.3
    return Bad(r"band\(s\) \[4\].*constant", {"--hsi": t.save_cube("flat_band.npy", lr)},
               [api(lambda: t.fuse(lr=lr), r"\[4\].*constant")])


@kind("negative_image")
def _(t: Inputs) -> Bad:
    hr = t.hr - 0.6  # about half of the values negative: a standardised or offset image
    return Bad("negative values", {"--msi": t.save_cube("negative.npy", hr)}, [api(lambda: t.fuse(hr=hr), "negative values")])


@kind("size_mismatch")
def _(t: Inputs) -> Bad:
    hr = t.hr[:, :30]  # 30 x 32 for an 8 x 8 HSI: no integer ratio
    return Bad("not an integer multiple", {"--msi": t.save_cube("odd.npy", hr)},
               [api(lambda: t.fuse(hr=hr), "not an integer multiple")])


@kind("srf_wrong_shape")
def _(t: Inputs) -> Bad:
    srf = np.ones((C - 1, c))
    return Bad("SRF", {"--srf": t.save("srf.npy", srf)}, [api(lambda: t.fuse(srf=srf), "SRF has shape")])


@kind("srf_negative")
def _(t: Inputs) -> Bad:
    srf = np.ones((C, c))
    srf[2, 1] = -0.5
    return Bad("negative", {"--srf": t.save("srf.npy", srf)}, [api(lambda: t.fuse(srf=srf), "negative")])


@kind("srf_empty_column")
def _(t: Inputs) -> Bad:
    srf = np.ones((C, c))
    srf[:, 2] = 0.0
    return Bad("all zero", {"--srf": t.save("srf.npy", srf)}, [api(lambda: t.fuse(srf=srf), "all zero")])


@kind("psf_not_normalised")
def _(t: Inputs) -> Bad:
    psf = np.ones((r, r))  # sums to 16
    return Bad("PSF sums to 16", {"--psf": t.save("psf.npy", psf)}, [api(lambda: t.fuse(psf=psf), "PSF sums to 16")])


@kind("psf_wrong_shape")
def _(t: Inputs) -> Bad:
    psf = np.full((r, r + 1), 1 / (r * (r + 1)))
    return Bad("square", {"--psf": t.save("psf.npy", psf)}, [api(lambda: t.fuse(psf=psf), "square")])


@kind("ratio_one")
def _(t: Inputs) -> Bad:
    return Bad("ratio must be an integer >= 2", {"--ratio": 1}, [api(lambda: t.fuse(ratio=1), ">= 2")])


@kind("ratio_zero")
def _(t: Inputs) -> Bad:
    return Bad("ratio must be an integer >= 2", {"--ratio": 0},
               [api(lambda: t.fuse(ratio=0), ">= 2"), api(lambda: t.fuse(ratio=2.5), "integer")])


@kind("one_band_msi")
def _(t: Inputs) -> Bad:
    hr = t.hr[:1]
    return Bad("panchromatic", {"--msi": t.save_cube("pan.npy", hr), "--srf-support": t.save("support1.npy", np.ones((C, 1)))},
               [api(lambda: t.fuse(hr=hr), "panchromatic")])


@kind("msi_as_many_bands_as_hsi")
def _(t: Inputs) -> Bad:
    hr = np.concatenate([t.hr] * 4)[:C]
    return Bad("more bands", {"--msi": t.save_cube("wide.npy", hr), "--srf-support": t.save("support10.npy", np.ones((C, C)))},
               [api(lambda: t.fuse(hr=hr), "more bands")])


@kind("unknown_sensor")
def _(t: Inputs) -> Bad:
    wavelengths = np.linspace(400, 900, C)
    return Bad("'nosuchsensor' is neither an existing .* file nor a known sensor", {"--srf-support": "nosuchsensor", "--wavelengths": "400:900"},
               [api(lambda: load_srf("nosuchsensor", hsi_wavelengths_nm=wavelengths), "nor a known sensor")])


@kind("wavelengths_decreasing")
def _(t: Inputs) -> Bad:
    csv = t.path("wl.csv")
    csv.write_text("".join(f"{w:.1f}\n" for w in np.linspace(900, 400, C)))
    return Bad("not increasing", {"--wavelengths": csv},
               [api(lambda: parse_wavelengths(csv, C), "not increasing"), api(lambda: parse_wavelengths("900:400", C), "must increase")])


@kind("wavelengths_repeated")
def _(t: Inputs) -> Bad:
    csv = t.path("wl.csv")
    values = np.linspace(400, 900, C)
    values[5] = values[4]
    csv.write_text("band,wavelength_nm\n" + "".join(f"{i + 1},{w:.1f}\n" for i, w in enumerate(values)))
    return Bad("repeat", {"--wavelengths": csv}, [api(lambda: parse_wavelengths(csv, C), "bands 5 and 6")])


@kind("output_dir_not_writable")
def _(t: Inputs) -> Bad:
    locked = t.dir / "out"
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root writes anyway: output_parent_is_a_file covers this check for root
        locked.chmod(0o700)
        pytest.skip("running as root: a read-only directory is still writable")
    target = locked / "fused.npy"
    return Bad("no write permission", {}, [api(lambda: check_output_path(target), "no write permission"),
                                           api(lambda: write_cube(target, t.lr), "no write permission")])


@kind("output_parent_is_a_file")
def _(t: Inputs) -> Bad:
    blocker = t.dir / "out" / "notadir"
    blocker.write_text("a file where the output directory should be")
    target = blocker / "fused.npy"
    return Bad("is a file, not a directory", {}, [api(lambda: check_output_path(target), "is a file"),
                                                   api(lambda: write_cube(target, t.lr), "is a file")], out=target)


@kind("output_exists")
def _(t: Inputs) -> Bad:
    existing = t.dir / "out" / "fused.npy"
    existing.write_bytes(b"old result")
    return Bad("--overwrite", {}, [api(lambda: write_cube(existing, t.lr), "--overwrite", FileExistsError)])


KINDS = list(CATALOGUE)


def test_catalogue_is_complete():
    assert len(KINDS) >= 15
    assert NEEDS_FUSE_WIRING_API | NEEDS_CLI_WIRING <= set(KINDS)


# --------------------------------------------------------------------------------------------------
# command line and API
# --------------------------------------------------------------------------------------------------
def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else b"") for p in sorted(directory.rglob("*"))}


@pytest.mark.parametrize("name", KINDS)
def test_cli_bad_input_gives_one_error_line_and_exit_2(inputs, capsys, name):
    t = inputs
    try:
        bad = CATALOGUE[name](t)
        out = bad.out or t.dir / "out" / "fused.npy"
        options: dict[str, Any] = {"--hsi": t.path("lr.npy"), "--msi": t.path("hr.npy"), "--out": out,
                                   "--config": t.path("tripwire.yaml"), "--srf-support": t.path("support.npy")}
        options.update(bad.options)
        argv = ["fuse", "--no-plots"] + [str(a) for k, v in options.items() if v is not None for a in (k, v)]
        before = _snapshot(t.dir / "out")
        code = main(argv)
        stdout, stderr = capsys.readouterr()
        after = _snapshot(t.dir / "out")
    finally:
        (t.dir / "out").chmod(0o700)
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    assert code == 2, (code, stdout, stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert "Traceback" not in stderr
    assert re.search(bad.message, lines[0]), lines[0]
    assert after == before, "the command created or changed files in the output directory"


@pytest.mark.parametrize("name", KINDS)
def test_api_bad_input_raises_a_typed_one_line_error(inputs, name):
    t = inputs
    try:
        bad = CATALOGUE[name](t)
        assert bad.api, f"{name} has no API form"
        for call, error, message in bad.api:
            with pytest.raises(error, match=message) as info:
                call()
            assert "\n" not in str(info.value)
    finally:
        (t.dir / "out").chmod(0o700)


# --------------------------------------------------------------------------------------------------
# check_fusion_inputs on its own (the catalogue entries that fuse() delegates to it)
# --------------------------------------------------------------------------------------------------
def _problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (0.1 + rng.random((C, h, h))).astype(np.float32), (0.1 + rng.random((c, h * r, h * r))).astype(np.float32)


def _with(array: np.ndarray, index: Any, value: float) -> np.ndarray:
    out = array.copy()
    out[index] = value
    return out


LR, HR = _problem()
NEG_SRF = _with(np.ones((C, c)), (2, 1), -0.5)


@pytest.mark.parametrize(
    "lr, hr, kwargs, message",
    [
        pytest.param(LR[0], HR, {}, "3-D cube", id="wrong_rank"),
        pytest.param(LR.astype(str), HR, {}, "numbers", id="not_numeric"),
        pytest.param(LR[:, :0], HR, {}, "empty", id="empty"),
        pytest.param(LR, HR[:1], {}, "panchromatic", id="one_band_msi"),
        pytest.param(LR[:3], HR, {}, "more bands", id="msi_as_many_bands"),
        pytest.param(LR, HR[:, :30], {}, "not an integer multiple", id="size_mismatch"),
        pytest.param(LR, HR, {"ratio": 1}, "integer >= 2", id="ratio_one"),
        pytest.param(LR, HR, {"ratio": 0}, "integer >= 2", id="ratio_zero"),
        pytest.param(LR, HR, {"ratio": -4}, "integer >= 2", id="ratio_negative"),
        pytest.param(LR, HR, {"ratio": 2.5}, "integer >= 2", id="ratio_fraction"),
        pytest.param(LR, HR, {"ratio": 2}, "contradicts", id="ratio_contradicts"),
        pytest.param(LR, HR, {"srf": np.ones((c, C))}, "transpose", id="srf_transposed"),
        pytest.param(LR, HR, {"srf": NEG_SRF}, "negative entries", id="srf_negative"),
        pytest.param(LR, HR, {"srf": _with(np.ones((C, c)), (slice(None), 0), 0)}, r"column\(s\) \[0\]", id="srf_empty_column"),
        pytest.param(LR, HR, {"srf": _with(np.ones((C, c)), (0, 0), np.nan)}, "NaN", id="srf_nan"),
        pytest.param(LR, HR, {"srf_support": np.ones((C, c + 1))}, "SRF support has shape", id="support_shape"),
        pytest.param(LR, HR, {"psf": np.ones((r, r))}, "sums to 16", id="psf_sum"),
        pytest.param(LR, HR, {"psf": np.full((r, r), 0.98 / r**2)}, "sums to 0.98", id="psf_sum_2_percent_off"),
        pytest.param(LR, HR, {"psf": np.full((2, 2), 0.25)}, "smaller than the ratio", id="psf_small"),
        pytest.param(LR, HR, {"psf": np.full((5, 5), 0.04)}, "even", id="psf_odd_margin"),
        pytest.param(LR, HR, {"psf": -np.full((r, r), 1 / 16)}, "non-negative", id="psf_negative"),
        pytest.param(_with(LR, (0, 1, 1), np.nan), HR, {}, "LR-HSI contains 1 NaN", id="nan"),
        pytest.param(LR, _with(HR, (0, 1, 1), -np.inf), {}, "HR-MSI contains 1 NaN or Inf", id="inf"),
        pytest.param(np.full_like(LR, np.nan), HR, {"mask_nonfinite": True}, "no valid pixel", id="all_nan_masked"),
        pytest.param(np.zeros_like(LR), HR, {}, "no valid pixel", id="all_zero"),
        pytest.param(LR, HR, {"hsi_mask": np.zeros((h, h), bool)}, "no valid pixel", id="all_masked"),
        pytest.param(LR, HR, {"msi_mask": np.ones((h, h), bool)}, "msi_mask has shape", id="mask_shape"),
        pytest.param(_with(LR, (slice(4, 7),), 0.3), HR, {}, r"band\(s\) \[4-6\] \(0-based, 3 of 10\) are constant", id="constant_bands"),
        pytest.param(LR, _with(HR, (2,), 0.0), {}, r"HR-MSI band\(s\) \[2\]", id="constant_msi_band"),
        pytest.param(LR - 0.6, HR, {}, r"LR-HSI has \d+\.\d% negative values .*standardised", id="negative_share"),
        pytest.param(LR, _with(HR, (slice(None), 3, 4), -9999.0), {}, "value of -9999.*fill value", id="fill_value"),
        pytest.param(-LR, HR, {}, "no positive value", id="all_negative"),
    ],
)
def test_check_fusion_inputs_refuses(lr, hr, kwargs, message):
    with pytest.raises(pfs2c2.InputError, match=message) as info:
        check_fusion_inputs(lr, hr, **kwargs)
    assert "\n" not in str(info.value)


def test_check_fusion_inputs_accepts_real_world_quirks():
    lr, hr = _problem(1)
    check_fusion_inputs(lr, hr)
    check_fusion_inputs(lr, hr, ratio=4.0, srf=np.ones((C, c)), psf=np.full((r, r), 1.005 / 16), srf_support=np.eye(C, c))
    # negatives from atmospheric correction are fine: 20% of the values, down to -20% of the maximum
    noisy = lr.copy()
    noisy.reshape(-1)[::5] *= -0.2
    check_fusion_inputs(noisy, hr)
    # NaN pixels when they are masked; zero-filled nodata borders; a user mask
    check_fusion_inputs(_with(lr, (slice(None), 0, 0), np.nan), hr, mask_nonfinite=True)
    check_fusion_inputs(_with(lr, (slice(None), 0), 0.0), _with(hr, (slice(None), slice(0, r)), 0.0))
    mask = np.ones((h, h), bool)
    mask[0] = False
    check_fusion_inputs(lr, hr, hsi_mask=mask, msi_mask=np.ones((h * r, h * r), bool))
    # float64, tensors, a single LR pixel (no constant-band test possible)
    import torch

    check_fusion_inputs(torch.from_numpy(lr), torch.from_numpy(hr.astype(np.float64)))
    check_fusion_inputs(lr[:, :1, :1], hr[:, :r, :r])


def test_check_fusion_inputs_is_cheap():
    import time

    rng = np.random.default_rng(3)
    lr = rng.random((50, 64, 64), dtype=np.float32)
    hr = rng.random((4, 512, 512), dtype=np.float32)
    start = time.perf_counter()
    check_fusion_inputs(lr, hr)
    assert time.perf_counter() - start < 1.0


def test_real_spectrometer_overlaps_are_not_refused():
    """AVIRIS and ZY1-02E AHSI list bands per detector: a few steps back are real data, not an error."""
    for name, n in (("ksc_aviris_176.csv", 176), ("aviris_224_gatorsense.csv", 224), ("zy1_02e_ahsi_166.csv", 166)):
        wl = parse_wavelengths(data_path(f"wavelengths/{name}"), n)
        assert wl.shape == (n,) and np.sum(np.diff(wl) < 0) >= 1


def test_check_output_path(tmp_path):
    check_output_path(tmp_path / "fused.tif")
    with pytest.raises(pfs2c2.InputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "fused.tif")


@pytest.mark.parametrize("argv, message", [
    (["fuse", "--hsi", "a.npy", "--msi", "b.npy", "--ratio", "2.5", "--out", "x.tif"], "'2.5' is not a valid integer"),
    (["fuse", "--bogus"], "No such option '--bogus'"),
    (["fuse", "--hsi", "a.npy"], "Missing option"),
    (["nosuch"], "No such command"),
])
def test_cli_usage_errors_are_one_line_too(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and message in err[0] and "--help" in err[0]
