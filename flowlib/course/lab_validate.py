"""The course's Validate in JupyterLab: nbgrader's Validator on a saved notebook, with points.

The button (``jupyterlab/validate``, the labextension ``@flowlib/validate``) saves the notebook
and posts its path here: ``POST /flowlib/validate`` ``{"path": "notebooks/00_x/00_x.ipynb"}``
(relative to the server's root). The notebook runs as nbgrader's own Validate runs it (a fresh
kernel, top to bottom, the ``nbgrader_config.py`` of the server's folder, so the course's hooks
of :mod:`flowlib.course.validation`), in a child process (``python -m
flowlib.course.lab_validate PATH``) so the server stays responsive. The answer is JSON::

    {"notebook": "00_x.ipynb", "earned": 1, "possible": 3, "passed": false,
     "exercises": [{"exercise": "00_a", "earned": 1, "possible": 1, "message": ""}, ...],
     "checks": [{"warning": "THE CONTENTS OF 1 TEST CELL(S) HAVE CHANGED! ...", "cells": [source]}]}

``checks`` are nbgrader's own: a changed read-only cell, a changed cell type (then nothing ran).
The notebook file is only read. Enable with ``jupyter server extension enable
flowlib.course.lab_validate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from nbformat import NotebookNode
from nbgrader.apps import NbGrader
from nbgrader.validator import Validator
from traitlets.config import Config

from flowlib.course import validation

ROUTE = "/flowlib/validate"


class PathRefused(ValueError):
    """A notebook path the handler will not validate; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def notebook_path(root: Path, path: Any) -> Path:
    """``path`` (relative to the server's ``root``) as an existing notebook inside ``root``."""
    if not isinstance(path, str) or not path.strip():
        raise PathRefused(f'expected {{"path": "<notebook>.ipynb"}} relative to the server root; got path={path!r}')
    root = Path(root).expanduser().resolve()  # JupyterHub's notebook_dir may be "~/..."
    target = (root / path).resolve()
    if Path(path).is_absolute() or not target.is_relative_to(root):
        raise PathRefused(f"{path!r} is outside the server's folder; expected a path relative to it", 403)
    if target.suffix != ".ipynb":
        raise PathRefused(f"only notebooks can be validated: expected a .ipynb file, got {path!r}")
    if not target.is_file():
        raise PathRefused(f"no notebook {path!r} in the server's folder", 404)
    return target


class _KeepingValidator(Validator):
    """nbgrader's Validator, keeping the notebook it ran (None when nothing ran)."""

    executed: NotebookNode | None = None

    def _preprocess(self, nb: NotebookNode) -> NotebookNode:
        self.executed = super()._preprocess(nb)
        return self.executed


def nbgrader_config() -> Config:
    """The configuration nbgrader's Validate uses: Jupyter's config folders and the current one."""
    app = NbGrader()
    app.load_config_file()
    return app.config


def validate(notebook: Path, config: Config | None = None) -> dict[str, Any]:
    """Run ``notebook`` as nbgrader's Validate does, with the course's hooks whatever the
    configuration (each test cell watched for delegation, as the grader watches it; the messages
    rewritten); the points of every exercise (see module doc)."""
    config = nbgrader_config() if config is None else config
    validation.configure(config)
    validator = _KeepingValidator(config=config)
    found = validator.validate(str(notebook))
    results = validation.exercise_results(validator.executed.cells) if validator.executed is not None else {}
    checks = []
    if found.get("type_changed"):
        cells = found["type_changed"]
        checks.append(
            {
                "warning": validator.type_changed_warning.format(num_changed=len(cells)).strip(),
                "cells": [
                    f"The following {c['old_type']} cell has changed to a {c['new_type']} cell:\n\n{c['source']}"
                    for c in cells
                ],
            }
        )
    if found.get("changed"):
        cells = found["changed"]
        checks.append(
            {
                "warning": validator.changed_warning.format(num_changed=len(cells)).strip(),
                "cells": [c["source"] for c in cells],
            }
        )
    earned = sum(e for e, _, _ in results.values())
    possible = sum(p for _, p, _ in results.values())
    return {
        "notebook": Path(notebook).name,
        "exercises": [
            {"exercise": name, "earned": e, "possible": p, "message": why} for name, (e, p, why) in results.items()
        ],
        "earned": earned,
        "possible": possible,
        "passed": earned == possible and not checks and validator.executed is not None,
        "checks": checks,
    }


async def validate_in_child(notebook: Path) -> dict[str, Any]:
    """:func:`validate` in a child process (nbgrader changes the working folder and environment
    while it runs); raises RuntimeError with the child's last words when it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, str(notebook), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await child.communicate()
    try:
        reply = json.loads(out.decode())
    except ValueError:
        reply = {
            "error": err.decode(errors="replace").strip()[-2000:] or f"the validation exited with {child.returncode}"
        }
    if child.returncode or "error" in reply:
        raise RuntimeError(reply.get("error", "the validation failed"))
    return reply


class ValidateHandler(APIHandler):
    """``POST /flowlib/validate`` ``{"path": ...}``: the points of every exercise, as JSON."""

    running = asyncio.Lock()  # one validation at a time, as nbgrader's Validate

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.get_json_body() or {}
        try:
            target = notebook_path(
                Path(self.settings["server_root_dir"]), body.get("path") if isinstance(body, dict) else None
            )
        except PathRefused as refused:
            self.set_status(refused.status)
            self.finish({"error": str(refused)})
            return
        started = time.monotonic()
        async with self.running:
            try:
                result = await validate_in_child(target)
            except RuntimeError as error:
                self.log.error("flowlib validate: %s failed: %s", body["path"], error)
                self.set_status(500)
                self.finish({"error": str(error)})
                return
        self.log.info(
            "flowlib validate: %s: %g of %g point(s) in %.1f s",
            body["path"],
            result["earned"],
            result["possible"],
            time.monotonic() - started,
        )
        self.finish(result)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    web_app.add_handlers(".*$", [(url_path_join(web_app.settings["base_url"], ROUTE), ValidateHandler)])


def main(argv: list[str]) -> int:
    """``python -m flowlib.course.lab_validate PATH``: the result as JSON on stdout."""
    if len(argv) != 1:
        print(json.dumps({"error": f"expected one notebook path, got {argv}"}))
        return 2
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
            result = validate(Path(argv[0]))
    except Exception as error:  # a notebook that cannot be read, nbgrader's metadata errors, ...
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
