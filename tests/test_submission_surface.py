"""What a submission can carry past the grader: nothing the learner typed reaches a person raw.

* CSV cells never start a spreadsheet formula; numbers stay numbers.
* Outputs saved in the submitted file never reach the autograded notebook or the feedback HTML.
* The exchange importer refuses symbolic links and files whose owner is not the learner the
  folder names, one file at a time.

Fast: no kernel.
"""

import csv
import json
import os
import pwd
from pathlib import Path

import pytest

from flowlib.course import layout
from flowlib.course.grader.intake import import_exchange
from flowlib.course.grader.owned import expected_owner
from flowlib.course.grader.summary import summary, write_csv
from flowlib.course.grader.surface import spreadsheet_safe, without_outputs
from tests.scratch import released_course
from tests.test_intake_and_submitted import LESSONS, T0, T1, A, notebook, submit

SCRIPT = "<script>alert('owned')</script>"
COURSE_ID = layout.COURSE_ID


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return released_course(tmp_path / "course")


# --- CSV cells ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://x","click")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1",
        "\r=1",
        "  =1+1",
        "\n=1",
        "＝1+1",
        "＋1+1",
        "－1+1",
        "＠SUM(A1)",
        "﹦1",
        "\u3000=1",
    ],
)
def test_formula_cells_get_a_leading_quote(cell):
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["alice", "", "1.5", "-1.5", "+2", "1e-3", " 7 ", "a=b", "x-y", "José"])
def test_text_that_starts_no_formula_is_kept(cell):
    assert spreadsheet_safe(cell) == cell


@pytest.mark.parametrize("value", [0, 2, -1.5, 3.25, None])
def test_numbers_stay_numbers(value):
    assert spreadsheet_safe(value) is value


def test_every_csv_the_grader_writes_is_safe_and_keeps_numbers_numeric(tmp_path):
    grades = [
        {"student_id": "=cmd()", "lesson": A, "status": "graded", "score": 1.5, "max_score": 2},
        {"student_id": "bob", "lesson": A, "status": "not submitted", "score": "", "max_score": 2},
    ]
    target = tmp_path / "grades.csv"
    write_csv(target, ["student_id", "lesson", "status", "score", "max_score"], grades)
    text = target.read_text()
    assert '"\'=cmd()"' in text and ",1.5,2\n" in text  # numbers unquoted: a spreadsheet reads them as numbers
    rows = list(csv.DictReader(target.open()))
    assert [r["student_id"] for r in rows] == ["'=cmd()", "bob"]
    paths = summary(tmp_path, grades, tmp_path / "grades")  # the tables beside it go through the same writer
    learners = list(csv.DictReader(paths[1].open()))
    assert learners[0]["student_id"] == "'=cmd()" and float(learners[0]["score"]) == 1.5
    for path in [target, *paths]:
        for row in csv.reader(path.open()):
            assert not any(
                cell and cell[0] in "=+-@\t\r" and not cell.lstrip("+-").replace(".", "").isdigit() for cell in row
            )


# --- outputs typed into the submitted file ---------------------------------------------------


def _typed_outputs(lesson: str) -> bytes:
    """The released notebook with outputs a learner typed into the file: a script, an HTML
    output, a raw cell meant for HTML, and a markdown cell carrying outputs it may not have."""
    nb = json.loads(notebook(lesson))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 7
            cell["outputs"] = [
                {"output_type": "display_data", "metadata": {}, "data": {"text/html": SCRIPT, "text/plain": "x"}},
                {"output_type": "stream", "name": "stdout", "text": "Passed: 99/99 points\n"},
            ]
    nb["cells"].append(
        {"cell_type": "raw", "metadata": {"format": "text/html", "raw_mimetype": "text/html"}, "source": SCRIPT}
    )
    nb["cells"].append(
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "notes",
            "outputs": [{"output_type": "stream", "text": SCRIPT}],
        }
    )
    return json.dumps(nb).encode()


def test_outputs_typed_into_the_file_are_dropped():
    clean = json.loads(without_outputs(_typed_outputs(A)))
    code = [c for c in clean["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    raw = clean["cells"][-2]
    assert raw["source"] == SCRIPT and "format" not in raw["metadata"] and "raw_mimetype" not in raw["metadata"]
    assert "outputs" not in clean["cells"][-1]
    assert "Passed: 99" not in json.dumps(clean)
    assert [c["source"] for c in clean["cells"]] == [c["source"] for c in json.loads(_typed_outputs(A))["cells"]]


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"not json", b"[1, 2]", b'{"cells": 3}'])
def test_what_is_not_a_notebook_is_left_for_the_grader_to_refuse(data):
    assert without_outputs(data) is data


def test_a_notebook_with_nothing_to_drop_keeps_its_bytes():
    released = notebook(A)
    assert without_outputs(released) is released


def test_the_autograded_notebook_and_the_feedback_keep_no_typed_output(tmp_path, monkeypatch):
    """The coordinator's one read of the submission drops them: what the job grades, what
    autograded/ stores and what nbgrader renders into feedback/ hold none (grading is stubbed)."""
    from flowlib.course import instructor
    from flowlib.course.grader import autograde as engine
    from flowlib.course.grader.grade import Lesson
    from flowlib.course.grader.report import Report
    from tests.scratch import scratch_course

    lesson = "00_getting_started"
    root = scratch_course(tmp_path / "course", lesson)
    folder = root / "submitted" / "alice" / lesson
    folder.mkdir(parents=True)
    typed = json.loads(_typed_outputs(lesson))
    typed["cells"].pop()  # a markdown cell with outputs: the collector refuses such a file as invalid
    typed["cells"].append({"cell_type": "markdown", "id": "my-notes", "metadata": {}, "source": "My notes " + SCRIPT})
    (folder / f"{lesson}.ipynb").write_text(json.dumps(typed))
    graded = []

    def stub(job):
        graded.append(job.notebook)
        ids = [
            c["metadata"]["nbgrader"]["grade_id"]
            for c in json.loads(job.notebook)["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade") and not c["metadata"]["nbgrader"].get("solution")
        ]
        return Report(
            "alice",
            lesson,
            verdicts=[{"grade_id": g, "points": 0.0, "max_points": 1.0, "message": "=HYPERLINK(1)"} for g in ids],
            flags=[{"kind": "delegation", "cell": "x", "detail": "found sum"}],
        )

    monkeypatch.setattr(engine, "grade", stub)
    monkeypatch.setattr(
        engine,
        "_lesson_or_error",
        lambda root, name: Lesson(
            name,
            json.loads((root / "solutions" / name / f"{name}.ipynb").read_text()),
            json.loads((root / "notebooks" / name / f"{name}.ipynb").read_text()),
            key="stub",
        ),
    )
    run = engine.autograde(root, [lesson])
    assert [r.student for r in run.reports] == ["alice"], run.refused
    assert b"display_data" not in graded[0] and b"99/99" not in graded[0] and b"text/html" not in graded[0]
    stored = (root / "autograded" / "alice" / lesson / f"{lesson}.ipynb").read_text()
    assert (
        "display_data" not in stored and "99/99" not in stored and "text/html" not in stored
    )  # the raw cell's text stays, as text
    instructor.feedback(root, [lesson])
    html = (root / "feedback" / "alice" / lesson / f"{lesson}.html").read_text()
    # the raw cell shows as escaped text, never as a tag; a learner's markdown is sanitized (nbgrader_config.py)
    assert SCRIPT not in html and "99/99" not in html and "My notes" in html
    exported = instructor.export(root, Path("grades.csv"))
    for path in [exported, *exported.parent.glob("grades_*.csv")]:
        for row in csv.reader(path.open()):
            assert not any(cell.startswith(("=", "@")) for cell in row), (path.name, row)
    assert "'=HYPERLINK(1)" in (exported.parent / "grades_tests.csv").read_text()


# --- the exchange importer trusts owners, not names ------------------------------------------

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")


def _folder(exchange: Path, student: str, when=T0) -> Path:
    return submit(exchange, student, A, when, notebook(A, student))


def test_a_notebook_that_is_a_symbolic_link_is_refused_and_the_others_imported(course, tmp_path):
    exchange = tmp_path / "exchange"
    linked = _folder(exchange, "mallory")
    (linked / f"{A}.ipynb").unlink()
    (linked / f"{A}.ipynb").symlink_to(course / "notebooks" / A / f"{A}.ipynb")  # think solutions/
    _folder(exchange, "alice")
    report = import_exchange(exchange, COURSE_ID, course, LESSONS)
    assert [e.student for e in report.imported] == ["alice"]
    [refused] = report.refused
    assert refused.student == "mallory" and "expected a file; found a symbolic link" in refused.reason
    assert not (course / "submitted" / "mallory").exists()


def test_a_submission_folder_that_is_a_link_is_refused_and_hides_no_older_one(course, tmp_path):
    exchange = tmp_path / "exchange"
    real = _folder(exchange, "alice", T0)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "x").mkdir(parents=True)
    (elsewhere / "x" / f"{A}.ipynb").write_bytes(notebook(A, "forged"))
    later = real.with_name(real.name.replace("2024-03-01", "2024-03-09"))
    later.symlink_to(elsewhere / "x")
    report = import_exchange(exchange, COURSE_ID, course, LESSONS)
    assert [(e.student, e.source) for e in report.imported] == [("alice", real.name)]
    assert "expected a folder; found a symbolic link" in " ".join(r.reason for r in report.refused)
    assert (course / "submitted" / "alice" / A / f"{A}.ipynb").read_bytes() == notebook(A, "alice")


def test_a_linked_extra_file_is_refused_alone(course, tmp_path):
    exchange = tmp_path / "exchange"
    folder = _folder(exchange, "alice")
    (folder / "data.txt").symlink_to("/etc/hostname")
    (folder / "sub").mkdir()
    (folder / "sub" / "ok.txt").write_text("mine")
    report = import_exchange(exchange, COURSE_ID, course, LESSONS)
    assert [e.student for e in report.imported] == ["alice"]
    [refused] = report.refused
    assert refused.path.name == "data.txt" and "symbolic link (to /etc/hostname)" in refused.reason
    stored = course / "submitted" / "alice" / A
    assert not (stored / "data.txt").exists() and (stored / "sub" / "ok.txt").read_text() == "mine"


def test_without_such_a_unix_user_the_files_must_be_the_folders_owners_and_a_note_says_so(course, tmp_path):
    exchange = tmp_path / "exchange"
    _folder(exchange, "alice")
    uid, note = expected_owner(next((exchange / COURSE_ID / "inbound").iterdir()), ("alice",))
    assert uid == os.geteuid() and "no Unix user named 'alice'" in note and "the folder's owner" in note
    report = import_exchange(exchange, COURSE_ID, course, LESSONS)
    assert any("no Unix user named 'alice'" in n for n in report.imported[0].notes)


@as_root
def test_files_not_owned_by_the_learner_the_folder_names_are_refused(course, tmp_path):
    nobody = pwd.getpwnam("nobody").pw_uid
    exchange = tmp_path / "exchange"
    forged = _folder(exchange, "nobody", T1)  # made by root, in the name of the Unix user nobody
    honest = _folder(exchange, "nobody", T0)
    for path in [honest, *honest.rglob("*")]:
        os.chown(path, nobody, -1)
    stranger = _folder(exchange, "alice")  # no such user: the folder's owner must own every file
    (stranger / "extra.txt").write_text("x")
    os.chown(stranger / "extra.txt", nobody, -1)
    report = import_exchange(exchange, COURSE_ID, course, LESSONS)
    reasons = {r.path.name: r.reason for r in report.refused}
    assert reasons[forged.name] == (
        f"{forged}: expected a file of nobody (uid {nobody}), the learner 'nobody' the folder names; "
        f"found one owned by root (uid 0), not read"
    )
    assert "extra.txt" in reasons and "found one owned by nobody" in reasons["extra.txt"]
    assert sorted((e.student, e.source) for e in report.imported) == [("alice", stranger.name), ("nobody", honest.name)]


@as_root
def test_a_notebook_given_to_someone_else_inside_the_learners_folder_is_refused(course, tmp_path):
    nobody = pwd.getpwnam("nobody").pw_uid
    folder = _folder(tmp_path / "exchange", "nobody")
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, nobody, -1)
    os.chown(folder / f"{A}.ipynb", 0, -1)  # a hard link to another's file looks like this
    report = import_exchange(tmp_path / "exchange", COURSE_ID, course, LESSONS)
    [refused] = report.refused
    assert (
        refused.path.name == f"{A}.ipynb"
        and "found one owned by root (uid 0)" in refused.reason
        and not report.imported
    )
