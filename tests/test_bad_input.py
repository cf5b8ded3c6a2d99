"""Bad input to the reference transformer raises an error that names what was expected and what was given."""

from __future__ import annotations

import re

import pytest
import torch

from flowlib.attention import MultiHeadAttention, padding_mask, scaled_dot_product_attention, split_heads
from flowlib.bert import BertConfig, BertEncoder, BertForSequenceClassification
from flowlib.blocks import FeedForward
from flowlib.generation import sample_next
from flowlib.models import GPT, EncoderDecoder, GPTConfig, TransformerConfig
from flowlib.positions import (
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_encoding,
)
from flowlib.vit import VisionTransformer, ViTConfig

SMALL_GPT = GPTConfig(vocab_size=20, block_size=8, n_layers=1, n_heads=2, d_model=8)


def raises(error: type[Exception], *fragments: str) -> pytest.RaisesContext:
    """Expect ``error`` whose message contains every fragment, in order."""
    return pytest.raises(error, match=".*".join(re.escape(f) for f in fragments))


def t(*shape: int) -> torch.Tensor:
    return torch.randn(*shape)


# --- attention


def test_attention_wrong_rank() -> None:
    with raises(ValueError, "q must have rank >= 2 (..., time, dim)", "got shape (4,)"):
        scaled_dot_product_attention(t(4), t(2, 4), t(2, 4))


def test_attention_mismatched_d_k() -> None:
    with raises(ValueError, "same last dim d_k", "q (1, 3, 8)", "k (1, 5, 6)"):
        scaled_dot_product_attention(t(1, 3, 8), t(1, 5, 6), t(1, 5, 6))


def test_attention_mismatched_key_value_length() -> None:
    with raises(ValueError, "same time length T_k", "k (1, 5, 8)", "v (1, 4, 8)"):
        scaled_dot_product_attention(t(1, 3, 8), t(1, 5, 8), t(1, 4, 8))


def test_attention_batch_dims_that_do_not_broadcast() -> None:
    with raises(ValueError, "leading (batch, heads) dims must match", "q (2, 3, 8)", "k (3, 5, 8)"):
        scaled_dot_product_attention(t(2, 3, 8), t(3, 5, 8), t(3, 5, 8))


def test_attention_mask_that_does_not_broadcast() -> None:
    with raises(
        ValueError, "mask must broadcast to the attention scores (..., T_q, T_k) = (2, 3, 5)", "got mask (3, 3)"
    ):
        scaled_dot_product_attention(t(2, 3, 8), t(2, 5, 8), t(2, 5, 8), torch.ones(3, 3, dtype=torch.bool))


def test_attention_mask_that_is_not_bool() -> None:
    with raises(TypeError, "mask must be a bool tensor (True = may attend)", "got torch.float32"):
        scaled_dot_product_attention(t(1, 3, 8), t(1, 3, 8), t(1, 3, 8), torch.ones(3, 3))


def test_attention_empty_batch() -> None:
    with raises(ValueError, "q must not be empty", "got shape (0, 3, 8)"):
        scaled_dot_product_attention(t(0, 3, 8), t(0, 3, 8), t(0, 3, 8))


def test_attention_input_that_is_not_a_tensor() -> None:
    with raises(TypeError, "k must be a torch.Tensor; got list"):
        scaled_dot_product_attention(t(1, 3, 8), [[1.0]], t(1, 3, 8))


def test_d_model_not_divisible_by_heads() -> None:
    with raises(ValueError, "d_model must be divisible by n_heads", "got d_model=10, n_heads=3"):
        MultiHeadAttention(10, 3)
    with raises(ValueError, "d_model must be divisible by n_heads", "got d_model=10, n_heads=4"):
        split_heads(t(1, 2, 10), 4)


def test_multi_head_attention_wrong_width_and_rank() -> None:
    mha = MultiHeadAttention(16, 4)
    with raises(ValueError, "query must have shape (batch, time, d_model=16)", "got shape (2, 5, 8)"):
        mha(t(2, 5, 8))
    with raises(ValueError, "query must have shape (batch, time, d_model=16)", "got shape (5, 16)"):
        mha(t(5, 16))
    with raises(ValueError, "key_value must have shape (batch, time, d_model=16)", "got shape (2, 5, 12)"):
        mha(t(2, 3, 16), t(2, 5, 12))
    with raises(ValueError, "same batch size", "(2, 3, 16)", "(3, 5, 16)"):
        mha(t(2, 3, 16), t(3, 5, 16))


def test_multi_head_attention_empty_batch() -> None:
    with raises(ValueError, "query is an empty batch", "got shape (0, 5, 16)"):
        MultiHeadAttention(16, 4)(t(0, 5, 16))


def test_padding_mask_wrong_rank() -> None:
    with raises(ValueError, "ids must have shape (batch, time)", "got shape (5,)"):
        padding_mask(torch.ones(5, dtype=torch.long), 0)


# --- positions


@pytest.mark.parametrize(
    "module",
    [SinusoidalPositionalEncoding(8, max_len=6), LearnedPositionalEmbedding(6, 8)],
    ids=["sinusoidal", "learned"],
)
def test_sequence_longer_than_the_position_table(module: torch.nn.Module) -> None:
    with raises(ValueError, "sequence length 7", "exceeds the position table length max_len=6"):
        module(t(1, 7, 8))
    with raises(ValueError, "sequence length 8 (offset 3 + 5 tokens)", "max_len=6"):
        module(t(1, 5, 8), offset=3)


def test_rotary_bad_input() -> None:
    with raises(ValueError, "head_dim must be even", "got head_dim=5"):
        RotaryEmbedding(5)
    with raises(ValueError, "x must have shape (..., time, head_dim=8)", "got shape (1, 2, 3, 6)"):
        RotaryEmbedding(8)(t(1, 2, 3, 6))
    with raises(ValueError, "sequence length 5", "max_len=4"):
        RotaryEmbedding(8, max_len=4)(t(1, 5, 8))


def test_sinusoidal_odd_width() -> None:
    with raises(ValueError, "d_model must be even", "got d_model=7"):
        sinusoidal_encoding(4, 7)


# --- models


def test_gpt_sequence_longer_than_block_size() -> None:
    with raises(ValueError, "sequence length 9 exceeds block_size=8"):
        GPT(SMALL_GPT)(torch.zeros(1, 9, dtype=torch.long))


def test_gpt_token_ids_of_the_wrong_kind() -> None:
    model = GPT(SMALL_GPT)
    with raises(TypeError, "idx must be an integer tensor of token ids", "got torch.float32"):
        model(torch.zeros(1, 3))
    with raises(ValueError, "idx must have shape (batch, time)", "got shape (3,)"):
        model(torch.zeros(3, dtype=torch.long))
    with raises(ValueError, "idx must not be empty", "got shape (0, 3)"):
        model(torch.zeros(0, 3, dtype=torch.long))
    with raises(ValueError, "token ids in [0, 20) (vocab_size=20)", "got ids from 0 to 25"):
        model(torch.tensor([[0, 25]]))


def test_bert_mask_of_the_wrong_shape_and_too_long() -> None:
    model = BertEncoder(BertConfig(vocab_size=30, max_len=6, d_model=8, n_heads=2, n_layers=1, d_ff=16))
    ids = torch.ones(2, 4, dtype=torch.long)
    with raises(ValueError, "attention_mask must have the shape of input_ids (2, 4)", "got (2, 5)"):
        model(ids, attention_mask=torch.ones(2, 5))
    with raises(ValueError, "sequence length 7", "max_len=6"):
        model(torch.ones(1, 7, dtype=torch.long))


def test_encoder_decoder_batch_mismatch() -> None:
    model = EncoderDecoder(TransformerConfig(10, 10, d_model=8, n_heads=2, d_ff=16))
    with raises(ValueError, "same batch size", "src (2, 3)", "tgt (3, 4)"):
        model(torch.ones(2, 3, dtype=torch.long), torch.ones(3, 4, dtype=torch.long))


def test_unknown_options() -> None:
    with raises(ValueError, "activation must be one of ['gelu', 'gelu_tanh', 'relu']", "got 'swish'"):
        FeedForward(8, 16, activation="swish")
    with raises(ValueError, "positions must be 'sinusoidal' or 'learned'", "got 'rotary'"):
        EncoderDecoder(TransformerConfig(10, 10, positions="rotary"))
    with raises(ValueError, "positions must be 'learned' or 'rotary'", "got 'sinusoidal'"):
        GPT(GPTConfig(**{**SMALL_GPT.__dict__, "positions": "sinusoidal"}))
    with raises(ValueError, "pooling must be 'cls' or 'mean'", "got 'max'"):
        BertForSequenceClassification(BertConfig(n_layers=1), 2, pooling="max")


def test_vision_transformer_image_shapes() -> None:
    with raises(ValueError, "image_size must be divisible by patch_size", "got image_size=28, patch_size=5"):
        VisionTransformer(ViTConfig(patch_size=5))
    with raises(ValueError, "images must have shape (batch >= 1, 1, 28, 28)", "got shape (2, 3, 28, 28)"):
        VisionTransformer(ViTConfig(n_layers=1))(t(2, 3, 28, 28))


# --- generation


def test_sample_next_bad_input() -> None:
    with raises(ValueError, "logits must have shape (batch, vocab)", "got shape (2, 3, 5)"):
        sample_next(t(2, 3, 5))
    with raises(ValueError, "temperature must be >= 0 (0 = greedy)", "got -1"):
        sample_next(t(2, 5), temperature=-1)
    with raises(ValueError, "top_k must be >= 1 or None", "got 0"):
        sample_next(t(2, 5), top_k=0)
