"""Offline data: a real text corpus, padding and batching, and masked-language-modelling inputs.

Everything here is deterministic: the same arguments (and seed) give the same data on
every run and every machine. The seeded synthetic tasks are in :mod:`flowlib.tasks`.

* :func:`pydoc_corpus` — Python's own documentation (~465k characters of English prose).
* :func:`split` — hold out the last part of a text, a tensor or a task's pairs.
* :func:`pad_batch`, :func:`index_batches`, :func:`tensor_batches`, :func:`lm_batches` — batching.
* :func:`mask_tokens` — masked-language-modelling inputs and labels (BERT's 80/10/10 rule).
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, TypeVar

import torch

__all__ = [
    "pydoc_corpus",
    "split",
    "Padded",
    "pad_batch",
    "index_batches",
    "tensor_batches",
    "lm_batches",
    "mask_tokens",
]


class _Sliceable(Protocol):
    """What :func:`split` cuts: a length, and a slice of the same kind (str, list, tensor, PairedData)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice, /) -> Self: ...


S = TypeVar("S", bound=_Sliceable)


# --- the text corpus -------------------------------------------------------------------


def pydoc_corpus() -> str:
    """Python's documentation topics (``pydoc_data.topics``), joined in sorted topic order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name].strip() for name in sorted(topics))


def split(data: S, val_fraction: float = 0.1) -> tuple[S, S]:
    """Split anything sliceable (str, list, tensor, :class:`~flowlib.tasks.PairedData`) into (train, val).

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


def tensor_batches(
    *tensors: torch.Tensor, batch_size: int, seed: int = 0, shuffle: bool = True
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Endless seeded mini-batches of rows of tensors that share their first dimension."""
    if not tensors:
        raise ValueError("tensor_batches needs at least one tensor; got none")
    sizes = [len(t) for t in tensors]
    if len(set(sizes)) != 1:
        raise ValueError(f"all tensors must have the same number of rows; got {sizes}")
    for index in index_batches(sizes[0], batch_size, seed, shuffle):
        yield tuple(t[index] for t in tensors)


def lm_batches(
    ids: torch.Tensor, block_size: int, batch_size: int, seed: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
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
        return operator.index(value)  # type: ignore[arg-type]  # value may be anything: index()'s TypeError is the check
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
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator, dtype=ids.dtype, device=device).to(
        ids.device
    )
    inputs = ids.clone()
    inputs[chosen & (u < 0.8)] = mask_id
    to_random = chosen & (u >= 0.8) & (u < 0.9)
    inputs[to_random] = random_ids[to_random]
    return inputs, labels
