"""Exercise scores per grade cell of a lesson, from the best evidence there is.

Scores come from, in order:

1. nbgrader feedback a learner fetched: ``<course>/<lesson>/feedback/<time>/<lesson>.html``;
2. an instructor's feedback: ``<course>/feedback/<student>/<lesson>/<lesson>.html``;
3. an autograded notebook: ``<course>/autograded/<student>/<lesson>/<lesson>.ipynb``;
4. running the visible tests of the learner's own notebook here
   (``<course>/<lesson>/<lesson>.ipynb`` or ``<course>/notebooks/<lesson>/<lesson>.ipynb``)
   with :func:`flowlib.grading.score_notebook`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flowlib.cells import cell_role, nbgrader_meta
from flowlib.course import layout
from flowlib.course.self_assessment.places import course_dir

if TYPE_CHECKING:  # flowlib.grading loads numpy: lesson_scores imports it when it runs tests
    from flowlib.grading import TestResult

Scorer = Callable[[Path], Mapping[str, "TestResult"]]
T = TypeVar("T")


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
        meta = nbgrader_meta(cell)
        if not meta.get("grade") or "grade_id" not in meta:
            continue
        points = float(meta.get("points", 0) or 0)
        if meta.get("score") is not None:
            found[meta["grade_id"]] = (float(meta["score"]), points)
        elif cell_role(cell) == "test":
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
        meta = nbgrader_meta(cell)
        if "grade_id" not in meta:
            continue
        if meta.get("solution"):
            current = meta["grade_id"]
            groups.setdefault(current, [])
        elif meta.get("grade") and current is not None:
            groups[current].append(meta["grade_id"])
    return groups


def read_notebook(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def read_feedback(path: Path) -> dict[str, tuple[float, float]]:
    """:func:`parse_feedback_html` of a feedback page on disk."""
    return parse_feedback_html(path.read_text(encoding="utf-8", errors="replace"))


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
    for path in (course / lesson / f"{lesson}.ipynb", layout.notebook(course, lesson)):
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
            parsed = _try(read_feedback, notes, page)
            if parsed:
                return LessonScores(lesson, "feedback", page, parsed)
    # 2. instructor's feedback and 3. autograded notebooks
    for folder, tail, source, reader in (
        (root / "feedback", f"{lesson}.html", "feedback", read_feedback),
        (
            root / "autograded",
            f"{lesson}.ipynb",
            "autograded",
            lambda p: scores_from_notebook_outputs(read_notebook(p)),
        ),
    ):
        path, why = _only_student(folder, lesson, student, tail)
        if why:
            notes.append(why)
        if path is not None:
            parsed = _try(reader, notes, path)
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
    from flowlib.grading import score_notebook  # here: flowlib.grading loads numpy

    score = scorer or score_notebook
    results = _try(lambda path: {k: (r.points, r.max_points) for k, r in score(path).items()}, notes, notebook)
    if results is None:
        return LessonScores(lesson, path=notebook, note="; ".join(notes))
    return LessonScores(lesson, "local tests", notebook, results, note="; ".join(notes))


def _try(read: Callable[[Path], T], notes: list[str], path: Path) -> T | None:
    """``read(path)``, or None with a note saying why it failed."""
    try:
        return read(path)
    except Exception as error:  # a damaged file is reported, never fatal
        notes.append(f"could not read {path}: {type(error).__name__}: {error}")
        return None
