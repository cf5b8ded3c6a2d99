"""What can be checked of a figure without looking at it: what every lesson figure must get right.

:func:`problems` reads a drawn figure: tick labels of at least :data:`MIN_FONT` points, whole-number
ticks on an axis that counts (steps, epochs, layers, heads, positions, tokens...), a colour of its own
for each legend entry, and no labelled line drawn over another in the same colour-free way (same
marker and line style) where the two coincide.

:func:`install` makes every figure a notebook renders (shown inline or saved) pass through
:func:`problems`, which appends what it finds to a JSON-lines file. The root ``conftest.py`` installs
it in the kernels that nbval starts for the lessons (``PYTHONSTARTUP`` runs ``figure_startup.py``) and
fails the cell that drew a figure with problems: the figures are checked in the one run the suite
makes of each notebook, not in a second one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

MIN_FONT = 8.0  # points (flowlib.viz.MIN_FONT: not imported, this module runs in the kernel before flowlib is)
# An axis that counts: its ticks must be whole numbers. Matched against each line of the axis label.
COUNTING = re.compile(
    r"^(?:(?:generation|training|key|query|pixel|patch|sequence)\s+)?"
    r"(?:steps?|epochs?|layers?|heads?|head_dim|d_k|positions?|tokens?|length|distance|rows?|columns?|"
    r"embedding dimension|vocabulary size)\b(?!.*\bper\b)",
    re.I,
)
OVERLAP_PX = 1.0  # screen cells (pixels): points in the same or a neighbouring cell are drawn over each other


def _name(ax: Any) -> str:
    return repr(ax.get_title() or _suptitle(ax.figure))


def _axes(figure: Any) -> Iterator[Any]:
    yield from (ax for ax in figure.get_axes() if ax.get_visible())


def _tick_problems(ax: Any) -> Iterator[str]:
    for axis, which in ((ax.xaxis, "x"), (ax.yaxis, "y")):
        if not axis.get_visible():
            continue
        small = sorted(
            {
                label.get_fontsize()
                for label in axis.get_ticklabels(which="both")
                if label.get_visible() and label.get_text()
            }
        )
        if small and small[0] < MIN_FONT:
            yield f"{_name(ax)}: {which} tick labels of {small[0]:g} pt (at least {MIN_FONT:g})"
        label = axis.get_label_text()
        if any(COUNTING.match(line.strip()) for line in label.splitlines()):
            fractional = [v for v in _shown_numbers(axis) if abs(v - round(v)) > 1e-9]
            if fractional:
                at = ", ".join(f"{v:g}" for v in fractional[:3])
                yield f"{_name(ax)}: the {which} axis {label!r} counts, but has ticks labelled {at}"


def _shown_numbers(axis: Any) -> list[float]:
    """The numbers the axis's major tick labels show inside its view (what a reader sees: a tick
    placed at 0.5 and labelled 0 shows 0); labels that are not numbers are left out."""
    low, high = sorted(axis.get_view_interval())
    numbers = []
    for where, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels(), strict=False):
        if low - 1e-9 <= where <= high + 1e-9 and label.get_visible():
            try:
                numbers.append(float(label.get_text().replace("\N{MINUS SIGN}", "-")))
            except ValueError:
                continue
    return numbers


def _colour(handle: Any) -> tuple[float, ...] | None:
    from matplotlib.colors import to_rgb

    for getter in ("get_color", "get_facecolor", "get_edgecolor"):
        if hasattr(handle, getter):
            value = getattr(handle, getter)()
            if hasattr(value, "ndim") and value.ndim == 2:  # a collection: its first colour
                if not len(value):
                    continue
                value = value[0]
            try:
                return tuple(round(c, 3) for c in to_rgb(value))
            except ValueError:
                continue
    return None


def _legend_problems(figure: Any) -> Iterator[str]:
    legends = [ax.get_legend() for ax in _axes(figure)] + list(figure.legends)
    for legend in (lg for lg in legends if lg is not None and lg.get_visible()):
        seen: dict[tuple[float, ...], str] = {}
        handles = getattr(legend, "legend_handles", None) or legend.legendHandles
        for handle, text in zip(handles, legend.get_texts(), strict=False):
            colour = _colour(handle)
            if colour is None:
                continue
            if colour in seen:
                yield f"{_name(legend.axes) if legend.axes else repr(_suptitle(figure))}: legend entries {seen[colour]!r} and {text.get_text()!r} share the colour {colour}"
            seen.setdefault(colour, text.get_text())


def _cells(line: Any) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
    """The line's points as screen cells of :data:`OVERLAP_PX`, and those cells with their neighbours."""
    import numpy as np

    xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
    xy = xy[np.isfinite(xy).all(axis=1)]
    cells = [(int(i), int(j)) for i, j in np.floor(line.get_transform().transform(xy) / OVERLAP_PX)] if len(xy) else []
    near = {(i + di, j + dj) for i, j in cells for di in (-1, 0, 1) for dj in (-1, 0, 1)}
    return cells, near


def _overlap_problems(ax: Any) -> Iterator[str]:
    lines = [line for line in ax.get_lines() if line.get_visible() and not line.get_label().startswith("_")]
    cells = {line: _cells(line) for line in lines}
    for i, first in enumerate(lines):
        for second in lines[i + 1 :]:
            same_look = first.get_marker() == second.get_marker() and first.get_linestyle() == second.get_linestyle()
            close = sum(cell in cells[second][1] for cell in cells[first][0])
            if same_look and close >= 2:
                yield (
                    f"{_name(ax)}: {first.get_label()!r} and {second.get_label()!r} coincide at {close} points with the "
                    "same marker and line style: the one drawn first is hidden"
                )


def problems(figure: Any) -> list[str]:
    """What is wrong with a figure that has been drawn (``figure.canvas.draw()`` or rendered)."""
    found = [p for ax in _axes(figure) for p in (*_tick_problems(ax), *_overlap_problems(ax))]
    return found + list(_legend_problems(figure))


def install(report: str) -> None:
    """Check every figure rendered from now on (``FigureCanvasBase.print_figure``: inline display and
    ``savefig`` alike), appending ``{"figure": ..., "problem": ...}`` lines to ``report``."""
    from matplotlib.backend_bases import FigureCanvasBase

    render = FigureCanvasBase.print_figure

    def print_and_check(canvas: Any, *args: Any, **kwargs: Any) -> Any:
        result = render(canvas, *args, **kwargs)
        found = problems(canvas.figure)
        with open(report, "a", encoding="utf-8") as out:
            out.write(json.dumps({"figure": _suptitle(canvas.figure), "problems": found}) + "\n")
        return result

    FigureCanvasBase.print_figure = print_and_check
    with open(report, "a", encoding="utf-8"):
        pass  # the file's existence says the check is installed


def _suptitle(figure: Any) -> str:
    text = figure.get_suptitle() if hasattr(figure, "get_suptitle") else ""
    return text or next((ax.get_title() for ax in figure.get_axes() if ax.get_title()), "untitled figure")
