"""Lesson 06's two comparisons over seeds; save checkpoints/flow_pipeline_seeds.json.

    python recipes/flow_pipeline_seeds.py --seeds 0-7

The notebook trains three seeds of each model live; this recipe trains the same models on the same
data for every seed it is given. A seed fixes the initial weights and the batch order; the data and
its split are the notebook's (fixed):

- word order: the reviews of the four patterns ("X", "not X", "X , not Y", "not X , but Y"), 70% for
  training; a 2-block BERT-style encoder (2 heads, d = 32, mean pooling) against a bag of words (mean
  of the embeddings, then an MLP), 400 steps of 64 reviews each, lr 3e-3. Recorded: both test
  accuracies, and the bag's accuracy and mean confidence on the test reviews whose opposite-label twin
  (the same words in another order) is in the training set;
- a table: the Wisconsin breast-cancer data, 30% held out (split 0, stratified); logistic regression
  (deterministic) against a transformer with one token per column, 150 steps of 64 rows.

One thread, float32 unless bf16.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from flowlib import bert, data, models
from flowlib.tokenizers import PAD, WordTokenizer
from flowlib.training import seed_everything, train

NAME = "flow_pipeline"
QUICK = True  # about 15 s a seed on one core
SUBJECTS = [
    "the film",
    "the food",
    "the hotel",
    "the service",
    "the book",
    "the trip",
    "my day",
    "the show",
    "the game",
    "the class",
]
STRENGTH = {
    "excellent": 1.0,
    "great": 0.9,
    "lovely": 0.8,
    "good": 0.6,
    "nice": 0.5,
    "decent": 0.4,
    "fine": 0.3,
    "okay": 0.2,
    "awful": -1.0,
    "terrible": -0.9,
    "horrible": -0.8,
    "bad": -0.6,
    "poor": -0.5,
    "boring": -0.4,
    "dull": -0.3,
    "weak": -0.2,
}
CLAIMS = {
    "06.order": "the transformer beats the bag of words on the reviews on every seed",
    "06.twins": "on reviews whose twin is in the training set the bag of words is below a coin flip, with a mean "
    "confidence below 0.7, on every seed",
    "06.table": "the tabular transformer is not better than logistic regression by more than two standard errors "
    "of the test accuracy, on every seed",
}


def reviews() -> list[tuple[str, int, float, str]]:
    """The notebook's reviews, (text, label, score, pattern), shuffled as it shuffles them."""
    positive, negative = [a for a, s in STRENGTH.items() if s > 0], [a for a, s in STRENGTH.items() if s < 0]
    rows = []
    for s in SUBJECTS:
        for a in STRENGTH:
            rows.append((f"{s} was {a}", int(STRENGTH[a] > 0), STRENGTH[a], "X"))
            rows.append((f"{s} was not {a}", int(STRENGTH[a] < 0), -0.5 * STRENGTH[a], "not X"))
        for p, n in itertools.product(positive, negative):
            for x, y in ((p, n), (n, p)):
                rows.append((f"{s} was {x} , not {y}", int(STRENGTH[x] > 0), STRENGTH[x], "X , not Y"))
                rows.append((f"{s} was not {x} , but {y}", int(STRENGTH[y] > 0), STRENGTH[y], "not X , but Y"))
    random.Random(0).shuffle(rows)
    return rows


class BagOfWords(nn.Module):
    """Mean of the word embeddings (order-blind) -> MLP -> logits: (batch, T) ids -> (batch, 2)."""

    def __init__(self, vocab_size: int, d_model: int = 32, n_outputs: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 64), nn.ReLU(), nn.Linear(64, n_outputs))

    def forward(self, ids, attention_mask):
        return self.mlp(bert.mean_pool(self.embed(ids), attention_mask))


class TabularTransformer(nn.Module):
    """One token per column, value * w_col + b_col -> pre-LN encoder -> mean -> logits: (batch, columns) -> (batch, 2)."""

    def __init__(self, n_columns: int, d_model: int = 32, n_layers: int = 2, n_heads: int = 2) -> None:
        super().__init__()
        self.value_vec = nn.Parameter(torch.randn(n_columns, d_model) * 0.1)
        self.column_vec = nn.Parameter(torch.zeros(n_columns, d_model))
        self.encoder = models.Encoder(n_layers, d_model, n_heads, 2 * d_model, norm_first=True)
        self.head = nn.Linear(d_model, 2)

    def forward(self, x):
        return self.head(self.encoder(x[..., None] * self.value_vec + self.column_vec).mean(dim=1))


def _classification_loss(model, batch):
    ids, mask, label = batch
    return F.cross_entropy(model(ids, attention_mask=mask), label)


def measure(seed: int, *, bf16: bool = False) -> dict[str, float]:
    """Test accuracies of the four models for ``seed``, and the bag of words on the reviews with a twin."""
    rows = reviews()
    n_train = int(0.7 * len(rows))
    tok = WordTokenizer.from_texts([r[0] for r in rows], specials=[PAD])

    def tensors(part):
        padded = data.pad_batch([tok.encode(r[0]) for r in part], tok.pad_id)
        return padded.ids, padded.mask, torch.tensor([r[1] for r in part])

    (ids, mask, label), (test_ids, test_mask, test_label) = tensors(rows[:n_train]), tensors(rows[n_train:])
    bags = {}
    for text, lab, _, _ in rows[:n_train]:
        bags.setdefault(tuple(sorted(text.split())), set()).add(lab)
    twin = torch.tensor([1 - lab in bags.get(tuple(sorted(text.split())), set()) for text, lab, _, _ in rows[n_train:]])
    config = bert.BertConfig(
        vocab_size=tok.vocab_size,
        d_model=32,
        n_heads=2,
        n_layers=2,
        d_ff=64,
        max_len=16,
        dropout=0.0,
        pad_id=tok.pad_id,
    )
    out = {}
    for name, make in (
        ("bag", lambda: BagOfWords(tok.vocab_size)),
        ("transformer", lambda: bert.BertForSequenceClassification(config, n_outputs=2, pooling="mean")),
    ):
        seed_everything(seed)
        model = make()
        train(
            model,
            data.tensor_batches(ids, mask, label, batch_size=64, seed=seed),
            _classification_loss,
            steps=400,
            lr=3e-3,
            device="cpu",
            seed=seed,
            progress=False,
            autocast=bf16,
        )
        with torch.no_grad():
            probs = F.softmax(model(test_ids, attention_mask=test_mask), dim=-1)
        correct = (probs.argmax(-1) == test_label).float()
        out[f"{name}_accuracy"] = correct.mean().item()
        if name == "bag":
            out["bag_accuracy_twins"] = correct[twin].mean().item()
            out["bag_confidence_twins"] = probs.max(-1).values[twin].mean().item()

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    out["logistic_accuracy"] = LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_test, y_test)
    Xt, Xv = (torch.tensor(a, dtype=torch.float32) for a in (X_train, X_test))
    seed_everything(seed)
    tabular = TabularTransformer(X.shape[1])
    train(
        tabular,
        data.tensor_batches(Xt, torch.tensor(y_train), batch_size=64, seed=seed),
        lambda m, b: F.cross_entropy(m(b[0]), b[1]),
        steps=150,
        lr=3e-3,
        device="cpu",
        seed=seed,
        progress=False,
        autocast=bf16,
    )
    with torch.no_grad():
        out["tabular_accuracy"] = (tabular(Xv).argmax(-1) == torch.tensor(y_test)).float().mean().item()
    out["n_table_test"] = len(y_test)
    return {k: round(v, 4) for k, v in out.items()}


def judge(runs: dict[int, dict[str, float]]) -> dict[str, tuple[bool, str]]:
    """Each claim of CLAIMS against the seeds in ``runs``."""

    def col(key: str) -> np.ndarray:
        return np.array([r[key] for r in runs.values()])

    bag, transformer = col("bag_accuracy"), col("transformer_accuracy")
    twins, confidence = col("bag_accuracy_twins"), col("bag_confidence_twins")
    logistic, tabular, n = col("logistic_accuracy"), col("tabular_accuracy"), col("n_table_test")
    bound = logistic + 2 * np.sqrt(logistic * (1 - logistic) / n)
    return {
        "06.order": (
            bool((transformer > bag).all()),
            f"bag {bag.min():.3f}-{bag.max():.3f}, transformer {transformer.min():.3f}-{transformer.max():.3f}",
        ),
        "06.twins": (
            bool((twins < 0.5).all() and (confidence < 0.7).all()),
            f"bag on reviews with a twin: accuracy {twins.min():.3f}-{twins.max():.3f}, confidence {confidence.min():.2f}-{confidence.max():.2f}",
        ),
        "06.table": (
            bool((tabular <= bound).all()),
            f"logistic {logistic[0]:.3f} (+2 s.e. {bound[0]:.3f}), tabular transformer "
            f"{tabular.min():.3f}-{tabular.max():.3f}",
        ),
    }


if __name__ == "__main__":
    from seeded import run_recipe

    run_recipe(NAME, measure, judge, default_seeds="0-7")
