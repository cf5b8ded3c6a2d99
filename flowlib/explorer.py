"""An attention explorer: pick a model, type a sentence, pick a layer, a head and a token, and see
where that token looks.

* :func:`attention_for` ``(model_name, sentence) -> (tokens, weights)``, weights
  ``(layers, heads, T, T)``: the pure function under the explorer (row i of a map is where query
  token i looks; rows sum to 1; a causal model's maps are 0 above the diagonal).
* :data:`MODELS`, the registry of models to explore (MiniLM and the course's character GPT);
  :func:`register` adds one, :func:`flowlib_source` wraps a flowlib model you trained.
* :func:`plot_token_attention`: one token's attention (bars) beside its head's full map.
* :func:`explore_attention`: the ipywidgets control (plain widgets and matplotlib: no JavaScript of
  its own, nothing from the network). Without a widget frontend (``FLOWLIB_NO_WIDGETS`` set, no
  kernel, no ipywidgets) it draws one static picture of the choice it was given instead.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor, nn

from flowlib.attention import MultiHeadAttention
from flowlib.models import GPT
from flowlib.viz import MIN_FONT, plot_attention, widgets_available

__all__ = [
    "Source", "MODELS", "register", "flowlib_source", "attention_for", "plot_token_attention", "AttentionExplorer", "explore_attention",
]  # fmt: skip

Attend = Callable[[str], tuple[list[str], Tensor]]


@dataclass(frozen=True)
class Source:
    """A model the explorer can show: ``attend(sentence) -> (tokens, weights (layers, heads, T, T))``.

    ``example`` is the sentence it starts with; ``causal`` says whether a token sees only the past;
    ``row_name`` is what the text around it calls one attention stage ("layer" or "block").
    """

    attend: Attend
    example: str
    causal: bool
    row_name: str = "layer"


MODELS: dict[str, Source] = {}


def register(name: str, source: Source) -> None:
    """Add (or replace) a model in :data:`MODELS`, the explorer's list."""
    if not isinstance(source, Source):
        raise TypeError(f"register needs a flowlib.explorer.Source; got {type(source).__name__}")
    MODELS[name] = source


def _label(token: str) -> str:
    """A token as a readable tick label: a space is shown as ␣ and a newline as \\n."""
    return {" ": "␣", "\n": "\\n", "\t": "\\t"}.get(token, token)


@contextlib.contextmanager
def _storing_weights(model: nn.Module) -> Iterator[list[MultiHeadAttention]]:
    """Every MultiHeadAttention of ``model`` keeps its weights (eval mode: no dropout); then all is as before."""
    layers = [m for m in model.modules() if isinstance(m, MultiHeadAttention)]
    if not layers:
        raise TypeError(f"{type(model).__name__} has no flowlib MultiHeadAttention to read weights from")
    stored, training = [m.store_weights for m in layers], model.training
    for m in layers:
        m.store_weights = True
    model.eval()
    try:
        yield layers
    finally:
        for m, keep in zip(layers, stored, strict=True):
            m.store_weights = keep
        model.train(training)


def _stored_weights(layer: MultiHeadAttention) -> Tensor:
    """The weights ``layer`` kept in the forward pass just run: (batch, heads, T_q, T_k)."""
    assert layer.last_weights is not None, "inside _storing_weights every forward pass keeps its weights"
    return layer.last_weights


def flowlib_source(
    model: nn.Module, tokenizer: Any, example: str, causal: bool | None = None, row_name: str = "layer"
) -> Source:
    """A :class:`Source` for a flowlib self-attention model (``GPT``, ``BertEncoder``) and its flowlib
    tokenizer (``CharTokenizer``, ``WordTokenizer``: ``encode`` and ``tokens``). ``causal`` defaults to
    whether the model is a GPT; a GPT reads at most ``block_size`` tokens."""
    causal = isinstance(model, GPT) if causal is None else causal
    limit = model.config.block_size if isinstance(model, GPT) else None

    @torch.no_grad()
    def attend(sentence: str) -> tuple[list[str], Tensor]:
        ids = tokenizer.encode(sentence)
        if limit is not None and len(ids) > limit:
            raise ValueError(f"this model reads at most {limit} tokens; the sentence has {len(ids)}")
        device = next(model.parameters()).device
        with _storing_weights(model) as layers:
            model(torch.tensor([ids], device=device))
            weights = torch.stack([_stored_weights(m)[0] for m in layers]).cpu()
        return [_label(tokenizer.tokens[i]) for i in ids], weights

    return Source(attend, example, causal, row_name)


@contextlib.contextmanager
def _eager_attention(hf_model: Any) -> Iterator[None]:
    """Hugging Face's step-by-step attention, which can return its weights (its fused one cannot)."""
    before = hf_model.config._attn_implementation
    hf_model.set_attn_implementation("eager")
    try:
        yield
    finally:
        hf_model.set_attn_implementation(before)


@torch.no_grad()
def _minilm(sentence: str) -> tuple[list[str], Tensor]:
    from flowlib.pretrained import load_minilm  # loaded once per process, shared with the lesson

    model, tokenizer = load_minilm()
    batch = tokenizer(sentence)
    with _eager_attention(model):
        out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_attentions=True)
    return list(batch.tokens[0]), torch.stack([a[0] for a in out.attentions]).cpu()


@functools.cache
def _char_gpt() -> Source:
    from flowlib.pretrained import load_char_gpt

    model, tokenizer = load_char_gpt(device="cpu")
    return flowlib_source(model, tokenizer, "The for statement", causal=True)


register(
    "MiniLM (all-MiniLM-L6-v2)",
    Source(_minilm, "The animal did not cross the street because it was too tired.", causal=False),
)
register(
    "char GPT (pydoc checkpoint)",
    Source(lambda sentence: _char_gpt().attend(sentence), "The for statement", causal=True),
)


def _sources(models: Mapping[str, Source] | None) -> dict[str, Source]:
    return {**MODELS, **(models or {})}


def _title(name: str, source: Source) -> str:
    return f"{name}, {'causal: a token sees only the past' if source.causal else 'each token sees both ways'}"


def attention_for(
    model_name: str, sentence: str, models: Mapping[str, Source] | None = None
) -> tuple[list[str], Tensor]:
    """``(tokens, weights)`` of ``model_name`` (a name in :data:`MODELS` or ``models``) on ``sentence``.

    ``tokens``: the T token labels (special tokens included); ``weights``: ``(layers, heads, T, T)``,
    row i is where token i looks.
    """
    sources = _sources(models)
    if model_name not in sources:
        raise ValueError(f"no model named {model_name!r}; the explorer knows {sorted(sources)}")
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"type a sentence (a non-empty str); got {sentence!r}")
    tokens, weights = sources[model_name].attend(sentence)
    if weights.dim() != 4 or weights.shape[2:] != (len(tokens), len(tokens)):
        raise ValueError(
            f"{model_name!r} returned weights {tuple(weights.shape)} for {len(tokens)} tokens; expected (layers, heads, T, T)"
        )
    return tokens, weights


def _token_index(tokens: list[str], token: int | str | None) -> int:
    """A token given by position or by text (its first occurrence); None = the last token."""
    if token is None:
        return len(tokens) - 1
    if isinstance(token, str):
        if token not in tokens:
            raise ValueError(f"token {token!r} is not one of the sentence's tokens {tokens}")
        return tokens.index(token)
    if not -len(tokens) <= token < len(tokens):
        raise ValueError(f"token must be between 0 and {len(tokens) - 1}; got {token}")
    return token % len(tokens)


def _check_index(value: int, size: int, what: str) -> None:
    if not 0 <= value < size:
        raise ValueError(f"{what} must be between 0 and {size - 1}; got {value}")


def plot_token_attention(
    tokens: list[str], weights: Tensor, layer: int, head: int, token: int | str | None = None,
    title: str | None = None, row_name: str = "layer",
) -> Figure:  # fmt: skip
    """Left: where one query token looks (a bar per key token); right: that head's full ``(T, T)``
    map with the token's row outlined. ``weights`` is ``(layers, heads, T, T)``; ``token`` a position
    or a token's text (its first occurrence), default the last token; ``title`` names the model."""
    if weights.dim() != 4:
        raise ValueError(f"weights must be (layers, heads, T, T); got shape {tuple(weights.shape)}")
    _check_index(layer, weights.size(0), row_name)
    _check_index(head, weights.size(1), "head")
    query = _token_index(tokens, token)
    matrix = weights[layer, head].detach().cpu().numpy()
    T = len(tokens)
    side = max(3.2, 0.17 * T + 1.6)
    fig, (bars, heat) = plt.subplots(1, 2, figsize=(2 * side + 1.0, side), layout="constrained")
    color = plt.get_cmap("viridis")
    bars.bar(np.arange(T), matrix[query], color=color(0.35))
    rotation = 0 if max(map(len, tokens)) <= 2 else 90  # characters stay upright (a turned "m" reads as "E")
    bars.set_xticks(range(T), tokens, rotation=rotation)
    bars.set_xlim(-0.6, T - 0.4)
    bars.set_ylim(0, max(1e-6, float(matrix[query].max())) * 1.1)
    bars.set_xlabel("key (attended to)")
    bars.set_ylabel("attention weight")
    bars.set_title(f"where {tokens[query]!r} (token {query}) looks", fontsize=10)
    plot_attention(matrix, tokens, title=f"{row_name} {layer}, head {head}: every token", ax=heat)
    heat.add_patch(Rectangle((-0.5, query - 0.5), T, 1, fill=False, edgecolor="white", linewidth=2))
    heat.tick_params(axis="x", labelrotation=rotation)
    for ax in (bars, heat):
        ax.tick_params(labelsize=MIN_FONT)
        ax.title.set_fontsize(10)
    where = f"attention in {row_name} {layer}, head {head}"
    fig.suptitle(f"{title}: {where}" if title else where, fontsize=11)
    return fig


class AttentionExplorer:
    """The widgets (``.box``): model, sentence, layer, head and token pickers above a picture."""

    def __init__(
        self, sources: dict[str, Source], model: str, sentence: str, layer: int, head: int, token: int | str | None
    ) -> None:
        import ipywidgets as w

        self.sources = sources
        self.model = w.Dropdown(options=list(sources), value=model, description="model")
        self.sentence = w.Text(
            value=sentence, description="sentence", continuous_update=False, layout=w.Layout(width="34em")
        )
        self.layer = w.IntSlider(description=sources[model].row_name, min=0, max=0, continuous_update=False)
        self.head = w.IntSlider(description="head", min=0, max=0, continuous_update=False)
        self.token = w.Dropdown(description="token")
        self.output = w.Output()
        self.box = w.VBox(
            [w.HBox([self.model, self.sentence]), w.HBox([self.layer, self.head, self.token]), self.output]
        )
        self.tokens: list[str] = []
        self.weights: Tensor | None = None
        self._busy = False
        self._compute(layer, head, token)
        self.model.observe(self._new_input, names="value")
        self.sentence.observe(self._new_input, names="value")
        for control in (self.layer, self.head, self.token):
            control.observe(lambda _: self.draw(), names="value")

    def _new_input(self, _: Any = None) -> None:
        self._compute(self.layer.value, self.head.value, None)

    def _compute(self, layer: int, head: int, token: int | str | None) -> None:
        try:
            self.tokens, self.weights = attention_for(self.model.value, self.sentence.value, self.sources)
        except ValueError as error:
            self.weights = None
            message = f"cannot show this: {error}"
            self._show(lambda: print(message))
            return
        layers, heads, T = self.weights.shape[:3]
        self._busy = True  # one picture for the whole update, not one per control
        self.layer.description = self.sources[self.model.value].row_name
        self.layer.max, self.head.max = layers - 1, heads - 1
        self.layer.value, self.head.value = min(layer, layers - 1), min(head, heads - 1)
        kept = self.token.value if self.token.value is not None and self.token.value < T else None
        query = _token_index(self.tokens, token if token is not None else kept)
        self.token.options = [(f"{i}: {t}", i) for i, t in enumerate(self.tokens)]
        self.token.value = query
        self._busy = False
        self.draw()

    def _show(self, draw: Callable[[], None]) -> None:
        from IPython.display import clear_output

        with self.output:
            clear_output(wait=True)
            draw()

    def draw(self) -> None:
        """Redraw the picture for the current choice."""
        weights = self.weights
        if self._busy or weights is None:
            return
        from IPython.display import display

        def show() -> None:
            source = self.sources[self.model.value]
            fig = plot_token_attention(self.tokens, weights, self.layer.value, self.head.value, self.token.value,
                                       title=_title(self.model.value, source), row_name=source.row_name)  # fmt: skip
            display(fig)
            plt.close(fig)

        self._show(show)


def explore_attention(
    model: str | None = None, sentence: str | None = None, layer: int = 0, head: int = 0, token: int | str | None = None,
    models: Mapping[str, Source] | None = None, widgets: bool | None = None,
) -> None:  # fmt: skip
    """Show the explorer for ``model`` (default: the first in :data:`MODELS`, then ``models``) on
    ``sentence`` (default: the model's example), starting at ``layer``, ``head`` and ``token``
    (a position or a token's text; default the last token).

    ``widgets=None`` uses widgets when a Jupyter kernel with ipywidgets runs and
    ``FLOWLIB_NO_WIDGETS`` is not set; otherwise (or with ``widgets=False``) it draws one static
    picture of that choice.
    """
    sources = _sources(models)
    model = model if model is not None else next(iter(sources))
    if model not in sources:
        raise ValueError(f"no model named {model!r}; the explorer knows {sorted(sources)}")
    sentence = sentence if sentence is not None else sources[model].example
    if widgets_available() if widgets is None else widgets:
        from IPython.display import display

        display(AttentionExplorer(sources, model, sentence, layer, head, token).box)
        return
    tokens, weights = attention_for(model, sentence, sources)
    plot_token_attention(
        tokens, weights, layer, head, token, title=_title(model, sources[model]), row_name=sources[model].row_name
    )
    plt.show()
