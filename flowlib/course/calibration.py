"""How a learner's self-ratings compare with what they can do, and the ``self-assess`` command.

For each objective, the latest self-rating (1-5, mapped to 0..1 as ``(r - 1) / 4``) is put
beside the fraction of points earned on the exercises that evidence it
(``objectives.json``'s ``"exercises"``: nbgrader grade ids). Scores come from, in order:

1. nbgrader feedback a learner fetched: ``<course>/<lesson>/feedback/<time>/<lesson>.html``;
2. an instructor's feedback: ``<course>/feedback/<student>/<lesson>/<lesson>.html``;
3. an autograded notebook: ``<course>/autograded/<student>/<lesson>/<lesson>.ipynb``;
4. running the visible tests of the learner's own notebook here
   (``<course>/<lesson>/<lesson>.ipynb`` or ``<course>/notebooks/<lesson>/<lesson>.ipynb``)
   with :func:`flowlib.grading.score_notebook`.

The objectives where confidence and results disagree most are called out, with the lesson
sections to revisit. :func:`plot_progress` and :func:`plot_calibration` draw the pictures;
:func:`main` is ``flowlib self-assess``.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flowlib import grading
from flowlib.course.self_assessment import (
    Objective,
    Objectives,
    RatingsLog,
    course_dir,
    latest_ratings,
    load_objectives,
    objectives_path,
    ratings_path,
    read_ratings,
    record,
)

__all__ = [
    "LessonScores",
    "CalibrationRow",
    "Calibration",
    "parse_feedback_html",
    "scores_from_notebook_outputs",
    "lesson_scores",
    "calibrate",
    "plot_progress",
    "plot_calibration",
    "plot_overview",
    "demo_session",
    "main",
]

THRESHOLD = 0.25  # one step of the 1-5 slider: a smaller gap is "about right"
Scorer = Callable[[Path], Mapping[str, grading.TestResult]]


# ---------------------------------------------------------------------------------------------
# Scores per grade cell
# ---------------------------------------------------------------------------------------------


@dataclass
class LessonScores:
    """Per-grade-cell ``(points, max_points)`` of one lesson, and where they came from."""

    lesson: str
    source: str = "none"  # "feedback", "autograded", "local tests" or "none"
    path: Path | None = None
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    note: str = ""


_NUMBER = r"(-?\d+(?:\.\d+)?)"
# The table of contents of nbgrader's feedback page: <li><a href="#ID">Test cell</a> (Score: 1.0 / 1.0)</li>
_TOC = re.compile(r'<a\s+href="#([^"]+)"\s*>[^<]*</a>\s*\(Score:\s*' + _NUMBER + r"\s*/\s*" + _NUMBER + r"\s*\)")
# Each graded cell's heading: <a name="ID"></a><div class="panel-heading"> ... Score: 1.0 / 1.0 ...
_HEADING = re.compile(
    r'<a\s+name="(?!comment-)([^"]+)"\s*>\s*</a>\s*<div\s+class="panel-heading">(.*?)</div>', re.DOTALL
)
_SCORE = re.compile(r"Score:\s*" + _NUMBER + r"\s*/\s*" + _NUMBER)


def parse_feedback_html(text: str) -> dict[str, tuple[float, float]]:
    """``{grade_id: (score, max_score)}`` from an nbgrader (0.9) feedback HTML page.

    Reads the page's table of contents and, for any cell missing there, the cell's own
    heading; the late-penalty line and comment links carry no grade id and are ignored.
    """
    found: dict[str, tuple[float, float]] = {}
    for grade_id, score, points in _TOC.findall(text):
        found[html.unescape(grade_id)] = (float(score), float(points))
    for grade_id, heading in _HEADING.findall(text):
        key = html.unescape(grade_id)
        match = _SCORE.search(heading)
        if match and key not in found:
            found[key] = (float(match.group(1)), float(match.group(2)))
    return found


def scores_from_notebook_outputs(notebook: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """``{grade_id: (score, points)}`` of an autograded notebook, decided as nbgrader does:
    a test cell earns its points unless it produced an error. A score already stored in the
    cell's nbgrader metadata wins; manually graded cells without one are left out."""
    found: dict[str, tuple[float, float]] = {}
    for cell in notebook.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if not meta.get("grade") or "grade_id" not in meta:
            continue
        points = float(meta.get("points", 0) or 0)
        if meta.get("score") is not None:
            found[meta["grade_id"]] = (float(meta["score"]), points)
        elif cell.get("cell_type") == "code" and not meta.get("solution"):
            failed = any(output.get("output_type") == "error" for output in cell.get("outputs", []))
            found[meta["grade_id"]] = (0.0 if failed else points, points)
    return found


def exercise_groups(notebook: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{answer cell grade_id: [grade_ids of the test cells that follow it]}``.

    Lets ``objectives.json`` name an exercise by its answer cell: its evidence is the test
    cells after it, up to the next answer cell.
    """
    groups: dict[str, list[str]] = {}
    current: str | None = None
    for cell in notebook.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if "grade_id" not in meta:
            continue
        if meta.get("solution"):
            current = meta["grade_id"]
            groups.setdefault(current, [])
        elif meta.get("grade") and current is not None:
            groups[current].append(meta["grade_id"])
    return groups


def _read_notebook(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _only_student(folder: Path, lesson: str, student: str | None, tail: str) -> tuple[Path | None, str]:
    """The one ``folder/<student>/<lesson>/<tail>`` to read, or why there is none."""
    if not folder.is_dir():
        return None, ""
    if student is not None:
        path = folder / student / lesson / tail
        return (path, "") if path.is_file() else (None, "")
    candidates = sorted(p for p in folder.glob(f"*/{lesson}/{tail}") if p.is_file())
    if len(candidates) == 1:
        return candidates[0], ""
    if len(candidates) > 1:
        names = [p.parent.parent.name for p in candidates]
        return None, f"{len(candidates)} students in {folder} ({', '.join(names[:5])}...); pass student="
    return None, ""


def learner_notebook(course: Path, lesson: str) -> Path | None:
    """The learner's working copy of a lesson, if there is one."""
    for path in (course / lesson / f"{lesson}.ipynb", course / "notebooks" / lesson / f"{lesson}.ipynb"):
        if path.is_file():
            return path
    return None


def lesson_scores(
    lesson: str,
    course: Path | str | None = None,
    *,
    student: str | None = None,
    run_tests: bool = True,
    scorer: Scorer | None = None,
) -> LessonScores:
    """The best available per-grade-cell scores of ``lesson`` (see the module docstring).

    Never raises for missing folders or unreadable files: ``source`` is then ``"none"`` and
    ``note`` says why. ``scorer`` replaces :func:`flowlib.grading.score_notebook`.
    """
    root = Path(course) if course is not None else course_dir()
    notes: list[str] = []

    # 1. feedback the learner fetched: the newest timestamp folder wins
    learner_feedback = root / lesson / "feedback"
    if learner_feedback.is_dir():
        pages = sorted(p for p in learner_feedback.glob(f"*/{lesson}.html") if p.is_file())
        for page in reversed(pages):
            parsed = _try(lambda: parse_feedback_html(page.read_text(encoding="utf-8", errors="replace")), notes, page)
            if parsed:
                return LessonScores(lesson, "feedback", page, parsed)
    # 2. instructor's feedback and 3. autograded notebooks
    for folder, tail, source, reader in (
        (root / "feedback", f"{lesson}.html", "feedback",
         lambda p: parse_feedback_html(p.read_text(encoding="utf-8", errors="replace"))),
        (root / "autograded", f"{lesson}.ipynb", "autograded",
         lambda p: scores_from_notebook_outputs(_read_notebook(p))),
    ):
        path, why = _only_student(folder, lesson, student, tail)
        if why:
            notes.append(why)
        if path is not None:
            parsed = _try(lambda: reader(path), notes, path)
            if parsed:
                return LessonScores(lesson, source, path, parsed)
    # 4. the visible tests of the learner's own notebook, run here
    notebook = learner_notebook(root, lesson)
    if notebook is None:
        notes.append(f"no feedback and no notebook {lesson}/{lesson}.ipynb in {root}")
        return LessonScores(lesson, note="; ".join(notes))
    if not run_tests:
        notes.append("no feedback; local tests not run")
        return LessonScores(lesson, path=notebook, note="; ".join(notes))
    score = scorer or grading.score_notebook
    results = _try(lambda: {k: (r.points, r.max_points) for k, r in score(notebook).items()}, notes, notebook)
    if results is None:
        return LessonScores(lesson, path=notebook, note="; ".join(notes))
    return LessonScores(lesson, "local tests", notebook, results, note="; ".join(notes))


def _try(action: Callable[[], Any], notes: list[str], path: Path) -> Any:
    try:
        return action()
    except Exception as error:  # a damaged file is reported, never fatal
        notes.append(f"could not read {path}: {type(error).__name__}: {error}")
        return None


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


@dataclass
class CalibrationRow:
    """One objective: self-rating beside exercise score."""

    objective: Objective
    rating: int | None = None
    rated_at: datetime | None = None
    points: float = 0.0
    max_points: float = 0.0
    source: str = "none"
    missing: list[str] = field(default_factory=list)  # listed exercises with no score found

    @property
    def confidence(self) -> float | None:
        """The latest self-rating on 0..1: ``(rating - 1) / 4``."""
        return None if self.rating is None else (self.rating - 1) / 4

    @property
    def score(self) -> float | None:
        """Fraction of the evidencing exercises' points earned, or None without evidence."""
        return None if self.max_points <= 0 else self.points / self.max_points

    @property
    def gap(self) -> float | None:
        """confidence - score: > 0 over-confident, < 0 under-confident."""
        if self.confidence is None or self.score is None:
            return None
        return self.confidence - self.score

    @property
    def verdict(self) -> str:
        if self.rating is None:
            return "not rated"
        if self.score is None:
            return "no evidence"
        if self.gap > THRESHOLD:
            return "over-confident"
        if self.gap < -THRESHOLD:
            return "under-confident"
        return "about right"

    @property
    def revisit(self) -> list[str]:
        """Where to look again: the objective's sections, else its lesson."""
        return list(self.objective.sections) or [f"lesson {self.objective.lesson}"]


@dataclass
class Calibration:
    rows: list[CalibrationRow]
    lessons: dict[str, LessonScores]
    log: RatingsLog

    def disagreements(self, top: int = 3, threshold: float = THRESHOLD) -> list[CalibrationRow]:
        """The ``top`` objectives whose confidence and results differ most (|gap| > threshold)."""
        scored = [row for row in self.rows if row.gap is not None and abs(row.gap) > threshold]
        return sorted(scored, key=lambda row: (-abs(row.gap), row.objective.id))[:top]

    def table(self) -> str:
        """A plain-text table: objective, rating, score, verdict, where the score came from."""
        header = f"{'objective':<24} {'rating':>6} {'score':>7}  {'verdict':<16} evidence"
        lines = [header, "-" * len(header)]
        for row in self.rows:
            rating = "-" if row.rating is None else f"{row.rating}/5"
            score = "-" if row.score is None else f"{100 * row.score:5.0f}%"
            if not row.objective.exercises:
                evidence = "no exercises listed"
            elif row.score is None:
                evidence = f"no score ({self.lessons[row.objective.lesson].note or 'nothing found'})"
            else:
                evidence = f"{row.points:g}/{row.max_points:g} points from {row.source}"
            lines.append(f"{row.objective.id:<24} {rating:>6} {score:>7}  {row.verdict:<16} {evidence}")
        return "\n".join(lines)

    def summary(self, top: int = 3) -> str:
        """The call-outs: where confidence and results disagree most, and what to revisit."""
        worst = self.disagreements(top)
        if not worst:
            compared = sum(1 for row in self.rows if row.gap is not None)
            if not compared:
                return "Nothing to compare yet: rate objectives that have scored exercises."
            return f"Your ratings match your results on all {compared} objective(s) with evidence."
        lines = ["Where your confidence and your results disagree most:"]
        for row in worst:
            direction = "more confident than your results" if row.gap > 0 else "results better than your rating"
            lines.append(
                f"  {row.objective.id} ({row.verdict}: rated {row.rating}/5, scored {100 * row.score:.0f}%; "
                f"{direction}). Revisit: {'; '.join(row.revisit)}"
            )
        return "\n".join(lines)


def calibrate(
    course: Path | str | None = None,
    *,
    objectives: Objectives | None = None,
    log: RatingsLog | None = None,
    scores: Mapping[str, LessonScores | Mapping[str, tuple[float, float]]] | None = None,
    student: str | None = None,
    run_tests: bool = True,
    scorer: Scorer | None = None,
    only_rated: bool = True,
) -> Calibration:
    """Self-rating beside exercise score for every objective.

    ``scores`` (``{lesson: LessonScores or {grade_id: (points, max)}}``) replaces looking
    them up; otherwise :func:`lesson_scores` finds them, for rated lessons only when
    ``only_rated`` (so a learner with no ratings runs no tests).
    """
    root = Path(course) if course is not None else course_dir()
    objectives = objectives or load_objectives(objectives_path(root))
    log = log if log is not None else read_ratings(root)
    latest = latest_ratings(log, objectives)
    rated_lessons = {o.lesson for o in objectives if o.id in latest}
    lessons: dict[str, LessonScores] = {}
    for lesson in objectives.lessons():
        if scores is not None:
            given = scores.get(lesson)
            if isinstance(given, LessonScores):
                lessons[lesson] = given
            else:
                lessons[lesson] = LessonScores(lesson, "given scores" if given else "none", None, dict(given or {}))
        elif only_rated and lesson not in rated_lessons:
            lessons[lesson] = LessonScores(lesson, note="not rated, not scored")
        elif not any(o.exercises for o in objectives.for_lesson(lesson)):
            lessons[lesson] = LessonScores(lesson, note="no exercises listed")
        else:
            lessons[lesson] = lesson_scores(lesson, root, student=student, run_tests=run_tests, scorer=scorer)
    groups = {lesson: _groups_for(root, objectives, lesson) for lesson in lessons}
    rows = []
    for objective in objectives:
        lesson = lessons[objective.lesson]
        event = latest.get(objective.id)
        row = CalibrationRow(
            objective,
            rating=None if event is None else int(event["rating"]),
            rated_at=None if event is None else event["time"],
            source=lesson.source,
        )
        for grade_id in _expand(objective.exercises, lesson.scores, groups[objective.lesson]):
            if grade_id in lesson.scores:
                earned, possible = lesson.scores[grade_id]
                row.points += earned
                row.max_points += possible
            else:
                row.missing.append(grade_id)
        rows.append(row)
    return Calibration(rows, lessons, log)


def _groups_for(root: Path, objectives: Objectives, lesson: str) -> dict[str, list[str]]:
    """Answer cell -> test cells, from the learner's notebook or the course's solution notebook."""
    candidates = [learner_notebook(root, lesson)]
    if objectives.path is not None:
        candidates.append(objectives.path.resolve().parent.parent / "solutions" / lesson / f"{lesson}.ipynb")
    for path in candidates:
        if path is not None and path.is_file():
            try:
                return exercise_groups(_read_notebook(path))
            except Exception:
                continue
    return {}


def _expand(exercises: Iterable[str], scores: Mapping[str, Any], groups: Mapping[str, list[str]]) -> list[str]:
    """Grade ids to count: a test cell as is; an answer cell as the test cells after it."""
    found: list[str] = []
    for grade_id in exercises:
        if grade_id in scores and scores[grade_id][1] > 0:
            expanded = [grade_id]
        elif groups.get(grade_id):
            expanded = list(groups[grade_id])
        else:
            expanded = [k for k in scores if k.startswith(grade_id + "_")] or [grade_id]
        found.extend(g for g in expanded if g not in found)
    return found


# ---------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------


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
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", vmin=1, vmax=5, aspect="auto",
                      interpolation="nearest")
    for (row, column), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(column, row, f"{value:.0f}", ha="center", va="center",
                    color="white" if value <= 3 else "black", fontsize="small")
    ax.set_xticks(range(len(days)), [d.isoformat() for d in days], rotation=45, ha="right")
    ax.set_yticks(range(len(rated)), rated)
    ax.set_facecolor("0.95")
    bar = figure.colorbar(image, ax=ax, ticks=[1, 2, 3, 4, 5])
    bar.set_label("self-rating (1-5)")
    return figure


def _label_points(ax: Any, labels: list[tuple[str, float, float]], points: list[tuple[float, float]] = ()) -> None:  # type: ignore[assignment]
    """Write each label next to its point, trying positions around it until it overlaps no other
    label, no point and stays inside the axes (8 pt text)."""
    figure = ax.figure
    try:  # lay the figure out first, so the label boxes are where they will be drawn
        figure.draw_without_rendering()
        renderer = figure._get_renderer()
    except Exception:  # noqa: BLE001 - an unusual backend: fall back to the first position
        renderer = None
    placed: list[Any] = []
    if renderer is not None:
        from matplotlib.transforms import Bbox

        for x, y in points:  # a marker of s=60 is about 8 points across
            px, py = ax.transData.transform((x, y))
            r = 5 * figure.dpi / 72
            placed.append(Bbox([[px - r, py - r], [px + r, py + r]]))
    offsets = [(6, 6, "left", "bottom"), (6, -6, "left", "top"), (-6, 6, "right", "bottom"), (-6, -6, "right", "top"),
               (0, 12, "center", "bottom"), (0, -12, "center", "top"), (14, 0, "left", "center"), (-14, 0, "right", "center")]
    grouped: dict[tuple[float, float], list[str]] = {}
    for text, x, y in labels:  # objectives on the same point share one label, one id a line
        grouped.setdefault((x, y), []).append(text)
    for (x, y), texts in grouped.items():
        text = "\n".join(texts)
        if renderer is None:
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
            continue
        frame = ax.get_window_extent(renderer)
        best = None
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
        placed.append(best[2])  # type: ignore[index]


def plot_calibration(calibration: Calibration, *, ax: Any = None, top: int = 3) -> Any:
    """Self-rating (0..1) against exercise score (0..1), one point per objective; a Figure.

    Points on the diagonal are well calibrated; above it over-confident, below it
    under-confident. The ``top`` largest disagreements are labelled with their ids.
    """
    figure, ax = _new_axes(ax, (6, 5.5))
    rows = [row for row in calibration.rows if row.gap is not None]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="rating matches score")
    ax.fill_between([-0.1, 1.1], [-0.1 + THRESHOLD, 1.1 + THRESHOLD], [1.1, 1.1], color="0.88", zorder=0,
                    label="over-confident (rating above score)")
    ax.fill_between([-0.1, 1.1], [-0.1, -0.1], [-0.1 - THRESHOLD, 1.1 - THRESHOLD], color="0.96", zorder=0,
                    label="under-confident (score above rating)")
    if rows:
        gaps = [row.gap for row in rows]
        points = ax.scatter([row.score for row in rows], [row.confidence for row in rows], c=gaps,
                            cmap="cividis", vmin=-1, vmax=1, s=60, edgecolors="black", zorder=3)
        figure.colorbar(points, ax=ax, label="self-rating minus score")
        _label_points(ax, [(row.objective.id, row.score, row.confidence) for row in calibration.disagreements(top)],
                      [(row.score, row.confidence) for row in rows])
    else:
        ax.text(0.5, 0.5, "nothing to compare yet:\nrate objectives that have scored exercises",
                ha="center", va="center", transform=ax.transAxes)
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


def demo_session(
    objectives: Objectives | None = None,
) -> tuple[Objectives, RatingsLog, dict[str, dict[str, tuple[float, float]]]]:
    """A made-up learner, in memory only (nothing is read or written): for pictures and examples.

    Returns objectives whose exercises are replaced by one made-up exercise each, a ratings
    log with two rounds of ratings a week apart, and scores for those exercises.
    """
    import random
    from dataclasses import replace
    from datetime import timedelta, timezone

    base = objectives or load_objectives()
    generator = random.Random(0)
    items = tuple(replace(o, exercises=(f"demo_{o.id}",)) for o in base)
    demo = Objectives(items=items, scale=base.scale, path=None)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
    events, scores = [], {}
    for index, objective in enumerate(items):
        first = generator.randint(1, 3)
        second = min(5, first + generator.randint(0, 2))
        for week, rating in ((0, first), (1, second)):
            when = start + timedelta(days=7 * week)
            events.append({"timestamp": when.isoformat(), "time": when, "lesson": objective.lesson,
                           "objective": objective.id, "rating": rating, "flowlib": "demo"})
        earned = float(generator.choice([0, 1, 2, 3, 4]))
        scores.setdefault(objective.lesson, {})[f"demo_{objective.id}"] = (earned, 4.0)
    return demo, RatingsLog(path=Path("(demo learner, in memory)"), events=events), scores


# ---------------------------------------------------------------------------------------------
# flowlib self-assess
# ---------------------------------------------------------------------------------------------


def ratings_report(log: RatingsLog, objectives: Objectives) -> str:
    """Latest rating of each objective, with how many times it was rated and its first rating."""
    lines = []
    if log.message():
        lines.append(log.message())
    if not log.events:
        return "\n".join(lines)
    history: dict[str, list[dict[str, Any]]] = {}
    for event in log.events:
        history.setdefault(str(event["objective"]), []).append(event)
    lines.append(f"Your ratings ({len(log.events)} in {log.path}):")
    for objective in objectives:
        events = history.get(objective.id)
        if not events:
            lines.append(f"  {objective.id:<24} -    (not rated)  {objective.statement}")
            continue
        last = events[-1]
        trail = " -> ".join(str(e["rating"]) for e in events[-5:])
        lines.append(
            f"  {objective.id:<24} {last['rating']}/5  ({trail}; latest {last['time']:%Y-%m-%d %H:%M})  "
            f"{objective.statement}"
        )
    known = {o.id for o in objectives}
    unknown = sorted(set(history) - known)
    if unknown:
        lines.append(f"  (ratings of objectives no longer in the course, kept but not shown: {unknown})")
    return "\n".join(lines)


def prompt_ratings(
    lesson: str,
    objectives: Objectives,
    *,
    ask: Callable[[str], str] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Ask for a 1-5 rating of each objective of ``lesson``; empty skips, ``q`` stops.

    ``ask`` and ``say`` default to :func:`input` and :func:`print`.
    """
    ask = ask or (lambda prompt: input(prompt))
    say = say or print
    say(f"Rate yourself on {lesson}: " + ", ".join(f"{k} = {v}" for k, v in sorted(objectives.scale.items())))
    say("Type 1-5 and Enter; Enter alone skips an objective; q quits without saving.")
    answers: dict[str, int] = {}
    for objective in objectives.for_lesson(lesson):
        while True:
            reply = ask(f"{objective.statement}\n  [{objective.id}] 1-5: ").strip().lower()
            if reply == "":
                break
            if reply in {"q", "quit"}:
                return {}
            if reply in {"1", "2", "3", "4", "5"}:
                answers[objective.id] = int(reply)
                break
            say(f"  {reply!r} is not a rating: type a whole number from 1 to 5 (or Enter to skip)")
    return answers


def main(argv: list[str] | None = None) -> int:
    """``flowlib self-assess``: show, rate, plot. Returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="flowlib self-assess",
        description="Your self-ratings of the course objectives and how they compare with your exercise scores.",
    )
    parser.add_argument("--course", metavar="DIR", type=Path, default=None,
                        help="course folder (default: $FLOWLIB_COURSE_DIR, else found from the current folder)")
    parser.add_argument("--show", action="store_true", help="print your ratings and the calibration table")
    parser.add_argument("--rate", metavar="LESSON", help="rate the objectives of LESSON (e.g. 02_self_attention)")
    parser.add_argument("--plot", metavar="FILE.png", type=Path, help="save the progress and calibration pictures")
    parser.add_argument("--student", help="student id, where feedback/ or autograded/ hold several students")
    parser.add_argument("--no-tests", action="store_true", help="do not run notebooks' visible tests locally")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has already explained
        return stop.code if isinstance(stop.code, int) else 2
    if not (args.show or args.rate or args.plot):
        args.show = True

    try:
        course = args.course.expanduser().resolve() if args.course else course_dir()
        objectives = load_objectives(objectives_path(course))
        if args.rate:
            objectives.for_lesson(args.rate)
            answers = prompt_ratings(args.rate, objectives)
            if answers:
                events = record(args.rate, answers, course=course, objectives=objectives, via="cli")
                print(f"Saved {len(events)} rating(s) to {ratings_path(course)}.")
            else:
                print("Nothing saved.")
        if args.show or args.plot:
            log = read_ratings(course)
            calibration = calibrate(course, objectives=objectives, log=log, student=args.student,
                                    run_tests=not args.no_tests)
            if args.show:
                print(ratings_report(log, objectives) or f"No ratings yet in {log.path}.")
                print()
                print(calibration.table())
                print()
                print(calibration.summary())
            if args.plot:
                plot_overview(calibration, objectives).savefig(args.plot, dpi=100)
                print(f"Saved the pictures to {args.plot}.")
    except (ValueError, FileNotFoundError) as error:
        print(f"flowlib self-assess: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):
        print("\nNothing saved.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
