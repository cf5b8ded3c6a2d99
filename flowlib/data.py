"""Offline data: a real text corpus, seeded synthetic tasks, padding and batching.

Everything here is deterministic: the same arguments (and seed) give the same data on
every run and every machine.

* :func:`pydoc_corpus` — Python's own documentation (~465k characters of English prose).
* :func:`recall_task` — recall a token seen ``distance`` tokens ago (lesson 1).
* :func:`copy_task`, :func:`reverse_task`, :func:`number_words_task` — small "translations"
  for an encoder–decoder, as :class:`PairedData`.
* :func:`tabular_regression` — a task where a linear model is all you need.
* :func:`pad_batch`, :func:`index_batches`, :func:`tensor_batches`, :func:`lm_batches` — batching.
* :func:`mask_tokens` — masked-language-modelling inputs and labels (BERT's 80/10/10 rule).
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

from flowlib.tokenizers import BOS, EOS, PAD, CharTokenizer, Vocabulary, WordTokenizer

__all__ = [
    "pydoc_corpus",
    "split",
    "Padded",
    "pad_batch",
    "index_batches",
    "tensor_batches",
    "lm_batches",
    "mask_tokens",
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

T = TypeVar("T")


# --- the text corpus -------------------------------------------------------------------


def pydoc_corpus() -> str:
    """Python's documentation topics (``pydoc_data.topics``), joined in sorted topic order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name].strip() for name in sorted(topics))


def split(data: T, val_fraction: float = 0.1) -> tuple[T, T]:
    """Split anything sliceable (str, list, tensor, :class:`PairedData`) into (train, val).

    The split is contiguous, not shuffled: the last ``val_fraction`` is held out, so for a
    text the validation part is prose the model never saw.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive); got {val_fraction}")
    cut = round(len(data) * (1.0 - val_fraction))
    if cut == 0 or cut == len(data):
        raise ValueError(f"cannot split {len(data)} items with val_fraction={val_fraction}: one side would be empty")
    return data[:cut], data[cut:]


# --- padding and batching --------------------------------------------------------------


@dataclass(frozen=True)
class Padded:
    """Sequences padded to one length: ``ids`` ``(batch, time)``, ``lengths`` ``(batch,)``,
    ``mask`` ``(batch, time)`` bool, True on real tokens and False on padding."""

    ids: torch.Tensor
    lengths: torch.Tensor
    mask: torch.Tensor


def pad_batch(sequences: Sequence[Sequence[int] | torch.Tensor], pad_id: int) -> Padded:
    """Right-pad a list of id sequences with ``pad_id`` into a ``(batch, time)`` tensor."""
    if len(sequences) == 0:
        raise ValueError("pad_batch needs at least one sequence; got an empty batch")
    rows = [torch.as_tensor(s, dtype=torch.long) for s in sequences]
    bad = [tuple(r.shape) for r in rows if r.ndim != 1]
    if bad:
        raise ValueError(f"pad_batch expects 1-d sequences of ids (time,); got a sequence of shape {bad[0]}")
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.full((len(rows), int(lengths.max())), pad_id, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    mask = torch.arange(ids.shape[1]) < lengths[:, None]
    return Padded(ids=ids, lengths=lengths, mask=mask)


def index_batches(n: int, batch_size: int, seed: int = 0, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Endless batches of indices into ``n`` examples: each epoch is a fresh seeded shuffle.

    The last, smaller batch of an epoch is dropped so every batch has ``batch_size`` rows.
    """
    if not 0 < batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and the number of examples ({n}); got {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        yield from order[: n - n % batch_size].split(batch_size)


def tensor_batches(*tensors: torch.Tensor, batch_size: int, seed: int = 0, shuffle: bool = True) -> Iterator[tuple[torch.Tensor, ...]]:
    """Endless seeded mini-batches of rows of tensors that share their first dimension."""
    if not tensors:
        raise ValueError("tensor_batches needs at least one tensor; got none")
    sizes = [len(t) for t in tensors]
    if len(set(sizes)) != 1:
        raise ValueError(f"all tensors must have the same number of rows; got {sizes}")
    for index in index_batches(sizes[0], batch_size, seed, shuffle):
        yield tuple(t[index] for t in tensors)


def lm_batches(ids: torch.Tensor, block_size: int, batch_size: int, seed: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless random windows of a token stream for next-token prediction.

    ``ids`` is ``(n_tokens,)``; yields ``(inputs, targets)``, both ``(batch, block_size)``,
    where ``targets`` is ``inputs`` shifted one token to the left.
    """
    if ids.ndim != 1:
        raise ValueError(f"lm_batches expects a 1-d token stream (n_tokens,); got shape {tuple(ids.shape)}")
    if not 0 < block_size < len(ids):
        raise ValueError(f"block_size must be between 1 and {len(ids) - 1} (the stream length - 1); got {block_size}")
    generator = torch.Generator().manual_seed(seed)
    offsets = torch.arange(block_size + 1)
    while True:
        starts = torch.randint(len(ids) - block_size, (batch_size, 1), generator=generator)
        windows = ids[starts + offsets]
        yield windows[:, :-1], windows[:, 1:]


# --- masked language modelling (lesson 5) ---------------------------------------------

_ID_DTYPES = (torch.int16, torch.int32, torch.int64)


def _as_int(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be ints; got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be ints; got {value!r} of type {type(value).__name__}") from None


def mask_tokens(
    ids: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    special_ids: Iterable[int] = (),
    p: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One masked-language-modelling batch from token ids, by BERT's 80/10/10 rule.

    ``ids`` is ``(batch, time)`` (any shape works) of integer ids in ``0 .. vocab_size - 1``;
    it is not modified. Each position is chosen independently with probability ``p``, except
    positions whose id is in ``special_ids`` (``[CLS]``, ``[SEP]``, ``[PAD]``...), which are
    never chosen. A chosen position draws one uniform ``u``: ``u < 0.8`` -> ``mask_id``,
    ``0.8 <= u < 0.9`` -> a random id drawn uniformly from ``0 .. vocab_size - 1``, else it is
    left unchanged.

    Returns ``(inputs, labels)``, both shaped and typed like ``ids``: ``inputs`` is what the
    model reads; ``labels`` is the original id at chosen positions and ``-100`` (the index
    ``F.cross_entropy`` ignores) elsewhere. Random numbers are drawn on the CPU, in the same
    order as lesson 5's exercise (choice, then ``u``, then the random ids), from ``generator``
    (or torch's global generator when None), so a seeded generator gives the same batch as
    the exercise's answer.
    """
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"ids must be a tensor of token ids (batch, time); got {type(ids).__name__}")
    if ids.dtype not in _ID_DTYPES:
        raise TypeError(f"ids must be integer token ids (torch.long); got a tensor of dtype {ids.dtype}")
    vocab_size = _as_int(vocab_size, "vocab_size")
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int; got {vocab_size}")
    mask_id = _as_int(mask_id, "mask_id")
    if not 0 <= mask_id < vocab_size:
        raise ValueError(f"mask_id must lie in 0..{vocab_size - 1} (vocab_size - 1); got {mask_id}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p, the probability of choosing a token, must be a number between 0 and 1; got {p!r}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(
            f"ids must lie in 0..{vocab_size - 1} (vocab_size - 1); got ids from {int(ids.min())} to {int(ids.max())}"
        )
    if not isinstance(special_ids, Iterable) or isinstance(special_ids, str):
        raise TypeError(f"special_ids must be a collection of token ids, such as (0, 101, 102); got {special_ids!r}")
    specials = [_as_int(s, "special_ids") for s in special_ids]

    device = generator.device if generator is not None else torch.device("cpu")
    special = torch.isin(ids, torch.tensor(specials, dtype=ids.dtype, device=ids.device))
    chosen = (torch.rand(ids.shape, generator=generator, device=device).to(ids.device) < p) & ~special
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    u = torch.rand(ids.shape, generator=generator, device=device).to(ids.device)
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator, dtype=ids.dtype, device=device).to(ids.device)
    inputs = ids.clone()
    inputs[chosen & (u < 0.8)] = mask_id
    to_random = chosen & (u >= 0.8) & (u < 0.9)
    inputs[to_random] = random_ids[to_random]
    return inputs, labels


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
    :class:`PairedData` too, so :func:`split` works on it.
    """

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    source_tokenizer: Vocabulary
    target_tokenizer: Vocabulary

    def __post_init__(self) -> None:
        if len(self.sources) != len(self.targets):
            raise ValueError(f"need as many targets as sources; got {len(self.sources)} sources and {len(self.targets)} targets")

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: slice) -> PairedData:
        if not isinstance(index, slice):
            raise TypeError(f"PairedData supports slices (data[:100]); got {type(index).__name__}; use .batch(indices) for tensors")
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


def _string_pairs(transform: Callable[[str], str], n: int, min_length: int, max_length: int, alphabet: str, seed: int) -> PairedData:
    if not 1 <= min_length <= max_length:
        raise ValueError(f"need 1 <= min_length <= max_length; got min_length={min_length}, max_length={max_length}")
    if len(set(alphabet)) != len(alphabet) or not alphabet:
        raise ValueError(f"alphabet must be non-empty distinct characters; got {alphabet!r}")
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(min_length, max_length + 1, (n,), generator=g).tolist()
    sources = tuple("".join(alphabet[i] for i in torch.randint(len(alphabet), (k,), generator=g).tolist()) for k in lengths)
    tokenizer = CharTokenizer.from_text(alphabet, specials=[PAD, BOS, EOS])
    return PairedData(sources, tuple(map(transform, sources)), tokenizer, tokenizer)


def copy_task(n: int, min_length: int = 3, max_length: int = 10, alphabet: str = "abcdefghij", seed: int = 0) -> PairedData:
    """``n`` random strings paired with themselves: ``"cab" -> "cab"``."""
    return _string_pairs(lambda s: s, n, min_length, max_length, alphabet, seed)


def reverse_task(n: int, min_length: int = 3, max_length: int = 10, alphabet: str = "abcdefghij", seed: int = 0) -> PairedData:
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


def tabular_regression(n: int, n_features: int = 8, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` ``(n, n_features)`` standard normal, ``y`` ``(n,)`` = a fixed linear function + noise.

    Features have no order and no sequence: linear regression is the right model. The
    linear function depends on ``seed``: hold out data with :func:`split`, not a new seed.
    """
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(n_features, generator=g)
    x = torch.randn(n, n_features, generator=g)
    return x, x @ weights + noise * torch.randn(n, generator=g)
