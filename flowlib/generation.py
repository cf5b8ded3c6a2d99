"""Turning next-token logits into text: sampling (temperature, top-k), greedy decoding, the GPT loop.

At inference a model produces one token at a time and feeds it back in. Call ``model.eval()``
first (dropout off); these functions do not change the model's mode and compute no gradients.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import torch
from torch import Tensor

from flowlib.attention import KVCache


class LanguageModel(Protocol):
    """What :func:`generate` needs of a model (``flowlib.models.GPT`` is one): ids (batch, T) ->
    logits (batch, T, vocab), with an optional key/value cache, and its context length."""

    @property
    def config(self) -> Any: ...  # .block_size: the longest context

    @property
    def pos(self) -> Any: ...  # the position table, or None with rotary positions (they can slide)

    def new_cache(self, window: int | None = None) -> list[KVCache]: ...

    def __call__(self, idx: Tensor, cache: list[KVCache] | None = None) -> Tensor: ...


class Seq2SeqModel(Protocol):
    """What :func:`greedy_decode` needs (``flowlib.models.EncoderDecoder`` is one)."""

    @property
    def config(self) -> Any: ...  # .pad_id: what fills a sequence after its EOS (or None)

    def encode(self, src: Tensor) -> Tensor: ...

    def src_mask(self, src: Tensor) -> Tensor | None: ...

    def decode(self, tgt: Tensor, memory: Tensor, src_mask: Tensor | None) -> Tensor: ...


def sample_next(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, generator: torch.Generator | None = None
) -> Tensor:
    """logits (batch, vocab) -> next token ids (batch,).

    temperature 0: greedy (argmax). Otherwise sample from softmax(logits / temperature), keeping only
    the top_k most likely tokens when top_k is given. Low temperature sharpens, high flattens.
    """
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (batch, vocab); got shape {tuple(logits.shape)}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy); got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1 or None; got {top_k}")
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1).values[:, -1:]  # (batch, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    model: LanguageModel,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    use_cache: bool | Literal["sliding"] = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Continue idx (batch, T) by max_new_tokens tokens -> (batch, T + max_new_tokens).

    ``use_cache``:

    * ``False``: every step runs the model on the last ``block_size`` tokens (the reference).
    * ``True``: each step feeds only the new token and reuses earlier keys/values: the same tokens
      as ``False``, far less work, but only up to ``block_size`` tokens. Past it the window of the
      last ``block_size`` tokens moves and every position in it changes, so each step recomputes it.
    * ``"sliding"``: a cache that keeps helping past ``block_size``. With rotary positions
      (``positions="rotary"``) it is a sliding-window cache: every layer attends to the keys/values
      of the last ``block_size`` tokens, each computed once, when its token came in (sliding-window
      attention, as in Mistral: not the same numbers as ``False`` past the block, where deeper
      layers would see a truncated history). With learned positions, which cannot slide, the cache
      is refilled when it is full: the last ``block_size // 2`` tokens are re-encoded in one pass
      and generation carries on from them (the model sees between half a block and a block).
    """
    if use_cache not in (True, False, "sliding"):
        raise ValueError(f"use_cache must be True, False or 'sliding'; got {use_cache!r}")
    block_size = model.config.block_size
    if use_cache == "sliding":
        return _generate_sliding(model, idx, max_new_tokens, temperature, top_k, generator)
    cache = model.new_cache() if use_cache else None
    for _ in range(max_new_tokens):
        if cache is not None and idx.size(1) <= block_size:
            logits = model(idx[:, len(cache[0]) :], cache=cache)
        else:
            logits = model(idx[:, -block_size:])
        next_id = sample_next(logits[:, -1], temperature, top_k, generator)
        idx = torch.cat([idx, next_id[:, None]], dim=1)
    return idx


def _generate_sliding(
    model: LanguageModel,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator | None,
) -> Tensor:
    block_size = model.config.block_size
    rotary = model.pos is None
    cache = model.new_cache(window=block_size) if rotary else model.new_cache()
    start = max(0, idx.size(1) - block_size)  # first token the cache holds
    fed = start  # tokens of idx already in the cache
    for _ in range(max_new_tokens):
        if not rotary and idx.size(1) - start > block_size:  # full: refill from the last half block
            start = fed = idx.size(1) - max(1, block_size // 2)
            cache = model.new_cache()
        logits = model(idx[:, fed:], cache=cache)
        fed = idx.size(1)
        next_id = sample_next(logits[:, -1], temperature, top_k, generator)
        idx = torch.cat([idx, next_id[:, None]], dim=1)
    return idx


@torch.no_grad()
def greedy_decode(model: Seq2SeqModel, src: Tensor, max_len: int, bos_id: int, eos_id: int) -> Tensor:
    """Encode src (batch, S) once, then emit the most likely token step by step -> (batch, <= max_len).

    The output starts with BOS; it stops when every sequence has produced EOS or max_len is reached.
    After a sequence's EOS, its remaining positions hold ``pad_id`` (or EOS when pad_id is None).
    """
    memory = model.encode(src)
    src_mask = model.src_mask(src)
    fill = model.config.pad_id if model.config.pad_id is not None else eos_id
    out = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    while out.size(1) < max_len and not done.all():
        next_id = model.decode(out, memory, src_mask)[:, -1].argmax(dim=-1)
        next_id = next_id.masked_fill(done, fill)
        out = torch.cat([out, next_id[:, None]], dim=1)
        done |= next_id == eos_id
    return out
