"""Trusted grading: honest and dishonest submissions of lesson 02 through `flowlib instructor
autograde`, read back from gradebook.db, the reports, the graded notebooks and the CSV.

Every fixture (tests/submissions.py) has the score it must get and the flags it must raise: a
submission earns what its answers earn. An honest one, and each honest oddity, loses no point
and raises no flag but those a person may legitimately look at (``may_flag``). No
learner-facing file may hold hidden-test text. One grading run serves all the checks below and
those of tests/test_adversarial.py (tests.submissions.graded_course).
"""

import csv
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from flowlib import comparisons, grading
from flowlib.course.grader import integrity, learner_code, screen
from flowlib.course.grader import sandbox as sandbox_module
from flowlib.course.grader.report import reports
from tests.submissions import (
    DISHONEST,
    HONEST,
    HONEST_ODDITIES,
    LESSON,
    every_fixture,
    forms,
    graded_course,
    hidden_lines,
    learner_files,
    student,
)

FIXTURES = HONEST + DISHONEST + HONEST_ODDITIES
_WHY_NOT = sandbox_module.bwrap_works()
pytestmark = pytest.mark.skipif(
    bool(_WHY_NOT),
    reason=f"the grading sandbox is off here ({_WHY_NOT}): these fixtures would run hostile code with your own rights",
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    return graded_course(tmp_path_factory)


def _scores(root: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as book:
        return {s.student.id: s.score for s in book.assignment_submissions(LESSON)}


def _param(fixture):
    marks = [pytest.mark.xfail(strict=True, reason=fixture.hole)] if fixture.hole else []
    return pytest.param(fixture, id=fixture.name, marks=marks)


@pytest.mark.parametrize("fixture", [_param(f) for f in FIXTURES])
def test_score_and_flags(graded, fixture):
    report = reports(graded)[(student(fixture), LESSON)]
    got = _scores(graded)[student(fixture)]
    raised = report.flag_kinds() - {"protection off"}
    assert report.status == "graded", f"{fixture.name}: not graded: {report.reason}"
    assert got == fixture.expected, f"{fixture.name}: scored {got}, expected {fixture.expected}: {report.verdicts}"
    assert fixture.flags <= raised, f"{fixture.name}: flags {raised}, expected at least {set(fixture.flags)}"
    if fixture in HONEST + HONEST_ODDITIES:
        assert raised <= fixture.may_flag, f"an honest submission ({fixture.name}) was flagged: {report.flags}"


def test_there_are_thirty_honest_oddities():
    assert len(HONEST_ODDITIES) >= 30
    assert all(f.expected == 9.0 for f in HONEST_ODDITIES)


def test_no_hidden_test_text_reaches_a_learner(graded):
    hidden = hidden_lines(graded)
    assert hidden
    files = [*learner_files(graded), *graded.glob("notebooks/*/*.ipynb")]
    assert len(files) >= 2 * len(every_fixture())
    for path in files:
        text = path.read_text()
        leaked = [line for line in hidden if any(form in text for form in forms(line))]
        assert not leaked, f"{path.relative_to(graded)} shows hidden tests: {leaked[:2]}"
        assert "BEGIN HIDDEN TESTS" not in text


def test_the_csv_has_flag_columns_and_quotes(graded):
    rows = list(csv.DictReader((graded / "grades.csv").open()))
    by_student = {row["student_id"]: row for row in rows}
    assert len(by_student) == len(every_fixture())
    assert by_student["delegates-softmax-to-torch"]["flag_delegation"] == "1"
    assert by_student["patches-every-check-answers-nothing"]["flag_tampering"] == "1"
    assert by_student["correct"]["flag_tampering"] == "0" and by_student["correct"]["status"] == "graded"


def test_reports_name_the_sandbox_and_the_file(graded):
    report = reports(graded)[("correct", LESSON)]
    assert len(report.sha256) == 64 and report.status == "graded"
    assert {p["name"] for p in report.protections} >= {"filesystem", "network", "limits"}


def test_a_failed_hidden_test_says_what_failed_not_how(graded):
    report = reports(graded)[("unstable-softmax", LESSON)]
    failed = [v for v in report.verdicts if v["message"]]
    assert [v["grade_id"] for v in failed] == ["02_softmax_tests_large_logits"]
    assert "softmax([1000, 1001, 1002])" in failed[0]["message"]


def test_the_probe_names_what_changed():
    assert integrity.changes({"module flowlib.grading": "a"}, {"module flowlib.grading": "b"}) == [
        "module flowlib.grading"
    ]
    assert integrity.changes({}, {"module torch.linalg": "a"}) == []  # a module imported later is fine


def test_screen_reads_code_without_running_it():
    setup = learner_code.aliases("import numpy as np\nimport torch\nfrom flowlib import grading, attention")
    assert learner_code.read_code("def f(x):\n    attention = x\n    return attention", setup, ["softmax"]) == []
    assert learner_code.read_code("%time x = 1", setup, []) == []  # a magic is not reflection
    kinds = {kind for kind, _ in learner_code.read_code("y = torch.nn.functional.softmax(x, -1)", setup, ["softmax"])}
    assert kinds == {"delegation"}
    # a bare call of a forbidden function that a course cell imported is delegation; the learner's own is not
    course = learner_code.aliases("from transformers import pipeline")
    assert learner_code.read_code("def fill(t):\n    return pipeline('fill-mask')(t)", setup, ["pipeline"], course) == [
        ("delegation", "calls transformers.pipeline, which this exercise asks you to write yourself")
    ]
    assert learner_code.read_code("def softmax(x):\n    return x\ny = softmax(1)", setup, ["softmax"], course) == []
    assert learner_code.read_code("def f(pipeline):\n    return pipeline(1)", setup, ["pipeline"], course) == []
    # the grader drops from the course's imports what the learner's own cells define (their softmax is theirs)
    assert learner_code.names_bound(["def softmax(x):\n    return x\nscale = 2", "y = 1", "not python("]) == {
        "softmax",
        "scale",
        "y",
    }


@pytest.mark.parametrize(
    "code",
    [
        "print(np.__version__, torch.__version__)",
        "from IPython.display import Markdown, display\ndisplay(Markdown('**note**'))",
        "for _i in range(3):\n    for _k in range(_i):\n        print(_i, _k)",
        "class Head:\n    def forward(self, input):\n        return input",
        "class Head:\n    def softmax(self, s):\n        return s\n    def __call__(self, s):\n        return self.softmax(s)",
        "print(type(p).__name__, p.__class__.__name__)",
        "import sys, os.path\nprint(os.path.join('a', 'b'), file=sys.stderr)",
        "import numpy as numpy_\ny = numpy_.exp(1.0)",
        "%time y = 1",
        "%%timeit -n 2 -r 1\ny = 1",
    ],
)
def test_screen_leaves_honest_code_alone(code):
    setup = learner_code.aliases(
        "import numpy as np\nimport torch\nimport torch.nn.functional as F\nfrom flowlib import grading"
    )
    assert learner_code.read_code(code, setup, ["softmax", "log_softmax"]) == []


@pytest.mark.parametrize(
    "code, kind",
    [
        ("y = torch._softmax(t, -1, False)", "delegation"),
        ("y = torch.special.softmax(t, -1)", "delegation"),
        ("m = torch.nn.Softmax(dim=-1)", "delegation"),
        ("def f(x, _f=torch.softmax):\n    return _f(x)", "delegation"),
        ("\uff45\uff58\uff45\uff43('1')", "tampering"),
        ("for eval in [eval]:\n    eval('1')", "tampering"),
        ("def f():\n    global np\n    np = None", "tampering"),
        ("x.__class__ = int", "tampering"),
        ("from IPython.display import publish_display_data", "tampering"),
        ("from IPython import get_ipython", "tampering"),
    ],
)
def test_screen_still_marks_what_a_person_should_see(code, kind):
    setup = learner_code.aliases(
        "import numpy as np\nimport torch\nimport torch.nn.functional as F\nfrom flowlib import grading"
    )
    assert kind in {found for found, _ in learner_code.read_code(code, setup, ["softmax", "log_softmax"])}


def test_plain_data_never_trusts_a_learner_object():
    class Liar:
        def __eq__(self, other):
            return True

        def __array__(self, *args, **kwargs):
            import numpy

            return numpy.ones(3)

    assert comparisons.plain(Liar()) == {"unsupported": "test_plain_data_never_trusts_a_learner_object.<locals>.Liar"}
    with pytest.raises(grading.ExerciseFailure, match="should be numeric"):
        grading.check_close(Liar(), [1.0, 1.0, 1.0], "weights")
    with pytest.raises(grading.ExerciseFailure):
        grading.check_equal(Liar(), 3, "count")


def test_nbgraders_own_export_still_reads_the_gradebook(graded):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", "--to", "nbgrader.csv"],
        cwd=graded,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader((graded / "nbgrader.csv").open()))
    assert len(rows) == len(every_fixture())


def test_a_detached_child_dies_with_its_sandbox():
    import subprocess

    from flowlib.course.grader.run import Tests, run_plan
    from flowlib.course.grader.sandbox import Limits, Sandbox

    marker = "sleep 4321"
    plan = screen.Plan(
        [
            screen.PlanCell(
                "import subprocess\nsubprocess.Popen(['sh', '-c', '"
                + marker
                + " & disown'], start_new_session=True)\nprint('started')",
                "learner",
                "child",
            )
        ]
    )
    with Sandbox(LESSON, b'{"cells": []}', Limits(cell_seconds=10)) as sandbox:
        executed = run_plan(plan, sandbox, sandbox.limits, Tests({}, {}))
    assert executed.runs[0].status == "ok", executed.runs[0]
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert not left, f"a process the submission started outlived its grading: {left}"
