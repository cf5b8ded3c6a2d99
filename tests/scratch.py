"""A scratch course for grading tests (chosen lessons' solutions and config, released), and
notebook cells as nbgrader writes them."""

import shutil
from pathlib import Path

from flowlib.course import instructor, layout

ROOT = Path(__file__).resolve().parents[1]


def scratch_course(root: Path, *lessons: str) -> Path:
    """``root`` holding ``solutions/<lesson>`` and ``nbgrader_config.py``, each lesson released."""
    for lesson in lessons:
        shutil.copytree(ROOT / "solutions" / lesson, root / "solutions" / lesson)
    shutil.copy2(ROOT / "nbgrader_config.py", root)
    instructor.release(root, list(lessons))
    return root


def released_course(root: Path) -> Path:
    """``root`` holding the released notebooks, the config and an empty folder per lesson in
    ``solutions/``: enough to import and find submissions, nothing to grade."""
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for lesson in layout.lessons(ROOT):
        (root / "solutions" / lesson).mkdir(parents=True)
    return root


def nbgrader_cell(kind: str, source: str | list[str], **nbgrader: object) -> dict:
    """A ``kind`` ("code" or "markdown") cell; given nbgrader flags (``grade_id=..., grade=True``),
    their metadata as nbgrader's schema 3 writes it."""
    cell: dict = {"cell_type": kind, "metadata": {}, "source": source, "id": str(nbgrader.get("grade_id", "x"))}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    if nbgrader:
        cell["metadata"]["nbgrader"] = {
            "schema_version": 3,
            "solution": False,
            "grade": False,
            "locked": False,
            "task": False,
            **nbgrader,
        }
    return cell
