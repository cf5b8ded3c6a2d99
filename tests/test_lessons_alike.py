"""Every lesson reads alike: its exercises are numbered N.1, N.2, ... (N the lesson's number), each
graded item says its points and they are the points its cells earn, and a cell named hidden has
hidden tests. Derived from the solution notebooks, so text and metadata cannot drift apart."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from flowlib.cells import HIDDEN_BLOCK, cell_role, cell_source, nbgrader_meta
from flowlib.course import layout

ROOT = Path(__file__).resolve().parent.parent
LESSONS = layout.lessons(ROOT)
# The line that starts a graded item: "**Exercise 2.1 (2 points).**", "### Exercise 5.1 (3 points): ...",
# "**Quick check (1 point).**", "**Written answer (2 points, graded by hand).**", "**Action item (written, 2 points).**"
ITEM = re.compile(
    r"^(?:#+ |\*\*)(?:Exercise (?P<lesson>\d+)\.(?P<number>\d+)|Quick check|Written answer|Action item)"
    r"[^\n(]*\((?:written, )?(?P<points>\d+) points?\b.*$",
    re.M,
)
# Any line that starts an exercise with a number (a section heading "## 4. Exercise 3: ..." included)
EXERCISE_START = re.compile(r"^(?:#+ (?:\d+\. )?|\*\*)Exercise \d.*$", re.M)


def lesson_cells(lesson: str) -> list[dict[str, Any]]:
    notebook = ROOT / layout.SOURCE / lesson / f"{lesson}.ipynb"
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def graded_items(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The graded items in order: the line that starts each, its exercise number ``(lesson, k)``
    (None for a quick check, written answer or action item), the points it writes and the points of
    the graded cells that follow it, by grade id."""
    items: list[dict[str, Any]] = []
    for cell in cells:
        role = cell_role(cell)
        if role == "text":
            text = cell_source(cell)
            found = list(ITEM.finditer(text))
            unnumbered = {m.group(0) for m in EXERCISE_START.finditer(text)} - {m.group(0) for m in found}
            assert not unnumbered, f"an exercise without its number N.k and points: {sorted(unnumbered)}"
            for match in found:
                number = match.group("number") and (int(match.group("lesson")), int(match.group("number")))
                items.append({"line": match.group(0), "number": number, "written": int(match.group("points"))})
                items[-1]["cells"] = {}
        elif role in ("test", "manual"):
            meta = nbgrader_meta(cell)
            assert items, f"graded cell {meta.get('grade_id')} comes before any exercise's heading"
            items[-1]["cells"][meta["grade_id"]] = meta["points"]
    return items


def points_that_differ(items: list[dict[str, Any]]) -> list[str]:
    """Each item whose written points are not the sum of its cells' points (or that has no graded cell)."""
    return [
        f"{item['line']!r} says {item['written']}; its cells earn {item['cells']}"
        for item in items
        if not item["cells"] or item["written"] != sum(item["cells"].values())
    ]


@pytest.mark.parametrize("lesson", LESSONS)
def test_exercises_are_numbered_lesson_dot_one_two_three(lesson):
    numbers = [item["number"] for item in graded_items(lesson_cells(lesson)) if item["number"]]
    assert numbers, f"{lesson} has no numbered exercise"
    assert numbers == [(int(lesson[:2]), k) for k in range(1, len(numbers) + 1)], numbers


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_item_says_the_points_its_cells_earn(lesson):
    assert points_that_differ(graded_items(lesson_cells(lesson))) == []


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_cell_named_hidden_has_hidden_tests(lesson):
    for cell in (c for c in lesson_cells(lesson) if c["cell_type"] == "code"):  # "05_hidden_md" is about hidden states
        names = {cell.get("id") or "", str(nbgrader_meta(cell).get("grade_id", ""))}
        if any("hidden" in name for name in names):
            blocks = HIDDEN_BLOCK.findall(cell_source(cell))
            assert blocks and all(b.strip() for b in blocks), f"{lesson}: {names} is named hidden but hides nothing"


def _cells(heading: str, *points: int) -> list[dict[str, Any]]:
    tests = [
        {"cell_type": "code", "source": "", "metadata": {"nbgrader": {"grade": True, "grade_id": f"t{i}", "points": p}}}
        for i, p in enumerate(points)
    ]
    return [{"cell_type": "markdown", "source": heading, "metadata": {}}, *tests]


def test_the_checks_catch_what_they_are_for():
    with pytest.raises(AssertionError, match="without its number N.k and points"):
        graded_items(_cells("### Exercise 4.1: no points written\n", 1))
    with pytest.raises(AssertionError, match="without its number N.k and points"):
        graded_items(_cells("## 2. Exercise 2: a number that is not N.k (2 points)\n", 2))
    with pytest.raises(AssertionError, match="before any exercise"):
        graded_items(_cells("## Some text\n", 1))
    (differs,) = points_that_differ(graded_items(_cells("**Exercise 4.1 (3 points).** Write f.\n", 1, 1)))
    assert "says 3" in differs and "'t1': 1" in differs
    items = graded_items(_cells("**Exercise 4.1 (written, 2 points).** Write.\n\n**Quick check (1 point).**\n", 1))
    assert [item["number"] for item in items] == [(4, 1), None] and points_that_differ(items)  # 4.1 earns nothing
    assert points_that_differ(graded_items(_cells("### Exercise 4.2 (3 points): g\n", 1, 2))) == []
