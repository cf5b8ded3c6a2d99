"""`flowlib update` on a small edition: every case where the learner and the course both touched
a lesson. The update never drops the course's new content silently, never brings back what the
learner removed, and never loses a line the learner wrote.

Each test builds edition v1 (one lesson, a few cells), a learner's folder made from it and
worked in, and edition v2; then applies v2 and reads the learner's files and the report.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flowlib.cells import cell_source
from flowlib.course import edition, update
from flowlib.course.merge import NOTE_TAG

LESSON = "notebooks/08_tokenization/08_tokenization.ipynb"
RENAMED = "notebooks/08_tokenization/my_tokenization.ipynb"


def _notebook(*cells: tuple[str, str, str]) -> dict:
    return {
        "cells": [
            {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
            | ({"outputs": [], "execution_count": None} if kind == "code" else {})
            for cell_id, kind, source in cells
        ],
        "metadata": {"kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


V1 = _notebook(
    ("intro", "markdown", "# Tokenization\n\nSplitting text into pieces."),
    ("setup", "code", "import flowlib"),
    ("bpe-text", "markdown", "Byte-pair encoding merges the most frequent pair."),
    ("answer", "code", "def merge(pair):\n    raise NotImplementedError"),
    ("closing", "markdown", "That is all."),
)


def _write(folder: Path, path: str, notebook: dict) -> None:
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    (folder / path).write_text(json.dumps(notebook, indent=1))


def _read(folder: Path, path: str = LESSON) -> dict:
    return json.loads((folder / path).read_text())


def _sources(notebook: dict) -> dict[str, str]:
    return {cell["id"]: cell_source(cell) for cell in notebook["cells"]}


def _edition(folder: Path, version: str, notebook: dict, **extra: dict) -> Path:
    _write(folder, LESSON, notebook)
    for path, other in extra.items():
        _write(folder, path.replace("__", "/"), other)
    (folder / "README.md").write_text(f"course {version}\n")
    edition.write_manifest(folder, version)
    return folder


def _change(notebook: dict, **sources: str) -> dict:
    """``notebook`` with the given cells' sources replaced (a cell id -> its new source)."""
    changed = json.loads(json.dumps(notebook))
    for cell in changed["cells"]:
        if cell["id"] in sources:
            cell["source"] = sources[cell["id"]]
    return changed


def _without(notebook: dict, *ids: str) -> dict:
    changed = json.loads(json.dumps(notebook))
    changed["cells"] = [cell for cell in changed["cells"] if cell["id"] not in ids]
    return changed


@pytest.fixture
def learner(tmp_path) -> Path:
    """A learner's copy of edition v1."""
    return shutil.copytree(_edition(tmp_path / "v1", "v1", V1), tmp_path / "learner")


def _v2(tmp_path: Path, notebook: dict) -> Path:
    return _edition(tmp_path / "v2", "v2", notebook)


def _assert_kept(before: dict, after: dict, *dropped: str) -> None:
    """Every cell text the learner had is still there, except the cells in ``dropped``."""
    texts = set(_sources(after).values())
    lost = {i: text for i, text in _sources(before).items() if text not in texts and i not in dropped}
    assert not lost, f"the update lost the learner's text: {lost}"


# --- a cell the learner deleted ------------------------------------------------------------


def test_a_deleted_cell_the_course_changed_stays_deleted_and_the_report_shows_its_new_text(learner, tmp_path):
    mine = _without(_read(learner), "bpe-text", "closing")
    _write(learner, LESSON, mine)
    new_text = "Byte-pair encoding merges the most frequent pair of symbols, again and again."
    report = update.apply(learner, _v2(tmp_path, _change(V1, **{"bpe-text": new_text})))

    after = _read(learner)
    assert "bpe-text" not in _sources(after) and "closing" not in _sources(after), "a deleted cell came back"
    assert report.deleted == [(LESSON, "bpe-text", new_text)], "only the changed one is reported"
    assert report.updated_cells == 0, "a deleted cell is not 'a cell you had not touched'"
    shown = "\n".join(report.lines())
    assert f"{LESSON}, cell bpe-text:" in shown and f"| {new_text}" in shown, shown
    assert f"| {new_text}" in (learner / report.saved).read_text(), "the report is kept for later"
    _assert_kept(mine, after)


# --- a renamed or copied lesson --------------------------------------------------------------


def test_a_renamed_lesson_gets_the_update_and_is_not_brought_back_under_its_old_name(learner, tmp_path):
    mine = _change(_read(learner), answer="def merge(pair):\n    return pair[0] + pair[1]")
    (learner / LESSON).unlink()
    _write(learner, RENAMED, mine)
    moved = "my_work/tokens.ipynb"  # a second copy, moved out of notebooks/
    _write(learner, moved, mine)
    report = update.apply(learner, _v2(tmp_path, _change(V1, intro="# Tokenization (v2)")))

    assert not (learner / LESSON).exists(), "the renamed lesson came back under its old name"
    for path in (RENAMED, moved):
        after = _sources(_read(learner, path))
        assert after["intro"] == "# Tokenization (v2)", f"{path}: an untouched cell did not take the update"
        assert after["answer"].endswith("return pair[0] + pair[1]"), f"{path}: the learner's answer is gone"
        assert f"{path} (your copy of {LESSON})" in report.merged, report.merged
    assert any(note.startswith(f"{LESSON} was not brought back: you renamed it") for note in report.notes)


def test_a_copied_lesson_and_the_original_both_get_the_update(learner, tmp_path):
    copy = "notebooks/08_tokenization/08_tokenization-Copy1.ipynb"
    mine = _change(_read(learner), **{"bpe-text": "My own words on BPE."})
    _write(learner, copy, mine)
    report = update.apply(learner, _v2(tmp_path, _change(V1, closing="That is all, for now.")))

    assert _sources(_read(learner))["closing"] == "That is all, for now."
    assert _sources(_read(learner, copy))["closing"] == "That is all, for now."
    assert _sources(_read(learner, copy))["bpe-text"] == "My own words on BPE."
    assert f"{copy} (your copy of {LESSON})" in report.merged


def test_a_copy_too_far_from_the_lesson_is_named_as_getting_no_update(learner, tmp_path):
    """A renamed copy holding under half of the lesson's cells is not recognised; the report says
    the course's file came back and why the copy got nothing."""
    mine = _without(_read(learner), "intro", "setup", "bpe-text")
    (learner / LESSON).unlink()
    _write(learner, RENAMED, mine)
    report = update.apply(learner, _v2(tmp_path, _change(V1, closing="The end.")))

    assert LESSON in report.added and (learner / LESSON).is_file()
    assert _read(learner, RENAMED) == mine, "an unrecognised notebook of the learner's is left alone"
    (note,) = [n for n in report.notes if n.startswith(LESSON)]
    assert "deleted it, or renamed it" in note and "got no update" in note and note in report.lines()


def test_a_copy_of_a_lesson_the_course_removed_is_named(learner, tmp_path):
    _write(learner, RENAMED, _read(learner))
    v2 = tmp_path / "v2"
    _edition(v2, "v2", V1)
    (v2 / LESSON).unlink()
    edition.write_manifest(v2, "v2")
    report = update.apply(learner, v2)
    assert LESSON in report.removed and (learner / RENAMED).is_file()
    assert f"{RENAMED} got no update: it is your copy of {LESSON}, which the course removed" in report.notes


def test_a_notebook_that_is_not_json_is_named_and_left_as_it_is(learner, tmp_path):
    (learner / LESSON).write_text('{"cells": [')  # a half-written file
    report = update.apply(learner, _v2(tmp_path, _change(V1, intro="# v2")))
    assert (learner / LESSON).read_text() == '{"cells": ['
    assert any(note.startswith(f"{LESSON} got no update: it is not a notebook") for note in report.notes)


# --- a cell both edited -----------------------------------------------------------------------


def test_where_both_edited_a_cell_the_course_version_sits_below_the_learners(learner, tmp_path):
    mine = _change(
        _read(learner),
        **{"bpe-text": "BPE, in my words: glue the commonest pair.", "answer": "def merge(pair):\n    return 'mine'"},
    )
    _write(learner, LESSON, mine)
    theirs = _change(
        V1,
        **{
            "bpe-text": "Byte-pair encoding, step by step.",
            "answer": "def merge(pair: tuple):\n    raise NotImplementedError",
        },
    )
    report = update.apply(learner, _v2(tmp_path, theirs))

    after = _read(learner)
    ids = [cell["id"] for cell in after["cells"]]
    for cell_id, course_text in (
        ("bpe-text", "Byte-pair encoding, step by step."),
        ("answer", "def merge(pair: tuple):"),
    ):
        note = after["cells"][ids.index(cell_id) + 1]
        assert note["cell_type"] == "markdown" and NOTE_TAG in note["metadata"]["tags"], note
        assert course_text in cell_source(note) and "Course update (v2)" in cell_source(note)
        assert any(item.startswith(f"{LESSON}: cell {cell_id}") for item in report.kept), report.kept
    code_note = after["cells"][ids.index("answer") + 1]
    assert cell_source(code_note).rstrip().endswith("```"), "the course's code is shown as a block, never run"
    _assert_kept(mine, after)

    again = update.apply(learner, tmp_path / "v2")
    assert _read(learner) == after and not again.kept, "updating twice to the same version adds no second note"
    v3 = _edition(tmp_path / "v3", "v3", _change(theirs, **{"bpe-text": "BPE, third take."}))
    update.apply(learner, v3)
    notes = [cell_source(c) for c in _read(learner)["cells"] if NOTE_TAG in c["metadata"].get("tags", [])]
    assert len(notes) == 3 and "BPE, third take." in notes[0], "a later change brings a newer note, first below"


def test_flowlib_update_prints_the_report(learner, tmp_path, monkeypatch, capsys):
    (learner / "nbgrader_config.py").write_text("")  # what makes a folder a course folder
    _write(learner, LESSON, _change(_read(learner), intro="# My tokenization notes"))
    v2 = _v2(tmp_path, _change(V1, intro="# Tokenization, revised", closing="Bye."))
    monkeypatch.chdir(learner)
    assert update.main([str(v2)]) == 0
    shown = capsys.readouterr().out
    assert "updated to course version v2" in shown and f"{LESSON}: cell intro" in shown, shown
    assert update.RELOAD in shown, "the learner is told to reload an open notebook"
