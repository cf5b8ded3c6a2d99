"""The course's own step of nbgrader's release (``nbgrader_config.py`` names it).

Kept apart from :mod:`flowlib.course.instructor` so the ``flowlib`` command starts without
importing nbconvert.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from flowlib.cells import cell_role

ALLOWED_TO_FAIL = "raises-exception"  # nbval: this cell may raise


class TagExerciseCells(Preprocessor):
    """nbgrader release step: let the student's exercise cells, and only those, fail.

    An unanswered answer cell raises ``NotImplementedError`` and its test cells fail with it.
    Tagging those cells ``raises-exception`` lets nbval run the rest of a fresh student
    notebook, which must pass: later cells use flowlib, never the learner's answer.
    """

    enabled = Bool(True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell_role(cell) in ("answer", "test"):
            tags = cell.metadata.setdefault("tags", [])
            if ALLOWED_TO_FAIL not in tags:
                tags.append(ALLOWED_TO_FAIL)
        return cell, resources
