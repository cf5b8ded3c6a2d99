"""flowlib.generation: sampling rules, GPT generation with and without the key/value cache, greedy decoding."""

from __future__ import annotations

import pytest
import torch

from flowlib.generation import generate, greedy_decode, sample_next
from flowlib.models import GPT, EncoderDecoder, GPTConfig, TransformerConfig


def test_temperature_zero_is_argmax() -> None:
    logits = torch.randn(4, 10)
    assert torch.equal(sample_next(logits, temperature=0), logits.argmax(-1))


def test_top_k_only_samples_the_k_most_likely() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0, -1.0]]).expand(500, -1)
    ids = sample_next(logits, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(ids.tolist()) == {1, 3}
    assert set(sample_next(logits, top_k=1).tolist()) == {1}


def test_low_temperature_sharpens_and_sampling_is_reproducible() -> None:
    logits = torch.tensor([[1.0, 2.0, 0.5]]).expand(400, -1)
    cold = sample_next(logits, temperature=0.05, generator=torch.Generator().manual_seed(0))
    assert (cold == 1).all()
    a = sample_next(logits, generator=torch.Generator().manual_seed(7))
    b = sample_next(logits, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and len(set(a.tolist())) == 3


@pytest.fixture(scope="module")
def gpt() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=30, block_size=12, n_layers=2, n_heads=2, d_model=16)).eval()


@pytest.mark.parametrize("temperature,top_k", [(0.0, None), (1.0, None), (0.8, 5)])
def test_cache_gives_the_same_tokens(gpt: GPT, temperature: float, top_k: int | None) -> None:
    prompt = torch.randint(0, 30, (3, 4))
    tokens = [
        generate(gpt, prompt, 20, temperature, top_k, use_cache, torch.Generator().manual_seed(1))
        for use_cache in (True, False)
    ]  # 24 tokens: past block_size=12, where the window slides
    assert tokens[0].shape == (3, 24)
    assert torch.equal(tokens[0][:, :4], prompt)
    assert torch.equal(tokens[0], tokens[1])


def test_gpt_generate_method_delegates(gpt: GPT) -> None:
    prompt = torch.randint(0, 30, (1, 3))
    assert torch.equal(gpt.generate(prompt, 5, temperature=0), generate(gpt, prompt, 5, temperature=0))


class ScriptedModel:
    """Stands in for an EncoderDecoder: row b emits token 5 until step eos_step[b], then EOS (2)."""

    def __init__(self, eos_step: list[int]) -> None:
        self.eos_step = eos_step
        self.config = TransformerConfig(8, 8, pad_id=0)

    def src_mask(self, src: torch.Tensor) -> None:
        return None

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        return src

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src_mask: None) -> torch.Tensor:
        logits = torch.zeros(tgt.size(0), tgt.size(1), 8)
        for b, step in enumerate(self.eos_step):
            logits[b, -1, 2 if tgt.size(1) >= step else 5] = 1.0
        return logits


def test_greedy_decode_stops_when_every_row_has_eos_and_pads_after() -> None:
    out = greedy_decode(ScriptedModel([2, 4]), torch.ones(2, 3, dtype=torch.long), max_len=10, bos_id=1, eos_id=2)
    assert out.tolist() == [[1, 5, 2, 0, 0], [1, 5, 5, 5, 2]]
    out = greedy_decode(ScriptedModel([2, 99]), torch.ones(2, 3, dtype=torch.long), max_len=4, bos_id=1, eos_id=2)
    assert out.tolist() == [[1, 5, 2, 0], [1, 5, 5, 5]]


def test_greedy_decode_agrees_with_teacher_forcing() -> None:
    torch.manual_seed(0)
    model = EncoderDecoder(TransformerConfig(8, 8, d_model=16, n_heads=2, d_ff=32, dropout=0.0)).eval()
    src = torch.randint(1, 8, (3, 5))
    out = greedy_decode(model, src, max_len=6, bos_id=1, eos_id=2)
    logits = model(src, out[:, :-1])
    for b, row in enumerate(out.tolist()):
        stop = row.index(2) if 2 in row else len(row) - 1
        assert torch.equal(logits[b, :stop].argmax(-1), out[b, 1 : stop + 1])


def rotary_gpt(block_size: int = 8) -> GPT:
    torch.manual_seed(0)
    return GPT(
        GPTConfig(vocab_size=30, block_size=block_size, n_layers=2, n_heads=2, d_model=16, positions="rotary")
    ).eval()


def test_sliding_window_cache_equals_sliding_window_attention_past_the_block() -> None:
    """Fed one token at a time far past block_size, the sliding cache gives the logits of a full pass
    whose every layer attends to the last block_size positions (a banded causal mask)."""
    from flowlib.positions import RotaryEmbedding

    model, L, W = rotary_gpt(8), 30, 8
    seq = torch.randint(0, 30, (2, L), generator=torch.Generator().manual_seed(3))
    cache = model.new_cache(window=W)
    with torch.no_grad():
        stepped = torch.cat([model(seq[:, i : i + 1], cache=cache) for i in range(L)], dim=1)
        assert all(len(c) == W for c in cache)  # never more than the window
        long_table = RotaryEmbedding(16 // 2, 4 * L)  # same angles, more positions, for the reference only
        for layer in model.stack.layers:
            layer.self_attn.rotary = long_table
        i = torch.arange(L)
        band = (i[:, None] >= i[None]) & (i[:, None] - i[None] < W)
        reference = model.lm_head(model.stack(model.tok_emb(seq), band))
    assert torch.allclose(stepped, reference, atol=1e-5)


@pytest.mark.parametrize("positions", ["rotary", "learned"])
def test_sliding_cache_equals_the_exact_cache_within_the_block(positions: str) -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layers=2, n_heads=2, d_model=16, positions=positions)).eval()
    prompt = torch.randint(0, 30, (2, 5), generator=torch.Generator().manual_seed(4))
    exact = generate(model, prompt, 11, temperature=0, use_cache=True)  # 16 tokens: exactly one block
    assert torch.equal(generate(model, prompt, 11, temperature=0, use_cache="sliding"), exact)


def test_sliding_cache_with_learned_positions_refills_from_half_a_block() -> None:
    """Learned positions cannot slide: when the cache is full the last block_size // 2 tokens are
    re-encoded. The tokens equal a no-cache loop that keeps the same context."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=8, n_layers=2, n_heads=2, d_model=16)).eval()
    prompt = torch.randint(0, 30, (2, 3), generator=torch.Generator().manual_seed(5))
    out = generate(model, prompt, 20, temperature=0, use_cache="sliding")
    idx, start = prompt, 0
    with torch.no_grad():
        for _ in range(20):
            if idx.size(1) - start > 8:
                start = idx.size(1) - 4
            idx = torch.cat([idx, model(idx[:, start:])[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert out.shape == (2, 23) and torch.equal(out, idx)


def test_sliding_cache_is_sampled_reproducibly_and_checks_its_arguments() -> None:
    model = rotary_gpt(8)
    prompt = torch.randint(0, 30, (1, 12), generator=torch.Generator().manual_seed(6))  # prompt longer than the block
    a, b = (generate(model, prompt, 20, 0.9, 5, "sliding", torch.Generator().manual_seed(1)) for _ in range(2))
    assert a.shape == (1, 32) and torch.equal(a, b) and torch.equal(a[:, :12], prompt)
    with pytest.raises(ValueError, match="use_cache must be True, False or 'sliding'"):
        generate(model, prompt, 2, use_cache="window")
    with pytest.raises(ValueError, match="window must be between 1 and block_size=8"):
        model.new_cache(window=9)
    with pytest.raises(ValueError, match="needs positions='rotary'"):
        GPT(GPTConfig(vocab_size=30, block_size=8, n_layers=1, n_heads=2, d_model=16)).new_cache(window=4)
