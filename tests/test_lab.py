"""JupyterLab smoke test: `make lab`'s server starts, serves the course, and nbgrader answers.

Starts the very command `flowlib lab` runs (headless, on a free loopback port, with a
random token), talks to it over its REST API, then stops it and checks it exited.
"""

import json
import os
import secrets
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import nbgrader
import pytest

from flowlib.course.cli import lab_command
from flowlib.course.layout import lessons
from tests.lab_server import stop, wait_until_up

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), secrets.token_hex(16)
    command = lab_command(
        ROOT,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    )
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(scratch), "HF_HUB_OFFLINE": "1"}
    log = (scratch / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def call(path: str, data: dict | None = None, timeout: float = 120):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=None if data is None else urllib.parse.urlencode(data).encode(),
            headers={"Authorization": f"token {token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read().decode()
            return reply.status, body

    wait_until_up(call, server, scratch / "lab.log")
    yield call
    try:
        stop(server)
    finally:
        log.close()
    assert server.returncode is not None


def test_lab_serves_the_course_notebooks(lab):
    status, body = lab("/api/contents/notebooks")
    listed = {item["name"] for item in json.loads(body)["content"]}
    assert status == 200 and set(lessons(ROOT)) <= listed, listed
    status, body = lab("/api/contents/notebooks/00_getting_started/00_getting_started.ipynb")
    assert status == 200 and json.loads(body)["type"] == "notebook"
    status, body = lab("/lab")
    assert status == 200 and "JupyterLab" in body


def test_nbgrader_server_extension_answers(lab):
    status, body = lab(f"/nbgrader_version?version={nbgrader.__version__}")
    assert status == 200 and json.loads(body)["success"] is True


def test_validate_reports_an_unanswered_exercise_and_passes_a_solution(lab):
    _, body = lab("/assignments/validate", {"path": "notebooks/00_getting_started/00_getting_started.ipynb"})
    unanswered = json.loads(body)
    assert unanswered["success"] is True and "failed" in unanswered["value"], unanswered
    _, body = lab("/assignments/validate", {"path": "solutions/00_getting_started/00_getting_started.ipynb"})
    solved = json.loads(body)
    assert solved["success"] is True and not solved["value"].get("failed"), solved
