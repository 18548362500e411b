"""pfs2c2.metrics.noref: no-reference indices (D_lambda, D_s, QNR, D_lambda^K, HQNR) for HS-MS fusion.

Real data: the Pavia (ROSIS) ABU beach scene from ../shared/data (100 x 100 x 102, [0, 1]); the
LR-HSI is its 4 x 4 block mean and the MSI the mean of 4 contiguous band groups, so the scene
itself is the perfect fusion. Oracles: brute-force loops over band pairs and blocks with
:func:`pfs2c2.metrics.uiqi` (one window per block).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.io
import torch
import torch.nn.functional as F

from pfs2c2 import metrics, noref
from pfs2c2.physics import blur_downsample, gaussian_psf

from ..conftest import DATA

SCENE = DATA / "hsi" / "abu-beach-4_pavia_rosis.mat"
RATIO = 4
RTOL = 1e-9


def _lr(x: np.ndarray) -> np.ndarray:
    c, h, w = x.shape
    return x.reshape(c, h // RATIO, RATIO, w // RATIO, RATIO).mean(axis=(2, 4))


def _msi(x: np.ndarray) -> np.ndarray:
    return np.stack([group.mean(axis=0) for group in np.array_split(x, 4, axis=0)])


@pytest.fixture(scope="module")
def pavia() -> dict[str, np.ndarray]:
    """Reference (102, 100, 100) float64, its LR-HSI, MSI and degraded "fusions"."""
    if not SCENE.exists():
        pytest.skip(f"shared data not found: {SCENE}")
    reference = np.ascontiguousarray(scipy.io.loadmat(SCENE)["data"].transpose(2, 0, 1), dtype=np.float64)
    lr = _lr(reference)
    lr_t = torch.from_numpy(lr)[None]
    return {
        "reference": reference,
        "lr": lr,
        "msi": _msi(reference),
        "bicubic": F.interpolate(lr_t, scale_factor=RATIO, mode="bicubic", align_corners=False)[0].numpy(),
        "nearest": F.interpolate(lr_t, scale_factor=RATIO, mode="nearest")[0].numpy(),
        "shifted": np.roll(reference, (2, 2), axis=(1, 2)),
        "noisy": reference + 0.02 * np.random.default_rng(0).standard_normal(reference.shape),
    }


@pytest.fixture(scope="module")
def scores(pavia: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    names = ["reference", "bicubic", "nearest", "shifted", "noisy"]
    return {n: noref.no_reference(pavia[n], pavia["lr"], pavia["msi"], RATIO) for n in names}


def test_perfect_fusion_small_distortions(scores: dict[str, dict[str, float]]) -> None:
    ref = scores["reference"]
    assert set(ref) == {"d_lambda", "d_s", "qnr", "d_lambda_k", "hqnr"}
    assert ref["d_lambda"] < 0.15 and ref["d_s"] < 0.15
    assert ref["d_lambda_k"] < 1e-12  # the reference degrades exactly to the LR-HSI
    assert ref["hqnr"] == pytest.approx(1.0 - ref["d_s"], abs=1e-12)


@pytest.mark.parametrize("other", ["bicubic", "nearest", "shifted", "noisy"])
def test_reference_beats_worse_fusions(scores: dict[str, dict[str, float]], other: str) -> None:
    ref, bad = scores["reference"], scores[other]
    assert ref["d_s"] < bad["d_s"]
    assert ref["hqnr"] > bad["hqnr"]
    if other in ("shifted", "noisy"):
        assert ref["qnr"] > bad["qnr"]


def test_classical_d_lambda_rewards_interpolation(scores: dict[str, dict[str, float]]) -> None:
    # Known bias of Alparone's D_lambda (documented in the module): nearest upsampling keeps every
    # block moment of the LR-HSI, so D_lambda = 0, and on this noisy scene the classical QNR ranks
    # bicubic above the truth. This is why HQNR is reported too.
    assert scores["nearest"]["d_lambda"] < 1e-12
    assert scores["nearest"]["d_lambda_k"] < 1e-12
    assert scores["bicubic"]["qnr"] > scores["reference"]["qnr"]


def test_values_in_unit_interval(scores: dict[str, dict[str, float]]) -> None:
    for result in scores.values():
        for value in result.values():
            assert 0.0 <= value <= 1.0


def test_qnr_one_iff_both_zero() -> None:
    assert noref.qnr(0.0, 0.0) == 1.0
    assert noref.qnr(0.1, 0.0) < 1.0 and noref.qnr(0.0, 0.1) < 1.0
    assert noref.qnr(0.2, 0.5) == pytest.approx(0.8 * 0.5)
    assert noref.qnr(0.2, 0.5, alpha=2, beta=0.5) == pytest.approx(0.8**2 * 0.5**0.5)


def test_piecewise_constant_scene_gives_qnr_one(pavia: dict[str, np.ndarray]) -> None:
    # A scene made of 4 x 4 constant blocks has the same block moments at HR and LR: both
    # distortions vanish for the perfect fusion, and do not for a noisy one.
    scene = np.repeat(np.repeat(pavia["lr"][:20], RATIO, axis=1), RATIO, axis=2)
    lr, msi = _lr(scene), _msi(scene)
    result = noref.no_reference(scene, lr, msi, RATIO)
    assert result["d_lambda"] < 1e-12 and result["d_s"] < 1e-12
    assert result["qnr"] == pytest.approx(1.0, abs=1e-12)
    noisy = scene + 0.01 * np.random.default_rng(1).standard_normal(scene.shape)
    assert noref.no_reference(noisy, lr, msi, RATIO)["qnr"] < 0.99


def test_torch_input_matches_numpy(pavia: dict[str, np.ndarray], scores: dict[str, dict[str, float]]) -> None:
    as_t = {k: torch.from_numpy(pavia[k]).float() for k in ("bicubic", "lr", "msi")}
    result = noref.no_reference(as_t["bicubic"], as_t["lr"], as_t["msi"], RATIO)
    for key, value in scores["bicubic"].items():
        assert result[key] == pytest.approx(value, abs=1e-5)


def test_psf_consistent_lr_gives_zero_d_lambda_k(pavia: dict[str, np.ndarray]) -> None:
    psf = gaussian_psf(RATIO, kernel_size=8)
    ref = pavia["reference"][:10]
    lr = blur_downsample(ref, psf, RATIO)
    assert noref.d_lambda_k(ref, lr, RATIO, psf=psf) < 1e-12
    assert noref.d_lambda_k(ref, lr, RATIO) > 1e-3  # wrong (block-mean) PSF
    assert 0.0 <= noref.d_s(ref, _msi(ref), lr, RATIO, psf=psf) < 0.2


def test_shape_and_argument_errors() -> None:
    rng = np.random.default_rng(0)
    f, lr, msi = rng.random((6, 64, 64)), rng.random((6, 16, 16)), rng.random((3, 64, 64))
    cases = [
        (noref.d_lambda, (f, lr[:5], RATIO), {}, "same number of bands"),
        (noref.d_lambda, (f, lr[:, :15], RATIO), {}, "times the ratio"),
        (noref.d_lambda, (f[0], lr, RATIO), {}, r"\(C, H, W\)"),
        (noref.d_lambda, (f[:1], lr[:1], RATIO), {}, "at least 2 bands"),
        (noref.d_lambda, (f, lr, RATIO), {"block_size": 30}, "multiple of the ratio"),
        (noref.d_lambda, (f, lr, RATIO), {"block_size": 4}, "at least 8"),
        (noref.d_lambda, (f, lr, RATIO), {"p": 0}, "p must be"),
        (noref.d_lambda, (f, lr, RATIO), {"max_bands": 1}, "max_bands"),
        (noref.d_lambda, (f, lr, 0), {}, "ratio"),
        (noref.d_lambda, (f, lr, RATIO), {"mask": np.ones((64, 63), bool)}, "mask must have shape"),
        (noref.d_lambda, (f, lr, RATIO), {"mask": np.zeros((64, 64), bool)}, "no valid"),
        (noref.d_s, (f, msi[:, :32], lr, RATIO), {}, "hr_msi must be"),
        (noref.d_s, (f, msi, lr, RATIO), {"q": -1}, "q must be"),
        (noref.d_s, (f, msi, lr, RATIO), {"psf": np.ones((2, 2))}, "smaller than the ratio"),
        (noref.no_reference, (f, lr, msi[None], RATIO), {}, r"\(C, H, W\)"),
    ]
    for fn, args, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            fn(*args, **kwargs)


def test_mask_excludes_corrupted_region(pavia: dict[str, np.ndarray]) -> None:
    lr, msi = pavia["lr"][:30], _msi(pavia["reference"][:30])
    fused = pavia["bicubic"][:30]
    mask = np.ones((100, 100), bool)
    mask[64:] = False
    bad_f, bad_lr, bad_msi = fused.copy(), lr.copy(), msi.copy()
    bad_f[:, 70:, 10:40] = np.nan
    bad_f[:, 64:66] = 5.0
    bad_lr[:, 17:, :] = np.nan
    bad_msi[:, 80:, :] = -3.0
    masked = noref.no_reference(bad_f, bad_lr, bad_msi, RATIO, mask=mask)
    cropped = noref.no_reference(fused[:, :64], lr[:, :16], msi[:, :64], RATIO)
    for key, value in cropped.items():
        assert math.isfinite(masked[key])
        assert masked[key] == pytest.approx(value, rel=RTOL, abs=1e-14)
    # an all-True mask changes nothing; a PSF wider than the ratio keeps results finite
    full = noref.no_reference(fused, lr, msi, RATIO, mask=np.ones((100, 100), bool))
    assert full == noref.no_reference(fused, lr, msi, RATIO)
    wide = noref.no_reference(bad_f, bad_lr, bad_msi, RATIO, mask=mask, psf=gaussian_psf(RATIO, kernel_size=8))
    assert all(math.isfinite(v) for v in wide.values())


def _brute_q(a: np.ndarray, b: np.ndarray, size: int) -> float:
    """Mean over distinct ``size`` blocks of Q(a, b), one ``metrics.uiqi`` window per block."""
    values = [
        metrics.uiqi(a[None, y : y + size, x : x + size], b[None, y : y + size, x : x + size], block_size=size)
        for y in range(0, a.shape[0] - size + 1, size)
        for x in range(0, a.shape[1] - size + 1, size)
    ]
    return float(np.mean(values))


@pytest.fixture(scope="module")
def small_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fused (5, 72, 72), lr (5, 18, 18), msi (2, 72, 72)) with flat blocks for degenerate Q."""
    rng = np.random.default_rng(3)
    base = rng.random((1, 72, 72))
    fused = 0.5 * base + 0.5 * rng.random((5, 72, 72)) + np.arange(5)[:, None, None] * 0.1
    fused[0, :32, :32], fused[1, :32, :32] = 0.5, 0.3  # both flat: Q = 2 mu mu / (mu^2 + mu^2)
    fused[2, 32:64, :32], fused[3, 32:64, :32] = 0.0, 0.0  # both flat zero: Q = 1
    lr = _lr(fused) + 0.01 * rng.random((5, 18, 18))
    msi = np.stack([fused[:3].mean(axis=0), fused[2:].mean(axis=0)])
    return fused, lr, msi


@pytest.mark.parametrize("p", [1, 2])
def test_d_lambda_matches_brute_force(small_case: tuple[np.ndarray, np.ndarray, np.ndarray], p: int) -> None:
    fused, lr, _ = small_case
    diffs = [_brute_q(fused[i], fused[j], 32) - _brute_q(lr[i], lr[j], 8) for i in range(5) for j in range(i + 1, 5)]
    expected = np.mean(np.abs(diffs) ** p) ** (1 / p)
    assert noref.d_lambda(fused, lr, RATIO, p=p) == pytest.approx(expected, rel=RTOL)
    # max_bands picks evenly spaced bands 0, 2, 4
    sub = [0, 2, 4]
    assert noref.d_lambda(fused, lr, RATIO, p=p, max_bands=3) == pytest.approx(
        noref.d_lambda(fused[sub], lr[sub], RATIO, p=p), rel=RTOL
    )


@pytest.mark.parametrize("q", [1, 2])
def test_d_s_matches_brute_force(small_case: tuple[np.ndarray, np.ndarray, np.ndarray], q: int) -> None:
    fused, lr, msi = small_case
    msi_lr = _lr(msi)
    diffs = [_brute_q(fused[i], msi[j], 32) - _brute_q(lr[i], msi_lr[j], 8) for i in range(5) for j in range(2)]
    expected = np.mean(np.abs(diffs) ** q) ** (1 / q)
    assert noref.d_s(fused, msi, lr, RATIO, q=q) == pytest.approx(expected, rel=RTOL)
