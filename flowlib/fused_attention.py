"""The fast path beside flowlib's plain attention: PyTorch's fused kernel, with the weights only on demand.

``attention.py`` computes attention step by step, as the lesson writes it. Most calls do not need
the (..., T_q, T_k) weights, only the output, and PyTorch's ``F.scaled_dot_product_attention``
computes that output without ever storing the weights (same numbers to ~1e-6). This module holds:

* :func:`fused_attention`: the kernel call; a mask from ``causal_mask(T)`` becomes ``is_causal=True``,
  so the kernel skips the blocks above the diagonal instead of reading a T x T mask;
* :func:`mark_causal`: how ``causal_mask`` says so: a flag on the mask tensor itself;
* :class:`AttentionResult`: the ``(output, weights)`` pair whose weights are computed on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from flowlib.attention_checks import _shape

_CAUSAL_FLAG = "_flowlib_causal"  # set on the masks causal_mask(T) makes; lost by any op that makes a new tensor


def mark_causal(mask: Tensor) -> Tensor:
    """Flag ``mask`` (a square lower-triangular mask, just made) as causal; returns it.

    A flag on the tensor object: ``mask.clone()``, ``mask[None]`` or ``mask & other`` are new tensors
    without it and take the ordinary masked kernel (same numbers, a little slower).
    """
    setattr(mask, _CAUSAL_FLAG, True)
    return mask


def fused_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float = 0.0) -> Tensor:
    """softmax(q k^T / sqrt(d_k)) v from PyTorch's fused kernel: (..., T_q, d_v), no weights kept."""
    if mask is not None and getattr(mask, _CAUSAL_FLAG, False) and q.size(-2) == k.size(-2) == mask.size(-1):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


class AttentionResult(tuple):
    """``(output, weights)`` as :func:`flowlib.attention.scaled_dot_product_attention` returns them by default.

    A tuple: unpack it (``out, w = ...``) or index it (``[0]``, ``[1]``). The output comes from
    PyTorch's fused kernel; the weights (..., T_q, T_k) are computed step by step only when you ask
    for them (unpacking, ``[1]`` or ``.weights``), so ``...[0]`` costs no T_q x T_k matrix.
    """

    output: Tensor
    _weights: Tensor | None
    _compute: Callable[[], Tensor] | None  # None once the weights are computed

    def __new__(cls, output: Tensor, compute_weights: Callable[[], Tensor]) -> AttentionResult:
        self = super().__new__(cls, (output, None))  # the weights are filled in on demand
        self.output, self._weights, self._compute = output, None, compute_weights
        return self

    @property
    def weights(self) -> Tensor:
        if self._compute is not None:
            self._weights, self._compute = self._compute(), None
        assert self._weights is not None  # computed above, once
        return self._weights

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: Any) -> Any:
        return self.output if isinstance(index, int) and index in (0, -2) else (self.output, self.weights)[index]

    def __eq__(self, other: object) -> bool:
        return tuple(self) == other

    __hash__ = None  # type: ignore[assignment]  # unhashable, as __eq__ compares contents (typeshed wants a method)

    def __reduce__(self) -> tuple[type, tuple[tuple[Tensor, Tensor]]]:  # pickles as a plain (output, weights) tuple
        return (tuple, ((self.output, self.weights),))

    def __iter__(self) -> Iterator[Tensor]:
        yield self.output
        yield self.weights

    def __repr__(self) -> str:
        return f"AttentionResult(output shape {_shape(self.output)}, weights {'computed' if self._compute is None else 'on demand'})"
