"""One line of the doctor's report (:class:`Check`), the course folder it checks, and the fix
most failures share: reinstall the pinned environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flowlib.course.layout import INSTALLED

FIX_INSTALL = "run `make install` (or `make lab`) in the course folder to install the pinned environment"


def course_folder() -> Path:
    """The course folder whose pins and checkpoints are checked: the one flowlib was installed
    from (editable, as `make install` does), else the course folder around the current one."""
    if (INSTALLED / "requirements.txt").is_file():
        return INSTALLED
    from flowlib.course.self_assessment import course_dir

    return course_dir()


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, and how to fix it if needed."""

    name: str
    ok: bool
    found: str
    fix: str = ""
