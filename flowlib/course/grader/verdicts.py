"""Where a test cell's points are decided: from plain records, in the grader's own process.

For each test cell, the records the learner's run reported are set against the records the
solution's run reported (the reference), check by check, with the rule of each check
(:func:`flowlib.comparisons.decide`) and the reference's expected values, tolerances and known
mistakes. The learner's kernel decided nothing: its own pass/fail is ignored.

A test cell earns its points only when every check the reference made came back, in order,
passing against the reference, and no other record came back. Zero, with the reason, when:
the cell's exercise delegates to what it asks the learner to write; the machinery was
tampered with at or before the cell; the cell timed out, flooded, or its kernel died.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flowlib.comparisons import decide, short
from flowlib.course.grader.execute import CellRun
from flowlib.course.grader.screen import Flag, PlanCell


@dataclass(frozen=True)
class Verdict:
    grade_id: str
    points: float
    max_points: float
    message: str  # '' when it passed


def _check(mine: dict[str, Any], reference: dict[str, Any]) -> str:
    """'' when the learner's record passes against the reference's, else the message."""
    kind, what = reference["kind"], reference["what"]
    if mine.get("kind") != kind:
        return str(mine.get("message") or f"the test stopped at a different check than expected ({what})")
    if kind == "true":  # the test's own words, computed from the learner's values
        return decide(kind, mine.get("actual"), True, what, {}) and str(mine.get("message") or what)
    params = reference.get("params", {})
    source = mine if params.get("depends_on_answer") else reference  # compare with the learner's own model
    return decide(kind, mine.get("actual"), source.get("expected"), what, params, source.get("mistakes"))


def _why(run: CellRun) -> str:
    if run.status == "error":
        name = run.error.split(":", 1)[0]
        if name == "NotImplementedError":
            return "the exercise is not answered yet (the answer cell still raises NotImplementedError)"
        if name == "NameError":
            return f"{run.error}: answer and run the exercise cell above this test first"
        return run.error
    return run.error or f"the test did not finish ({run.status})"


def decide_cell(cell: PlanCell, run: CellRun, reference: list[dict[str, Any]]) -> str:
    """'' when the test cell passed, else the learner-facing reason."""
    if run.status in ("timeout", "died", "flood", "skipped"):
        return _why(run)
    for index, expected in enumerate(reference):
        if index >= len(run.records):
            return _why(run) if run.status == "error" else f"the test stopped before checking {expected['what']}"
        message = _check(run.records[index], expected)
        if message:
            return message
    if len(run.records) > len(reference):
        return "the test reported more checks than it makes: something else reported verdicts"
    return "" if run.status == "ok" else _why(run)


def verdicts(cells: list[PlanCell], runs: list[CellRun], reference: dict[str, list[dict[str, Any]]],
             flags: list[Flag], tampered_from: int | None, hidden: list[str]) -> list[Verdict]:
    """The points of every test cell of a graded run (``hidden``: text no message may echo)."""
    delegating = {f.cell: f.detail for f in flags if f.kind == "delegation"}
    result = []
    for index, (cell, run) in enumerate(zip(cells, runs)):
        if cell.role != "test":
            continue
        if tampered_from is not None and index >= tampered_from:
            why = next(f.detail for f in flags if f.kind == "tampering")
            message = f"not graded: the notebook tampered with how tests run ({why})"
        elif cell.exercise in delegating:
            message = f"no points for this exercise: your answer {delegating[cell.exercise]}"
        else:
            message = decide_cell(cell, run, reference.get(cell.grade_id, []))
        result.append(Verdict(cell.grade_id, 0.0 if message else cell.points, cell.points, redact(message, hidden)))
    return result


def redact(message: str, hidden: list[str], limit: int = 600) -> str:
    """``message`` cut to ``limit`` characters, with any run of hidden-test text removed."""
    for line in hidden:
        line = line.strip()
        if len(line) >= 12 and line in message:
            message = message.replace(line, "[hidden test]")
    for fragment in re.findall(r"[^\s].{11,}", message):  # a long piece of one hidden line
        if any(fragment in line for line in hidden):
            message = message.replace(fragment, "[hidden test]")
    return message if len(message) <= limit else short(message, limit)
