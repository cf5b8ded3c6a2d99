"""One submission's whole path: screen, sandbox, execute, verdicts, report.

:func:`grade` is one independent job: it takes plain data (a :class:`Job`) and returns a
:class:`~flowlib.course.grader.report.Report`, touching no gradebook, so the same job runs serially,
in a process pool or on a Dask worker. The coordinator alone writes the gradebook.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from flowlib.course.grader import screen
from flowlib.course.grader.run import execute
from flowlib.course.grader.report import Report
from flowlib.course.grader.sandbox import Limits, Sandbox
from flowlib.course.grader.verdicts import decide_cell, verdicts

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n?(.*?)### END HIDDEN TESTS", re.S)


@dataclass(frozen=True)
class Lesson:
    """What the grader knows of a lesson: its source and released notebooks, the reference
    records of its solution, and its limits."""

    name: str
    source: dict[str, Any]
    released: dict[str, Any]
    reference: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    key: str = ""  # what the reference depends on (see autograde.load_lesson)

    @property
    def limits(self) -> Limits:
        return Limits().replace(**self.source.get("metadata", {}).get("flowlib", {}).get("limits", {}))

    def hidden_text(self) -> list[str]:
        """Every line of the lesson's hidden tests (no message may echo them)."""
        lines = []
        for cell in self.source["cells"]:
            for block in HIDDEN.findall(screen._text(cell)):
                lines += [line for line in block.splitlines() if line.strip()]
        return lines

    def forbidden(self) -> dict[str, list[str]]:
        """``{answer grade id: [names the exercise asks the learner not to call]}``."""
        return {screen._meta(c)["grade_id"]: list(c["metadata"]["flowlib"]["forbidden"])
                for c in self.source["cells"]
                if screen._role(c) == "answer" and c.get("metadata", {}).get("flowlib", {}).get("forbidden")}


@dataclass(frozen=True)
class Job:
    student: str
    lesson: Lesson
    notebook: bytes  # the submitted file, as bytes (it may not even be JSON)
    extra_files: tuple[str, ...] = ()
    slot: int = 0  # which sandbox user (parallel jobs on one machine get different ones)
    threads: int | None = None


class SolutionFails(RuntimeError):
    """The solution notebook itself does not pass its tests in the sandbox."""


def _screen(lesson: Lesson, submitted: dict, extra_files: tuple[str, ...]) -> tuple[screen.Plan, list[screen.Flag], int | None]:
    """The plan to run, the flags found by reading the code, and the first tampering cell."""
    plan = screen.plan(lesson.source, lesson.released, submitted)
    flags = list(plan.flags)
    if extra_files:
        flags.append(screen.Flag("extra files", "", f"not copied into the sandbox: {', '.join(extra_files)}"))
    setup = screen.aliases("\n".join(c.source for c in plan.cells if c.cell_id.endswith("_setup")))
    # what the course's cells import, less the names the learner's own cells define (theirs win)
    imported = screen.aliases("\n".join(c.source for c in plan.cells if c.role == "course"))
    for name in screen.names_bound(c.source for c in plan.cells if c.role in ("answer", "learner")):
        imported.pop(name, None)
    forbidden = lesson.forbidden()
    first = None
    for index, cell in enumerate(plan.cells):
        if cell.role not in ("answer", "learner"):
            continue
        for kind, detail in screen.read_code(cell.source, setup, []):
            flags.append(screen.Flag(kind, cell.exercise or cell.cell_id, detail))
            if first is None:
                first = index
        # an answer is held to its own exercise's rule; a helper cell to the rule of every exercise after it
        coming = [cell.exercise] if cell.role == "answer" else list(dict.fromkeys(c.exercise for c in plan.cells[index:] if c.role == "answer"))
        for exercise in coming:
            for kind, detail in screen.read_code(cell.source, setup, forbidden.get(exercise, []), imported):
                if kind == "delegation":
                    flags.append(screen.Flag(kind, exercise, detail))
    return plan, flags, first


def grade(job: Job) -> Report:
    """Grade one submission. Never raises for a bad submission: the report says what failed."""
    lesson = job.lesson
    report = Report(job.student, lesson.name, sha256=hashlib.sha256(job.notebook).hexdigest(),
                    graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    try:
        submitted = json.loads(job.notebook.decode("utf-8"))
        if not isinstance(submitted, dict) or not isinstance(submitted.get("cells"), list):
            raise ValueError("it has no list of cells")
    except (UnicodeDecodeError, ValueError) as error:
        report.status, report.reason = "failed", f"the notebook is not a readable .ipynb file ({error})"
        return report
    plan, flags, tampered = _screen(lesson, submitted, job.extra_files)
    with Sandbox(lesson.name, job.notebook, lesson.limits, slot=job.slot, threads=job.threads) as sandbox:
        report.protections = [asdict(p) for p in sandbox.protections]
        flags += [screen.Flag("protection off", p.name, p.detail) for p in sandbox.protections if not p.on]
        executed = execute(plan, sandbox, lesson.limits)
    flags += executed.flags
    starts = [i for i in (executed.tampered_from, tampered) if i is not None]
    found = verdicts(plan.cells, executed.runs, lesson.reference, flags, min(starts) if starts else None, lesson.hidden_text())
    report.seconds = round(executed.seconds, 2)
    report.verdicts = [asdict(v) for v in found]
    report.flags = [asdict(f) for f in dict.fromkeys(flags)]
    report.manual = [grade_id for grade_id, cell in plan.manual.items() if cell is not None]
    return report


def reference(lesson: Lesson) -> dict[str, list[dict[str, Any]]]:
    """Run the solution in the sandbox and keep what every test cell's checks reported.

    Raises :class:`SolutionFails` naming each test cell the solution fails, any other cell that
    does not run cleanly (a claim that no longer holds, a cell past its time limit), or any cell
    that trips the grader's tamper checks (a bug of the lesson or of the grader, never the learner's).
    """
    notebook = json.dumps(lesson.source).encode()
    plan = screen.plan(lesson.source, lesson.released, lesson.source)
    with Sandbox(lesson.name, notebook, lesson.limits) as sandbox:
        executed = execute(plan, sandbox, lesson.limits, full=True)
    records = {c.grade_id: r.records for c, r in zip(plan.cells, executed.runs) if c.role == "test"}
    problems = [f"{c.grade_id}: {decide_cell(c, r, r.records) or r.error}" for c, r in zip(plan.cells, executed.runs)
                if c.role == "test" and (r.status != "ok" or decide_cell(c, r, r.records))]
    problems += [f"cell {c.cell_id}: {r.status}: {r.error}" for c, r in zip(plan.cells, executed.runs)
                 if c.role != "test" and r.status != "ok"]
    problems += [f"{f.cell}: {f.kind}: {f.detail}" for f in executed.flags]
    if problems:
        raise SolutionFails(f"the solution of {lesson.name} does not grade cleanly: " + "; ".join(problems))
    return records
