"""The course's Validate in JupyterLab: the server side (flowlib.course.lab_validate) and the
prebuilt button (jupyterlab/validate).

A server with only the course's extension serves a scratch copy of lesson 00: an unanswered
notebook earns 0 with validation's NOT_ANSWERED message, a bad path is refused with a JSON
error; in this process a solved notebook earns every point, and nbgrader's own checks (a
changed read-only cell, a changed cell type) still speak. No validation writes the notebook.
Last, the extension JupyterLab loads from the environment is the committed build, and
nbgrader's own Validate button is off.
"""

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from flowlib.cells import delegated
from flowlib.course import lab_validate, validation
from tests.browser_helpers import free_port
from tests.lab_server import stop, wait_until_up
from tests.test_edition import _answer_source, _edit_cell

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_getting_started"
NOTEBOOK = f"notebooks/{LESSON}/{LESSON}.ipynb"
EXERCISE = "00_similarity_scores"
TEST_CELL = "00_similarity_scores_tests"
BIN = Path(sys.executable).parent
BUILT = ROOT / "jupyterlab" / "validate" / "labextension"
INSTALLED = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@flowlib" / "validate"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """Lesson 00 as released, as solved, and nbgrader's configuration of the course."""
    folder = tmp_path_factory.mktemp("lab-validate")
    (folder / NOTEBOOK).parent.mkdir(parents=True)
    shutil.copy2(ROOT / NOTEBOOK, folder / NOTEBOOK)
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    solved = folder / "solved.ipynb"
    shutil.copy2(ROOT / NOTEBOOK, solved)
    _edit_cell(solved, EXERCISE, _answer_source(LESSON, EXERCISE))
    return folder


@pytest.fixture(scope="module")
def server(course, tmp_path_factory):
    """``post(path-or-body, token=...) -> (status, JSON)`` on a Jupyter server rooted at ``course``."""
    state = tmp_path_factory.mktemp("lab-validate-server")
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(BIN / "jupyter"),
        "server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={course}",
        "--ServerApp.jpserver_extensions=flowlib.course.lab_validate=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(state / "config"), "JUPYTER_RUNTIME_DIR": str(state / "runtime")}
    log_path = state / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)

    def call(path: str, timeout: float = 5):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"})
        return urllib.request.urlopen(request, timeout=timeout)

    def post(body, auth: str | None = token) -> tuple[int, dict]:
        data = json.dumps({"path": body} if isinstance(body, str) else body).encode()
        headers = {"Authorization": f"token {auth}"} if auth else {}
        request = urllib.request.Request(f"http://127.0.0.1:{port}{lab_validate.ROUTE}", data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=600) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    wait_until_up(call, process, log_path)
    yield post
    try:
        stop(process)
    finally:
        log.close()


def test_a_bad_path_is_refused_with_a_json_error(server, course):
    (course / "notes.txt").write_text("not a notebook")
    outside = course.parent / "outside.ipynb"
    shutil.copy2(course / NOTEBOOK, outside)
    for body, status, says in [
        ("../outside.ipynb", 403, "outside the server's folder"),
        (str(outside), 403, "outside the server's folder"),
        ("notes.txt", 400, "expected a .ipynb file"),
        ("notebooks/missing.ipynb", 404, "no notebook"),
        ({}, 400, 'expected {"path"'),
        ({"path": 3}, 400, "got path=3"),
    ]:
        got, reply = server(body)
        assert (got, says in reply.get("error", "")) == (status, True), f"{body!r}: {got} {reply}"
    assert server(NOTEBOOK, auth="wrong-token")[0] == 403, "the handler answers only an authenticated request"


def test_an_unanswered_exercise_earns_nothing_and_says_so(server, course):
    before = (course / NOTEBOOK).read_bytes()
    status, reply = server(NOTEBOOK)
    assert status == 200, reply
    assert reply["exercises"] == [
        {"exercise": EXERCISE, "earned": 0, "possible": 2, "message": validation.NOT_ANSWERED}
    ]
    assert (reply["earned"], reply["possible"], reply["passed"], reply["checks"]) == (0, 2, False, [])
    assert (course / NOTEBOOK).read_bytes() == before, "Validate wrote the notebook"


def test_a_solved_notebook_earns_every_point(course, monkeypatch):
    monkeypatch.chdir(course)  # nbgrader's Validate reads nbgrader_config.py from the server's folder
    before = (course / "solved.ipynb").read_bytes()
    reply = lab_validate.validate(course / "solved.ipynb")
    assert reply["exercises"] == [{"exercise": EXERCISE, "earned": 2, "possible": 2, "message": ""}], reply
    assert (reply["earned"], reply["possible"], reply["passed"], reply["checks"]) == (2, 2, True, [])
    assert (course / "solved.ipynb").read_bytes() == before, "Validate wrote the notebook"


def test_nbgraders_own_checks_are_reported(course, monkeypatch):
    """A changed read-only test cell keeps its points but fails Validate, in nbgrader's words;
    a changed cell type stops it before anything runs."""
    monkeypatch.chdir(course)
    changed = course / "changed.ipynb"
    shutil.copy2(course / "solved.ipynb", changed)
    cells = {c["id"]: c for c in json.loads(changed.read_text())["cells"]}
    _edit_cell(changed, TEST_CELL, "".join(cells[TEST_CELL]["source"]) + "\n# my note")
    reply = lab_validate.validate(changed)
    (check,) = reply["checks"]
    assert (
        check["warning"].startswith("THE CONTENTS OF 1 TEST CELL(S) HAVE CHANGED!") and "# my note" in check["cells"][0]
    ), check
    assert (reply["earned"], reply["possible"], reply["passed"]) == (2, 2, False)

    notebook = json.loads((course / "solved.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if c["id"] == TEST_CELL)
    cell["cell_type"] = "markdown"
    del cell["outputs"], cell["execution_count"]
    retyped = course / "retyped.ipynb"
    retyped.write_text(json.dumps(notebook))
    reply = lab_validate.validate(retyped)
    (check,) = reply["checks"]
    assert check["warning"].startswith("THE TYPES OF 1 CELL(S) HAVE CHANGED!"), check
    assert "The following markdown cell has changed to a code cell" in check["cells"][0], check
    assert (reply["exercises"], reply["passed"]) == ([], False)


def test_an_answer_that_calls_its_twin_is_told_it_scores_0_as_when_graded(course, monkeypatch):
    """Validate watches each test cell as the grader does: an answer that calls its exercise's
    forbidden twin (here softmax through torch.softmax) earns 0 on that exercise with the grader's
    own message; the other exercises, and the notebook file, are untouched."""
    lesson = "02_self_attention"
    path = course / "delegating.ipynb"
    shutil.copy2(ROOT / "notebooks" / lesson / f"{lesson}.ipynb", path)
    for exercise in ("02_softmax", "02_quiz_scaling", "02_sdpa", "02_causal_mask"):
        _edit_cell(path, exercise, _answer_source(lesson, exercise))
    _edit_cell(
        path, "02_softmax", "def softmax(x, axis=-1):\n    return torch.softmax(torch.as_tensor(x), dim=axis).numpy()"
    )
    monkeypatch.chdir(course)
    before = path.read_bytes()
    reply = lab_validate.validate(path)
    got = {e["exercise"]: (e["earned"], e["message"]) for e in reply["exercises"]}
    assert got["02_softmax"] == (0, delegated(["torch.softmax"])), got
    assert [got[e] for e in ("02_quiz_scaling", "02_sdpa", "02_causal_mask")] == [(1, ""), (5, ""), (1, "")], got
    assert (reply["checks"], reply["passed"]) == ([], False), reply  # the test cells ran as released
    assert path.read_bytes() == before, "Validate wrote the notebook"


def _listing(*args: str) -> str:
    done = subprocess.run([str(BIN / "jupyter"), *args, "list"], capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def test_the_committed_build_is_made_from_the_committed_source():
    """stamp.mjs (the last step of `npm run build`) hashes the sources into the build."""
    folder = ROOT / "jupyterlab" / "validate"
    digest = hashlib.sha256()
    for name in ("package.json", "src/index.ts", "style/index.css", "style/index.js"):  # stamp.mjs's SOURCES
        digest.update(f"{name}\n".encode())
        digest.update((folder / name).read_bytes())
    stamped = (BUILT / "source.sha256").read_text().strip()
    assert stamped == digest.hexdigest(), (
        "jupyterlab/validate/labextension was not built from the sources committed beside it: "
        "rebuild it (see jupyterlab/validate/README.md) and commit labextension/"
    )


def test_jupyterlab_loads_the_course_validate_not_nbgraders():
    source = json.loads((ROOT / "jupyterlab" / "validate" / "package.json").read_text())
    built = json.loads((BUILT / "package.json").read_text())
    load = built["jupyterlab"].pop("_build")["load"]
    assert built == source, (
        "jupyterlab/validate/labextension is older than its package.json: rebuild it (see its README)"
    )
    assert (BUILT / load).is_file(), f"the build's entry point {load} is missing"
    assert INSTALLED.is_dir(), f"{INSTALLED} is missing: `make install` copies {BUILT} there"
    committed = {p.relative_to(BUILT): p.read_bytes() for p in BUILT.rglob("*") if p.is_file()}
    installed = {p.relative_to(INSTALLED): p.read_bytes() for p in INSTALLED.rglob("*") if p.is_file()}
    assert installed == committed, f"{INSTALLED} is not the committed build {BUILT}: run `make install`"
    lab = _listing("labextension")
    assert any("@flowlib/validate" in line and "enabled" in line and "OK" in line for line in lab.splitlines()), lab
    disabled = lab.split("Disabled extensions:", 1)[-1] if "Disabled extensions:" in lab else ""
    assert "@jupyter/nbgrader:validate-assignment" in disabled, f"nbgrader's Validate button is still on:\n{lab}"
    server = _listing("server", "extension")
    assert any("flowlib.course.lab_validate" in line and "enabled" in line for line in server.splitlines()), server
