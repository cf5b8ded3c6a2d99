"""Known-wrong answers to lesson 13 (the capstone): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_SHAPES = ["13_pipeline_shapes_tests", "13_pipeline_shapes_tests_hidden"]
_ATTENTION = ["13_attention_tests", "13_attention_tests_mask", "13_attention_tests_hidden"]
_BLOCK = ["13_block_tests_post_ln", "13_block_tests_pre_ln", "13_block_tests_hidden"]
_SENTENCES = ["13_sentence_embeddings_tests", "13_sentence_embeddings_tests_hidden"]


def _shapes(attention: str = "(B, n_heads, T, T)", logits: str = "(B, n_classes)") -> str:
    return (
        "def pipeline_shapes(batch_size, seq_len, d_model, n_heads, n_classes):\n"
        "    B, T = batch_size, seq_len\n"
        "    return {'token_ids': (B, T), 'embeddings': (B, T, d_model), "
        f"'attention_weights': {attention}, 'encoder_output': (B, T, d_model), "
        f"'pooled': (B, d_model), 'logits': {logits}}}\n"
    )


def _attention(
    split: str,
    merge: str,
    scores: str,
    tail: str = "    return self.out_proj(out)\n",
    mask: str = "scores = scores.masked_fill(~mask, float('-inf'))",
) -> str:
    """MySelfAttention with one step replaced (each argument is a line of the correct version by default)."""
    return (
        "class MySelfAttention(nn.Module):\n"
        "    def __init__(self, d_model, n_heads):\n"
        "        super().__init__()\n"
        "        self.d_model, self.n_heads = d_model, n_heads\n"
        "        self.in_proj = nn.Linear(d_model, 3 * d_model)\n"
        "        self.out_proj = nn.Linear(d_model, d_model)\n"
        "\n"
        "    def forward(self, x, mask=None):\n"
        "        B, T, D = x.shape\n"
        "        H, Dh = self.n_heads, D // self.n_heads\n"
        "        q, k, v = self.in_proj(x).split(D, dim=-1)\n"
        f"        q, k, v = ({split} for t in (q, k, v))\n"
        f"        scores = {scores}\n"
        "        if mask is not None:\n"
        f"            {mask}\n"
        "        weights = scores.softmax(dim=-1)\n"
        f"        out = {merge}\n" + tail.replace("    return", "        return")
    )


_SPLIT = "t.view(B, T, H, Dh).transpose(1, 2)"
_MERGE = "(weights @ v).transpose(1, 2).reshape(B, T, D)"
_SCORES = "q @ k.transpose(-2, -1) / math.sqrt(Dh)"


def _block(post: str, pre: str) -> str:
    """encoder_block_forward with the given post-LN and pre-LN bodies (attn, ff, norm as in the solution)."""
    return (
        "def encoder_block_forward(x, params, n_heads, norm_first, mask=None):\n"
        "    d_model = x.shape[-1]\n"
        "    attention = MultiHeadAttention(d_model, n_heads).eval()\n"
        "    attention.load_state_dict({n[len('self_attn.'):]: v for n, v in params.items() if n.startswith('self_attn.')})\n"
        "    attn = lambda h: attention(h, mask=mask)\n"
        "    ff = lambda h: F.linear(F.relu(F.linear(h, params['ff.linear1.weight'], params['ff.linear1.bias'])),\n"
        "                            params['ff.linear2.weight'], params['ff.linear2.bias'])\n"
        "    norm = lambda h, i: F.layer_norm(h, (d_model,), params[f'norm{i}.weight'], params[f'norm{i}.bias'], eps=1e-5)\n"
        "    with torch.no_grad():\n"
        "        if norm_first:\n"
        + "".join(f"            {line}\n" for line in pre.splitlines())
        + "        else:\n"
        + "".join(f"            {line}\n" for line in post.splitlines())
        + "    return x\n"
    )


_POST = "x = norm(x + attn(x), 1)\nx = norm(x + ff(x), 2)"
_PRE = "x = x + attn(norm(x, 1))\nx = x + ff(norm(x, 2))"

CASES = [
    # ---------------------------------------------------------------- Exercise 1: pipeline
    WrongAnswer(
        answer_id="13_pipeline_shapes",
        source=_shapes(attention="(B, T, T)"),  # forgot the heads axis
        fails=_SHAPES,
        message="heads axis",
        passes=["13_family_tests", "13_family_tests_hidden"],
    ),
    WrongAnswer(
        answer_id="13_pipeline_shapes",
        source=_shapes(logits="(B, T, n_classes)"),  # one prediction per token
        fails=_SHAPES,
        message="one prediction per token",
    ),
    WrongAnswer(
        answer_id="13_family",
        source=(
            "family = {'route': 'decoder-only', 'delivery_time': 'no transformer', "
            "'autocomplete': 'decoder-only', 'translate': 'encoder-decoder'}\n"
        ),
        fails=["13_family_tests"],
        message="not the best answer",
        passes=["13_family_tests_hidden", *_SHAPES],
    ),
    WrongAnswer(
        answer_id="13_family",
        source=(
            "family = {'route': 'encoder-only', 'delivery_time': 'encoder-only', "
            "'autocomplete': 'encoder-decoder', 'translate': 'encoder-decoder'}\n"
        ),
        fails=["13_family_tests", "13_family_tests_hidden"],
        message="tabular model ties",
    ),
    # ---------------------------------------------------------------- Exercise 2: pretrained encoder
    WrongAnswer(
        answer_id="13_count_wordpieces",
        source="def count_wordpieces(tokenizer, text):\n    return len(tokenizer.encode(text))\n",  # [CLS] and [SEP] counted
        fails=["13_count_wordpieces_tests"],
        message="[CLS] and [SEP]",
        passes=["13_token_embeddings_tests", *_SENTENCES, "13_closer_tests"],
    ),
    WrongAnswer(
        answer_id="13_count_wordpieces",
        source="def count_wordpieces(tokenizer, text):\n    return len(text.split())\n",  # words, not pieces
        fails=["13_count_wordpieces_tests"],
        message="number of words",
    ),
    WrongAnswer(
        answer_id="13_token_embeddings",
        source=(
            "def token_embeddings(model, tokenizer, text):\n"
            "    batch = tokenizer(text)\n"
            "    with torch.no_grad():\n"
            "        return model.embeddings(input_ids=batch.input_ids)[0]\n"  # not contextual
        ),
        fails=["13_token_embeddings_tests"],
        message="input embeddings",
        passes=["13_count_wordpieces_tests", *_SENTENCES],
    ),
    WrongAnswer(
        answer_id="13_token_embeddings",
        source=(
            "def token_embeddings(model, tokenizer, text):\n"
            "    batch = tokenizer(text)\n"
            "    with torch.no_grad():\n"
            "        return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state\n"
        ),  # batch axis kept
        fails=["13_token_embeddings_tests"],
        message="has shape (1, ",
    ),
    WrongAnswer(
        answer_id="13_sentence_embeddings",
        source=(
            "def sentence_embeddings(model, tokenizer, texts):\n"
            "    batch = tokenizer(texts)\n"
            "    with torch.no_grad():\n"
            "        return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state.mean(dim=1)\n"
        ),  # padding averaged in
        fails=_SENTENCES,
        message="padding included",
        passes=["13_count_wordpieces_tests", "13_token_embeddings_tests"],
    ),
    WrongAnswer(
        answer_id="13_sentence_embeddings",
        source=(
            "def sentence_embeddings(model, tokenizer, texts):\n"
            "    batch = tokenizer(texts)\n"
            "    with torch.no_grad():\n"
            "        return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state[:, 0]\n"
        ),
        fails=_SENTENCES,
        message="[CLS] vector",
    ),
    WrongAnswer(
        answer_id="13_closer",
        source=(
            "def closer(model, tokenizer, query, a, b):\n"
            "    e = sentence_embeddings(model, tokenizer, [query, a, b])\n"
            "    similarity = F.cosine_similarity(e[:1], e[1:], dim=-1)\n"
            "    return 'a' if similarity[0] < similarity[1] else 'b'\n"  # picks the less similar text
        ),
        fails=["13_closer_tests"],
        message="the higher one",
        passes=_SENTENCES,
    ),
    # ---------------------------------------------------------------- Implementation: attention
    WrongAnswer(
        answer_id="13_my_self_attention",
        source=_attention(_SPLIT, _MERGE, _SCORES, tail="    return out\n"),  # no output projection
        fails=_ATTENTION,
        message="without the output projection",
        passes=_BLOCK,
    ),
    WrongAnswer(
        answer_id="13_my_self_attention",
        source=_attention(
            "t.reshape(B, T, Dh, H).permute(0, 3, 1, 2)",  # heads on the wrong axis of d_model
            "(weights @ v).permute(0, 2, 3, 1).reshape(B, T, D)",
            _SCORES,
        ),
        fails=_ATTENTION,
        message="heads on the wrong axis",
        passes=_BLOCK,
    ),
    WrongAnswer(
        answer_id="13_my_self_attention",
        source=_attention("t.reshape(B, H, T, Dh)", "(weights @ v).reshape(B, T, D)", _SCORES),  # no transpose
        fails=_ATTENTION,
        message="without the transpose",
    ),
    WrongAnswer(
        answer_id="13_my_self_attention",
        source=_attention(_SPLIT, _MERGE, "q @ k.transpose(-2, -1)"),  # no scaling
        fails=_ATTENTION,
        message="not divided by sqrt(head_dim)",
    ),
    WrongAnswer(
        answer_id="13_my_self_attention",
        source=_attention(_SPLIT, _MERGE, "q @ k.transpose(-2, -1) / math.sqrt(D)"),  # scaled by the model width
        fails=["13_attention_tests", "13_attention_tests_mask", "13_attention_tests_hidden"],
        message="sqrt(d_model) instead of sqrt(head_dim)",
    ),
    WrongAnswer(
        answer_id="13_my_self_attention",
        source=_attention(_SPLIT, _MERGE, _SCORES, mask="scores = scores.masked_fill(mask, float('-inf'))"),
        fails=["13_attention_tests_mask"],
        message="True in a mask means 'may attend'",
        passes=["13_attention_tests", "13_attention_tests_hidden", *_BLOCK],
    ),
    WrongAnswer(
        answer_id="13_my_self_attention",
        source=_attention(_SPLIT, _MERGE, _SCORES, mask="pass"),  # mask ignored
        fails=["13_attention_tests_mask"],
        message="the mask ignored",
        passes=["13_attention_tests", "13_attention_tests_hidden"],
    ),
    # ---------------------------------------------------------------- Implementation: encoder block
    WrongAnswer(
        answer_id="13_encoder_block_forward",
        source=_block(post=_PRE, pre=_POST),  # pre-LN and post-LN swapped
        fails=_BLOCK,
        message="pre-LN and post-LN mixed up",
        passes=_ATTENTION,
    ),
    WrongAnswer(
        answer_id="13_encoder_block_forward",
        source=_block(post=_POST, pre=_POST),  # always post-LN: norm_first ignored
        fails=["13_block_tests_pre_ln", "13_block_tests_hidden"],
        message="pre-LN and post-LN mixed up",
        passes=["13_block_tests_post_ln"],
    ),
    WrongAnswer(
        answer_id="13_encoder_block_forward",
        source=_block(post=_POST, pre="x = norm(x, 1)\nx = x + attn(x)\nx = norm(x, 2)\nx = x + ff(x)"),
        fails=["13_block_tests_pre_ln", "13_block_tests_hidden"],
        message="residual taken from the normalised x",
        passes=["13_block_tests_post_ln"],
    ),
    WrongAnswer(
        answer_id="13_encoder_block_forward",
        source=_block(post="x = norm(attn(x), 1)\nx = norm(ff(x), 2)", pre=_PRE),  # post-LN without residuals
        fails=["13_block_tests_post_ln"],
        message="no residual connections",
        passes=["13_block_tests_pre_ln"],
    ),
]
