"""flowlib.attention computes the same numbers as PyTorch's attention kernels and nn.MultiheadAttention."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from flowlib.attention import (
    KVCache,
    MultiHeadAttention,
    causal_mask,
    combine_masks,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    split_heads,
)
from flowlib.models import copy_from_torch
from flowlib.positions import RotaryEmbedding

ATOL = 1e-5
SHAPES = [(1, 1, 1, 1, 4, 4), (2, 3, 5, 5, 8, 8), (3, 2, 4, 7, 16, 6), (2, 4, 9, 3, 8, 12)]  # B, H, T_q, T_k, d_k, d_v


def qkv(seed: int, B: int, H: int, Tq: int, Tk: int, dk: int, dv: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, H, Tq, dk, generator=g),
        torch.randn(B, H, Tk, dk, generator=g),
        torch.randn(B, H, Tk, dv, generator=g),
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_torch_without_mask(shape: tuple[int, ...], seed: int) -> None:
    q, k, v = qkv(seed, *shape)
    out, weights = scaled_dot_product_attention(q, k, v)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=ATOL, rtol=0)
    assert weights.shape == (*shape[:3], shape[3])
    assert torch.allclose(weights.sum(-1), torch.ones(()), atol=ATOL)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mask_shape", ["full", "per_batch", "per_key"])
def test_matches_torch_with_bool_mask(shape: tuple[int, ...], mask_shape: str) -> None:
    B, H, Tq, Tk = shape[:4]
    q, k, v = qkv(2, *shape)
    g = torch.Generator().manual_seed(3)
    size = {"full": (B, H, Tq, Tk), "per_batch": (B, 1, Tq, Tk), "per_key": (B, 1, 1, Tk)}[mask_shape]
    mask = torch.rand(size, generator=g) > 0.4
    mask[..., 0] = True  # every query may attend somewhere
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL, rtol=0)


@pytest.mark.parametrize("T", [1, 2, 7, 16])
def test_causal_matches_torch_is_causal(T: int) -> None:
    q, k, v = qkv(4, 2, 2, T, T, 8, 8)
    out, weights = scaled_dot_product_attention(q, k, v, causal_mask(T))
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=ATOL, rtol=0)
    assert torch.all(weights.triu(diagonal=1) == 0)


@pytest.mark.parametrize("shape", SHAPES)
def test_fused_path_equals_explicit_path(shape: tuple[int, ...]) -> None:
    q, k, v = qkv(5, *shape)
    mask = torch.rand(shape[2], shape[3], generator=torch.Generator().manual_seed(0)) > 0.3
    mask[:, 0] = True
    explicit, _ = scaled_dot_product_attention(q, k, v, mask)
    fused, weights = scaled_dot_product_attention(q, k, v, mask, need_weights=False)
    assert weights is None
    assert torch.allclose(explicit, fused, atol=ATOL, rtol=0)


def test_fully_masked_row_gives_zeros_not_nan_in_both_paths() -> None:
    q, k, v = (t.requires_grad_() for t in qkv(6, 1, 1, 3, 4, 8, 8))
    mask = torch.tensor([[True, False, True, False], [False] * 4, [True] * 4])
    for need_weights in (True, False):
        out, weights = scaled_dot_product_attention(q, k, v, mask, need_weights=need_weights)
        assert torch.equal(out[0, 0, 1], torch.zeros(8))
        assert not out.isnan().any()
        if weights is not None:
            assert torch.equal(weights[0, 0, 1], torch.zeros(4))
        out.sum().backward()
        assert all(not t.grad.isnan().any() for t in (q, k, v))


def test_dropout_in_explicit_path_drops_weights() -> None:
    q, k, v = qkv(7, 2, 2, 16, 16, 8, 8)
    torch.manual_seed(0)
    _, weights = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert (weights == 0).float().mean() > 0.3


def test_masks() -> None:
    assert torch.equal(causal_mask(3), torch.tensor([[True, False, False], [True, True, False], [True, True, True]]))
    assert torch.equal(causal_mask(2, past=2), torch.tensor([[True, True, True, False], [True, True, True, True]]))
    ids = torch.tensor([[5, 6, 0], [7, 0, 0]])
    pm = padding_mask(ids, pad_id=0)
    assert pm.shape == (2, 1, 1, 3) and pm.dtype == torch.bool
    assert torch.equal(pm[:, 0, 0], torch.tensor([[True, True, False], [True, False, False]]))
    both = combine_masks(causal_mask(3), None, pm)
    assert both.shape == (2, 1, 3, 3)
    assert torch.equal(both[1, 0], torch.tensor([[True, False, False]] * 3))
    assert combine_masks(None, None) is None


def test_split_and_merge_heads() -> None:
    x = torch.randn(2, 5, 12)
    h = split_heads(x, 3)
    assert h.shape == (2, 3, 5, 4)
    assert torch.equal(h[1, 2, 4], x[1, 4, 8:12])  # head 2 = the third contiguous slice of d_model
    assert torch.equal(merge_heads(h), x)


def make_pair(
    d_model: int, n_heads: int, bias: bool = True, seed: int = 0
) -> tuple[MultiHeadAttention, nn.MultiheadAttention]:
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True)
    nn.init.normal_(ref.in_proj_weight, std=0.3)  # torch zero-initialises biases: randomise them too
    for p in (ref.in_proj_bias, ref.out_proj.bias) if bias else ():
        nn.init.normal_(p, std=0.3)
    ours = MultiHeadAttention(d_model, n_heads, bias=bias)
    copy_from_torch(ours, ref)
    return ours.eval(), ref.eval()


@pytest.mark.parametrize("B,T,d_model,n_heads", [(1, 1, 8, 1), (2, 5, 16, 4), (3, 9, 24, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_mha_self_attention_matches_torch(B: int, T: int, d_model: int, n_heads: int, bias: bool) -> None:
    ours, ref = make_pair(d_model, n_heads, bias)
    x = torch.randn(B, T, d_model)
    expected, expected_w = ref(x, x, x, average_attn_weights=False)
    out, weights = ours(x, return_weights=True)
    assert torch.allclose(out, expected, atol=ATOL, rtol=0)
    assert torch.allclose(weights, expected_w, atol=ATOL, rtol=0)
    assert torch.allclose(ours(x), expected, atol=ATOL, rtol=0)  # fused path


@pytest.mark.parametrize("Tq,Tk", [(3, 7), (6, 2), (1, 5)])
def test_mha_cross_attention_with_padding_matches_torch(Tq: int, Tk: int) -> None:
    ours, ref = make_pair(16, 4, seed=1)
    query, memory = torch.randn(2, Tq, 16), torch.randn(2, Tk, 16)
    ids = torch.tensor([[1] * Tk, [1] * (Tk - Tk // 2) + [0] * (Tk // 2)])
    expected, _ = ref(query, memory, memory, key_padding_mask=ids == 0)
    mask = padding_mask(ids, 0)
    assert torch.allclose(ours(query, memory, mask=mask), expected, atol=ATOL, rtol=0)
    out, _ = ours(query, memory, mask=mask, return_weights=True)
    assert torch.allclose(out, expected, atol=ATOL, rtol=0)


def test_mha_causal_and_padding_matches_torch() -> None:
    ours, ref = make_pair(16, 2, seed=2)
    x = torch.randn(3, 6, 16)
    ids = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])
    expected, _ = ref(x, x, x, attn_mask=~causal_mask(6), key_padding_mask=ids == 0)
    assert torch.allclose(
        ours(x, mask=combine_masks(causal_mask(6), padding_mask(ids, 0))), expected, atol=ATOL, rtol=0
    )


def test_store_weights_keeps_last_weights() -> None:
    mha = MultiHeadAttention(16, 4, store_weights=True).eval()
    out = mha(torch.randn(2, 3, 16), torch.randn(2, 5, 16))
    assert out.shape == (2, 3, 16)
    assert mha.last_weights.shape == (2, 4, 3, 5) and not mha.last_weights.requires_grad
    assert torch.allclose(mha.last_weights.sum(-1), torch.ones(()), atol=ATOL)


@pytest.mark.parametrize("rotary", [False, True])
def test_kv_cache_step_by_step_equals_full_causal(rotary: bool) -> None:
    torch.manual_seed(3)
    mha = MultiHeadAttention(16, 4, rotary=RotaryEmbedding(4, 32) if rotary else None).eval()
    x = torch.randn(2, 7, 16)
    full = mha(x, mask=causal_mask(7))
    cache = KVCache()
    first = mha(x[:, :3], mask=causal_mask(3), cache=cache)  # prefill three tokens, then one at a time
    steps = [first] + [mha(x[:, t : t + 1], mask=causal_mask(1, past=t), cache=cache) for t in range(3, 7)]
    assert len(cache) == 7
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=ATOL, rtol=0)


def test_mha_gradients_reach_every_parameter_and_input() -> None:
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 4, 8, requires_grad=True)
    mha(x, mask=causal_mask(4)).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in mha.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_mha_runs_on_the_device_of_its_inputs() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    mha = MultiHeadAttention(8, 2).to(device)
    x = torch.randn(1, 3, 8, device=device)
    assert mha(x, mask=causal_mask(3, device)).device == x.device


def test_default_call_uses_the_fused_kernel_and_computes_weights_only_on_demand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flowlib.attention as attention_module

    q, k, v = qkv(8, 2, 3, 6, 6, 8, 8)
    calls = []
    monkeypatch.setattr(attention_module, "_weights", lambda *a: calls.append(1) or _explicit_weights(*a))
    result = scaled_dot_product_attention(q, k, v, causal_mask(6))
    out = result[0]
    assert calls == []  # [0] alone: the fused kernel, no (T, T) weights
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=ATOL, rtol=0)
    out2, weights = result  # unpacking still gives the weights, as before
    assert calls == [1] and out2 is out and len(result) == 2
    assert torch.allclose(weights @ v, out, atol=ATOL, rtol=0)
    assert torch.all(weights.triu(diagonal=1) == 0)
    assert result[1] is weights and result.weights is weights and calls == [1]  # computed once


def _explicit_weights(q, k, mask):
    s = (
        (q @ k.transpose(-2, -1) / q.size(-1) ** 0.5).masked_fill(~mask, float("-inf"))
        if mask is not None
        else q @ k.transpose(-2, -1) / q.size(-1) ** 0.5
    )
    return torch.softmax(s, -1)


def test_causal_mask_takes_the_is_causal_kernel_and_other_masks_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    q, k, v = qkv(9, 1, 2, 5, 5, 4, 4)
    seen = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(
        F, "scaled_dot_product_attention", lambda *a, **kw: seen.append(kw.get("is_causal", False)) or real(*a, **kw)
    )
    mask = causal_mask(5)
    a, _ = scaled_dot_product_attention(q, k, v, mask, need_weights=False)
    b, _ = scaled_dot_product_attention(q, k, v, mask.clone(), need_weights=False)  # same values, not known causal
    c, _ = scaled_dot_product_attention(q[..., 1:, :], k, v, causal_mask(4, past=1), need_weights=False)  # with a cache
    assert seen == [True, False, False]
    assert torch.allclose(a, b, atol=ATOL, rtol=0)


def test_kv_cache_trim_keeps_the_newest_positions() -> None:
    cache = KVCache(window=3)
    k = torch.arange(5.0).view(1, 1, 5, 1)
    cache.append(k, k)
    cache.trim(2)
    assert len(cache) == 2 and cache.k.flatten().tolist() == [3.0, 4.0]
    cache.trim(4)  # nothing to drop
    assert len(cache) == 2
