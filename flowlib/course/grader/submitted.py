"""Step 1 of grading: find the submissions in ``submitted/<student>/<lesson>/``.

:func:`find_submissions` walks ``submitted/`` and hands back what can be graded
(:class:`Submission`) and what cannot (:class:`Refusal`, whose reason names the file, what was
expected and what was found). Bad input never raises and never stops the others. Bringing
submissions *into* ``submitted/`` (an LMS download, nbgrader's exchange) is :mod:`.intake`.

Policies:

* **Renamed notebook**: a lesson folder whose only notebook has another name is graded, with a
  note. When ``<lesson>.ipynb`` is there, it is the one graded; other notebooks beside it are
  extra files (noted). Several notebooks and none named ``<lesson>.ipynb``: refused.
* **Wrong lesson**: a notebook must carry graded cells (nbgrader ``grade_id``) of its lesson's
  released notebook, ``notebooks/<lesson>/<lesson>.ipynb``. None of them, or more of another
  lesson's: refused. Some missing: graded (they score 0), with a note.
* **Ids**: the student folder's name is the id nbgrader records. Spaces and capitals
  are accepted there, with a note giving the canonical form (:func:`.ids.canonical_id`, what
  intake writes); ``*`` and ``+`` are refused, as nbgrader itself refuses them in ids.
* **Same learner twice** (folder names equal after :func:`.ids.canonical_id`: case, Unicode form,
  whitespace): the newest valid submission of each lesson is graded, the others are refused
  with a message naming the one kept. Equal times keep the canonically named folder.
* **Timestamp**: nbgrader's ``timestamp.txt`` in the lesson folder, else the notebook's mtime
  (always UTC). Hidden names (``.DS_Store``, ``.ipynb_checkpoints``) are skipped everywhere.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from flowlib.cells import nbgrader_meta
from flowlib.course import layout
from flowlib.course.grader.ids import FORBIDDEN_IN_IDS, TIMESTAMP_FILE, canonical_id, folder_timestamp, learner_key

NOTEBOOK = ".ipynb"


class UnknownNameError(ValueError):
    """A student or lesson asked for by name does not exist; the message lists what does."""


class NotAccepted(Exception):
    """Internal: one input is refused; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Submission:
    """One gradable notebook: ``submitted/<student>/<lesson>/<notebook>``."""

    student: str  # the id: the folder's name under submitted/
    lesson: str
    notebook: Path
    folder: Path
    timestamp: datetime | None  # UTC
    extra_files: tuple[str, ...] = ()  # other files, relative to folder (not timestamp.txt)
    notes: tuple[str, ...] = ()  # accepted, but worth a look (renamed, id not canonical, ...)


@dataclass(frozen=True)
class Refusal:
    """One input that is not graded, and why (the file, what was expected, what was found)."""

    path: Path
    student: str | None
    lesson: str | None
    reason: str

    def __str__(self) -> str:
        return self.reason


def _sample(ids: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(ids)[:2]) + (", ..." if len(ids) > 2 else "")


class Catalogue:
    """The graded cells (nbgrader ``grade_id``) of each lesson's released notebook."""

    def __init__(self, root: Path, lessons: Sequence[str]) -> None:
        self.lessons = list(lessons)
        self.ids: dict[str, frozenset[str]] = {}
        for lesson in self.lessons:
            path = layout.notebook(root, lesson)
            if path.is_file():
                self.ids[lesson] = frozenset(grade_ids(json.loads(path.read_text(encoding="utf-8"))))

    def check(self, data: bytes, shown: str, lesson: str | None) -> tuple[str, tuple[str, ...]]:
        """Is ``data`` a notebook of ``lesson`` (or, when ``None``, of which lesson)? Returns the
        lesson and notes; raises :class:`NotAccepted` naming ``shown``."""
        expected = f"the notebook of lesson {lesson}" if lesson else "a notebook of one of the course's lessons"
        if not data:
            raise NotAccepted(f"{shown}: expected {expected}; found an empty file (0 bytes)")
        try:
            text = data.decode("utf-8")
            json.loads(text)
        except UnicodeDecodeError as error:
            raise NotAccepted(
                f"{shown}: expected {expected} (UTF-8 JSON); found bytes that are not UTF-8 ({error.reason})"
            ) from None
        except json.JSONDecodeError as error:
            raise NotAccepted(
                f"{shown}: expected {expected} (JSON); found text that is not valid JSON "
                f"({error.msg} at line {error.lineno}, column {error.colno})"
            ) from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                notebook = nbformat.reads(text, as_version=4)
                nbformat.validate(notebook)
        except Exception as error:  # nbformat raises several kinds; every one means "not a notebook"
            detail = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            raise NotAccepted(
                f"{shown}: expected {expected}; found JSON that is not a valid notebook ({detail})"
            ) from None
        return self._match(grade_ids(notebook), shown, lesson, expected)

    def _match(self, found: set[str], shown: str, lesson: str | None, expected: str) -> tuple[str, tuple[str, ...]]:
        overlap = {name: len(found & ids) for name, ids in self.ids.items()}
        best = max(overlap, key=lambda name: overlap[name], default=None)
        if lesson is None:
            if best is None or overlap[best] == 0:
                raise NotAccepted(
                    f"{shown}: expected {expected}; found none of any lesson's graded cells, so its lesson is unknown"
                )
            lesson = best
        own = self.ids.get(lesson)
        if own is None:
            return lesson, (f"no released notebook of {lesson} to check {shown} against",)
        wanted = f"the notebook of lesson {lesson} (graded cells such as {_sample(own)})"
        if not found:
            raise NotAccepted(f"{shown}: expected {wanted}; found a notebook with no graded (nbgrader) cells")
        if best is not None and best != lesson and overlap[best] > overlap[lesson]:
            raise NotAccepted(
                f"{shown}: expected {wanted}; found lesson {best}'s notebook ({overlap[best]} of its graded cells)"
            )
        if not overlap[lesson]:
            raise NotAccepted(f"{shown}: expected {wanted}; found none of them (its graded cells: {_sample(found)})")
        missing = own - found
        if missing:
            return lesson, (
                f"{len(missing)} of lesson {lesson}'s {len(own)} graded cells are missing ({_sample(missing)}): they score 0",
            )
        return lesson, ()


def grade_ids(notebook: dict) -> set[str]:
    """The nbgrader ``grade_id`` of every cell of a notebook (as a dict or nbformat node)."""
    found = set()
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        grade_id = nbgrader_meta(cell).get("grade_id") if isinstance(cell, dict) else None
        if isinstance(grade_id, str):
            found.add(grade_id)
    return found


def visible(folder: Path) -> list[Path]:
    """The entries of ``folder``, hidden ones (``.DS_Store``, ``.ipynb_checkpoints``) left out."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def pick_notebook(folder: Path, lesson: str) -> tuple[Path | None, tuple[str, ...], str]:
    """The notebook to grade in a lesson folder, notes about it, and why there is none."""
    notebooks = [p for p in visible(folder) if p.is_file() and p.suffix == NOTEBOOK]
    named = folder / f"{lesson}{NOTEBOOK}"
    if named in notebooks:
        others = [p.name for p in notebooks if p != named]
        return named, ((f"also holds {', '.join(others)}: not graded",) if others else ()), ""
    if len(notebooks) == 1:
        return notebooks[0], (f"renamed: graded {notebooks[0].name} as {named.name}",), ""
    if notebooks:
        return (
            None,
            (),
            f"found {len(notebooks)} notebooks ({', '.join(p.name for p in notebooks)}) and none named {named.name}",
        )
    return None, (), f"found no notebook ({', '.join(p.name for p in visible(folder)) or 'the folder is empty'})"


def _one(folder: Path, student: str, lessons: Sequence[str], catalogue: Catalogue) -> Submission | Refusal:
    lesson = folder.name
    if not folder.is_dir():
        return Refusal(folder, student, None, f"{folder}: expected a lesson folder; found a file")
    if lesson not in lessons:
        return Refusal(
            folder,
            student,
            lesson,
            f"{folder}: expected a lesson folder, one of {', '.join(lessons)}; found {lesson!r}",
        )
    if any(ch in student for ch in FORBIDDEN_IN_IDS):
        return Refusal(
            folder,
            student,
            lesson,
            f"{folder}: expected a student id without {' or '.join(FORBIDDEN_IN_IDS)}; found {student!r}",
        )
    notebook, notes, missing = pick_notebook(folder, lesson)
    if notebook is None:
        return Refusal(folder, student, lesson, f"{folder}: expected the notebook {lesson}{NOTEBOOK}; {missing}")
    try:
        _, more = catalogue.check(notebook.read_bytes(), str(notebook), lesson)
    except NotAccepted as refused:
        return Refusal(notebook, student, lesson, refused.reason)
    try:
        canonical = canonical_id(student)
        notes += (f"id {student!r} is not canonical ({canonical!r}): kept as it is",) if canonical != student else ()
    except ValueError as error:
        notes += (f"{error}: kept as it is",)
    when, note = folder_timestamp(folder, notebook)
    extra = tuple(
        sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p != notebook and p.name != TIMESTAMP_FILE and ".ipynb_checkpoints" not in p.parts
        )
    )
    return Submission(student, lesson, notebook, folder, when, extra, notes + more + ((note,) if note else ()))


def _unknown(what: str, asked: Sequence[str], known: Sequence[str], where: str) -> UnknownNameError:
    return UnknownNameError(f"unknown {what} {', '.join(map(repr, asked))}; {where}: {', '.join(known) or 'none'}")


def find_submissions(
    root: Path, lessons: Sequence[str], students: Sequence[str] | None = None, only_lessons: Sequence[str] | None = None
) -> tuple[list[Submission], list[Refusal]]:
    """Every gradable submission under ``root/submitted/`` and every refused input.

    ``students`` and ``only_lessons`` narrow the search (a student matches folders of the same
    learner, see :func:`learner_key`); a name that matches nothing raises
    :class:`UnknownNameError` listing what exists. Bad submissions never raise.
    """
    root = Path(root)
    submitted = root / "submitted"
    if only_lessons and (unknown := [name for name in only_lessons if name not in lessons]):
        raise _unknown("lesson", unknown, lessons, "the course's lessons are")
    if not submitted.is_dir():
        return [], [
            Refusal(
                submitted,
                None,
                None,
                f"{submitted}: expected a folder of <student>/<lesson>/<lesson>.ipynb; found no such folder",
            )
        ]
    entries = visible(submitted)
    if students:
        keys = {learner_key(name) for name in students}
        unknown = [name for name in students if not any(learner_key(p.name) == learner_key(name) for p in entries)]
        if unknown:
            raise _unknown("student", unknown, [p.name for p in entries], "submitted/ holds")
        entries = [p for p in entries if learner_key(p.name) in keys]
    if not entries:
        return [], [
            Refusal(
                submitted, None, None, f"{submitted}: expected <student>/<lesson>/<lesson>.ipynb; found an empty folder"
            )
        ]
    catalogue = Catalogue(root, lessons)
    found: list[Submission] = []
    refused: list[Refusal] = []
    for entry in entries:
        if not entry.is_dir():
            refused.append(Refusal(entry, None, None, f"{entry}: expected a student folder; found a file"))
            continue
        inside = [p for p in visible(entry) if not only_lessons or p.name in only_lessons]
        if not inside and not only_lessons:
            refused.append(
                Refusal(
                    entry,
                    entry.name,
                    None,
                    f"{entry}: expected lesson folders such as {lessons[0] if lessons else '<lesson>'}/; found an empty folder",
                )
            )
        for folder in inside:
            result = _one(folder, entry.name, lessons, catalogue)
            if isinstance(result, Submission):
                found.append(result)
            else:
                refused.append(result)
    if (students or only_lessons) and not found and not refused:
        raise UnknownNameError(
            f"no submission of {', '.join(only_lessons or [])} by {', '.join(students or ['anyone'])} in {submitted}"
        )
    kept, duplicates = _newest_per_learner(found)
    return kept, refused + duplicates


def _newest_per_learner(found: list[Submission]) -> tuple[list[Submission], list[Refusal]]:
    """Keep one submission per learner and lesson: the newest (the canonical name on a tie)."""
    groups: dict[tuple[str, str], list[Submission]] = {}
    for submission in found:
        groups.setdefault((learner_key(submission.student), submission.lesson), []).append(submission)
    kept, refused = [], []
    for (key, lesson), group in groups.items():
        never = datetime.min.replace(tzinfo=UTC)
        group.sort(key=lambda s: (s.timestamp or never, s.student == key), reverse=True)
        best = group[0]
        kept.append(best)
        for other in group[1:]:
            refused.append(
                Refusal(
                    other.folder,
                    other.student,
                    lesson,
                    f"{other.folder}: expected one submission per learner and lesson; found {other.student!r} "
                    f"and {best.student!r}, the same learner ({key!r}): kept {best.folder} "
                    f"({best.timestamp}), not this one ({other.timestamp})",
                )
            )
    return sorted(kept, key=lambda s: (s.student, s.lesson)), refused
