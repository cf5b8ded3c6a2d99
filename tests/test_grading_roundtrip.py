"""The grading round trip, run with nbgrader itself in a scratch copy of the course.

1. Releasing ``solutions/`` reproduces the committed ``notebooks/`` byte for byte.
2. Autograding the solutions as a submission (sliced) gives full marks on every autograded
   cell, and every cell of every solution runs cleanly in the sandbox (the grader's reference
   run, in full, refuses a solution with a failing cell: a claim that no longer holds, a cell
   past its limit; and one whose verdicts a sliced run changes). This is where the solution
   notebooks are executed; nbval executes the student notebooks.
3. Unanswered exercises earn nothing: in this process for every lesson (each answer replaced by
   its released stub, every visible and hidden test run), and through the whole grader for the
   unanswered releases of BLANK_GRADED.
4. A correct answer that prints and warns keeps its points.
5. Feedback and CSV export work on the result; the instructor's real gradebook is untouched.
"""

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from flowlib.course import instructor, layout
from flowlib.grading import score_notebook

ROOT = Path(__file__).resolve().parents[1]
LESSONS = layout.lessons(ROOT)
NOISY = "00_getting_started"  # the lesson whose answer we make print and warn
BLANK_GRADED = ("00_getting_started", "02_self_attention")  # unanswered releases graded end to end


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A scratch course: solutions and config copied, notebooks released, three students graded."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", root / "solutions")
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    instructor.release(root)
    for lesson in LESSONS:
        name = f"{lesson}/{lesson}.ipynb"
        for student, source in (("reference", root / "solutions" / name), ("blank", root / "notebooks" / name)):
            if student == "blank" and lesson not in BLANK_GRADED:
                continue
            (root / "submitted" / student / lesson).mkdir(parents=True)
            shutil.copy2(source, root / "submitted" / student / name)
    noisy = json.loads((root / "solutions" / NOISY / f"{NOISY}.ipynb").read_text())
    for cell in noisy["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code":
            body = "".join(cell["source"]).replace(
                "### BEGIN SOLUTION",
                "### BEGIN SOLUTION\n    import sys, warnings\n    print('working on it')\n"
                "    print('a note on stderr', file=sys.stderr)\n    warnings.warn('a harmless warning')",
            )
            cell["source"] = body
    (root / "submitted" / "noisy" / NOISY).mkdir(parents=True)
    (root / "submitted" / "noisy" / NOISY / f"{NOISY}.ipynb").write_text(json.dumps(noisy))
    return root, instructor.autograde(root)


@pytest.fixture(scope="module")
def course(graded) -> Path:
    return graded[0]


def _autograded_scores(root: Path, student: str, lesson: str) -> dict[str, tuple[float, float]]:
    """{grade_id: (score, max_score)} of the autograded test cells of one submission."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(lesson, lesson, student)
        return {
            grade.name: (grade.score, grade.max_score)
            for grade in notebook.grades
            if grade.cell.cell_type == "code" and grade.auto_score is not None
        }


def test_release_reproduces_the_committed_notebooks(course):
    import subprocess

    from flowlib.course import released as last_release

    def files(folder):  # JupyterLab's .ipynb_checkpoints/ are no part of a release
        return sorted(
            p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts
        )

    def committed(p):  # the committed bytes of notebooks/p, or None outside git
        shown = subprocess.run(["git", "show", f"HEAD:notebooks/{p.as_posix()}"], cwd=ROOT, capture_output=True)
        return shown.stdout if shown.returncode == 0 else None

    released, here = files(course / "notebooks"), files(ROOT / "notebooks")
    # a learner's work here (edited lessons, own files) is skipped, saying so; the committed notebooks are still checked
    worked = {change.path: change.why for change in last_release.changes(ROOT, LESSONS)}
    skipped = {f"notebooks/{p.as_posix()}" for p in here if f"notebooks/{p.as_posix()}" in worked}
    missing = [str(p) for p in released if p not in here]
    extra = [str(p) for p in here if p not in released and f"notebooks/{p.as_posix()}" not in skipped]
    assert not missing and not extra, (
        f"notebooks/ holds other files than the release makes (run `make release`): missing {missing}, extra {extra}"
    )
    stale = [
        str(p)
        for p in released
        if (course / "notebooks" / p).read_bytes()
        != (committed(p) if f"notebooks/{p.as_posix()}" in skipped else (ROOT / "notebooks" / p).read_bytes())
    ]
    assert not stale, f"these student notebooks differ from what solutions/ generates (run `make release`): {stale}"
    if skipped:
        pytest.skip(
            "compared the committed version instead of these files, which someone changed here: "
            + "; ".join(f"{path} ({worked[path]})" for path in sorted(skipped))
        )


def test_student_notebooks_hide_solutions_and_hidden_tests(course):
    for notebook in (ROOT / "notebooks").rglob("*.ipynb"):
        text = notebook.read_text()
        for marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "=== BEGIN MARK SCHEME ==="):
            assert marker not in text, f"{notebook.name} leaks {marker!r}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_solution_runs_cleanly_in_the_sandbox(graded, lesson, record_property):
    root, run = graded
    refused = [r.reason for r in run.refused if r.lesson == lesson]
    assert not refused, f"the grader refused to grade {lesson}: {refused}"
    (checked,) = (root / layout.STATE / "grader").glob(f"{lesson}-*.json")
    # the solution's time, every cell top to bottom, in the sandbox (conftest.py prints it with nbval's times)
    seconds = json.loads(checked.read_text())["seconds"]
    record_property("notebook_seconds", {f"solutions/{lesson}/{lesson}.ipynb (reference run, in full)": seconds})
    sliced = json.loads((root / "reports" / lesson / "reference.json").read_text())
    assert sliced["mode"].startswith("sliced"), f"the solution of {lesson} was not graded sliced: {sliced['mode']}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_score_full_marks(course, lesson):
    scores = _autograded_scores(course, "reference", lesson)
    assert scores, f"{lesson} has no autograded test cells"
    short = {name: s for name, s in scores.items() if s[0] != s[1]}
    assert not short, f"the solution of {lesson} loses points on {short}"


@pytest.mark.parametrize("lesson", BLANK_GRADED)
def test_unanswered_release_scores_zero(course, lesson):
    scores = _autograded_scores(course, "blank", lesson)
    assert scores, f"the unanswered {lesson} was not graded"
    earned = {name: s for name, s in scores.items() if s[0] != 0}
    assert not earned, f"an unanswered {lesson} earns points on {earned}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_test_gives_points_to_an_unanswered_exercise(lesson):
    """Every test cell, hidden ones too, run against the released stubs: none may pass."""
    released = json.loads((ROOT / "notebooks" / lesson / f"{lesson}.ipynb").read_text())
    stubs = {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
        for cell in released["cells"]
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution")
    }
    results = score_notebook(ROOT / "solutions" / lesson / f"{lesson}.ipynb", replace=stubs)
    assert results, f"{lesson} has no autograded test cells"
    earned = {grade_id: r.points for grade_id, r in results.items() if r.points or r.passed}
    assert not earned, f"unanswered, {lesson} still earns points on {earned}"


def test_a_correct_answer_that_prints_and_warns_keeps_its_points(course):
    scores = _autograded_scores(course, "noisy", NOISY)
    assert scores and all(score == top for score, top in scores.values()), scores


def test_feedback_and_export(course):
    instructor.feedback(course, [NOISY])
    assert (course / "feedback" / "reference" / NOISY / f"{NOISY}.html").is_file()
    target = instructor.export(course, Path("grades.csv"))
    rows = list(csv.DictReader(target.open()))
    students = {row["student_id"] for row in rows}
    assert {"reference", "blank", "noisy"} <= students
    assert not list(course.glob("*.partial")), "export left a partial file behind"


def test_failed_step_restores_the_gradebook(tmp_path):
    (tmp_path / "gradebook.db").write_bytes(b"precious grades")
    with pytest.raises(RuntimeError):
        with instructor.gradebook_guard(tmp_path):
            (tmp_path / "gradebook.db").write_bytes(b"half-writ")
            raise RuntimeError("nbgrader crashed")
    assert (tmp_path / "gradebook.db").read_bytes() == b"precious grades"


def test_unknown_lesson_is_a_clear_error():
    with pytest.raises(instructor.InstructorError, match="unknown lesson.*99_nope.*expected one of"):
        instructor.release(ROOT, ["99_nope"])


def test_quiz_answers_are_not_readable_in_released_notebooks():
    literal_answer = re.compile(r"check_choice\([^,]+,\s*\\?[\"']")  # check_choice(answer, "B", ...)
    for notebook in (ROOT / "notebooks").rglob("*.ipynb"):
        assert not literal_answer.search(notebook.read_text()), (
            f"{notebook.name} shows a quiz's right answer in a visible test"
        )


def test_every_exercise_rule_is_stated_where_the_learner_reads_it():
    """An exercise that forbids calls (metadata `flowlib.forbidden`) says so in its released text."""
    import json

    ruled = 0
    for lesson in LESSONS:
        source = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
        released = json.loads((ROOT / "notebooks" / lesson / f"{lesson}.ipynb").read_text())
        prose = {c.get("id"): "".join(c["source"]) for c in released["cells"] if c["cell_type"] == "markdown"}
        for index, cell in enumerate(source["cells"]):
            names = cell["metadata"].get("flowlib", {}).get("forbidden")
            if names:
                ruled += 1
                text = prose.get(source["cells"][index - 1].get("id"), "")
                missing = [name for name in names if f"`{name}`" not in text]
                assert "**Rule:**" in text and not missing, (
                    f"{lesson}: the exercise before {cell['id']} does not state {missing}"
                )
    assert ruled >= 10
