"""SpectralUp attention: frozen gate (block-wise == whole image) and batch pooling."""

from __future__ import annotations

import torch

from pfs2c2.model.modules import SpectralUp


def _module() -> SpectralUp:
    torch.manual_seed(0)
    return SpectralUp(4, 20, linear_skip=True)


def test_frozen_gate_blockwise_equals_whole_image() -> None:
    m = _module()
    x = torch.rand(1, 4, 24, 24)
    full = m(x)
    m.freeze_attention(x)
    rows = [torch.cat([m(x[:, :, i : i + 8, j : j + 12]) for j in (0, 12)], 3) for i in (0, 8, 16)]
    assert torch.allclose(torch.cat(rows, 2), full, atol=1e-6)
    m.unfreeze_attention()
    assert not torch.allclose(m(x[:, :, :8, :8]), full[:, :, :8, :8], atol=1e-6)


def test_frozen_gate_state_dict_optional() -> None:
    m = _module()
    assert not any("frozen" in k for k in m.state_dict())
    m.freeze_attention(torch.rand(1, 4, 8, 8))
    sd = m.state_dict()
    fresh = _module()
    fresh.load_state_dict(sd)
    assert fresh.attention is not None and fresh.attention.frozen_gate is not None
    m.unfreeze_attention()
    fresh.load_state_dict(m.state_dict())
    assert fresh.attention.frozen_gate is None


def test_batch_pooling_one_image_bit_identical_and_mask() -> None:
    m = _module()
    x = torch.rand(1, 4, 10, 10)
    ref = m(x)
    m.set_pool_batch(True)
    assert torch.equal(m(x), ref)
    pair = torch.cat([x[:, :, :5], x[:, :, 5:]])
    pooled = m(pair)
    assert torch.allclose(torch.cat([pooled[0:1], pooled[1:2]], 2), ref, atol=1e-6)
    m.set_pool_batch(False)
    assert torch.equal(m(pair, torch.ones(2, 1, 5, 10)), pooled)
