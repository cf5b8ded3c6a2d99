"""Known-wrong answers to lesson 11 (Hugging Face): each must lose the right points."""

from tests.wrong_answers import WrongAnswer


def _fill_mask(batch: str, probs: str, masks: str, top: str) -> str:
    return (
        "def fill_mask(texts, tokenizer, model, k=5):\n"
        f"    batch = {batch}\n"
        "    with torch.no_grad():\n"
        "        logits = model(**batch).logits\n"
        f"    probs = {probs}\n"
        "    result = []\n"
        "    for row, ids in enumerate(batch['input_ids']):\n"
        f"        masks = {masks}\n"
        "        per_mask = []\n"
        "        for position in masks:\n"
        f"            top = {top}\n"
        "            per_mask.append([(tokenizer.decode([i]), p) for i, p in zip(top.indices.tolist(), top.values.tolist())])\n"
        "        result.append(per_mask)\n"
        "    return result\n"
    )


_BATCH = 'tokenizer(texts, padding=True, return_tensors="pt")'
_PROBS = "logits.softmax(dim=-1)"
_MASKS = "(ids == tokenizer.mask_token_id).nonzero().flatten().tolist()"
_TOP = "probs[row, position].topk(k)"


def _embeddings(body: str) -> str:
    return (
        "def sentence_embeddings(texts, tokenizer, model):\n"
        '    batch = tokenizer(texts, padding=True, return_tensors="pt")\n'
        "    with torch.no_grad():\n"
        "        hidden = model(**batch).last_hidden_state\n"
        "    m = batch['attention_mask'].unsqueeze(-1).float()\n"
        f"{body}"
    )


CASES = [
    # --- fill_mask ---------------------------------------------------------------------------
    WrongAnswer(
        answer_id="11_fill_mask",
        source=_fill_mask(_BATCH, "logits", _MASKS, _TOP),  # scores are raw logits
        fails=["11_fill_mask_tests", "11_fill_mask_tests_batch", "11_fill_mask_tests_several"],
        message="raw logits, not probabilities",
    ),
    WrongAnswer(
        answer_id="11_fill_mask",
        source=_fill_mask(_BATCH, "logits.softmax(dim=1)", _MASKS, _TOP),  # softmax over the positions
        fails=["11_fill_mask_tests", "11_fill_mask_tests_batch", "11_fill_mask_tests_several"],
        message="top-3 tokens",
    ),
    WrongAnswer(
        answer_id="11_fill_mask",
        source=_fill_mask(
            _BATCH, _PROBS, "[int((ids == tokenizer.mask_token_id).nonzero()[0])]", _TOP
        ),  # first mask only
        fails=["11_fill_mask_tests_several"],
        message="not only the first",
        passes=["11_fill_mask_tests", "11_fill_mask_tests_batch"],
    ),
    WrongAnswer(
        answer_id="11_fill_mask",
        source=_fill_mask(_BATCH, _PROBS, _MASKS, "probs[row, position].topk(k, largest=False)"),  # least probable
        fails=["11_fill_mask_tests", "11_fill_mask_tests_batch", "11_fill_mask_tests_several"],
        message="top-3 tokens",
    ),
    WrongAnswer(
        answer_id="11_fill_mask",
        source=_fill_mask(_BATCH, _PROBS, _MASKS, _TOP).replace(
            "logits = model(**batch).logits", "logits = model(input_ids=batch['input_ids']).logits"
        ),  # padding is attended to: the short text's numbers change
        fails=["11_fill_mask_tests_batch"],
        message="attention_mask",
        passes=["11_fill_mask_tests"],
    ),
    # --- sentence_embeddings -----------------------------------------------------------------
    WrongAnswer(
        answer_id="11_sentence_embeddings",
        source=_embeddings("    return F.normalize(hidden.mean(dim=1), dim=-1)\n"),  # padding averaged in
        fails=["11_sentence_embeddings_tests", "11_sentence_embeddings_tests_hidden"],
        message="padding included",
    ),
    WrongAnswer(
        answer_id="11_sentence_embeddings",
        source=_embeddings("    return F.normalize(hidden[:, 0], dim=-1)\n"),  # the [CLS] vector
        fails=["11_sentence_embeddings_tests", "11_sentence_embeddings_tests_hidden"],
        message="the [CLS] vector",
    ),
    WrongAnswer(
        answer_id="11_sentence_embeddings",
        source=_embeddings("    return (hidden * m).sum(1) / m.sum(1)\n"),  # not normalised
        fails=["11_sentence_embeddings_tests", "11_sentence_embeddings_tests_hidden"],
        message="not scaled to length 1",
    ),
    WrongAnswer(
        answer_id="11_sentence_embeddings",
        source=_embeddings("    return F.normalize((F.normalize(hidden, dim=-1) * m).sum(1) / m.sum(1), dim=-1)\n"),
        # each token normalised before pooling: close to, but not, what sentence-transformers computes
        fails=["11_sentence_embeddings_tests", "11_sentence_embeddings_tests_hidden"],
        message="MiniLM sentence embeddings",
    ),
    # --- auto_class --------------------------------------------------------------------------
    WrongAnswer(
        answer_id="11_auto_class",
        source=(
            "auto_class = {\n"
            '    "sentence vectors for a search index (mean-pooled hidden states)": "AutoModelForMaskedLM",\n'
            '    "continue a prompt one token at a time": "AutoModelForCausalLM",\n'
            '    "label each support ticket as bug, question or feature request": "AutoModelForSequenceClassification",\n'
            '    "suggest the missing word in \'open the [MASK] in read mode\'": "AutoModelForMaskedLM",\n'
            "}\n"
        ),
        fails=["11_auto_class_tests"],
        message="hidden vectors themselves",
    ),
    WrongAnswer(
        answer_id="11_auto_class",
        source=(
            "auto_class = {\n"
            '    "sentence vectors for a search index (mean-pooled hidden states)": "AutoModel",\n'
            '    "continue a prompt one token at a time": "AutoModelForMaskedLM",\n'
            '    "label each support ticket as bug, question or feature request": "AutoModelForSequenceClassification",\n'
            '    "suggest the missing word in \'open the [MASK] in read mode\'": "AutoModelForCausalLM",\n'
            "}\n"
        ),
        fails=["11_auto_class_tests"],
        message="predicts the next token",
    ),
    WrongAnswer(
        answer_id="11_auto_class",
        source=(
            "auto_class = {\n"
            '    "sentence vectors for a search index (mean-pooled hidden states)": "AutoModelForSequenceClassification",\n'
            '    "continue a prompt one token at a time": "AutoModelForCausalLM",\n'
            '    "label each support ticket as bug, question or feature request": "AutoModelForSequenceClassification",\n'
            '    "suggest the missing word in \'open the [MASK] in read mode\'": "AutoModelForMaskedLM",\n'
            "}\n"
        ),
        fails=["11_auto_class_tests"],
        message="with no head on top",
    ),
    WrongAnswer(
        answer_id="11_auto_class",
        source=(
            "auto_class = {\n"
            '    "sentence vectors for a search index (mean-pooled hidden states)": "AutoModel",\n'
            '    "continue a prompt one token at a time": "AutoModelForCausalLM",\n'
            '    "label each support ticket as bug, question or feature request": "AutoModel",\n'
            '    "suggest the missing word in \'open the [MASK] in read mode\'": "AutoModelForMaskedLM",\n'
            "}\n"
        ),
        fails=["11_auto_class_tests"],
        message="pooled vector",
    ),
]
