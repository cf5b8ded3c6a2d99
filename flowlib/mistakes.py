"""The bug gallery: classic transformer mistakes, implemented on purpose.

Each function has the signature of the correct one it imitates and a ``# BUG`` line. The tests
show that flowlib's equivalence checks catch every one; exercise feedback uses ``match_mistake``
to name the mistake a learner's answer reproduces. ``MISTAKES[group][name]`` lists them per concept,
``REFERENCES[group]`` is the correct function of that group. Attention mistakes accept
``dropout_p`` for the same signature but never apply dropout.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from flowlib.attention import causal_mask, scaled_dot_product_attention, split_heads
from flowlib.blocks import EncoderBlock

Output = Tensor | tuple[Tensor, ...]  # what the gallery's functions return: a tensor, or attention's (out, weights)

# --- attention: (q, k, v, mask, dropout_p) -> (out, weights)


def softmax_over_queries(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Softmax over the wrong axis (queries, dim -2): each key's column sums to 1 instead of each query's row."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-2)  # BUG: should be dim=-1 (over keys)
    return weights @ v, weights


def missing_scale(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Forgot to divide by sqrt(d_k): scores grow with d_k, softmax saturates, gradients vanish."""
    scores = q @ k.transpose(-2, -1)  # BUG: no / sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def scale_by_d_k(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Divided by d_k instead of sqrt(d_k): attention too flat."""
    scores = q @ k.transpose(-2, -1) / q.size(-1)  # BUG: should be / sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def inverted_mask(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Mask read the wrong way round (True = blocked, nn.MultiheadAttention's convention): attends only where it must not."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))  # BUG: should fill where ~mask
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def ignores_mask(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Mask never applied: padding leaks into attention and a decoder sees the future."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # BUG: mask is ignored
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def mask_after_softmax(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Mask applied after softmax: masked keys still take probability mass, rows no longer sum to 1."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # BUG: must mask the scores before softmax
    return weights @ v, weights


# --- causal mask: (T, device) -> (T, T) bool


def causal_mask_inverted(T: int, device: torch.device | str | None = None) -> Tensor:
    """Upper instead of lower triangle: each token sees the future and not the past."""
    return torch.ones(T, T, dtype=torch.bool, device=device).triu()  # BUG: should be tril()


def causal_mask_peeks_ahead(T: int, device: torch.device | str | None = None) -> Tensor:
    """Off by one towards the future: token t also sees token t + 1 (training "works" and generation fails)."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril(diagonal=1)  # BUG: diagonal should be 0


def causal_mask_excludes_self(T: int, device: torch.device | str | None = None) -> Tensor:
    """Off by one towards the past: token t cannot see itself, and the first token sees nothing."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril(diagonal=-1)  # BUG: diagonal should be 0


# --- split heads: (batch, time, d_model) -> (batch, heads, time, head_dim)


def split_heads_without_transpose(x: Tensor, n_heads: int) -> Tensor:
    """Reshaped straight to (batch, heads, time, head_dim): right shape, but each "head" mixes time steps."""
    B, T, D = x.shape
    return x.reshape(B, n_heads, T, D // n_heads)  # BUG: view as (B, T, heads, head_dim), then transpose(1, 2)


def split_heads_interleaved(x: Tensor, n_heads: int) -> Tensor:
    """Heads split along the wrong axis of d_model: head h gets dims h, h + heads, ... instead of a contiguous slice."""
    B, T, D = x.shape
    return x.reshape(B, T, D // n_heads, n_heads).permute(0, 3, 1, 2)  # BUG: should be (B, T, heads, head_dim)


# --- block: (block, x, mask) -> (batch, time, d_model)


def apply_block(block: EncoderBlock, x: Tensor, mask: Tensor | None = None) -> Tensor:
    """The correct forward pass of an EncoderBlock (the reference of the "block" group)."""
    return block(x, mask)


def layer_norm_placement_swapped(block: EncoderBlock, x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Pre-LN and post-LN mixed up: normalizes after the residual when the block is pre-LN, and before when post-LN."""
    attn, ff, n1, n2 = block.self_attn, block.ff, block.norm1, block.norm2
    if block.norm_first:  # BUG: this is the post-LN order
        x = n1(x + attn(x, mask=mask))
        return n2(x + ff(x))
    x = x + attn(n1(x), mask=mask)  # BUG: this is the pre-LN order
    return x + ff(n2(x))


def residual_from_normalized(block: EncoderBlock, x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Pre-LN with the residual taken after the norm: x = norm(x); x = x + attn(x) loses the un-normalized stream."""
    x = block.norm1(x)  # BUG: the residual must carry x, not norm1(x)
    x = x + block.self_attn(x, mask=mask)
    x = block.norm2(x)  # BUG: same for the feed-forward sub-layer
    return x + block.ff(x)


MISTAKES: dict[str, dict[str, Callable[..., Output]]] = {
    "attention": {
        "softmax_over_queries": softmax_over_queries,
        "missing_scale": missing_scale,
        "scale_by_d_k": scale_by_d_k,
        "inverted_mask": inverted_mask,
        "ignores_mask": ignores_mask,
        "mask_after_softmax": mask_after_softmax,
    },
    "causal_mask": {
        "causal_mask_inverted": causal_mask_inverted,
        "causal_mask_peeks_ahead": causal_mask_peeks_ahead,
        "causal_mask_excludes_self": causal_mask_excludes_self,
    },
    "split_heads": {
        "split_heads_without_transpose": split_heads_without_transpose,
        "split_heads_interleaved": split_heads_interleaved,
    },
    "block": {
        "layer_norm_placement_swapped": layer_norm_placement_swapped,
        "residual_from_normalized": residual_from_normalized,
    },
}

REFERENCES: dict[str, Callable[..., object]] = {
    "attention": scaled_dot_product_attention,
    "causal_mask": causal_mask,
    "split_heads": split_heads,
    "block": apply_block,
}


def _first(output: Output) -> Tensor:
    return output[0] if isinstance(output, tuple) else output  # attention returns (out, weights)


def _same(a: Tensor, b: Tensor, atol: float) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype == torch.bool or b.dtype == torch.bool:
        return bool(torch.equal(a, b))
    return bool(torch.allclose(a.float(), b.float(), rtol=0.0, atol=atol, equal_nan=True))


@torch.no_grad()
def match_mistake(group: str, output: Output, *args: object, atol: float = 1e-5) -> str | None:
    """Name of the first mistake in ``MISTAKES[group]`` whose output on ``args`` equals ``output``, else None.

    Call it when an answer disagrees with the reference, e.g.
    ``match_mistake("attention", learner_fn(q, k, v, mask), q, k, v, mask)`` -> "mask_after_softmax".
    """
    if group not in MISTAKES:
        raise ValueError(f"group must be one of {sorted(MISTAKES)}; got {group!r}")
    given = _first(output)
    for name, wrong in MISTAKES[group].items():
        if _same(given, _first(wrong(*args)), atol):
            return name
    return None
