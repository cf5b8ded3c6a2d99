"""Lesson 12's fine-tuning comparison over several seeds; save checkpoints/fine_tuning_seeds.json.

    python recipes/fine_tuning_seeds.py --seeds 0-7

The notebook runs one seed of each method live (a minute of CPU allows no more); this recipe runs
the same code for every seed it is given (about a minute a seed on two threads: 8 seeds is the budget). A seed sets the train/test split of
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

Two CPU threads, seeded, float32 unless ``measure(..., bf16=True)``: the accuracies are the same on
re-run on this machine. ``measure`` returns each method's accuracy under its name and its number of
trained parameters under ``"trained: <name>"``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from flowlib import finetuning, lora
from flowlib.pretrained import load_minilm
from flowlib.training import seed_everything, train

NAME = "fine_tuning"
QUICK = False  # about a minute a seed
MAJORITY_FROM = 4  # claims about a mean: judged from this many seeds on
MAX_LENGTH, BATCH = 32, 16
EPOCHS, LONG_EPOCHS = 1, 3
FULL_LR, LORA_LR = 1e-4, 1e-2
LORA_R, LORA_ALPHA = 8, 16
EXTRA_RANKS = (1, 4)
CLAIMS = {
    "12.frozen_vs_tfidf": "a linear head on frozen MiniLM beats TF-IDF + logistic regression on every seed",
    "12.one_epoch": "one epoch of fine-tuning (full or LoRA r=8) lands within -0.05 and +0.01 of the frozen probe on every seed",
    "12.three_epochs": "three epochs of full fine-tuning lose no more than 0.03 against the frozen probe on any seed",
    "12.three_epochs_mean": "three epochs of full fine-tuning gain over the frozen probe on the mean over seeds",
}


def classification_loss(model, batch):
    ids, mask, labels = batch
    return F.cross_entropy(model(ids, mask), labels)


def measure(seed: int, *, bf16: bool = False) -> dict[str, float]:
    """Every method on the split of ``seed``, in the notebook's order and with its seeding: accuracies and sizes."""
    task = finetuning.docstring_dataset(seed=seed)
    y_train, y_test = torch.tensor(task.train_labels), torch.tensor(task.test_labels)
    runs: dict[str, float] = {}

    def record(method: str, accuracy: float, trained: int) -> None:
        runs[method], runs[f"trained: {method}"] = round(accuracy, 4), trained

    tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
    X_train, X_test = tfidf.fit_transform(task.train_texts), tfidf.transform(task.test_texts)
    baseline = LogisticRegression(max_iter=2000).fit(X_train, task.train_labels)
    record(
        "TF-IDF + logistic regression",
        baseline.score(X_test, task.test_labels),
        baseline.coef_.size + baseline.intercept_.size,
    )

    minilm, wordpiece = load_minilm()
    train_batch = finetuning.encode(wordpiece.hf, task.train_texts, max_length=MAX_LENGTH)
    test_batch = finetuning.encode(wordpiece.hf, task.test_texts, max_length=MAX_LENGTH)
    E_train, E_test = finetuning.embed(minilm, train_batch), finetuning.embed(minilm, test_batch)
    head = LogisticRegression(max_iter=3000).fit(E_train.numpy(), task.train_labels)
    record(
        "frozen MiniLM + linear head",
        head.score(E_test.numpy(), task.test_labels),
        head.coef_.size + head.intercept_.size,
    )

    def batches():
        return finetuning.length_batches(train_batch, y_train, batch_size=BATCH, seed=seed)

    def start_from_probe(model):
        with torch.no_grad():
            model.head.weight.copy_(torch.as_tensor(head.coef_, dtype=torch.float32))
            model.head.bias.copy_(torch.as_tensor(head.intercept_, dtype=torch.float32))
        return model

    for epochs in (EPOCHS, LONG_EPOCHS):
        seed_everything(seed)
        full = start_from_probe(finetuning.EncoderClassifier(copy.deepcopy(minilm), len(task.classes)))
        train(
            full,
            batches(),
            classification_loss,
            steps=epochs * math.ceil(len(y_train) / BATCH),
            lr=FULL_LR,
            seed=seed,
            progress=False,
            autocast=bf16,
        )
        label = "" if epochs == EPOCHS else f", {epochs} epochs"
        record(
            f"full fine-tuning{label}", finetuning.accuracy(full, test_batch, y_test), lora.count_parameters(full)[0]
        )
        del full

    for r, epochs in [(LORA_R, EPOCHS), *((rank, EPOCHS) for rank in EXTRA_RANKS), (LORA_R, LONG_EPOCHS)]:
        seed_everything(seed)
        adapted = start_from_probe(finetuning.EncoderClassifier(copy.deepcopy(minilm), len(task.classes)))
        lora.add_lora(adapted.encoder, targets=("query", "value"), r=r, alpha=LORA_ALPHA * r / LORA_R, seed=seed)
        adapted.head.requires_grad_(True)
        train(
            adapted,
            batches(),
            classification_loss,
            steps=epochs * math.ceil(len(y_train) / BATCH),
            lr=LORA_LR,
            seed=seed,
            progress=False,
            autocast=bf16,
        )
        label = "" if epochs == EPOCHS else f", {epochs} epochs"
        record(
            f"LoRA r={r} on W_Q, W_V{label}",
            finetuning.accuracy(adapted, test_batch, y_test),
            lora.count_parameters(adapted)[0],
        )
    return runs


def judge(runs: dict[int, dict[str, float]]) -> dict[str, tuple[bool, str]]:
    """Each claim of CLAIMS against the seeds in ``runs`` (paired differences: both methods saw the seed's split)."""
    n = len(runs)

    def col(key: str) -> np.ndarray:
        return np.array([r[key] for r in runs.values()])

    tf, frozen = col("TF-IDF + logistic regression"), col("frozen MiniLM + linear head")
    one = np.concatenate([col("full fine-tuning") - frozen, col(f"LoRA r={LORA_R} on W_Q, W_V") - frozen])
    long_full = col(f"full fine-tuning, {LONG_EPOCHS} epochs") - frozen
    verdicts = {
        "12.frozen_vs_tfidf": (
            bool((frozen - tf).min() > 0),
            f"frozen - TF-IDF {(frozen - tf).min():+.3f} to {(frozen - tf).max():+.3f}",
        ),
        "12.one_epoch": (
            bool(one.min() > -0.05 and one.max() < 0.01),
            f"one epoch (full or LoRA r={LORA_R}) - frozen {one.min():+.3f} to {one.max():+.3f}",
        ),
        "12.three_epochs": (
            bool(long_full.min() > -0.03),
            f"full, {LONG_EPOCHS} epochs - frozen {long_full.min():+.3f} to {long_full.max():+.3f}, mean {long_full.mean():+.3f}",
        ),
    }
    if n >= MAJORITY_FROM:
        verdicts["12.three_epochs_mean"] = (bool(long_full.mean() > 0), f"mean {long_full.mean():+.3f} over {n} seeds")
    return verdicts


if __name__ == "__main__":
    from seeded import run_recipe

    run_recipe(NAME, measure, judge, default_seeds="0-7", threads=2)
