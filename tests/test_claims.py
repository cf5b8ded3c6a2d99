"""Every numeric claim of a lesson's prose is recomputed by the notebook itself, in a `claim` cell.

A claim cell is an ordinary code cell tagged ``claim``: it recomputes the numbers the nearby
prose states, prints them and ``assert``s the statement. nbval executes every cell of every
notebook (``make test``), so a change that breaks a claim fails CI there. This file checks the
structure that makes that true: each lesson 01-12 has claim cells, each one asserts, none is a
graded cell (the release must not turn a claim into an exercise), none is allowed to fail
(``raises-exception``), and the released student notebook keeps the same claim cells. A claim about
trained runs rests on a recipe's recorded seeds, which the claims canary re-runs, and its live
run is checked against their range with a stated margin.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS = [
    "01_why_transformers",
    "02_self_attention",
    "03_multi_head_attention_and_positions",
    "04_encoder_decoder",
    "05_variants_bert_gpt_t5",
    "06_flow_pipeline",
    "07_vision_transformers",
    "08_tokenization",
    "09_training_dynamics",
    "10_generation_kv_cache",
    "11_hugging_face",
    "12_fine_tuning",
]


def claim_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text())["cells"]
    return [c for c in cells if "claim" in c["metadata"].get("tags", [])]


def asserts(source: str) -> int:
    lines = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    return sum(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(lines)))


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_checks_its_claims(lesson):
    cells = claim_cells(REPO / "solutions" / lesson / f"{lesson}.ipynb")
    assert cells, f"{lesson}: no cell tagged 'claim'; the numbers its prose states are not checked"
    for cell in cells:
        source = "".join(cell["source"])
        where = f"{lesson}, cell {cell.get('id')}"
        assert cell["cell_type"] == "code", f"{where}: a claim cell must be code"
        assert asserts(source) >= 1, f"{where}: a claim cell must assert its claim"
        assert "print(" in source, f"{where}: a claim cell prints the numbers it checks"
        assert not cell["metadata"].get("nbgrader", {}).get("grade"), f"{where}: a claim cell is not graded"
        assert "raises-exception" not in cell["metadata"].get("tags", []), (
            f"{where}: a claim may not be allowed to fail"
        )
        assert "BEGIN SOLUTION" not in source, f"{where}: a claim cell holds no solution"


@pytest.mark.parametrize("lesson", LESSONS)
def test_released_notebook_keeps_the_claims(lesson):
    solution = claim_cells(REPO / "solutions" / lesson / f"{lesson}.ipynb")
    released = claim_cells(REPO / "notebooks" / lesson / f"{lesson}.ipynb")
    assert [c.get("id") for c in released] == [c.get("id") for c in solution]
    assert ["".join(c["source"]) for c in released] == ["".join(c["source"]) for c in solution]


def test_asserts_counts_real_asserts():
    assert asserts("x = 1\nassert x == 1, 'one'\nfor i in range(2):\n    assert i < 2\n") == 2
    assert asserts("print('assert nothing')\n") == 0


def recorded_seeds_read_by(lesson: str) -> set[str]:
    """The ``checkpoints/*_seeds.json`` files (recorded seeds of a recipe) that a lesson's code reads."""
    cells = json.loads((REPO / "solutions" / lesson / f"{lesson}.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return set(re.findall(r"(\w+_seeds)\.json", code))


@pytest.mark.parametrize("lesson", [lesson for lesson in LESSONS if recorded_seeds_read_by(lesson)])
def test_claims_on_trained_runs_compare_with_the_recorded_range(lesson):
    """A lesson whose claims rest on a recipe's recorded seeds reads at least 8 of them (or a stated
    budget), the claims canary re-runs that recipe (it has CLAIMS), and its claim cells check the
    live run against the recorded range with a stated margin (a name with MARGIN in it), not
    against one recorded value."""
    for name in recorded_seeds_read_by(lesson):
        record = json.loads((REPO / "checkpoints" / f"{name}.json").read_text())
        assert len(record.get("seeds", {})) >= 8 or "budget" in record, (
            f"{name}.json: fewer than 8 seeds and no stated budget"
        )
        recipes = [
            p
            for p in (REPO / "recipes").glob("*.py")
            if "CLAIMS" in p.read_text()
            and (p.stem == name or f'NAME = "{name.removesuffix("_seeds")}"' in p.read_text())
        ]
        assert recipes, f"{name}.json: no recipe with CLAIMS records it, so `make claims` cannot re-run it"
    sources = ["".join(c["source"]) for c in claim_cells(REPO / "solutions" / lesson / f"{lesson}.ipynb")]
    assert any("MARGIN" in source for source in sources), f"{lesson}: no claim cell states the margin of its live run"
