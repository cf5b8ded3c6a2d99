"""Plots: labelled, colour-blind-safe, token labels on every heatmap, clear errors."""

from __future__ import annotations

from itertools import pairwise

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from flowlib.training import History
from flowlib.viz import (
    plot_attention,
    plot_attention_grid,
    plot_loss,
    plot_mask,
    plot_positional_encoding,
    plot_similarity_vs_distance,
    series_styles,
)

matplotlib.use("Agg")  # no window: pyplot picks its backend at the first figure, not at import

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
    history = History(
        steps=list(range(1, 41)), losses=[1 / s for s in range(1, 41)], eval_steps=[20, 40], eval_losses=[0.1, 0.05]
    )
    ax = plot_loss(history)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "held-out"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plot_attention(torch.ones(4), TOKENS), r"must have 2 dimensions; got shape \(4,\)"),
        (lambda: plot_attention(torch.ones(4, 4), TOKENS[:3]), "query_tokens has 3 labels but the matrix has 4"),
        (lambda: plot_attention(torch.ones(4, 2), TOKENS), "key_tokens has 4 labels but the matrix has 2"),
        (
            lambda: plot_attention_grid(torch.ones(3, 4, 4), TOKENS),
            r"\(layers, heads, T_q, T_k\) must have 4 dimensions",
        ),
        (lambda: plot_mask(torch.ones(2, 2), TOKENS), "query_tokens has 4 labels but the matrix has 2"),
        (lambda: plot_positional_encoding(torch.ones(3)), r"\(positions, d_model\) must have 2 dimensions"),
        (lambda: plot_loss(History()), "empty History"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def visible_texts(fig):
    fig.draw_without_rendering()
    return [t for t in fig.findobj(plt.Text) if t.get_visible() and t.get_text().strip()]


def test_every_text_is_at_least_8_points_and_nothing_overlaps_on_a_grid():
    tokens = ["The", "cat", "sat", "on", "the", "mat", "today", "again"]
    fig = plot_attention_grid(torch.softmax(torch.randn(2, 4, 8, 8), -1), tokens)
    texts = visible_texts(fig)
    assert min(t.get_fontsize() for t in texts) >= 8
    renderer = fig._get_renderer()
    for ax in (a for a in fig.axes if a.images):
        labels = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
        assert not any(a.overlaps(b) for i, a in enumerate(labels) for b in labels[i + 1 :])  # token labels legible


def test_grid_rows_can_be_called_blocks():
    fig = plot_attention_grid(torch.softmax(torch.randn(1, 2, 4, 4), -1), TOKENS, row_name="block")
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["block 0, head 0", "block 0, head 1"]
    assert fig._suptitle.get_text() == "attention weights per block and head"


def test_plot_mask_has_a_true_false_key():
    ax = plot_mask(torch.ones(4, 4, dtype=torch.bool).tril(), TOKENS)
    key = [a for a in ax.figure.axes if a is not ax][0]
    assert [t.get_text() for t in key.get_yticklabels()] == ["False: may not attend", "True: may attend"]
    assert "True = may attend" in ax.get_title()


def test_plot_loss_legend_is_outside_the_data():
    history = History(
        steps=list(range(1, 41)), losses=[1 / s for s in range(1, 41)], eval_steps=[20, 40], eval_losses=[0.1, 0.05]
    )
    ax = plot_loss(history)
    ax.figure.draw_without_rendering()
    renderer = ax.figure._get_renderer()
    assert not ax.get_legend().get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


def test_calibration_plot_labels_do_not_overlap_and_are_8_points():
    from flowlib.course import self_assessment as sa

    objectives, log, scores = sa.demo_session()
    calibration = sa.calibrate(objectives=objectives, log=log, scores=scores, run_tests=False)
    fig = sa.plot_calibration(calibration, top=6)
    texts = visible_texts(fig)
    assert min(t.get_fontsize() for t in texts) >= 8
    renderer = fig._get_renderer()
    ax = fig.axes[0]
    boxes = [
        t.get_window_extent(renderer) for t in [*ax.texts, ax.xaxis.label, *ax.get_legend().get_texts()] if t.get_text()
    ]
    overlapping = [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j and a.overlaps(b)]
    assert not overlapping
    assert not ax.get_legend().get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


def test_lesson_attention_grids_name_their_rows_as_the_prose_does():
    """A grid drawn after prose about blocks says "block 0, head 1"; after prose about layers, "layer"."""
    import json
    import re
    from pathlib import Path

    checked = 0
    for path in sorted((Path(__file__).resolve().parent.parent / "solutions").glob("*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for before, cell in pairwise(cells):
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or "plot_attention_grid(" not in source:
                continue
            prose = "".join(before["source"]).lower()
            says = {word for word in ("block", "layer") if re.search(rf"\b{word}s?\b", prose)}
            named = "block" if re.search(r"row_name\s*=\s*[\"']block", source) else "layer"
            assert not says or named in says, (
                f"{path.name}, cell {cell.get('id')}: the prose says {says}, the figure {named!r}"
            )
            checked += 1
    assert checked >= 2


def test_series_styles_are_distinct_in_colour_and_marker():
    styles = series_styles(8)
    assert len({s["color"] for s in styles}) == 8 and len({s["marker"] for s in styles}) == 8
    assert series_styles(0) == []
    with pytest.raises(ValueError, match="0 to 8 styles; got n=9"):
        series_styles(9)
