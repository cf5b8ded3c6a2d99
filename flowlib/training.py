"""The one training loop every lesson uses.

:func:`train` runs AdamW with a linear warm-up then cosine decay of the learning rate,
clips the gradient norm, evaluates every ``eval_every`` steps, shows one progress bar, and
returns a :class:`History` of the losses. Seeded: the same call gives the same numbers. float32
on every machine unless bf16 autocast is asked for (:mod:`flowlib.precision`).

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

from flowlib.precision import ENV, bf16_requested, cpu_has_bf16

__all__ = [
    "default_device",
    "seed_everything",
    "to_device",
    "warmup_cosine",
    "History",
    "mean_loss",
    "train",
    "cpu_has_bf16",
    "Trainer",
]

LossFn = Callable[[torch.nn.Module, Any], torch.Tensor]


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators: the CPU's and every CUDA
    device's (weights, dropout, and any data order drawn from the global generators)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds the CPU generator and every CUDA device's (torch.cuda.manual_seed_all)


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

    ``steps``/``losses``: the training loss at every step; ``grad_norms``: the global gradient norm
    at every step, before clipping; ``lrs``: the learning rate every step used. ``eval_steps``/``eval_losses``: the
    held-out loss at each evaluation; ``eval_metrics`` maps each other metric the ``eval_fn``
    returned (e.g. ``"accuracy"``) to its values at ``eval_steps``. ``seconds``: wall time.
    """

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
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
def mean_loss(
    model: torch.nn.Module, loss_fn: LossFn, batches: Iterable[Any], device: torch.device | str | None = None
) -> float:
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


def _optimizer(
    model: torch.nn.Module, lr: float, weight_decay: float, betas: tuple[float, float], device: torch.device
) -> torch.optim.AdamW:
    """AdamW that decays matrices only: biases, LayerNorm gains and 1-d parameters are left alone.

    The fused kernel (one pass over every parameter) on CPU and CUDA, where torch has it."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    fused = device.type in ("cpu", "cuda") and all(p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=fused or None)


class Trainer:
    """One optimiser step at a time: what :func:`train` runs, usable on its own (the benchmark does).

    ``step(batch)`` moves the batch to the device, computes ``loss_fn(model, batch)`` (under bf16
    autocast when ``autocast`` is True; ``None``: only when ``FLOWLIB_BF16=1`` opts in),
    back-propagates, clips, steps AdamW and the schedule, and returns the loss as a detached tensor:
    no ``.item()``, so nothing waits for the device. After a step, ``grad_norm`` holds that step's
    global gradient norm before clipping (a 0-d tensor) and ``last_lr`` the learning rate it used.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: LossFn,
        steps: int,
        lr: float = 3e-3,
        warmup_steps: int | None = None,
        weight_decay: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        clip_norm: float | None = 1.0,
        min_lr_ratio: float = 0.1,
        device: torch.device | str | None = None,
        autocast: bool | None = None,
    ) -> None:
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive int; got {steps!r}")
        if lr <= 0:
            raise ValueError(f"lr must be positive; got {lr}")
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), like (0.9, 0.999); got {betas!r}")
        warmup_steps = max(1, steps // 20) if warmup_steps is None else warmup_steps
        if not 0 <= warmup_steps <= steps:
            raise ValueError(f"warmup_steps must be between 0 and steps={steps}; got {warmup_steps}")
        self.device = torch.device(device) if device is not None else default_device()
        self.autocast_from_env = autocast is None and bf16_requested()
        self.autocast = self.autocast_from_env if autocast is None else bool(autocast)
        self.model, self.loss_fn, self.clip_norm, self.lr = model.to(self.device), loss_fn, clip_norm, lr
        beta1, beta2 = betas  # two, checked above; a list works too
        self.optimizer = _optimizer(model, lr, weight_decay, (beta1, beta2), self.device)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: warmup_cosine(s, steps, warmup_steps, min_lr_ratio)
        )
        self._params = [p for p in model.parameters() if p.requires_grad]
        self.grad_norm: torch.Tensor | None = None
        self.last_lr = lr

    def step(self, batch: Any) -> torch.Tensor:
        batch = to_device(batch, self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss = self.loss_fn(self.model, batch)
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise ValueError(
                f"loss_fn must return a scalar tensor; got {type(loss).__name__} of shape {tuple(getattr(loss, 'shape', ()))}"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self._params, self.clip_norm, foreach=True)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in self._params if p.grad is not None], foreach=True)
        self.grad_norm, self.last_lr = norm.detach(), float(self.schedule.get_last_lr()[0])
        self.optimizer.step()
        self.schedule.step()
        return loss.detach()


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
    betas: tuple[float, float] = (0.9, 0.999),
    autocast: bool | None = None,
) -> History:
    """Train ``model`` for ``steps`` optimiser steps and return its :class:`History`.

    ``batches`` is an iterable of batches or a function ``step -> batch``; each batch is moved
    to ``device`` and passed to ``loss_fn(model, batch)``, which returns a scalar loss.
    ``warmup_steps`` defaults to 5% of ``steps``. ``eval_fn(model)`` (run in eval mode, without
    gradients) returns a held-out loss or a dict of metrics; it runs every ``eval_every``
    steps (default: 10 times per run) and after the last step. The model is left in eval mode.

    AdamW (fused kernel) with ``betas`` (PyTorch's default (0.9, 0.999); GPT-2 and nanoGPT use
    (0.9, 0.95) or (0.9, 0.99)). ``autocast=True``: run the forward pass in bfloat16
    (``torch.autocast``); ``None`` (default): float32 on every machine, unless the environment opts in
    with ``FLOWLIB_BF16=1``. The progress bar says when bf16 autocast is on, and why. The losses are
    read back from the device only at evaluations and progress updates, not at every step; a non-finite loss is reported with its step then.
    """
    eval_every = max(1, steps // 10) if isinstance(steps, int) and eval_every is None else eval_every
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every must be a positive number of steps; got {eval_every}")
    trainer = Trainer(
        model, loss_fn, steps, lr, warmup_steps, weight_decay, betas, clip_norm, min_lr_ratio, device, autocast
    )
    seed_everything(seed)
    model.train()
    stream = _batch_stream(batches)
    history = History()
    pending: list[torch.Tensor] = []  # (loss, gradient norm) pairs not yet read back from the device
    sync_every = max(1, min(eval_every or 1, 25))
    start = time.perf_counter()
    desc = "training" + (
        f" (bf16 autocast: {ENV}=1)" if trainer.autocast_from_env else " (bf16 autocast)" if trainer.autocast else ""
    )
    bar = tqdm(range(1, steps + 1), disable=not progress, desc=desc, unit="step", mininterval=0.5)

    def read_back() -> None:
        if not pending:
            return
        pairs = torch.stack(pending).float().tolist()
        values = [loss for loss, _ in pairs]
        first = len(history.losses) + 1
        pending.clear()
        for offset, value in enumerate(values):
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the loss became {value} at step {first + offset}; try a smaller lr (now {lr}) or check the inputs"
                )
        history.steps.extend(range(first, first + len(values)))
        history.losses.extend(values)
        history.grad_norms.extend(norm for _, norm in pairs)

    for step in bar:
        batch = next(stream, None)
        if batch is None:
            read_back()
            raise ValueError(
                f"batches ran out after {step - 1} of {steps} steps; pass an endless iterator or fewer steps"
            )
        loss = trainer.step(batch)
        assert trainer.grad_norm is not None  # every step sets it
        pending.append(torch.stack([loss.float(), trainer.grad_norm.float()]))
        history.lrs.append(trainer.last_lr)
        evaluate = eval_fn is not None and (step % eval_every == 0 or step == steps)
        if evaluate or step % sync_every == 0 or step == steps:
            read_back()
        if evaluate and eval_fn is not None:
            model.eval()
            with torch.no_grad():
                history.record_eval(step, eval_fn(model))
            model.train()
        if history.losses and not pending:
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
