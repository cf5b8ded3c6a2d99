"""The whole models (flowlib.models, bert, vit, lstm): equality with torch.nn.Transformer, causality, gradient flow, the heads."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from flowlib.attention import causal_mask
from flowlib.bert import BertConfig, BertEncoder, BertForMaskedLM, BertForSequenceClassification, mean_pool
from flowlib.lstm import LSTMBaseline
from flowlib.models import GPT, Decoder, Encoder, EncoderDecoder, GPTConfig, TransformerConfig, copy_from_torch
from flowlib.vit import VisionTransformer, ViTConfig

ATOL = 1e-5
SMALL_GPT = GPTConfig(vocab_size=40, block_size=16, n_layers=2, n_heads=2, d_model=16)
SMALL_BERT = BertConfig(vocab_size=50, max_len=20, d_model=16, n_heads=2, n_layers=2, d_ff=32)


def randomise(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(std=0.3)
    return module


def assert_every_parameter_gets_a_gradient(model: nn.Module, loss: torch.Tensor) -> None:
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {name}"


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_decoder_matches_torch_transformer(norm_first: bool) -> None:
    torch.manual_seed(0)
    config = TransformerConfig(
        src_vocab_size=11, tgt_vocab_size=13, d_model=16, n_heads=4, d_ff=32, dropout=0.0, norm_first=norm_first
    )
    ref = randomise(nn.Transformer(16, 4, 2, 2, 32, dropout=0.0, batch_first=True, norm_first=norm_first))
    model = EncoderDecoder(config)
    copy_from_torch(model, ref)
    src = torch.tensor([[3, 4, 5, 6, 7], [3, 4, 5, 0, 0]])
    tgt = torch.tensor([[1, 8, 9, 10], [1, 8, 0, 0]])
    # the stacks, on the same embeddings and masks
    x, y = torch.randn(2, 5, 16), torch.randn(2, 4, 16)
    memory = ref.encoder(x, src_key_padding_mask=src == 0)
    assert torch.allclose(model.encoder(x, model.src_mask(src)), memory, atol=ATOL, rtol=0)
    expected = ref.decoder(y, memory, tgt_mask=~causal_mask(4), memory_key_padding_mask=src == 0)
    assert torch.allclose(model.decoder(y, memory, causal_mask(4), model.src_mask(src)), expected, atol=ATOL, rtol=0)

    # the whole model: flowlib embeddings + torch's stacks + flowlib head
    def embed(e, ids):
        return model.pos(e(ids) * math.sqrt(16))

    out = ref(
        embed(model.src_embed, src),
        embed(model.tgt_embed, tgt),
        tgt_mask=~causal_mask(4),
        src_key_padding_mask=src == 0,
        tgt_key_padding_mask=tgt == 0,
        memory_key_padding_mask=src == 0,
    )
    assert torch.allclose(model(src, tgt), model.lm_head(out), atol=ATOL, rtol=0)


def test_encoder_decoder_gradients_and_causality() -> None:
    torch.manual_seed(1)
    model = EncoderDecoder(TransformerConfig(9, 9, d_model=16, n_heads=2, d_ff=32, positions="learned"))
    src, tgt = torch.randint(1, 9, (2, 5)), torch.randint(1, 9, (2, 6))
    assert_every_parameter_gets_a_gradient(model, model(src, tgt).logsumexp(-1).sum())
    model.eval()
    changed = tgt.clone()
    changed[:, 3] = (tgt[:, 3] % 8) + 1
    assert torch.allclose(model(src, tgt)[:, :3], model(src, changed)[:, :3], atol=ATOL)


def test_decoder_stack_never_sees_the_future() -> None:
    dec = Decoder(2, 16, 2, 32).eval()
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 3, 16)
    changed = x.clone()
    changed[:, 2] = torch.randn(2, 16)
    assert torch.allclose(dec(x, memory, causal_mask(5))[:, :2], dec(changed, memory, causal_mask(5))[:, :2], atol=ATOL)


def test_stacks_pass_their_keywords_to_every_block() -> None:
    enc = Encoder(3, 16, 2, 32, norm_first=True, activation="gelu", bias=False, final_norm=True)
    dec = Decoder(2, 16, 2, 32, dropout=0.2, layer_norm_eps=1e-6, final_norm=False)
    assert all(layer.norm_first and layer.ff.linear1.bias is None for layer in enc.layers) and enc.norm.bias is None
    assert all(layer.self_attn.dropout == 0.2 and layer.norm3.eps == 1e-6 for layer in dec.layers) and dec.norm is None


@pytest.mark.parametrize("positions", ["learned", "rotary"])
@pytest.mark.parametrize("seed,T", [(0, 1), (1, 5), (2, 16)])
def test_gpt_never_sees_the_future(positions: str, seed: int, T: int) -> None:
    torch.manual_seed(seed)
    model = GPT(GPTConfig(**{**SMALL_GPT.__dict__, "positions": positions})).eval()
    idx = torch.randint(0, 40, (2, T))
    t = T // 2
    changed = idx.clone()
    changed[:, t] = (idx[:, t] + 1) % 40
    logits, logits_changed = model(idx), model(changed)
    assert logits.shape == (2, T, 40)
    assert torch.allclose(logits[:, :t], logits_changed[:, :t], atol=ATOL)
    assert not torch.allclose(logits[:, t:], logits_changed[:, t:], atol=ATOL)


def test_gpt_ties_embeddings_and_gets_gradients_everywhere() -> None:
    model = GPT(SMALL_GPT)
    assert model.lm_head.weight is model.tok_emb.weight
    assert GPT(GPTConfig(**{**SMALL_GPT.__dict__, "tie_embeddings": False})).lm_head.weight is not model.tok_emb.weight
    logits = model(torch.randint(0, 40, (2, 8)))
    assert_every_parameter_gets_a_gradient(
        model, nn.functional.cross_entropy(logits.view(-1, 40), torch.randint(0, 40, (16,)))
    )


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_gpt_cached_logits_equal_uncached(positions: str) -> None:
    torch.manual_seed(3)
    model = GPT(GPTConfig(**{**SMALL_GPT.__dict__, "positions": positions})).eval()
    idx = torch.randint(0, 40, (2, 12))
    full = model(idx)
    cache = model.new_cache()
    steps = [model(idx[:, :5], cache=cache)] + [model(idx[:, t : t + 1], cache=cache) for t in range(5, 12)]
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=ATOL, rtol=0)


def test_bert_padding_does_not_change_real_tokens() -> None:
    torch.manual_seed(4)
    model = BertEncoder(SMALL_BERT).eval()
    ids = torch.tensor([[2, 7, 9, 3]])
    padded = torch.tensor([[2, 7, 9, 3, 0, 0]])
    out = model(ids)
    out_padded = model(padded, attention_mask=torch.tensor([[1, 1, 1, 1, 0, 0]]))
    assert out.shape == (1, 4, 16)
    assert torch.allclose(out, out_padded[:, :4], atol=ATOL)
    assert torch.allclose(mean_pool(out_padded, torch.tensor([[1, 1, 1, 1, 0, 0]])), out.mean(1), atol=ATOL)


def test_bert_heads() -> None:
    ids, types = torch.randint(0, 50, (3, 7)), torch.randint(0, 2, (3, 7))
    mlm = BertForMaskedLM(SMALL_BERT)
    assert mlm.decoder.weight is mlm.bert.tok_emb.weight
    assert mlm(ids, types).shape == (3, 7, 50)
    classifier = BertForSequenceClassification(SMALL_BERT, n_outputs=4)
    assert classifier(ids).shape == (3, 4)
    regressor = BertForSequenceClassification(SMALL_BERT, n_outputs=1, pooling="mean")
    out = regressor(ids, attention_mask=torch.ones(3, 7))
    assert out.shape == (3, 1)
    assert_every_parameter_gets_a_gradient(classifier, classifier(ids, types).pow(2).sum())


def test_vision_transformer_shapes_and_gradients() -> None:
    model = VisionTransformer(
        ViTConfig(image_size=8, patch_size=4, in_channels=3, n_classes=5, d_model=16, n_heads=2, n_layers=1, d_ff=32)
    )
    assert model.n_patches == 4
    logits = model(torch.randn(2, 3, 8, 8))
    assert logits.shape == (2, 5)
    assert_every_parameter_gets_a_gradient(model, logits.pow(2).sum())


def test_lstm_baseline_shapes_and_causality() -> None:
    model = LSTMBaseline(vocab_size=12, d_model=8, n_outputs=3).eval()
    ids = torch.randint(0, 12, (2, 6))
    changed = ids.clone()
    changed[:, 4] = (ids[:, 4] + 1) % 12
    assert model(ids).shape == (2, 6, 3)
    assert torch.allclose(model(ids)[:, :4], model(changed)[:, :4])
