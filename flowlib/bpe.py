"""Byte-pair encoding (BPE), the readable reference: learn merges from a word-frequency table.

A word is a tuple of symbols, at first its characters: ``"low" -> ("l", "o", "w")``. A
*word-frequency table* maps each distinct word to how often it occurs. BPE training repeats
one step: count every pair of adjacent symbols (weighted by the word's count), pick the most
frequent pair, and merge it into one symbol everywhere. The learned merges, in order, are the
tokenizer; encoding a new word replays them.

* :func:`word_counts` — the table of a text (or of a list of pre-split words).
* :func:`pair_counts`, :func:`most_frequent_pair`, :func:`merge_pair` — one training step.
* :func:`train_bpe` — a few merges, with what each step saw.
* :func:`encode_word` — a word cut into the learned symbols.

Ties: among pairs with the same count, :func:`most_frequent_pair` picks the one that sorts
first in Python's order of ``(left, right)`` string tuples. Hugging Face's ``BpeTrainer``
breaks ties by token *id* instead (characters in code-point order, then merged tokens in the
order they were made), so the two can part ways at a tie involving a merged symbol.
Production BPE (GPT-2, ``tokenizers``) also works on bytes, not characters, so no text is unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = [
    "Word",
    "word_counts",
    "pair_counts",
    "most_frequent_pair",
    "merge_pair",
    "MergeStep",
    "train_bpe",
    "encode_word",
]

Word = tuple[str, ...]
Pair = tuple[str, str]


def _check_table(table: Mapping[Word, int]) -> None:
    if not isinstance(table, Mapping):
        raise TypeError(f"expected a word-frequency table {{('l', 'o', 'w'): 5, ...}}; got {type(table).__name__}")
    for word, count in table.items():
        if not isinstance(word, tuple) or not all(isinstance(s, str) and s for s in word):
            raise TypeError(f"each word must be a tuple of non-empty str symbols like ('l', 'o', 'w'); got {word!r}")
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"each count must be a non-negative int; got {count!r} for {word!r}")


def word_counts(text: str | Iterable[str]) -> dict[Word, int]:
    """``{word as a tuple of characters: count}``; ``text`` is a str (split on whitespace) or a list of words."""
    words = text.split() if isinstance(text, str) else list(text)
    bad = [w for w in words if not isinstance(w, str) or not w]
    if bad:
        raise TypeError(f"words must be non-empty str; got {bad[0]!r}")
    return {tuple(word): n for word, n in Counter(words).items()}


def pair_counts(table: Mapping[Word, int]) -> Counter[Pair]:
    """How often each adjacent pair of symbols occurs, each word weighted by its count.

    A pair that overlaps itself counts every position: ``("a", "a", "a")`` holds ``("a", "a")`` twice.
    """
    _check_table(table)
    counts: Counter[Pair] = Counter()
    for word, n in table.items():
        for left, right in pairwise(word):
            counts[left, right] += n
    return counts


def most_frequent_pair(table: Mapping[Word, int]) -> Pair | None:
    """The pair to merge next: the highest count; among equal counts, the smallest ``(left, right)``.

    ``None`` when no word has two symbols (an empty table, or every word one symbol).
    """
    counts = pair_counts(table)
    if not counts:
        return None
    top = max(counts.values())
    return sorted(pair for pair, n in counts.items() if n == top)[0]


def _merge_word(word: Word, pair: Pair) -> Word:
    """``word`` with each occurrence of ``pair`` made one symbol, scanning left to right."""
    out: list[str] = []
    i = 0
    while i < len(word):
        if word[i : i + 2] == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def merge_pair(table: Mapping[Word, int], pair: Pair) -> dict[Word, int]:
    """A new table in which every occurrence of ``pair`` is one symbol (the input is not changed).

    Occurrences are merged left to right without overlap (``a a a -> aa a``); words that become
    equal have their counts added.
    """
    _check_table(table)
    if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(s, str) and s for s in pair)):
        raise TypeError(f"pair must be a tuple of two non-empty str symbols like ('l', 'o'); got {pair!r}")
    merged: Counter[Word] = Counter()
    for word, n in table.items():
        merged[_merge_word(word, pair)] += n
    return dict(merged)


@dataclass(frozen=True)
class MergeStep:
    """One training step: the pair merged, its count, and how many pairs shared that count."""

    pair: Pair
    count: int
    tied: int  # 1 when the choice was unique; more when the tie-break decided


def train_bpe(
    table: Mapping[Word, int], num_merges: int, tie_break: str = "alphabetical"
) -> tuple[list[Pair], list[MergeStep], dict[Word, int]]:
    """Learn up to ``num_merges`` merges (fewer when no pair is left).

    ``tie_break="alphabetical"`` is :func:`most_frequent_pair`'s rule; ``"token_id"`` is Hugging
    Face's: the pair of smallest ``(id(left), id(right))``, where the characters get ids in
    code-point order and each merged symbol the next id when first made.
    Returns ``(merges in order, one MergeStep per merge, the final table)``.
    """
    if not isinstance(num_merges, int) or num_merges < 0:
        raise ValueError(f"num_merges must be a non-negative int; got {num_merges!r}")
    if tie_break not in ("alphabetical", "token_id"):
        raise ValueError(f"tie_break must be 'alphabetical' or 'token_id'; got {tie_break!r}")
    current, steps = dict(table), []
    ids = {c: i for i, c in enumerate(sorted({s for word in current for s in word}))}
    for _ in range(num_merges):
        counts = pair_counts(current)
        if not counts:
            break
        top = max(counts.values())
        tied = [pair for pair, n in counts.items() if n == top]
        pair = min(tied, key=lambda p: (ids[p[0]], ids[p[1]])) if tie_break == "token_id" else min(tied)
        ids.setdefault(pair[0] + pair[1], len(ids))
        steps.append(MergeStep(pair, top, len(tied)))
        current = merge_pair(current, pair)
    return [step.pair for step in steps], steps, current


def encode_word(word: str, merges: Sequence[Pair]) -> list[str]:
    """``word`` cut into symbols by replaying ``merges`` in the order they were learned."""
    if not isinstance(word, str):
        raise TypeError(f"encode_word expects a str; got {type(word).__name__}")
    symbols: Word = tuple(word)
    for left, right in merges:  # a pair given as a list works too
        if len(symbols) < 2:
            break
        symbols = _merge_word(symbols, (left, right))
    return list(symbols)
