"""The attention explorer: its pure function, its static picture and its widgets, offline."""

from __future__ import annotations

import socket

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from flowlib import explorer
from flowlib.models import GPT, GPTConfig
from flowlib.pretrained import encoder_from_hf_bert, load_minilm
from flowlib.tokenizers import CharTokenizer

matplotlib.use("Agg")  # before any figure: the explorer draws off screen

MINILM, CHAR_GPT = "MiniLM (all-MiniLM-L6-v2)", "char GPT (pydoc checkpoint)"
SENTENCE = "The cat sat on the mat because it was warm."


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection attempt fails the test: everything the explorer shows is on disk."""

    def refuse(self, address):
        raise AssertionError(f"the explorer tried to reach the network: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield
    plt.close("all")


@pytest.fixture
def tiny_gpt():
    torch.manual_seed(0)
    tok = CharTokenizer.from_text("abcdefgh ")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layers=2, n_heads=2, d_model=16, dropout=0.1))
    return model, tok


def check_maps(tokens, weights, causal):
    T = len(tokens)
    assert weights.dim() == 4 and weights.shape[2:] == (T, T)
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:3]))
    above = torch.ones(T, T, dtype=torch.bool).triu(1)
    assert (weights[..., above].abs().max() == 0) == causal


def test_minilm_rows_sum_to_one_and_match_flowlib_encoder():
    tokens, weights = explorer.attention_for(MINILM, SENTENCE)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "cat" in tokens
    assert weights.shape[:2] == (6, 12)
    check_maps(tokens, weights, causal=False)
    hf, tokenizer = load_minilm()
    before = hf.config._attn_implementation
    explorer.attention_for(MINILM, "again")
    assert hf.config._attn_implementation == before
    ours = encoder_from_hf_bert(hf)  # flowlib's own BERT, reading its weights by store_weights
    batch = tokenizer(SENTENCE)
    with explorer._storing_weights(ours) as layers, torch.no_grad():
        ours(batch.input_ids, attention_mask=batch.attention_mask)
        expected = torch.stack([m.last_weights[0] for m in layers])
    torch.testing.assert_close(weights, expected, atol=1e-5, rtol=0)


def test_minilm_weights_equal_hugging_face_output_attentions():
    hf, tokenizer = load_minilm()
    batch = tokenizer(SENTENCE)
    with explorer._eager_attention(hf), torch.no_grad():
        attentions = hf(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_attentions=True
        ).attentions
    _, weights = explorer.attention_for(MINILM, SENTENCE)
    torch.testing.assert_close(weights, torch.stack([a[0] for a in attentions]))


def test_char_gpt_is_causal_and_labels_spaces():
    tokens, weights = explorer.attention_for(CHAR_GPT, "if x:\n  y")
    assert tokens == ["i", "f", "␣", "x", ":", "\\n", "␣", "␣", "y"]
    check_maps(tokens, weights, causal=True)


def test_a_trained_flowlib_model_can_be_added_and_is_left_as_it_was(tiny_gpt):
    model, tok = tiny_gpt
    model.train()
    source = explorer.flowlib_source(model, tok, "abc")
    tokens, weights = explorer.attention_for("mine", "abc abc", models={"mine": source})
    assert tokens == ["a", "b", "c", "␣", "a", "b", "c"] and weights.shape == (2, 2, 7, 7)
    check_maps(tokens, weights, causal=True)  # eval mode while reading: dropout does not touch the rows
    assert model.training and not any(layer.self_attn.store_weights for layer in model.stack.layers)
    explorer.register("tiny GPT", source)
    try:
        assert "tiny GPT" in explorer.MODELS
    finally:
        del explorer.MODELS["tiny GPT"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: explorer.attention_for("GPT-5", "hi"), "no model named 'GPT-5'"),
        (lambda: explorer.attention_for(CHAR_GPT, ""), "non-empty"),
        (lambda: explorer.attention_for(CHAR_GPT, "x" * 65), "at most 64 tokens"),
        (
            lambda: explorer.plot_token_attention(["a", "b"], torch.ones(1, 1, 2, 2) / 2, 1, 0),
            "layer must be between 0 and 0; got 1",
        ),
        (
            lambda: explorer.plot_token_attention(["a", "b"], torch.ones(1, 1, 2, 2) / 2, 0, 0, "z"),
            "token 'z' is not one",
        ),
        (lambda: explorer.register("x", object()), "needs a flowlib.explorer.Source"),
    ],
)
def test_bad_input_is_explained(call, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")):
        call()


def test_static_fallback_draws_one_picture_with_token_labels(monkeypatch):
    monkeypatch.setenv("FLOWLIB_NO_WIDGETS", "1")
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    explorer.explore_attention(MINILM, SENTENCE, layer=2, head=3, token="it")
    assert len(shown) == 1
    fig = shown[0]
    tokens, _ = explorer.attention_for(MINILM, SENTENCE)
    bars, heat = fig.axes[:2]
    assert [t.get_text() for t in bars.get_xticklabels()] == tokens
    assert [t.get_text() for t in heat.get_yticklabels()] == tokens
    assert "'it'" in bars.get_title() and heat.get_title().startswith("layer 2, head 3")
    fig.draw_without_rendering()
    texts = [t for t in fig.findobj(plt.Text) if t.get_visible() and t.get_text().strip()]
    assert min(t.get_fontsize() for t in texts) >= 8


def test_widgets_build_and_follow_the_controls_without_a_frontend():
    import ipywidgets

    ui = explorer.AttentionExplorer(dict(explorer.MODELS), MINILM, SENTENCE, layer=5, head=11, token="it")
    assert isinstance(ui.box, ipywidgets.VBox) and isinstance(ui.output, ipywidgets.Output)
    assert (ui.layer.max, ui.head.max, ui.layer.value, ui.head.value) == (5, 11, 5, 11)
    assert ui.token.value == ui.tokens.index("it")
    ui.model.value = CHAR_GPT  # 3 layers, 4 heads: the sliders shrink, the sentence stays
    assert (ui.layer.max, ui.head.max, ui.layer.value, ui.head.value) == (2, 3, 2, 3)
    assert ui.tokens[0] == "T" and ui.weights.shape[2] == len(SENTENCE)
    ui.sentence.value = "naïve"  # a character the GPT never saw: a message, not an exception
    assert ui.weights is None
    ui.sentence.value = "abc"
    assert ui.token.value == 2 and ui.weights.shape == (3, 4, 3, 3)


def test_explore_attention_displays_the_widgets_when_asked(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    assert explorer.explore_attention(CHAR_GPT, widgets=True) is None
    *drawn, box = shown  # the picture goes into the widgets' Output, then the widgets are shown
    assert type(box).__name__ == "VBox" and [type(f).__name__ for f in drawn] == ["Figure"]
