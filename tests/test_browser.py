"""The course in the instructor's repository: JupyterLab in a real (headless) browser.

The instructor's view (nbgrader's tools are there, and the first minute checks that they are);
the learner's own, the student edition with none of them, is driven by tests/test_browser_learner.py.

Starts the command `make lab` runs (``flowlib lab``: ``lab_command``, ``lab_env``) on a scratch copy of the
course, on a free loopback port with a random token, with empty JupyterLab user settings and
workspaces (so the course's own settings, ``jupyterlab/overrides.json``, are what shows), and
drives Debian's Chromium through it with Selenium:

* the first minute: JupyterLab opens on the lessons, with no news pop-up or dialog in the way;
* lessons 00 and 02, each as a learner works through it: open it (it opens at the top), run all
  cells, see no error outside the unanswered exercises and every figure drawn, type a correct
  answer into the first exercise and run its tests, press *Validate* (the course's button) and
  read the points it shows for every exercise, move the self-assessment sliders, press *Save* and find the ratings stored; then
  reopen JupyterLab and find the lesson at the top, its figures unobstructed.

Any error in the browser's console fails the test. Screenshots go to ``build/browser/``
(ignored by git): the attention heatmap, each validation result (and its text), each saved rating, the
first minute and each reopened lesson. Cells are found by their nbgrader ids and cell ids in
the notebook files, never by position or text, so the test follows the lessons as they change.
The repository is never touched: JupyterLab serves the scratch copy, and ratings go there too.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowlib.course import validation
from flowlib.course.cli import lab_command, lab_env
from flowlib.course.self_assessment import load_objectives
from tests.browser_helpers import (
    artifact,
    chromium,
    console_errors,
    free_port,
    nbgrader_instructor_ui,
    require_chromium,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ["00_getting_started", "02_self_attention"]
EXERCISE_TAG = "raises-exception"
SETTINGS = ROOT / "jupyterlab" / "overrides.json"
INSTALLED_SETTINGS = ROOT / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
FIGURE_CALL = re.compile(r"\bplt\.show\(\)|\bviz\.plot_\w+\(")  # a cell that draws a figure

# JavaScript: the notebook panel on screen (a restored workspace may hold hidden ones).
PANEL_JS = "const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null);"

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


# ---------------------------------------------------------------------------------------------
# Fixtures: a scratch course, its JupyterLab, a browser
# ---------------------------------------------------------------------------------------------


@dataclass
class Lab:
    url: str
    token: str
    course: Path
    log: Path

    def get(self, path: str) -> dict:
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read().decode())


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A learner's course folder: the released notebooks, nbgrader's config, the objectives."""
    require_chromium()
    folder = tmp_path_factory.mktemp("browser") / "course"
    skip = shutil.ignore_patterns(".ipynb_checkpoints", ".flowlib", "__pycache__")
    shutil.copytree(ROOT / "notebooks", folder / "notebooks", ignore=skip)
    shutil.copytree(ROOT / "self_assessment", folder / "self_assessment", ignore=skip)
    shutil.copy2(ROOT / "nbgrader_config.py", folder)
    return folder


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    state = tmp_path_factory.mktemp("lab-state")
    port, token = free_port(), secrets.token_hex(16)
    command = lab_command(
        course,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    )
    env = {
        **lab_env(course),  # as `flowlib lab` runs it
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTER_CONFIG_DIR": str(state / "config"),  # the tester's own ~/.jupyter stays out of it
        "JUPYTERLAB_SETTINGS_DIR": str(state / "user-settings"),  # a first-time learner: no settings yet
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "FLOWLIB_COURSE_DIR": str(course),  # ratings go to the scratch course
        "HF_HUB_OFFLINE": "1",
    }
    with serve_lab(command, course, env, Lab(f"http://127.0.0.1:{port}", token, course, state / "lab.log")) as running:
        yield running


@contextmanager
def serve_lab(command: list[str], cwd: Path, env: dict[str, str], lab: Lab) -> Iterator[Lab]:
    """JupyterLab started by ``command`` in ``cwd``, logging to ``lab.log``, until it answers; stopped after."""
    log = lab.log.open("w")
    server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: server.poll() is not None or lab.get("/api/status"), "JupyterLab to answer", 120)
        assert server.poll() is None, f"JupyterLab exited: {lab.log.read_text()[-3000:]}"
        yield lab
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


# ---------------------------------------------------------------------------------------------
# Reading the page
# ---------------------------------------------------------------------------------------------


def _js(driver, body: str, *args):
    return driver.execute_script(PANEL_JS + body, *args)


def _cell(driver, index: int):
    return wait_for(
        lambda: _js(driver, f"return panel.querySelector('.jp-Cell[data-windowed-list-index=\"{index}\"]');"),
        f"cell {index} in the notebook",
    )


def _scroll_to(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)


def _prompts(driver) -> list[str]:
    return _js(
        driver, "return [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());"
    )


def _kernel_idle(driver) -> bool:
    return _js(driver, "return panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle';")


def _obstructions(driver) -> list[str]:
    """Dialogs and pop-up notifications on screen."""
    return driver.execute_script(
        "return [...document.querySelectorAll('.jp-Dialog, .Toastify__toast')]"
        ".filter(e => e.offsetParent !== null || e.open).map(e => e.innerText.trim().slice(0, 200));"
    )


def _assert_console_clean(driver, where: str) -> None:
    errors = console_errors(driver)
    assert not errors, f"JavaScript errors in the browser console {where}:\n" + "\n".join(errors)


def _press(driver, *keys) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver)
    *modifiers, key = keys
    for modifier in modifiers:
        chain.key_down(modifier)
    chain.send_keys(key)
    for modifier in reversed(modifiers):
        chain.key_up(modifier)
    chain.perform()


def _menu(driver, top: str, item: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, f"//li[contains(@class,'lm-MenuBar-item')][.//div[text()='{top}']]").click()
    wait_for(
        lambda: driver.find_element(By.XPATH, f"//li[contains(@class,'lm-Menu-item')][.//div[text()='{item}']]"),
        f"menu item {top} > {item}",
    ).click()


# ---------------------------------------------------------------------------------------------
# The lesson, as files: what the browser must show
# ---------------------------------------------------------------------------------------------


@dataclass
class Lesson:
    id: str
    path: Path  # the scratch copy JupyterLab serves
    cells: list[dict]

    @classmethod
    def load(cls, course: Path, lesson: str) -> Lesson:
        path = course / "notebooks" / lesson / f"{lesson}.ipynb"
        return cls(lesson, path, json.loads(path.read_text())["cells"])

    def saved(self) -> list[dict]:
        return json.loads(self.path.read_text())["cells"]

    def index(self, cell_id: str) -> int:
        return next(i for i, cell in enumerate(self.cells) if cell.get("id") == cell_id)

    def title(self) -> str:
        for cell in self.cells:
            match = (
                re.search(r"^#\s+(.+?)\s*$", "".join(cell["source"]), re.M) if cell["cell_type"] == "markdown" else None
            )
            if match:
                return match.group(1)
        raise AssertionError(f"{self.path.name} has no title heading")

    def exercise_cells(self) -> set[int]:
        return {i for i, c in enumerate(self.cells) if EXERCISE_TAG in c.get("metadata", {}).get("tags", [])}

    def first_exercise(self) -> tuple[int, list[int]]:
        """The first code answer cell and the test cells that follow it."""
        for i, cell in enumerate(self.cells):
            grader = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "code" and grader.get("solution"):
                tests = []
                for j in range(i + 1, len(self.cells)):
                    follower = self.cells[j].get("metadata", {}).get("nbgrader", {})
                    if not (follower.get("grade") and not follower.get("solution")):
                        break
                    tests.append(j)
                assert tests, f"{self.id}: answer cell {cell.get('id')} has no test cell after it"
                return i, tests
        raise AssertionError(f"{self.id} has no code exercise")

    def rate_cell(self) -> int:
        call = f'rate("{self.id}")'
        return next(i for i, c in enumerate(self.cells) if c["cell_type"] == "code" and call in "".join(c["source"]))

    def heatmap_cell(self) -> int:
        cell_id = f"{self.id[:2]}_heatmap"
        if any(c.get("id") == cell_id for c in self.cells):
            return self.index(cell_id)
        return next(
            i for i, c in enumerate(self.cells) if c["cell_type"] == "code" and "plot_attention" in "".join(c["source"])
        )


def correct_answer(lesson: str, cell_id: str) -> str:
    """The instructor's solution of an answer cell, as a learner would type it (no markers)."""
    solution = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    source = next("".join(c["source"]) for c in solution["cells"] if c.get("id") == cell_id)
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers).rstrip()


def _errors(cells: list[dict]) -> dict[int, str]:
    found = {}
    for i, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found[i] = f"{cell.get('id')}: {output.get('ename')}: {output.get('evalue')}"[:300]
    return found


# ---------------------------------------------------------------------------------------------
# What a learner does
# ---------------------------------------------------------------------------------------------


def open_notebook(driver, lab: Lab, lesson: Lesson) -> None:
    relative = lesson.path.relative_to(lab.course).as_posix()
    driver.get(f"{lab.url}/lab/tree/{relative}?token={lab.token}&reset")
    wait_notebook_ready(driver, lesson)


def wait_notebook_ready(driver, lesson: Lesson) -> None:
    wait_for(
        lambda: _js(driver, "return panel && panel.querySelectorAll('.jp-Cell').length;") == len(lesson.cells),
        f"{lesson.id}'s {len(lesson.cells)} cells in JupyterLab",
    )
    wait_for(lambda: _kernel_idle(driver), f"{lesson.id}'s kernel to start")
    # Not a blank page: the title is rendered, as the notebook's first heading.
    title = lesson.title()
    wait_for(
        lambda: (
            _js(driver, "return [...panel.querySelectorAll('.jp-RenderedMarkdown h1')].map(h => h.textContent);")
            and title in _js(driver, "return panel.querySelector('.jp-RenderedMarkdown h1').textContent;")
        ),
        f"{lesson.id}'s title {title!r} rendered",
    )


def assert_at_the_top(driver, lesson: Lesson, where: str) -> None:
    scroll, first_top, view_top = _js(
        driver,
        """
        const scroller = panel.querySelector('.jp-WindowedPanel-outer');
        const first = panel.querySelector('.jp-Cell[data-windowed-list-index="0"]');
        return [scroller.scrollTop, first.getBoundingClientRect().top, scroller.getBoundingClientRect().top];""",
    )
    assert scroll == 0 and view_top <= first_top < view_top + 60, (
        f"{lesson.id} {where} does not show its first cell at the top (scrollTop {scroll}, first cell at {first_top}, "
        f"notebook view at {view_top})"
    )
    assert not _obstructions(driver), f"{lesson.id} {where}: something covers the notebook: {_obstructions(driver)}"


def run_all(driver, lesson: Lesson) -> None:
    code = sum(1 for c in lesson.cells if c["cell_type"] == "code")
    _menu(driver, "Run", "Run All Cells")
    wait_for(
        lambda: (
            len(_prompts(driver)) == code
            and all(re.fullmatch(r"\[\d+\]:", p) for p in _prompts(driver))
            and _kernel_idle(driver)
        ),
        f"every cell of {lesson.id} to run",
        timeout=300,
    )


def save(driver, lesson: Lesson) -> None:
    from selenium.webdriver.common.keys import Keys

    before = lesson.path.stat().st_mtime_ns
    _js(driver, "panel.querySelector('.jp-Notebook').focus();")
    _press(driver, Keys.CONTROL, "s")
    wait_for(
        lambda: (
            lesson.path.stat().st_mtime_ns != before
            and not driver.execute_script(
                "return document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty');"
            )
        ),
        f"{lesson.id} to be saved",
    )


def assert_figures_drawn(driver, lesson: Lesson, saved: list[dict]) -> None:
    """Every figure the kernel sent is drawn in the page, and every cell that plots sent one."""
    for i, cell in enumerate(saved):
        if cell["cell_type"] != "code":
            continue
        sent = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
        plots = bool(FIGURE_CALL.search("".join(cell["source"]))) and i not in lesson.exercise_cells()
        assert sent or not plots, f"{lesson.id}: cell {cell.get('id')} draws a figure but shows none"
        if not sent:
            continue
        element = _cell(driver, i)
        _scroll_to(driver, element)
        drawn = wait_for(
            lambda element=element, sent=sent: driver.execute_script(
                "const imgs = [...arguments[0].querySelectorAll('.jp-OutputArea-output img')];"
                "return imgs.length >= arguments[1] && imgs.every(img => img.complete && img.naturalWidth > 100) && imgs.length;",
                element,
                sent,
            ),
            f"{lesson.id}: the {sent} figure(s) of cell {cell.get('id')} drawn",
            timeout=30,
        )
        assert drawn >= sent


def type_answer(driver, lesson: Lesson, index: int, answer: str) -> None:
    """Replace the answer cell's stub with ``answer``, typed key by key as a learner would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    cell = _cell(driver, index)
    _scroll_to(driver, cell)
    editor = wait_for(
        lambda: (e := cell.find_element("css selector", ".cm-content")).is_displayed() and e,
        f"the editor of {lesson.id}'s answer cell",
    )
    editor.click()
    _press(driver, Keys.CONTROL, "a")
    _press(driver, Keys.DELETE)
    for number, line in enumerate(answer.split("\n")):
        if number:
            # Enter, then select the indentation the editor added, so the typed line replaces it.
            ActionChains(driver).send_keys(Keys.ENTER).key_down(Keys.SHIFT).send_keys(Keys.HOME).key_up(
                Keys.SHIFT
            ).perform()
        if line:
            ActionChains(driver).send_keys(line).perform()
    typed = driver.execute_script(
        "return [...arguments[0].querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n');", editor
    )
    assert [line.rstrip() for line in typed.split("\n")] == [line.rstrip() for line in answer.split("\n")], (
        f"the editor holds something else than what was typed:\n{typed}"
    )


def run_cells(driver, lesson: Lesson, first: int, count: int) -> None:
    """Run ``count`` cells from ``first`` on with Shift+Enter, as a learner steps through them."""
    from selenium.webdriver.common.keys import Keys

    before = _prompts(driver)
    _js(driver, "arguments[0].querySelector('.cm-content').focus();", _cell(driver, first))
    for _ in range(count):
        _press(driver, Keys.SHIFT, Keys.ENTER)
        time.sleep(0.2)
    code_index = [i for i, c in enumerate(lesson.cells) if c["cell_type"] == "code"]
    positions = [code_index.index(i) for i in range(first, first + count)]

    def done():
        now = _prompts(driver)
        return _kernel_idle(driver) and all(
            now[p] != before[p] and re.fullmatch(r"\[\d+\]:", now[p]) for p in positions
        )

    wait_for(done, f"{lesson.id}: cells {first}..{first + count - 1} to run")


def validate(driver, lesson: Lesson, shot: str = "") -> tuple[str, str, dict[str, tuple[str, str]], str]:
    """Press the course's Validate; return the result's kind (passed/failed/error), its text, its
    table ``{exercise: (points, message)}`` and the total it shows. The dialog's screenshot goes
    to ``build/browser/`` as ``shot`` (default ``<lesson>_validate.png``)."""
    button = wait_for(
        lambda: _js(driver, "return panel.querySelector('.flowlib-validate-button');"),
        "the course's Validate button in the notebook toolbar",
    )
    assert not _js(driver, "return panel.querySelector('.validate-button');"), "nbgrader's Validate button is shown too"
    button.click()
    result = wait_for(
        lambda: driver.execute_script("return document.querySelector('#flowlib-validation');"),
        f"{lesson.id}'s validation result",
        timeout=300,
    )
    time.sleep(0.3)  # the dialog's opening transition
    driver.execute_script("return document.querySelector('.jp-Dialog-content');").screenshot(
        str(artifact(shot or f"{lesson.id}_validate.png"))
    )
    kind = next(
        (k.rsplit("-", 1)[1] for k in result.get_attribute("class").split() if k.startswith("flowlib-validation-")), ""
    )
    text = result.text
    rows = driver.execute_script(
        "return [...arguments[0].querySelectorAll('tbody tr')].map(r => [r.dataset.exercise,"
        " r.querySelector('.flowlib-exercise-points').innerText, r.querySelector('.flowlib-exercise-message').innerText]);",
        result,
    )
    total = driver.execute_script(
        "return arguments[0].querySelector('.flowlib-total-points')?.innerText ?? '';", result
    )
    driver.execute_script("document.querySelector('.jp-Dialog .jp-mod-accept').click();")
    wait_for(
        lambda: not driver.execute_script("return document.querySelector('#flowlib-validation');"),
        "the validation dialog to close",
        timeout=30,
    )
    return kind, text, {name: (points, message) for name, points, message in rows}, total


def rate(driver, lab: Lab, lesson: Lesson) -> dict[str, int]:
    """Move each self-assessment slider to a new value, press Save; return the values chosen."""
    from selenium.webdriver.common.keys import Keys

    objectives = [
        o.id for o in load_objectives(lab.course / "self_assessment" / "objectives.json").for_lesson(lesson.id)
    ]
    cell = _cell(driver, lesson.rate_cell())
    _scroll_to(driver, cell)
    handles = wait_for(
        lambda: (h := cell.find_elements("css selector", ".noUi-handle")) and len(h) == len(objectives) and h,
        f"{lesson.id}: one self-assessment slider per objective ({len(objectives)})",
    )
    bold = [b.text for b in cell.find_elements("css selector", ".widget-html-content b")]
    shown = [text for text in bold if re.fullmatch(r"\d\d\.[\w.-]+", text)]  # each slider's objective id
    assert shown == objectives, f"{lesson.id}: the sliders are labelled {shown}, the objectives are {objectives}"
    chosen = {}
    for number, (objective, handle) in enumerate(zip(objectives, handles, strict=True)):
        start = round(float(handle.get_attribute("aria-valuenow")))
        target = [4, 2, 5, 1][number % 4]
        target = target if target != start else 3
        _scroll_to(driver, handle)
        handle.click()
        key = Keys.ARROW_RIGHT if target > start else Keys.ARROW_LEFT
        for _ in range(abs(target - start)):
            handle.send_keys(key)
        wait_for(
            lambda handle=handle, target=target: round(float(handle.get_attribute("aria-valuenow"))) == target,
            f"{lesson.id}: slider {objective} at {target}",
            timeout=10,
        )
        chosen[objective] = target
    save_button = next(
        b for b in cell.find_elements("css selector", "button.widget-button") if b.text.strip() == "Save"
    )
    save_button.click()
    wait_for(
        lambda: "Saved" in cell.find_element("css selector", ".jp-OutputArea").text, f"{lesson.id}: 'Saved' after Save"
    )
    _scroll_to(driver, save_button)
    time.sleep(0.3)
    cell.find_element("css selector", ".jp-OutputArea").screenshot(str(artifact(f"{lesson.id}_rating.png")))
    return chosen


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def test_the_course_settings_are_installed():
    assert INSTALLED_SETTINGS.is_file(), f"{INSTALLED_SETTINGS} is missing: `make install` copies {SETTINGS} there"
    assert json.loads(INSTALLED_SETTINGS.read_text()) == json.loads(SETTINGS.read_text()), (
        f"{INSTALLED_SETTINGS} differs from {SETTINGS}: run `make install`"
    )


def test_the_first_minute(lab, browser):
    """JupyterLab opens on the lessons; no news pop-up, no dialog; the console stays clean."""
    from selenium.webdriver.common.by import By

    browser.get(f"{lab.url}/?token={lab.token}")  # what the link JupyterLab prints on start opens
    wait_for(
        lambda: "/lab/tree/notebooks" in browser.current_url, f"{lab.url}/ to open the lessons: {browser.current_url}"
    )
    lessons = sorted(p.name for p in (lab.course / "notebooks").iterdir() if re.match(r"^\d\d_", p.name))

    def listed():
        return {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".jp-DirListing-itemText")}

    wait_for(lambda: set(lessons) <= listed(), f"the file browser to list every lesson ({lessons})")
    crumbs = browser.find_element(By.CSS_SELECTOR, ".jp-BreadCrumbs").text
    assert "notebooks" in crumbs, f"the file browser opens in {crumbs!r}, not on the lessons (notebooks/)"
    time.sleep(3)  # a news pop-up, when on, shows within a second or two of start
    assert not _obstructions(browser), f"something pops up over JupyterLab on start: {_obstructions(browser)}"
    # The course's settings are JupyterLab's defaults (the learner's own settings are empty here).
    news = lab.get("/lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]["properties"]
    assert news["fetchNews"]["default"] == "false", f"JupyterLab would ask about news: {news['fetchNews']}"
    browser.save_screenshot(str(artifact("first_minute.png")))
    _assert_console_clean(browser, "on JupyterLab's start")
    # the instructor's JupyterLab has nbgrader's tools (the learner's edition has none: test_browser_learner.py)
    assert nbgrader_instructor_ui(browser), "the instructor's JupyterLab shows none of nbgrader's tools"


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_a_learner_works_through_the_lesson(lab, browser, lesson_id):
    lesson = Lesson.load(lab.course, lesson_id)
    open_notebook(browser, lab, lesson)
    assert_at_the_top(browser, lesson, "on opening")

    # Run all cells: only the unanswered exercises fail, and every figure is drawn.
    run_all(browser, lesson)
    save(browser, lesson)
    saved = lesson.saved()
    errors = _errors(saved)
    outside = {i: e for i, e in errors.items() if i not in lesson.exercise_cells()}
    assert not outside, f"{lesson.id}: cells outside the exercises show errors: {list(outside.values())}"
    assert errors, f"{lesson.id}: no unanswered exercise failed; did Run All reach them?"
    assert_figures_drawn(browser, lesson, saved)
    if lesson_id == "02_self_attention":
        heatmap = _cell(browser, lesson.heatmap_cell())
        _scroll_to(browser, heatmap)
        heatmap.find_element("css selector", ".jp-OutputArea-output img").screenshot(
            str(artifact(f"{lesson.id}_heatmap.png"))
        )
    _assert_console_clean(browser, f"after running all of {lesson.id}")

    # A correct answer in the first exercise: its tests pass.
    answer_cell, tests = lesson.first_exercise()
    type_answer(browser, lesson, answer_cell, correct_answer(lesson.id, lesson.cells[answer_cell]["id"]))
    run_cells(browser, lesson, answer_cell, 1 + len(tests))
    save(browser, lesson)
    still = {i: e for i, e in _errors(lesson.saved()).items() if i in (answer_cell, *tests)}
    assert not still, f"{lesson.id}: the tests of a correct answer fail: {list(still.values())}"

    # Validate: the answered exercise earns all its points, every other exercise none, "not answered yet".
    before = lesson.saved()
    kind, text, table, total = validate(browser, lesson)
    artifact(f"{lesson.id}_validate.txt").write_text(text + "\n")
    assert lesson.saved() == before, f"{lesson.id}: Validate changed the notebook file"
    possible = {
        name: points for name, (_, points) in validation.per_exercise(validation.test_cells(lesson.cells)).items()
    }
    answered = lesson.cells[answer_cell]["metadata"]["nbgrader"]["grade_id"]
    earned = {name: points if name == answered else 0 for name, points in possible.items()}
    assert {name: points for name, (points, _) in table.items()} == {
        name: f"{earned[name]:g} of {points:g}" for name, points in possible.items()
    }, f"{lesson.id}: Validate shows {text}"
    assert table[answered][1] == "", f"{lesson.id}: the answered exercise has a message: {table[answered]}"
    for name in set(possible) - {answered}:
        assert table[name][1] == validation.NOT_ANSWERED, (
            f"{lesson.id}: {name} says {table[name][1]!r}, not that it is unanswered"
        )
    assert total == f"{sum(earned.values()):g} of {sum(possible.values()):g} point(s)", (
        f"{lesson.id}: the total reads {total!r}"
    )
    assert kind == ("passed" if len(possible) == 1 else "failed"), f"{lesson.id}: Validate says {kind}: {text[:500]}"

    # Rate: the sliders' values are appended to the course's ratings file.
    ratings_file = lab.course / ".flowlib" / "ratings.jsonl"
    before = len(ratings_file.read_text().splitlines()) if ratings_file.exists() else 0
    chosen = rate(browser, lab, lesson)
    events = [json.loads(line) for line in ratings_file.read_text().splitlines()[before:]]
    stored = {e["objective"]: e["rating"] for e in events if e["lesson"] == lesson.id and e.get("via") == "widget"}
    assert stored == chosen, f"{lesson.id}: the sliders said {chosen}, {ratings_file} holds {stored}"

    # Reopen JupyterLab: the lesson comes back at the top, nothing over its figures.
    save(browser, lesson)
    browser.get(f"{lab.url}/lab?token={lab.token}")
    wait_notebook_ready(browser, lesson)
    time.sleep(2)
    assert_at_the_top(browser, lesson, "on reopening")
    browser.save_screenshot(str(artifact(f"{lesson.id}_reopened.png")))
    assert_figures_drawn(browser, lesson, lesson.saved())
    assert not _obstructions(browser), f"{lesson.id}: something covers the reopened notebook: {_obstructions(browser)}"
    _assert_console_clean(browser, f"while working through {lesson.id}")
