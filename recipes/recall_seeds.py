"""Lesson 1's recall comparison over several seeds; save checkpoints/recall_seeds.json.

    python recipes/recall_seeds.py [--out checkpoints/recall_seeds.json]

The notebook trains one seed live (a minute of CPU allows no more); this recipe runs the same
experiment for seeds 0, 1, 2 and records every number the lesson's prose quotes about spread:

- the models of the lesson: a 2-layer rotary GPT (d_model 64) and an LSTM whose width is
  chosen so that both have (almost) the same number of parameters;
- equal steps (200 batches of 128) at length 24 and 48, and, at length 24, the LSTM trained for
  the transformer's wall-clock time (as many more steps as the time ratio gives);
- held-out accuracy per distance bin, parameters and seconds of each run.

One CPU thread, seeded: the accuracies are the same on re-run; the seconds depend on the machine
(recorded with it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch
import torch.nn.functional as F

from flowlib.data import tensor_batches
from flowlib.lstm import LSTMBaseline
from flowlib.models import GPT, GPTConfig
from flowlib.tasks import recall_task
from flowlib.training import seed_everything, train

SEEDS = (0, 1, 2)
STEPS, BATCH, D_MODEL = 200, 128, 64
LR = {"LSTM": 0.01, "transformer": 0.003}
N_BINS = 4


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def make_model(name: str, vocab: int, length: int, seed: int) -> torch.nn.Module:
    """Seeded exactly as the notebook's ``make_model``: the width first, then the seed, then the weights."""
    width = lstm_width(vocab, length) if name == "LSTM" else D_MODEL
    seed_everything(seed)
    if name == "transformer":
        return GPT(GPTConfig(vocab_size=vocab, block_size=length, n_layers=2, n_heads=4,
                             d_model=D_MODEL, d_ff=2 * D_MODEL, positions="rotary"))
    return LSTMBaseline(vocab, d_model=width)


def lstm_width(vocab: int, length: int) -> int:
    """The LSTM width whose parameter count is closest to the transformer's."""
    target = n_params(make_model("transformer", vocab, length, 0))
    return min(range(8, 257), key=lambda d: abs(n_params(LSTMBaseline(vocab, d_model=d)) - target))


def last_token_loss(model, batch):
    inputs, targets = batch
    return F.cross_entropy(model(inputs)[:, -1], targets)


def run(name: str, length: int, seed: int, steps: int) -> dict:
    train_data = recall_task(20000, length=length, seed=0)
    test_data = recall_task(2000, length=length, seed=1)
    model = make_model(name, len(train_data.tokenizer), length, seed)
    history = train(model, tensor_batches(train_data.inputs, train_data.targets, batch_size=BATCH, seed=seed),
                    last_token_loss, steps=steps, lr=LR[name], seed=seed, progress=False, eval_every=steps)
    with torch.no_grad():
        correct = (model(test_data.inputs)[:, -1].argmax(-1) == test_data.targets).float()
    d, top = test_data.distances, length - 3
    edges = [round(i * (top + 1) / N_BINS) for i in range(N_BINS + 1)]
    bins = [correct[(d >= lo) & (d < hi)].mean().item() for lo, hi in zip(edges, edges[1:])]
    return {"model": name, "length": length, "seed": seed, "steps": steps, "params": n_params(model),
            "seconds": round(history.seconds, 2), "accuracy": round(correct.mean().item(), 4),
            "bin_edges": edges, "accuracy_by_distance": [round(b, 4) for b in bins]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "checkpoints" / "recall_seeds.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = []
    for length in (24, 48):
        for seed in SEEDS:
            for name in ("LSTM", "transformer"):
                runs.append(run(name, length, seed, STEPS))
                print(runs[-1], flush=True)
    at24 = [r for r in runs if r["length"] == 24]
    ratio = sum(r["seconds"] for r in at24 if r["model"] == "transformer") / sum(r["seconds"] for r in at24 if r["model"] == "LSTM")
    equal_time_steps = int(round(STEPS * ratio / 50) * 50)
    for seed in SEEDS:
        r = run("LSTM", 24, seed, equal_time_steps)
        r["budget"] = "transformer's wall-clock"
        runs.append(r)
        print(r, flush=True)
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread",
           "steps": STEPS, "batch": BATCH, "time_ratio_transformer_over_lstm": round(ratio, 2),
           "equal_time_lstm_steps": equal_time_steps, "runs": runs}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
