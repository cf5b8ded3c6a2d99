"""Known-wrong answers lose points on the right tests, with a message that teaches.

Runs in-process through :func:`flowlib.grading.score_notebook` (the same path the
self-assessment uses to score a learner's visible tests), so every case takes a second,
not a notebook execution.
"""

import importlib
import pkgutil
from pathlib import Path

import pytest

import tests.wrong_answers as gallery
from flowlib.grading import score_notebook

ROOT = Path(__file__).resolve().parents[1]


def _cases():
    for module in sorted(pkgutil.iter_modules(gallery.__path__), key=lambda m: m.name):
        lesson_cases = importlib.import_module(f"{gallery.__name__}.{module.name}").CASES
        for index, case in enumerate(lesson_cases):
            yield pytest.param(case, id=f"{module.name}-{index}-{case.answer_id}")


def _solution(grade_id: str) -> Path:
    number = grade_id[:2]
    matches = sorted((ROOT / "solutions").glob(f"{number}_*/{number}_*.ipynb"))
    assert len(matches) == 1, f"expected one solution notebook for lesson {number}, found {matches}"
    return matches[0]


@pytest.mark.parametrize("case", list(_cases()))
def test_wrong_answer_loses_the_right_points(case):
    results = score_notebook(_solution(case.answer_id), replace={case.answer_id: case.source})
    for grade_id in [*case.fails, *case.passes]:
        assert grade_id in results, f"no test cell {grade_id}; the notebook has {sorted(results)}"
    still_passing = [g for g in case.fails if results[g].passed]
    assert not still_passing, f"{case.answer_id}: these tests should catch the mistake but pass: {still_passing}"
    wrongly_failing = {g: results[g].message for g in case.passes if not results[g].passed}
    assert not wrongly_failing, f"{case.answer_id}: these tests should still pass: {wrongly_failing}"
    messages = [results[g].message for g in case.fails]
    assert any(case.message in m for m in messages), f"no failure message mentions {case.message!r}: {messages}"


@pytest.mark.parametrize("notebook", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_solutions_pass_every_test_in_process(notebook):
    failing = {g: r.message for g, r in score_notebook(notebook).items() if not r.passed}
    assert not failing, f"{notebook.name}: the reference answers fail {failing}"
