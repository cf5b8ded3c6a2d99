"""The input checks of flowlib's attention: a wrong shape, dtype or type fails here with a message naming it.

Kept apart from ``attention.py`` so that the lesson reads as the math; every check runs before any
arithmetic, so a mistake is reported as the shapes that caused it, not as a matmul error.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor


def _shape(x: Tensor) -> str:
    return "(" + ", ".join(str(s) for s in x.shape) + (",)" if x.dim() == 1 else ")")


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape these shapes broadcast to, or None if they do not (torch.broadcast_shapes is slow)."""
    result: list[int] = []
    for dims in itertools.zip_longest(*(reversed(s) for s in shapes), fillvalue=1):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(reversed(result))


def check_attention_inputs(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> None:
    """q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v), mask bool broadcastable to (..., T_q, T_k)."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have rank >= 2 (..., time, dim); got shape {_shape(t)}")
        if t.numel() == 0:
            raise ValueError(f"{name} must not be empty (an empty batch or sequence); got shape {_shape(t)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dim d_k; got q {_shape(q)} and k {_shape(k)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same time length T_k; got k {_shape(k)} and v {_shape(v)}")
    lead = _broadcast(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    if lead is None:
        raise ValueError(
            f"q, k, v leading (batch, heads) dims must match or broadcast; got q {_shape(q)}, k {_shape(k)}, v {_shape(v)}"
        )
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            found = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise TypeError(f"mask must be a bool tensor (True = may attend); got {found}")
        scores = (*lead, q.shape[-2], k.shape[-2])
        if _broadcast(mask.shape, scores) != scores:
            raise ValueError(
                f"mask must broadcast to the attention scores (..., T_q, T_k) = {tuple(scores)}; got mask {_shape(mask)}"
            )


def check_multi_head_inputs(query: Tensor, key_value: Tensor | None, d_model: int) -> None:
    """query (batch, T_q, d_model); key_value (batch, T_k, d_model) with the same batch, or None."""
    for name, t in (("query", query), ("key_value", key_value)):
        if t is not None and (t.dim() != 3 or t.size(-1) != d_model):
            raise ValueError(f"{name} must have shape (batch, time, d_model={d_model}); got shape {_shape(t)}")
        if t is not None and t.size(0) == 0:
            raise ValueError(f"{name} is an empty batch; got shape {_shape(t)}")
    if key_value is not None and key_value.size(0) != query.size(0):
        raise ValueError(
            f"query and key_value must have the same batch size; got {_shape(query)} and {_shape(key_value)}"
        )
