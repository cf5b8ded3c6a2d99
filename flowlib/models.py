"""The stacks of blocks and the whole models of the first lessons: the 2017 encoder-decoder and GPT.

Every transformer in flowlib is ``embeddings + stack of blocks + head``; the stacks are ``Encoder``
(self-attention blocks; a causal mask makes it GPT's decoder-only stack; ``bert`` and ``vit`` build
on it too) and ``Decoder`` (blocks with cross-attention). Parameter names are documented per class
so weights from ``torch.nn.Transformer`` (``copy_from_torch``) and Hugging Face GPT-2 map one to one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn
from torch import Tensor

from flowlib.attention import KVCache, causal_mask, combine_masks, padding_mask
from flowlib.blocks import Activation, BlockConfig, DecoderBlock, EncoderBlock
from flowlib.generation import generate
from flowlib.positions import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding


def _check_ids(ids: Tensor, vocab_size: int, name: str = "ids") -> None:
    """ids must be (batch, time) integer token ids in [0, vocab_size), with a non-empty batch."""
    if not isinstance(ids, Tensor) or ids.dtype.is_floating_point or ids.dtype == torch.bool:
        found = ids.dtype if isinstance(ids, Tensor) else type(ids).__name__
        raise TypeError(f"{name} must be an integer tensor of token ids; got {found}")
    if ids.dim() != 2:
        raise ValueError(f"{name} must have shape (batch, time); got shape {tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError(f"{name} must not be empty (batch and time >= 1); got shape {tuple(ids.shape)}")
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(
            f"{name} must be token ids in [0, {vocab_size}) (vocab_size={vocab_size}); got ids from {lo} to {hi}"
        )


class Encoder(nn.Module):
    """A stack of EncoderBlocks and an optional final LayerNorm, on embeddings (batch, time, d_model).

    Parameters: ``layers`` (ModuleList of EncoderBlock), ``norm`` (LayerNorm or None), as in
    ``torch.nn.TransformerEncoder``. Pre-LN stacks need the final norm; 2017 post-LN does not have one.
    ``options``: the rest of :class:`~flowlib.blocks.BlockConfig` by keyword (dropout, norm_first, ...).
    """

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        final_norm: bool = True,
        rotary: RotaryEmbedding | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderBlock(d_model, n_heads, d_ff, rotary=rotary, **options) for _ in range(n_layers)
        )
        self.norm = BlockConfig(d_model, n_heads, d_ff, **options).layer_norm() if final_norm else None

    def forward(self, x: Tensor, mask: Tensor | None = None, cache: list[KVCache] | None = None) -> Tensor:
        """x (batch, time, d_model); mask bool, True = may attend; cache: one KVCache per layer."""
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, cache[i] if cache is not None else None)
        return self.norm(x) if self.norm is not None else x


class Decoder(nn.Module):
    """A stack of DecoderBlocks and an optional final LayerNorm; ``layers`` and ``norm`` as in ``torch.nn.TransformerDecoder``.

    ``options``: the rest of :class:`~flowlib.blocks.BlockConfig` by keyword.
    """

    def __init__(
        self, n_layers: int, d_model: int, n_heads: int, d_ff: int, *, final_norm: bool = True, **options: Any
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderBlock(d_model, n_heads, d_ff, **options) for _ in range(n_layers))
        self.norm = BlockConfig(d_model, n_heads, d_ff, **options).layer_norm() if final_norm else None

    def forward(
        self, x: Tensor, memory: Tensor, self_mask: Tensor | None = None, memory_mask: Tensor | None = None
    ) -> Tensor:
        """x (batch, T, d_model), memory (batch, S, d_model) -> (batch, T, d_model)."""
        for layer in self.layers:
            x = layer(x, memory, self_mask, memory_mask)
        return self.norm(x) if self.norm is not None else x


# --- encoder-decoder (2017)


@dataclass
class TransformerConfig:
    """The 2017 encoder-decoder. ``final_norm=True`` mirrors ``torch.nn.Transformer`` (a LayerNorm after
    each stack); ``pad_id`` (or None) masks padding keys in both source and target."""

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 128
    n_heads: int = 4
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    d_ff: int = 512
    dropout: float = 0.1
    max_len: int = 512
    norm_first: bool = False
    final_norm: bool = True
    activation: Activation = "relu"
    layer_norm_eps: float = 1e-5
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"
    scale_embeddings: bool = True  # multiply token embeddings by sqrt(d_model), as in the paper
    pad_id: int | None = 0


class EncoderDecoder(nn.Module):
    """Source ids -> Encoder -> memory; target ids + memory -> Decoder -> next-token logits.

    Parameters: ``src_embed``, ``tgt_embed`` (nn.Embedding), ``pos`` (shared positions), ``encoder``
    (Encoder), ``decoder`` (Decoder), ``lm_head`` Linear(d_model, tgt_vocab_size).
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        c = self.config = config
        self.src_embed = nn.Embedding(c.src_vocab_size, c.d_model)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.d_model)
        if c.positions == "sinusoidal":
            self.pos: nn.Module = SinusoidalPositionalEncoding(c.d_model, c.max_len)
        elif c.positions == "learned":
            self.pos = LearnedPositionalEmbedding(c.max_len, c.d_model)
        else:
            raise ValueError(f"positions must be 'sinusoidal' or 'learned'; got {c.positions!r}")
        self.dropout = nn.Dropout(c.dropout)
        stack: dict[str, Any] = dict(  # the same for both stacks
            d_model=c.d_model,
            n_heads=c.n_heads,
            d_ff=c.d_ff,
            dropout=c.dropout,
            norm_first=c.norm_first,
            activation=c.activation,
            layer_norm_eps=c.layer_norm_eps,
            final_norm=c.final_norm,
        )
        self.encoder = Encoder(c.n_encoder_layers, **stack)
        self.decoder = Decoder(c.n_decoder_layers, **stack)
        self.lm_head = nn.Linear(c.d_model, c.tgt_vocab_size)

    def _embed(self, embedding: nn.Embedding, ids: Tensor) -> Tensor:
        x = embedding(ids)
        if self.config.scale_embeddings:
            x = x * math.sqrt(self.config.d_model)
        return self.dropout(self.pos(x))

    def src_mask(self, src: Tensor) -> Tensor | None:
        """(batch, 1, 1, S) True for real source tokens, or None when ``pad_id`` is None."""
        return padding_mask(src, self.config.pad_id) if self.config.pad_id is not None else None

    def encode(self, src: Tensor) -> Tensor:
        """src ids (batch, S) -> memory (batch, S, d_model)."""
        _check_ids(src, self.config.src_vocab_size, "src")
        return self.encoder(self._embed(self.src_embed, src), self.src_mask(src))

    def decode(self, tgt: Tensor, memory: Tensor, src_mask: Tensor | None) -> Tensor:
        """tgt ids (batch, T), memory (batch, S, d_model) -> logits (batch, T, tgt_vocab_size)."""
        _check_ids(tgt, self.config.tgt_vocab_size, "tgt")
        T = tgt.size(1)
        tgt_pad = padding_mask(tgt, self.config.pad_id) if self.config.pad_id is not None else None
        self_mask = combine_masks(causal_mask(T, tgt.device), tgt_pad)
        return self.lm_head(self.decoder(self._embed(self.tgt_embed, tgt), memory, self_mask, src_mask))

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        """Teacher forcing: src (batch, S), tgt (batch, T) (starts with BOS) -> logits (batch, T, tgt_vocab_size)."""
        if src.size(0) != tgt.size(0):
            raise ValueError(
                f"src and tgt must have the same batch size; got src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        return self.decode(tgt, self.encode(src), self.src_mask(src))


def _torch_key(name: str) -> str:
    """A torch.nn.Transformer* / MultiheadAttention parameter name -> the flowlib name."""
    name = name.replace("in_proj_weight", "in_proj.weight").replace("in_proj_bias", "in_proj.bias")
    name = name.replace("multihead_attn.", "cross_attn.")
    return name.replace("linear1.", "ff.linear1.").replace("linear2.", "ff.linear2.")


@torch.no_grad()
def copy_from_torch(target: nn.Module, source: nn.Module) -> None:
    """Copy PyTorch built-in weights into the matching flowlib module, so both compute the same numbers.

    Pairs: MultiHeadAttention <- nn.MultiheadAttention; EncoderBlock <- nn.TransformerEncoderLayer;
    DecoderBlock <- nn.TransformerDecoderLayer; Encoder <- nn.TransformerEncoder; Decoder <-
    nn.TransformerDecoder; EncoderDecoder <- nn.Transformer (its two stacks; embeddings and head
    are flowlib's own). Raises if a parameter is missing or has another shape.
    """
    if isinstance(target, EncoderDecoder):
        if not isinstance(source, nn.Transformer):
            raise TypeError(f"an EncoderDecoder copies from an nn.Transformer; got {type(source).__name__}")
        copy_from_torch(target.encoder, source.encoder)
        copy_from_torch(target.decoder, source.decoder)
        return
    state = {_torch_key(k): v for k, v in source.state_dict().items()}
    target.load_state_dict(state, strict=True)


# --- GPT (decoder-only)


@dataclass
class GPTConfig:
    """Defaults are GPT-2 small. ``d_ff=None`` means 4 * d_model."""

    vocab_size: int = 50257
    block_size: int = 1024  # longest context (the position table)
    n_layers: int = 12
    n_heads: int = 12
    d_model: int = 768
    d_ff: int | None = None
    dropout: float = 0.0
    bias: bool = True
    layer_norm_eps: float = 1e-5
    activation: Activation = "gelu_tanh"  # GPT-2's gelu_new
    tie_embeddings: bool = True  # lm_head.weight is tok_emb.weight
    positions: Literal["learned", "rotary"] = "learned"


class GPT(nn.Module):
    """Decoder-only language model: ids (batch, time) -> next-token logits (batch, time, vocab_size).

    The decoder-only stack is an ``Encoder`` (pre-LN, GELU) with a causal mask: no cross-attention.
    Parameters, with HF GPT2LMHeadModel names (Conv1D weights are transposed: use ``.weight.T``):
      ``tok_emb`` (wte), ``pos.weight`` (wpe; absent with rotary positions),
      ``stack.layers[i].norm1`` (h.i.ln_1), ``.self_attn.in_proj`` (h.i.attn.c_attn),
      ``.self_attn.out_proj`` (h.i.attn.c_proj), ``.norm2`` (h.i.ln_2), ``.ff.linear1`` (h.i.mlp.c_fc),
      ``.ff.linear2`` (h.i.mlp.c_proj), ``stack.norm`` (ln_f), ``lm_head`` (lm_head, tied to wte).
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        c = self.config = config
        d_ff = c.d_ff if c.d_ff is not None else 4 * c.d_model
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        rotary = None
        if c.positions == "learned":
            self.pos: LearnedPositionalEmbedding | None = LearnedPositionalEmbedding(c.block_size, c.d_model)
        elif c.positions == "rotary":
            self.pos, rotary = None, RotaryEmbedding(c.d_model // c.n_heads, c.block_size)
        else:
            raise ValueError(f"positions must be 'learned' or 'rotary'; got {c.positions!r}")
        self.dropout = nn.Dropout(c.dropout)
        self.stack = Encoder(
            c.n_layers,
            c.d_model,
            c.n_heads,
            d_ff,
            dropout=c.dropout,
            norm_first=True,
            activation=c.activation,
            layer_norm_eps=c.layer_norm_eps,
            final_norm=True,
            bias=c.bias,
            rotary=rotary,
        )
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.apply(self._init_weights)
        for layer in self.stack.layers:  # GPT-2: scale residual projections by 1/sqrt(2 * n_layers)
            assert isinstance(layer, EncoderBlock)
            for proj in (layer.self_attn.out_proj, layer.ff.linear2):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layers))
        if c.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def new_cache(self, window: int | None = None) -> list[KVCache]:
        """An empty key/value cache: one KVCache per layer. ``window`` (at most ``block_size``): a
        sliding-window cache that attends to the last ``window`` positions (rotary positions only)."""
        if window is not None:
            if self.pos is not None:
                raise ValueError(
                    "a sliding-window cache needs positions='rotary': learned positions are absolute and cannot slide"
                )
            if not 1 <= window <= self.config.block_size:
                raise ValueError(f"window must be between 1 and block_size={self.config.block_size}; got {window}")
        return [KVCache(window=window) for _ in self.stack.layers]

    def forward(self, idx: Tensor, cache: list[KVCache] | None = None) -> Tensor:
        """idx (batch, time) -> logits (batch, time, vocab_size).

        With ``cache`` (from ``new_cache()``), idx holds only the new tokens; earlier ones are in the cache.
        A sliding-window cache first drops its oldest entries so the window holds the new tokens.
        """
        _check_ids(idx, self.config.vocab_size, "idx")
        T = idx.size(1)
        if cache is not None and cache[0].window is not None:
            if T > cache[0].window:
                raise ValueError(f"{T} new tokens do not fit a sliding window of {cache[0].window}")
            for layer_cache in cache:
                layer_cache.trim(cache[0].window - T)
        past = len(cache[0]) if cache is not None else 0
        if past + T > self.config.block_size:
            raise ValueError(f"sequence length {past + T} exceeds block_size={self.config.block_size}")
        x = self.tok_emb(idx)
        if self.pos is not None:
            x = self.pos(x, offset=past)
        if self.dropout.p > 0:
            x = self.dropout(x)
        x = self.stack(x, causal_mask(T, idx.device, past=past), cache)
        return self.lm_head(x)

    def generate(
        self,
        idx: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        use_cache: bool | Literal["sliding"] = True,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Continue idx (batch, T) by max_new_tokens; temperature 0 = greedy. See ``generation.generate``."""
        return generate(self, idx, max_new_tokens, temperature, top_k, use_cache, generator)
