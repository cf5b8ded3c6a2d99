"""The student edition: what learners get, without the answer key.

``flowlib instructor student-edition OUT`` (``make student-edition OUT=...``) writes a folder
that is ready to be its own git repository:

* the released notebooks (``notebooks/``), flowlib, the self-assessment, the checkpoints and
  the recipes that made them, the pins (``requirements.txt``, ``requirements.lock``,
  ``environment.yml``) and the installer;
* the learner's own README, Makefile (``make lab``, ``make test``, ``make update``), nbgrader
  configuration (Validate only) and Jupyter settings (``.jupyter-config/``: no Formgrader, no
  Create Assignment, the Assignment List only when an exchange is configured);
* a manifest (``.flowlib-edition.json``): a hash of every file and of every notebook cell, which
  ``flowlib update`` (:mod:`flowlib.course.update`) uses to tell the learner's edits from the course's.

Never ``solutions/``, hidden tests, instructor tests or the gradebook: files are copied from an
allow-list, and the build fails if any solution, hidden-test or mark-scheme region of
``solutions/`` appears in any file of the result (:func:`find_leaks`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flowlib.cells import HIDDEN_TESTS, cell_role, cell_source
from flowlib.course import layout, released

MANIFEST = ".flowlib-edition.json"
TEMPLATES = "edition"  # in the instructor's repository: the learner's README, Makefile, ...
# What learners get, from the instructor's repository: folders, then single files.
FOLDERS = ("notebooks", "flowlib", "self_assessment", "checkpoints", "recipes", "jupyterlab/validate/labextension")
FILES = (
    "pyproject.toml",
    "requirements.txt",
    "requirements.lock",
    "environment.yml",
    "postBuild",
    "LICENSE",
    "tools/install.sh",
    "jupyterlab/overrides.json",
    "jupyterlab/validate/jupyter_server_config.d/flowlib.course.lab_validate.json",
)
# The learner's own versions, from edition/: template name -> name in the edition.
TEMPLATE_FILES = {
    "README.md": "README.md",
    "Makefile": "Makefile",
    "nbgrader_config.py": "nbgrader_config.py",
    "gitignore": ".gitignore",
    "start": "start",
}
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
MARKERS = (
    ("solution", "### BEGIN SOLUTION", "### END SOLUTION"),
    ("hidden tests", *HIDDEN_TESTS),
    ("mark scheme", "=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ==="),
)
# nbgrader's JupyterLab plugins the learner does not get (the course's own Validate button replaces nbgrader's)
NBGRADER_PLUGINS = ("formgrader", "create-assignment", "course-list", "assignment-list", "menu", "validate-assignment")
# Known hits of the answer key that are not an answer given away, each with its reason:
# {(solution cell id, file, sha256 of the region's text, first 16 digits): why}. Every build and the tests report them; once the
# solution (or the other file) is reworded, delete the entry (the tests say when one is stale).
KNOWN_OVERLAPS: dict[tuple[str, str, str], str] = {}


class EditionError(RuntimeError):
    """The student edition could not be built (or updated); the message says why."""


# --- the answer key: every region a learner must never see ---------------------------------


@dataclass(frozen=True)
class Region:
    """One solution, hidden-test or mark-scheme region of a solution notebook."""

    notebook: str
    cell_id: str
    kind: str
    text: str  # whitespace-normalised

    def __str__(self) -> str:
        return f"{self.kind} of cell {self.cell_id} in {self.notebook}"

    def key(self, file: str) -> tuple[str, str, str]:
        """How :data:`KNOWN_OVERLAPS` names this region found in ``file`` (no answer text in it)."""
        return self.cell_id, file, hashlib.sha256(self.text.encode()).hexdigest()[:16]


def _normalise(text: str) -> str:
    return " ".join(text.split())


def answer_key(solutions: Path) -> list[Region]:
    """Every solution, hidden-test and mark-scheme region of every notebook under ``solutions``;
    a written-answer (markdown solution) cell without markers is one region as a whole."""
    regions = []
    for notebook in sorted(Path(solutions).rglob("*.ipynb")):
        if released.CHECKPOINTS in notebook.parts:
            continue
        name = notebook.relative_to(solutions).as_posix()
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            source, cell_id = cell_source(cell), str(cell.get("id", "?"))
            marked = False
            for kind, begin, end in MARKERS:
                for body in re.findall(re.escape(begin) + r"(.*?)" + re.escape(end), source, re.S):
                    marked = True
                    if _normalise(body):
                        regions.append(Region(name, cell_id, kind, _normalise(body)))
            if cell_role(cell) == "manual" and not marked and _normalise(source):
                regions.append(Region(name, cell_id, "written answer", _normalise(source)))
    return regions


def _searchable(path: Path) -> str:
    """A file's text, whitespace-normalised; for a notebook, also its cells' sources and outputs
    as a learner sees them (JSON escapes undone)."""
    data = path.read_bytes()
    texts = [data.decode("utf-8", errors="replace") if b"\0" not in data[:4096] else data.decode("latin-1")]
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(data)["cells"]
        except (ValueError, KeyError, TypeError):
            cells = []
        for cell in cells:
            texts.append(cell_source(cell))
            for output in cell.get("outputs", []):
                texts.append(json.dumps(output, ensure_ascii=False))
                for value in [output.get("text", ""), *output.get("data", {}).values()]:
                    texts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(_normalise(text) for text in texts)


def files_of(folder: Path) -> Iterator[Path]:
    """Every file of ``folder``, its ``.git`` aside."""
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(folder).parts:
            yield path


def find_leaks(folder: Path, regions: Iterable[Region]) -> list[tuple[str, Region]]:
    """``(file, region)`` for every region of the answer key found in any file of ``folder``."""
    regions = list(regions)
    leaks: list[tuple[str, Region]] = []
    for path in files_of(folder):
        text = _searchable(path)
        leaks.extend((path.relative_to(folder).as_posix(), region) for region in regions if region.text in text)
    return leaks


def unexpected_leaks(folder: Path, solutions: Path) -> list[tuple[str, Region]]:
    """:func:`find_leaks` less the :data:`KNOWN_OVERLAPS`."""
    return [
        (file, region)
        for file, region in find_leaks(folder, answer_key(solutions))
        if region.key(file) not in KNOWN_OVERLAPS
    ]


# --- the manifest: what this edition holds, file by file and cell by cell -------------------


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def cell_hashes(notebook: dict) -> dict[str, str]:
    """``{cell id: sha256 of its source}``."""
    return {str(cell["id"]): sha256(cell_source(cell)) for cell in notebook.get("cells", []) if cell.get("id")}


def manifest_of(folder: Path, version: str) -> dict:
    """The manifest of an edition folder (every file but the manifest, ``.git`` and learner state)."""
    files, cells = {}, {}
    for path in files_of(folder):
        relative = path.relative_to(folder).as_posix()
        if relative == MANIFEST:
            continue
        files[relative] = sha256(path.read_bytes())
        if path.suffix == ".ipynb":
            cells[relative] = cell_hashes(json.loads(path.read_text(encoding="utf-8")))
    return {
        "edition": 1,
        "version": version,
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": files,
        "cells": cells,
    }


def write_manifest(folder: Path, version: str) -> Path:
    path = Path(folder) / MANIFEST
    path.write_text(json.dumps(manifest_of(folder, version), indent=1, sort_keys=True) + "\n")
    return path


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise EditionError(f"{folder} is not a student edition of the course (no {MANIFEST})") from None
    except ValueError as error:
        raise EditionError(f"{path} is not valid JSON ({error})") from None


# --- building it ------------------------------------------------------------------------------


def _course_version(root: Path) -> str:
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=root, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return described.stdout.strip() if described.returncode == 0 and described.stdout.strip() else "unknown"


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _wanted(path: Path, base: Path) -> bool:
    parts = path.relative_to(base).parts
    return not (SKIPPED_PARTS & set(parts)) and path.suffix not in SKIPPED_SUFFIXES and path.is_file()


def jupyter_settings(exchange: str | None) -> dict[str, dict]:
    """The learner's Jupyter settings: ``{relative path: JSON}`` under ``.jupyter-config/``."""
    listed = bool(exchange)
    server = {
        "nbgrader.server_extensions.validate_assignment": True,
        "flowlib.course.lab_validate": True,  # the course's Validate button (points per exercise)
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
        "nbgrader.server_extensions.assignment_list": listed,
    }
    off = {
        f"@jupyter/nbgrader:{plugin}": True
        for plugin in NBGRADER_PLUGINS
        if not (listed and plugin in ("assignment-list", "menu"))
    }
    return {
        "jupyter_server_config.json": {"ServerApp": {"jpserver_extensions": server}},
        "labconfig/page_config.json": {"disabledExtensions": off},
    }


def build(root: Path, out: Path, exchange: str | None = None, *, check_answer_key: bool = True) -> Path:
    """Write the student edition of the course at ``root`` into ``out``; return ``out``.

    ``out`` must be empty, missing, or an earlier student edition (rebuilt in place, its
    ``.git`` kept, so the edition's repository gets the new version as one commit).
    Refuses when a student notebook in ``notebooks/`` is not what the release made (a learner's
    edits must not ship), and when any region of the answer key would be in the result (tests
    may skip that check with ``check_answer_key=False`` and run :func:`find_leaks` themselves).
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    if out == root or root in out.parents and out.relative_to(root).parts[0] != "build":
        raise EditionError(f"write the student edition outside the course folder (or under build/), not into {out}")
    if out.exists() and any(p.name != ".git" for p in out.iterdir()) and not (out / MANIFEST).is_file():
        raise EditionError(f"{out} already holds files that are not a student edition; choose an empty or new folder")
    lessons = layout.lessons(root, layout.RELEASED, every_folder=True)  # every folder that ships is checked
    changed = released.changes(root, lessons)
    if changed:
        listed = "; ".join(f"{c.path} ({c.why})" for c in changed)
        raise EditionError(
            f"notebooks/ is not what the release made, so it cannot ship: {listed}. Run `make release` (FORCE=1 keeps a copy)."
        )
    templates = root / TEMPLATES
    missing = [name for name in TEMPLATE_FILES if not (templates / name).is_file()]
    if missing:
        raise EditionError(f"the learner's files are missing from {templates}: {missing}")

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for folder in FOLDERS:
            for path in sorted((root / folder).rglob("*")):
                if _wanted(path, root / folder):
                    _copy_file(path, staging / path.relative_to(root))
        for name in FILES:
            if (root / name).is_file():
                _copy_file(root / name, staging / name)
        for name, target in TEMPLATE_FILES.items():
            _copy_file(templates / name, staging / target)
        for executable in ("start", "postBuild", "tools/install.sh"):
            if (staging / executable).is_file():
                (staging / executable).chmod(0o755)
        config = staging / "nbgrader_config.py"
        config.write_text(config.read_text().replace("EXCHANGE_ROOT = None", f"EXCHANGE_ROOT = {exchange!r}"))
        for name, settings in jupyter_settings(exchange).items():
            settings_file = staging / layout.LEARNER_JUPYTER_CONFIG / name
            settings_file.parent.mkdir(parents=True, exist_ok=True)
            settings_file.write_text(json.dumps(settings, indent=2) + "\n")
        leaks = unexpected_leaks(staging, root / "solutions") if check_answer_key else []
        if leaks:
            shown = "; ".join(f"{region} in {file}" for file, region in leaks[:10])
            raise EditionError(f"the student edition would contain the answer key ({len(leaks)} hit(s)): {shown}")
        write_manifest(staging, _course_version(root))
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            if old.name != ".git":
                shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
        for new in staging.iterdir():
            shutil.move(str(new), out / new.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def summary(out: Path) -> str:
    manifest = read_manifest(out)
    notebooks = sorted(path for path in manifest["cells"] if path.startswith("notebooks/"))
    known = "; ".join(
        f"{file} holds a line of the solution of {cell} ({why})"
        for (cell, file, _), why in sorted(KNOWN_OVERLAPS.items())
    )
    return (
        f"student edition {manifest['version']} in {out}: {len(manifest['files'])} files, "
        f"{len(notebooks)} lesson notebooks; no solutions, hidden tests or gradebook.\n"
        + (
            f"known overlaps with the answer key (see flowlib.course.edition.KNOWN_OVERLAPS): {known}\n"
            if known
            else ""
        )
        + f"To publish it: cd {out} && git init -b main && git add -A && git commit -m 'Course {manifest['version']}'"
        " (after a rebuild: git add -A && git commit)"
    )
