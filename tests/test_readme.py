"""The READMEs count what is there: the number of notebooks they name is the number of lessons,
and the course README's table has a row for each lesson."""

import re
from pathlib import Path

import pytest

from flowlib.course import layout

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}


@pytest.mark.parametrize("readme", ["README.md", "edition/README.md"])
def test_the_readme_counts_the_lessons(readme):
    lessons = layout.lessons(ROOT)
    said = re.search(r"(\w+) short notebooks \((\d\d) to (\d\d)\)", (ROOT / readme).read_text())
    assert said, f"{readme} no longer says how many notebooks there are"
    assert NUMBERS[said.group(1).lower()] == len(lessons), f"{readme} says {said.group(1)}; there are {len(lessons)}"
    assert (said.group(2), said.group(3)) == (lessons[0][:2], lessons[-1][:2])


def test_the_course_readme_has_a_row_per_lesson():
    rows = re.findall(r"^\| (\d\d) \|", (ROOT / "README.md").read_text(), flags=re.M)
    assert rows == [lesson[:2] for lesson in layout.lessons(ROOT)]
