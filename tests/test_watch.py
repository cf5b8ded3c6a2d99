"""The learner's check watches what the answer calls, as the grader does (flowlib/watch.py).

A small notebook, in process: one exercise whose twin is ``textwrap.dedent`` (a pure-Python
function, so every call is seen). The test cell calls the twin itself to compute what it expects:
that is the course's call, never evidence. An answer that is the twin, under any disguise the
grader sees through (an alias, a partial, a wrapper, code made by exec, a method of the learner's
class, switching the watch off), scores 0 on every test of its exercise with the grader's message; an honest answer, and
the other exercise, keep their points.
"""

from __future__ import annotations

import nbformat
import pytest

from flowlib.cells import delegated
from flowlib.course.grader.execute import CellRun
from flowlib.course.grader.screen import Flag, PlanCell
from flowlib.course.grader.verdicts import verdicts
from flowlib.grading import score_notebook
from tests.scratch import nbgrader_cell

SETUP = "import functools\nimport textwrap\n"
HONEST = (
    "def unindent(text):\n"
    "    lines = text.splitlines(keepends=True)\n"
    "    cut = min(len(l) - len(l.lstrip()) for l in lines if l.strip())\n"
    "    return ''.join(l[cut:] if l.strip() else l.lstrip(' ') for l in lines)\n"
)
TESTS = (
    "for text in ['  a\\n  b\\n', '    x\\n      y\\n']:\n"
    "    assert unindent(text) == textwrap.dedent(text), unindent(text)\n"  # the test's own call of the twin
)
SECOND = "assert Shout()('hi') == 'HI'\n"


def _notebook(tmp_path, answer: str, shout: str = "class Shout:\n    def __call__(self, s):\n        return s.upper()"):
    setup = nbformat.v4.new_code_cell(SETUP)
    setup["id"] = "x_setup"
    first = nbgrader_cell("code", answer, grade_id="unindent", solution=True)
    first["metadata"]["flowlib"] = {"forbidden": ["textwrap.dedent"]}
    cells = [
        setup,
        nbformat.from_dict(first),
        nbformat.from_dict(nbgrader_cell("code", TESTS, grade_id="unindent_test", grade=True, points=2)),
        nbformat.from_dict(nbgrader_cell("code", TESTS, grade_id="unindent_test_again", grade=True, points=1)),
        nbformat.from_dict(nbgrader_cell("code", shout, grade_id="shout", solution=True)),
        nbformat.from_dict(nbgrader_cell("code", SECOND, grade_id="shout_test", grade=True, points=1)),
    ]
    path = tmp_path / "lesson.ipynb"
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=cells)), encoding="utf-8")
    return path


def test_an_honest_answer_keeps_its_points_though_the_test_calls_the_twin(tmp_path):
    results = score_notebook(_notebook(tmp_path, HONEST))
    assert {g: (r.points, r.message) for g, r in results.items()} == {
        "unindent_test": (2, ""),
        "unindent_test_again": (1, ""),
        "shout_test": (1, ""),
    }


@pytest.mark.parametrize(
    "answer",
    [
        "unindent = textwrap.dedent",
        "unindent = functools.partial(textwrap.dedent)",
        "def unindent(text):\n    return textwrap.dedent(text)",
        "from textwrap import dedent as unindent",
        "exec('def unindent(text):\\n    return textwrap.dedent(text)')",
        "def unindent(text):\n    import sys\n    sys.setprofile(None)\n    return textwrap.dedent(text)",
    ],
    ids=["alias", "partial", "wrapper", "import-as", "exec", "switch-off"],
)
def test_an_answer_that_is_its_twin_scores_0_with_the_graders_words(tmp_path, answer):
    results = score_notebook(_notebook(tmp_path, answer))
    for grade_id in ("unindent_test", "unindent_test_again"):
        assert results[grade_id].points == 0
        assert results[grade_id].message.startswith("no points for this exercise: your answer called "), results
        assert results[grade_id].message.endswith("it scores 0 when graded")
    assert results["shout_test"].passed, results["shout_test"].message


def test_a_learners_class_is_watched_through_its_instances(tmp_path):
    shout = "class Shout:\n    def __call__(self, s):\n        return textwrap.dedent(s).upper()"
    path = _notebook(tmp_path, HONEST, shout)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[4].metadata["flowlib"] = {"forbidden": ["textwrap.dedent"]}
    nbformat.write(notebook, path)
    results = score_notebook(path)
    assert results["shout_test"].message == delegated(["textwrap.dedent"])
    assert results["unindent_test"].passed


def test_the_grader_and_the_check_say_the_same_words():
    """verdicts.py gives the flag's words, which run.py builds with cells.delegated."""
    test = PlanCell(role="test", source="", grade_id="t", exercise="e", points=2.0, cell_id="t")
    flag = Flag("delegation", "e", delegated(["flowlib.positions.sinusoidal_encoding"]))
    (verdict,) = verdicts([test], [CellRun(status="ok")], [flag], [])
    assert (verdict.points, verdict.message) == (0.0, delegated(["flowlib.positions.sinusoidal_encoding"]))
    assert "flowlib.positions.sinusoidal_encoding" in verdict.message and "scores 0 when graded" in verdict.message
