"""The self-assessment's pictures: ratings over time, and self-rating against exercise score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowlib.course.self_assessment.calibration import THRESHOLD, Calibration, CalibrationRow
from flowlib.course.self_assessment.objectives import Objectives, load_objectives
from flowlib.course.self_assessment.ratings import RatingsLog


def _new_axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def plot_progress(log: RatingsLog, objectives: Objectives | None = None, *, ax: Any = None, last: int = 20) -> Any:
    """Ratings per objective over time: objectives down, days with ratings across; a Figure.

    Each square is the objective's latest rating that day (UTC), written in it; blank where
    it was not rated that day. Shows the ``last`` days with ratings.
    """
    import numpy as np

    objectives = objectives or load_objectives()
    known = [o.id for o in objectives]
    rated = [i for i in known if any(e["objective"] == i for e in log.events)]
    days = sorted({e["time"].date() for e in log.events if e["objective"] in rated})[-last:]
    figure, ax = _new_axes(ax, (8, max(3.0, 0.35 * len(rated) + 1.8)))
    ax.set_title("Self-ratings per objective over time")
    ax.set_xlabel("day of rating (UTC)")
    ax.set_ylabel("objective")
    if not rated:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no ratings yet", ha="center", va="center", transform=ax.transAxes)
        return figure
    grid = np.full((len(rated), len(days)), np.nan)
    row_of, column_of = {i: n for n, i in enumerate(rated)}, {d: n for n, d in enumerate(days)}
    for event in log.events:  # file order: the day's last rating wins
        column = column_of.get(event["time"].date())
        if event["objective"] in row_of and column is not None:
            grid[row_of[event["objective"]], column] = event["rating"]
    image = ax.imshow(
        np.ma.masked_invalid(grid), cmap="viridis", vmin=1, vmax=5, aspect="auto", interpolation="nearest"
    )
    for (row, column), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(
                column,
                row,
                f"{value:.0f}",
                ha="center",
                va="center",
                color="white" if value <= 3 else "black",
                fontsize="small",
            )
    ax.set_xticks(range(len(days)), [d.isoformat() for d in days], rotation=45, ha="right")
    ax.set_yticks(range(len(rated)), rated)
    ax.set_facecolor("0.95")
    bar = figure.colorbar(image, ax=ax, ticks=[1, 2, 3, 4, 5])
    bar.set_label("self-rating (1-5)")
    return figure


def _label_points(ax: Any, labels: list[tuple[str, float, float]], points: Sequence[tuple[float, float]] = ()) -> None:
    """Write each label next to its point, trying positions around it until it overlaps no other
    label, no point and stays inside the axes (8 pt text)."""
    figure = ax.figure
    try:  # lay the figure out first, so the label boxes are where they will be drawn
        figure.draw_without_rendering()
        renderer = figure._get_renderer()
    except Exception:  # an unusual backend: fall back to the first position
        renderer = None
    placed: list[Any] = []
    if renderer is not None:
        from matplotlib.transforms import Bbox

        for x, y in points:  # a marker of s=60 is about 8 points across
            px, py = ax.transData.transform((x, y))
            r = 5 * figure.dpi / 72
            placed.append(Bbox([[px - r, py - r], [px + r, py + r]]))
    offsets = [
        (6, 6, "left", "bottom"),
        (6, -6, "left", "top"),
        (-6, 6, "right", "bottom"),
        (-6, -6, "right", "top"),
        (0, 12, "center", "bottom"),
        (0, -12, "center", "top"),
        (14, 0, "left", "center"),
        (-14, 0, "right", "center"),
    ]
    grouped: dict[tuple[float, float], list[str]] = {}
    for text, x, y in labels:  # objectives on the same point share one label, one id a line
        grouped.setdefault((x, y), []).append(text)
    for (x, y), texts in grouped.items():
        text = "\n".join(texts)
        if renderer is None:
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
            continue
        frame = ax.get_window_extent(renderer)
        best: tuple[tuple[bool, int], Any, Any] | None = None  # (cost, annotation, its box)
        for dx, dy, ha, va in offsets:  # the first place inside the axes that hides nothing, else the least bad
            note = ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=8, ha=ha, va=va)
            box = note.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            cost = (not inside, sum(box.overlaps(other) for other in placed))
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, note, box)
            else:
                note.remove()
            if cost == (False, 0):
                break
        assert best is not None  # the first offset tried always sets it
        placed.append(best[2])


def _point(row: CalibrationRow) -> tuple[float, float]:
    """``(score, confidence)`` of a row with a gap: both are known."""
    assert row.score is not None and row.confidence is not None  # only rows with a gap are drawn
    return row.score, row.confidence


def plot_calibration(calibration: Calibration, *, ax: Any = None, top: int = 3) -> Any:
    """Self-rating (0..1) against exercise score (0..1), one point per objective; a Figure.

    Points on the diagonal are well calibrated; above it over-confident, below it
    under-confident. The ``top`` largest disagreements are labelled with their ids.
    """
    figure, ax = _new_axes(ax, (6, 5.5))
    rows = [row for row in calibration.rows if row.gap is not None]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="rating matches score")
    ax.fill_between(
        [-0.1, 1.1],
        [-0.1 + THRESHOLD, 1.1 + THRESHOLD],
        [1.1, 1.1],
        color="0.88",
        zorder=0,
        label="over-confident (rating above score)",
    )
    ax.fill_between(
        [-0.1, 1.1],
        [-0.1, -0.1],
        [-0.1 - THRESHOLD, 1.1 - THRESHOLD],
        color="0.96",
        zorder=0,
        label="under-confident (score above rating)",
    )
    if rows:
        gaps = [row.gap for row in rows]
        points = ax.scatter(
            [row.score for row in rows],
            [row.confidence for row in rows],
            c=gaps,
            cmap="cividis",
            vmin=-1,
            vmax=1,
            s=60,
            edgecolors="black",
            zorder=3,
        )
        figure.colorbar(points, ax=ax, label="self-rating minus score")
        _label_points(
            ax,
            [(row.objective.id, *_point(row)) for row in calibration.disagreements(top)],
            [_point(row) for row in rows],
        )
    else:
        ax.text(
            0.5,
            0.5,
            "nothing to compare yet:\nrate objectives that have scored exercises",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    unscored = [row.objective.id for row in calibration.rows if row.verdict == "no evidence"]
    if unscored:
        ax.plot([], [], " ", label=f"rated, no evidence: {', '.join(unscored[:4])}{'...' if len(unscored) > 4 else ''}")
    # the key sits below the axes, under the x label (constrained layout makes room): never on the points
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("exercise score (fraction of points)")
    ax.set_ylabel("self-rating ((rating - 1) / 4)")
    ax.set_title("Calibration: self-rating vs exercise score")
    return figure


def plot_overview(calibration: Calibration, objectives: Objectives | None = None) -> Any:
    """Both pictures side by side (what ``flowlib self-assess --plot`` saves)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(14, 5), layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=[1.4, 1])
    plot_progress(calibration.log, objectives, ax=left)
    plot_calibration(calibration, ax=right)
    return figure
