"""Slicing: the grader runs the cells the graded cells need, and never grades differently for it.

The reading of cells (which names each reads, binds and may change) and the cut are checked
here on small plans, in this process. That a cut changes no grade is checked on the course:
every lesson's solution graded sliced and in full agrees, verdict for verdict, in the grader's
reference run (``grade.reference``, which the grading round trip makes for every lesson); and
here a submission of known-wrong answers per lesson is graded both ways in the sandbox.
"""

import importlib
import json
import os
import pkgutil

import pytest

import tests.wrong_answers as gallery
from flowlib.course import layout
from flowlib.course.grader import slicing
from flowlib.course.grader.execute import CellRun
from flowlib.course.grader.grade import Job, Lesson, grade
from flowlib.course.grader.screen import Plan, PlanCell
from tests.scratch import ROOT

SETUP = {"np": object(), "grading": object()}  # what a test cell finds in the grader's namespace


def _plan(*cells: tuple[str, str, str]) -> Plan:
    """A plan of ``(role, cell id, source)`` cells; test cells belong to the answer before them."""
    built, exercise = [], ""
    for role, cell_id, source in cells:
        exercise = cell_id if role == "answer" else exercise
        built.append(PlanCell(source, role, cell_id, grade_id=cell_id if role != "course" else "", exercise=exercise))
    return Plan(built)


def _kept(plan: Plan, marks: dict[str, str] | None = None) -> list[str]:
    return [c.cell_id for c in slicing.slice_plan(plan, SETUP, marks or {}).cells]


def test_reads_binds_and_changes_follow_python_scopes():
    use = slicing.uses(
        "%matplotlib inline\nimport numpy as np\nx = np.zeros(3)\n"
        "def f(a):\n    y = a + x + g\n    y.append(1)\n    return y\n"
        "model.train()\nplt.plot(z, dtype=float)\nw[0] = 1\n"
    )
    assert {"x", "g", "model", "z", "w"} <= use.reads and not {"a", "y"} & use.reads  # locals are not reads
    assert {"np", "x", "f"} <= use.binds
    assert {"model", "z", "w"} <= use.changes and not {"y", "float"} & use.changes
    assert "f" in use.kills and "x" not in use.kills  # x is read (inside f) after it is bound
    assert use.dynamic  # a magic may reach anything (IPython's get_ipython())
    assert not slicing.uses("for _ in range(3):\n    total = _").dynamic  # a loop's throwaway name is its own


@pytest.mark.parametrize(
    "code",
    ["globals()['x']", "eval('x')", "print(Out[3])", "print(_4)", "import __main__", "sys._getframe().f_back"],
)
def test_code_that_reaches_names_by_string_is_graded_in_full(code):
    plan = _plan(("course", "L_setup", "import numpy as np"), ("answer", "L_a", code), ("test", "L_a_t", "a"))
    ran, mode = slicing.choose(plan, SETUP, {}, sliced=True)
    assert ran is plan and mode.startswith("full: the learner's code reaches names by string")


def test_the_cut_keeps_what_graded_cells_read_through_chains_and_changes():
    plan = _plan(
        ("course", "L_setup", "import numpy as np\nimport matplotlib.pyplot as plt"),
        ("course", "L_vocab", "vocab = ['a', 'b']"),
        ("course", "L_table", "table = {w: i for i, w in enumerate(vocab)}"),
        ("course", "L_grow", "table.update(c=2)"),  # changes table in place
        ("course", "L_plot", "plt.plot(np.arange(3))\nfig = plt.gcf()"),  # a figure nobody reads
        ("course", "L_train", "weights = np.ones(3)\nfor step in range(1000):\n    weights *= 0.5"),
        ("answer", "L_lookup", "def lookup(word):\n    return table[word]"),
        ("test", "L_lookup_tests", "grading.check_equal(lookup('c'), 2, 'c')"),
        ("course", "L_after", "summary = lookup('a')"),  # after the last graded cell
    )
    assert _kept(plan) == ["L_setup", "L_vocab", "L_table", "L_grow", "L_lookup", "L_lookup_tests"]
    assert _kept(plan, {"L_plot": slicing.ALWAYS, "L_grow": slicing.NEVER}) == [
        "L_setup",
        "L_vocab",
        "L_table",
        "L_plot",
        "L_lookup",
        "L_lookup_tests",
    ]


def test_a_rebinding_hides_what_came_before_and_learner_cells_always_run():
    plan = _plan(
        ("course", "L_setup", "import numpy as np"),
        ("course", "L_old", "x = slow_demo()"),
        ("course", "L_new", "x = np.ones(2)"),  # x bound again, without reading it
        ("learner", "mine", "print('hello')"),
        ("answer", "L_f", "def f():\n    return x"),
        ("test", "L_f_tests", "f"),
        ("course", "L_star", "from os.path import *"),  # could bind anything, but nothing after it is graded
    )
    assert _kept(plan) == ["L_setup", "L_new", "mine", "L_f", "L_f_tests"]


def test_a_sliced_run_is_doubtful_when_a_skipped_cell_could_have_helped():
    plan = _plan(
        ("course", "L_setup", "import numpy as np"),
        ("course", "L_demo", "helper = 3"),
        ("answer", "L_f", "def f():\n    return 1"),
        ("test", "L_f_tests", "f()"),
    )
    ran = slicing.slice_plan(plan, SETUP, {})
    ok = CellRun(status="ok")
    assert [c.cell_id for c in ran.cells] == ["L_setup", "L_f", "L_f_tests"]
    assert slicing.doubtful(plan, ran, [ok, ok, ok]) == ""
    helper = CellRun(status="error", error="NameError: name 'helper' is not defined")
    assert "skipped cell" in slicing.doubtful(plan, ran, [ok, helper, ok])
    own_typo = CellRun(status="error", error="NameError: name 'halper' is not defined")  # a full run fails alike
    assert slicing.doubtful(plan, ran, [ok, own_typo, ok]) == ""
    hidden = CellRun(status="error", error="a hidden test failed: your code raised NameError")
    assert slicing.doubtful(plan, ran, [ok, ok, hidden])
    assert "course's cell" in slicing.doubtful(plan, ran, [CellRun(status="error", error="boom"), ok, ok])


def test_every_lesson_is_cut_to_its_setup_answers_and_tests():
    """The course's rule (AUTHORING.md): a graded cell reads only the setup, flowlib and answers."""
    from flowlib.course.grader import screen

    for name in layout.lessons(ROOT):
        lesson = _lesson(name)
        plan = screen.plan(lesson.source, lesson.released, lesson.source)
        ran, mode = slicing.choose(plan, lesson.tests().namespace, lesson.graded_run_marks(), sliced=True)
        assert mode.startswith("sliced"), (name, mode)
        course = [c.cell_id for c in ran.cells if c.role == "course"]
        assert course == [f"{name[:2]}_setup"], f"{name}: the slice keeps course cells {course}"


def _lesson(name: str) -> Lesson:
    return Lesson(
        name,
        json.loads(layout.notebook(ROOT, name, layout.SOURCE).read_text()),
        json.loads(layout.notebook(ROOT, name).read_text()),
    )


def _wrong_answers() -> dict[str, dict[str, list[str]]]:
    """Per lesson number, each exercise's known-wrong answers."""
    found: dict[str, dict[str, list[str]]] = {}
    for module in pkgutil.iter_modules(gallery.__path__):
        for case in importlib.import_module(f"{gallery.__name__}.{module.name}").CASES:
            found.setdefault(case.answer_id[:2], {}).setdefault(case.answer_id, []).append(case.source)
    return found


WRONG = _wrong_answers()
# Submission k of a lesson holds each exercise's k-th wrong answer. The suite grades the first
# (one wrong answer per exercise, every lesson); FLOWLIB_ALL_WRONG_ANSWERS=1 grades all of them.
BATCHES = [
    (name, k)
    for name in layout.lessons(ROOT)
    for k in range(
        max(map(len, WRONG.get(name[:2], {}).values()), default=1) if os.environ.get("FLOWLIB_ALL_WRONG_ANSWERS") else 1
    )
]


@pytest.mark.parametrize(("name", "k"), BATCHES)
def test_wrong_answers_grade_the_same_sliced_and_in_full(name, k):
    lesson = _lesson(name)
    notebook = json.loads(json.dumps(lesson.released))
    wrong = {answer: sources[k] for answer, sources in WRONG.get(name[:2], {}).items() if k < len(sources)}
    for cell in notebook["cells"]:
        answer = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if answer in wrong:
            cell["source"] = wrong[answer]
    data = json.dumps(notebook).encode()
    sliced, full = grade(Job("wrong", lesson, data)), grade(Job("wrong", lesson, data, sliced=False))
    assert sliced.status == full.status == "graded", (sliced.reason, full.reason)
    assert full.mode == "full: asked for"
    assert [(v["grade_id"], v["points"]) for v in sliced.verdicts] == [
        (v["grade_id"], v["points"]) for v in full.verdicts
    ], f"{name}: slicing changed a grade ({sliced.mode})"
    assert sliced.score < sliced.max_score, f"{name}: the wrong answers earned full marks"
