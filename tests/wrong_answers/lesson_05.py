"""Known-wrong answers to lesson 05 (BERT, GPT, T5): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_MASK_HEAD = "def mask_tokens(ids, mask_id, vocab_size, special_ids=(), p=0.15, generator=None):\n"
_SAMPLE_HEAD = "def sample_next(logits, temperature=1.0, top_k=None, generator=None):\n"
_LOSS_HEAD = "def next_token_loss(logits, ids, pad_id=None):\n"
_SIM_HEAD = "def word_similarity(embed, sentence_a, sentence_b, word):\n"

CASES = [
    # --- mask_tokens -------------------------------------------------------------------------
    WrongAnswer(
        answer_id="05_mask_tokens",
        source=(
            _MASK_HEAD + "    chosen = torch.rand(ids.shape, generator=generator) < p\n"  # special tokens can be chosen
            "    labels = torch.where(chosen, ids, torch.full_like(ids, -100))\n"
            "    u = torch.rand(ids.shape, generator=generator)\n"
            "    random_ids = torch.randint(vocab_size, ids.shape, generator=generator)\n"
            "    inputs = ids.clone()\n"
            "    inputs[chosen & (u < 0.8)] = mask_id\n"
            "    r = chosen & (u >= 0.8) & (u < 0.9)\n"
            "    inputs[r] = random_ids[r]\n"
            "    return inputs, labels\n"
        ),
        fails=["05_mask_tokens_tests_rules"],
        message="special token",
        passes=["05_mask_tokens_tests_stats", "05_next_token_loss_tests"],
    ),
    WrongAnswer(
        answer_id="05_mask_tokens",
        source=(
            _MASK_HEAD + "    special = torch.zeros_like(ids, dtype=torch.bool)\n"
            "    for s in special_ids:\n"
            "        special |= ids == s\n"
            "    chosen = (torch.rand(ids.shape, generator=generator) < p) & ~special\n"
            "    labels = torch.where(chosen, ids, torch.full_like(ids, -100))\n"
            "    inputs = ids.clone()\n"
            "    inputs[chosen] = mask_id\n"  # always [MASK]: no 10% random, no 10% unchanged
            "    return inputs, labels\n"
        ),
        fails=["05_mask_tokens_tests_stats"],
        message="every chosen token replaced by [MASK]",
        passes=["05_mask_tokens_tests_rules"],
    ),
    WrongAnswer(
        answer_id="05_mask_tokens",
        source=(
            _MASK_HEAD + "    special = torch.zeros_like(ids, dtype=torch.bool)\n"
            "    for s in special_ids:\n"
            "        special |= ids == s\n"
            "    chosen = (torch.rand(ids.shape, generator=generator) < p) & ~special\n"
            "    u = torch.rand(ids.shape, generator=generator)\n"
            "    inputs = ids.clone()\n"
            "    inputs[chosen & (u < 0.8)] = mask_id\n"
            "    r = chosen & (u >= 0.8) & (u < 0.9)\n"
            "    inputs[r] = torch.randint(vocab_size, ids.shape, generator=generator)[r]\n"
            "    return inputs, ids.clone()\n"  # labels everywhere: the loss would count every token
        ),
        fails=["05_mask_tokens_tests_rules", "05_mask_tokens_tests_stats"],
        message="special token",
    ),
    WrongAnswer(
        answer_id="05_mask_tokens",
        source=(
            _MASK_HEAD + "    special = torch.zeros_like(ids, dtype=torch.bool)\n"
            "    for s in special_ids:\n"
            "        special |= ids == s\n"
            "    chosen = (torch.rand(ids.shape, generator=generator) < p) & ~special\n"
            "    labels = torch.where(chosen, ids, torch.full_like(ids, -100))\n"
            "    u = torch.rand(ids.shape, generator=generator)\n"
            "    ids[chosen & (u < 0.8)] = mask_id\n"  # modifies the caller's ids in place
            "    r = chosen & (u >= 0.8) & (u < 0.9)\n"
            "    ids[r] = torch.randint(vocab_size, ids.shape, generator=generator)[r]\n"
            "    return ids, labels\n"
        ),
        fails=["05_mask_tokens_tests_rules"],
        message="in place",
    ),
    WrongAnswer(
        answer_id="05_mask_tokens",
        source=(
            _MASK_HEAD + "    special = torch.zeros_like(ids, dtype=torch.bool)\n"
            "    for s in special_ids:\n"
            "        special |= ids == s\n"
            "    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~special\n"  # ignores p
            "    labels = torch.where(chosen, ids, torch.full_like(ids, -100))\n"
            "    u = torch.rand(ids.shape, generator=generator)\n"
            "    inputs = ids.clone()\n"
            "    inputs[chosen & (u < 0.8)] = mask_id\n"
            "    r = chosen & (u >= 0.8) & (u < 0.9)\n"
            "    inputs[r] = torch.randint(vocab_size, ids.shape, generator=generator)[r]\n"
            "    return inputs, labels\n"
        ),
        fails=["05_mask_tokens_tests_stats"],
        message="fraction chosen with p=0.5",
        passes=["05_mask_tokens_tests_rules"],
    ),
    # --- next_token_loss ---------------------------------------------------------------------
    WrongAnswer(
        answer_id="05_next_token_loss",
        source=_LOSS_HEAD
        + "    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), ids.reshape(-1))\n",  # no shift
        fails=["05_next_token_loss_tests", "05_next_token_loss_tests_padding"],
        message="no shift",
    ),
    WrongAnswer(
        answer_id="05_next_token_loss",
        source=(
            _LOSS_HEAD + "    lo, y = logits[:, 1:], ids[:, :-1]\n"  # shifted the wrong way
            "    return F.cross_entropy(lo.reshape(-1, lo.size(-1)), y.reshape(-1))\n"
        ),
        fails=["05_next_token_loss_tests"],
        message="the shift the wrong way round",
    ),
    WrongAnswer(
        answer_id="05_next_token_loss",
        source=(
            _LOSS_HEAD + "    lo, y = logits[:, :-1], ids[:, 1:]\n"  # padding targets still counted
            "    return F.cross_entropy(lo.reshape(-1, lo.size(-1)), y.reshape(-1))\n"
        ),
        fails=["05_next_token_loss_tests_padding"],
        message="padding targets counted",
        passes=["05_next_token_loss_tests"],
    ),
    # --- sample_next -------------------------------------------------------------------------
    WrongAnswer(
        answer_id="05_sample_next",
        source=(
            _SAMPLE_HEAD + "    if temperature == 0:\n"
            "        return logits.argmax(dim=-1)\n"
            "    if top_k is not None:\n"  # temperature never applied
            "        kth = logits.topk(min(top_k, logits.size(-1)), dim=-1).values[:, -1:]\n"
            "        logits = logits.masked_fill(logits < kth, float('-inf'))\n"
            "    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)\n"
        ),
        fails=["05_sample_next_tests_distribution"],
        message="the temperature ignored",
        passes=["05_sample_next_tests_basic"],
    ),
    WrongAnswer(
        answer_id="05_sample_next",
        source=(
            _SAMPLE_HEAD + "    if temperature == 0:\n"
            "        return logits.argmax(dim=-1)\n"
            "    probs = torch.softmax(logits / temperature, -1)\n"  # top_k never applied
            "    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)\n"
        ),
        fails=["05_sample_next_tests_distribution"],
        message="top_k ignored",
    ),
    WrongAnswer(
        answer_id="05_sample_next",
        source=(
            _SAMPLE_HEAD + "    if temperature == 0:\n"
            "        return logits.argmax(dim=-1)\n"
            "    logits = logits * temperature\n"  # multiplied instead of divided
            "    if top_k is not None:\n"
            "        kth = logits.topk(min(top_k, logits.size(-1)), dim=-1).values[:, -1:]\n"
            "        logits = logits.masked_fill(logits < kth, float('-inf'))\n"
            "    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)\n"
        ),
        fails=["05_sample_next_tests_distribution"],
        message="multiplied by the temperature",
        passes=["05_sample_next_tests_basic"],
    ),
    WrongAnswer(
        answer_id="05_sample_next",
        source=_SAMPLE_HEAD + "    return logits.argmax(dim=-1)\n",  # always greedy
        fails=["05_sample_next_tests_distribution"],
        message="frequencies of samples with temperature 0.5",
        passes=["05_sample_next_tests_basic"],
    ),
    # --- word_similarity ---------------------------------------------------------------------
    WrongAnswer(
        answer_id="05_word_similarity",
        source=(
            _SIM_HEAD + "    tokens, hidden = embed([sentence_a, sentence_b])\n"
            "    return F.cosine_similarity(hidden[0, 0], hidden[1, 0], dim=0).item()\n"  # [CLS] vectors
        ),
        fails=["05_word_similarity_tests", "05_word_similarity_tests_hidden"],
        message="[CLS]",
    ),
    WrongAnswer(
        answer_id="05_word_similarity",
        source=(
            _SIM_HEAD + "    tokens, hidden = embed([sentence_a, sentence_b])\n"
            "    a = hidden[0, tokens[0].index(word.lower())]\n"
            "    b = hidden[1, tokens[1].index(word.lower())]\n"
            "    return (a @ b).item()\n"  # dot product, not cosine
        ),
        fails=["05_word_similarity_tests"],
        message="the dot product, not the cosine",
    ),
    WrongAnswer(
        answer_id="05_word_similarity",
        source=(
            _SIM_HEAD + "    tokens, hidden = embed([sentence_a, sentence_b])\n"
            "    a = hidden[0, tokens[0].index(word)]\n"  # no lower(); missing word gives the wrong error type
            "    b = hidden[1, tokens[1].index(word)]\n"
            "    return F.cosine_similarity(a, b, dim=0).item()\n"
        ),
        fails=["05_word_similarity_tests_hidden"],
        message="word.lower()",
        passes=["05_word_similarity_tests"],
    ),
    # --- family_choice -----------------------------------------------------------------------
    WrongAnswer(
        answer_id="05_family_choice",
        source=(
            "family_for = {\n"
            "    'sort support e-mails into 12 categories': 'decoder-only',\n"
            "    'complete a line of Python code as the user types': 'decoder-only',\n"
            "    'turn a German invoice into an English summary': 'encoder-decoder',\n"
            "    'find the 5 help-centre articles closest in meaning to a question': 'encoder-only',\n"
            "}\n"
        ),
        fails=["05_family_choice_tests"],
        message="one label, not a text",
    ),
]
