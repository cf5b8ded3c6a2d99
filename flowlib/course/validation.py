"""What a learner sees when checking their work: points per exercise, one short message per failure.

Two ways in, both for the student edition:

* the **Validate** button (the course's, :mod:`flowlib.course.lab_validate`): nbgrader's
  Validator runs the notebook, and :func:`exercise_results` of the run is shown as a table of
  points per exercise, each failing one with one readable line. The learner's
  ``nbgrader_config.py`` also calls :func:`configure`, which hooks :func:`summarize` into every
  Validator run (``nbgrader validate`` too): each failing test cell's traceback (frames through
  the grading code) is replaced by one readable line, the points of that exercise, and, on the
  first failure, the points of every exercise.
* ``flowlib check`` (the edition's ``make test``): the environment (``flowlib doctor``), then
  every lesson's visible tests against the saved notebooks, in this process
  (:func:`flowlib.grading.score_notebook`), as a table of points per exercise.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowlib.cells import cell_role, cell_source, nbgrader_meta
from flowlib.course import layout
from flowlib.course.grader.learner_code import aliases, names_bound
from flowlib.grading import Delegation, forbidden
from flowlib.watch import learner_names

DELEGATION = Delegation.__name__  # a test cell's error when the answer called a forbidden function
NOT_ANSWERED = (
    "not answered yet: replace `raise NotImplementedError(...)` in the answer cell "
    "with your solution, run it, then Validate again"
)


@dataclass(frozen=True)
class TestCell:
    __test__ = False  # not a pytest class

    grade_id: str
    exercise: str
    earned: float
    points: float


def reason(ename: str, evalue: str) -> str:
    """One readable line for a failed test, from the error's name and message."""
    if ename == "NotImplementedError":
        return NOT_ANSWERED
    if ename == "NameError":
        return f"{evalue}: the exercise's answer cell above did not define it; run that cell and check it ends without an error"
    if ename in ("ExerciseFailure", "AssertionError", DELEGATION) and evalue:
        return evalue
    return f"{ename}: {evalue}" if evalue else ename


def _points(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def exercises(cells: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """``{index of a test cell: its exercise}``: the grade id of the answer cell above it."""
    found, exercise = {}, ""
    for index, cell in enumerate(cells):
        meta, role = nbgrader_meta(cell), cell_role(cell)
        if role == "answer":
            exercise = str(meta.get("grade_id", exercise))
        elif role == "test":
            found[index] = exercise or str(meta.get("grade_id", ""))
    return found


def test_cells(cells: Sequence[Mapping[str, Any]]) -> list[TestCell]:
    """The graded test cells in order, each with its exercise (the answer cell before it) and
    the points it earned in this run (nbgrader's rule: an error or stderr output earns 0; the
    grader's: an exercise whose answer called a forbidden function earns 0 on every test)."""
    found, delegating = [], set()
    for index, exercise in exercises(cells).items():
        cell, meta = cells[index], nbgrader_meta(cells[index])
        outputs = cell.get("outputs", [])
        failed = any(
            o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")
            for o in outputs
        )
        if any(o.get("ename") == DELEGATION for o in outputs):
            delegating.add(exercise)
        points = _points(meta.get("points"))
        found.append(TestCell(str(meta.get("grade_id", "")), exercise, 0.0 if failed else points, points))
    return [TestCell(t.grade_id, t.exercise, 0.0, t.points) if t.exercise in delegating else t for t in found]


def per_exercise(tests: Sequence[TestCell]) -> dict[str, tuple[float, float]]:
    """``{exercise: (earned, possible)}`` in notebook order."""
    totals: dict[str, tuple[float, float]] = {}
    for test in tests:
        earned, possible = totals.get(test.exercise, (0.0, 0.0))
        totals[test.exercise] = (earned + test.earned, possible + test.points)
    return totals


def exercise_results(cells: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float, float, str]]:
    """``{exercise: (earned, possible, why)}`` of a notebook that has run, in notebook order;
    ``why`` is one readable line for the first failing test ('' when every test passes), and
    :data:`NOT_ANSWERED` when the exercise's answer cell still raises its stub's error."""
    unanswered = {
        str(nbgrader_meta(cell).get("grade_id", ""))
        for cell in cells
        if cell_role(cell) == "answer" and any(o.get("ename") == "NotImplementedError" for o in cell.get("outputs", []))
    }
    by_id = {str(nbgrader_meta(cell).get("grade_id", "")): cell for cell in cells}
    tests = test_cells(cells)
    results: dict[str, tuple[float, float, str]] = {}
    for exercise, (earned, possible) in per_exercise(tests).items():
        why = ""
        if earned < possible:
            mine = [by_id[t.grade_id] for t in tests if t.exercise == exercise and t.earned < t.points]
            delegating = [c for c in mine if any(o.get("ename") == DELEGATION for o in c.get("outputs", []))]
            why = NOT_ANSWERED if exercise in unanswered else failure((delegating or mine)[0])
        results[exercise] = (earned, possible, why)
    return results


def failure(cell: Mapping[str, Any]) -> str:
    """One readable line for a failed test cell: its error's :func:`reason`, else its stderr."""
    outputs = cell.get("outputs", [])
    for output in outputs:
        if output.get("output_type") == "error":
            return reason(str(output.get("ename", "")), str(output.get("evalue", "")))
    written = "".join(
        "".join(o.get("text", "")) for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    first = written.strip().splitlines()[:1]
    return "the test wrote to stderr, which counts as failing" + (f": {first[0]}" if first else "")


def _n(value: float) -> str:
    return f"{value:g}"


def table(totals: Mapping[str, tuple[float, float]]) -> list[str]:
    lines = [f"  {name}: {_n(earned)} of {_n(possible)}" for name, (earned, possible) in totals.items()]
    earned = sum(e for e, _ in totals.values())
    possible = sum(p for _, p in totals.values())
    return [*lines, f"  total: {_n(earned)} of {_n(possible)} point(s)"]


def summarize(notebook: Any = None, upto: int | None = None, **_: Any) -> None:
    """Rewrite, in place, the errors of the failing test cells among the first ``upto`` cells
    (all when None): one readable line, this exercise's points, everyone's points on the first."""
    if notebook is None:
        return
    cells = notebook["cells"][:upto]
    tests = {t.grade_id: t for t in test_cells(cells)}
    totals = per_exercise(list(tests.values()))
    first = True
    for cell in cells:
        test = tests.get(str(nbgrader_meta(cell).get("grade_id", ""))) if cell_role(cell) == "test" else None
        if test is None or test.earned == test.points:
            continue
        earned, possible = totals[test.exercise]
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            lines = [
                reason(str(output.get("ename", "")), str(output.get("evalue", ""))),
                "",
                f"this test: 0 of {_n(test.points)} point(s); exercise {test.exercise}: {_n(earned)} of {_n(possible)}",
            ]
            if first:
                lines += ["", "your points so far, exercise by exercise:", *table(totals)]
            output["traceback"] = lines
            first = False


def watched_source(cells: Sequence[Mapping[str, Any]], index: int) -> str:
    """What the kernel runs for the test cell at ``index``: the cell itself, through
    :func:`flowlib.grading.watched_test`, its exercise's forbidden functions watched while the
    learner's names run, as the grader watches them."""
    exercise = exercises(cells).get(index, "")
    rules = {str(nbgrader_meta(c).get("grade_id", "")): forbidden(c) for c in cells if cell_role(c) == "answer"}
    course = [cell_source(c) for c in cells if c.get("cell_type") == "code" and cell_role(c) == "course"]
    known = dict.fromkeys([*names_bound(course), *aliases("\n".join(course))])
    source = cell_source(cells[index])
    try:
        learners = learner_names(source, known)
    except SyntaxError:  # the test cell's own error is what the learner should see
        return source
    return f"__import__('flowlib.grading', fromlist=['_']).watched_test({source!r}, {learners!r}, {rules.get(exercise, [])!r})"


_running: dict[str, Any] = {"notebook": None, "sources": {}}  # the notebook Validate is running (one at a time)


def _started(notebook: Any = None, **_: Any) -> None:
    _running["notebook"], _running["sources"] = notebook, {}


def _put_back() -> None:
    """The test cells' own sources back in the notebook (the kernel ran their watched form)."""
    notebook, sources = _running["notebook"], _running["sources"]
    for index, source in sources.items():
        notebook["cells"][index]["source"] = source
    sources.clear()


def _before_cell(cell_index: int = 0, **_: Any) -> None:
    """Before each cell (markdown too) runs, every cell above it has: summarise those."""
    _put_back()
    summarize(_running["notebook"], upto=cell_index)


def _watch(cell: Any = None, cell_index: int = 0, **_: Any) -> None:
    """Just before a test cell goes to the kernel: send its watched form instead."""
    notebook = _running["notebook"]
    if notebook is None or cell is None or cell_role(cell) != "test":
        return
    _running["sources"][cell_index] = cell["source"]
    cell["source"] = watched_source(notebook["cells"], cell_index)


def _executed(**_: Any) -> None:
    _put_back()


def _after_error(cell_index: int = 0, **_: Any) -> None:
    _put_back()
    summarize(_running["notebook"], upto=cell_index + 1)


def _finished(notebook: Any = None, **_: Any) -> None:
    _put_back()
    summarize(notebook if notebook is not None else _running["notebook"])


def configure(c: Any) -> None:
    """Hook the course's checks into the notebook runs (nbclient's hooks) of nbgrader config ``c``:
    each test cell runs watched (:func:`watched_source`), and :func:`summarize` rewrites the results.

    nbgrader runs notebooks through nbclient's synchronous path, which calls no hook once the
    last cell has run; so the summary is brought up to date before every cell and after every
    error (a lesson ends with markdown cells, so the last update sees every test).
    """
    c.Execute.on_notebook_start = _started
    c.Execute.on_cell_start = _before_cell
    c.Execute.on_cell_execute = _watch
    c.Execute.on_cell_executed = _executed
    c.Execute.on_cell_error = _after_error
    c.Execute.on_notebook_complete = _finished


# --- flowlib check: the learner's own check command -----------------------------------------


def lesson_notebooks(course: Path, only: Sequence[str] = ()) -> list[Path]:
    notebooks = [
        path
        for lesson in layout.lessons(course, layout.RELEASED)
        if (path := layout.notebook(course, lesson)).is_file()
    ]
    if only:
        unknown = sorted(set(only) - {p.stem for p in notebooks})
        if unknown:
            raise SystemExit(
                f"flowlib check: unknown lesson(s) {unknown}; expected some of {[p.stem for p in notebooks]}"
            )
        notebooks = [p for p in notebooks if p.stem in only]
    return notebooks


def check_lesson(path: Path) -> dict[str, tuple[float, float, str]]:
    """``{exercise: (earned, possible, why)}`` of one saved lesson notebook; ``why`` is the first
    failing test's message ('' when every test of the exercise passes)."""
    from flowlib.grading import score_notebook

    results = score_notebook(path)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    exercise_of = {t.grade_id: t.exercise for t in test_cells(cells)}
    totals: dict[str, tuple[float, float, str]] = {}
    for grade_id, result in results.items():
        exercise = exercise_of.get(grade_id, grade_id)
        earned, possible, why = totals.get(exercise, (0.0, 0.0, ""))
        if not result.passed and not why:
            why = result.message or f"{grade_id} failed"
            why = "not answered yet" if "not answered yet" in why else why
        totals[exercise] = (earned + result.points, possible + result.max_points, why)
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="flowlib check", description="Check your machine, then your answers (visible tests)."
    )
    parser.add_argument("lessons", nargs="*", help="lesson ids such as 02_self_attention (default: all)")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless every visible test passes")
    parser.add_argument("--no-doctor", action="store_true", help="skip the machine check")
    args = parser.parse_args(argv)

    course = layout.course_root()
    ready = True
    if not args.no_doctor:
        from flowlib.course.doctor import doctor

        print("== your machine (flowlib doctor)")
        ready = all(check.ok for check in doctor())
    print("\n== your answers (the visible tests of each exercise; hidden tests run when you are graded)")
    earned = possible = 0.0
    unreadable = []
    for path in lesson_notebooks(course, args.lessons):
        try:
            totals = check_lesson(path)
        except Exception as error:  # a notebook that cannot be read or whose setup cell fails
            unreadable.append(path.stem)
            print(f"{path.stem}: could not be checked ({type(error).__name__}: {error})")
            continue
        got = sum(e for e, _, _ in totals.values())
        top = sum(p for _, p, _ in totals.values())
        earned, possible = earned + got, possible + top
        print(f"{path.stem}: {_n(got)} of {_n(top)} point(s)")
        for name, (e, p, why) in totals.items():
            print(f"  {'ok ' if e == p else '...'} {name}: {_n(e)} of {_n(p)}" + (f"  ({why})" if why else ""))
    print(
        f"\nvisible tests: {_n(earned)} of {_n(possible)} point(s)"
        + ("" if earned == possible else " (unanswered exercises are not errors: they are what is left to do)")
    )
    if not ready:
        print("your machine needs fixing first: see [FIX] above")
    if unreadable:
        print(f"could not check: {', '.join(unreadable)}")
    return 1 if not ready or unreadable or (args.strict and earned != possible) else 0
