"""The student edition as a learner meets it, in a real (headless) browser.

Builds the edition with the instructor's command (``flowlib instructor student-edition``) from
a scratch copy of the course, publishes it as a git repository and clones it as a learner does.
A learner's ``make install`` would then build ``.venv`` from ``requirements.lock`` with pip
(minutes, and downloads, which the suite never does); the clone's ``.venv`` is instead a link
to the environment this suite runs in, made from the same lock. JupyterLab starts as
``make lab`` starts it there (``.venv/bin/flowlib lab``, the edition's own Jupyter settings),
once for the whole file, and Debian's Chromium drives it:

* the first minute: the lessons, and none of nbgrader's instructor tools (no Nbgrader menu,
  Create Assignment panel or Formgrader);
* lesson 00 run top to bottom, its exercise typed in, its tests run, and Validate's full points;
* a later lesson run top to bottom: errors only in the unanswered exercises, every figure drawn;
* a course update pulled (``.venv/bin/flowlib update``, what ``make update`` runs: git fetch and
  merge) while lesson 00 is open: after File > Reload Notebook from Disk (what the update tells
  the learner to do) the course's new cells are there, the learner's answer too, the course's
  new version of that answer cell in a marked note below it, and Validate still gives full points.

Screenshots go to ``build/browser/learner_*.png``. The instructor's side is tests/test_browser.py.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowlib.cells import cell_source
from flowlib.course import edition, update
from flowlib.course.merge import NOTE_TAG
from tests.browser_helpers import (
    artifact,
    chromium,
    free_port,
    nbgrader_instructor_ui,
    require_chromium,
    wait_for,
)
from tests.test_browser import (
    Lab,
    Lesson,
    _assert_console_clean,
    _cell,
    _errors,
    _js,
    _menu,
    _scroll_to,
    assert_figures_drawn,
    correct_answer,
    open_notebook,
    run_all,
    run_cells,
    save,
    serve_lab,
    type_answer,
    validate,
)
from tests.test_edition import scratch_course

FIRST, LATER = "00_getting_started", "02_self_attention"
ENVIRONMENT = Path(sys.prefix)  # the environment the suite runs in, made from requirements.lock

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Course", "-c", "user.email=course@example.org", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, Path]:
    """(the course's published edition, a git repository; the learner's clone of it, installed)."""
    require_chromium()
    base = tmp_path_factory.mktemp("learner-edition")
    course = scratch_course(base / "course")
    origin = base / "origin"
    built = subprocess.run(
        [str(ENVIRONMENT / "bin" / "flowlib"), "instructor", "student-edition", str(origin)],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, f"flowlib instructor student-edition failed: {built.stdout}{built.stderr}"
    _git(origin, "init", "-q", "-b", "main")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "course v1")
    _git(base, "clone", "-q", str(origin), "learner")
    learner = base / "learner"
    (learner / ".venv").symlink_to(ENVIRONMENT, target_is_directory=True)
    return origin, learner


@pytest.fixture(scope="module")
def lab(published, tmp_path_factory):
    """JupyterLab in the learner's clone, started as ``make lab`` starts it."""
    _, learner = published
    state = tmp_path_factory.mktemp("learner-lab-state")
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("FLOWLIB_COURSE_DIR", "JUPYTER_CONFIG_PATH")},
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTER_CONFIG_DIR": str(state / "config"),  # the tester's own ~/.jupyter stays out of it
        "JUPYTERLAB_SETTINGS_DIR": str(state / "user-settings"),  # a first-time learner
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "HF_HUB_OFFLINE": "1",
    }
    command = [
        str(learner / ".venv" / "bin" / "flowlib"),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    with serve_lab(
        command, learner, env, Lab(f"http://127.0.0.1:{port}", token, learner, state / "lab.log")
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("learner-chromium-profile")) as driver:
        yield driver


def _points(lesson: Lesson) -> float:
    return sum(float(c["metadata"]["nbgrader"].get("points", 0)) for c in lesson.cells if _graded(c))


def _graded(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade")) and cell["cell_type"] == "code"


def _answer_and_validate(browser, lesson: Lesson, shot: str) -> None:
    """Type the first exercise's answer, run it and its tests, save, Validate: full points."""
    answer_cell, tests = lesson.first_exercise()
    type_answer(browser, lesson, answer_cell, correct_answer(lesson.id, lesson.cells[answer_cell]["id"]))
    run_cells(browser, lesson, answer_cell, 1 + len(tests))
    save(browser, lesson)
    failing = {i: e for i, e in _errors(lesson.saved()).items() if i in (answer_cell, *tests)}
    assert not failing, f"{lesson.id}: the tests of a correct answer fail: {list(failing.values())}"
    _expect_full_points(browser, lesson, shot)


def _expect_full_points(browser, lesson: Lesson, shot: str) -> None:
    kind, text, _, total = validate(browser, lesson, shot)
    possible = _points(lesson)
    assert kind == "passed" and total == f"{possible:g} of {possible:g} point(s)", f"{lesson.id}: Validate: {text}"


def test_the_learners_first_minute_has_no_instructor_tools(lab, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{lab.url}/?token={lab.token}")
    wait_for(lambda: "/lab/tree/notebooks" in browser.current_url, f"the lessons to open: {browser.current_url}")
    lessons = sorted(p.name for p in (lab.course / "notebooks").iterdir() if p.is_dir())
    wait_for(
        lambda: set(lessons) <= {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".jp-DirListing-itemText")},
        f"the file browser to list every lesson ({lessons})",
    )
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item"), "JupyterLab's menu bar")
    time.sleep(2)  # late plugins (nbgrader's menu is added once its server extension answers)
    browser.save_screenshot(str(artifact("learner_first_minute.png")))
    assert not nbgrader_instructor_ui(browser), f"the learner sees nbgrader's tools: {nbgrader_instructor_ui(browser)}"
    menus = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")]
    assert "File" in menus and "Run" in menus, f"the menu bar reads {menus}"
    _assert_console_clean(browser, "on the learner's JupyterLab start")
    browser.get(f"{lab.url}/formgrader?token={lab.token}")
    assert "404" in browser.page_source, "the learner's server serves Formgrader"


@pytest.mark.parametrize("lesson_id", [FIRST, LATER])
def test_a_lesson_runs_top_to_bottom(lab, browser, lesson_id):
    lesson = Lesson.load(lab.course, lesson_id)
    open_notebook(browser, lab, lesson)
    run_all(browser, lesson)
    save(browser, lesson)
    saved = lesson.saved()
    errors = _errors(saved)
    outside = {i: e for i, e in errors.items() if i not in lesson.exercise_cells()}
    assert not outside, f"{lesson.id}: cells outside the exercises show errors: {list(outside.values())}"
    assert_figures_drawn(browser, lesson, saved)
    if lesson_id == FIRST:
        _answer_and_validate(browser, lesson, f"learner_{lesson.id}_validate.png")


def _publish_v2(origin: Path, lesson: Lesson) -> tuple[str, str]:
    """The course's next version, committed: the lesson's first cell reworded, its answer cell's
    stub changed, a closing cell added. Returns (the first cell's new text, the new cell's text)."""
    path = origin / lesson.path.relative_to(lesson.path.parents[2])
    notebook = json.loads(path.read_text())
    answer_id = lesson.cells[lesson.first_exercise()[0]]["id"]
    reworded = cell_source(notebook["cells"][0]) + "\n\nUpdated: this lesson now ends with a summary."
    notebook["cells"][0]["source"] = reworded
    for cell in notebook["cells"]:
        if cell["id"] == answer_id:
            cell["source"] = cell_source(cell) + "\n# Hint (course update): the scores are q @ k.T"
    closing = "## Summary\n\nSimilarity is a dot product; softmax turns scores into weights."
    notebook["cells"].append({"cell_type": "markdown", "id": "00_summary_v2", "metadata": {}, "source": closing})
    path.write_text(json.dumps(notebook, indent=1))
    edition.write_manifest(origin, "v2")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "course v2")
    return reworded, closing


def test_an_update_pulled_while_the_lesson_is_open(published, lab, browser):
    origin, learner = published
    lesson = Lesson.load(learner, FIRST)
    answer_index = lesson.first_exercise()[0]
    answer_id = lesson.cells[answer_index]["id"]
    answer = correct_answer(lesson.id, answer_id)
    if answer not in cell_source(lesson.cells[answer_index]):  # the lesson test did not run first
        notebook = json.loads(lesson.path.read_text())
        notebook["cells"][answer_index]["source"] = answer
        lesson.path.write_text(json.dumps(notebook, indent=1))
    open_notebook(browser, lab, lesson)
    reworded, closing = _publish_v2(origin, lesson)

    pulled = subprocess.run(
        [str(learner / ".venv" / "bin" / "flowlib"), "update"], cwd=learner, capture_output=True, text=True, timeout=120
    )
    artifact("learner_update_report.txt").write_text(pulled.stdout + pulled.stderr)
    notebook_path = lesson.path.relative_to(learner).as_posix()
    assert pulled.returncode == 0 and f"merged cell by cell: {notebook_path}" in pulled.stdout, pulled.stdout
    assert f"{notebook_path}: cell {answer_id}" in pulled.stdout and update.RELOAD in pulled.stdout, pulled.stdout
    assert _git(learner, "rev-parse", "HEAD") == _git(origin, "rev-parse", "HEAD"), "the clone is on the new version"

    # The open notebook still shows the old version until the learner reloads it, as the update says.
    stale = _js(browser, "return panel.querySelectorAll('.jp-Cell').length;")
    assert stale == len(lesson.cells), "JupyterLab showed the update before the learner reloaded"
    _menu(browser, "File", "Reload Notebook from Disk")
    asked = wait_for(
        lambda: (
            browser.execute_script("return document.querySelector('.jp-Dialog .jp-mod-accept');")
            or _js(browser, "return panel.querySelectorAll('.jp-Cell').length;") != stale
        ),
        "the notebook to reload from disk",
        timeout=30,
    )
    if asked is not True:  # JupyterLab asked first ("Reload"): the learner says yes
        asked.click()
    updated = Lesson.load(learner, FIRST)
    ids = [cell["id"] for cell in updated.cells]
    assert ids[-1] == "00_summary_v2" and cell_source(updated.cells[0]) == reworded
    assert answer in cell_source(updated.cells[ids.index(answer_id)]), "the learner's answer is gone"
    note = updated.cells[ids.index(answer_id) + 1]
    assert NOTE_TAG in note["metadata"].get("tags", []) and "Hint (course update)" in cell_source(note)
    wait_for(
        lambda: _js(browser, "return panel.querySelectorAll('.jp-Cell').length;") == len(updated.cells),
        f"the reloaded notebook's {len(updated.cells)} cells",
    )
    shown = _cell(browser, ids.index(answer_id) + 1)
    _scroll_to(browser, shown)
    wait_for(lambda: "Course update (v2)" in shown.text, "the course's note under the learner's answer")
    browser.save_screenshot(str(artifact("learner_update_note.png")))
    last = _cell(browser, len(ids) - 1)
    _scroll_to(browser, last)
    wait_for(lambda: "Summary" in last.text, "the course's new closing cell")
    _expect_full_points(browser, updated, "learner_update_validate.png")
