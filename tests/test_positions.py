"""flowlib.positions: the 2017 sinusoidal table, learned positions, and RoPE's offset-only property."""

from __future__ import annotations

import math

import pytest
import torch

from flowlib.attention import MultiHeadAttention
from flowlib.positions import (
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_encoding,
)


def test_sinusoidal_encoding_follows_the_paper() -> None:
    pe = sinusoidal_encoding(50, 16)
    assert pe.shape == (50, 16)
    for pos in (0, 1, 17, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert math.isclose(pe[pos, 2 * i].item(), math.sin(angle), abs_tol=1e-5)
            assert math.isclose(pe[pos, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-5)


def test_sinusoidal_module_adds_the_table_at_an_offset() -> None:
    module = SinusoidalPositionalEncoding(8, max_len=20)
    x = torch.randn(2, 5, 8)
    assert torch.allclose(module(x), x + sinusoidal_encoding(5, 8))
    assert torch.allclose(module(x, offset=3), x + sinusoidal_encoding(8, 8)[3:])
    assert list(module.parameters()) == []


def test_learned_positions_add_a_trainable_row_per_position() -> None:
    module = LearnedPositionalEmbedding(10, 4)
    x = torch.zeros(3, 4, 4)
    assert torch.equal(module(x, offset=2), module.weight[2:6].expand(3, -1, -1))
    module(x).sum().backward()
    assert module.weight.grad[:4].abs().sum() > 0 and module.weight.grad[4:].abs().sum() == 0


@pytest.mark.parametrize("head_dim,seed", [(2, 0), (8, 1), (16, 2), (64, 3)])
def test_rope_scores_depend_only_on_the_offset(head_dim: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    rope = RotaryEmbedding(head_dim, max_len=64)
    q, k = torch.randn(1, 1, head_dim, generator=g), torch.randn(1, 1, head_dim, generator=g)
    for m, n in [(5, 2), (7, 0), (40, 10)]:
        score = (rope(q, offset=m) * rope(k, offset=n)).sum()
        shifted = (rope(q, offset=m + 13) * rope(k, offset=n + 13)).sum()
        assert torch.allclose(score, shifted, atol=1e-4)
    # and it does depend on the offset
    assert not torch.allclose((rope(q, offset=3) * rope(k)).sum(), (rope(q, offset=4) * rope(k)).sum(), atol=1e-4)


def test_rope_is_a_rotation() -> None:
    rope = RotaryEmbedding(8, max_len=16)
    x = torch.randn(2, 3, 16, 8)
    y = rope(x)
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5)
    assert torch.allclose(y[..., 0, :], x[..., 0, :])  # position 0: angle 0


def test_attention_without_positions_is_permutation_equivariant() -> None:
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4).eval()
    x = torch.randn(1, 6, 16)
    perm = torch.randperm(6)
    assert torch.allclose(mha(x)[:, perm], mha(x[:, perm]), atol=1e-5)
    with_pos = SinusoidalPositionalEncoding(16, 6)
    assert not torch.allclose(mha(with_pos(x))[:, perm], mha(with_pos(x[:, perm])), atol=1e-3)
