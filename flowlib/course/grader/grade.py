"""One submission's whole path: screen, slice, sandbox, execute (again in full when unsure), verdicts, report.

:func:`grade` is one independent job: it takes plain data (a :class:`Job`) and returns a
:class:`~flowlib.course.grader.report.Report`, touching no gradebook, so the same job runs serially,
in a process pool or on a Dask worker. The coordinator alone writes the gradebook.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from flowlib import watch
from flowlib.cells import HIDDEN_BLOCK, cell_role, cell_source, nbgrader_meta
from flowlib.course.grader import learner_code, screen, slicing
from flowlib.course.grader.execute import KernelLost
from flowlib.course.grader.report import Report
from flowlib.course.grader.run import Execution, Tests, run_plan
from flowlib.course.grader.sandbox import Limits, Sandbox, course_paths
from flowlib.course.grader.testcell import setup_namespace
from flowlib.course.grader.verdicts import decide_cell, unreadable, verdicts, written


@dataclass(frozen=True)
class Lesson:
    """What the grader knows of a lesson: its source and released notebooks, and its limits."""

    name: str
    source: dict[str, Any]
    released: dict[str, Any]
    key: str = ""  # what its grades depend on (see autograde.load_lesson)

    @property
    def limits(self) -> Limits:
        return Limits().replace(**self.source.get("metadata", {}).get("flowlib", {}).get("limits", {}))

    def hidden_text(self) -> list[str]:
        """Every line of the lesson's hidden tests (no message may echo them)."""
        lines = []
        for cell in self.source["cells"]:
            for block in HIDDEN_BLOCK.findall(cell_source(cell)):
                lines += [line for line in block.splitlines() if line.strip()]
        return lines

    def forbidden(self) -> dict[str, list[str]]:
        """``{answer grade id: [names the exercise asks the learner not to call]}``."""
        return {
            nbgrader_meta(c)["grade_id"]: list(c["metadata"]["flowlib"]["forbidden"])
            for c in self.source["cells"]
            if cell_role(c) == "answer" and c.get("metadata", {}).get("flowlib", {}).get("forbidden")
        }

    def graded_run_marks(self) -> dict[str, str]:
        """``{cell id: "always" | "never"}``: the course cells an instructor marked (see slicing)."""
        return {
            str(c.get("id")): str(c["metadata"]["flowlib"]["graded_run"])
            for c in self.source["cells"]
            if c.get("metadata", {}).get("flowlib", {}).get("graded_run")
        }

    def tests(self) -> Tests:
        """What its test cells run with in the grader's process: the setup's names, the rules.
        Raises :class:`SolutionFails` when the setup cell does not run here."""
        setup = "\n".join(cell_source(c) for c in self.source["cells"] if str(c.get("id", "")).endswith("_setup"))
        try:
            namespace = setup_namespace(setup, course_paths()["flowlib"].parent / "notebooks" / self.name)
        except Exception as error:  # the course's bug, never the learner's
            raise SolutionFails(
                f"the setup cell of {self.name} does not run in the grader: {type(error).__name__}: {error}"
            ) from error
        answers, declared = (
            [nbgrader_meta(c)["grade_id"] for c in self.source["cells"] if cell_role(c) == "answer"],
            self.forbidden(),
        )
        rules = {grade_id: [*declared.get(grade_id, []), *watch.ALWAYS] for grade_id in answers}
        return Tests(namespace, rules)


@dataclass(frozen=True)
class Job:
    student: str
    lesson: Lesson
    notebook: bytes  # the submitted file, as bytes (it may not even be JSON)
    extra_files: tuple[str, ...] = ()
    slot: int = 0  # which sandbox user (parallel jobs on one machine get different ones)
    threads: int | None = None
    sliced: bool = True  # run only the cells the graded cells need (False: every cell)


class SolutionFails(RuntimeError):
    """The solution notebook itself does not pass its tests in the sandbox."""


def _screen(lesson: Lesson, submitted: dict, extra_files: tuple[str, ...]) -> tuple[screen.Plan, list[screen.Flag]]:
    """The plan to run, and what a reading of the learner's code suggests a person look at."""
    plan = screen.plan(lesson.source, lesson.released, submitted)
    flags = list(plan.flags)
    if extra_files:
        flags.append(screen.Flag("extra files", "", f"not copied into the sandbox: {', '.join(extra_files)}"))
    setup = learner_code.aliases("\n".join(c.source for c in plan.cells if c.cell_id.endswith("_setup")))
    # what the course's cells import, less the names the learner's own cells define (theirs win)
    imported = learner_code.aliases("\n".join(c.source for c in plan.cells if c.role == "course"))
    for name in learner_code.names_bound(c.source for c in plan.cells if c.role in ("answer", "learner")):
        imported.pop(name, None)
    forbidden = lesson.forbidden()
    for index, cell in enumerate(plan.cells):
        if cell.role not in ("answer", "learner"):
            continue
        for kind, detail in learner_code.read_code(cell.source, setup, []):
            flags.append(screen.Flag(kind, cell.exercise or cell.cell_id, detail))
        # an answer is read against its own exercise's rule; a helper cell against every exercise after it
        coming = (
            [cell.exercise]
            if cell.role == "answer"
            else list(dict.fromkeys(c.exercise for c in plan.cells[index:] if c.role == "answer"))
        )
        for exercise in coming:
            for kind, detail in learner_code.read_code(cell.source, setup, forbidden.get(exercise, []), imported):
                if kind == "delegation":  # a suspicion: only the run's evidence costs points
                    flags.append(screen.Flag("possible delegation", exercise, detail))
    return plan, flags


def _not_graded(report: Report, lesson: Lesson, reason: str) -> Report:
    """``report`` as failed, every graded cell 0 with ``reason`` (verdicts.py's rule for a failed run)."""
    report.status, report.reason = "failed", reason
    report.verdicts = [asdict(v) for v in unreadable(lesson.source, reason, "test")]
    report.written = [asdict(v) for v in unreadable(lesson.source, reason, "manual")]
    return report


def grade(job: Job) -> Report:
    """Grade one submission. Never raises for a bad submission: the report says what failed."""
    lesson = job.lesson
    report = Report(
        job.student,
        lesson.name,
        sha256=hashlib.sha256(job.notebook).hexdigest(),
        graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    try:
        submitted = json.loads(job.notebook.decode("utf-8"))
        if not isinstance(submitted, dict) or not isinstance(submitted.get("cells"), list):
            raise ValueError("it has no list of cells")
    except (UnicodeDecodeError, ValueError) as error:
        return _not_graded(report, lesson, f"the notebook is not a readable .ipynb file ({error})")
    plan, flags = _screen(lesson, submitted, job.extra_files)
    tests = lesson.tests()
    ran, report.mode = slicing.choose(plan, tests.namespace, lesson.graded_run_marks(), job.sliced)
    try:
        executed = _execute(job, ran, tests, report)
        doubt = slicing.doubtful(plan, ran, executed.runs) if ran is not plan else ""
        if doubt:  # a full run grades it: slicing never decides a grade it is not sure of
            ran, report.mode = plan, f"full: the sliced run was not conclusive ({doubt})"
            executed = _execute(job, plan, tests, report)
    except KernelLost as error:  # not graded: a later run grades it again
        return _not_graded(report, lesson, f"the grader could not start a kernel: {error}")
    flags += [screen.Flag("protection off", p["name"], p["detail"]) for p in report.protections if not p["on"]]
    flags += executed.flags
    found = verdicts(ran.cells, executed.runs, flags, lesson.hidden_text())
    report.seconds = round(executed.seconds, 2)
    report.verdicts = [asdict(v) for v in found]
    report.flags = [asdict(f) for f in dict.fromkeys(flags)]
    report.written = [asdict(v) for v in written(lesson.source, lesson.released, plan.manual)]
    report.manual = [v["grade_id"] for v in report.written if v["points"] is None]
    return report


def _execute(job: Job, plan: screen.Plan, tests: Tests, report: Report) -> Execution:
    """Run ``plan`` in a sandbox of its own, the protections it had noted in ``report``."""
    lesson = job.lesson
    with Sandbox(lesson.name, job.notebook, lesson.limits, slot=job.slot, threads=job.threads) as sandbox:
        report.protections = [asdict(p) for p in sandbox.protections]
        return run_plan(plan, sandbox, lesson.limits, tests)


def reference(lesson: Lesson) -> float:
    """Grade the solution in the sandbox, as a learner's submission is graded: in full, and sliced;
    the seconds of the full run.

    Raises :class:`SolutionFails` naming each test cell the solution fails, any other cell that
    does not run cleanly (a claim that no longer holds, a cell past its time limit), any flag
    the run raised (a bug of the lesson or of the grader, never the learner's), and any test
    cell whose verdict a sliced run changes (a cell the slice misses: mark it ``"always"``).
    """
    job = Job("reference", lesson, json.dumps(lesson.source).encode())
    plan, tests = screen.plan(lesson.source, lesson.released, lesson.source), lesson.tests()
    executed = _execute(job, plan, tests, Report("reference", lesson.name))
    problems = [f"{grade_id}: {why}" for grade_id, why in _test_verdicts(plan, executed) if why]
    problems += [
        f"cell {c.cell_id}: {r.status}: {r.error}"
        for c, r in zip(plan.cells, executed.runs, strict=True)
        if c.role != "test" and r.status != "ok"
    ]
    problems += [f"{f.cell}: {f.kind}: {f.detail}" for f in executed.flags]
    cut = slicing.slice_plan(plan, tests.namespace, lesson.graded_run_marks())
    sliced = dict(_test_verdicts(cut, _execute(job, cut, tests, Report("reference", lesson.name))))
    problems += [
        f"{grade_id}: graded sliced it gives {sliced.get(grade_id)!r}, in full {full!r} "
        '(mark the cell it needs "graded_run": "always")'
        for grade_id, full in _test_verdicts(plan, executed)
        if sliced.get(grade_id) != full
    ]
    if problems:
        raise SolutionFails(f"the solution of {lesson.name} does not grade cleanly: " + "; ".join(problems))
    return executed.seconds


def _test_verdicts(plan: screen.Plan, executed: Execution) -> list[tuple[str, str]]:
    """``(grade id, '' or why it failed)`` of each test cell of a run."""
    return [(c.grade_id, decide_cell(r)) for c, r in zip(plan.cells, executed.runs, strict=True) if c.role == "test"]
