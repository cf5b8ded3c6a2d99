"""The figure check that runs inside every notebook nbval runs (tests/figure_check.py, installed by
the root conftest.py): what it catches and what it lets through, on small figures drawn here."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from flowlib.viz import MIN_FONT, series_styles  # noqa: E402
from tests import figure_check  # noqa: E402


@pytest.fixture
def figure():
    fig, ax = plt.subplots(figsize=(4, 3))
    yield fig, ax
    plt.close(fig)


def drawn(fig):
    fig.canvas.draw()
    return figure_check.problems(fig)


def test_a_figure_that_reads_has_no_problem(figure):
    fig, ax = figure
    for k, style in enumerate(series_styles(3)):
        ax.plot(range(6), [k * x for x in range(6)], label=f"series {k}", **style)
    ax.set_xlabel("step")
    ax.legend()
    assert MIN_FONT == figure_check.MIN_FONT and drawn(fig) == []


def test_fractional_ticks_on_an_axis_that_counts(figure):
    fig, ax = figure
    ax.plot([0, 15], [0, 1])
    ax.set_xticks([0, 2.5, 5, 7.5])
    ax.set_xlabel("generation step")
    ax.set_ylabel("ms per step")  # a measure: fractions are fine
    (problem,) = drawn(fig)
    assert "'generation step' counts, but has ticks labelled 2.5, 7.5" in problem
    ax.set_xticks([0.5, 2.5, 4.5], ["0", "1", "2"])  # placed between pixels, labelled with whole numbers: fine
    assert drawn(fig) == []


def test_small_tick_labels(figure):
    fig, ax = figure
    ax.plot([0, 1], [0, 1])
    ax.tick_params(axis="y", labelsize=6)
    (problem,) = drawn(fig)
    assert "y tick labels of 6 pt" in problem


def test_legend_entries_in_one_colour(figure):
    fig, ax = figure
    ax.plot([0, 1], [0, 1], color="tab:blue", label="LoRA r=8")
    ax.plot([0, 1], [1, 0], color="tab:blue", marker="o", label="full fine-tuning")
    ax.scatter([0.5], [0.2], color="tab:orange", label="frozen")
    ax.legend()
    (problem,) = drawn(fig)
    assert "'LoRA r=8' and 'full fine-tuning' share the colour" in problem


def test_a_series_drawn_over_another(figure):
    fig, ax = figure
    ax.plot([1, 2, 3, 4], [1, 2, 3, 4], color="#0072B2", label="cache")
    ax.plot([1, 2, 3, 4], [1, 2, 3, 9], color="#E69F00", label="sliding")  # hides 'cache' at 1, 2, 3
    assert any("'cache' and 'sliding' coincide at 3 points" in p for p in drawn(fig))
    ax.lines[1].set_linestyle("--")  # a dashed line over a solid one: both show
    assert drawn(fig) == []


def test_install_checks_every_rendered_figure(tmp_path, figure, monkeypatch):
    from matplotlib.backend_bases import FigureCanvasBase

    monkeypatch.setattr(FigureCanvasBase, "print_figure", FigureCanvasBase.print_figure)  # undone after the test
    report = tmp_path / "figures.jsonl"
    figure_check.install(str(report))
    assert report.read_text() == ""  # installed: the file is there
    fig, ax = figure
    ax.plot([0, 3], [0, 1])
    ax.set_xticks([0, 1.5, 3])
    ax.set_xlabel("layer")
    ax.set_title("depth")
    fig.savefig(tmp_path / "depth.png")
    (line,) = report.read_text().splitlines()
    record = json.loads(line)
    assert record["figure"] == "depth" and "has ticks labelled 1.5" in record["problems"][0]
