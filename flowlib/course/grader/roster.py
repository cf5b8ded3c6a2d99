"""Learners' names beside their ids: ``roster.csv`` in the course folder.

The id (:func:`~.ids.canonical_id`, or the LMS's participant id where a name gives none)
is what folders and nbgrader's gradebook hold; the name, as the LMS wrote it (``李华``,
``Đặng Thị Hoa``), is what a person reads in the grader's report and ``grades.csv``.
``flowlib instructor collect`` records, for each learner of an LMS download, the name and the
LMS's own id (``moodle 4242``), so the next download of that participant lands under the same
id even when the name changed. A learner with no row is shown by id. The file is UTF-8 CSV
(``student_id,name,lms_id``; a name a spreadsheet would read as a formula starts with ``'``);
the instructor may correct a name in it.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from flowlib.course import layout
from flowlib.course.grader.surface import spreadsheet_safe

COLUMNS = ["student_id", "name", "lms_id"]


@dataclass(frozen=True)
class Learner:
    student_id: str
    name: str
    lms_id: str = ""  # "<convention> id <number>", e.g. "moodle id 4242"; "" when not known


def load(root: Path) -> dict[str, Learner]:
    """Every learner of ``root``'s roster, by id; none when there is no roster."""
    path = Path(root) / layout.ROSTER
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("student_id")]
    return {
        row["student_id"]: Learner(row["student_id"], row.get("name") or "", row.get("lms_id") or "") for row in rows
    }


def names(root: Path) -> dict[str, str]:
    """``{id: name}`` of every learner whose name is known."""
    return {key: learner.name for key, learner in load(root).items() if learner.name}


def remember(root: Path, learners: list[Learner]) -> None:
    """Add or update these learners' rows (the newest name wins), written whole or not at all."""
    if not learners:
        return
    table = load(root)
    table.update({learner.student_id: learner for learner in learners})
    path = Path(root) / layout.ROSTER
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows([key, spreadsheet_safe(table[key].name), table[key].lms_id] for key in sorted(table))
    os.replace(partial, path)


def shown(student: str, name: str | None) -> str:
    """How a person reads a learner: ``Name (id)``, or the id alone when it is the name."""
    return f"{name} ({student})" if name and name != student else student
