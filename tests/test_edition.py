"""What a learner gets: the student edition, the learner's JupyterLab and Validate, course
updates that keep every edit, a release that never overwrites a learner's work, `lab` options.

The edition is built from a scratch copy of the course (the committed student notebooks stand
in for any a learner edited here), so these tests pass in a repository where someone worked.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from flowlib.cells import cell_source
from flowlib.course import cli, edition, instructor, lab_validate, released, update, validation
from tests.lab_server import stop, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_getting_started"
NOTEBOOK = f"notebooks/{LESSON}/{LESSON}.ipynb"


def _lessons(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "notebooks").iterdir() if p.is_dir() and not p.name.startswith("."))


def scratch_course(dest: Path) -> Path:
    """The course's files in ``dest``; a student notebook someone changed here is replaced by its
    committed version (what the last release made), and that state is recorded as released."""
    for folder in (*edition.FOLDERS, "solutions", edition.TEMPLATES):
        if folder != "notebooks":
            shutil.copytree(
                ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
            )
    for name in (*edition.FILES, "nbgrader_config.py"):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    lessons = _lessons(ROOT)
    changed = {change.path for change in released.changes(ROOT, lessons)}
    for lesson in lessons:
        for file in released.lesson_files(ROOT, lesson):
            path = file.relative_to(ROOT).as_posix()
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if path not in changed:
                shutil.copy2(file, target)
                continue
            shown = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True)
            if shown.returncode == 0:
                target.write_bytes(shown.stdout)
    released.record(dest, lessons)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(scratch course, its student edition)."""
    base = tmp_path_factory.mktemp("edition")
    course = scratch_course(base / "course")
    return course, edition.build(course, base / "student", check_answer_key=False)


def _answer_source(lesson: str, grade_id: str) -> str:
    """The solution of one answer cell, markers removed (what a learner who solved it has)."""
    notebook = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return re.sub(r"\s*### (BEGIN|END) SOLUTION", "", cell_source(cell))
    raise AssertionError(f"no answer cell {grade_id} in {lesson}")


def _edit_cell(path: Path, cell_id: str, source: str) -> None:
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["id"] == cell_id:
            cell["source"] = source
    path.write_text(json.dumps(notebook, indent=1))


# --- 1. the edition: what learners get, and none of the answer key --------------------------


def test_the_edition_holds_what_a_learner_needs(built):
    course, out = built
    for path in (
        NOTEBOOK,
        "flowlib/__init__.py",
        "flowlib/grading.py",
        "self_assessment/objectives.json",
        "self_assessment/self_assessment.ipynb",
        "checkpoints/char_gpt_pydoc.pt",
        "recipes/char_gpt_pydoc.py",
        "requirements.lock",
        "requirements.txt",
        "pyproject.toml",
        "tools/install.sh",
        "environment.yml",
        "postBuild",
        "start",
        "nbgrader_config.py",
        ".gitignore",
        edition.MANIFEST,
        ".jupyter-config/jupyter_server_config.json",
        ".jupyter-config/labconfig/page_config.json",
        "jupyterlab/validate/labextension/package.json",
    ):
        assert (out / path).is_file(), f"the edition lacks {path}"
    assert {p.name for p in (out / "notebooks").iterdir()} == set(_lessons(course))
    readme = (out / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme and 'ARGS="--port 8899 --no-browser"' in readme
    makefile = (out / "Makefile").read_text()
    assert (
        re.search(r"^lab: ", makefile, re.M) and re.search(r"^test: ", makefile, re.M) and "flowlib check" in makefile
    )
    for instructor_only in (
        "solutions",
        "tests",
        "submitted",
        "autograded",
        "feedback",
        "gradebook.db",
        "edition",
        ".ci",
        "AUTHORING.md",
    ):
        assert not (out / instructor_only).exists(), f"the edition holds the instructor's {instructor_only}"
    assert "solutions" not in (out / "nbgrader_config.py").read_text()
    manifest = edition.read_manifest(out)
    assert NOTEBOOK in manifest["files"] and NOTEBOOK in manifest["cells"]


def test_no_file_of_the_edition_holds_any_region_of_the_answer_key(built):
    course, out = built
    regions = edition.answer_key(course / "solutions")
    kinds = {region.kind for region in regions}
    assert len(regions) > 50 and {"solution", "hidden tests"} <= kinds, (len(regions), kinds)
    hits = {region.key(file): f"{region} in {file}" for file, region in edition.find_leaks(out, regions)}
    stale = set(edition.KNOWN_OVERLAPS) - set(hits)
    assert not stale, f"these known overlaps are gone: delete them from edition.KNOWN_OVERLAPS: {stale}"
    unexpected = [shown for key, shown in hits.items() if key not in edition.KNOWN_OVERLAPS]
    assert not unexpected, f"{len(unexpected)} region(s) of the answer key are in the student edition: {unexpected}"


def test_the_leak_search_finds_a_planted_answer_and_the_build_refuses(built, tmp_path):
    course, _ = built
    region = next(r for r in edition.answer_key(course / "solutions") if r.kind == "hidden tests")
    leaky = tmp_path / "leaky"
    shutil.copytree(course, leaky)
    (leaky / "flowlib" / "notes.py").write_text(f"# {region.text}\n")
    with pytest.raises(edition.EditionError, match="answer key"):
        edition.build(leaky, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_the_build_refuses_a_learners_edited_notebook_and_keeps_git_on_rebuild(built, tmp_path):
    course, _ = built
    out = tmp_path / "student"
    edition.build(course, out, check_answer_key=False)
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    edition.build(course, out, check_answer_key=False)
    assert (out / ".git" / "HEAD").is_file(), "a rebuild keeps the edition's git repository"
    with pytest.raises(edition.EditionError, match="not a student edition"):
        edition.build(course, tmp_path)  # a folder holding other files
    edited = tmp_path / "edited"
    shutil.copytree(course, edited)
    _edit_cell(edited / NOTEBOOK, "00_similarity_scores", "def similarity_scores(q, k):\n    return k @ q\n")
    with pytest.raises(edition.EditionError, match=re.escape(NOTEBOOK)):
        edition.build(edited, tmp_path / "other")


# --- 2. course updates keep every edit ------------------------------------------------------


def _new_version(old: Path, dest: Path) -> Path:
    """The next edition: a prose cell and a test cell changed, a cell and a lesson added, flowlib changed."""
    shutil.copytree(old, dest)
    path = dest / NOTEBOOK
    notebook = json.loads(path.read_text())
    first = notebook["cells"][0]
    first["source"] = cell_source(first) + "\n\n(Updated for this version of the course.)"
    for cell in notebook["cells"]:
        if cell["id"] == "00_similarity_scores":
            cell["source"] = cell_source(cell) + "\n# (the course changed this answer cell too)"
    notebook["cells"].append(
        {"cell_type": "markdown", "id": "00_new_in_v2", "metadata": {}, "source": "A new closing note."}
    )
    path.write_text(json.dumps(notebook, indent=1))
    (dest / "notebooks" / "09_new_lesson").mkdir()
    (dest / "notebooks" / "09_new_lesson" / "09_new_lesson.ipynb").write_text(
        json.dumps(
            {
                "cells": [{"cell_type": "markdown", "id": "09_intro", "metadata": {}, "source": "# A new lesson"}],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    (dest / "flowlib" / "grading.py").write_text((dest / "flowlib" / "grading.py").read_text() + "\n# v2\n")
    edition.write_manifest(dest, "v2")
    return dest


def _work_as_a_learner(folder: Path) -> dict:
    """Answer the exercise, run a cell (outputs), add a cell, a checkpoint, ratings, a file of one's own."""
    path = folder / NOTEBOOK
    answer = _answer_source(LESSON, "00_similarity_scores")
    notebook = json.loads(path.read_text())
    cells = notebook["cells"]
    for cell in cells:
        if cell["id"] == "00_similarity_scores":
            cell["source"] = answer
    ran = next(c for c in cells if c["cell_type"] == "code" and not c["metadata"].get("nbgrader"))
    ran["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "my run\n"}]
    ran["execution_count"] = 1
    index = cells.index(ran)
    cells.insert(index + 1, {"cell_type": "markdown", "id": "my-own-note", "metadata": {}, "source": "My note."})
    path.write_text(json.dumps(notebook, indent=1))
    (path.parent / ".ipynb_checkpoints").mkdir()
    (path.parent / ".ipynb_checkpoints" / f"{LESSON}-checkpoint.ipynb").write_text(path.read_text())
    (folder / ".flowlib").mkdir()
    (folder / ".flowlib" / "ratings.jsonl").write_text('{"rating": 4}\n')
    (folder / "notebooks" / "scratch.ipynb").write_text("{}")
    return {"answer": answer, "ran": ran["id"], "after": ran["id"]}


def test_an_update_brings_new_lessons_and_untouched_cells_and_keeps_every_edit(built, tmp_path):
    _, out = built
    learner = tmp_path / "learner"
    shutil.copytree(out, learner)
    work = _work_as_a_learner(learner)
    before = json.loads((learner / NOTEBOOK).read_text())
    v2 = _new_version(out, tmp_path / "v2")

    report = update.apply(learner, v2)

    merged = json.loads((learner / NOTEBOOK).read_text())
    by_id = {cell["id"]: cell for cell in merged["cells"]}
    assert cell_source(by_id["00_similarity_scores"]) == work["answer"], "the learner's answer must stay"
    assert "Updated for this version" in cell_source(merged["cells"][0]), "an untouched cell takes the update"
    assert merged["cells"][-1]["id"] == "00_new_in_v2", "a new cell arrives in its place"
    ids = [cell["id"] for cell in merged["cells"]]
    assert ids[ids.index(work["after"]) + 1] == "my-own-note", "the learner's own cell stays where it was"
    assert by_id[work["ran"]]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "my run\n"}]
    unchanged = [c["id"] for c in before["cells"] if c["id"] not in ("00_similarity_scores", before["cells"][0]["id"])]
    assert all(
        cell_source(by_id[i]) == cell_source(next(c for c in before["cells"] if c["id"] == i)) for i in unchanged
    )
    assert (learner / "notebooks" / "09_new_lesson" / "09_new_lesson.ipynb").is_file(), "a new lesson arrives"
    assert (learner / "flowlib" / "grading.py").read_text().endswith("# v2\n"), "an untouched course file is updated"
    assert (learner / ".flowlib" / "ratings.jsonl").read_text() == '{"rating": 4}\n'
    assert (learner / "notebooks" / "scratch.ipynb").read_text() == "{}"
    assert (learner / "notebooks" / LESSON / ".ipynb_checkpoints" / f"{LESSON}-checkpoint.ipynb").is_file()
    assert any("00_similarity_scores" in item for item in report.kept), report.kept  # both changed it: said so
    assert edition.read_manifest(learner)["version"] == "v2"
    # a second update to the same version changes nothing the learner did
    again = update.apply(learner, v2)
    assert json.loads((learner / NOTEBOOK).read_text())["cells"] == merged["cells"] and not again.added


def test_update_from_git_moves_the_branch_and_keeps_the_edits(built, tmp_path):
    _, out = built
    origin = tmp_path / "origin"
    shutil.copytree(out, origin)

    def git(folder, *args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "v1")
    git(tmp_path, "clone", "-q", str(origin), "learner")
    learner = tmp_path / "learner"
    work = _work_as_a_learner(learner)
    v2 = _new_version(out, tmp_path / "v2")
    shutil.rmtree(v2 / ".git", ignore_errors=True)
    for item in v2.iterdir():
        target = origin / item.name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        shutil.move(str(item), target)
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "v2")

    update.from_git(learner)

    assert git(learner, "rev-parse", "HEAD") == git(origin, "rev-parse", "HEAD")
    changed = git(learner, "status", "--porcelain")
    assert NOTEBOOK in changed and "09_new_lesson" not in changed, changed
    by_id = {c["id"]: c for c in json.loads((learner / NOTEBOOK).read_text())["cells"]}
    assert cell_source(by_id["00_similarity_scores"]) == work["answer"] and "00_new_in_v2" in by_id


# --- 2. the release never overwrites a learner's work ----------------------------------------


def test_release_refuses_to_overwrite_an_edited_lesson_unless_forced(tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / LESSON, course / "solutions" / LESSON)
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    instructor.release(course, [LESSON])
    notebook = course / NOTEBOOK
    fresh = notebook.read_bytes()
    (notebook.parent / ".ipynb_checkpoints").mkdir()
    (notebook.parent / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    # untouched since the last release, beside JupyterLab's checkpoints (no work of the learner's own): fine
    instructor.release(course, [LESSON])
    _edit_cell(notebook, "00_similarity_scores", "def similarity_scores(q, k):\n    return k @ q\n")
    edited = notebook.read_bytes()
    with pytest.raises(instructor.InstructorError, match=re.escape(NOTEBOOK)) as refused:
        instructor.release(course, [LESSON])
    assert "--force" in str(refused.value) and notebook.read_bytes() == edited, "a refused release touches nothing"
    (notebook.parent / "mine.txt").write_text("my notes")
    with pytest.raises(instructor.InstructorError, match="mine.txt"):
        instructor.release(course, [LESSON])
    instructor.release(course, [LESSON], force=True)
    assert notebook.read_bytes() == fresh
    (kept,) = (course / "backups").iterdir()
    assert (kept / NOTEBOOK).read_bytes() == edited and (kept / "notebooks" / LESSON / "mine.txt").is_file()


# --- 3. lab options; 4. JupyterLab fit for a learner ------------------------------------------


def test_flowlib_lab_passes_jupyter_options_on(monkeypatch):
    seen = {}
    monkeypatch.setattr(os, "execve", lambda path, argv, env: seen.update(path=path, argv=argv, env=env))
    monkeypatch.setattr(os, "chdir", lambda path: None)
    assert cli.main(["lab", "--port", "8899", "--no-browser"]) == 0
    argv = seen["argv"]
    assert argv[1] == "lab" and argv.index("--port") + 1 == argv.index("8899") and "--no-browser" in argv, argv
    assert seen["env"].get("HF_HUB_OFFLINE") == os.environ.get("HF_HUB_OFFLINE"), (
        "lab leaves Hugging Face's settings alone"
    )
    assert cli.main(["lab", "--help"]) == 0
    makefile = (ROOT / "Makefile").read_text()
    assert (
        "$(BIN)/flowlib lab $(ARGS)" in makefile
        and 'make lab ARGS="--port 8899 --no-browser"' in (ROOT / "README.md").read_text()
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def learner_lab(built, tmp_path_factory):
    """JupyterLab serving the student edition as `flowlib lab` starts it there."""
    _, out = built
    scratch = tmp_path_factory.mktemp("learner-lab")
    port, token = _free_port(), secrets.token_hex(16)
    command = cli.lab_command(
        out,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    )
    env = cli.lab_env(out, {**os.environ, "JUPYTER_RUNTIME_DIR": str(scratch)})
    log_path = scratch / "lab.log"
    log = log_path.open("w")
    server = subprocess.Popen(command, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT)

    def call(path: str, data: dict | None = None, timeout: float = 180, as_json: bool = False):
        body = None if data is None else (json.dumps(data) if as_json else urllib.parse.urlencode(data)).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}, data=body
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    wait_until_up(call, server, log_path)
    yield call, out, log_path
    try:
        stop(server)
    finally:
        log.close()


def test_the_learners_lab_has_validate_and_none_of_the_instructors_panels(learner_lab):
    call, out, log_path = learner_lab
    status, page = call("/lab")
    assert status == 200
    config = json.loads(
        re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    )
    disabled = set(config.get("disabledExtensions", []))
    assert {
        "@jupyter/nbgrader:formgrader",
        "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:assignment-list",
        "@jupyter/nbgrader:course-list",
    } <= disabled, disabled
    assert "@jupyter/nbgrader:validate-assignment" in disabled, "one Validate button: the course's, not nbgrader's"
    status, body = call(lab_validate.ROUTE, {"path": "../elsewhere.ipynb"}, as_json=True)
    assert status == 403 and "outside the server's folder" in json.loads(body)["error"], (
        "the course's Validate is not served"
    )
    assert call("/formgrader")[0] == 404, "no Formgrader in the student edition"
    assert call("/assignments")[0] == 404, "no Assignment List (and its exchange polling) without an exchange"
    status, body = call("/nbgrader_version?version=" + __import__("nbgrader").__version__)
    assert status == 200 and json.loads(body)["success"] is True
    assert "exchange" not in log_path.read_text().lower()


def test_validate_gives_points_per_exercise_and_a_short_message(learner_lab, tmp_path):
    call, out, log_path = learner_lab
    _, body = call("/assignments/validate", {"path": NOTEBOOK})
    reply = json.loads(body)
    assert reply["success"] is True and reply["value"]["failed"], reply
    first = reply["value"]["failed"][0]["raw_error"]
    assert first.startswith("not answered yet"), first
    assert "0 of 1 point(s)" in first and "00_similarity_scores: 0 of 2" in first and "total: 0 of 2" in first
    assert "Traceback" not in first and "grading.py" not in first and len(first.splitlines()) <= 10, first
    solved = out / "notebooks" / LESSON / "solved.ipynb"
    shutil.copy2(out / NOTEBOOK, solved)
    _edit_cell(solved, "00_similarity_scores", _answer_source(LESSON, "00_similarity_scores"))
    _, body = call("/assignments/validate", {"path": solved.relative_to(out).as_posix()})
    solved.unlink()
    reply = json.loads(body)
    assert reply["success"] is True and not reply["value"].get("failed"), reply
    assert "exchange" not in log_path.read_text().lower()


def test_an_exchange_brings_back_the_assignment_list_only():
    settings = edition.jupyter_settings("/srv/nbgrader/exchange")
    server = settings["jupyter_server_config.json"]["ServerApp"]["jpserver_extensions"]
    assert server["nbgrader.server_extensions.assignment_list"] and not server["nbgrader.server_extensions.formgrader"]
    off = settings["labconfig/page_config.json"]["disabledExtensions"]
    assert "@jupyter/nbgrader:assignment-list" not in off and off["@jupyter/nbgrader:formgrader"]


# --- the learner's check command --------------------------------------------------------------


def test_flowlib_check_gives_points_per_exercise(built, tmp_path, monkeypatch, capsys):
    _, out = built
    learner = tmp_path / "learner"
    shutil.copytree(out, learner)
    monkeypatch.chdir(learner)
    assert validation.main([LESSON, "--no-doctor"]) == 0
    shown = capsys.readouterr().out
    assert "00_similarity_scores: 0 of 2  (not answered yet)" in shown, shown
    assert validation.main([LESSON, "--no-doctor", "--strict"]) == 1
    _edit_cell(learner / NOTEBOOK, "00_similarity_scores", _answer_source(LESSON, "00_similarity_scores"))
    capsys.readouterr()
    assert validation.main([LESSON, "--no-doctor", "--strict"]) == 0
    assert "00_getting_started: 2 of 2 point(s)" in capsys.readouterr().out
