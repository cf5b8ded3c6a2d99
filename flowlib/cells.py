"""A notebook cell as the course reads it: one vocabulary for ``flowlib check`` and the grader.

A cell is a dict of nbformat 4 JSON (or an nbformat node). The course reads four things of it:

* its **source**, as one string (:func:`cell_source`; nbformat stores a string or a list of lines);
* its **nbgrader metadata** (:func:`nbgrader_meta`): ``grade_id``, ``points``, and the flags
  ``solution`` (the learner writes this cell) and ``grade`` (it earns points);
* its **role**, decided from those flags (:func:`cell_role`): ``answer``, ``test``, ``course``,
  ``manual`` or ``text``. The grader adds one more for what it runs: ``learner``, a cell the
  learner added (:class:`flowlib.course.grader.screen.PlanCell`);
* its **hidden tests**: the lines of a test cell between :data:`HIDDEN_TESTS`' two markers, which
  the released notebook leaves out and no message may echo (:data:`HIDDEN_BLOCK`).

And the words a learner reads when a test cell fails because its exercise is not answered
(:data:`NOT_ANSWERED`) or its answer cell has not run (:func:`undefined`), or when the answer
called what the exercise asks the learner to write (:func:`delegated`): the same in the learner's
own check (:func:`flowlib.grading.score_notebook`, ``flowlib check``, Validate) and in the grade
(:mod:`flowlib.course.grader.testcell`, :mod:`flowlib.course.grader.verdicts`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

HIDDEN_TESTS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
# one hidden-test block: its lines between the two marker lines (group 1)
HIDDEN_BLOCK = re.compile(
    rf"^[ \t]*{re.escape(HIDDEN_TESTS[0])}[ \t]*$(.*?)^[ \t]*{re.escape(HIDDEN_TESTS[1])}[ \t]*$", re.S | re.M
)
NOT_ANSWERED = "the exercise is not answered yet (the answer cell still raises NotImplementedError)"


def undefined(error_text: str) -> str:
    """A failed test's message for a name it could not find (``error_text``: the NameError's own
    words, such as ``name 'attention' is not defined``)."""
    return f"{error_text}: answer and run the exercise cell above this test first"


def delegated(evidence: Iterable[str]) -> str:
    """The verdict on an exercise whose answer called, while its tests ran, what the exercise asks
    the learner to write (``evidence``: the functions called, as :mod:`flowlib.watch` names them)."""
    called = ", ".join(dict.fromkeys(evidence))
    return (
        f"no points for this exercise: your answer called {called} while the tests ran it, "
        "which this exercise asks you to write yourself; it scores 0 when graded"
    )


def cell_source(cell: Mapping[str, Any]) -> str:
    """The cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def nbgrader_meta(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    """The cell's ``metadata.nbgrader`` (empty when it has none, or when what is there is not a mapping)."""
    metadata = cell.get("metadata")
    info = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return info if isinstance(info, Mapping) else {}


def cell_role(cell: Mapping[str, Any]) -> str:
    """What the cell is for, from its type and nbgrader flags:

    * ``answer``: a code cell the learner writes (``solution``);
    * ``test``: a code cell that earns points (``grade``, not ``solution``);
    * ``course``: any other code cell;
    * ``manual``: a written answer, graded by a person (markdown, ``solution`` and ``grade``);
    * ``text``: any other cell.
    """
    info = nbgrader_meta(cell)
    if cell.get("cell_type") != "code":
        return "manual" if info.get("grade") and info.get("solution") else "text"
    if info.get("solution"):
        return "answer"
    return "test" if info.get("grade") else "course"
