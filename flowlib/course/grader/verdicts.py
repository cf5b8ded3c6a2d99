"""Where a test cell's points are decided: in the grader's own process, from plain data.

Each test cell ran in the grader's process against the learner's kernel
(:mod:`flowlib.course.grader.testcell`): its checks compared what the learner's code returned
with what the grader computed itself, and the run says passed, or why not. This module turns
those runs and the flags into points. A test cell earns its points when it passed, unless the
run caught the exercise's answer calling what the exercise asks the learner to write (evidence,
a ``delegation`` flag): then every test of that exercise scores 0, with the reason.

What a reading of the code suspects (a forbidden name, a patched module) is a flag for a person
and never costs a point; nor does anything the learner prints or writes to stderr.

Written answers are decided here too: one left as released scores 0, any other waits for a
person (no points yet). A notebook that could not be read at all scores 0 on every graded cell,
with the reason. The gradebook only copies these points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flowlib.cells import cell_role, cell_source, nbgrader_meta
from flowlib.comparisons import short
from flowlib.course.grader.execute import CellRun
from flowlib.course.grader.screen import Flag, PlanCell

WAITS = "a written answer: it waits for a person to grade it"
BLANK = "not answered: the written answer is still as released"


@dataclass(frozen=True)
class Verdict:
    grade_id: str
    points: float | None  # None: a person decides (a written answer)
    max_points: float
    message: str  # '' when it passed


def decide_cell(run: CellRun) -> str:
    """'' when the test cell passed, else the learner-facing reason."""
    if run.status == "ok":
        return ""
    return run.error or f"the test did not finish ({run.status})"


def verdicts(cells: list[PlanCell], runs: list[CellRun], flags: list[Flag], hidden: list[str]) -> list[Verdict]:
    """The points of every test cell of a graded run (``hidden``: text no message may echo)."""
    delegating = {f.cell: f.detail for f in flags if f.kind == "delegation"}
    result = []
    for cell, run in zip(cells, runs, strict=True):
        if cell.role != "test":
            continue
        message = delegating.get(cell.exercise) or decide_cell(run)  # cells.delegated's words
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


def written(
    source: dict[str, Any], released: dict[str, Any], answers: dict[str, dict[str, Any] | None]
) -> list[Verdict]:
    """The written answers: 0 when left as released (or deleted), else waiting for a person."""
    as_released = {
        nbgrader_meta(c).get("grade_id"): cell_source(c).strip() for c in released["cells"] if cell_role(c) == "manual"
    }
    result = []
    for cell in source["cells"]:
        if cell_role(cell) != "manual":
            continue
        grade_id, points = nbgrader_meta(cell)["grade_id"], float(nbgrader_meta(cell).get("points", 0))
        mine = answers.get(grade_id)
        if mine is None or cell_source(mine).strip() == as_released.get(grade_id):
            result.append(Verdict(grade_id, 0.0, points, BLANK))
        else:
            result.append(Verdict(grade_id, None, points, WAITS))
    return result


def unreadable(source: dict[str, Any], reason: str, role: str) -> list[Verdict]:
    """Every graded cell of ``role`` (test, manual) of a notebook that could not be read: 0, with the reason."""
    return [
        Verdict(nbgrader_meta(c)["grade_id"], 0.0, float(nbgrader_meta(c).get("points", 0)), reason)
        for c in source["cells"]
        if cell_role(c) == role
    ]
