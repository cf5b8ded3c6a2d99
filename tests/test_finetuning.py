"""flowlib.finetuning: a deterministic, balanced, leak-free docstring task, and the encoder helpers."""

import re

import pytest
import torch
from torch import nn

from flowlib import finetuning


@pytest.fixture(scope="module")
def task():
    return finetuning.docstring_dataset(seed=0)


def test_sizes_balance_and_determinism(task):
    assert task.classes == finetuning.MODULES
    assert set(task.counts().values()) == {(60, 40)}
    again = finetuning.docstring_dataset(seed=0)
    assert again == task
    assert finetuning.docstring_dataset(seed=1).test_texts != task.test_texts


def test_labels_are_the_defining_package(task):
    for text, label, name in zip(
        task.train_texts + task.test_texts,
        task.train_labels + task.test_labels,
        task.train_names + task.test_names,
        strict=True,
    ):
        assert name.split(":")[0].split(".")[0] == task.classes[label]
        assert len(text.split()) >= 4


def test_no_near_copy_crosses_the_split(task):
    def start(text):
        return " ".join(re.findall(r"[a-z0-9]+", text.lower())[:6])

    def member(name):
        return name.rsplit(".", 1)[-1].rsplit(":", 1)[-1]

    assert not {start(t) for t in task.train_texts} & {start(t) for t in task.test_texts}
    train_members = {(lab, member(n)) for lab, n in zip(task.train_labels, task.train_names, strict=True)}
    assert not train_members & {(lab, member(n)) for lab, n in zip(task.test_labels, task.test_names, strict=True)}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="test_fraction"):
        finetuning.docstring_dataset(test_fraction=1.0)
    with pytest.raises(ValueError, match="two or more"):
        finetuning.docstring_dataset(modules=("email", "email"))
    with pytest.raises(ValueError, match="usable docstrings"):
        finetuning.docstring_dataset(modules=("json", "email"))


class _TinyEncoder(nn.Module):
    """Stands in for a Hugging Face encoder: ``(...).last_hidden_state`` and ``config.hidden_size``."""

    def __init__(self):
        super().__init__()
        self.config = type("Config", (), {"hidden_size": 3})()
        self.emb = nn.Embedding(10, 3)

    def forward(self, input_ids, attention_mask):
        return type("Out", (), {"last_hidden_state": self.emb(input_ids)})()


def test_embed_classifier_and_accuracy():
    torch.manual_seed(0)
    encoder = _TinyEncoder()
    batch = {"input_ids": torch.tensor([[1, 2, 0], [3, 0, 0]]), "attention_mask": torch.tensor([[1, 1, 0], [1, 0, 0]])}
    vectors = finetuning.embed(encoder, batch, batch_size=1)
    torch.testing.assert_close(vectors[1], encoder.emb.weight[3].detach())
    torch.testing.assert_close(vectors[0], encoder.emb.weight[1:3].mean(0).detach())
    model = finetuning.EncoderClassifier(encoder, n_classes=2)
    predicted = model(**batch).argmax(-1)
    assert finetuning.accuracy(model, batch, predicted) == 1.0
    with pytest.raises(ValueError, match="2 texts but 3 labels"):
        finetuning.accuracy(model, batch, [0, 1, 0])


def test_length_batches_cover_each_epoch_with_little_padding():
    lengths = torch.tensor([1, 5, 2, 5, 3, 1, 4, 2, 3])
    mask = (torch.arange(5)[None, :] < lengths[:, None]).long()
    batch = {"input_ids": mask * torch.arange(1, 10)[:, None], "attention_mask": mask}
    stream = finetuning.length_batches(batch, torch.arange(9), batch_size=4, seed=0)
    epoch = [next(stream) for _ in range(3)]  # 9 texts in batches of 4: 4 + 4 + 1
    assert sorted(torch.cat([labels for _, _, labels in epoch]).tolist()) == list(range(9))
    for ids, m, labels in epoch:
        assert ids.shape[1] == int(lengths[labels].max())  # cut to the batch's longest text
        assert torch.equal(ids, batch["input_ids"][labels, : ids.shape[1]]) and torch.equal(m.sum(1), lengths[labels])
    again = finetuning.length_batches(batch, torch.arange(9), batch_size=4, seed=0)
    assert all(torch.equal(next(again)[2], labels) for _, _, labels in epoch)
    with pytest.raises(ValueError, match="9 texts but 2 labels"):
        next(finetuning.length_batches(batch, torch.arange(2), batch_size=4))
