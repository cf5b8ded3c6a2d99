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
        generate(gpt, prompt, 20, temperature, top_k, use_cache, torch.Generator().manual_seed(1)) for use_cache in (True, False)
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
