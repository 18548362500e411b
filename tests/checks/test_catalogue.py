"""The bad-input catalogue: every kind of bad input gives a typed
exception (:class:`pfs2c2.InputError`, or ``FileNotFoundError`` / ``FileExistsError`` for a missing
input / an existing output) in the API, and one ``Error:`` line and exit code 2 on the command line
(tests/cli/test_errors.py runs the same catalogue through the CLI). No case may start training.

Each catalogue entry builds its bad input in ``tmp_path`` and gives the CLI arguments to change plus
the API calls that must fail. Every fusion call uses a *tripwire* configuration: zero iterations and
``psf_size: 1``, which ``fuse()`` refuses only after all its input checks ("psf_size 1 must be >= the
ratio"). So a bad input that gets past the checks can never start training: the case fails at once
with the tripwire message instead of the expected one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import pfs2c2
from pfs2c2 import FusionConfig
from pfs2c2._checks import check_output_path
from pfs2c2.config import split_run_options
from pfs2c2.io import read_array, read_cube, write_cube
from pfs2c2.sensors import load_srf, parse_wavelengths

C, c, h, r = 10, 3, 8, 4  # HSI bands, MSI bands, LR size, ratio: 8x8x10 LR-HSI, 32x32x3 HR-MSI
TRIPWIRE = {**{f"stage{i}": {"iterations": 0, "decay_start": 0} for i in (1, 2, 3)}, "psf_size": 1, "device": "cpu"}


def tripwire_config() -> FusionConfig:
    """Zero iterations, and a PSF size below any ratio: fuse() refuses it after checking the inputs."""
    settings, _ = split_run_options(TRIPWIRE)  # "device" is a run option (the YAML file keeps it, as old files do)
    return FusionConfig.from_dict(settings, base=FusionConfig.preset_config("fast"))


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
        return pfs2c2.fuse(
            self.lr if lr is None else lr, self.hr if hr is None else hr, config=tripwire_config(), **kwargs
        )


def make_inputs(tmp_path: Path) -> Inputs:
    """The valid tiny problem in ``tmp_path`` (shared with tests/cli/test_errors.py)."""
    rng = np.random.default_rng(0)
    t = Inputs(
        tmp_path,
        (0.1 + rng.random((C, h, h))).astype(np.float32),
        (0.1 + rng.random((c, h * r, h * r))).astype(np.float32),
    )
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    t.save_cube("lr.npy", t.lr)
    t.save_cube("hr.npy", t.hr)
    t.save("support.npy", np.ones((C, c)))
    t.path("tripwire.yaml").write_text(yaml.safe_dump(TRIPWIRE))
    return t


@pytest.fixture
def inputs(tmp_path: Path) -> Inputs:
    return make_inputs(tmp_path)


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
NEEDS_FUSE_WIRING_API = NEEDS_FUSE_WIRING | {
    "wrong_rank",
    "nan",
    "inf",
    "srf_wrong_shape",
    "srf_negative",
    "srf_empty_column",
    "msi_as_many_bands_as_hsi",
}
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
    return Bad(
        r"unknown extension '\.xyz'",
        {"--hsi": odd},
        [api(lambda: read_cube(odd), "unknown extension"), api(lambda: read_array(odd), "unknown extension")],
    )


@kind("wrong_rank")
def _(t: Inputs) -> Bad:
    flat = t.save("flat.npy", t.lr[0])
    return Bad("2-D", {"--hsi": flat}, [api(lambda: read_cube(flat), "2-D"), api(lambda: t.fuse(lr=t.lr[0]), "3-D")])


@kind("empty_array")
def _(t: Inputs) -> Bad:
    empty = t.save("empty.npy", np.zeros((0, h, C), np.float32))
    return Bad(
        "empty",
        {"--hsi": empty},
        [api(lambda: read_cube(empty), "empty"), api(lambda: t.fuse(lr=np.zeros((C, 0, h), np.float32)), "empty")],
    )


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
    return Bad(
        r"band\(s\) \[4\].*constant",
        {"--hsi": t.save_cube("flat_band.npy", lr)},
        [api(lambda: t.fuse(lr=lr), r"\[4\].*constant")],
    )


@kind("negative_image")
def _(t: Inputs) -> Bad:
    hr = t.hr - 0.6  # about half of the values negative: a standardised or offset image
    return Bad(
        "negative values", {"--msi": t.save_cube("negative.npy", hr)}, [api(lambda: t.fuse(hr=hr), "negative values")]
    )


@kind("size_mismatch")
def _(t: Inputs) -> Bad:
    hr = t.hr[:, :30]  # 30 x 32 for an 8 x 8 HSI: no integer ratio
    return Bad(
        "not an integer multiple",
        {"--msi": t.save_cube("odd.npy", hr)},
        [api(lambda: t.fuse(hr=hr), "not an integer multiple")],
    )


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
    return Bad(
        "ratio must be an integer >= 2",
        {"--ratio": 0},
        [api(lambda: t.fuse(ratio=0), ">= 2"), api(lambda: t.fuse(ratio=2.5), "integer")],
    )


@kind("one_band_msi")
def _(t: Inputs) -> Bad:
    hr = t.hr[:1]
    return Bad(
        "panchromatic",
        {"--msi": t.save_cube("pan.npy", hr), "--srf-support": t.save("support1.npy", np.ones((C, 1)))},
        [api(lambda: t.fuse(hr=hr), "panchromatic")],
    )


@kind("msi_as_many_bands_as_hsi")
def _(t: Inputs) -> Bad:
    hr = np.concatenate([t.hr] * 4)[:C]
    return Bad(
        "more bands",
        {"--msi": t.save_cube("wide.npy", hr), "--srf-support": t.save("support10.npy", np.ones((C, C)))},
        [api(lambda: t.fuse(hr=hr), "more bands")],
    )


@kind("unknown_sensor")
def _(t: Inputs) -> Bad:
    wavelengths = np.linspace(400, 900, C)
    return Bad(
        "'nosuchsensor' is neither an existing .* file nor a known sensor",
        {"--srf-support": "nosuchsensor", "--wavelengths": "400:900"},
        [api(lambda: load_srf("nosuchsensor", hsi_wavelengths_nm=wavelengths), "nor a known sensor")],
    )


@kind("wavelengths_decreasing")
def _(t: Inputs) -> Bad:
    csv = t.path("wl.csv")
    csv.write_text("".join(f"{w:.1f}\n" for w in np.linspace(900, 400, C)))
    return Bad(
        "not increasing",
        {"--wavelengths": csv},
        [
            api(lambda: parse_wavelengths(csv, C), "not increasing"),
            api(lambda: parse_wavelengths("900:400", C), "must increase"),
        ],
    )


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
    return Bad(
        "no write permission",
        {},
        [
            api(lambda: check_output_path(target), "no write permission"),
            api(lambda: write_cube(target, t.lr), "no write permission"),
        ],
    )


@kind("output_parent_is_a_file")
def _(t: Inputs) -> Bad:
    blocker = t.dir / "out" / "notadir"
    blocker.write_text("a file where the output directory should be")
    target = blocker / "fused.npy"
    return Bad(
        "is a file, not a directory",
        {},
        [api(lambda: check_output_path(target), "is a file"), api(lambda: write_cube(target, t.lr), "is a file")],
        out=target,
    )


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
# API (the command line: tests/cli/test_errors.py)
# --------------------------------------------------------------------------------------------------
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
