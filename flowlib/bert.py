"""The BERT-style encoder: token, position and segment embeddings, a post-LN Encoder stack, and its heads.

``BertEncoder`` gives one contextual vector per token; ``BertForMaskedLM`` predicts masked tokens
(pre-training); ``BertForSequenceClassification`` pools the sequence (``[CLS]`` or ``mean_pool``)
for a label or a score. Parameter names are documented per class so Hugging Face BERT weights map
one to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
from torch import Tensor

from flowlib.blocks import Activation, make_activation
from flowlib.models import Encoder, _check_ids
from flowlib.positions import LearnedPositionalEmbedding


@dataclass
class BertConfig:
    """Defaults are all-MiniLM-L6-v2 (a 6-layer BERT). BERT: post-LN, exact GELU, eps 1e-12."""

    vocab_size: int = 30522
    max_len: int = 512
    type_vocab_size: int = 2
    d_model: int = 384
    n_heads: int = 12
    n_layers: int = 6
    d_ff: int = 1536
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    activation: Activation = "gelu"
    pad_id: int = 0


class BertEncoder(nn.Module):
    """Encoder-only model: ids (batch, time) -> contextual embeddings (batch, time, d_model).

    Parameters, with HF BertModel names (``q|k|v`` weights concatenated into ``in_proj``):
      ``tok_emb`` (embeddings.word_embeddings), ``pos.weight`` (embeddings.position_embeddings),
      ``type_emb`` (embeddings.token_type_embeddings), ``emb_norm`` (embeddings.LayerNorm),
      ``stack.layers[i].self_attn.in_proj`` (cat of encoder.layer.i.attention.self.query/key/value),
      ``.self_attn.out_proj`` (attention.output.dense), ``.norm1`` (attention.output.LayerNorm),
      ``.ff.linear1`` (intermediate.dense), ``.ff.linear2`` (output.dense), ``.norm2`` (output.LayerNorm).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        c = self.config = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_id)
        self.pos = LearnedPositionalEmbedding(c.max_len, c.d_model)
        self.type_emb = nn.Embedding(c.type_vocab_size, c.d_model)
        self.emb_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.dropout)
        self.stack = Encoder(
            c.n_layers,
            c.d_model,
            c.n_heads,
            c.d_ff,
            dropout=c.dropout,
            norm_first=False,
            activation=c.activation,
            layer_norm_eps=c.layer_norm_eps,
            final_norm=False,
        )

    def forward(
        self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None
    ) -> Tensor:
        """input_ids (batch, time); token_type_ids (batch, time), default all 0; attention_mask (batch, time),
        1/True for real tokens, 0 for padding; None = attend everywhere (as Hugging Face). -> (batch, time, d_model)."""
        _check_ids(input_ids, self.config.vocab_size, "input_ids")
        for name, t in (("token_type_ids", token_type_ids), ("attention_mask", attention_mask)):
            if t is not None and t.shape != input_ids.shape:
                raise ValueError(
                    f"{name} must have the shape of input_ids {tuple(input_ids.shape)}; got {tuple(t.shape)}"
                )
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.pos(self.tok_emb(input_ids) + self.type_emb(token_type_ids))
        x = self.dropout(self.emb_norm(x))
        mask = attention_mask.bool()[:, None, None, :] if attention_mask is not None else None
        return self.stack(x, mask)


def mean_pool(hidden: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    """Average over real tokens: hidden (batch, time, d_model), attention_mask (batch, time) -> (batch, d_model)."""
    if attention_mask is None:
        return hidden.mean(dim=1)
    m = attention_mask.to(hidden.dtype)[..., None]  # (batch, time, 1)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


class BertForMaskedLM(nn.Module):
    """BertEncoder + masked-LM head: -> logits (batch, time, vocab_size) for every position.

    Head (HF ``cls.predictions``): ``head_dense`` (transform.dense), activation, ``head_norm``
    (transform.LayerNorm), ``decoder`` (decoder, weight tied to ``bert.tok_emb``; bias = predictions.bias).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = BertEncoder(config)
        self.head_dense = nn.Linear(config.d_model, config.d_model)
        self.head_act = make_activation(config.activation)
        self.head_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.d_model, config.vocab_size)
        self.decoder.weight = self.bert.tok_emb.weight

    def forward(
        self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None
    ) -> Tensor:
        h = self.bert(input_ids, token_type_ids, attention_mask)
        return self.decoder(self.head_norm(self.head_act(self.head_dense(h))))


class BertForSequenceClassification(nn.Module):
    """BertEncoder + pooled sequence vector + linear: -> (batch, n_outputs).

    Classification: n_outputs = number of classes (cross-entropy). Regression: n_outputs = 1 (MSE).
    pooling "cls": HF pooler, tanh(``pooler``([CLS] vector)) (bert.pooler.dense); "mean": ``mean_pool``
    over real tokens (sentence-transformers). Then ``dropout`` and ``classifier`` Linear(d_model, n_outputs).
    """

    def __init__(self, config: BertConfig, n_outputs: int, pooling: Literal["cls", "mean"] = "cls") -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean'; got {pooling!r}")
        self.pooling = pooling
        self.bert = BertEncoder(config)
        self.pooler = nn.Linear(config.d_model, config.d_model) if pooling == "cls" else None
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.d_model, n_outputs)

    def forward(
        self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None
    ) -> Tensor:
        h = self.bert(input_ids, token_type_ids, attention_mask)
        pooled = torch.tanh(self.pooler(h[:, 0])) if self.pooler is not None else mean_pool(h, attention_mask)
        return self.classifier(self.dropout(pooled))
