"""Lesson 08's tokenizer comparison over held-out splits; save checkpoints/tokenization_splits_seeds.json.

    python recipes/tokenization_splits.py --seeds 0-7

A seed picks which tenth of the pydoc corpus's paragraphs is held out (the notebook's
``held_out_split``); every tokenizer is trained on the rest, exactly as in the notebook (byte-level
BPE with ``BpeTrainer``, WordPiece with ``WordPieceTrainer`` after ``BertPreTokenizer``), and
measured on the held-out text: tokens per 1,000 held-out characters at each vocabulary size, the
word vocabulary's unknown words, the byte-level round trip. Tokenizers are deterministic, so a seed
changes only the split. ``bf16`` changes nothing here (no floating point); it is accepted for the
claims interface.
"""

from __future__ import annotations

import random
from itertools import pairwise

import numpy as np
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers import models as hf_models

from flowlib import data
from flowlib.tokenizers import UNK, WordPieceTokenizer, WordTokenizer

NAME = "tokenization_splits"
QUICK = True  # about 3 s a split
SIZES = (256, 500, 1000, 2000, 4000, 8000)
MAJORITY_FROM = 8  # "depends on the split" is judged from this many splits on
CLAIMS = {
    "08.bpe_lengths": "BPE-8000 needs 0.2-0.3 of the characters' tokens and 3.5-5x fewer than bytes (BPE 256); "
    "each larger BPE vocabulary shortens the held-out text",
    "08.oov": "the word vocabulary misses held-out words on every split, the byte-level BPE round trip is exact",
    "08.wordpiece_500": "at 500 tokens WordPiece needs fewer tokens than BPE on every split",
    "08.wordpiece_1000_4000": "from 1,000 to 4,000 tokens WordPiece and BPE stay within 25% of each other's length",
    "08.wordpiece_depends": "at 2,000 tokens which of WordPiece and BPE is shorter depends on the split",
    "08.minilm": "MiniLM's WordPiece (30,522 pieces) needs more tokens than BPE-8000 on every split",
    "08.wordpiece_is_bpe": "WordPieceTrainer's vocabulary of 2,000 is BpeTrainer's with the '##' prefix, but for "
    "fewer than 2% of the tokens",
}


def held_out_split(text: str, seed: int, fraction: float = 0.1) -> tuple[list[str], str]:
    """(training paragraphs, held-out text): whole paragraphs, a seeded random ``fraction`` held out."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    order = list(range(len(paragraphs)))
    random.Random(seed).shuffle(order)
    held = set(order[: int(len(paragraphs) * fraction)])
    train = [p for i, p in enumerate(paragraphs) if i not in held]
    return train, "\n\n".join(p for i, p in enumerate(paragraphs) if i in held)


def train_tokenizer(kind: str, texts: list[str], vocab_size: int) -> Tokenizer:
    """The notebook's byte-level BPE (``kind="BPE"``) or WordPiece, trained on ``texts``."""
    if kind == "BPE":
        tok = Tokenizer(hf_models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
    else:
        tok = Tokenizer(hf_models.WordPiece(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=["[UNK]"], show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def train_bpe_hashes(texts: list[str], vocab_size: int) -> Tokenizer:
    """``BpeTrainer`` on WordPiece's words (``BertPreTokenizer``), '##' marking a piece inside a word."""
    tok = Tokenizer(hf_models.BPE(unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=["[UNK]"], continuing_subword_prefix="##", show_progress=False
        ),
    )
    return tok


def measure(seed: int, *, bf16: bool = False) -> dict[str, float]:
    """Tokens per 1,000 held-out characters for each tokenizer on split ``seed``, and the unknown words."""
    train, held = held_out_split(data.pydoc_corpus(), seed)
    out: dict[str, float] = {}
    exact = True
    for kind in ("BPE", "WordPiece"):
        for size in SIZES:
            tok = train_tokenizer(kind, train, size)
            ids = tok.encode(held).ids
            out[f"{kind}_{size}"] = 1000 * len(ids) / len(held)
            exact &= kind == "WordPiece" or tok.decode(ids) == held
    minilm = Tokenizer.from_str(WordPieceTokenizer().hf.backend_tokenizer.to_str())
    minilm.no_padding()
    minilm.no_truncation()
    out["MiniLM"] = 1000 * len(minilm.encode(held, add_special_tokens=False).ids) / len(held)
    wordpiece = set(train_tokenizer("WordPiece", train, 2000).get_vocab())
    out["wordpiece_not_bpe_2000"] = len(wordpiece - set(train_bpe_hashes(train, 2000).get_vocab())) / len(wordpiece)
    words = WordTokenizer.from_texts(train, unk=UNK)
    out["word_oov_share"] = float(np.mean([words.id_of(w) == words.id_of(UNK) for w in held.split()]))
    out["bpe_round_trip_exact"] = float(exact)
    return {k: round(v, 4) for k, v in out.items()}


def judge(runs: dict[int, dict[str, float]]) -> dict[str, tuple[bool, str]]:
    """Each claim of CLAIMS against the splits in ``runs``."""
    n = len(runs)

    def col(key: str) -> np.ndarray:
        return np.array([r[key] for r in runs.values()])

    chars, bytes_ratio = col("BPE_8000") / 1000, col("BPE_256") / col("BPE_8000")
    shorter = all(all(r[f"BPE_{a}"] > r[f"BPE_{b}"] for a, b in pairwise(SIZES)) for r in runs.values())
    ratio = {s: col(f"WordPiece_{s}") / col(f"BPE_{s}") for s in SIZES[1:5]}
    middle = np.concatenate([ratio[s] for s in (1000, 2000, 4000)])
    verdicts = {
        "08.bpe_lengths": (
            bool((0.2 < chars).all() and (chars < 0.3).all() and (3.5 < bytes_ratio).all() and (bytes_ratio < 5).all())
            and shorter,
            f"BPE-8000 / characters {chars.min():.3f}-{chars.max():.3f}, bytes / BPE-8000 "
            f"{bytes_ratio.min():.2f}-{bytes_ratio.max():.2f}, shorter at each size on every split: {shorter}",
        ),
        "08.oov": (
            bool((col("word_oov_share") > 0).all() and (col("bpe_round_trip_exact") == 1).all()),
            f"word OOV {col('word_oov_share').min():.1%}-{col('word_oov_share').max():.1%}, "
            f"round trip exact on {int(col('bpe_round_trip_exact').sum())} of {n}",
        ),
        "08.wordpiece_500": (
            bool((ratio[500] < 1).all()),
            f"WordPiece / BPE at 500: {ratio[500].min():.3f}-{ratio[500].max():.3f}",
        ),
        "08.wordpiece_1000_4000": (
            bool((abs(middle - 1) < 0.25).all()),
            "WordPiece / BPE: "
            + ", ".join(
                f"{s}: {ratio[s].min():.3f}-{ratio[s].max():.3f} (WordPiece shorter on {(ratio[s] < 1).sum()} of {n})"
                for s in (1000, 2000, 4000)
            ),
        ),
        "08.minilm": (
            bool((col("MiniLM") > col("BPE_8000")).all()),
            f"MiniLM / BPE-8000 {(col('MiniLM') / col('BPE_8000')).min():.2f}-{(col('MiniLM') / col('BPE_8000')).max():.2f}",
        ),
        "08.wordpiece_is_bpe": (
            bool((col("wordpiece_not_bpe_2000") < 0.02).all()),
            f"share of WordPiece-2000's tokens not in BpeTrainer's: {col('wordpiece_not_bpe_2000').min():.2%}-"
            f"{col('wordpiece_not_bpe_2000').max():.2%}",
        ),
    }
    if n >= MAJORITY_FROM:  # from fewer splits "depends on the split" is undecided: left out
        verdicts["08.wordpiece_depends"] = (
            bool(0 < (ratio[2000] < 1).sum() < n),
            f"WordPiece shorter at 2,000 on {(ratio[2000] < 1).sum()} of {n} splits",
        )
    return verdicts


if __name__ == "__main__":
    from seeded import run_recipe

    run_recipe(NAME, measure, judge, default_seeds="0-7")
