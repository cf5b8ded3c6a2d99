"""Where the self-assessment's files are: the learner's course folder, its ratings file, the objectives."""

from __future__ import annotations

import os
from pathlib import Path

from flowlib.course import layout

COURSE_ENV = "FLOWLIB_COURSE_DIR"
OBJECTIVES_ENV = "FLOWLIB_OBJECTIVES"
RATINGS_FILE = Path(layout.STATE) / "ratings.jsonl"
_REPO_OBJECTIVES = layout.INSTALLED / "self_assessment" / "objectives.json"


def course_dir(start: Path | str | None = None) -> Path:
    """The learner's course folder, where ``.flowlib/ratings.jsonl`` lives.

    1. ``$FLOWLIB_COURSE_DIR`` when set;
    2. else the first of ``start`` (default: the current folder) and its parents that holds
       ``nbgrader_config.py`` or a ``.flowlib`` folder;
    3. else the parent of ``start`` when ``start`` is a lesson folder (``NN_slug``), as
       nbgrader's ``fetch_assignment`` lays lessons out;
    4. else ``start`` itself.
    """
    env = os.environ.get(COURSE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    here = Path(start if start is not None else os.getcwd()).expanduser().resolve()
    found = layout.find_course(here, or_state=True)
    if found is not None:
        return found
    if layout.is_lesson(here.name):
        return here.parent
    return here


def ratings_path(course: Path | str | None = None) -> Path:
    """``<course>/.flowlib/ratings.jsonl`` (``course`` defaults to :func:`course_dir`)."""
    return (Path(course).expanduser().resolve() if course is not None else course_dir()) / RATINGS_FILE


def objectives_path(course: Path | str | None = None) -> Path:
    """Where the objectives data file is read from.

    ``$FLOWLIB_OBJECTIVES`` if set, else ``<course>/self_assessment/objectives.json`` if it
    exists, else the copy next to this package (the course repository).
    """
    env = os.environ.get(OBJECTIVES_ENV)
    if env:
        return Path(env).expanduser()
    try:
        candidate = (Path(course) if course is not None else course_dir()) / "self_assessment" / "objectives.json"
        if candidate.is_file():
            return candidate
    except OSError:
        pass
    return _REPO_OBJECTIVES
