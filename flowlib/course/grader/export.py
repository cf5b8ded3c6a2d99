"""Grades as CSV: one row per learner and lesson, with status and flag columns (and, beside it,
the tables of :mod:`flowlib.course.grader.summary`).

Read from nbgrader's gradebook (so manual grades count) and the grader's reports (flags).
``status`` tells apart: not submitted, failed (the grader could not grade it), pending
(a written answer waits for a person) and graded. Written whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import MissingEntry

from flowlib.course.grader import roster
from flowlib.course.grader.gradebook import open_gradebook
from flowlib.course.grader.report import FLAG_KINDS, reports
from flowlib.course.grader.similarity_report import similar_to
from flowlib.course.grader.summary import summary, write_csv

COLUMNS = [
    "student_id",
    "name",  # as the LMS wrote it (roster.csv); the id when not known
    "lesson",
    "status",
    "score",
    "max_score",
    "needs_manual_grade",
    "flagged",
    *[f"flag_{kind.replace(' ', '_')}" for kind in FLAG_KINDS],
    "flag_details",
    "similar_to",  # a flag for a person (reports/similarity/<lesson>.html), never a score change
]


def export(root: Path, target: Path) -> Path:
    """Write every learner's grade of every lesson to ``target`` (CSV, quoted)."""
    found, alike, names = reports(root), similar_to(root), roster.names(root)
    rows = []
    with open_gradebook(root) as book:
        for assignment in sorted(book.assignments, key=lambda a: a.name):
            for student in sorted(book.students, key=lambda s: s.id):
                report = found.get((student.id, assignment.name))
                row = {"student_id": student.id, "lesson": assignment.name, "max_score": assignment.max_score}
                row["name"] = names.get(student.id, student.id)
                try:
                    submission = book.find_submission(assignment.name, student.id)
                except MissingEntry:
                    rows.append({**row, "status": "not submitted", "score": ""})
                    continue
                pending = bool(submission.needs_manual_grade)
                status = "failed" if report and report.status != "graded" else "pending" if pending else "graded"
                kinds = report.flag_kinds() if report else set()
                row.update(
                    status=status,
                    score=submission.score,
                    needs_manual_grade=int(pending),
                    flagged=int(any(n.flagged for n in submission.notebooks)),
                    flag_details="; ".join(f"{f['kind']} ({f['cell']}): {f['detail']}" for f in report.flags)
                    if report
                    else "",
                    similar_to=alike.get((student.id, assignment.name), ""),
                )
                row.update({f"flag_{kind.replace(' ', '_')}": int(kind in kinds) for kind in FLAG_KINDS})
                rows.append(row)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_csv(target, COLUMNS, rows)
    summary(root, rows, target.with_suffix(""))
    return target
