"""flowlib <-> Hugging Face: the same weights in flowlib's models and in ``transformers``' own.

* :func:`bert_from_hf` / :func:`bert_to_hf` — flowlib's :class:`~flowlib.bert.BertForMaskedLM`
  (or :class:`~flowlib.bert.BertEncoder`) <-> ``transformers.BertForMaskedLM`` (or ``BertModel``).
* :func:`gpt_from_hf` / :func:`gpt_to_hf` — flowlib's :class:`~flowlib.models.GPT` <->
  ``transformers.GPT2LMHeadModel``.
* :func:`char_tokenizer_to_hf` — a :class:`~flowlib.tokenizers.CharTokenizer` as a
  ``PreTrainedTokenizerFast``, so ``AutoTokenizer`` and ``pipeline`` can load it from a folder.

flowlib's models use the Hugging Face parameter layout one to one (see their docstrings), so a
conversion is a renaming: BERT's query, key and value weights are concatenated into flowlib's
``in_proj``; GPT-2's ``Conv1D`` layers store ``(in, out)``, the transpose of ``nn.Linear``.
Every conversion returns a model in eval mode on the device of its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from flowlib.bert import BertConfig, BertEncoder, BertForMaskedLM
from flowlib.models import GPT, GPTConfig
from flowlib.optional import require
from flowlib.tokenizers import CharTokenizer

__all__ = ["bert_from_hf", "bert_to_hf", "gpt_from_hf", "gpt_to_hf", "char_tokenizer_to_hf"]

_HF_ACT = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}  # flowlib activation -> HF name


@dataclass(frozen=True)
class _Param:
    """One flowlib parameter and the Hugging Face parameter(s) it holds (concatenated on dim 0)."""

    ours: str
    theirs: tuple[str, ...]
    transpose: bool = False  # GPT-2's Conv1D: (in, out)


def _check_config(name: str, actual: Any, expected: Any, model: str) -> None:
    if actual != expected:
        raise ValueError(
            f"flowlib's {model} supports {name}={expected!r}; this Hugging Face model has {name}={actual!r}"
        )


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _require_transformers() -> Any:
    return require("transformers", "transformers")


def _from_hf_state(hf: dict[str, torch.Tensor], params: list[_Param]) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for p in params:
        t = torch.cat([hf[k] for k in p.theirs]) if len(p.theirs) > 1 else hf[p.theirs[0]]
        state[p.ours] = t.T if p.transpose else t
    return state


def _to_hf_state(ours: dict[str, torch.Tensor], params: list[_Param]) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for p in params:
        t = ours[p.ours].T if p.transpose else ours[p.ours]
        state.update(zip(p.theirs, (c.contiguous() for c in t.chunk(len(p.theirs))), strict=True))
    return state


def _load(model: torch.nn.Module, state: dict[str, torch.Tensor], device: torch.device) -> Any:
    """Load ``state`` (every parameter; tied copies may be absent) and return the model in eval mode."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = {name for name, p in model.named_parameters(remove_duplicate=False)} - {
        name for name, _ in model.named_parameters()
    }
    missing = [k for k in missing if k not in tied and k in dict(model.named_parameters(remove_duplicate=False))]
    if missing or unexpected:
        raise ValueError(f"weights do not fit {type(model).__name__}: missing {missing}, unexpected {unexpected}")
    return model.to(device).eval()


# --- BERT ------------------------------------------------------------------------------------


def _bert_params(n_layers: int, prefix: str, head: bool) -> list[_Param]:
    """flowlib BertEncoder (``prefix`` "" or "bert.") <-> HF BertModel (under ``bert.`` when ``head``)."""
    hf = "bert." if head else ""
    params = [
        _Param(f"{prefix}tok_emb.weight", (f"{hf}embeddings.word_embeddings.weight",)),
        _Param(f"{prefix}pos.weight", (f"{hf}embeddings.position_embeddings.weight",)),
        _Param(f"{prefix}type_emb.weight", (f"{hf}embeddings.token_type_embeddings.weight",)),
        _Param(f"{prefix}emb_norm.weight", (f"{hf}embeddings.LayerNorm.weight",)),
        _Param(f"{prefix}emb_norm.bias", (f"{hf}embeddings.LayerNorm.bias",)),
    ]
    renames = {
        "self_attn.out_proj": "attention.output.dense",
        "norm1": "attention.output.LayerNorm",
        "ff.linear1": "intermediate.dense",
        "ff.linear2": "output.dense",
        "norm2": "output.LayerNorm",
    }
    for i in range(n_layers):
        src, dst = f"{hf}encoder.layer.{i}.", f"{prefix}stack.layers.{i}."
        for kind in ("weight", "bias"):
            qkv = tuple(f"{src}attention.self.{part}.{kind}" for part in ("query", "key", "value"))
            params.append(_Param(f"{dst}self_attn.in_proj.{kind}", qkv))
            params += [_Param(f"{dst}{ours}.{kind}", (f"{src}{theirs}.{kind}",)) for ours, theirs in renames.items()]
    if head:
        params += [
            _Param("head_dense.weight", ("cls.predictions.transform.dense.weight",)),
            _Param("head_dense.bias", ("cls.predictions.transform.dense.bias",)),
            _Param("head_norm.weight", ("cls.predictions.transform.LayerNorm.weight",)),
            _Param("head_norm.bias", ("cls.predictions.transform.LayerNorm.bias",)),
            _Param("decoder.bias", ("cls.predictions.bias",)),
        ]
    return params


@torch.no_grad()
def bert_from_hf(hf_bert: Any, head: bool | None = None) -> BertEncoder | BertForMaskedLM:
    """A flowlib BERT holding the weights of a Hugging Face BERT (in eval mode).

    ``hf_bert`` is a ``BertModel`` or any ``BertFor...``. With ``head`` (default: True exactly when
    ``hf_bert`` is a ``BertForMaskedLM``) the result is a :class:`BertForMaskedLM` reproducing
    ``hf_bert(...).logits`` ``(batch, time, vocab)``; without, a :class:`BertEncoder` reproducing
    ``last_hidden_state`` ``(batch, time, d_model)`` (other heads and the pooler are not copied).
    """
    head = type(hf_bert).__name__ == "BertForMaskedLM" if head is None else head
    c = hf_bert.config
    _check_config("hidden_act", c.hidden_act, "gelu", "BERT")
    _check_config("position_embedding_type", getattr(c, "position_embedding_type", "absolute"), "absolute", "BERT")
    config = BertConfig(
        vocab_size=c.vocab_size, max_len=c.max_position_embeddings, type_vocab_size=c.type_vocab_size,
        d_model=c.hidden_size, n_heads=c.num_attention_heads, n_layers=c.num_hidden_layers,
        d_ff=c.intermediate_size, dropout=c.hidden_dropout_prob, layer_norm_eps=c.layer_norm_eps,
        pad_id=c.pad_token_id if c.pad_token_id is not None else 0,
    )  # fmt: skip
    source = hf_bert if head else hf_bert.base_model
    model = BertForMaskedLM(config) if head else BertEncoder(config)
    state = _from_hf_state(source.state_dict(), _bert_params(c.num_hidden_layers, "bert." if head else "", head))
    return _load(model, state, _device_of(hf_bert))


def _hf_bert_config(c: BertConfig) -> Any:
    return _require_transformers().BertConfig(
        vocab_size=c.vocab_size, max_position_embeddings=c.max_len, type_vocab_size=c.type_vocab_size,
        hidden_size=c.d_model, num_attention_heads=c.n_heads, num_hidden_layers=c.n_layers,
        intermediate_size=c.d_ff, hidden_dropout_prob=c.dropout, attention_probs_dropout_prob=c.dropout,
        layer_norm_eps=c.layer_norm_eps, hidden_act=_HF_ACT[c.activation], pad_token_id=c.pad_id,
        tie_word_embeddings=True,
    )  # fmt: skip


@torch.no_grad()
def bert_to_hf(model: BertForMaskedLM | BertEncoder) -> Any:
    """A Hugging Face ``BertForMaskedLM`` (from flowlib's BertForMaskedLM) or ``BertModel`` without
    pooler (from a BertEncoder) with the same weights, in eval mode: ready for ``save_pretrained``."""
    transformers = _require_transformers()
    head = isinstance(model, BertForMaskedLM)
    if not head and not isinstance(model, BertEncoder):
        raise TypeError(f"bert_to_hf needs a flowlib BertForMaskedLM or BertEncoder; got {type(model).__name__}")
    config = (model.bert if isinstance(model, BertForMaskedLM) else model).config
    _check_config("activation", config.activation, "gelu", "BERT export (Hugging Face's BERT head)")
    hf_config = _hf_bert_config(config)
    hf = transformers.BertForMaskedLM(hf_config) if head else transformers.BertModel(hf_config, add_pooling_layer=False)
    state = _to_hf_state(model.state_dict(), _bert_params(config.n_layers, "bert." if head else "", head))
    return _load(hf, state, _device_of(model))


# --- GPT-2 -----------------------------------------------------------------------------------


def _gpt_params(n_layers: int) -> list[_Param]:
    params = [
        _Param("tok_emb.weight", ("transformer.wte.weight",)),
        _Param("pos.weight", ("transformer.wpe.weight",)),
        _Param("stack.norm.weight", ("transformer.ln_f.weight",)),
        _Param("stack.norm.bias", ("transformer.ln_f.bias",)),
        _Param("lm_head.weight", ("lm_head.weight",)),
    ]
    linears = {
        "self_attn.in_proj": "attn.c_attn", "self_attn.out_proj": "attn.c_proj",
        "ff.linear1": "mlp.c_fc", "ff.linear2": "mlp.c_proj",
    }  # fmt: skip
    norms = {"norm1": "ln_1", "norm2": "ln_2"}
    for i in range(n_layers):
        src, dst = f"transformer.h.{i}.", f"stack.layers.{i}."
        for ours, theirs in linears.items():
            params.append(_Param(f"{dst}{ours}.weight", (f"{src}{theirs}.weight",), transpose=True))
            params.append(_Param(f"{dst}{ours}.bias", (f"{src}{theirs}.bias",)))
        for ours, theirs in norms.items():
            params += [_Param(f"{dst}{ours}.{kind}", (f"{src}{theirs}.{kind}",)) for kind in ("weight", "bias")]
    return params


@torch.no_grad()
def gpt_from_hf(hf_gpt2: Any) -> GPT:
    """A flowlib :class:`GPT` holding the weights of a Hugging Face ``GPT2LMHeadModel`` (in eval mode).

    GPT-2's ``c_attn`` packs W_Q, W_K, W_V side by side, which is exactly flowlib's ``in_proj`` once
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
    state = _from_hf_state(hf_gpt2.state_dict(), _gpt_params(c.n_layer))
    return _load(GPT(config), state, _device_of(hf_gpt2))


@torch.no_grad()
def gpt_to_hf(model: GPT) -> Any:
    """A Hugging Face ``GPT2LMHeadModel`` with the weights of flowlib's ``GPT`` (in eval mode).

    GPT-2's shape only: learned positions, biases, GELU (tanh), every layer pre-LN with a final
    LayerNorm (flowlib's GPT always is); rotary positions or another activation are refused.
    """
    transformers = _require_transformers()
    if not isinstance(model, GPT):
        raise TypeError(f"gpt_to_hf needs a flowlib GPT; got {type(model).__name__}")
    c = model.config
    for name, expected in (("positions", "learned"), ("activation", "gelu_tanh"), ("bias", True)):
        _check_config(name, getattr(c, name), expected, "GPT export (GPT-2's architecture)")
    hf_config = transformers.GPT2Config(
        vocab_size=c.vocab_size, n_positions=c.block_size, n_embd=c.d_model, n_layer=c.n_layers, n_head=c.n_heads,
        n_inner=c.d_ff, activation_function="gelu_new", resid_pdrop=c.dropout, embd_pdrop=c.dropout,
        attn_pdrop=c.dropout, layer_norm_epsilon=c.layer_norm_eps, tie_word_embeddings=c.tie_embeddings,
        bos_token_id=None, eos_token_id=None,
    )  # fmt: skip
    hf = transformers.GPT2LMHeadModel(hf_config)
    return _load(hf, _to_hf_state(model.state_dict(), _gpt_params(c.n_layers)), _device_of(model))


# --- tokenizers ------------------------------------------------------------------------------


def char_tokenizer_to_hf(tokenizer: CharTokenizer) -> Any:
    """A ``PreTrainedTokenizerFast`` giving the ids of ``tokenizer``: one token per character,
    decoded by joining. Its specials stay specials; an unknown character maps to ``tokenizer.unk``
    (and without one, the Hugging Face tokenizer drops it where flowlib's raises)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    transformers = _require_transformers()
    vocab = {token: i for i, token in enumerate(tokenizer.tokens)}
    hf = Tokenizer(models.WordLevel(vocab, unk_token=tokenizer.unk))
    hf.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    hf.decoder = decoders.Fuse()
    specials = list(tokenizer.specials)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=hf, unk_token=tokenizer.unk, clean_up_tokenization_spaces=False
    )
    if specials:
        fast.add_special_tokens({"additional_special_tokens": specials})
    return fast
