"""A course notebook's new version merged into a learner's copy, cell by cell, matched by cell id.

``base`` is ``{cell id: sha256 of its source}`` as the course shipped the version the learner
started from (the edition's manifest); comparing with it tells the learner's edits from the course's:

* a cell the learner did not touch takes the course's new version (its outputs are kept when
  the course did not change it);
* a cell the learner edited stays as it is; when the course changed it too, the course's new
  version arrives right below it in a marked markdown cell (:func:`course_note`), which never runs;
* a cell the learner deleted stays deleted; when the course changed it, its new text is
  returned for the report (:attr:`Merged.deleted`);
* a cell the learner added stays after the cell it followed; a new cell of the course arrives
  in its place; a cell the course removed goes only if the learner had not edited it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from flowlib.cells import cell_source
from flowlib.course.edition import sha256

NOTE_TAG = "course-update"  # the tag of a note holding the course's new version of an edited cell


@dataclass
class Merged:
    """The merged notebook and what the merge did."""

    notebook: dict
    kept: list[str] = field(default_factory=list)  # ids of cells both changed: the learner's stays, a note follows
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (id, the course's new text) of deleted cells
    new_cells: int = 0
    updated_cells: int = 0


def _fenced(source: str) -> str:
    """``source`` as a markdown code block, its fence longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}python\n{source}\n{fence}"


def course_note(cell: dict, version: str) -> dict:
    """A markdown cell showing the course's new version of ``cell``, to sit below the learner's
    edited version. Its id depends on the cell and its new text only, so updating twice to the same
    version adds it once."""
    source = cell_source(cell)
    shown = source if cell.get("cell_type") == "markdown" else _fenced(source)
    cell_id = str(cell.get("id", ""))
    return {
        "cell_type": "markdown",
        "id": f"{NOTE_TAG}-{sha256(cell_id + chr(0) + source)[:16]}",
        "metadata": {"tags": [NOTE_TAG], "flowlib": {"update_of": cell_id, "version": version}},
        "source": (
            f"**Course update ({version})**: the course changed the cell above, which you had edited. "
            "Yours stays as it is; the course's new version is below, for you to compare "
            "(delete this note when you are done with it).\n\n---\n\n" + shown
        ),
    }


def _cells_by_id(notebook: dict) -> dict[str, dict]:
    return {str(cell["id"]): cell for cell in notebook.get("cells", []) if cell.get("id")}


def _learners_cells(mine: dict, base: dict[str, str], in_new: set[str]) -> dict[str | None, list[dict]]:
    """The learner's cells the course's new version does not have, each under the id of the
    course cell it followed (``None``: before any); a course cell removed in the new version goes
    when the learner never touched it."""
    anchored: dict[str | None, list[dict]] = {}
    anchor: str | None = None
    for cell in mine.get("cells", []):
        cell_id = str(cell.get("id", "")) or None
        if cell_id in in_new:
            anchor = cell_id
            continue
        if cell_id in base and sha256(cell_source(cell)) == base[cell_id]:
            continue
        anchored.setdefault(anchor, []).append(cell)
    return anchored


def merge_notebook(mine: dict, base: dict[str, str], new: dict, version: str = "") -> Merged:
    """Merge the course's ``new`` version of a notebook into the learner's ``mine`` (neither is changed)."""
    ours = _cells_by_id(mine)
    anchored = _learners_cells(mine, base, {str(cell["id"]) for cell in new["cells"] if cell.get("id")})
    result = Merged({})
    cells = list(anchored.get(None, []))
    for cell in new["cells"]:
        cell_id = str(cell.get("id", ""))
        theirs_hash = sha256(cell_source(cell))
        if cell_id not in ours:
            if cell_id not in base:  # new in the course
                cells.append(copy.deepcopy(cell))
                result.new_cells += 1
            elif theirs_hash != base[cell_id]:  # the learner deleted it, the course changed it: stays deleted
                result.deleted.append((cell_id, cell_source(cell)))
        else:
            own = ours[cell_id]
            own_hash = sha256(cell_source(own))
            if cell_id not in base or own_hash != base[cell_id]:  # the learner edited it
                kept = copy.deepcopy(own)
                if "nbgrader" in cell.get("metadata", {}):  # the course's grading data (ids, points) is the course's
                    kept.setdefault("metadata", {})["nbgrader"] = copy.deepcopy(cell["metadata"]["nbgrader"])
                cells.append(kept)
                if cell_id in base and theirs_hash not in (base[cell_id], own_hash):
                    result.kept.append(cell_id)
                    note = course_note(cell, version)
                    if note["id"] not in ours:
                        cells.append(note)
            elif theirs_hash == base[cell_id]:  # neither changed it: keep the learner's outputs
                kept = copy.deepcopy(own)
                kept["metadata"] = copy.deepcopy(cell.get("metadata", {}))
                cells.append(kept)
            else:  # only the course changed it
                cells.append(copy.deepcopy(cell))
                result.updated_cells += 1
        cells.extend(anchored.get(cell_id, []))
    result.notebook = {
        **copy.deepcopy(new),
        "cells": cells,
        "metadata": {**new.get("metadata", {}), **mine.get("metadata", {})},
    }
    return result
