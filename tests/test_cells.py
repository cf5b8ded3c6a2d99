"""The cell vocabulary (flowlib.cells): one reading of a cell for the learner's check and the grader."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

from flowlib.cells import HIDDEN_BLOCK, HIDDEN_TESTS, NOT_ANSWERED, cell_role, cell_source, nbgrader_meta, undefined
from flowlib.course.grader import testcell
from flowlib.grading import score_notebook
from tests.scratch import nbgrader_cell

ROOT = Path(__file__).resolve().parents[1]


def test_a_cells_source_is_one_string_whether_stored_as_lines_or_text():
    assert cell_source({"source": ["a = 1\n", "b = 2"]}) == "a = 1\nb = 2" == cell_source({"source": "a = 1\nb = 2"})
    assert cell_source({}) == ""


@pytest.mark.parametrize("metadata", [None, {}, {"nbgrader": None}, {"nbgrader": "x"}, [1]])
def test_a_cell_without_readable_nbgrader_metadata_has_none(metadata):
    cell = {"cell_type": "code", "metadata": metadata, "source": ""}
    assert nbgrader_meta(cell) == {} and cell_role(cell) == "course"


def test_each_role_from_the_cell_type_and_the_nbgrader_flags():
    assert cell_role(nbgrader_cell("code", "x = 1", grade_id="a", solution=True)) == "answer"
    assert cell_role(nbgrader_cell("code", "assert x", grade_id="t", grade=True, points=1)) == "test"
    assert cell_role(nbgrader_cell("code", "import numpy")) == "course"
    assert cell_role(nbgrader_cell("code", "y = 2", grade_id="l", locked=True)) == "course"
    assert cell_role(nbgrader_cell("markdown", "why?", grade_id="w", solution=True, grade=True, points=2)) == "manual"
    assert cell_role(nbgrader_cell("markdown", "# A lesson")) == "text"
    assert nbgrader_meta(nbgrader_cell("code", "", grade_id="t", grade=True, points=3))["points"] == 3


@pytest.mark.parametrize(
    "lesson", sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())
)
def test_the_roles_agree_with_nbgraders_own_reading_of_every_course_cell(lesson):
    notebook = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    for cell in notebook.cells:
        code, solution, grade = cell.cell_type == "code", is_solution(cell), is_grade(cell)
        expected = (
            ("answer" if solution else "test" if grade else "course")
            if code
            else ("manual" if solution and grade else "text")
        )
        assert cell_role(cell) == expected, (lesson, cell.get("id"))


def test_hidden_blocks_are_what_the_release_leaves_out():
    """Every test cell of a source notebook, less its hidden blocks, is the released test cell."""
    found = 0
    for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        released = json.loads((ROOT / "notebooks" / source.parent.name / source.name).read_text(encoding="utf-8"))
        as_released = {c.get("id"): cell_source(c) for c in released["cells"] if cell_role(c) == "test"}
        for cell in json.loads(source.read_text(encoding="utf-8"))["cells"]:
            text = cell_source(cell)
            blocks = HIDDEN_BLOCK.findall(text)
            assert len(blocks) == text.count(HIDDEN_TESTS[0]) == text.count(HIDDEN_TESTS[1]), cell.get("id")
            if not blocks:
                continue
            found += len(blocks)
            assert cell_role(cell) == "test" and all(block.strip() for block in blocks), cell.get("id")
            left = [line for line in HIDDEN_BLOCK.sub("", text).splitlines() if line.strip()]
            assert left == [line for line in as_released[cell.get("id")].splitlines() if line.strip()], cell.get("id")
    assert found > 20, found


def test_an_indented_hidden_block_is_found_with_its_lines():
    text = "check(f(1))\n    ### BEGIN HIDDEN TESTS \ncheck(f(2))\ncheck(f(3))\n### END HIDDEN TESTS\ndone()\n"
    (block,) = HIDDEN_BLOCK.findall(text)
    assert block.strip().splitlines() == ["check(f(2))", "check(f(3))"]
    assert testcell.hidden_lines(text) == {2, 3, 4, 5}


def test_the_learners_check_and_the_grader_say_the_same_words(tmp_path):
    """An unanswered exercise and an answer cell not run: ``flowlib check`` (score_notebook, in
    this process) and the grader (testcell.run_test) give the very same message."""
    test = "assert double(2) == 4\n"
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.from_dict(
                nbgrader_cell("code", "def double(x):\n    raise NotImplementedError()", grade_id="ex", solution=True)
            ),
            nbformat.from_dict(nbgrader_cell("code", test, grade_id="ex_test", grade=True, points=1)),
        ]
    )
    path = tmp_path / "lesson.ipynb"
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    unanswered = score_notebook(path)["ex_test"].message
    not_run = score_notebook(path, replace={"ex": "pass"})["ex_test"].message

    def stub(x):
        raise NotImplementedError

    def missing(name):
        raise NameError(name)

    assert unanswered == testcell.run_test(test, "ex_test", {}, lambda name: stub).message == NOT_ANSWERED
    assert (
        not_run == testcell.run_test(test, "ex_test", {}, missing).message == undefined("name 'double' is not defined")
    )
    assert not_run == "name 'double' is not defined: answer and run the exercise cell above this test first"
