"""Known-wrong answers to lesson 04 (transformer block and encoder-decoder): each must lose the right points."""

from tests.wrong_answers import WrongAnswer


def _mask(causal: str, combine: str = "causal & keys_real", keys: str = "(tgt_ids != pad_id)[:, None, None, :]") -> str:
    return (
        "def decoder_mask(tgt_ids, pad_id):\n"
        "    T = tgt_ids.size(1)\n"
        f"    causal = {causal}\n"
        f"    keys_real = {keys}\n"
        f"    return {combine}\n"
    )


_ONES = "torch.ones(T, T, dtype=torch.bool)"

_DECODE_HEAD = (
    "def greedy_decode(model, src, max_len, bos_id, eos_id):\n"
    "    with torch.no_grad():\n"
    "        memory = model.encode(src)\n"
    "        src_mask = model.src_mask(src)\n"
    "        out = torch.full((src.size(0), 1), bos_id, dtype=torch.long)\n"
    "        done = torch.zeros(src.size(0), dtype=torch.bool)\n"
)

CASES = [
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(f"{_ONES}.tril(diagonal=1)"),  # off by one: sees the next token
        fails=["04_decoder_mask_tests_causal", "04_decoder_mask_tests_padding"],
        message="off by one",
        passes=["04_greedy_decode_tests_basic", "04_greedy_decode_tests_stopping"],
    ),
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(f"{_ONES}.tril(diagonal=-1)"),  # off by one: a token cannot see itself
        fails=["04_decoder_mask_tests_causal", "04_decoder_mask_tests_padding"],
        message="may attend to itself",
    ),
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(f"{_ONES}.triu()"),  # inverted causal part: sees the future
        fails=["04_decoder_mask_tests_causal", "04_decoder_mask_tests_padding"],
        message="flipped",
    ),
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(f"{_ONES}.tril()", combine="~(causal & keys_real)"),  # True = blocked (PyTorch's convention)
        fails=["04_decoder_mask_tests_causal", "04_decoder_mask_tests_padding"],
        message="inverted",
    ),
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(f"{_ONES}.tril()", combine="causal.expand(tgt_ids.size(0), 1, T, T)"),  # padding never combined
        fails=["04_decoder_mask_tests_padding"],
        message="padding mask is missing",
        passes=["04_decoder_mask_tests_causal"],
    ),
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(
            f"{_ONES}.tril()", combine="causal | keys_real"
        ),  # or instead of and: without padding, no mask at all
        fails=["04_decoder_mask_tests_causal", "04_decoder_mask_tests_padding"],
        message="combine them with & (and)",
    ),
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(f"{_ONES}.tril()", keys="(tgt_ids != pad_id)[:, None, :, None]"),  # padding on the queries
        fails=["04_decoder_mask_tests_padding"],
        message="queries (rows) instead of the keys",
        passes=["04_decoder_mask_tests_causal"],
    ),
    WrongAnswer(
        answer_id="04_decoder_mask",
        source=_mask(f"{_ONES}.tril()", combine="(causal & keys_real)[:, 0]"),  # (batch, T, T): no heads axis
        fails=["04_decoder_mask_tests_causal", "04_decoder_mask_tests_padding"],
        message="expected (1, 1, 4, 4)",
    ),
    WrongAnswer(
        answer_id="04_greedy_decode",
        source=_DECODE_HEAD
        + (
            "        for _ in range(max_len - 1):\n"  # never stops at <eos>
            "            next_id = model.decode(out, memory, src_mask)[:, -1].argmax(-1)\n"
            "            next_id = next_id.masked_fill(done, model.config.pad_id)\n"
            "            out = torch.cat([out, next_id[:, None]], dim=1)\n"
            "            done |= next_id == eos_id\n"
            "        return out\n"
        ),
        fails=["04_greedy_decode_tests_basic", "04_greedy_decode_tests_stopping"],
        message="stop as soon as every row has produced <eos>",
        passes=["04_decoder_mask_tests_causal", "04_decoder_mask_tests_padding"],
    ),
    WrongAnswer(
        answer_id="04_greedy_decode",
        source=_DECODE_HEAD
        + (
            "        while out.size(1) < max_len and not done.all():\n"
            "            next_id = model.decode(out, memory, src_mask)[:, -1].argmax(-1)\n"  # finished rows keep writing
            "            out = torch.cat([out, next_id[:, None]], dim=1)\n"
            "            done |= next_id == eos_id\n"
            "        return out\n"
        ),
        fails=["04_greedy_decode_tests_stopping"],
        message="fill the rest of that row with model.config.pad_id",
        passes=["04_greedy_decode_tests_basic"],
    ),
    WrongAnswer(
        answer_id="04_greedy_decode",
        source=_DECODE_HEAD
        + (
            "        while out.size(1) < max_len and not done.any():\n"  # stops when the first row is done
            "            next_id = model.decode(out, memory, src_mask)[:, -1].argmax(-1)\n"
            "            next_id = next_id.masked_fill(done, model.config.pad_id)\n"
            "            out = torch.cat([out, next_id[:, None]], dim=1)\n"
            "            done |= next_id == eos_id\n"
            "        return out\n"
        ),
        fails=["04_greedy_decode_tests_stopping"],
        message="*every* row",
        passes=["04_greedy_decode_tests_basic"],
    ),
    WrongAnswer(
        answer_id="04_greedy_decode",
        source=_DECODE_HEAD
        + (
            "        while out.size(1) < max_len and not done.all():\n"
            "            next_id = model.decode(out, memory, src_mask)[:, 0].argmax(-1)\n"  # first position, not the last
            "            next_id = next_id.masked_fill(done, model.config.pad_id)\n"
            "            out = torch.cat([out, next_id[:, None]], dim=1)\n"
            "            done |= next_id == eos_id\n"
            "        return out\n"
        ),
        fails=["04_greedy_decode_tests_basic", "04_greedy_decode_tests_stopping"],
        message="stop as soon as every row",
    ),
    WrongAnswer(
        answer_id="04_greedy_decode",
        source=_DECODE_HEAD
        + (
            "        while out.size(1) < max_len and not done.all():\n"
            "            next_id = model.decode(out, memory, src_mask)[:, -1].argmax(-1)\n"
            "            next_id = next_id.masked_fill(done, model.config.pad_id)\n"
            "            out = torch.cat([out, next_id[:, None]], dim=1)\n"
            "            done |= next_id == eos_id\n"
            "        return out[:, 1:]\n"  # drops <bos>
        ),
        fails=["04_greedy_decode_tests_basic", "04_greedy_decode_tests_stopping"],
        message="must start with <bos>",
    ),
]
