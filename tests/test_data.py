"""Data: the corpus, padding and batching, and the seeded synthetic tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from flowlib.data import (
    PairedData,
    copy_task,
    index_batches,
    lm_batches,
    mask_tokens,
    number_to_words,
    number_words_task,
    pad_batch,
    pydoc_corpus,
    recall_task,
    reverse_task,
    split,
    tabular_regression,
    tensor_batches,
)


def test_pydoc_corpus_is_real_text_in_a_fixed_order():
    text = pydoc_corpus()
    assert 400_000 < len(text) < 600_000
    assert text.startswith('The "assert" statement')
    assert pydoc_corpus() == text


def test_split_is_contiguous():
    train, val = split("abcdefghij", 0.2)
    assert (train, val) == ("abcdefgh", "ij")
    train, val = split(torch.arange(10), 0.3)
    assert train.tolist() == list(range(7)) and val.tolist() == [7, 8, 9]
    with pytest.raises(ValueError, match="between 0 and 1 .*got 1.5"):
        split("abc", 1.5)
    with pytest.raises(ValueError, match="cannot split 2 items"):
        split("ab", 0.1)


def test_pad_batch_pads_right_and_masks_real_tokens():
    padded = pad_batch([[5, 6, 7], [8], torch.tensor([9, 9])], pad_id=0)
    assert padded.ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 9, 0]]
    assert padded.lengths.tolist() == [3, 1, 2]
    assert padded.mask.tolist() == [[True] * 3, [True, False, False], [True, True, False]]
    with pytest.raises(ValueError, match="at least one sequence; got an empty batch"):
        pad_batch([], pad_id=0)
    with pytest.raises(ValueError, match=r"1-d sequences .* shape \(2, 2\)"):
        pad_batch([[[1, 2], [3, 4]]], pad_id=0)


def test_index_batches_cover_each_epoch_and_are_seeded():
    stream = index_batches(10, 3, seed=1)
    epoch = torch.cat([next(stream) for _ in range(3)])
    assert len(set(epoch.tolist())) == 9  # 10 % 3 = 1 example dropped per epoch
    again = index_batches(10, 3, seed=1)
    assert torch.equal(torch.cat([next(again) for _ in range(3)]), epoch)
    with pytest.raises(ValueError, match=r"between 1 and the number of examples \(10\); got 11"):
        next(index_batches(10, 11))


def test_tensor_batches_keep_rows_together():
    x, y = torch.arange(8), torch.arange(8) * 10
    bx, by = next(tensor_batches(x, y, batch_size=4, seed=0))
    assert torch.equal(by, bx * 10) and len(bx) == 4
    with pytest.raises(ValueError, match=r"same number of rows; got \[8, 3\]"):
        next(tensor_batches(x, torch.arange(3), batch_size=2))


def test_lm_batches_targets_are_inputs_shifted_by_one():
    x, y = next(lm_batches(torch.arange(100), block_size=8, batch_size=4, seed=0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="block_size must be between 1 and 9"):
        next(lm_batches(torch.arange(10), block_size=10, batch_size=1))
    with pytest.raises(ValueError, match=r"1-d token stream .* shape \(2, 5\)"):
        next(lm_batches(torch.zeros(2, 5, dtype=torch.long), 2, 1))


@pytest.mark.parametrize("n_pairs", [1, 3])
def test_recall_task_answer_follows_the_key_at_the_stated_distance(n_pairs):
    data = recall_task(200, length=24, n_pairs=n_pairs, seed=3)
    keys = set(data.tokenizer.encode("ABCDEFGH"))
    for row, target, distance in zip(data.inputs.tolist(), data.targets.tolist(), data.distances.tolist()):
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
    assert all(t == s[::-1] for s, t in zip(reverse.sources, reverse.targets))
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


# --- mask_tokens (lesson 5's masked-language-modelling exercise) ---------------------------


def _special_batch() -> torch.Tensor:
    """(8, 40) ids: [CLS]=1 first, [SEP]=2, then padding=0; ordinary ids 5..49."""
    ids = torch.randint(5, 50, (8, 40), generator=torch.Generator().manual_seed(0))
    ids[:, 0], ids[:, -5], ids[:, -4:] = 1, 2, 0
    return ids


def test_mask_tokens_rules_hold_for_every_draw():
    ids = _special_batch()
    before = ids.clone()
    for seed in range(5):
        inputs, labels = mask_tokens(ids, mask_id=3, vocab_size=50, special_ids=(0, 1, 2), p=0.3, generator=torch.Generator().manual_seed(seed))
        assert inputs.shape == labels.shape == ids.shape and inputs.dtype == labels.dtype == torch.long
        assert torch.equal(ids, before)  # not modified in place
        chosen = labels != -100
        assert chosen.any()
        assert not (chosen & (ids <= 2)).any()  # special tokens are never chosen
        assert torch.equal(labels[chosen], ids[chosen])  # the label is the original id
        assert torch.equal(inputs[~chosen], ids[~chosen])  # only chosen positions change
    everything, _ = mask_tokens(ids, mask_id=3, vocab_size=50, special_ids=(0, 1, 2), p=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(everything[ids <= 2], ids[ids <= 2])
    nothing, labels = mask_tokens(ids, mask_id=3, vocab_size=50, special_ids=(0, 1, 2), p=0.0)
    assert torch.equal(nothing, ids) and (labels == -100).all()


def test_mask_tokens_statistics_follow_80_10_10():
    ids = torch.randint(10, 1000, (200, 500), generator=torch.Generator().manual_seed(2))
    ids[:, 0] = 1
    inputs, labels = mask_tokens(ids, mask_id=4, vocab_size=1000, special_ids=(1,), p=0.15, generator=torch.Generator().manual_seed(3))
    chosen = labels != -100
    assert abs(chosen[:, 1:].float().mean().item() - 0.15) < 0.01
    x, y = inputs[chosen], ids[chosen]
    random = (x != 4) & (x != y)
    shares = torch.stack([(x == 4).float().mean(), random.float().mean(), (x == y).float().mean()])
    assert torch.allclose(shares, torch.tensor([0.8, 0.1, 0.1]), atol=0.02), shares
    assert x[random].unique().numel() > 300 and 0 <= int(x[random].min()) and int(x[random].max()) < 1000  # uniform over the vocabulary
    _, labels_half = mask_tokens(ids, mask_id=4, vocab_size=1000, special_ids=(1,), p=0.5, generator=torch.Generator().manual_seed(4))
    assert abs((labels_half[:, 1:] != -100).float().mean().item() - 0.5) < 0.01


def test_mask_tokens_is_seeded():
    ids = _special_batch()
    first = mask_tokens(ids, 3, 50, (0, 1, 2), 0.3, generator=torch.Generator().manual_seed(7))
    again = mask_tokens(ids, 3, 50, (0, 1, 2), 0.3, generator=torch.Generator().manual_seed(7))
    other = mask_tokens(ids, 3, 50, (0, 1, 2), 0.3, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], other[1])
    torch.manual_seed(5)
    global_first = mask_tokens(ids, 3, 50, (0, 1, 2), 0.3)
    torch.manual_seed(5)
    assert torch.equal(mask_tokens(ids, 3, 50, (0, 1, 2), 0.3)[0], global_first[0])  # generator=None: torch's global RNG


def test_mask_tokens_agrees_with_lesson_05_exercise_answer():
    notebook = Path(__file__).resolve().parents[1] / "solutions" / "05_variants_bert_gpt_t5" / "05_variants_bert_gpt_t5.ipynb"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    (answer,) = [c for c in cells if c.get("id") == "05_mask_tokens"]
    namespace = {"torch": torch}
    exec("".join(answer["source"]), namespace)
    ids = _special_batch()
    for seed, p in [(0, 0.15), (1, 0.3), (2, 0.9)]:
        expected = namespace["mask_tokens"](ids, 3, 50, (0, 1, 2), p, generator=torch.Generator().manual_seed(seed))
        actual = mask_tokens(ids, 3, 50, (0, 1, 2), p, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(actual[0], expected[0]) and torch.equal(actual[1], expected[1])


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([[5, 6]], 3, 50), {}, TypeError, "ids must be a tensor of token ids"),
        ((torch.rand(2, 4), 3, 50), {}, TypeError, "integer token ids .*float32"),
        ((torch.ones(2, 4, dtype=torch.long), 3, 50), {"p": 1.5}, ValueError, "between 0 and 1; got 1.5"),
        ((torch.ones(2, 4, dtype=torch.long), 3, 50), {"p": -0.1}, ValueError, "between 0 and 1; got -0.1"),
        ((torch.ones(2, 4, dtype=torch.long), 3, 0), {}, ValueError, "vocab_size must be a positive int; got 0"),
        ((torch.ones(2, 4, dtype=torch.long), 50, 50), {}, ValueError, "mask_id must lie in 0..49"),
        ((torch.full((2, 4), 50), 3, 50), {}, ValueError, "ids must lie in 0..49 .*got ids from 50 to 50"),
        ((torch.ones(2, 4, dtype=torch.long), 3, 50), {"special_ids": 0}, TypeError, "special_ids must be a collection"),
        ((torch.ones(2, 4, dtype=torch.long), 3.0, 50), {}, TypeError, "mask_id must be ints; got 3.0"),
    ],
)
def test_mask_tokens_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        mask_tokens(*args, **kwargs)
