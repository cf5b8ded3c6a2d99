"""A class on a real JupyterHub (deploy/jupyterhub/start): an instructor and three learners, each
a Unix user with their own server. Learners fetch, answer (right, wrong, unanswered), validate
and submit through their servers' APIs; one tries to read and break another's submission and the
instructor's gradebook and solutions, and the file system refuses every attempt; the instructor
collects, grades in the sandbox and releases feedback; each learner gets their own feedback; the
grades equal those of the same notebooks graded outside the hub. Root only (skipped elsewhere).
"""

import json
import pwd
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from nbgrader.api import Gradebook

from flowlib.course import instructor, layout
from tests.hub_class import HubClass, missing
from tests.scratch import ROOT, scratch_course

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"no hub here: {missing()}")

LESSON = "00_getting_started"
EXERCISE = "00_similarity_scores"
NOTEBOOK = f"{LESSON}/{LESSON}.ipynb"
# right on the visible example (its scores are not negative), wrong on the hidden random ones
WRONG = "def similarity_scores(query, keys):\n    return np.abs(np.asarray(keys, dtype=float) @ np.asarray(query, dtype=float))"


def _answers(learners: list[str]) -> dict[str, str | None]:
    """The right answer (the solution), a wrong one and none."""
    solution = json.loads((ROOT / "solutions" / NOTEBOOK).read_text())
    right = next(c for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == EXERCISE)
    return dict(zip(learners, ["".join(right["source"]), WRONG, None], strict=True))


def _answer(notebook: dict, name: str, answer: str | None) -> dict:
    """``notebook`` with ``answer`` in the exercise's cell (None: the stub stays), marked as ``name``'s."""
    cell = next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == EXERCISE)
    stub = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = f"{answer if answer is not None else stub}\n# the work of {name}\n"
    return notebook


def _work(hub: HubClass, name: str, answer: str | None) -> dict:
    """Fetch through the Assignment List, answer through the contents API, Validate, submit."""
    fetched = hub.assignments(name, "fetch", LESSON).json()
    assert fetched["success"], fetched
    assert any(a["assignment_id"] == LESSON and a["status"] == "fetched" for a in fetched["value"]), fetched
    saved = hub.server(name, "GET", f"/api/contents/{NOTEBOOK}").json()["content"]
    reply = hub.server(
        name, "PUT", f"/api/contents/{NOTEBOOK}", json={"type": "notebook", "content": _answer(saved, name, answer)}
    )
    assert reply.status_code == 200, reply.text
    validated = hub.server(name, "POST", "/flowlib/validate", json={"path": NOTEBOOK})
    assert validated.status_code == 200, validated.text
    submitted = hub.assignments(name, "submit", LESSON).json()
    assert submitted["success"], submitted
    return validated.json()


def _grade_outside(folder: Path, notebooks: dict[str, bytes]) -> dict[str, float]:
    """The learners' notebooks graded in a course of their own, as an LMS download."""
    course = scratch_course(folder / "course", LESSON)
    download = folder / "download"
    download.mkdir()
    for name, data in notebooks.items():
        (download / f"{name}_{LESSON}.ipynb").write_bytes(data)
    assert not instructor.collect(course, [str(download)]).refused
    assert instructor.autograde(course).ok
    with Gradebook(f"sqlite:///{course / layout.GRADEBOOK}") as book:
        return {name: book.find_submission(LESSON, name).score for name in notebooks}


def test_a_class_on_the_hub(tmp_path):
    with HubClass(learners=3) as hub:
        right, wrong, blank = hub.learners
        everyone = [hub.instructor, *hub.learners]
        for name in everyone:
            hub.login(name)
            hub.start_server(name)
        for name in everyone:
            hub.wait_server(name)

        # before the release: nothing to fetch or submit, and the learner is told what there is
        early = hub.assignments(blank, "fetch", LESSON).json()  # the Assignment List lists only what is released
        assert not any(a["assignment_id"] == LESSON for a in early.get("value", [])), early
        home = Path(pwd.getpwnam(blank).pw_dir) / layout.COURSE_ID
        fetch = hub.run_as(blank, "nbgrader", "fetch_assignment", LESSON, cwd=home, check=False)
        assert fetch.returncode != 0 and f"'{LESSON}' is not released" in fetch.stderr, fetch.stderr
        assert "has released nothing" in fetch.stderr, fetch.stderr
        submit = hub.assignments(blank, "submit", LESSON).json()
        assert not submit["success"] and f"nothing to submit: expected your copy of '{LESSON}'" in submit["value"], (
            submit
        )

        course = hub.course
        hub.run_as(hub.instructor, "flowlib", "instructor", "release", LESSON, cwd=course)
        hub.run_as(hub.instructor, "nbgrader", "release_assignment", LESSON, cwd=course)
        formgrader = f"{hub.url}/services/formgrader/formgrader/api/assignments"
        for name, allowed in [(hub.instructor, True), (right, False)]:
            reply = requests.get(formgrader, headers=hub.auth(name), timeout=60, allow_redirects=False)
            assert (reply.status_code == 200) == allowed, (name, reply.status_code, reply.text[:500])

        answers = _answers(hub.learners)
        with ThreadPoolExecutor(len(answers)) as pool:
            validated = dict(zip(answers, pool.map(lambda item: _work(hub, *item), answers.items()), strict=True))
        # Validate runs the visible tests: the wrong answer passes them and loses its point in grading
        assert validated[right]["passed"] and validated[wrong]["passed"] and not validated[blank]["passed"]
        assert validated[blank]["earned"] == 0 < validated[right]["earned"] == validated[right]["possible"]
        # an exchange folder set up otherwise: the submission is refused, saying what was expected and found
        inbound = hub.exchange / layout.COURSE_ID / "inbound"
        inbound.chmod(0o2733)  # nbgrader's documented mode: submissions could be renamed by others
        refused_submit = hub.assignments(right, "submit", LESSON).json()
        inbound.chmod(0o3733)
        assert not refused_submit["success"], refused_submit
        assert "must be mode 3733" in refused_submit["value"] and "found mode 2733" in refused_submit["value"]
        again = hub.assignments(right, "submit", LESSON).json()  # a second submission: the newest counts
        assert again["success"], again

        # one learner against another's submission, the gradebook and the answer key
        theirs = sorted(p for p in inbound.iterdir() if p.name.startswith(f"{right}+"))[0]
        attempts = {
            "list the inbound folder": f"os.listdir({str(inbound)!r})",
            "read their submission": f"open({str(theirs / f'{LESSON}.ipynb')!r}).read()",
            "overwrite their submission": f"open({str(theirs / f'{LESSON}.ipynb')!r}, 'w')",
            "delete their submission": f"os.unlink({str(theirs / f'{LESSON}.ipynb')!r})",
            "add a file to their submission": f"open({str(theirs / 'extra.py')!r}, 'w')",
            "rename their submission": f"os.rename({str(theirs)!r}, {str(theirs) + 'x'!r})",
            "read the gradebook": f"open({str(course / layout.GRADEBOOK)!r}, 'rb')",
            "list the solutions": f"os.listdir({str(course / layout.SOURCE)!r})",
            "read a solution": f"open({str(course / layout.SOURCE / NOTEBOOK)!r}).read()",
            "list the feedback folder": f"os.listdir({str(hub.exchange / layout.COURSE_ID / 'feedback')!r})",
        }
        refused = hub.try_as(wrong, attempts)
        assert refused == dict.fromkeys(attempts, "PermissionError"), refused

        collected = hub.run_as(
            hub.instructor, "flowlib", "instructor", "collect", "--exchange", str(hub.exchange), cwd=course
        )
        assert "older than" in collected.stdout, collected.stdout  # the first of the two submissions
        hub.grade("autograde", LESSON)
        hub.grade("feedback", LESSON)
        hub.run_as(hub.instructor, "nbgrader", "release_feedback", LESSON, cwd=course)

        notebooks = {}
        for name in hub.learners:
            assert hub.assignments(name, "fetch_feedback", LESSON).json()["success"]
            home = Path(pwd.getpwnam(name).pw_dir) / layout.COURSE_ID / LESSON
            feedback = sorted(home.glob(f"feedback/*/{LESSON}.html"))
            assert len(feedback) == 1, f"{name}'s feedback: {feedback}"
            html = feedback[0].read_text()
            assert f"the work of {name}" in html
            assert not any(f"the work of {other}" in html for other in hub.learners if other != name)
            notebooks[name] = (home / f"{LESSON}.ipynb").read_bytes()
        with Gradebook(f"sqlite:///{course / layout.GRADEBOOK}") as book:
            on_hub = {name: book.find_submission(LESSON, name).score for name in hub.learners}

    assert on_hub == _grade_outside(tmp_path, notebooks)
    assert on_hub[blank] == 0 < on_hub[wrong] < on_hub[right]
