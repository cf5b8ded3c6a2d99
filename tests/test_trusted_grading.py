"""Trusted grading: honest and dishonest submissions of lesson 02 through `flowlib instructor
autograde`, read back from gradebook.db, the reports, the graded notebooks and the CSV.

Every fixture (tests/submissions.py) has the score it must get and the flags it must raise;
an honest one raises no flag. No learner-facing file may hold hidden-test text. One grading
run serves all the checks below (module-scoped fixture).
"""

import csv
import json
import re
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from flowlib import comparisons, grading
from flowlib.course import instructor
from tests.scratch import scratch_course
from flowlib.course.grader import integrity, screen
from flowlib.course.grader import sandbox as sandbox_module
from flowlib.course.grader.report import reports
from tests.submissions import DISHONEST, HONEST, LESSON

FIXTURES = HONEST + DISHONEST
_WHY_NOT = sandbox_module._bwrap_works()
pytestmark = pytest.mark.skipif(bool(_WHY_NOT), reason=f"the grading sandbox is off here ({_WHY_NOT}): "
                                "these fixtures would run hostile code with your own rights")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _student(fixture) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fixture.name.lower()).strip("-")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = scratch_course(tmp_path_factory.mktemp("class"), LESSON)
    released = json.loads((root / "notebooks" / LESSON / f"{LESSON}.ipynb").read_text())
    for fixture in FIXTURES:
        folder = root / "submitted" / _student(fixture) / LESSON
        folder.mkdir(parents=True)
        (folder / f"{LESSON}.ipynb").write_text(json.dumps(fixture.notebook(released)))
        for name in fixture.extra_files:
            (folder / name).write_text("def allclose(*a, **k):\n    return True\n")
    run = instructor.autograde(root)
    assert not run.refused, run.refused
    instructor.feedback(root)
    instructor.export(root, Path("grades.csv"))
    return root


def _scores(root: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as book:
        return {s.student.id: s.score for s in book.assignment_submissions(LESSON)}


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_score_and_flags(graded, fixture):
    report = reports(graded)[(_student(fixture), LESSON)]
    got = _scores(graded)[_student(fixture)]
    raised = report.flag_kinds() - {"protection off"}
    assert got == fixture.expected, f"{fixture.name}: scored {got}, expected {fixture.expected}: {report.verdicts}"
    assert fixture.flags <= raised, f"{fixture.name}: flags {raised}, expected at least {set(fixture.flags)}"
    if fixture in HONEST:
        assert not raised, f"an honest submission ({fixture.name}) was flagged: {report.flags}"


def test_no_hidden_test_text_reaches_a_learner(graded):
    source = (graded / "solutions" / LESSON / f"{LESSON}.ipynb").read_text()
    hidden = [line.strip() for block in HIDDEN.findall("".join(
        "".join(c["source"]) for c in json.loads(source)["cells"])) for line in block.splitlines() if len(line.strip()) > 15]
    assert hidden
    learner_files = [*graded.glob("autograded/*/*/*.ipynb"), *graded.glob("feedback/*/*/*.html"), *graded.glob("notebooks/*/*.ipynb")]
    assert len(learner_files) >= len(FIXTURES)
    for path in learner_files:
        text = path.read_text()
        leaked = [line for line in hidden if line in text or json.dumps(line)[1:-1] in text]
        assert not leaked, f"{path.relative_to(graded)} shows hidden tests: {leaked[:2]}"
        assert "BEGIN HIDDEN TESTS" not in text


def test_the_csv_has_flag_columns_and_quotes(graded):
    rows = list(csv.DictReader((graded / "grades.csv").open()))
    by_student = {row["student_id"]: row for row in rows}
    assert len(by_student) == len(FIXTURES)
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


def test_the_probe_sees_a_patched_check_and_the_canary_a_lying_recorder():
    records = [{"kind": "close", "actual": comparisons.plain([[1.0]]), "message": "x"}]
    code, want = integrity.canary()
    assert "check_close" in code and len(want) == 3
    assert not integrity.canary_faithful(records, want)
    assert integrity.changes({"module flowlib.grading": "a"}, {"module flowlib.grading": "b"}) == ["module flowlib.grading"]
    assert integrity.changes({}, {"module torch.linalg": "a"}) == []  # a module imported later is fine


def test_screen_reads_code_without_running_it():
    setup = screen.aliases("import numpy as np\nimport torch\nfrom flowlib import grading, attention")
    assert screen.read_code("def f(x):\n    attention = x\n    return attention", setup, ["softmax"]) == []
    assert screen.read_code("%time x = 1", setup, []) == []  # a magic is not reflection
    kinds = {kind for kind, _ in screen.read_code("y = torch.nn.functional.softmax(x, -1)", setup, ["softmax"])}
    assert kinds == {"delegation"}
    # a bare call of a forbidden function that a course cell imported is delegation; the learner's own is not
    course = screen.aliases("from transformers import pipeline")
    assert screen.read_code("def fill(t):\n    return pipeline('fill-mask')(t)", setup, ["pipeline"], course) == [
        ("delegation", "calls transformers.pipeline, which this exercise asks you to write yourself")]
    assert screen.read_code("def softmax(x):\n    return x\ny = softmax(1)", setup, ["softmax"], course) == []
    assert screen.read_code("def f(pipeline):\n    return pipeline(1)", setup, ["pipeline"], course) == []
    # the grader drops from the course's imports what the learner's own cells define (their softmax is theirs)
    assert screen.names_bound(["def softmax(x):\n    return x\nscale = 2", "y = 1", "not python("]) == {"softmax", "scale", "y"}


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
    result = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "nbgrader.csv"], cwd=graded,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader((graded / "nbgrader.csv").open()))
    assert len(rows) == len(FIXTURES)


def test_a_detached_child_dies_with_its_sandbox():
    import subprocess

    from flowlib.course.grader.run import execute
    from flowlib.course.grader.sandbox import Limits, Sandbox

    marker = "sleep 4321"
    plan = screen.Plan([screen.PlanCell(
        "import subprocess\nsubprocess.Popen(['sh', '-c', '" + marker + " & disown'], start_new_session=True)\nprint('started')",
        "learner", "child")])
    with Sandbox(LESSON, b'{"cells": []}', Limits(cell_seconds=10)) as sandbox:
        executed = execute(plan, sandbox, sandbox.limits)
    assert executed.runs[0].status == "ok", executed.runs[0]
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert not left, f"a process the submission started outlived its grading: {left}"
