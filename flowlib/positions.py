"""Position information: sinusoidal (2017), learned (GPT-2, BERT, ViT) and rotary (RoPE).

Attention alone is permutation-equivariant; these modules tell it where each token is. The
sinusoidal and learned modules are added to the embeddings; rotary rotates queries and keys.
All three take ``offset``: the position of the first token (non-zero when a key/value cache
already holds the earlier ones).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor


def _check_length(T: int, offset: int, max_len: int) -> None:
    if offset + T > max_len:
        raise ValueError(
            f"sequence length {offset + T} (offset {offset} + {T} tokens) exceeds the position table length max_len={max_len}"
        )


def sinusoidal_encoding(T: int, d_model: int) -> Tensor:
    """(T, d_model): PE[pos, 2i] = sin(pos / 10000^(2i/d_model)), PE[pos, 2i+1] = cos(same angle)."""
    if d_model % 2 != 0:
        raise ValueError(f"d_model must be even for sinusoidal encoding; got d_model={d_model}")
    pos = torch.arange(T, dtype=torch.float32)[:, None]  # (T, 1)
    inv_freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    angles = pos * inv_freq  # (T, d_model / 2)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table: x (batch, time, d_model) -> x + PE[offset:offset+time]. No parameters."""

    encoding: Tensor  # (max_len, d_model), a buffer: moves with the module, not saved in its state_dict

    def __init__(self, d_model: int, max_len: int = 5000) -> None:
        super().__init__()
        self.max_len = max_len
        self.register_buffer("encoding", sinusoidal_encoding(max_len, d_model), persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        T = x.size(-2)
        _check_length(T, offset, self.max_len)
        return x + self.encoding[offset : offset + T].to(x.dtype)


class LearnedPositionalEmbedding(nn.Module):
    """Adds a learned vector per position: x (batch, time, d_model) -> x + weight[offset:offset+time].

    ``weight`` (max_len, d_model) is HF GPT-2's ``wpe.weight`` and BERT's ``position_embeddings.weight``.
    """

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(torch.randn(max_len, d_model) * 0.02)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        T = x.size(-2)
        _check_length(T, offset, self.max_len)
        return x + self.weight[offset : offset + T]


class RotaryEmbedding(nn.Module):
    """RoPE: rotates each pair of dims (i, i + head_dim/2) of q and k by angle pos * base^(-2i/head_dim).

    x (..., time, head_dim) -> same shape. Applied to both queries and keys, the score q_m . k_n then
    depends only on the offset m - n (the "rotate-half" pairing used by GPT-NeoX and Llama). No parameters.
    """

    cos: Tensor  # (max_len, head_dim), buffers like SinusoidalPositionalEncoding.encoding
    sin: Tensor

    def __init__(self, head_dim: int, max_len: int = 2048, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2 != 0:
            raise ValueError(f"head_dim must be even for rotary embedding; got head_dim={head_dim}")
        self.head_dim, self.max_len = head_dim, max_len
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (head_dim / 2,)
        angles = torch.arange(max_len, dtype=torch.float32)[:, None] * inv_freq  # (max_len, head_dim / 2)
        angles = torch.cat([angles, angles], dim=-1)  # (max_len, head_dim)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        if x.dim() < 2 or x.size(-1) != self.head_dim:
            raise ValueError(f"x must have shape (..., time, head_dim={self.head_dim}); got shape {tuple(x.shape)}")
        T = x.size(-2)
        _check_length(T, offset, self.max_len)
        cos, sin = self.cos[offset : offset + T].to(x.dtype), self.sin[offset : offset + T].to(x.dtype)
        x1, x2 = x.chunk(2, dim=-1)
        rotated_half = torch.cat([-x2, x1], dim=-1)
        return x * cos + rotated_half * sin
