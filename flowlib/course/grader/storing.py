"""Store what :mod:`.intake` read into ``submitted/<student>/<lesson>/``, never overwriting one
silently, under the id the course already knows for the learner.

Never overwrite silently: identical content is *unchanged*; a newer file *replaces* the old
one, which moves whole to ``submitted_history/<student>/<lesson>/<old time>/`` (both times are
in the report); an older, or equally old, different file is *refused*. Within one download,
files are stored oldest first, so the newest of a learner's files ends up graded.

The id: the one its LMS participant was stored under before (the roster), else an existing id of
the same learner (:func:`_learner_id`: ``submitted/``, the gradebook), else the one read. The
learner's name goes into the roster (:mod:`.roster`). Two different LMS user ids with the same id
in one download are both refused.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flowlib.course import layout
from flowlib.course.grader import roster
from flowlib.course.grader.gradebook import open_gradebook
from flowlib.course.grader.ids import TIMESTAMP_FILE, ascii_folded_id, folder_timestamp, format_timestamp, learner_key
from flowlib.course.grader.submitted import NOTEBOOK, Refusal, pick_notebook, visible

HISTORY = "submitted_history"


@dataclass(frozen=True)
class Imported:
    """One notebook now in ``submitted/`` (or already there, unchanged)."""

    student: str
    lesson: str
    source: str
    notebook: Path
    timestamp: datetime
    old_timestamp: datetime | None = None  # replaced: the time of the submission it replaced
    kept_at: Path | None = None  # replaced: where the old submission now is
    notes: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """What one import did."""

    source: str
    imported: list[Imported] = field(default_factory=list)
    replaced: list[Imported] = field(default_factory=list)
    unchanged: list[Imported] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (file, why)

    @property
    def ok(self) -> bool:
        """Nothing was refused."""
        return not self.refused

    def summary(self) -> str:
        """The report as text, one line per file."""
        counts = ", ".join(
            f"{len(getattr(self, k))} {k}" for k in ("imported", "replaced", "unchanged", "refused", "ignored")
        )
        lines = [f"collect from {self.source}: {counts}"]
        for kind in ("imported", "replaced", "unchanged"):
            for entry in getattr(self, kind):
                when = (
                    f"{entry.old_timestamp} -> {entry.timestamp}, old one kept in {entry.kept_at}"
                    if entry.kept_at
                    else str(entry.timestamp)
                )
                lines.append(f"  {kind:9}  {entry.student} {entry.lesson} from {entry.source} ({when})")
                lines += [f"             note: {note}" for note in entry.notes]
        lines += [f"  refused    {refusal.reason}" for refusal in self.refused]
        lines += [f"  ignored    {name}: {why}" for name, why in self.ignored]
        return "\n".join(lines)


@dataclass
class Candidate:
    """One notebook read from a source, before it is stored."""

    student: str
    lesson: str
    data: bytes
    timestamp: datetime
    source: str
    notes: tuple[str, ...]
    lms_id: str | None = None
    extras: dict[str, bytes] = field(default_factory=dict)
    name: str = ""  # the learner's name as the download (or exchange folder) spells it: kept in the roster


def store_all(root: Path, candidates: list[Candidate], report: ImportReport) -> None:
    """Store candidates oldest first, each under its learner's id (:func:`_learner_id`); refuse
    every file of an id two LMS users share; record the names in the roster."""
    existing, learners = _existing_ids(root), roster.load(root)
    for c in candidates:
        c.student, note = _learner_id(c, existing, learners)
        c.notes += (note,) if note else ()
    users: dict[tuple[str, str], set[str]] = {}
    for c in candidates:
        users.setdefault((c.student, c.lesson), set()).add(c.lms_id or "")
    for c in sorted(candidates, key=lambda c: (c.student, c.lesson, c.timestamp)):
        clash = sorted(users[c.student, c.lesson] - {""})
        if len(clash) > 1:
            report.refused.append(
                Refusal(
                    Path(c.source),
                    c.student,
                    c.lesson,
                    (
                        f"{c.source}: expected one learner per id; found {len(clash)} learners ({', '.join(clash)}) "
                        f"who share the id {c.student!r} in lesson {c.lesson}: rename them in the download"
                    ),
                )
            )
            continue
        _store(root, c, report)
    stored = {(e.student, e.source) for kind in (report.imported, report.replaced, report.unchanged) for e in kind}
    roster.remember(
        root, [roster.Learner(c.student, c.name, c.lms_id or "") for c in candidates if (c.student, c.source) in stored]
    )


def _existing_ids(root: Path) -> list[str]:
    """The ids the course knows: folders of ``submitted/``, then students of the gradebook."""
    submitted = root / "submitted"
    ids = [p.name for p in visible(submitted) if p.is_dir()] if submitted.is_dir() else []
    if (root / layout.GRADEBOOK).is_file():
        with open_gradebook(root) as book:
            ids += sorted(student.id for student in book.students if student.id not in ids)
    return ids


def _learner_id(c: Candidate, existing: list[str], learners: dict[str, roster.Learner]) -> tuple[str, str | None]:
    """The id to store ``c`` under, and a note when it is not ``c.student``: the id its LMS
    participant was stored under before (the roster), else an existing id of the same learner
    (the same :func:`~.ids.learner_key`, or the accent-less spelling imports made before
    ids kept their accents, so no grade is orphaned: only for an id whose roster row, if any,
    names this learner), else ``c.student``."""
    known = {learner.lms_id: key for key, learner in learners.items() if learner.lms_id}
    if c.lms_id and known.get(c.lms_id, c.student) != c.student:
        return known[c.lms_id], f"{c.lms_id} is stored as {known[c.lms_id]!r} (the roster)"
    folded = ascii_folded_id(c.name) if c.name else None

    def old_spelling(name: str) -> bool:
        row = learners.get(name)
        return name == folded and (row is None or learner_key(row.name) == c.student)

    for match in (lambda name: learner_key(name) == c.student, old_spelling):
        found = next((name for name in existing if match(name)), None)
        if found is not None:
            return found, (f"stored under the existing id {found!r}" if found != c.student else None)
    return c.student, None


def _store(root: Path, c: Candidate, report: ImportReport) -> None:
    """Write one submission, never overwriting silently (see the module's docstring)."""
    folder, notes = c.student, c.notes
    dest = root / "submitted" / folder / c.lesson
    entry = Imported(folder, c.lesson, c.source, dest / f"{c.lesson}{NOTEBOOK}", c.timestamp, notes=notes)
    if dest.is_dir() and visible(dest):
        old, _, _ = pick_notebook(dest, c.lesson)
        old_time, _ = folder_timestamp(dest, old)
        if old is not None and old.read_bytes() == c.data:
            report.unchanged.append(entry)
            return
        if old is not None and old_time is not None and c.timestamp <= old_time:
            report.refused.append(
                Refusal(
                    Path(c.source),
                    folder,
                    c.lesson,
                    (
                        f"{c.source}: expected a submission newer than {dest} ({old_time}); found one from {c.timestamp} "
                        f"with different content: kept the one in submitted/ (move it away to import this one)"
                    ),
                )
            )
            return
        kept = root / HISTORY / folder / c.lesson / (old_time or c.timestamp).strftime("%Y%m%dT%H%M%S.%fZ")
        while kept.exists():
            kept = kept.with_name(kept.name + "+")
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(dest, kept)
        entry = Imported(folder, c.lesson, c.source, entry.notebook, c.timestamp, old_time, kept, notes)
    partial = dest.with_name(f".{c.lesson}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, data in {
        **c.extras,
        f"{c.lesson}{NOTEBOOK}": c.data,
        TIMESTAMP_FILE: format_timestamp(c.timestamp).encode(),
    }.items():
        (partial / name).parent.mkdir(parents=True, exist_ok=True)
        (partial / name).write_bytes(data)
    if dest.is_dir():
        shutil.rmtree(dest)  # empty, or holding only hidden files
    os.replace(partial, dest)
    (report.replaced if entry.kept_at else report.imported).append(entry)
