"""Whose work is it: each learner's code answers compared with every other submission of the same
exercise and with flowlib's source of the exercise's twins. A flag for a person, never a score.

An exercise's code is its answer cell and the cells the learner added after it (as the grader
attributes them, :func:`~flowlib.course.grader.screen.plan`), fingerprinted
(:mod:`~flowlib.course.grader.fingerprint`) less the released stub (the signature and docstring
every learner was given, as MOSS's "base file"). An unanswered stub, or what is left too small to
judge (under :data:`MIN_HASHES` hashes), is not compared.

Two learners' similarity is the share of the smaller fingerprint found in the other; an answer's
similarity to flowlib is the share of the answer found in the exercise's twins (those it shares
code with, taken together: an answer may paste a function and its helper).

**Baseline, per exercise.** Short exercises, where every correct answer looks alike, are common.
With :data:`MIN_ANSWERS` answers or more, an exercise's baseline is the :data:`PERCENTILE`
percentile of the similarities of all its pairs of learners (mostly independent, honest work:
copies are a handful of the n(n-1)/2 pairs), and a pair is flagged at ``baseline + MARGIN`` or
above (never under :data:`FLOOR`). With fewer answers the baseline cannot be measured and
:data:`FLOOR` is the threshold. A threshold over 1 means the exercise cannot tell a copy
from honest work; the report says so and flags nothing there. benchmarks/bench_similarity.py
measures these numbers on the course's own cases.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from flowlib.cells import cell_role, cell_source, nbgrader_meta
from flowlib.course import layout
from flowlib.course.grader import screen
from flowlib.course.grader.fingerprint import Fingerprint, fingerprint, similarity
from flowlib.course.grader.learner_code import aliases
from flowlib.course.grader.submitted import Refusal, UnknownNameError, find_submissions
from flowlib.course.grader.twins import twins

MIN_HASHES = 4  # an answer with fewer hashes (beyond the stub) is too small to judge
MIN_ANSWERS = 10  # fewer answers than this: the baseline is not measured
PERCENTILE = 95
MARGIN = 0.15
# Never flag under this. Measured on the course's cases (benchmarks/bench_similarity.py): the most
# alike honest pair of ten exercises scored 0.61; disguised copies scored 1.0, of flowlib 0.82 and up.
FLOOR = 0.75
MAX_CHARS = 100_000  # a larger exercise's code is not read (noted)


@dataclass
class Answer:
    student: str  # or the twin's name, for flowlib
    code: str
    print: Fingerprint


@dataclass
class Pair:
    exercise: str
    first: Answer
    second: Answer  # another learner's, or flowlib's twin
    score: float
    twin: bool  # the second is flowlib's

    def lines(self) -> tuple[set[int], set[int]]:
        """The source lines of each side that the matching hashes cover."""
        common = self.first.print.lines.keys() & self.second.print.lines.keys()
        return (
            {line for h in common for line in self.first.print.lines[h]},
            {line for h in common for line in self.second.print.lines[h]},
        )


@dataclass
class Exercise:
    grade_id: str
    threshold: float
    baseline: float | None  # None: too few answers to measure
    answers: int = 0
    twins: list[str] = field(default_factory=list)


@dataclass
class Result:
    lesson: str
    exercises: list[Exercise] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)  # above their exercise's threshold
    notes: list[str] = field(default_factory=list)  # what was not compared, and why


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (linear between the nearest ranks)."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    low, high = math.floor(at), math.ceil(at)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def above_baseline(scores: list[float]) -> tuple[float, float]:
    """The threshold over honest pairs' ``scores``, and their baseline (:data:`PERCENTILE`)."""
    baseline = percentile(scores, PERCENTILE)
    return max(FLOOR, baseline + MARGIN), baseline


def threshold(scores: list[float], answers: int) -> tuple[float, float | None]:
    """An exercise's threshold and its baseline (``None`` when too few answers to measure)."""
    if answers < MIN_ANSWERS or not scores:
        return FLOOR, None
    return above_baseline(scores)


def exercise_code(source: dict, released: dict, submitted: dict) -> dict[str, str]:
    """``{answer grade id: its answer cell and the learner's cells after it}``, as graded."""
    code: dict[str, list[str]] = {}
    for cell in screen.plan(source, released, submitted).cells:
        if cell.role in ("answer", "learner") and cell.exercise:
            code.setdefault(cell.exercise, []).append(cell.source)
    return {grade_id: "\n".join(parts) for grade_id, parts in code.items()}


def _print(code: str, stub: Fingerprint, context: dict[str, str]) -> Fingerprint:
    """The code's fingerprint less the stub's (what every learner was given)."""
    return fingerprint(code, context).without(stub)


def flowlib_references(declared: list[str], stub: Fingerprint) -> list[Answer]:
    """flowlib's source of an exercise's declared twins, fingerprinted as answers are."""
    return [Answer(twin.name, twin.source, _print(twin.source, stub, dict(twin.context))) for twin in twins(declared)]


def lesson_context(source: dict) -> dict[str, str]:
    """What the names the course's cells import stand for (``{"F": "torch.nn.functional"}``)."""
    try:
        return aliases("\n".join(cell_source(c) for c in source["cells"] if cell_role(c) == "course"))
    except (ValueError, RecursionError):
        return {}


def exercises(source: dict, released: dict) -> dict[str, tuple[str, list[str]]]:
    """``{answer grade id: (the released stub, the twins it declares)}``."""
    declared = {
        nbgrader_meta(c).get("grade_id"): list(c.get("metadata", {}).get("flowlib", {}).get("forbidden", []))
        for c in source["cells"]
        if cell_role(c) == "answer"
    }
    return {
        grade_id: (cell_source(c), declared.get(grade_id, []))
        for c in released["cells"]
        if cell_role(c) == "answer" and isinstance(grade_id := nbgrader_meta(c).get("grade_id"), str)
    }


def compare(
    lesson: str,
    source: dict,
    released: dict,
    submissions: dict[str, dict[str, str]],
    notes: list[str] | None = None,
) -> Result:
    """Compare ``{student: {grade id: code}}`` of one lesson, exercise by exercise."""
    result = Result(lesson, notes=list(notes or []))
    context = lesson_context(source)
    for grade_id, (stub_code, declared) in exercises(source, released).items():
        stub = fingerprint(stub_code, context)
        answers = []
        for student, code in sorted(submissions.items()):
            text = code.get(grade_id, "")
            if not text.strip() or text.strip() == stub_code.strip():
                continue
            if len(text) > MAX_CHARS:
                result.notes.append(f"{student} / {grade_id}: {len(text)} characters of code: not compared")
                continue
            try:
                found = _print(text, stub, context)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                result.notes.append(
                    f"{student} / {grade_id}: the code does not parse ({type(error).__name__}): not compared"
                )
                continue
            if len(found.lines) >= MIN_HASHES:
                answers.append(Answer(student, text, found))
        scores = {(a.student, b.student): similarity(a.print, b.print) for a, b in combinations(answers, 2)}
        limit, baseline = threshold(list(scores.values()), len(answers))
        references = flowlib_references(declared, stub)
        result.exercises.append(Exercise(grade_id, limit, baseline, len(answers), [r.student for r in references]))
        for a, b in combinations(answers, 2):
            if scores[(a.student, b.student)] >= limit:
                result.pairs.append(Pair(grade_id, a, b, scores[(a.student, b.student)], twin=False))
        for answer in answers:
            score, flowlib_code = against_flowlib(answer, references)
            if flowlib_code.print.lines and score >= limit:
                result.pairs.append(Pair(grade_id, answer, flowlib_code, score, twin=True))
    result.pairs.sort(key=lambda p: (p.exercise, -p.score, p.first.student))
    return result


def _joined(references: list[Answer]) -> Answer:
    """flowlib's twins that an answer shares code with, as one piece of code (one after another)."""
    code, lines, offset = [], Fingerprint(), 0
    for reference in references:
        for value, where in reference.print.lines.items():
            lines.lines.setdefault(value, set()).update(line + offset for line in where)
        code.append(reference.code.rstrip("\n"))
        offset += reference.code.rstrip("\n").count("\n") + 2
    return Answer(" + ".join(r.student for r in references), "\n\n".join(code), lines)


def against_flowlib(answer: Answer, references: list[Answer]) -> tuple[float, Answer]:
    """The share of the answer's hashes found in flowlib's twins, and those twins it shares code
    with, as one piece of code."""
    joined = _joined([r for r in references if r.print.lines.keys() & answer.print.lines.keys()])
    shared = answer.print.lines.keys() & joined.print.lines.keys()
    return (len(shared) / len(answer.print.lines) if answer.print.lines else 0.0), joined


def lesson_similarity(root: Path, lesson: str) -> Result:
    """Compare every collected submission of ``lesson`` (``submitted/<student>/<lesson>/``)."""
    source = json.loads(layout.notebook(root, lesson, layout.SOURCE).read_text(encoding="utf-8"))
    released = json.loads(layout.notebook(root, lesson).read_text(encoding="utf-8"))
    try:
        found, refused = find_submissions(root, layout.lessons(root), only_lessons=[lesson])
    except UnknownNameError as error:  # no submission of the lesson at all
        found, refused = [], [Refusal(root / "submitted", None, lesson, str(error))]
    notes = [f"not read: {refusal.reason}" for refusal in refused if refusal.lesson == lesson]
    code: dict[str, dict[str, str]] = {}
    for submission in found:
        try:
            code[submission.student] = exercise_code(source, released, json.loads(submission.notebook.read_bytes()))
        except Exception as error:  # hostile input: one unreadable notebook never stops the report
            notes.append(f"{submission.student}: the notebook could not be read ({type(error).__name__}): not compared")
    return compare(lesson, source, released, code, notes)
