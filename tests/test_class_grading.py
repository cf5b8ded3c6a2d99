"""A class graded the way an instructor grades it: in parallel, on a Dask cluster, resumed
after an interruption (Ctrl-C or kill -9), one learner regraded, broken files refused.

Lesson 00 keeps it quick (about 6 s a submission). Scores must be identical whichever way
the class is graded; a broken file is refused with its reason and costs nobody else a grade.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from flowlib.course import instructor
from tests.scratch import scratch_course

LESSON = "00_getting_started"
RIGHT = """def similarity_scores(query, keys):
    query, keys = np.asarray(query, dtype=float), np.asarray(keys, dtype=float)
    if keys.ndim != 2 or query.ndim != 1 or keys.shape[1] != query.shape[0]:
        raise ValueError(f"query of size {query.shape} does not match keys of shape {keys.shape}")
    return keys @ query"""
ROUNDED = "def similarity_scores(query, keys):\n    return (np.asarray(keys, dtype=float) @ np.asarray(query, dtype=float)).round()"
COLUMNS = (
    "def similarity_scores(query, keys):\n    return np.asarray(keys, dtype=float).T @ np.asarray(query, dtype=float)"
)
CLASS = {"ada": RIGHT, "Bob Smith": RIGHT, "chloé": ROUNDED, "dan": COLUMNS, "eve": "", "fay": RIGHT, "李华": RIGHT}
EXPECTED = {"ada": 2.0, "Bob Smith": 2.0, "chloé": 1.0, "dan": 0.0, "eve": 0.0, "fay": 2.0, "李华": 2.0}


def _notebook(released: dict, answer: str) -> dict:
    notebook = json.loads(json.dumps(released))
    for cell in notebook["cells"]:
        if answer and cell["metadata"].get("nbgrader", {}).get("grade_id") == "00_similarity_scores":
            cell["source"] = answer
    return notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = scratch_course(tmp_path_factory.mktemp("class"), LESSON)
    released = json.loads((root / "notebooks" / LESSON / f"{LESSON}.ipynb").read_text())
    for student, answer in CLASS.items():
        folder = root / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        (folder / f"{LESSON}.ipynb").write_text(json.dumps(_notebook(released, answer)))
    broken = root / "submitted" / "gus" / LESSON
    broken.mkdir(parents=True)
    (broken / f"{LESSON}.ipynb").write_text('{"cells": [ not json')
    (root / "submitted" / "hal").mkdir()  # an empty folder
    return root


def _scores(root: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as book:
        return {s.student.id: s.score for s in book.assignment_submissions(LESSON)}


def _fresh(root: Path) -> None:
    for name in ("gradebook.db", "reports", "autograded"):
        path = root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    instructor.release(root, [LESSON], force=True)


def test_serial_parallel_and_dask_give_identical_scores(course):
    _fresh(course)
    serial = instructor.autograde(course, jobs=1)
    assert _scores(course) == EXPECTED
    assert any("gus" in r.reason for r in serial.refused) and any("hal" in r.reason for r in serial.refused)

    _fresh(course)
    instructor.autograde(course, jobs=2)
    assert _scores(course) == EXPECTED

    from distributed import LocalCluster

    _fresh(course)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run = instructor.autograde(course, scheduler=cluster.scheduler_address)
    assert _scores(course) == EXPECTED
    assert all(r.status == "graded" for r in run.reports)


def test_a_second_run_resumes_and_one_learner_can_be_regraded(course):
    instructor.autograde(course)  # makes sure everything is graded
    again = instructor.autograde(course)
    assert not again.reports and len(again.skipped) == len(CLASS)
    (course / "reports" / LESSON / "dan.json").unlink()  # as if the run had stopped before dan
    resumed = instructor.autograde(course)
    assert [r.student for r in resumed.reports] == ["dan"]
    one = instructor.autograde(course, [LESSON], ["ADA "], force=True)  # case and spaces name the same learner
    assert [r.student for r in one.reports] == ["ada"]
    assert _scores(course) == EXPECTED


def test_kill_9_leaves_a_consistent_gradebook_and_a_resumable_run(course):
    _fresh(course)
    command = [sys.executable, "-m", "flowlib.course.cli", "instructor", "autograde", "--jobs", "1"]
    process = subprocess.Popen(command, cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    deadline = time.monotonic() + 300
    while "/ 00_getting_started" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ours = f"flowlib-grade-{os.getpid()}-*"  # this process's sandboxes: other test workers grade at the same time
    left = list(Path(tempfile.gettempdir()).glob(ours))
    killed = list(Path(tempfile.gettempdir()).glob(f"flowlib-grade-{process.pid}-*"))
    resumed = instructor.autograde(course)
    assert not [p for p in killed if p.exists()], "the killed run's sandbox folders outlived the next run"
    assert resumed.skipped, "the submission graded before the kill was graded again"
    assert _scores(course) == EXPECTED
    time.sleep(1)
    assert not [p for p in Path(tempfile.gettempdir()).glob(ours) if p not in left and p.exists()]


def test_the_cli_says_what_was_refused_and_exits_3(course):
    result = subprocess.run(
        [sys.executable, "-m", "flowlib.course.cli", "instructor", "autograde"],
        cwd=course,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "gus" in result.stdout + result.stderr and "refused" in result.stdout + result.stderr


def test_export_tables_and_picture(course):
    target = instructor.export(course, Path("grades.csv"))
    assert target.is_file()
    for suffix in ("_tests.csv", "_learners.csv", "_pass_rates.csv", "_pass_rates.png"):
        assert (course / f"grades{suffix}").is_file(), suffix
    text = target.read_text()
    assert '"Bob Smith"' in text and "not submitted" not in text.split("\n")[1]
    assert '"李华","00_getting_started"' in text.replace(", ", ",")  # graded under the learner's own name
    feedback = instructor.feedback(course, [LESSON])
    assert feedback == [LESSON] and list((course / "feedback" / "李华" / LESSON).glob("*.html"))


def test_a_solution_whose_claim_fails_is_refused_before_any_learner_is_graded(tmp_path):
    """The grader's reference run executes the whole solution: a failing cell that is no test
    (here a claim that no longer holds) stops the lesson's grading, naming the cell."""
    root = scratch_course(tmp_path, LESSON)
    solution = root / "solutions" / LESSON / f"{LESSON}.ipynb"
    notebook = json.loads(solution.read_text())
    notebook["cells"].insert(
        3,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "00_broken_claim",
            "metadata": {"tags": ["claim"]},
            "outputs": [],
            "source": "assert 0.5 > 0.9, 'the claim no longer holds'",
        },
    )
    solution.write_text(json.dumps(notebook))
    instructor.release(root, [LESSON], force=True)
    released = json.loads((root / "notebooks" / LESSON / f"{LESSON}.ipynb").read_text())
    (root / "submitted" / "ada" / LESSON).mkdir(parents=True)
    (root / "submitted" / "ada" / LESSON / f"{LESSON}.ipynb").write_text(json.dumps(_notebook(released, RIGHT)))
    run = instructor.autograde(root)
    assert not run.reports, "a learner was graded against a broken solution"
    (refusal,) = run.refused
    assert "00_broken_claim" in refusal.reason and "the claim no longer holds" in refusal.reason, refusal.reason


def test_a_fresh_gradebook_started_without_the_environment_on_path_refuses_unreleased_lessons_at_once(
    tmp_path, monkeypatch
):
    """`.venv/bin/flowlib instructor autograde` from cron: no activated environment, a gradebook
    that knows no lesson yet. nbgrader makes a gradebook with `alembic`, found by name; the lesson
    nbgrader never released is named at once and refused before its solution runs."""
    from flowlib.course.grader.gradebook import open_gradebook

    root = scratch_course(tmp_path, LESSON)
    released = json.loads((root / "notebooks" / LESSON / f"{LESSON}.ipynb").read_text())
    (root / "gradebook.db").unlink()
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with open_gradebook(root):  # a new, empty gradebook, made in this process
        pass
    (root / "submitted" / "ada" / LESSON).mkdir(parents=True)
    (root / "submitted" / "ada" / LESSON / f"{LESSON}.ipynb").write_text(json.dumps(_notebook(released, RIGHT)))
    result = subprocess.run(
        [sys.executable, "-m", "flowlib.course.cli", "instructor", "autograde"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    said = result.stdout + result.stderr
    assert result.returncode == 3, said
    assert "Traceback" not in said
    assert result.stderr.startswith(f"lesson(s) {LESSON} not in gradebook.db: their submissions are not graded"), said
    assert f"lesson {LESSON} is not in gradebook.db: release it first" in said
    assert not list((root / ".flowlib" / "grader").glob("*.json")), (
        "the solution ran for a lesson that cannot be recorded"
    )


def test_only_the_sandbox_folders_of_graders_that_no_longer_run_are_removed(tmp_path):
    from flowlib.course.grader.sandbox import remove_abandoned

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    abandoned = tmp_path / f"flowlib-grade-{gone.pid}-x1"
    running = tmp_path / f"flowlib-grade-{os.getpid()}-x2"
    other = tmp_path / "flowlib-grade-notapid-x3"
    for folder in (abandoned, running, other):
        (folder / "runtime").mkdir(parents=True)
    assert remove_abandoned(tmp_path) == [abandoned]
    assert not abandoned.exists() and running.exists() and other.exists()
