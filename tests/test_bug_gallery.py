"""Every classic mistake in flowlib.mistakes is caught by the equivalence check the suite uses for that concept,
the correct function passes the same check, and ``match_mistake`` names the mistake from its output."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from flowlib.attention import causal_mask, combine_masks, merge_heads, padding_mask
from flowlib.blocks import EncoderBlock
from flowlib.mistakes import MISTAKES, REFERENCES, match_mistake
from flowlib.models import copy_from_torch

ATOL = 1e-5


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=ATOL, rtol=0))  # NaN never passes


# --- one check per concept


def attention_inputs() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 5, 8, generator=g) for _ in range(3))
    ids = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    return q, k, v, combine_masks(causal_mask(5), padding_mask(ids, 0))


def attention_check(fn: Callable) -> bool:
    """The suite's attention test: same output as PyTorch's kernel with a causal + padding mask."""
    q, k, v, mask = attention_inputs()
    return close(fn(q, k, v, mask)[0], F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def causal_check(fn: Callable) -> bool:
    """The suite's causal test: attention under the mask equals PyTorch's is_causal attention."""
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 2, 6, 8, generator=g) for _ in range(3))
    return close(REFERENCES["attention"](q, k, v, fn(6))[0], F.scaled_dot_product_attention(q, k, v, is_causal=True))


def split_inputs() -> tuple[nn.MultiheadAttention, torch.Tensor]:
    torch.manual_seed(2)
    return nn.MultiheadAttention(16, 4, batch_first=True).eval(), torch.randn(2, 5, 16)


def multi_head_attention_with(split: Callable, ref: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    q, k, v = F.linear(x, ref.in_proj_weight, ref.in_proj_bias).split(16, dim=-1)
    out, _ = REFERENCES["attention"](split(q, 4), split(k, 4), split(v, 4))
    return ref.out_proj(merge_heads(out))


def split_check(fn: Callable) -> bool:
    """The suite's multi-head test: same output as nn.MultiheadAttention with the same weights."""
    ref, x = split_inputs()
    return close(multi_head_attention_with(fn, ref, x), ref(x, x, x, need_weights=False)[0])


def block_pair(norm_first: bool) -> tuple[EncoderBlock, nn.TransformerEncoderLayer]:
    torch.manual_seed(3)
    ref = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_first).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(std=0.3)
    block = EncoderBlock(16, 4, 32, norm_first=norm_first).eval()
    copy_from_torch(block, ref)
    return block, ref


def block_check(fn: Callable) -> bool:
    """The suite's block test: same output as nn.TransformerEncoderLayer, post-LN and pre-LN."""
    x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(4))
    return all(close(fn(block, x), ref(x)) for block, ref in map(block_pair, (False, True)))


CHECKS = {"attention": attention_check, "causal_mask": causal_check, "split_heads": split_check, "block": block_check}


def example_args(group: str) -> tuple:
    if group == "attention":
        return attention_inputs()
    if group == "causal_mask":
        return (6,)
    if group == "split_heads":
        return (split_inputs()[1], 4)
    return (block_pair(True)[0], torch.randn(2, 5, 16))


# --- the gallery


@pytest.mark.parametrize("group", sorted(CHECKS))
def test_the_reference_passes_its_check(group: str) -> None:
    assert CHECKS[group](REFERENCES[group])


@pytest.mark.parametrize(
    "group,name", [(group, name) for group, mistakes in MISTAKES.items() for name in mistakes], ids=lambda v: v
)
@torch.no_grad()
def test_the_check_catches_the_mistake(group: str, name: str) -> None:
    wrong = MISTAKES[group][name]
    assert wrong.__doc__, f"{name} must say what the mistake is"
    assert not CHECKS[group](wrong), f"the {group} check does not catch {name}"
    args = example_args(group)
    assert match_mistake(group, wrong(*args), *args) == name


@torch.no_grad()
def test_match_mistake_says_none_for_a_correct_answer() -> None:
    args = attention_inputs()
    assert match_mistake("attention", REFERENCES["attention"](*args), *args) is None
    with pytest.raises(ValueError, match="group must be one of"):
        match_mistake("softmax", None)
