"""Bring submissions into ``submitted/`` (``flowlib instructor collect``): from an LMS download
(a folder or a ``.zip``, names read by :mod:`.lms`) or from nbgrader's exchange, never
overwriting one silently.

Each notebook is checked like :func:`~.submitted.find_submissions` checks it (JSON, a valid
notebook, its lesson's graded cells) and stored as ``submitted/<student>/<lesson>/<lesson>.ipynb``
with ``timestamp.txt`` in nbgrader's format. The id is :func:`~.ids.canonical_id` of the
name (its letters kept, in any script), or the LMS's participant id where the name gives none;
a learner the course knows keeps the id it has (the roster, ``submitted/``, the gradebook).
Storing, never overwriting one silently, is :mod:`.storing`'s.

From the exchange (``<exchange>/<course>/inbound/<student>+<lesson>+<timestamp>+<random>/``, as
``nbgrader submit`` writes it) the newest folder per learner and lesson is taken, as
``nbgrader collect`` does; the older ones are reported as ignored. Other files of the folder
(``submission_secret.txt``, data files) are copied beside the notebook. Symbolic links and
files not owned by the learner the folder names are refused, each with its own message
(:mod:`.owned`): a folder refused so never hides that learner's real, older one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath

from flowlib.course.grader.ids import TIMESTAMP_FILE, canonical_id, parse_timestamp
from flowlib.course.grader.lms import MAX_FILE_BYTES, Named, parse_name, read_download
from flowlib.course.grader.owned import check_folder, expected_owner, read_owned
from flowlib.course.grader.storing import Candidate, ImportReport, store_all
from flowlib.course.grader.submitted import NOTEBOOK, Catalogue, NotAccepted, Refusal, pick_notebook, visible


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
    candidates: list[Candidate] = []
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
        candidates.append(Candidate(student, lesson, member.data, when, shown, notes, lms_id, name=named.student))
    if not seen:
        report.refused.append(Refusal(source, None, None, f"{source}: expected submitted notebooks; found no files"))
    store_all(root, candidates, report)
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
        candidates.append(Candidate(student, lesson, data, when, entry.name, notes + more, extras=extras, name=raw))
    store_all(root, candidates, report)
    return report
