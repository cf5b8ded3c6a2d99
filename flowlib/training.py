"""The one training loop every lesson uses.

:func:`train` runs AdamW with a linear warm-up then cosine decay of the learning rate,
clips the gradient norm, evaluates every ``eval_every`` steps, shows one progress bar, and
returns a :class:`History` of the losses. Seeded: the same call gives the same numbers.

    history = train(model, batches, loss_fn, steps=500, lr=3e-3,
                    eval_fn=lambda m: mean_loss(m, loss_fn, val_batches))
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

__all__ = [
    "default_device",
    "seed_everything",
    "to_device",
    "warmup_cosine",
    "History",
    "mean_loss",
    "train",
]

LossFn = Callable[[torch.nn.Module, Any], torch.Tensor]


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and CUDA) random number generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor in a batch (tensor, tuple, list, dict or dataclass) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(value, device) for value in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        fields = {f.name: to_device(getattr(batch, f.name), device) for f in dataclasses.fields(batch) if f.init}
        return dataclasses.replace(batch, **fields)
    return batch


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, min_ratio: float = 0.1) -> float:
    """Learning-rate multiplier at ``step``: 0 -> 1 linearly over ``warmup_steps``, then a
    cosine from 1 down to ``min_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


@dataclass
class History:
    """What :func:`train` measured.

    ``steps``/``losses``: the training loss at every step. ``eval_steps``/``eval_losses``: the
    held-out loss at each evaluation; ``eval_metrics`` maps each other metric the ``eval_fn``
    returned (e.g. ``"accuracy"``) to its values at ``eval_steps``. ``seconds``: wall time.
    """

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_losses: list[float] = field(default_factory=list)
    eval_metrics: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def record_eval(self, step: int, result: float | Mapping[str, float]) -> None:
        """Store what an ``eval_fn`` returned: a loss, or a dict of metrics (``"loss"`` optional)."""
        metrics = dict(result) if isinstance(result, Mapping) else {"loss": result}
        self.eval_steps.append(step)
        if "loss" in metrics:
            self.eval_losses.append(float(metrics.pop("loss")))
        for name, value in metrics.items():
            self.eval_metrics.setdefault(name, []).append(float(value))


@torch.no_grad()
def mean_loss(model: torch.nn.Module, loss_fn: LossFn, batches: Iterable[Any], device: torch.device | str | None = None) -> float:
    """Average of ``loss_fn(model, batch)`` over a finite iterable of batches (model in eval mode)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    losses = [float(loss_fn(model, to_device(batch, device))) for batch in batches]
    model.train(was_training)
    if not losses:
        raise ValueError("mean_loss got no batches; pass a finite, non-empty list of batches")
    return sum(losses) / len(losses)


def _batch_stream(batches: Callable[[int], Any] | Iterable[Any]) -> Iterator[Any]:
    if callable(batches) and not isinstance(batches, Iterable):
        return map(batches, itertools.count())
    if isinstance(batches, Iterable):
        return iter(batches)
    raise TypeError(f"batches must be an iterable of batches or a function step -> batch; got {type(batches).__name__}")


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW that decays matrices only: biases, LayerNorm gains and 1-d parameters are left alone."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def train(
    model: torch.nn.Module,
    batches: Callable[[int], Any] | Iterable[Any],
    loss_fn: LossFn,
    steps: int,
    lr: float = 3e-3,
    warmup_steps: int | None = None,
    weight_decay: float = 0.01,
    clip_norm: float | None = 1.0,
    min_lr_ratio: float = 0.1,
    eval_fn: Callable[[torch.nn.Module], float | Mapping[str, float]] | None = None,
    eval_every: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``steps`` optimiser steps and return its :class:`History`.

    ``batches`` is an iterable of batches or a function ``step -> batch``; each batch is moved
    to ``device`` and passed to ``loss_fn(model, batch)``, which returns a scalar loss.
    ``warmup_steps`` defaults to 5% of ``steps``. ``eval_fn(model)`` (run in eval mode, without
    gradients) returns a held-out loss or a dict of metrics; it runs every ``eval_every``
    steps (default: 10 times per run) and after the last step. The model is left in eval mode.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    if lr <= 0:
        raise ValueError(f"lr must be positive; got {lr}")
    warmup_steps = max(1, steps // 20) if warmup_steps is None else warmup_steps
    if not 0 <= warmup_steps <= steps:
        raise ValueError(f"warmup_steps must be between 0 and steps={steps}; got {warmup_steps}")
    eval_every = max(1, steps // 10) if eval_every is None else eval_every
    if eval_every < 1:
        raise ValueError(f"eval_every must be a positive number of steps; got {eval_every}")

    seed_everything(seed)
    device = torch.device(device) if device is not None else default_device()
    model.to(device).train()
    optimizer = _optimizer(model, lr, weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, steps, warmup_steps, min_lr_ratio))
    stream = _batch_stream(batches)
    history = History()
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), disable=not progress, desc="training", unit="step", mininterval=0.5)
    for step in bar:
        batch = next(stream, None)
        if batch is None:
            raise ValueError(f"batches ran out after {step - 1} of {steps} steps; pass an endless iterator or fewer steps")
        loss = loss_fn(model, to_device(batch, device))
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise ValueError(f"loss_fn must return a scalar tensor; got {type(loss).__name__} of shape {tuple(getattr(loss, 'shape', ()))}")
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} at step {step}; try a smaller lr (now {lr}) or check the inputs")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        schedule.step()
        history.steps.append(step)
        history.losses.append(loss.item())
        if eval_fn is not None and (step % eval_every == 0 or step == steps):
            model.eval()
            with torch.no_grad():
                history.record_eval(step, eval_fn(model))
            model.train()
        bar.set_postfix(_postfix(history), refresh=False)
    bar.close()
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


def _postfix(history: History) -> dict[str, str]:
    postfix = {"loss": f"{history.losses[-1]:.3f}"}
    if history.eval_losses:
        postfix["eval"] = f"{history.eval_losses[-1]:.3f}"
    postfix.update({name: f"{values[-1]:.3f}" for name, values in history.eval_metrics.items()})
    return postfix
