"""Write verdicts into nbgrader's own gradebook (``gradebook.db``), and the graded notebook.

Only the coordinator calls this (one writer). The schema is nbgrader's, untouched, so the
formgrader, manual grading, ``nbgrader export`` and ``generate_feedback`` keep working:

* each graded cell gets the points :mod:`~.verdicts` decided, copied as they are: a test cell's,
  a written answer's (0 when left as released; ``None``, waiting for a person, otherwise:
  ``needs_manual_grade``, as nbgrader does), 0 for every cell of a notebook that failed;
* a submission with tampering or delegation is ``flagged`` for the instructor;
* ``autograded/<student>/<lesson>/<lesson>.ipynb`` is the learner's notebook as submitted,
  less the outputs saved in the file (the coordinator drops them as it reads the submission:
  :func:`~.surface.without_outputs`), with each test cell as *released* (no hidden test) and the
  grader's verdict as its only output, so feedback built from it never shows a hidden test nor
  anything the learner typed into an output.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbconvert.filters.strings import clean_html
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from flowlib.cells import cell_role, cell_source, nbgrader_meta
from flowlib.course import layout
from flowlib.course.grader.report import Report


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def graded_notebook(submitted: dict[str, Any], released: dict[str, Any], report: Report) -> dict[str, Any]:
    """The notebook a learner may see: theirs, with released test cells and verdict outputs."""
    tests = {nbgrader_meta(c)["grade_id"]: c for c in released["cells"] if cell_role(c) == "test"}
    verdict = {v["grade_id"]: v for v in report.verdicts}
    known = {nbgrader_meta(c)["grade_id"] for c in released["cells"] if nbgrader_meta(c).get("grade_id")}
    cells, seen = [], set()
    for cell in submitted.get("cells", []):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in tests:
            if grade_id in seen:
                continue
            seen.add(grade_id)
            cell = json.loads(json.dumps(tests[grade_id]))
            found = verdict.get(
                grade_id, {"points": 0, "max_points": nbgrader_meta(cell).get("points", 0), "message": "not graded"}
            )
            text = (
                f"Passed: {found['points']:g}/{found['max_points']:g} points.\n"
                if not found["message"]
                else f"Failed: 0/{found['max_points']:g} points. {found['message']}\n"
            )
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}]
        elif grade_id and (grade_id in seen or grade_id not in known):  # a copy, or a graded cell the course lacks
            cell = {**cell, "metadata": {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}}
        if cell.get("cell_type") == "markdown":  # the learner's HTML is shown, never run (nbconvert's sanitizer)
            cell = {**cell, "source": clean_html(cell_source(cell))}
        if grade_id in known:
            seen.add(grade_id)
        cells.append(cell)
    for grade_id, cell in tests.items():  # a deleted test cell comes back, with its verdict
        if grade_id not in seen:
            restored = json.loads(json.dumps(cell))
            decided = verdict.get(grade_id)
            restored["outputs"] = [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": f"(restored test cell) {'Passed' if decided and not decided['message'] else 'Failed'}: "
                    f"{(decided or {}).get('message', '')}\n",
                }
            ]
            cells.append(restored)
    return {**released, "cells": cells}


def record(
    root: Path,
    report: Report,
    submitted: dict[str, Any] | None,
    released: dict[str, Any],
    timestamp: datetime | None = None,
) -> None:
    """Put one report into ``gradebook.db`` and write its graded notebook and report file."""
    report.save(root)
    with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warnings
        warnings.simplefilter("ignore", SAWarning)
        _write_grades(root, report, timestamp)
    if submitted is not None:
        target = root / "autograded" / report.student / report.lesson / f"{report.lesson}.ipynb"
        _write_atomic(target, json.dumps(graded_notebook(submitted, released, report), indent=1))
        for kept in ("timestamp.txt", "submission_secret.txt"):  # nbgrader's release_feedback needs the secret
            source = root / "submitted" / report.student / report.lesson / kept
            if source.is_file():
                shutil.copy2(source, target.parent / kept)


def open_gradebook(root: Path) -> Gradebook:
    """nbgrader's gradebook of the course at ``root``. A new one asks ``alembic`` for its schema
    version, by name: this environment's commands go first on ``PATH``, however flowlib was started."""
    os.environ["PATH"] = layout.environment_path()
    return Gradebook(f"sqlite:///{root / layout.GRADEBOOK}")


def not_released(lesson: str) -> str:
    """Why a lesson's submissions cannot be recorded yet."""
    return f"lesson {lesson} is not in {layout.GRADEBOOK}: release it first (`flowlib instructor release {lesson}`)"


def released_lessons(root: Path) -> set[str]:
    """The lessons the gradebook knows (``flowlib instructor release`` adds each)."""
    with open_gradebook(root) as gradebook:
        return {assignment.name for assignment in gradebook.assignments}


def _write_grades(root: Path, report: Report, timestamp: datetime | None) -> None:
    student, lesson = report.student, report.lesson
    with open_gradebook(root) as gradebook:
        gradebook.update_or_create_student(student)
        try:
            gradebook.find_assignment(lesson)
        except MissingEntry:
            raise ValueError(not_released(lesson)) from None
        when = (timestamp or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
        try:
            submission = gradebook.find_submission(lesson, student)
            submission.timestamp = when
        except MissingEntry:
            submission = gradebook.add_submission(lesson, student, timestamp=when.isoformat())
        notebook = gradebook.find_submission_notebook(lesson, lesson, student)
        decided = {v["grade_id"]: v["points"] for v in [*report.verdicts, *report.written]}  # verdicts.py's points
        for grade in notebook.grades:
            grade.auto_score = decided.get(grade.name, 0.0)  # None: a written answer waiting for a person
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        notebook.flagged = bool(report.flag_kinds() & {"tampering", "delegation"}) or report.status != "graded"
        gradebook.db.commit()
