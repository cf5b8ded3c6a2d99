"""The transformer block: attention + feed-forward, each wrapped in a residual connection and LayerNorm.

Post-LN (2017 paper, BERT): ``x = norm(x + sublayer(x))``.
Pre-LN (GPT-2, most models today): ``x = x + sublayer(norm(x))`` (trains more stably when deep).
Both are the same modules in a different order, chosen by ``norm_first``; the parameter names
mirror ``torch.nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer``.

A block is built from its sizes and, by keyword, the choices of :class:`BlockConfig`:
``EncoderBlock(d_model, n_heads, d_ff, norm_first=True, activation="gelu")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch.nn as nn
from torch import Tensor

from flowlib.attention import KVCache, MultiHeadAttention
from flowlib.positions import RotaryEmbedding

Activation = Literal["relu", "gelu", "gelu_tanh"]


def make_activation(name: Activation) -> nn.Module:
    """ "relu"; "gelu" = exact erf GELU (BERT); "gelu_tanh" = tanh approximation (GPT-2's gelu_new)."""
    activations = {"relu": nn.ReLU(), "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh")}
    if name not in activations:
        raise ValueError(f"activation must be one of {sorted(activations)}; got {name!r}")
    return activations[name]


class FeedForward(nn.Module):
    """Position-wise MLP: (batch, time, d_model) -> linear1 -> activation -> dropout -> linear2 -> same shape.

    ``linear1`` Linear(d_model, d_ff) (BERT ``intermediate.dense``; GPT-2 ``mlp.c_fc.weight.T``),
    ``linear2`` Linear(d_ff, d_model) (BERT ``output.dense``; GPT-2 ``mlp.c_proj.weight.T``).
    """

    def __init__(
        self, d_model: int, d_ff: int, dropout: float = 0.0, activation: Activation = "relu", bias: bool = True
    ) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff, bias=bias)
        self.activation = make_activation(activation)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


@dataclass(frozen=True)
class BlockConfig:
    """The sizes and choices every block of a stack shares (``torch.nn.TransformerEncoderLayer``'s names)."""

    d_model: int
    n_heads: int
    d_ff: int  # the feed-forward's hidden width
    dropout: float = 0.0
    norm_first: bool = False  # True: pre-LN (GPT-2); False: post-LN (2017, BERT)
    activation: Activation = "relu"
    layer_norm_eps: float = 1e-5
    bias: bool = True  # in every Linear and LayerNorm

    def attention(self, rotary: RotaryEmbedding | None = None) -> MultiHeadAttention:
        return MultiHeadAttention(self.d_model, self.n_heads, self.dropout, self.bias, rotary=rotary)

    def feed_forward(self) -> FeedForward:
        return FeedForward(self.d_model, self.d_ff, self.dropout, self.activation, self.bias)

    def layer_norm(self) -> nn.LayerNorm:
        return nn.LayerNorm(self.d_model, eps=self.layer_norm_eps, bias=self.bias)


class EncoderBlock(nn.Module):
    """Self-attention + feed-forward. With a causal mask this is also the GPT (decoder-only) block.

    Parameters: ``self_attn`` (MultiHeadAttention), ``ff`` (FeedForward), ``norm1`` (before/after
    attention), ``norm2`` (before/after feed-forward). x (batch, time, d_model) -> same shape.
    ``options``: the rest of :class:`BlockConfig` by keyword (dropout, norm_first, activation,
    layer_norm_eps, bias); ``rotary``: a RotaryEmbedding for the attention, or None.
    """

    def __init__(
        self, d_model: int, n_heads: int, d_ff: int, *, rotary: RotaryEmbedding | None = None, **options: Any
    ) -> None:
        super().__init__()
        c = BlockConfig(d_model, n_heads, d_ff, **options)
        self.norm_first = c.norm_first
        self.self_attn = c.attention(rotary)
        self.ff = c.feed_forward()
        self.norm1, self.norm2 = c.layer_norm(), c.layer_norm()
        self.dropout1, self.dropout2 = nn.Dropout(c.dropout), nn.Dropout(c.dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None, cache: KVCache | None = None) -> Tensor:
        """mask bool broadcastable to (batch, heads, time, time), True = may attend; cache for generation."""
        if self.norm_first:
            x = x + self.dropout1(self.self_attn(self.norm1(x), mask=mask, cache=cache))
            x = x + self.dropout2(self.ff(self.norm2(x)))
        else:
            x = self.norm1(x + self.dropout1(self.self_attn(x, mask=mask, cache=cache)))
            x = self.norm2(x + self.dropout2(self.ff(x)))
        return x


class DecoderBlock(nn.Module):
    """Masked self-attention + cross-attention to the encoder output (memory) + feed-forward.

    Parameters: ``self_attn``, ``cross_attn`` (MultiHeadAttention), ``ff`` (FeedForward), ``norm1``,
    ``norm2``, ``norm3`` (one per sub-layer, in that order). x (batch, T, d_model), memory
    (batch, S, d_model) -> (batch, T, d_model). ``options``: the rest of :class:`BlockConfig` by keyword.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, **options: Any) -> None:
        super().__init__()
        c = BlockConfig(d_model, n_heads, d_ff, **options)
        self.norm_first = c.norm_first
        self.self_attn = c.attention()
        self.cross_attn = c.attention()
        self.ff = c.feed_forward()
        self.norm1, self.norm2, self.norm3 = c.layer_norm(), c.layer_norm(), c.layer_norm()
        self.dropout1, self.dropout2, self.dropout3 = (
            nn.Dropout(c.dropout),
            nn.Dropout(c.dropout),
            nn.Dropout(c.dropout),
        )

    def forward(
        self, x: Tensor, memory: Tensor, self_mask: Tensor | None = None, memory_mask: Tensor | None = None
    ) -> Tensor:
        """self_mask (..., T, T): causal (and target padding); memory_mask (..., T, S): source padding."""
        if self.norm_first:
            x = x + self.dropout1(self.self_attn(self.norm1(x), mask=self_mask))
            x = x + self.dropout2(self.cross_attn(self.norm2(x), memory, mask=memory_mask))
            x = x + self.dropout3(self.ff(self.norm3(x)))
        else:
            x = self.norm1(x + self.dropout1(self.self_attn(x, mask=self_mask)))
            x = self.norm2(x + self.dropout2(self.cross_attn(x, memory, mask=memory_mask)))
            x = self.norm3(x + self.dropout3(self.ff(x)))
        return x
