"""Pictures for the lessons: attention heatmaps, masks, positional encodings, loss curves.

Every function draws on ``ax`` when given (else on a new small figure) and returns the
Axes (the Figure for grids); none calls ``plt.show()``. Colormaps are colour-blind safe
(viridis for weights, cividis for encodings); every heatmap is labelled with its tokens.
Categorical series (methods, modes) take :func:`series_styles`: Okabe and Ito's colour-blind-safe
palette, each colour with its own marker, so no two series rely on colour alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from flowlib.training import History

MIN_FONT = 8.0  # points: the smallest text any figure here draws (tick labels included)
# Okabe & Ito (2008), "Color Universal Design": told apart with every common colour-vision deficiency
CATEGORICAL = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

__all__ = [
    "plot_attention",
    "plot_attention_grid",
    "plot_mask",
    "plot_positional_encoding",
    "plot_similarity_vs_distance",
    "plot_loss",
    "series_styles",
]


def series_styles(n: int) -> list[dict[str, str]]:
    """``n`` distinct styles for categorical series, as keyword arguments of ``ax.plot``,
    ``ax.scatter`` or ``ax.errorbar``: ``{"color": ..., "marker": ...}`` (at most 8)."""
    if not 0 <= n <= len(CATEGORICAL):
        raise ValueError(f"series_styles gives 0 to {len(CATEGORICAL)} styles; got n={n}")
    return [{"color": color, "marker": marker} for color, marker in zip(CATEGORICAL[:n], MARKERS[:n], strict=True)]


def _matrix(values: Any, what: str, ndim: int) -> np.ndarray:
    """A tensor/array/list as a float NumPy array of exactly ``ndim`` dimensions."""
    array = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float)
    if array.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions; got shape {array.shape}")
    return array


def _check_labels(labels: Sequence[str], size: int, what: str) -> list[str]:
    if len(labels) != size:
        raise ValueError(f"{what} has {len(labels)} labels but the matrix has {size} positions on that axis")
    return [str(label) for label in labels]


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=size, layout="constrained")[1] if ax is None else ax


def _heatmap(
    ax: Axes,
    matrix: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    cmap: str,
    vmin: float | None,
    vmax: float | None,
    colorbar: bool,
) -> None:
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90)
    ax.set_yticks(range(len(rows)), rows)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8)


def plot_attention(
    weights: Any,
    query_tokens: Sequence[str],
    key_tokens: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    colorbar: bool = True,
) -> Axes:
    """Heatmap of attention weights ``(T_q, T_k)``: row i is where query token i looks.

    ``key_tokens`` defaults to ``query_tokens`` (self-attention).
    """
    matrix = _matrix(weights, "attention weights (T_q, T_k)", 2)
    rows = _check_labels(query_tokens, matrix.shape[0], "query_tokens")
    cols = _check_labels(query_tokens if key_tokens is None else key_tokens, matrix.shape[1], "key_tokens")
    ax = _axes(ax, (1.5 + 0.3 * len(cols), 1.0 + 0.3 * len(rows)))
    _heatmap(ax, matrix, rows, cols, "viridis", 0.0, None, colorbar)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title or "attention weights")
    return ax


def plot_attention_grid(
    weights: Any,
    query_tokens: Sequence[str],
    key_tokens: Sequence[str] | None = None,
    title: str | None = None,
    cell_size: float | None = None,
    row_name: str = "layer",
) -> Figure:
    """All heads of all layers: ``weights`` is ``(layers, heads, T_q, T_k)`` or a list of
    ``(heads, T_q, T_k)`` (one per layer). Rows are layers, columns heads; one shared colour scale.

    ``row_name`` names the rows in the panel titles ("layer 0, head 1"); pass ``"block"`` where the
    text around the figure calls them blocks. Tick labels are 8 pt; ``cell_size`` (inches per panel)
    defaults to enough room for every token label.
    """
    if isinstance(weights, (list, tuple)):
        weights = torch.stack([torch.as_tensor(w).detach().cpu() for w in weights])
    grid = _matrix(weights, "attention weights (layers, heads, T_q, T_k)", 4)
    layers, heads = grid.shape[:2]
    longest = max((len(str(t)) for t in [*query_tokens, *(key_tokens or [])]), default=1)
    if cell_size is None:  # 8 pt labels need ~0.14 inch each, plus room for the longest label
        cell_size = max(1.8, 0.14 * max(grid.shape[2:]) + 0.07 * longest + 0.6)
    fig, axes = plt.subplots(
        layers, heads, figsize=(cell_size * heads + 1.5, cell_size * layers + 0.8), squeeze=False, layout="constrained"
    )
    for layer in range(layers):
        for head in range(heads):
            ax = axes[layer, head]
            plot_attention(
                grid[layer, head],
                query_tokens,
                key_tokens,
                title=f"{row_name} {layer}, head {head}",
                ax=ax,
                colorbar=False,
            )
            ax.images[0].set_clim(0.0, grid.max())
            ax.tick_params(labelsize=MIN_FONT)
            ax.title.set_fontsize(9)
            ax.xaxis.label.set_fontsize(MIN_FONT + 1)
            ax.yaxis.label.set_fontsize(MIN_FONT + 1)
            if head:
                ax.set_ylabel("")
            if layer < layers - 1:
                ax.set_xlabel("")
    fig.colorbar(axes[0, 0].images[0], ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle(title or f"attention weights per {row_name} and head")
    return fig


def plot_mask(
    mask: Any,
    query_tokens: Sequence[str],
    key_tokens: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A ``(T_q, T_k)`` boolean mask: bright where a query may attend (True), dark where not (False),
    with a key saying which is which."""
    from matplotlib.colors import ListedColormap

    matrix = _matrix(mask, "mask (T_q, T_k)", 2)
    rows = _check_labels(query_tokens, matrix.shape[0], "query_tokens")
    cols = _check_labels(query_tokens if key_tokens is None else key_tokens, matrix.shape[1], "key_tokens")
    ax = _axes(ax, (2.8 + 0.3 * len(cols), 1.0 + 0.3 * len(rows)))
    cividis = plt.get_cmap("cividis")
    two = ListedColormap([cividis(0.0), cividis(1.0)], name="cividis")
    image = ax.imshow(matrix, cmap=two, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90)
    ax.set_yticks(range(len(rows)), rows)
    key = ax.figure.colorbar(image, ax=ax, ticks=[0.25, 0.75], shrink=0.6, aspect=8)
    key.ax.set_yticklabels(["False: may not attend", "True: may attend"], fontsize=MIN_FONT + 1)
    key.ax.tick_params(length=0)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title or "mask (True = may attend)")
    return ax


def plot_positional_encoding(pe: Any, title: str | None = None, ax: Axes | None = None) -> Axes:
    """Heatmap of a positional encoding ``(positions, d_model)``: one row per position."""
    matrix = _matrix(pe, "positional encoding (positions, d_model)", 2)
    ax = _axes(ax, (5.0, 3.0))
    image = ax.imshow(matrix, cmap="cividis", aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="value")
    ax.set_xlabel("embedding dimension")
    ax.set_ylabel("position")
    ax.set_title(title or "positional encoding")
    return ax


def plot_similarity_vs_distance(pe: Any, title: str | None = None, ax: Axes | None = None) -> Axes:
    """Mean cosine similarity between the encodings of two positions, against their distance.

    Shows that nearby positions look alike and that the similarity depends (mostly) on the
    offset, not on where the pair sits.
    """
    matrix = _matrix(pe, "positional encoding (positions, d_model)", 2)
    unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    cosine = unit @ unit.T
    distances = np.arange(len(matrix))
    means = [np.diagonal(cosine, offset=d).mean() for d in distances]
    ax = _axes(ax, (4.5, 3.0))
    ax.plot(distances, means, marker=".", color=plt.get_cmap("viridis")(0.3))
    ax.set_xlabel("distance between positions")
    ax.set_ylabel("mean cosine similarity")
    ax.set_title(title or "similarity vs distance")
    ax.grid(alpha=0.3)
    return ax


def plot_loss(history: History, title: str | None = None, ax: Axes | None = None, log: bool = False) -> Axes:
    """Training loss at every step (faint) with a moving average, and the held-out loss."""
    if not history.losses:
        raise ValueError("plot_loss got an empty History (no training steps); train first")
    train, held_out = series_styles(2)
    ax = _axes(ax, (5.5, 3.0))
    window = max(1, len(history.losses) // 20)
    smooth = np.convolve(history.losses, np.ones(window) / window, mode="valid")
    ax.plot(history.steps, history.losses, color=train["color"], alpha=0.25)
    ax.plot(history.steps[window - 1 :], smooth, color=train["color"], label="train")
    if history.eval_losses:
        ax.plot(
            history.eval_steps[: len(history.eval_losses)],
            history.eval_losses,
            "-",
            label="held-out",
            color=held_out["color"],
            marker=held_out["marker"],
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.set_title(title or "loss")
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False
    )  # beside the curves, never on them
    ax.grid(alpha=0.3)
    return ax


def widgets_available() -> bool:
    """True when ipywidgets is installed, a Jupyter kernel runs (a frontend may render the
    widgets) and ``FLOWLIB_NO_WIDGETS`` is not set; otherwise callers draw a static picture."""
    if os.environ.get("FLOWLIB_NO_WIDGETS"):
        return False
    try:
        import ipywidgets  # noqa: F401  (imported only to learn whether it is installed)
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
