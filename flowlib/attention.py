"""Attention: each query takes a weighted average of the values, weighted by how well it matches each key.

For queries q (..., T_q, d_k), keys k (..., T_k, d_k) and values v (..., T_k, d_v)::

    scores  = q @ k^T / sqrt(d_k)           # (..., T_q, T_k): how well query i matches key j
    scores  = -inf where mask is False       # a key the query may not see gets no weight
    weights = softmax(scores, dim=-1)        # (..., T_q, T_k): each row sums to 1
    output  = weights @ v                    # (..., T_q, d_v): a weighted average of the values

That is :func:`scaled_dot_product_attention`. :class:`MultiHeadAttention` projects its input to q, k, v,
splits them into ``n_heads`` heads (:func:`split_heads`), attends in every head at once, and merges the
heads back (:func:`merge_heads`) before an output projection. :func:`causal_mask` and
:func:`padding_mask` make the masks; :class:`KVCache` keeps the keys and values during generation.

Mask convention, everywhere in flowlib: a **bool** tensor, ``True`` = "this query may attend to this
key" (the same convention as ``torch.nn.functional.scaled_dot_product_attention``; the opposite of
``torch.nn.MultiheadAttention``'s bool masks). A query whose row is fully masked may attend to
nothing: its output is a vector of zeros and its weights are all zero (PyTorch's fused kernel does
the same), never NaN.

Beside the plain math, never in front of it: ``attention_checks.py`` checks the inputs (a wrong shape
fails with a message naming it) and ``fused_attention.py`` computes the same output with PyTorch's
fused kernel when the weights are not needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from flowlib.attention_checks import _shape, check_attention_inputs, check_multi_head_inputs
from flowlib.fused_attention import AttentionResult, fused_attention, mark_causal
from flowlib.positions import RotaryEmbedding


def _weights(q: Tensor, k: Tensor, mask: Tensor | None) -> Tensor:
    """softmax(q k^T / sqrt(d_k)) with masked keys at exactly 0 (a fully masked row is all 0, not NaN)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # masked keys: exp(-inf) = 0 after softmax
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), each row sums to 1
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # a fully masked row is NaN after softmax: make it 0
    return weights


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    dropout_p: float = 0.0,
    need_weights: bool | None = None,
) -> AttentionResult | tuple[Tensor, Tensor | None]:
    """softmax(q k^T / sqrt(d_k)) v.

    q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v); mask bool, broadcastable to (..., T_q, T_k),
    True = may attend. Returns output (..., T_q, d_v) and weights (..., T_q, T_k) (after dropout: the
    weights actually used).

    ``need_weights``: ``None`` (default) computes the output with PyTorch's fused kernel and the
    weights only if you use them (an :class:`AttentionResult`; with dropout, step by step so the
    weights are the ones used). ``True``: step by step, weights at once (the textbook path).
    ``False``: the fused kernel only; returns ``(output, None)``. All agree to ~1e-6. Dropout is
    applied whenever ``dropout_p > 0``: pass ``dropout_p=0.0`` in eval mode.
    """
    check_attention_inputs(q, k, v, mask)
    if need_weights is not False and (need_weights is not None or dropout_p != 0.0):  # weights wanted, or dropped out
        weights = _weights(q, k, mask)  # (..., T_q, T_k)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p)  # the weights actually used
        return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)
    output = fused_attention(q, k, v, mask, dropout_p)  # (..., T_q, d_v), the same numbers without the weights
    if need_weights is False:
        return output, None
    return AttentionResult(output, lambda: _weights(q, k, mask))


def causal_mask(T: int, device: torch.device | str | None = None, past: int = 0) -> Tensor:
    """(T, past + T) bool, True on and below the diagonal: query i may attend to keys 0..past+i.

    ``past`` is the number of earlier positions already in a key/value cache (the T queries are the
    last T positions). With ``past=0`` this is the square (T, T) lower-triangular mask.
    """
    mask = torch.ones(T, past + T, dtype=torch.bool, device=device).tril(diagonal=past)
    return mark_causal(mask) if past == 0 else mask  # marked: the fused kernel may use is_causal=True


def padding_mask(ids: Tensor, pad_id: int) -> Tensor:
    """(batch, 1, 1, T) bool, True for real tokens: keys that are padding get no attention.

    ids (batch, T). Broadcasts against scores (batch, heads, T_q, T_k).
    """
    if ids.dim() != 2:
        raise ValueError(f"ids must have shape (batch, time); got shape {_shape(ids)}")
    return (ids != pad_id)[:, None, None, :]


def combine_masks(*masks: Tensor | None) -> Tensor | None:
    """Logical AND of the masks that are not None (they broadcast together); None if all are None."""
    result = None
    for m in masks:
        if m is not None:
            result = m if result is None else result & m
    return result


def split_heads(x: Tensor, n_heads: int) -> Tensor:
    """(batch, time, d_model) -> (batch, heads, time, head_dim), head_dim = d_model // n_heads."""
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, time, d_model); got shape {_shape(x)}")
    B, T, D = x.shape
    if D % n_heads != 0:
        raise ValueError(f"d_model must be divisible by n_heads; got d_model={D}, n_heads={n_heads}")
    return x.view(B, T, n_heads, D // n_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(batch, heads, time, head_dim) -> (batch, time, heads * head_dim): the inverse of split_heads."""
    if x.dim() != 4:
        raise ValueError(f"x must have shape (batch, heads, time, head_dim); got shape {_shape(x)}")
    return x.transpose(1, 2).flatten(2)  # the heads side by side again: (batch, time, heads * head_dim)


@dataclass
class KVCache:
    """Keys and values one attention layer has seen so far, each (batch, heads, time, head_dim).

    Pass the same cache to every forward call of a generation: the layer appends the new keys and
    values and attends over all of them, so each new token costs one step instead of a full re-run.

    ``window``: a sliding-window cache (see ``GPT.new_cache(window=...)``): the model drops the oldest
    entries with :meth:`trim` so that at most ``window`` positions are attended to, and with rotary
    positions the cache holds keys *before* rotation (they are rotated by their place in the window
    at each step, so positions never run past the rotary table).
    """

    k: Tensor | None = None
    v: Tensor | None = None
    window: int | None = None

    def __len__(self) -> int:
        return 0 if self.k is None else self.k.size(-2)

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Add new keys/values along time; return all keys and values so far."""
        self.k = k if self.k is None else torch.cat([self.k, k], dim=-2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=-2)
        return self.k, self.v

    def trim(self, keep: int) -> None:
        """Keep only the last ``keep`` positions (the oldest fall out of the window)."""
        if self.k is not None and self.v is not None and len(self) > keep:
            start = len(self) - keep
            self.k, self.v = self.k[..., start:, :], self.v[..., start:, :]  # (batch, heads, keep, head_dim)


class MultiHeadAttention(nn.Module):
    """Multi-head attention: project to Q, K, V, attend in ``n_heads`` subspaces, merge, project out.

    Parameters (same layout as ``torch.nn.MultiheadAttention``):
      ``in_proj``  Linear(d_model, 3 * d_model): weight rows [0:d) are W_Q, [d:2d) W_K, [2d:3d) W_V
                   (HF BERT: cat(query, key, value); HF GPT-2: ``c_attn.weight.T``).
      ``out_proj`` Linear(d_model, d_model) (HF BERT: ``attention.output.dense``; GPT-2: ``c_proj.weight.T``).
    ``rotary``: a RotaryEmbedding(head_dim) to rotate q and k (RoPE), or None.
    ``store_weights=True`` keeps the last attention weights in ``.last_weights`` (batch, heads, T_q, T_k).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        rotary: RotaryEmbedding | None = None,
        store_weights: bool = False,
    ) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model must be divisible by n_heads; got d_model={d_model}, n_heads={n_heads}")
        self.d_model, self.n_heads, self.dropout = d_model, n_heads, dropout
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.rotary = rotary
        self.store_weights = store_weights
        self.last_weights: Tensor | None = None

    def forward(
        self,
        query: Tensor,
        key_value: Tensor | None = None,
        mask: Tensor | None = None,
        return_weights: bool = False,
        cache: KVCache | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """query (batch, T_q, d_model); key_value (batch, T_k, d_model) for cross-attention, None for
        self-attention; mask bool broadcastable to (batch, heads, T_q, T_k), True = may attend.

        Returns (batch, T_q, d_model), or (output, weights (batch, heads, T_q, T_k)) if return_weights.
        ``cache``: a KVCache the new keys/values are appended to (self-attention generation).
        """
        check_multi_head_inputs(query, key_value, self.d_model)
        d = self.d_model
        if key_value is None:
            q, k, v = self.in_proj(query).split(d, dim=-1)  # (batch, T, d_model) each
        else:
            w_q, w_kv = self.in_proj.weight.split([d, 2 * d])
            b_q, b_kv = self.in_proj.bias.split([d, 2 * d]) if self.in_proj.bias is not None else (None, None)
            q = F.linear(query, w_q, b_q)  # (batch, T_q, d_model)
            k, v = F.linear(key_value, w_kv, b_kv).split(d, dim=-1)  # (batch, T_k, d_model) each
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))  # (batch, heads, time, head_dim)
        if self.rotary is not None and cache is not None and cache.window is not None:
            q = self.rotary(q, offset=len(cache))  # positions counted from the start of the window
            k, v = cache.append(k, v)  # keys before rotation
            k = self.rotary(k)
        else:
            if self.rotary is not None:
                past = len(cache) if cache is not None else 0
                q, k = self.rotary(q, offset=past), self.rotary(k, offset=past)
            if cache is not None:
                k, v = cache.append(k, v)
        need_weights = return_weights or self.store_weights
        dropout_p = self.dropout if self.training else 0.0
        out, weights = scaled_dot_product_attention(
            q, k, v, mask, dropout_p, need_weights=need_weights
        )  # (batch, heads, T_q, head_dim)
        out = self.out_proj(merge_heads(out))  # (batch, T_q, d_model)
        if not need_weights:
            return out
        assert weights is not None  # need_weights=True computes them
        if self.store_weights:
            self.last_weights = weights.detach()
        return (out, weights) if return_weights else out
