"""The course's layout: where the course folder is, the course's id and which lessons exist.

Every module asks here; nothing else spells these facts. A course folder holds
``nbgrader_config.py``. The instructor's also holds ``solutions/`` (the source notebooks, with
the answer key); every course folder holds ``notebooks/`` (the student notebooks, which the
release makes from ``solutions/``; a student edition has only these)::

    solutions/<lesson>/<lesson>.ipynb
    notebooks/<lesson>/<lesson>.ipynb

The one rule of which lessons exist: a lesson is a folder of ``solutions/`` (the instructor's
commands) or of ``notebooks/`` (what was released; a learner's course) whose name is a lesson
id, ``NN_slug`` (two digits, ``_``, lower-case letters, digits and ``_``), in course order.
The lesson id is also nbgrader's assignment id.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

COURSE_ID = "transformers-course"  # nbgrader's CourseDirectory.course_id (the exchange's folder name)
CONFIG = "nbgrader_config.py"  # what makes a folder a course folder
STATE = ".flowlib"  # the course's own records in a course folder (ratings, release manifest, grader checks)
SOURCE = "solutions"
RELEASED = "notebooks"
LEARNER_JUPYTER_CONFIG = ".jupyter-config"  # a student edition's learner-only Jupyter settings
LESSON_ID = r"\d\d_[a-z0-9_]+"  # e.g. 02_self_attention
LESSON_PATTERN = re.compile(rf"^{LESSON_ID}$")
# The course folder flowlib was installed from (`make install` installs it editable).
INSTALLED = Path(__file__).resolve().parents[2]
GRADEBOOK = "gradebook.db"  # nbgrader's gradebook, in the instructor's course folder
ROSTER = "roster.csv"  # learners' names beside their ids (flowlib.course.grader.roster)


def environment_path() -> str:
    """``PATH`` with this Python environment's bin folder first: nbgrader starts ``alembic`` (and
    the course ``jupyter``) by name, and a command started as ``.venv/bin/flowlib`` or from cron
    has no activated environment on its ``PATH``. Already there: ``PATH`` as it is (a grader that
    opens the gradebook once per submission never grows it)."""
    environment, path = str(Path(sys.executable).parent), os.environ.get("PATH", "")
    if path.split(os.pathsep)[:1] == [environment]:
        return path
    return os.pathsep.join(filter(None, [environment, path]))  # an empty entry would mean the current folder


class CourseError(RuntimeError):
    """The course folder is not what a command needs; the message says what was expected."""


def find_course(start: Path | str = ".", *, or_state: bool = False) -> Path | None:
    """The nearest of ``start`` and its parents holding ``nbgrader_config.py`` (or, with
    ``or_state``, a ``.flowlib`` folder: where a learner's ratings live); ``None`` if none does."""
    here = Path(start).expanduser().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file() or or_state and (folder / STATE).is_dir():
            return folder
    return None


def course_root(start: Path | str = ".") -> Path:
    """The course folder around ``start``; :class:`CourseError` when there is none."""
    found = find_course(start)
    if found is None:
        raise CourseError(f"no {CONFIG} in {Path(start).resolve()} or any parent: run this inside the course folder")
    return found


def is_lesson(name: str) -> bool:
    """Is ``name`` a lesson id (``NN_slug``)?"""
    return bool(LESSON_PATTERN.match(name))


def lessons(root: Path, where: str = SOURCE, *, every_folder: bool = False) -> list[str]:
    """The lessons of the course at ``root``: the lesson-id folders of ``root/<where>``
    (``SOURCE`` or ``RELEASED``), sorted; none when that folder does not exist.

    ``every_folder`` counts every visible folder there, lesson id or not: for a check of
    everything that ships (the student edition), where no folder may slip past unchecked.
    """
    folder = Path(root) / where
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_dir() and (is_lesson(p.name) if not every_folder else not p.name.startswith("."))
    )


def notebook(root: Path, lesson: str, where: str = RELEASED) -> Path:
    """``root/<where>/<lesson>/<lesson>.ipynb``."""
    return Path(root) / where / lesson / f"{lesson}.ipynb"
