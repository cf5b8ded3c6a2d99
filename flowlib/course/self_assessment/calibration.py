"""How a learner's self-ratings compare with what they can do: the calibration of each objective.

For each objective, the latest self-rating (1-5, mapped to 0..1 as ``(r - 1) / 4``) is put
beside the fraction of points earned on the exercises that evidence it
(``objectives.json``'s ``"exercises"``: nbgrader grade ids; scores as :mod:`.scores` finds
them). The objectives where confidence and results disagree most are called out, with the
lesson sections to revisit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flowlib.course import layout
from flowlib.course.self_assessment.objectives import Objective, Objectives, load_objectives
from flowlib.course.self_assessment.places import course_dir, objectives_path
from flowlib.course.self_assessment.ratings import RatingsLog, latest_ratings, read_ratings
from flowlib.course.self_assessment.scores import (
    LessonScores,
    Scorer,
    exercise_groups,
    learner_notebook,
    lesson_scores,
    read_notebook,
)

THRESHOLD = 0.25  # one step of the 1-5 slider: a smaller gap is "about right"


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
        gap = self.gap
        if gap is None:  # rated: only a missing score leaves no gap
            return "no evidence"
        if gap > THRESHOLD:
            return "over-confident"
        if gap < -THRESHOLD:
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
        scored = [(abs(gap), row) for row in self.rows if (gap := row.gap) is not None and abs(gap) > threshold]
        return [row for _, row in sorted(scored, key=lambda pair: (-pair[0], pair[1].objective.id))][:top]

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
            gap, score = row.gap, row.score
            assert gap is not None and score is not None  # disagreements() keeps rows with a gap only
            direction = "more confident than your results" if gap > 0 else "results better than your rating"
            lines.append(
                f"  {row.objective.id} ({row.verdict}: rated {row.rating}/5, scored {100 * score:.0f}%; "
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
        found = lessons[objective.lesson]
        event = latest.get(objective.id)
        row = CalibrationRow(
            objective,
            rating=None if event is None else int(event["rating"]),
            rated_at=None if event is None else event["time"],
            source=found.source,
        )
        for grade_id in _expand(objective.exercises, found.scores, groups[objective.lesson]):
            if grade_id in found.scores:
                earned, possible = found.scores[grade_id]
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
        candidates.append(layout.notebook(objectives.path.resolve().parent.parent, lesson, layout.SOURCE))
    for path in candidates:
        if path is not None and path.is_file():
            try:
                return exercise_groups(read_notebook(path))
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
