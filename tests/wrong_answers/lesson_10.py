"""Known-wrong answers to lesson 10 (generation and the key/value cache): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_HEAD = "def attend_with_cache(q_new, k_new, v_new, cache_k, cache_v):\n"
_GROW = "    keys = torch.cat([cache_k, k_new], dim=-2)\n    values = torch.cat([cache_v, v_new], dim=-2)\n"
_EMPTY, _ONE, _SEVERAL, _HIDDEN = (
    f"10_attend_with_cache_tests_{name}" for name in ("empty", "one", "several", "hidden")
)

CASES = [
    WrongAnswer(
        answer_id="10_attend_with_cache",
        source=_HEAD
        + _GROW
        + "    return F.scaled_dot_product_attention(q_new, keys, values), keys, values\n",  # no mask at all
        fails=[_EMPTY, _SEVERAL, _HIDDEN],
        message="no causal mask among the new tokens",
        passes=[_ONE],  # one new token may see every key: no mask is needed
    ),
    WrongAnswer(
        answer_id="10_attend_with_cache",
        source=_HEAD
        + _GROW
        + "    return F.scaled_dot_product_attention(q_new, keys, values, is_causal=True), keys, values\n",
        fails=[_ONE, _SEVERAL, _HIDDEN],
        message="top-left causal mask",
        passes=[_EMPTY],  # with an empty cache the square mask is right
    ),
    WrongAnswer(
        answer_id="10_attend_with_cache",
        source=_HEAD
        + _GROW
        + "    out = F.scaled_dot_product_attention(q_new, k_new, v_new, is_causal=True)\n    return out, keys, values\n",
        fails=[_ONE, _SEVERAL, _HIDDEN],
        message="the cache was ignored",
        passes=[_EMPTY],
    ),
    WrongAnswer(
        answer_id="10_attend_with_cache",
        source=(
            _HEAD
            + "    keys = torch.cat([k_new, cache_k], dim=-2)\n    values = torch.cat([v_new, cache_v], dim=-2)\n"  # new entries first
            + "    return F.scaled_dot_product_attention(q_new, keys, values), keys, values\n"
        ),
        fails=[_ONE, _SEVERAL, _HIDDEN],
        message="The old entries come first",
    ),
    WrongAnswer(
        answer_id="10_attend_with_cache",
        source=(
            _HEAD
            + _GROW
            + "    mask = torch.ones(q_new.size(-2), keys.size(-2), dtype=torch.bool).tril(diagonal=keys.size(-2) - q_new.size(-2))\n"
            + "    out = F.scaled_dot_product_attention(q_new, keys, values, attn_mask=mask)\n"
            + "    return out, cache_k, cache_v\n"  # the cache is not grown
        ),
        fails=[_EMPTY, _ONE, _SEVERAL, _HIDDEN],
        message="the returned cache_k",
    ),
    WrongAnswer(
        answer_id="10_attend_with_cache",
        source=(
            _HEAD
            + _GROW
            + "    mask = torch.ones(q_new.size(-2), keys.size(-2), dtype=torch.bool).tril(diagonal=keys.size(-2) - q_new.size(-2))\n"
            + "    scores = (q_new @ keys.transpose(-2, -1)).masked_fill(~mask, float('-inf'))\n"  # no 1/sqrt(head_dim)
            + "    return torch.softmax(scores, dim=-1) @ values, keys, values\n"
        ),
        fails=[_EMPTY, _ONE, _SEVERAL, _HIDDEN],
        message="not divided by √head_dim",
    ),
]
