"""flowlib.blocks equal torch.nn.TransformerEncoderLayer / TransformerDecoderLayer given the same weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from flowlib.attention import causal_mask, combine_masks, padding_mask
from flowlib.blocks import DecoderBlock, EncoderBlock, FeedForward
from flowlib.models import copy_from_torch

ATOL = 1e-5
D, H, D_FF = 16, 4, 32


def randomise(module: nn.Module) -> nn.Module:
    """Random weights everywhere (torch starts biases at 0 and LayerNorms at 1/0, which would hide mistakes)."""
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(std=0.3)
    return module


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_block_matches_torch(norm_first: bool, activation: str) -> None:
    torch.manual_seed(0)
    ref = randomise(
        nn.TransformerEncoderLayer(
            D, H, D_FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
        )
    )
    ours = EncoderBlock(D, H, D_FF, norm_first=norm_first, activation=activation)
    copy_from_torch(ours, ref)
    x = torch.randn(3, 7, D)
    ids = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 3 + [0] * 4])
    assert torch.allclose(ours(x), ref(x), atol=ATOL, rtol=0)
    assert torch.allclose(ours(x, causal_mask(7)), ref(x, src_mask=~causal_mask(7)), atol=ATOL, rtol=0)
    assert torch.allclose(ours(x, padding_mask(ids, 0)), ref(x, src_key_padding_mask=ids == 0), atol=ATOL, rtol=0)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("T,S", [(5, 7), (4, 2)])
def test_decoder_block_matches_torch(norm_first: bool, T: int, S: int) -> None:
    torch.manual_seed(1)
    ref = randomise(nn.TransformerDecoderLayer(D, H, D_FF, dropout=0.0, batch_first=True, norm_first=norm_first))
    ours = DecoderBlock(D, H, D_FF, norm_first=norm_first)
    copy_from_torch(ours, ref)
    x, memory = torch.randn(2, T, D), torch.randn(2, S, D)
    src = torch.tensor([[1] * S, [1] * (S - 1) + [0]])
    tgt = torch.tensor([[1] * T, [1] * (T - 2) + [0] * 2])
    expected = ref(x, memory, tgt_mask=~causal_mask(T), tgt_key_padding_mask=tgt == 0, memory_key_padding_mask=src == 0)
    out = ours(x, memory, combine_masks(causal_mask(T), padding_mask(tgt, 0)), padding_mask(src, 0))
    assert torch.allclose(out, expected, atol=ATOL, rtol=0)


def test_feed_forward_is_position_wise() -> None:
    ff = FeedForward(D, D_FF, activation="gelu_tanh")
    x = torch.randn(2, 5, D)
    assert torch.allclose(ff(x)[:, 3], ff(x[:, 3:4])[:, 0], atol=ATOL)


@pytest.mark.parametrize("norm_first", [False, True])
def test_gradients_reach_every_parameter(norm_first: bool) -> None:
    enc, dec = EncoderBlock(D, H, D_FF, norm_first=norm_first), DecoderBlock(D, H, D_FF, norm_first=norm_first)
    x = torch.randn(2, 4, D)
    dec(x, enc(x), causal_mask(4)).pow(2).sum().backward()
    for name, p in [*enc.named_parameters(), *dec.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_decoder_block_never_sees_the_future() -> None:
    torch.manual_seed(2)
    dec = DecoderBlock(D, H, D_FF).eval()
    x, memory = torch.randn(1, 6, D), torch.randn(1, 3, D)
    changed = x.clone()
    changed[:, 4] += 1.0
    out, out_changed = dec(x, memory, causal_mask(6)), dec(changed, memory, causal_mask(6))
    assert torch.allclose(out[:, :4], out_changed[:, :4], atol=ATOL)
    assert not torch.allclose(out[:, 4:], out_changed[:, 4:], atol=ATOL)


def test_blocks_take_their_choices_by_keyword() -> None:
    block = EncoderBlock(D, H, D_FF, dropout=0.1, norm_first=True, activation="gelu", layer_norm_eps=1e-6, bias=False)
    assert block.norm_first and block.self_attn.dropout == 0.1 and block.dropout2.p == 0.1
    assert block.norm1.eps == 1e-6 and block.norm1.bias is None and block.ff.linear1.bias is None
    assert isinstance(block.ff.activation, nn.GELU)
    with pytest.raises(TypeError):
        EncoderBlock(D, H, D_FF, 0.1)  # everything after the sizes is by keyword
    with pytest.raises(TypeError, match="normfirst"):
        DecoderBlock(D, H, D_FF, normfirst=True)
