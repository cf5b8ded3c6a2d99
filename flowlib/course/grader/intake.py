"""Bring submissions into ``submitted/`` (``flowlib instructor collect``): from an LMS download
(a folder or a ``.zip``, names read by :mod:`.lms`) or from nbgrader's exchange, never
overwriting one silently.

Each notebook is checked like :func:`~.submitted.find_submissions` checks it (JSON, a valid
notebook, its lesson's graded cells) and stored as ``submitted/<student>/<lesson>/<lesson>.ipynb``
with ``timestamp.txt`` in nbgrader's format. The id is :func:`~.ids.canonical_id` of the
name (its letters kept, in any script), or the LMS's participant id where the name gives none;
a learner the course knows keeps the id it has (:func:`_learner_id`: the roster, ``submitted/``,
the gradebook). The name itself goes into the roster (:mod:`.roster`). Two different LMS user
ids with the same id in one download are both refused.

Never overwrite silently: identical content is *unchanged*; a newer file *replaces* the old
one, which moves whole to ``submitted_history/<student>/<lesson>/<old time>/`` (both times are
in the report); an older, or equally old, different file is *refused*. Within one download,
files are stored oldest first, so the newest of a learner's files ends up graded.

From the exchange (``<exchange>/<course>/inbound/<student>+<lesson>+<timestamp>+<random>/``, as
``nbgrader submit`` writes it) the newest folder per learner and lesson is taken, as
``nbgrader collect`` does; the older ones are reported as ignored. Other files of the folder
(``submission_secret.txt``, data files) are copied beside the notebook. Symbolic links and
files not owned by the learner the folder names are refused, each with its own message
(:mod:`.owned`): a folder refused so never hides that learner's real, older one.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from flowlib.course import layout
from flowlib.course.grader import roster
from flowlib.course.grader.gradebook import open_gradebook
from flowlib.course.grader.ids import (
    TIMESTAMP_FILE,
    ascii_folded_id,
    canonical_id,
    folder_timestamp,
    format_timestamp,
    learner_key,
    parse_timestamp,
)
from flowlib.course.grader.lms import MAX_FILE_BYTES, Named, parse_name, read_download
from flowlib.course.grader.owned import check_folder, expected_owner, read_owned
from flowlib.course.grader.submitted import NOTEBOOK, Catalogue, NotAccepted, Refusal, pick_notebook, visible

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
class _Candidate:
    student: str
    lesson: str
    data: bytes
    timestamp: datetime
    source: str
    notes: tuple[str, ...]
    lms_id: str | None = None
    extras: dict[str, bytes] = field(default_factory=dict)
    name: str = ""  # the learner's name as the download (or exchange folder) spells it: kept in the roster


def import_download(source: Path, root: Path, lessons: Sequence[str]) -> ImportReport:
    """Import a flat LMS download (a folder, a ``.zip`` or one notebook) into ``root/submitted/``."""
    source, root = Path(source), Path(root)
    report = ImportReport(str(source))
    if not source.exists():
        report.refused.append(
            Refusal(source, None, None, f"{source}: expected a folder, a .zip or a notebook; found nothing there")
        )
        return report
    catalogue = Catalogue(root, lessons)
    candidates: list[_Candidate] = []
    seen = 0
    for member in read_download(source):
        seen += 1
        shown = member.name if source.is_dir() else f"{source.name}:{member.name}"
        if member.problem:
            report.refused.append(Refusal(source / member.name, None, None, member.problem))
            continue
        if member.data is None or any(
            part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(member.name).parts
        ):
            report.ignored.append((member.name, "not a notebook"))
            continue
        named = parse_name(member.name, lessons)
        if named is None:
            report.refused.append(
                Refusal(
                    source / member.name,
                    None,
                    None,
                    (
                        f"{shown}: expected a name like <student>_<lesson>.ipynb, or a Canvas, Moodle or Blackboard download name; "
                        f"found {PurePosixPath(member.name).name!r}"
                    ),
                )
            )
            continue
        try:
            student, notes = _download_id(named)
            lesson, more = catalogue.check(member.data, shown, named.lesson)
        except (ValueError, NotAccepted) as error:
            report.refused.append(
                Refusal(
                    source / member.name, named.student, named.lesson, getattr(error, "reason", f"{shown}: {error}")
                )
            )
            continue
        notes += more
        notes += (
            (f"renamed: its name names no lesson; its graded cells are {lesson}'s",) if named.lesson is None else ()
        )
        notes += ("submitted late (Canvas LATE)",) if named.late else ()
        lms_id = f"{named.convention} id {named.lms_id}" if named.lms_id else None
        when = named.timestamp or member.timestamp
        candidates.append(_Candidate(student, lesson, member.data, when, shown, notes, lms_id, name=named.student))
    if not seen:
        report.refused.append(Refusal(source, None, None, f"{source}: expected submitted notebooks; found no files"))
    _store_all(root, candidates, report)
    return report


def _download_id(named: Named) -> tuple[str, tuple[str, ...]]:
    """The id a download's name gives (:func:`~.ids.canonical_id`), else, for a name that
    gives none (no letter or digit, too long), the LMS's participant id; and a note saying so."""
    try:
        student = canonical_id(named.student)
    except ValueError as error:
        if not named.lms_id:
            raise
        student = canonical_id(f"{named.convention}_{named.lms_id}")
        return student, (f"{error}: stored under its {named.convention} participant id as {student!r}",)
    return student, (
        (f"{named.convention} name {named.student!r} stored as {student!r}",) if student != named.student else ()
    )


def import_exchange(exchange: Path, course_id: str, root: Path, lessons: Sequence[str]) -> ImportReport:
    """Import the newest submission per learner and lesson from nbgrader's exchange
    (``<exchange>/<course_id>/inbound/<student>+<lesson>+<timestamp>+<random>/``)."""
    inbound = Path(exchange) / course_id / "inbound"
    report = ImportReport(str(inbound))
    if not inbound.is_dir():
        report.refused.append(
            Refusal(
                inbound,
                None,
                None,
                f"{inbound}: expected nbgrader's inbound folder of course {course_id!r}; found no such folder",
            )
        )
        return report
    newest: dict[tuple[str, str], tuple[datetime, Path, str, int, str | None]] = {}  # when, folder, raw name, uid, note
    entries = [p for p in visible(inbound) if p.is_dir() or p.is_symlink()]
    if not entries:
        report.refused.append(
            Refusal(
                inbound, None, None, f"{inbound}: expected <student>+<lesson>+<timestamp>+<random>/ folders; found none"
            )
        )
    for entry in entries:
        match = next(
            (
                m
                for lesson in lessons
                if (m := re.match(rf"^(.+)\+({re.escape(lesson)})\+([^+]+)(\+[^+]*)?$", entry.name))
            ),
            None,
        )
        try:
            if match is None:
                raise NotAccepted(
                    f"{entry}: expected <student>+<lesson>+<timestamp>+<random> for a lesson of {', '.join(lessons)}; found {entry.name!r}"
                )
            student, lesson, when = canonical_id(match[1]), match[2], parse_timestamp(match[3])
            uid, note = expected_owner(entry, (match[1], student))
            check_folder(entry, uid, match[1])  # before it competes: a forged folder never hides a real one
        except (ValueError, OverflowError, NotAccepted) as error:
            report.refused.append(Refusal(entry, None, None, getattr(error, "reason", f"{entry}: {error}")))
            continue
        older = newest.get((student, lesson))
        if older and older[0] >= when:
            report.ignored.append((entry.name, f"older than {older[1].name}, the newest of {student} {lesson}"))
            continue
        if older:
            report.ignored.append((older[1].name, f"older than {entry.name}, the newest of {student} {lesson}"))
        newest[student, lesson] = (when, entry, match[1], uid, note)
    catalogue = Catalogue(root, lessons)
    candidates = []
    for (student, lesson), (when, entry, raw, uid, note) in sorted(newest.items()):
        notebook, notes, missing = pick_notebook(entry, lesson)
        try:
            if notebook is None:
                raise NotAccepted(f"{entry}: expected the notebook {lesson}{NOTEBOOK}; {missing}")
            data = read_owned(entry, notebook.name, uid, raw, MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise NotAccepted(f"{notebook}: expected a notebook of at most {MAX_FILE_BYTES} bytes; found more")
            _, more = catalogue.check(data, str(notebook), lesson)
        except NotAccepted as refused:
            report.refused.append(Refusal(notebook or entry, student, lesson, refused.reason))
            continue
        extras = {}
        for path in sorted(entry.rglob("*")):
            name = path.relative_to(entry).as_posix()
            if (
                path == notebook
                or name == TIMESTAMP_FILE
                or ".ipynb_checkpoints" in path.parts
                or (path.is_dir() and not path.is_symlink())
            ):
                continue
            try:
                extras[name] = read_owned(entry, name, uid, raw, MAX_FILE_BYTES)
            except NotAccepted as refused:  # this file only: the notebook is still collected
                report.refused.append(Refusal(path, student, lesson, refused.reason))
        notes += (f"exchange id {raw!r} stored as {student!r}",) if raw != student else ()
        notes += (note,) if note else ()
        candidates.append(_Candidate(student, lesson, data, when, entry.name, notes + more, extras=extras, name=raw))
    _store_all(root, candidates, report)
    return report


def _store_all(root: Path, candidates: list[_Candidate], report: ImportReport) -> None:
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


def _learner_id(c: _Candidate, existing: list[str], learners: dict[str, roster.Learner]) -> tuple[str, str | None]:
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


def _store(root: Path, c: _Candidate, report: ImportReport) -> None:
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
