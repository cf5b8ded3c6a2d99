"""Seeded synthetic tasks: small, exact problems where a claim about a model can be measured.

Everything here is deterministic: the same arguments and seed give the same data on every
run and every machine.

* :func:`recall_task` — recall a token seen ``distance`` tokens ago (lesson 1).
* :func:`copy_task`, :func:`reverse_task`, :func:`number_words_task` — small "translations"
  for an encoder–decoder, as :class:`PairedData`.
* :func:`tabular_regression` — a task where a linear model is all you need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch

from flowlib.data import index_batches, pad_batch
from flowlib.tokenizers import BOS, EOS, PAD, CharTokenizer, Vocabulary, WordTokenizer

__all__ = [
    "RecallData",
    "recall_task",
    "Seq2SeqBatch",
    "PairedData",
    "copy_task",
    "reverse_task",
    "number_to_words",
    "number_words_task",
    "tabular_regression",
]


# --- recall at a distance (lesson 1) -----------------------------------------------------


@dataclass(frozen=True)
class RecallData:
    """Recall-at-a-distance examples.

    ``inputs`` ``(n, length)`` token ids, ending with the query key; ``targets`` ``(n,)`` the id
    of the token that followed that key earlier; ``distances`` ``(n,)`` how many tokens sit
    between that answer and the query. ``tokenizer`` names the tokens: keys are upper-case
    letters, everything else (fillers and answers) lower-case letters.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    distances: torch.Tensor
    tokenizer: CharTokenizer


def recall_task(
    n: int,
    length: int = 32,
    distance: int | tuple[int, int] | None = None,
    n_pairs: int = 1,
    n_keys: int = 8,
    n_values: int = 16,
    seed: int = 0,
) -> RecallData:
    """``n`` sequences: ``... K v <distance tokens> K`` -> answer ``v``.

    A key ``K`` (upper case) is followed by a value ``v`` (lower case); ``distance`` random
    lower-case fillers later the same key comes back as the last token (the query), and the
    answer is ``v``. ``distance`` is one int, an inclusive ``(low, high)`` range sampled per
    example, or None for every possible distance ``(0, length - 3)``. ``n_pairs - 1``
    distractor pairs with other keys sit at random free places, before or after the answer.
    """
    low, high = (0, length - 3) if distance is None else (distance, distance) if isinstance(distance, int) else distance
    if not 0 <= low <= high <= length - 3:
        raise ValueError(f"distance must lie in 0..{length - 3} (length - 3) for length={length}; got {distance}")
    if not 1 <= n_pairs <= n_keys or not 1 <= n_keys <= 26 or not 1 <= n_values <= 26:
        raise ValueError(
            f"need 1 <= n_pairs <= n_keys <= 26 and 1 <= n_values <= 26; "
            f"got n_pairs={n_pairs}, n_keys={n_keys}, n_values={n_values}"
        )
    fewest_free = min(max(length - 4 - d, 0) + max(d - 1, 0) for d in range(low, high + 1))
    if n_pairs > 1 and fewest_free < 3 * (n_pairs - 1) - 2:
        raise ValueError(
            f"length={length} leaves too little room for {n_pairs - 1} distractor pairs at distance {distance}; "
            "use a longer length or fewer pairs"
        )
    keys, values = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n_keys], "abcdefghijklmnopqrstuvwxyz"[:n_values]
    tokenizer = CharTokenizer.from_text(keys + values)
    key_ids = torch.tensor(tokenizer.encode(keys))
    value_ids = torch.tensor(tokenizer.encode(values))

    g = torch.Generator().manual_seed(seed)
    rows = torch.arange(n)
    inputs = value_ids[torch.randint(n_values, (n, length), generator=g)]
    distances = torch.randint(low, high + 1, (n,), generator=g)
    pair_keys = key_ids[torch.rand(n, n_keys, generator=g).argsort(dim=1)[:, :n_pairs]]  # distinct keys per row
    pair_values = value_ids[torch.randint(n_values, (n, n_pairs), generator=g)]

    value_pos = length - 2 - distances
    free = torch.ones(n, length, dtype=torch.bool)
    free[rows, value_pos - 1] = free[rows, value_pos] = free[:, -1] = False
    for j in range(1, n_pairs):  # distractor pairs, one at a time, where two free places follow each other
        starts = torch.multinomial((free[:, :-1] & free[:, 1:]).float(), 1, generator=g).squeeze(1)
        free[rows, starts] = free[rows, starts + 1] = False
        inputs[rows, starts], inputs[rows, starts + 1] = pair_keys[:, j], pair_values[:, j]
    inputs[rows, value_pos - 1] = pair_keys[:, 0]
    inputs[rows, value_pos] = pair_values[:, 0]
    inputs[:, -1] = pair_keys[:, 0]
    return RecallData(inputs=inputs, targets=pair_values[:, 0], distances=distances, tokenizer=tokenizer)


# --- paired sequences for an encoder–decoder (lesson 4) ---------------------------------


@dataclass(frozen=True)
class Seq2SeqBatch:
    """A padded batch for an encoder–decoder trained with teacher forcing.

    ``src`` ``(batch, src_time)``; ``tgt_in`` ``(batch, tgt_time)`` is ``<bos> y1 .. yn`` (what
    the decoder reads); ``tgt_out`` is ``y1 .. yn <eos>`` (what it must predict). Masks are
    bool, True on real tokens.
    """

    src: torch.Tensor
    src_mask: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    tgt_mask: torch.Tensor


@dataclass(frozen=True)
class PairedData:
    """Source/target text pairs and the tokenizers that turn them into ids.

    Both tokenizers have ``<pad>`` (id 0), ``<bos>`` and ``<eos>``. Slicing gives a
    :class:`PairedData` too, so :func:`~flowlib.data.split` works on it.
    """

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    source_tokenizer: Vocabulary
    target_tokenizer: Vocabulary

    def __post_init__(self) -> None:
        if len(self.sources) != len(self.targets):
            raise ValueError(
                f"need as many targets as sources; got {len(self.sources)} sources and {len(self.targets)} targets"
            )

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: slice) -> PairedData:
        if not isinstance(index, slice):
            raise TypeError(
                f"PairedData supports slices (data[:100]); got {type(index).__name__}; use .batch(indices) for tensors"
            )
        return PairedData(self.sources[index], self.targets[index], self.source_tokenizer, self.target_tokenizer)

    def batch(self, indices: Iterable[int] | torch.Tensor) -> Seq2SeqBatch:
        """Encode and pad the examples at ``indices``."""
        indices = [int(i) for i in indices]
        src_tok, tgt_tok = self.source_tokenizer, self.target_tokenizer
        src = pad_batch([src_tok.encode(self.sources[i]) for i in indices], src_tok.pad_id)
        tgt = pad_batch([tgt_tok.encode(self.targets[i], add_bos=True, add_eos=True) for i in indices], tgt_tok.pad_id)
        tgt_out = tgt.ids[:, 1:].clone()
        tgt_in = tgt.ids[:, :-1].masked_fill(tgt_out == tgt_tok.pad_id, tgt_tok.pad_id)  # drop <eos> from the input
        return Seq2SeqBatch(src=src.ids, src_mask=src.mask, tgt_in=tgt_in, tgt_out=tgt_out, tgt_mask=tgt.mask[:, 1:])

    def batches(self, batch_size: int, seed: int = 0) -> Iterator[Seq2SeqBatch]:
        """Endless seeded, shuffled mini-batches."""
        return map(self.batch, index_batches(len(self), batch_size, seed))


def _string_pairs(
    transform: Callable[[str], str], n: int, min_length: int, max_length: int, alphabet: str, seed: int
) -> PairedData:
    if not 1 <= min_length <= max_length:
        raise ValueError(f"need 1 <= min_length <= max_length; got min_length={min_length}, max_length={max_length}")
    if len(set(alphabet)) != len(alphabet) or not alphabet:
        raise ValueError(f"alphabet must be non-empty distinct characters; got {alphabet!r}")
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(min_length, max_length + 1, (n,), generator=g).tolist()
    sources = tuple(
        "".join(alphabet[i] for i in torch.randint(len(alphabet), (k,), generator=g).tolist()) for k in lengths
    )
    tokenizer = CharTokenizer.from_text(alphabet, specials=[PAD, BOS, EOS])
    return PairedData(sources, tuple(map(transform, sources)), tokenizer, tokenizer)


def copy_task(
    n: int, min_length: int = 3, max_length: int = 10, alphabet: str = "abcdefghij", seed: int = 0
) -> PairedData:
    """``n`` random strings paired with themselves: ``"cab" -> "cab"``."""
    return _string_pairs(lambda s: s, n, min_length, max_length, alphabet, seed)


def reverse_task(
    n: int, min_length: int = 3, max_length: int = 10, alphabet: str = "abcdefghij", seed: int = 0
) -> PairedData:
    """``n`` random strings paired with their reversal: ``"cab" -> "bac"``."""
    return _string_pairs(lambda s: s[::-1], n, min_length, max_length, alphabet, seed)


_ONES = (
    "zero one two three four five six seven eight nine ten "
    "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_to_words(number: int) -> str:
    """English words for 0..999: ``342 -> "three hundred forty two"``."""
    if not isinstance(number, int) or not 0 <= number <= 999:
        raise ValueError(f"number_to_words handles integers 0..999; got {number!r}")
    hundreds, rest = divmod(number, 100)
    words = [_ONES[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        words += [_TENS[rest // 10]] + ([_ONES[rest % 10]] if rest % 10 else [])
    elif rest or not hundreds:
        words.append(_ONES[rest])
    return " ".join(words)


def number_words_task(numbers: Iterable[int] = range(1000), seed: int = 0) -> PairedData:
    """Digits -> English words (``"342" -> "three hundred forty two"``), in a seeded shuffled order.

    Source tokens are the digits, target tokens the 29 number words; both tokenizers know
    every number 0..999 whatever ``numbers`` holds.
    """
    numbers = list(numbers)
    if not numbers:
        raise ValueError("number_words_task needs at least one number; got none")
    order = torch.randperm(len(numbers), generator=torch.Generator().manual_seed(seed)).tolist()
    sources = tuple(str(numbers[i]) for i in order)
    targets = tuple(number_to_words(numbers[i]) for i in order)
    source_tokenizer = CharTokenizer.from_text("0123456789", specials=[PAD, BOS, EOS])
    target_tokenizer = WordTokenizer.from_texts(map(number_to_words, range(1000)), specials=[PAD, BOS, EOS])
    return PairedData(sources, targets, source_tokenizer, target_tokenizer)


# --- a tabular task (lesson 6: when not to use a transformer) ---------------------------


def tabular_regression(
    n: int, n_features: int = 8, noise: float = 0.1, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` ``(n, n_features)`` standard normal, ``y`` ``(n,)`` = a fixed linear function + noise.

    Features have no order and no sequence: linear regression is the right model. The
    linear function depends on ``seed``: hold out data with :func:`~flowlib.data.split`, not a new seed.
    """
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(n_features, generator=g)
    x = torch.randn(n, n_features, generator=g)
    return x, x @ weights + noise * torch.randn(n, generator=g)
