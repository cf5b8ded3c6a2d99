"""Plots: labelled, colour-blind-safe, token labels on every heatmap, clear errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from flowlib.training import History  # noqa: E402
from flowlib.viz import (  # noqa: E402
    plot_attention,
    plot_attention_grid,
    plot_loss,
    plot_mask,
    plot_positional_encoding,
    plot_similarity_vs_distance,
)

TOKENS = ["The", "cat", "sat", "down"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def tick_labels(ax, axis: str) -> list[str]:
    return [label.get_text() for label in getattr(ax, f"get_{axis}ticklabels")()]


def test_plot_attention_labels_queries_and_keys():
    ax = plot_attention(torch.softmax(torch.randn(4, 3), -1), TOKENS, ["a", "b", "c"], title="cross")
    assert tick_labels(ax, "y") == TOKENS and tick_labels(ax, "x") == ["a", "b", "c"]
    assert ax.get_title() == "cross" and ax.get_xlabel() and ax.get_ylabel()
    assert ax.images[0].get_cmap().name == "viridis"


def test_plot_attention_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    assert plot_attention(torch.eye(4), TOKENS, ax=ax) is ax


def test_plot_attention_grid_has_one_panel_per_layer_and_head():
    weights = torch.softmax(torch.randn(2, 3, 4, 4), -1)
    fig = plot_attention_grid(weights, TOKENS)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 6 and panels[5].get_title() == "layer 1, head 2"
    assert all(tick_labels(ax, "x") == TOKENS for ax in panels)
    assert len(plot_attention_grid(list(weights), TOKENS).axes) == 7  # 6 panels + colour bar


def test_plot_mask_uses_cividis():
    ax = plot_mask(torch.ones(4, 4, dtype=torch.bool).tril(), TOKENS)
    assert ax.images[0].get_cmap().name == "cividis" and tick_labels(ax, "y") == TOKENS


def test_positional_encoding_plots():
    pe = torch.randn(20, 8)
    ax = plot_positional_encoding(pe)
    assert ax.get_xlabel() == "embedding dimension" and ax.get_ylabel() == "position"
    ax = plot_similarity_vs_distance(pe)
    distances, similarity = ax.lines[0].get_data()
    assert list(distances) == list(range(20)) and similarity[0] == pytest.approx(1.0)


def test_plot_loss_draws_train_and_held_out_curves():
    history = History(steps=list(range(1, 41)), losses=[1 / s for s in range(1, 41)], eval_steps=[20, 40], eval_losses=[0.1, 0.05])
    ax = plot_loss(history)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "held-out"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plot_attention(torch.ones(4), TOKENS), r"must have 2 dimensions; got shape \(4,\)"),
        (lambda: plot_attention(torch.ones(4, 4), TOKENS[:3]), "query_tokens has 3 labels but the matrix has 4"),
        (lambda: plot_attention(torch.ones(4, 2), TOKENS), "key_tokens has 4 labels but the matrix has 2"),
        (lambda: plot_attention_grid(torch.ones(3, 4, 4), TOKENS), r"\(layers, heads, T_q, T_k\) must have 4 dimensions"),
        (lambda: plot_mask(torch.ones(2, 2), TOKENS), "query_tokens has 4 labels but the matrix has 2"),
        (lambda: plot_positional_encoding(torch.ones(3)), r"\(positions, d_model\) must have 2 dimensions"),
        (lambda: plot_loss(History()), "empty History"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
