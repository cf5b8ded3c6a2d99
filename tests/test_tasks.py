"""The seeded synthetic tasks: recall at a distance, copy/reverse/number-words pairs, a tabular regression."""

from __future__ import annotations

import pytest
import torch

from flowlib.data import split
from flowlib.tasks import (
    PairedData,
    copy_task,
    number_to_words,
    number_words_task,
    recall_task,
    reverse_task,
    tabular_regression,
)


@pytest.mark.parametrize("n_pairs", [1, 3])
def test_recall_task_answer_follows_the_key_at_the_stated_distance(n_pairs):
    data = recall_task(200, length=24, n_pairs=n_pairs, seed=3)
    keys = set(data.tokenizer.encode("ABCDEFGH"))
    for row, target, distance in zip(data.inputs.tolist(), data.targets.tolist(), data.distances.tolist(), strict=True):
        query = row[-1]
        assert query in keys and row[:-1].count(query) == 1  # the queried key appears once before
        first = row.index(query)
        assert row[first + 1] == target
        assert distance == len(row) - 2 - (first + 1)
        assert sum(token in keys for token in row[:-1]) == n_pairs  # the pair plus the distractors
    assert set(data.distances.tolist()) == set(range(22))  # every distance 0..length-3 occurs


def test_recall_task_is_seeded_and_takes_a_fixed_distance():
    a, b = recall_task(50, distance=7, seed=0), recall_task(50, distance=7, seed=0)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert (a.distances == 7).all()
    assert not torch.equal(a.inputs, recall_task(50, distance=7, seed=1).inputs)
    assert a.tokenizer.decode(a.inputs[0])[-1] == a.tokenizer.decode(a.inputs[0])[-10]  # K v <7> K


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"length": 10, "distance": 8}, r"distance must lie in 0..7 \(length - 3\) for length=10; got 8"),
        ({"n_pairs": 9}, "need 1 <= n_pairs <= n_keys"),
        ({"length": 8, "n_pairs": 4}, "too little room for 3 distractor pairs"),
    ],
)
def test_recall_task_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recall_task(4, **kwargs)


def test_copy_and_reverse_tasks():
    copy, reverse = copy_task(20, seed=5), reverse_task(20, seed=5)
    assert copy.sources == copy.targets == reverse.sources
    assert all(t == s[::-1] for s, t in zip(reverse.sources, reverse.targets, strict=True))
    assert all(3 <= len(s) <= 10 for s in copy.sources)
    assert copy.source_tokenizer.tokens[:3] == ("<pad>", "<bos>", "<eos>")
    with pytest.raises(ValueError, match="min_length <= max_length"):
        copy_task(3, min_length=5, max_length=2)


@pytest.mark.parametrize(
    ("number", "words"),
    [(0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (42, "forty two"), (100, "one hundred"),
     (105, "one hundred five"), (342, "three hundred forty two"), (999, "nine hundred ninety nine")],
)  # fmt: skip
def test_number_to_words(number, words):
    assert number_to_words(number) == words


def test_number_to_words_rejects_out_of_range():
    with pytest.raises(ValueError, match="integers 0..999; got 1000"):
        number_to_words(1000)


def test_number_words_task_batches_for_teacher_forcing():
    data = number_words_task(seed=0)
    assert len(data) == 1000 and len(set(data.sources)) == 1000
    assert data.target_tokenizer.vocab_size == 3 + 29  # specials + number words
    assert number_words_task(seed=0).sources == data.sources
    batch = data.batch([0, 1, 2, 3])
    assert batch.tgt_in.shape == batch.tgt_out.shape == batch.tgt_mask.shape
    assert (batch.tgt_in[:, 0] == data.target_tokenizer.bos_id).all()
    real = batch.tgt_mask[:, 1:]
    assert torch.equal(batch.tgt_in[:, 1:][real], batch.tgt_out[:, :-1][real])  # shifted by one
    last = batch.tgt_mask.sum(1) - 1
    assert (batch.tgt_out[torch.arange(4), last] == data.target_tokenizer.eos_id).all()
    assert (batch.tgt_in[~batch.tgt_mask] == 0).all() and (batch.src[~batch.src_mask] == 0).all()
    for i in range(4):
        words = data.target_tokenizer.decode(batch.tgt_out[i][batch.tgt_mask[i]], skip_specials=True)
        assert words == number_to_words(int(data.source_tokenizer.decode(batch.src[i], skip_specials=True)))


def test_paired_data_slices_and_iterates():
    data = copy_task(10)
    train, val = split(data, 0.2)
    assert isinstance(train, PairedData) and (len(train), len(val)) == (8, 2)
    assert next(data.batches(4, seed=0)).src.shape[0] == 4
    with pytest.raises(TypeError, match="supports slices"):
        data[0]
    with pytest.raises(ValueError, match="2 sources and 1 targets"):
        PairedData(("a", "b"), ("a",), data.source_tokenizer, data.target_tokenizer)


def test_tabular_regression_is_seeded():
    x, y = tabular_regression(100, n_features=4, seed=2)
    assert x.shape == (100, 4) and y.shape == (100,)
    assert torch.equal(tabular_regression(100, n_features=4, seed=2)[1], y)
