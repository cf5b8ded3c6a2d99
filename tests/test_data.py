"""Data: the corpus, the split, padding and batching, and masked-LM masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from flowlib.data import index_batches, lm_batches, mask_tokens, pad_batch, pydoc_corpus, split, tensor_batches


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
        inputs, labels = mask_tokens(
            ids, mask_id=3, vocab_size=50, special_ids=(0, 1, 2), p=0.3, generator=torch.Generator().manual_seed(seed)
        )
        assert inputs.shape == labels.shape == ids.shape and inputs.dtype == labels.dtype == torch.long
        assert torch.equal(ids, before)  # not modified in place
        chosen = labels != -100
        assert chosen.any()
        assert not (chosen & (ids <= 2)).any()  # special tokens are never chosen
        assert torch.equal(labels[chosen], ids[chosen])  # the label is the original id
        assert torch.equal(inputs[~chosen], ids[~chosen])  # only chosen positions change
    everything, _ = mask_tokens(
        ids, mask_id=3, vocab_size=50, special_ids=(0, 1, 2), p=1.0, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(everything[ids <= 2], ids[ids <= 2])
    nothing, labels = mask_tokens(ids, mask_id=3, vocab_size=50, special_ids=(0, 1, 2), p=0.0)
    assert torch.equal(nothing, ids) and (labels == -100).all()


def test_mask_tokens_statistics_follow_80_10_10():
    ids = torch.randint(10, 1000, (200, 500), generator=torch.Generator().manual_seed(2))
    ids[:, 0] = 1
    inputs, labels = mask_tokens(
        ids, mask_id=4, vocab_size=1000, special_ids=(1,), p=0.15, generator=torch.Generator().manual_seed(3)
    )
    chosen = labels != -100
    assert abs(chosen[:, 1:].float().mean().item() - 0.15) < 0.01
    x, y = inputs[chosen], ids[chosen]
    random = (x != 4) & (x != y)
    shares = torch.stack([(x == 4).float().mean(), random.float().mean(), (x == y).float().mean()])
    assert torch.allclose(shares, torch.tensor([0.8, 0.1, 0.1]), atol=0.02), shares
    assert (
        x[random].unique().numel() > 300 and 0 <= int(x[random].min()) and int(x[random].max()) < 1000
    )  # uniform over the vocabulary
    _, labels_half = mask_tokens(
        ids, mask_id=4, vocab_size=1000, special_ids=(1,), p=0.5, generator=torch.Generator().manual_seed(4)
    )
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
    assert torch.equal(
        mask_tokens(ids, 3, 50, (0, 1, 2), 0.3)[0], global_first[0]
    )  # generator=None: torch's global RNG


def test_mask_tokens_agrees_with_lesson_05_exercise_answer():
    notebook = (
        Path(__file__).resolve().parents[1] / "solutions" / "05_variants_bert_gpt_t5" / "05_variants_bert_gpt_t5.ipynb"
    )
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
        (
            (torch.ones(2, 4, dtype=torch.long), 3, 50),
            {"special_ids": 0},
            TypeError,
            "special_ids must be a collection",
        ),
        ((torch.ones(2, 4, dtype=torch.long), 3.0, 50), {}, TypeError, "mask_id must be ints; got 3.0"),
    ],
)
def test_mask_tokens_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        mask_tokens(*args, **kwargs)
