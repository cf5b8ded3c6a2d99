"""Read a submission before running it: what will run, in what order, and what was changed.

The notebook that runs is rebuilt from the course's source notebook: every course cell and
every test cell (hidden tests included) as the course wrote it, in the course's order, with
the learner's answer cells and the cells the learner added, in place. Edited, deleted or
duplicated test cells are restored and flagged; edits to course cells are not run. What the
learner's own code gives away is read by :mod:`~flowlib.course.grader.learner_code`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowlib.cells import cell_role, cell_source, nbgrader_meta


@dataclass(frozen=True)
class Flag:
    """Something a reader of the grade should know. ``kind`` is a column of the exported CSV."""

    kind: str  # tampering | delegation | edited test cell | deleted test cell | duplicated cell | extra files | ...
    cell: str  # the grade id or cell id it concerns ('' for the whole notebook)
    detail: str


@dataclass
class PlanCell:
    """One cell to run: whose code it is and which exercise it belongs to."""

    source: str
    role: str  # course | answer | learner | test
    cell_id: str
    grade_id: str = ""
    points: float = 0.0
    exercise: str = ""  # the answer cell's grade id this cell belongs to
    seconds: float | None = None  # a per-cell time limit from the source's metadata


@dataclass
class Plan:
    cells: list[PlanCell] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    manual: dict[str, Any] = field(default_factory=dict)  # grade id -> the learner's written-answer cell


def plan(source: dict, released: dict, submitted: dict) -> Plan:
    """The cells to run for ``submitted``, in the course's order, and the flags found on the way."""
    result = Plan()
    released_tests = {
        nbgrader_meta(c).get("grade_id"): cell_source(c) for c in released["cells"] if cell_role(c) == "test"
    }
    known_ids = {c.get("id") for c in source["cells"]}
    # a notebook saved without cell ids (nbformat 4.4) still has the course's cells: know them by their text
    by_text = {cell_source(c).strip(): str(c.get("id")) for c in released["cells"] if cell_source(c).strip()}
    # a graded cell is known by its grade id; learner cells after it follow it, wherever its id went
    known_grades = {
        nbgrader_meta(c)["grade_id"]: str(c.get("id", "")) for c in source["cells"] if nbgrader_meta(c).get("grade_id")
    }
    by_grade: dict[str, dict] = {}
    added: dict[str, list[dict]] = {}  # anchor cell id -> learner cells that follow it
    anchor = ""
    for cell in submitted.get("cells", []):
        role, grade_id = cell_role(cell), nbgrader_meta(cell).get("grade_id")
        if grade_id and role in ("answer", "test", "manual") and grade_id not in known_grades:
            result.flags.append(
                Flag(
                    "tampering",
                    grade_id,
                    f"a cell claims to be the graded cell {grade_id!r}, which this lesson does not have",
                )
            )
            if cell.get("cell_type") == "code":
                added.setdefault(anchor, []).append(cell)
        elif grade_id and role in ("answer", "test", "manual"):
            if grade_id in by_grade:
                result.flags.append(Flag("duplicated cell", grade_id, f"the cell {grade_id!r} appears more than once"))
                if role == "answer" and cell.get("cell_type") == "code":
                    added.setdefault(anchor, []).append(cell)  # a copy the learner edited: it runs after the first
                continue
            by_grade[grade_id] = cell
            anchor = known_grades[grade_id]
        elif cell.get("id") in known_ids:
            anchor = str(cell.get("id"))
        elif "id" not in cell and cell_source(cell).strip() in by_text:
            anchor = by_text[cell_source(cell).strip()]
        elif cell.get("cell_type") == "code":
            if grade_id:
                result.flags.append(
                    Flag(
                        "tampering",
                        grade_id,
                        f"a cell claims to be the graded cell {grade_id!r}, which this lesson does not have",
                    )
                )
            added.setdefault(anchor, []).append(cell)
    exercise = ""
    setup = next((str(c.get("id")) for c in source["cells"] if str(c.get("id", "")).endswith("_setup")), "")
    if setup and "" in added:  # cells above the course's first cell run once the setup has
        added[setup] = added.pop("") + added.get(setup, [])
    for cell in source["cells"]:
        role, info = cell_role(cell), nbgrader_meta(cell)
        grade_id, cell_id = info.get("grade_id", ""), str(cell.get("id", ""))
        limit = cell.get("metadata", {}).get("flowlib", {}).get("cell_seconds")
        if role == "answer":
            exercise = grade_id
            mine = by_grade.get(grade_id)
            if mine is None:
                result.flags.append(
                    Flag(
                        "deleted answer cell",
                        grade_id,
                        "the answer cell is missing: its tests run against the unanswered stub",
                    )
                )
                mine = next(c for c in released["cells"] if nbgrader_meta(c).get("grade_id") == grade_id)
            result.cells.append(
                PlanCell(cell_source(mine), "answer", cell_id, grade_id, exercise=exercise, seconds=limit)
            )
            anchor_id = cell_id
        elif role == "test":
            mine = by_grade.get(grade_id)
            if mine is None:
                result.flags.append(
                    Flag("deleted test cell", grade_id, "the test cell was deleted; the course's copy was run")
                )
            elif cell_source(mine).strip() != released_tests.get(grade_id, "").strip():
                result.flags.append(
                    Flag("edited test cell", grade_id, "the test cell was edited; the course's copy was run")
                )
            result.cells.append(
                PlanCell(cell_source(cell), "test", cell_id, grade_id, float(info.get("points", 0)), exercise, limit)
            )
            anchor_id = cell_id
        elif role == "manual":
            result.manual[grade_id] = by_grade.get(grade_id)
            anchor_id = cell_id
        else:
            if role == "course":
                result.cells.append(PlanCell(cell_source(cell), "course", cell_id, exercise=exercise, seconds=limit))
            anchor_id = cell_id
        for extra in added.pop(anchor_id, []):
            result.cells.append(PlanCell(cell_source(extra), "learner", str(extra.get("id", "")), exercise=exercise))
    for leftover in added.values():  # anchored to nothing the course knows: run them at the end
        result.cells.extend(
            PlanCell(cell_source(c), "learner", str(c.get("id", "")), exercise=exercise) for c in leftover
        )
    return result
