"""LoRA, low-rank adaptation (Hu et al., 2021), written out for reading.

A pretrained ``nn.Linear`` computes ``x W^T + b``. LoRA freezes ``W`` and ``b`` and learns a
low-rank change of ``W`` instead:

    y = x W^T + b + (alpha / r) * x A^T B^T        A: (r, in_features), B: (out_features, r)

``A`` starts small and random, ``B`` at zero, so at initialisation the wrapped layer computes
exactly what the pretrained one did; training moves only ``A`` and ``B``: ``r * (in + out)``
numbers per layer instead of ``in * out``.

* :class:`LoRALinear` — the wrapper.
* :func:`add_lora` — wrap chosen linear layers of a model (e.g. BERT's ``query`` and ``value``).
* :func:`count_parameters` — trainable and total parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["LoRALinear", "add_lora", "count_parameters"]


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update scaled by ``alpha / r``.

    ``forward(x)``: ``x`` is ``(..., in_features)`` (e.g. ``(batch, time, d_model)``), the result
    ``(..., out_features)``. ``base`` keeps the pretrained layer (its parameters frozen).
    """

    def __init__(
        self, base: nn.Linear, r: int = 8, alpha: float = 16.0, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear; got {type(base).__name__}")
        if not isinstance(r, int) or r < 1:
            raise ValueError(f"the rank r must be a positive int; got {r!r}")
        self.base, self.r, self.alpha = base, r, float(alpha)
        self.scaling = self.alpha / r
        for p in base.parameters():
            p.requires_grad_(False)
        weight = base.weight
        bound = 1 / math.sqrt(base.in_features)  # the scale nn.Linear gives its own weights
        a = torch.empty(r, base.in_features).uniform_(
            -bound, bound, generator=generator
        )  # drawn on the CPU: same on any device
        self.lora_A = nn.Parameter(a.to(dtype=weight.dtype, device=weight.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, dtype=weight.dtype, device=weight.device))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.base.in_features:
            raise ValueError(f"LoRALinear expects inputs (..., {self.base.in_features}); got {tuple(x.shape)}")
        low_rank = (x @ self.lora_A.T) @ self.lora_B.T  # (..., r) then (..., out): never the full in x out matrix
        return self.base(x) + self.scaling * low_rank

    def merged_weight(self) -> Tensor:
        """``W + (alpha / r) B A``: one plain ``(out, in)`` matrix with the same outputs, for deployment."""
        return self.base.weight + self.scaling * self.lora_B @ self.lora_A

    def extra_repr(self) -> str:
        return f"in_features={self.base.in_features}, out_features={self.base.out_features}, r={self.r}, alpha={self.alpha}"


def add_lora(
    model: nn.Module, targets: Sequence[str] = ("query", "value"), r: int = 8, alpha: float = 16.0, seed: int = 0
) -> list[str]:
    """Freeze every parameter of ``model`` and wrap each ``nn.Linear`` whose name ends with a ``targets`` entry.

    In a Hugging Face BERT, ``("query", "value")`` are the attention's W_Q and W_V in every layer.
    Changes ``model`` in place; returns the names of the wrapped layers. Parameters you want to
    train besides LoRA's (a new classification head) need ``requires_grad_(True)`` afterwards.
    """
    for p in model.parameters():
        p.requires_grad_(False)
    chosen = [
        name for name, m in model.named_modules() if isinstance(m, nn.Linear) and name.rsplit(".", 1)[-1] in targets
    ]
    if not chosen:
        linears = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
        raise ValueError(f"no nn.Linear named {list(targets)} in the model; its linear layers are named {linears}")
    generator = torch.Generator().manual_seed(seed)
    for name in chosen:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(getattr(parent, child), r=r, alpha=alpha, generator=generator))
    return chosen


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` numbers of parameters of ``model``."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
