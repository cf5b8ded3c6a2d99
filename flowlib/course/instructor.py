"""The instructor's side of the course: release, collect, autograde, feedback and grade export.

Release and feedback are nbgrader commands run in the course folder (the folder that holds
``nbgrader_config.py``); autograde and export are the course's own grading engine
(:mod:`flowlib.course.grader`), writing into nbgrader's gradebook. Two guarantees nbgrader alone
does not give:

* the gradebook (``gradebook.db``) is copied aside before any step that writes to it; an
  nbgrader step that fails puts it back, and the grader commits each grade as it is decided;
* exported grades are written to a temporary file and moved into place only when complete.

The same functions back ``make release|autograde|similarity|feedback|export`` and ``flowlib instructor``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from flowlib.course import layout


class InstructorError(layout.CourseError):
    """A course step could not run; the message says what was expected."""


def _lessons(root: Path) -> list[str]:
    """The course's lessons (:func:`flowlib.course.layout.lessons`); refuses a course folder
    without ``solutions/``."""
    source = root / layout.SOURCE
    if not source.is_dir():
        raise InstructorError(f"expected the source notebooks in {source}; that folder does not exist")
    return layout.lessons(root)


def _writable(root: Path, *inside: str | Path) -> None:
    """Refuse, before any work, when this user cannot write the course folder or a folder in it
    that the step writes into (those that exist)."""
    for path in [root, *(root / name for name in inside)]:
        if path.exists() and not os.access(path, os.W_OK):
            raise InstructorError(
                f"expected a course folder this user (uid {os.getuid()}) can write; found {path} read-only"
            )


def _pick(available: Sequence[str], wanted: Sequence[str] | None, what: str) -> list[str]:
    if not wanted:
        return list(available)
    unknown = [w for w in wanted if w not in available]
    if unknown:
        raise InstructorError(f"unknown {what} {unknown}; expected one of {list(available)}")
    return list(wanted)


def nbgrader(root: Path, *args: str) -> None:
    """Run one ``nbgrader`` command in the course folder; raise if it fails."""
    env = {**os.environ, "PATH": layout.environment_path(), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise InstructorError(
            f"`nbgrader {' '.join(args)}` failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
        )


@contextmanager
def gradebook_guard(root: Path) -> Iterator[None]:
    """Copy ``gradebook.db`` aside; restore it if the body fails, keep a backup if it succeeds."""
    db = root / layout.GRADEBOOK
    backup = db.with_name(db.name + ".bak")
    if db.exists():
        shutil.copy2(db, backup)
    try:
        yield
    except BaseException:
        if backup.exists():
            shutil.copy2(backup, db)
        raise


def _each(root: Path, step: str, chosen: Sequence[str], everything: bool, *options: str) -> None:
    """Run an nbgrader step for the chosen lessons: one call for all of them (``*``) when
    nothing narrower was asked for, since each nbgrader start costs seconds."""
    for target in ["*"] if everything else chosen:
        nbgrader(root, step, target, *options)


def release(root: Path, only: Sequence[str] | None = None, force: bool = False) -> list[str]:
    """Regenerate ``notebooks/<lesson>/`` from ``solutions/<lesson>/`` for every (or each named) lesson.

    Refuses, touching nothing, when a file there is not what the last release wrote (a learner
    edited a lesson, or left a file of their own beside it: see :mod:`flowlib.course.released`), unless
    ``force``, which first copies those lesson folders into ``backups/<timestamp>/``.
    """
    from flowlib.course import released

    chosen = _pick(_lessons(root), only, "lesson")
    _writable(root, layout.RELEASED, layout.GRADEBOOK, *(Path(layout.RELEASED) / lesson for lesson in chosen))
    changed = released.changes(root, chosen)
    if changed and not force:
        raise InstructorError(released.refusal(changed))
    if changed:
        kept = released.backup(root, sorted({change.lesson for change in changed}))
        print(f"kept a copy of {len(changed)} changed file(s), with their lesson folders, in {kept}")
    with gradebook_guard(root):
        _each(root, "generate_assignment", chosen, not only, "--force")
    released.record(root, chosen)
    return chosen


def collect(root: Path, sources: Sequence[str], exchange: str | None = None, course_id: str = layout.COURSE_ID):
    """Bring submissions into ``submitted/`` from one LMS download (a folder or a ``.zip``) or
    from nbgrader's ``exchange`` (see :mod:`flowlib.course.grader.intake`); returns its report."""
    sources = [source for source in sources if source]
    if bool(sources) == bool(exchange) or len(sources) > 1:
        raise InstructorError("collect takes one download (a folder or a .zip) or --exchange DIR")
    known = _lessons(root)
    _writable(root, "submitted", layout.ROSTER)
    from flowlib.course.grader import intake  # seconds of imports: after the checks

    if exchange:
        return intake.import_exchange(Path(exchange), course_id, root, known)
    return intake.import_download(Path(sources[0]), root, known)


def autograde(
    root: Path,
    only: Sequence[str] | None = None,
    students: Sequence[str] | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    full: bool = False,
):
    """Grade every submission (or those of the named lessons / students) in the sandbox,
    into ``gradebook.db``, ``autograded/`` and ``reports/`` (see :mod:`flowlib.course.grader`):
    ``jobs`` at once here, or on the Dask cluster at ``scheduler``; what was graded already
    is skipped unless ``force``; ``full``: every cell runs (see :mod:`~flowlib.course.grader.slicing`).
    Then each graded lesson's similarity report (:func:`similarity`)."""
    known = _lessons(root)
    chosen = _pick(known, only, "lesson")
    _ready_to_grade(root, chosen)
    from flowlib.course.grader import autograde as engine  # seconds of imports: after the checks

    try:
        run = engine.autograde(
            root,
            known,
            only=chosen if only else None,
            students=students,
            jobs=jobs,
            scheduler=scheduler,
            force=force,
            full=full,
        )
    except ValueError as error:  # an unknown student or lesson: the message lists what exists
        raise InstructorError(str(error)) from error
    graded = sorted({r.lesson for r in run.reports} | {s.lesson for s in run.skipped})
    try:  # the grades are recorded: a report that cannot be written is said, never fatal
        for path in similarity(root, graded) if graded else []:
            print(f"similarity report (a flag for a person, no grade changed): {path}")
    except Exception as error:
        print(f"WARNING: no similarity report ({type(error).__name__}: {error}); grades are recorded", file=sys.stderr)
    return run


def similarity(root: Path, only: Sequence[str] | None = None) -> list[Path]:
    """Compare each learner's code answers with the others' and with flowlib's source, lesson by
    lesson; write ``reports/similarity/<lesson>.html`` (and ``.csv``) for each lesson with
    submissions. A flag for a person: no grade changes."""
    from flowlib.course.grader.similarity import lesson_similarity
    from flowlib.course.grader.similarity_report import write

    chosen = _pick(_lessons(root), only, "lesson")
    submitted = root / "submitted"
    present = {p.name for s in submitted.iterdir() if s.is_dir() for p in s.iterdir()} if submitted.is_dir() else set()
    return [write(root, lesson_similarity(root, lesson)) for lesson in chosen if lesson in present]


def _ready_to_grade(root: Path, lessons: Sequence[str]) -> None:
    """What autograde needs, checked at once (before seconds of imports): a course folder it can
    write, a gradebook that knows the lessons it would grade, and bubblewrap (a warning: grading
    without it runs, with each report saying which protection was off)."""
    from flowlib.course.grader import sandbox

    _writable(root, layout.GRADEBOOK, "autograded", "reports", layout.STATE)
    db = root / layout.GRADEBOOK
    if not db.is_file():
        raise InstructorError(
            f"expected nbgrader's gradebook at {db}; found none: release the lessons first (`flowlib instructor release`)"
        )
    submitted = root / "submitted"
    wanted = {p.name for p in submitted.glob("*/*") if p.name in lessons} if submitted.is_dir() else set()
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as connection:
        try:  # read directly: nbgrader's own reader costs seconds of imports
            released = {name for (name,) in connection.execute("SELECT name FROM assignment")}
        except sqlite3.DatabaseError as error:
            raise InstructorError(f"expected nbgrader's gradebook at {db}; found {error}") from None
    if wanted - released:
        print(
            f"lesson(s) {', '.join(sorted(wanted - released))} not in {layout.GRADEBOOK}: their submissions are "
            f"not graded; release them first (`flowlib instructor release LESSON`)",
            file=sys.stderr,
            flush=True,
        )
    if why_not := sandbox.bwrap_works():
        print(
            f"WARNING: submissions will run without the sandbox's protections: {why_not}", file=sys.stderr, flush=True
        )


def feedback(root: Path, only: Sequence[str] | None = None) -> list[str]:
    """Write HTML feedback for every autograded lesson into ``feedback/``."""
    graded = root / "autograded"
    if not graded.is_dir():
        raise InstructorError(f"nothing to give feedback on: {graded} does not exist (run autograde first)")
    available = sorted({p.name for student in graded.iterdir() if student.is_dir() for p in student.iterdir()})
    chosen = _pick(available, only, "autograded lesson")
    _writable(root, "feedback")
    _each(root, "generate_feedback", chosen, not only, "--force")
    return chosen


def export(root: Path, to: Path) -> Path:
    """Export all grades, with status and flag columns, to CSV at ``to`` (whole or not at all)."""
    if not (root / layout.GRADEBOOK).is_file():
        raise InstructorError(f"no gradebook at {root / layout.GRADEBOOK}: release and autograde first")
    target = (root / to).resolve()
    _writable(target.parent)
    from flowlib.course.grader.export import export as write_csv  # seconds of imports: after the checks

    return write_csv(root, target)
