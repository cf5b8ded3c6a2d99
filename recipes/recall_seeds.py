"""Lesson 1's recall comparison over many seeds; save checkpoints/recall_seeds.json.

    python recipes/recall_seeds.py --seeds 0-9 [--out checkpoints/recall_seeds.json]

The notebook trains one seed live (a minute of CPU allows no more); this recipe runs the same
experiment per seed and records every number the lesson's prose quotes about spread:

- the models of the lesson: a 2-layer rotary GPT (d_model 64) and an LSTM whose width is
  chosen so that both have (almost) the same number of parameters;
- equal steps (200 batches of 128) at length 24 and 48, and, at length 24, the LSTM trained for
  the transformer's wall-clock time (EQUAL_TIME_STEPS: the step-time ratio measured in float32
  on one thread of the recording CPU, about 2 (1.6-2.2 over seeds), times 200);
- held-out accuracy per distance bin, parameters and seconds of each run.

One CPU thread (or the GPU, where there is one), float32, seeded: the accuracies are the same on re-run; the seconds depend on the
machine (recorded with it). It follows the claims interface (``CLAIMS``, ``measure``, ``judge``):
``recipes/claims.py`` re-runs it on fresh seeds. One seed takes 42-54 s (seeds 0-9 in 541 s on the
recording machine, an AMD EPYC with other jobs beside it).
"""

from __future__ import annotations

import statistics
import sys
from itertools import pairwise
from pathlib import Path

import torch
import torch.nn.functional as F

from flowlib.data import tensor_batches
from flowlib.lstm import LSTMBaseline
from flowlib.models import GPT, GPTConfig
from flowlib.tasks import recall_task
from flowlib.training import seed_everything, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seeded import run_recipe  # noqa: E402  (the recipes' shared command line, beside this file)

STEPS, BATCH, D_MODEL = 200, 128, 64
EQUAL_TIME_STEPS = 400
LR = {"LSTM": 0.01, "transformer": 0.003}
N_BINS = 4
SOLVED = 0.99  # held-out accuracy at which a run counts as having solved the task
CHANCE = 1 / 16  # 16 value letters, uniform
QUICK = False  # about 42 s a seed on one core
NAME = "recall"  # records checkpoints/recall_seeds.json

CLAIMS = {
    "01.same_params": "the LSTM's width gives it the transformer's number of parameters (within 1%)",
    "01.seed_decides": "at 24 tokens and 200 steps the transformer fails on some seeds and the LSTM solves it on some: "
    "'the transformer learns it and the LSTM does not' is false",
    "01.flat_when_solved": "where a model solved the task (0.99 or more), its accuracy is flat across distance (bins < 0.05 apart)",
    "01.lstm_fails_alike": "where the LSTM failed, it failed about alike at every distance (bins < 0.1 apart)",
    "01.transformer_fails_far": "where the transformer failed, it did worse at the longest distances than at the "
    "shortest, on the mean over those seeds",
    "01.48_unsolved": "at 48 tokens neither model comes near solving it in 200 steps (all below 0.3); the LSTM stays "
    "at chance (below chance + 0.05)",
    "01.transformer_slower": "on one CPU thread a transformer step takes longer than an LSTM step",
    "01.equal_time": f"given the transformer's wall-clock time ({EQUAL_TIME_STEPS} steps) the LSTM does at least as well "
    "as the transformer with its 200 (within 0.01), on every seed",
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def make_model(name: str, vocab: int, length: int, seed: int) -> torch.nn.Module:
    """Seeded exactly as the notebook's ``make_model``: the width first, then the seed, then the weights."""
    width = lstm_width(vocab, length) if name == "LSTM" else D_MODEL
    seed_everything(seed)
    if name == "transformer":
        return GPT(
            GPTConfig(
                vocab_size=vocab,
                block_size=length,
                n_layers=2,
                n_heads=4,
                d_model=D_MODEL,
                d_ff=2 * D_MODEL,
                positions="rotary",
            )
        )
    return LSTMBaseline(vocab, d_model=width)


def lstm_width(vocab: int, length: int) -> int:
    """The LSTM width whose parameter count is closest to the transformer's."""
    target = n_params(make_model("transformer", vocab, length, 0))
    return min(range(8, 257), key=lambda d: abs(n_params(LSTMBaseline(vocab, d_model=d)) - target))


def bin_edges(length: int) -> list[int]:
    """Edges of the N_BINS distance bins: bin i holds distances edges[i] .. edges[i + 1] - 1."""
    top = length - 3
    return [round(i * (top + 1) / N_BINS) for i in range(N_BINS + 1)]


def last_token_loss(model, batch):
    inputs, targets = batch
    return F.cross_entropy(model(inputs)[:, -1], targets)


def run(name: str, length: int, seed: int, steps: int, bf16: bool = False) -> dict[str, float]:
    """One model trained at one length: ``{"accuracy", "bin0".."bin3", "seconds", "params", "steps"}``."""
    train_data = recall_task(20000, length=length, seed=0)
    test_data = recall_task(2000, length=length, seed=1)
    model = make_model(name, len(train_data.tokenizer), length, seed)
    history = train(
        model,
        tensor_batches(train_data.inputs, train_data.targets, batch_size=BATCH, seed=seed),
        last_token_loss,
        steps=steps,
        lr=LR[name],
        seed=seed,
        progress=False,
        eval_every=steps,
        autocast=bf16,
    )
    device = next(model.parameters()).device
    with torch.no_grad():
        correct = (model(test_data.inputs.to(device))[:, -1].argmax(-1).cpu() == test_data.targets).float()
    d, edges = test_data.distances, bin_edges(length)
    bins = {
        f"bin{i}": round(correct[(d >= lo) & (d < hi)].mean().item(), 4) for i, (lo, hi) in enumerate(pairwise(edges))
    }
    return {
        "accuracy": round(correct.mean().item(), 4),
        **bins,
        "seconds": round(history.seconds, 2),
        "params": n_params(model),
        "steps": steps,
    }


def measure(seed: int, *, bf16: bool = False) -> dict[str, float]:
    """One seed: ``"{model}{length}.{metric}"`` for LSTM/transformer at 24 and 48 tokens and
    ``"lstm24_equal_time.{metric}"``, with metric accuracy, bin0..bin3, seconds, params, steps."""
    torch.set_num_threads(1)
    runs = {
        f"{name.lower()}{length}": run(name, length, seed, STEPS, bf16)
        for length in (24, 48)
        for name in ("LSTM", "transformer")
    }
    runs["lstm24_equal_time"] = run("LSTM", 24, seed, EQUAL_TIME_STEPS, bf16)
    return {f"{key}.{metric}": value for key, metrics in runs.items() for metric, value in metrics.items()}


def bins(run: dict[str, float], key: str) -> list[float]:
    return [run[f"{key}.bin{i}"] for i in range(N_BINS)]


def spread(run: dict[str, float], key: str) -> float:
    """Largest minus smallest accuracy over the distance bins of one model's run."""
    return max(bins(run, key)) - min(bins(run, key))


def judge(runs: dict[int, dict[str, float]]) -> dict[str, tuple[bool, str]]:
    """Each claim of CLAIMS on the given seeds. A claim about single runs holds when every run it
    is about satisfies it; a claim about how runs vary is left out (undecided) on too few seeds."""
    rs = list(runs.values())
    out: dict[str, tuple[bool, str]] = {}
    gap = max(abs(r["lstm24.params"] - r["transformer24.params"]) / r["transformer24.params"] for r in rs)
    out["01.same_params"] = (gap < 0.01, f"largest gap {gap:.2%}")
    solved = {m: [r for r in rs if r[f"{m}24.accuracy"] >= SOLVED] for m in ("lstm", "transformer")}
    failed = {m: [r for r in rs if r[f"{m}24.accuracy"] < SOLVED] for m in ("lstm", "transformer")}
    counts = f"solved: LSTM {len(solved['lstm'])}/{len(rs)}, transformer {len(solved['transformer'])}/{len(rs)}"
    if len(rs) >= 4:
        out["01.seed_decides"] = (bool(failed["transformer"]) and bool(solved["lstm"]), counts)
    flat = [spread(r, f"{m}24") for m in solved for r in solved[m]]
    out["01.flat_when_solved"] = (
        all(f < 0.05 for f in flat),
        f"largest bin spread of {len(flat)} solved runs {max(flat, default=0):.3f}",
    )
    alike = [spread(r, "lstm24") for r in failed["lstm"]]
    out["01.lstm_fails_alike"] = (
        all(f < 0.1 for f in alike),
        f"largest bin spread of {len(alike)} failed LSTM runs {max(alike, default=0):.3f}",
    )
    if len(failed["transformer"]) >= 2:
        lowest = min(r["transformer24.accuracy"] for r in failed["transformer"])
        drop = statistics.mean(
            r["transformer24.bin0"] - r[f"transformer24.bin{N_BINS - 1}"] for r in failed["transformer"]
        )
        out["01.transformer_fails_far"] = (
            drop > 0,
            f"{len(failed['transformer'])} failed runs (lowest accuracy {lowest:.3f}): "
            f"shortest minus longest distances {drop:+.3f} on their mean",
        )
    long = {m: max(r[f"{m}48.accuracy"] for r in rs) for m in ("lstm", "transformer")}
    out["01.48_unsolved"] = (
        max(long.values()) < 0.3 and long["lstm"] < CHANCE + 0.05,
        f"best at 48 tokens: LSTM {long['lstm']:.3f}, transformer {long['transformer']:.3f} (chance {CHANCE:.3f})",
    )
    ratios = [r["transformer24.seconds"] / r["lstm24.seconds"] for r in rs]
    out["01.transformer_slower"] = (min(ratios) > 1, f"step-time ratio {min(ratios):.2f}-{max(ratios):.2f}")
    margins = [r["lstm24_equal_time.accuracy"] - r["transformer24.accuracy"] for r in rs]
    out["01.equal_time"] = (
        min(margins) >= -0.01,
        f"LSTM minus transformer accuracy {min(margins):+.3f} to {max(margins):+.3f}",
    )
    return out


if __name__ == "__main__":
    run_recipe(NAME, measure, judge, "0-9")
