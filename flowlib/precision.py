"""The course's one numeric policy: float32 on every machine, reduced precision only when asked for.

Lessons, recipes, checkpoints and tests compute in float32 on every device. bfloat16 autocast runs
only when a caller asks for it by name (``train(..., autocast=True)``) or when the environment
variable ``FLOWLIB_BF16=1`` opts a whole run in (``train()`` then says so on its progress bar).
What a machine can do never changes what is computed: :func:`native_bf16` is for callers that
*choose* to also measure bf16 where it is native (the claims canary, ``recipes/claims.py``).

Tests that compare trained numbers use the tolerance of the precision in force, named here once:
:data:`FLOAT32_RTOL` or :data:`BF16_RTOL` (see :func:`rtol`).
"""

from __future__ import annotations

import os

import torch

__all__ = ["FLOAT32_RTOL", "BF16_RTOL", "ENV", "bf16_requested", "rtol", "cpu_has_bf16", "native_bf16"]

FLOAT32_RTOL = 1e-5  # float32 (eps 1.2e-7): what summing in another order, on another CPU, can change
BF16_RTOL = 2e-2  # bfloat16 (8 bits of mantissa, eps 3.9e-3): a few roundings in a row
ENV = "FLOWLIB_BF16"


def bf16_requested() -> bool:
    """True when the environment opts in to bf16 autocast (``FLOWLIB_BF16=1``); unset or ``0``: float32."""
    value = os.environ.get(ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{ENV} must be 1 (bf16 autocast on) or 0 (float32, the default); got {value!r}")
    return value == "1"


def rtol(bf16: bool | None = None) -> float:
    """The relative tolerance for a trained number: :data:`BF16_RTOL` under bf16 (``None``: as
    :func:`bf16_requested` says), else :data:`FLOAT32_RTOL`."""
    return BF16_RTOL if (bf16_requested() if bf16 is None else bf16) else FLOAT32_RTOL


def cpu_has_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX). It reports the hardware
    only; it never turns autocast on."""
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if any(check is not None and check() for check in checks):
        return True
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def native_bf16(device: torch.device | str) -> bool:
    """True when ``device`` computes bfloat16 natively: a CUDA GPU that supports it, or such a CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()
