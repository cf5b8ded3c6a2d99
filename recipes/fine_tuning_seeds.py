"""Lesson 12's fine-tuning comparison over several seeds; save checkpoints/fine_tuning_seeds.json.

    python recipes/fine_tuning_seeds.py [--out checkpoints/fine_tuning_seeds.json]

The notebook runs one seed of each method live (a minute of CPU allows no more); this recipe runs
the same code for every seed in ``SEEDS``. A seed sets the train/test split of
:func:`flowlib.finetuning.docstring_dataset` and every random draw of training (head
initialisation, batch order, LoRA's A), so each seed is a new split and a new run:

- TF-IDF (words and word pairs) + logistic regression, scikit-learn's defaults;
- frozen all-MiniLM-L6-v2, mean-pooled sentence vectors + logistic regression (a linear head);
- full fine-tuning of MiniLM with a linear head on the mean-pooled vectors, the head starting as
  the frozen model's linear probe (LP-FT), for ``EPOCHS`` epoch(s) as in the notebook and, as a
  control, for ``LONG_EPOCHS``;
- LoRA on the attention's query and value projections (rank ``LORA_R``, and the ranks in
  ``EXTRA_RANKS``; alpha = 2 r), with the same head, started the same way, trained too; rank
  ``LORA_R`` also for ``LONG_EPOCHS``.

Two CPU threads, seeded, no bf16 autocast: the accuracies are the same on re-run on this machine
(the seconds depend on it; recorded with it).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from flowlib import finetuning, lora
from flowlib.pretrained import load_minilm
from flowlib.training import seed_everything, train

SEEDS = (0, 1, 2)
MAX_LENGTH, BATCH = 32, 16
EPOCHS, LONG_EPOCHS = 1, 3
FULL_LR, LORA_LR = 1e-4, 1e-2
LORA_R, LORA_ALPHA = 8, 16
EXTRA_RANKS = (1, 4)


def classification_loss(model, batch):
    ids, mask, labels = batch
    return F.cross_entropy(model(ids, mask), labels)


def run_seed(seed: int) -> list[dict]:
    """Every method on the split of ``seed``, in the notebook's order and with its seeding."""
    task = finetuning.docstring_dataset(seed=seed)
    y_train, y_test = torch.tensor(task.train_labels), torch.tensor(task.test_labels)
    runs = []

    def record(method: str, accuracy: float, trained: int, start: float, history=None) -> None:
        runs.append({"method": method, "seed": seed, "accuracy": round(accuracy, 4), "trained": trained,
                     "seconds": round(time.perf_counter() - start, 1)})
        if history is not None:  # the mean training loss of the last 10 steps
            runs[-1]["final_train_loss"] = round(sum(history.losses[-10:]) / len(history.losses[-10:]), 4)
        print(runs[-1], flush=True)

    start = time.perf_counter()
    tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
    X_train, X_test = tfidf.fit_transform(task.train_texts), tfidf.transform(task.test_texts)
    baseline = LogisticRegression(max_iter=2000).fit(X_train, task.train_labels)
    record("TF-IDF + logistic regression", baseline.score(X_test, task.test_labels), baseline.coef_.size + baseline.intercept_.size, start)

    start = time.perf_counter()
    minilm, wordpiece = load_minilm()
    train_batch = finetuning.encode(wordpiece.hf, task.train_texts, max_length=MAX_LENGTH)
    test_batch = finetuning.encode(wordpiece.hf, task.test_texts, max_length=MAX_LENGTH)
    E_train, E_test = finetuning.embed(minilm, train_batch), finetuning.embed(minilm, test_batch)
    head = LogisticRegression(max_iter=3000).fit(E_train.numpy(), task.train_labels)
    record("frozen MiniLM + linear head", head.score(E_test.numpy(), task.test_labels), head.coef_.size + head.intercept_.size, start)

    def batches():
        return finetuning.length_batches(train_batch, y_train, batch_size=BATCH, seed=seed)

    def start_from_probe(model):
        with torch.no_grad():
            model.head.weight.copy_(torch.as_tensor(head.coef_, dtype=torch.float32))
            model.head.bias.copy_(torch.as_tensor(head.intercept_, dtype=torch.float32))
        return model

    for epochs in (EPOCHS, LONG_EPOCHS):
        start = time.perf_counter()
        seed_everything(seed)
        full = start_from_probe(finetuning.EncoderClassifier(copy.deepcopy(minilm), len(task.classes)))
        history = train(full, batches(), classification_loss, steps=epochs * math.ceil(len(y_train) / BATCH), lr=FULL_LR, seed=seed,
              progress=False, autocast=False)
        label = "" if epochs == EPOCHS else f", {epochs} epochs"
        record(f"full fine-tuning{label}", finetuning.accuracy(full, test_batch, y_test), lora.count_parameters(full)[0], start, history)
        del full

    for r, epochs in [(LORA_R, EPOCHS), *((rank, EPOCHS) for rank in EXTRA_RANKS), (LORA_R, LONG_EPOCHS)]:
        start = time.perf_counter()
        seed_everything(seed)
        adapted = start_from_probe(finetuning.EncoderClassifier(copy.deepcopy(minilm), len(task.classes)))
        lora.add_lora(adapted.encoder, targets=("query", "value"), r=r, alpha=LORA_ALPHA * r / LORA_R, seed=seed)
        adapted.head.requires_grad_(True)
        history = train(adapted, batches(), classification_loss, steps=epochs * math.ceil(len(y_train) / BATCH), lr=LORA_LR, seed=seed,
              progress=False, autocast=False)
        label = "" if epochs == EPOCHS else f", {epochs} epochs"
        record(f"LoRA r={r} on W_Q, W_V{label}", finetuning.accuracy(adapted, test_batch, y_test), lora.count_parameters(adapted)[0], start, history)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "checkpoints" / "fine_tuning_seeds.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    start = time.perf_counter()
    runs = [run for seed in SEEDS for run in run_seed(seed)]
    runs.sort(key=lambda r: (r["trained"], r["method"], r["seed"]))
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 2 threads, "
                      f"Python {platform.python_version()}",
           "seconds": round(time.perf_counter() - start, 1), "seeds": list(SEEDS), "max_length": MAX_LENGTH, "batch": BATCH,
           "epochs": EPOCHS, "long_epochs": LONG_EPOCHS, "full_lr": FULL_LR,
           "lora": {"r": LORA_R, "alpha_over_r": LORA_ALPHA / LORA_R, "lr": LORA_LR, "extra_ranks": list(EXTRA_RANKS)},
           "runs": runs}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out, f"in {out['seconds']:.0f} s")


if __name__ == "__main__":
    main()
