"""Lesson 09's comparisons over seeds; save checkpoints/training_dynamics_seeds.json.

    python recipes/training_dynamics_seeds.py --seeds 0-11

The notebook runs two or three seeds of each comparison live (a minute allows no more); this recipe
runs the same experiment, on the same tiny character GPT (1 block, 2 heads, d = 32, context 32,
batches of 16 windows of the pydoc corpus), for every seed. A seed fixes the initial weights and the
order of the windows. Per seed it records the held-out loss (nats per character, two fixed batches
of the last 10%) of:

- the learning-rate sweep, 80 steps: AdamW at 1e-3 ... 1e-1, SGD with momentum 0.9 at 0.1 ... 3;
- SGD at 0.3 against AdamW at 0.01 (their best rates) for 80 and for 320 steps;
- AdamW at lr 0.1 for 40 steps without warm-up and with 8 warm-up steps: how far the training loss
  rises above its first value within the first 20 steps;
- SGD at lr 1 and AdamW at 0.01 without clipping; the share of AdamW's steps whose gradient norm
  is above 1.

The loop is the notebook's ``train_by_hand`` (which its section 1 checks against ``train()``): AdamW
or SGD, weight decay 0.01 on matrices, warm-up + cosine, clipping at 1. One thread, float32.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F

from flowlib import data, models
from flowlib.tokenizers import CharTokenizer
from flowlib.training import mean_loss, seed_everything, warmup_cosine

NAME = "training_dynamics"
QUICK = True  # about 5 s a seed on one core
BLOCK, BATCH, STEPS, LONG_STEPS = 32, 16, 80, 320
SWEEP = {"adamw": (1e-3, 3e-3, 1e-2, 3e-2, 1e-1), "sgd": (0.1, 0.3, 1.0, 3.0)}
BEST = {"adamw": 1e-2, "sgd": 0.3}
WARM_LR, WARM_STEPS, WARMUP = 0.1, 40, 8
MAJORITY_FROM = 8  # claims about "most seeds" or a mean: judged from this many seeds on
CLAIMS = {
    "09.sgd_vs_adamw_80": "after 80 steps SGD with momentum (lr 0.3) and AdamW (lr 0.01) end close: SGD minus AdamW "
    "between -0.35 and +0.15 nats of held-out loss on every seed",
    "09.sgd_lower_80": "after 80 steps SGD ends lower than AdamW on most seeds",
    "09.sgd_vs_adamw_320": "after 320 steps SGD minus AdamW is above -0.15 nats on every seed",
    "09.adamw_lower_320": "after 320 steps AdamW ends lower than SGD on most seeds",
    "09.sweep": "on every seed SGD at 3 ends worse than at 0.3 or diverges",
    "09.adamw_best_inside": "on most seeds AdamW's best rate lies inside the sweep (neither 0.001 nor 0.1)",
    "09.warmup": "at lr 0.1 the loss rises more in the first 20 steps without warm-up than with 8 warm-up steps, "
    "on the mean over seeds",
    "09.clipping": "SGD at lr 1 with clipping trains (held-out loss below 3.5) and AdamW at 0.01 has a gradient norm "
    "above 1 on fewer than 30% of its steps, on every seed",
    "09.no_clipping": "SGD at lr 1 without clipping diverges on most seeds",
}

_text = data.pydoc_corpus()
_tok = CharTokenizer.from_text(_text)
_train_ids, _val_ids = data.split(torch.tensor(_tok.encode(_text)))
_val_batches = list(itertools.islice(data.lm_batches(_val_ids, BLOCK, 64, seed=1), 2))


def _lm_loss(model, batch):
    x, y = batch  # (batch, time) ids and next ids
    return F.cross_entropy(model(x).flatten(0, 1), y.flatten())


def _optimizer(name: str, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    groups = [
        {"params": [p for p in model.parameters() if p.ndim >= 2], "weight_decay": 0.01},
        {"params": [p for p in model.parameters() if p.ndim < 2], "weight_decay": 0.0},
    ]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), fused=True)
    return torch.optim.SGD(groups, lr=lr, momentum=0.9)


def run(
    optimizer: str,
    lr: float,
    seed: int,
    steps: int = STEPS,
    warmup_steps: int | None = None,
    clip_norm: float | None = 1.0,
    bf16: bool = False,
) -> dict:
    """One seeded run: its training losses, gradient norms (before clipping) and held-out loss (NaN if it diverged)."""
    seed_everything(seed)
    model = models.GPT(
        models.GPTConfig(vocab_size=_tok.vocab_size, block_size=BLOCK, n_layers=1, n_heads=2, d_model=32)
    )
    batches = data.lm_batches(_train_ids, BLOCK, BATCH, seed=seed)
    warmup_steps = max(1, steps // 20) if warmup_steps is None else warmup_steps
    opt = _optimizer(optimizer, model, lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, steps, warmup_steps, 0.1))
    seed_everything(seed)
    model.train()
    losses, norms = [], []
    for _ in range(steps):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = _lm_loss(model, next(batches))
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm or math.inf).item())
        opt.step()
        schedule.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    finite = all(math.isfinite(v) and v < 20 for v in losses)
    return {
        "losses": losses,
        "grad_norms": norms,
        "val": mean_loss(model, _lm_loss, _val_batches) if finite else math.nan,
    }


def measure(seed: int, *, bf16: bool = False) -> dict[str, float]:
    """One seed's held-out losses (NaN: diverged), warm-up rises and clipping shares (float32 unless bf16)."""
    out: dict[str, float] = {}
    for name, lrs in SWEEP.items():
        for lr in lrs:
            out[f"{name}_lr{lr:g}"] = run(name, lr, seed, bf16=bf16)["val"]
    out["gap_80"] = out["sgd_lr0.3"] - out["adamw_lr0.01"]
    long = {name: run(name, BEST[name], seed, steps=LONG_STEPS, bf16=bf16)["val"] for name in BEST}
    out["adamw_320"], out["sgd_320"], out["gap_320"] = long["adamw"], long["sgd"], long["sgd"] - long["adamw"]
    for warmup in (0, WARMUP):
        losses = run("adamw", WARM_LR, seed, steps=WARM_STEPS, warmup_steps=warmup, bf16=bf16)["losses"]
        out[f"rise_warmup{warmup}"] = max(losses[:20]) - losses[0]
    out["sgd_lr1_noclip"] = run("sgd", 1.0, seed, clip_norm=None, bf16=bf16)["val"]
    adamw = run("adamw", BEST["adamw"], seed, bf16=bf16)
    out["adamw_share_above_1"] = float(np.mean(np.array(adamw["grad_norms"]) > 1))
    return {k: round(v, 4) for k, v in out.items()}


def judge(runs: dict[int, dict[str, float]]) -> dict[str, tuple[bool, str]]:
    """Each claim of CLAIMS against the seeds in ``runs``; those about most seeds or a mean only from MAJORITY_FROM seeds on."""
    n = len(runs)

    def col(key: str) -> np.ndarray:
        return np.array([r[key] for r in runs.values()], dtype=float)

    gap80, gap320 = col("gap_80"), col("gap_320")
    adamw = np.stack([col(f"adamw_lr{lr:g}") for lr in SWEEP["adamw"]])  # (rates, seeds)
    inside = [0 < int(np.argmin(adamw[:, s])) < len(SWEEP["adamw"]) - 1 for s in range(n)]
    sgd_worse = np.nan_to_num(col("sgd_lr3"), nan=np.inf) > col("sgd_lr0.3")
    rise0, rise8 = col("rise_warmup0"), col(f"rise_warmup{WARMUP}")
    diverged, share, clipped = np.isnan(col("sgd_lr1_noclip")), col("adamw_share_above_1"), col("sgd_lr1")
    verdicts = {
        "09.sgd_vs_adamw_80": (
            bool((gap80 > -0.35).all() and (gap80 < 0.15).all()),
            f"SGD - AdamW at 80 steps: {gap80.min():+.3f} to {gap80.max():+.3f}, mean {gap80.mean():+.3f}",
        ),
        "09.sgd_vs_adamw_320": (
            bool((gap320 > -0.15).all()),
            f"SGD - AdamW at 320 steps: {gap320.min():+.3f} to {gap320.max():+.3f}, mean {gap320.mean():+.3f}",
        ),
        "09.sweep": (
            bool(sgd_worse.all()),
            f"SGD at 3 worse than at 0.3 on {sgd_worse.sum()} of {n} (diverged on {np.isnan(col('sgd_lr3')).sum()})",
        ),
        "09.clipping": (
            bool((clipped < 3.5).all() and (share < 0.3).all()),
            f"SGD lr 1 clipped: held-out loss {clipped.min():.3f} to {clipped.max():.3f}; "
            f"AdamW's share of steps above 1: {share.min():.0%} to {share.max():.0%}",
        ),
    }
    if n >= MAJORITY_FROM:
        verdicts.update(
            {
                "09.adamw_best_inside": (
                    sum(inside) > n / 2,
                    f"AdamW's best rate inside the sweep on {sum(inside)} of {n}",
                ),
                "09.sgd_lower_80": (
                    bool((gap80 < 0).sum() > n / 2),
                    f"SGD lower after 80 steps on {(gap80 < 0).sum()} of {n}",
                ),
                "09.adamw_lower_320": (
                    bool((gap320 > 0).sum() > n / 2),
                    f"AdamW lower after 320 steps on {(gap320 > 0).sum()} of {n}",
                ),
                "09.warmup": (
                    bool(rise0.mean() > rise8.mean()),
                    f"mean rise {rise0.mean():.2f} without warm-up, {rise8.mean():.2f} with; above 0.3 nats on "
                    f"{(rise0 > 0.3).sum()} and {(rise8 > 0.3).sum()} of {n}",
                ),
                "09.no_clipping": (
                    bool(diverged.sum() > n / 2),
                    f"SGD lr 1 unclipped diverged on {diverged.sum()} of {n}",
                ),
            }
        )
    return verdicts


if __name__ == "__main__":
    from seeded import run_recipe

    run_recipe(NAME, measure, judge, default_seeds="0-11")
