"""Fine-tuning on a real labelled task that ships with Python (lesson 12).

* :func:`docstring_dataset` — the first paragraph of every documented class and function of a
  few standard-library packages, labelled by package; split into train and test with
  near-duplicates kept on one side.
* :func:`encode` — texts to a padded Hugging Face batch (``input_ids``, ``attention_mask``).
* :func:`embed` — mean-pooled sentence vectors of a frozen encoder, ``(n, d_model)``.
* :func:`length_batches` — endless training batches of texts of similar length, each cut to its
  longest text (Hugging Face's ``group_by_length``): less padding, less compute.
* :class:`EncoderClassifier` — a Hugging Face encoder + mean pooling + one linear layer.
* :func:`accuracy` — held-out accuracy of a classifier.

Deterministic: the same Python version gives the same dataset, in the same order, on every
machine where the chosen packages import (platform-specific submodules are left out).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import random
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from flowlib.bert import mean_pool
from flowlib.training import to_device

__all__ = [
    "MODULES",
    "DocstringData",
    "docstring_dataset",
    "encode",
    "embed",
    "length_batches",
    "EncoderClassifier",
    "accuracy",
]

MODULES = ("asyncio", "email", "http", "logging", "multiprocessing", "xml")
_SKIP = re.compile(r"test|win|unix|posix|fork|__main__")  # platform-specific or not documentation


@dataclass(frozen=True)
class DocstringData:
    """A labelled text task: ``train_texts[i]`` has class ``classes[train_labels[i]]``."""

    classes: tuple[str, ...]
    train_texts: tuple[str, ...]
    train_labels: tuple[int, ...]
    test_texts: tuple[str, ...]
    test_labels: tuple[int, ...]
    train_names: tuple[str, ...]  # "module:qualname" of each text, to look one up
    test_names: tuple[str, ...]

    def counts(self) -> dict[str, tuple[int, int]]:
        """``{class: (train examples, test examples)}``."""
        train, test = Counter(self.train_labels), Counter(self.test_labels)
        return {c: (train[i], test[i]) for i, c in enumerate(self.classes)}


def _submodules(package: str) -> list[str]:
    root = importlib.import_module(package)
    found = [package] + [m.name for m in pkgutil.walk_packages(getattr(root, "__path__", []), package + ".")]
    return sorted(name for name in found if not _SKIP.search(name.removeprefix(package)))


def _first_paragraph(doc: Any) -> str:
    if not isinstance(doc, str):
        return ""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def _documented(package: str) -> dict[str, str]:
    """``{first paragraph: "module:qualname"}`` for the classes, functions and methods defined in ``package``."""
    found: dict[str, str] = {}
    for name in _submodules(package):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                module = importlib.import_module(name)
            except Exception:  # an optional dependency missing on this machine: skip that submodule
                continue
        for qualname, obj in inspect.getmembers(module, lambda o: inspect.isclass(o) or inspect.isfunction(o)):
            if getattr(obj, "__module__", None) != name:  # defined here, not imported from elsewhere
                continue
            members = [(qualname, obj)]
            if inspect.isclass(obj):
                members += [(f"{qualname}.{k}", v) for k, v in sorted(vars(obj).items()) if inspect.isfunction(v)]
            for where, member in members:
                text = _first_paragraph(member.__doc__)  # own docstring only: inspect.getdoc would inherit
                found.setdefault(text, f"{name}:{where}")
    found.pop("", None)
    return found


def _group_key(text: str, name: str) -> tuple[str, str]:
    """Two keys; texts that share either are near-duplicates and stay in the same split."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return " ".join(words[:6]), name.rsplit(".", 1)[-1].rsplit(":", 1)[-1]


def _find(parent: list[int], i: int) -> int:
    """The root of ``i``'s group in the union-find forest ``parent``, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def docstring_dataset(
    modules: Sequence[str] = MODULES,
    per_class: int = 100,
    test_fraction: float = 0.4,
    min_words: int = 4,
    seed: int = 0,
) -> DocstringData:
    """Docstrings labelled by the package that defines them, ``per_class`` examples of each.

    Each example is the first paragraph of one docstring with at least ``min_words`` words. A text
    found in two packages is dropped (its label would be ambiguous). Texts that start with the same
    six words, or document members of the same name (every ``close`` method of a package), form a
    group, and a group goes to one split whole: no near-copy of a test text is trained on.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1; got {test_fraction}")
    if len(set(modules)) != len(modules) or len(modules) < 2:
        raise ValueError(f"modules must be two or more different package names; got {list(modules)}")
    per_module = {m: _documented(m) for m in modules}
    seen = Counter(text for found in per_module.values() for text in found)
    rng = random.Random(seed)
    train: list[tuple[str, int, str]] = []
    test: list[tuple[str, int, str]] = []
    for label, module in enumerate(modules):
        rows = sorted((t, n) for t, n in per_module[module].items() if seen[t] == 1 and len(t.split()) >= min_words)
        if len(rows) < per_class:
            raise ValueError(f"{module} has {len(rows)} usable docstrings; per_class={per_class} needs that many")
        rng.shuffle(rows)
        groups: dict[tuple[str, str], int] = {}  # union-find over the two keys, by first occurrence
        parent: list[int] = []
        for i, (text, name) in enumerate(rows[:per_class]):
            parent.append(i)
            for key in zip(("words", "name"), _group_key(text, name), strict=True):
                if key in groups:
                    parent[_find(parent, i)] = _find(parent, groups[key])
                else:
                    groups[key] = i
        by_root: dict[int, list[int]] = {}
        for i in range(len(parent)):
            by_root.setdefault(_find(parent, i), []).append(i)
        n_test = round(test_fraction * per_class)
        taken = 0
        for members in sorted(by_root.values(), key=lambda g: g[0]):  # groups in shuffled order fill the test split
            side = test if taken + len(members) <= n_test else train
            taken += len(members) if side is test else 0
            side.extend((rows[i][0], label, rows[i][1]) for i in members)
    rng.shuffle(train)
    rng.shuffle(test)
    return DocstringData(
        classes=tuple(modules),
        train_texts=tuple(r[0] for r in train), train_labels=tuple(r[1] for r in train),
        test_texts=tuple(r[0] for r in test), test_labels=tuple(r[1] for r in test),
        train_names=tuple(r[2] for r in train), test_names=tuple(r[2] for r in test),
    )  # fmt: skip


def encode(hf_tokenizer: Any, texts: Sequence[str], max_length: int = 64) -> dict[str, Tensor]:
    """``{"input_ids", "attention_mask"}``, each ``(n, time)``, padded to the longest text and cut at ``max_length``."""
    batch = hf_tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def _by_length(
    batch: dict[str, Tensor], batch_size: int, order: Tensor | None = None
) -> Iterator[tuple[Tensor, dict[str, Tensor]]]:
    """``(indices, chunk)``: ``batch_size`` texts of similar length at a time, cut to the longest of them.

    The texts are sorted by length; ``order`` (a permutation) decides the order among equal lengths.
    """
    lengths = batch["attention_mask"].sum(dim=1)
    order = torch.argsort(lengths, stable=True) if order is None else order[torch.argsort(lengths[order], stable=True)]
    for indices in order.split(batch_size):
        longest = int(lengths[indices].max())
        yield indices, {k: v[indices, :longest] for k, v in batch.items()}


def _hidden_size(encoder: nn.Module) -> int:
    """The width of a Hugging Face encoder's hidden states, from its ``config``."""
    config: Any = encoder.config  # a transformers PretrainedConfig: torch types module attributes as Tensor | Module
    return config.hidden_size


@torch.no_grad()
def embed(model: nn.Module, batch: dict[str, Tensor], batch_size: int = 64) -> Tensor:
    """Mean-pooled last hidden states of a Hugging Face encoder: ``(n, d_model)`` for a batch of ``n``
    texts, on the CPU (each chunk runs on the model's device)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.empty(len(batch["input_ids"]), _hidden_size(model))
    for indices, part in _by_length(batch, batch_size):
        part = to_device(part, device)
        out[indices] = mean_pool(model(**part).last_hidden_state, part["attention_mask"]).float().cpu()
    model.train(was_training)
    return out


def length_batches(
    batch: dict[str, Tensor], labels: Tensor, batch_size: int, seed: int = 0
) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """Endless ``(input_ids, attention_mask, labels)`` batches for training, epoch after epoch.

    Each epoch shuffles the texts (seeded), sorts them by length (ties stay shuffled), cuts them
    into batches of ``batch_size`` and shuffles the batches' order; each batch is cut to its
    longest text, so a batch of short docstrings costs less than a batch of long ones.
    """
    if len(labels) != len(batch["input_ids"]):
        raise ValueError(f"{len(batch['input_ids'])} texts but {len(labels)} labels")
    generator = torch.Generator().manual_seed(seed)
    while True:
        chunks = list(_by_length(batch, batch_size, order=torch.randperm(len(labels), generator=generator)))
        for i in torch.randperm(len(chunks), generator=generator).tolist():
            indices, part = chunks[i]
            yield part["input_ids"], part["attention_mask"], labels[indices]


class EncoderClassifier(nn.Module):
    """A Hugging Face encoder, mean pooling over real tokens, one linear layer: ``(batch, n_classes)`` logits."""

    def __init__(self, encoder: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(_hidden_size(encoder), n_classes)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(mean_pool(hidden, attention_mask))


@torch.no_grad()
def accuracy(model: nn.Module, batch: dict[str, Tensor], labels: Tensor | Sequence[int], batch_size: int = 64) -> float:
    """Share of ``labels`` that ``model(**batch).argmax(-1)`` gets right (``model`` is put in eval mode)."""
    labels = torch.as_tensor(labels)
    if len(labels) != len(batch["input_ids"]):
        raise ValueError(f"{len(batch['input_ids'])} texts but {len(labels)} labels")
    model.eval()
    device = next(model.parameters()).device
    predicted = torch.empty_like(labels)
    for indices, part in _by_length(batch, batch_size):
        predicted[indices] = model(**to_device(part, device)).argmax(-1).cpu()
    return (predicted == labels).float().mean().item()
