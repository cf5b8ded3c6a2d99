"""nbgrader's exchange on one machine, as on JupyterHub: the instructor releases, a learner
fetches and submits, the instructor collects into submitted/ and autogrades."""

import json
import os
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook

from flowlib.course import instructor, layout
from tests.scratch import scratch_course

LESSON = "00_getting_started"
COURSE = layout.COURSE_ID


def _nbgrader(cwd: Path, exchange: Path, *args: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--Exchange.root={exchange}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def test_release_fetch_submit_collect_autograde(tmp_path):
    exchange, course, learner = tmp_path / "exchange", tmp_path / "course", tmp_path / "learner"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    learner.mkdir()
    scratch_course(course, LESSON)
    _nbgrader(course, exchange, "release_assignment", LESSON, f"--course={COURSE}")

    _nbgrader(learner, exchange, "fetch_assignment", LESSON, f"--course={COURSE}")
    fetched = learner / LESSON / f"{LESSON}.ipynb"
    notebook = json.loads(fetched.read_text())
    solution = json.loads((course / "solutions" / LESSON / f"{LESSON}.ipynb").read_text())
    answer = next(
        c for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "00_similarity_scores"
    )
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "00_similarity_scores":
            cell["source"] = answer["source"]
    fetched.write_text(json.dumps(notebook))
    _nbgrader(learner, exchange, "submit", LESSON, f"--course={COURSE}")

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowlib.course.cli",
            "instructor",
            "collect",
            "--exchange",
            str(exchange),
            "--course",
            COURSE,
        ],
        cwd=course,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    students = [p.name for p in (course / "submitted").iterdir()]
    assert len(students) == 1 and (course / "submitted" / students[0] / LESSON / "timestamp.txt").is_file()

    run = instructor.autograde(course)
    assert run.ok and [r.status for r in run.reports] == ["graded"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        assert book.find_submission(LESSON, students[0]).score == 2.0
