"""The coordinator: find the submissions, grade each one as an independent job, record.

It is the only writer of ``gradebook.db``. One broken submission never stops the others: it
is recorded as failed, with its reason, and every other grade of the run is kept. The
gradebook is copied to ``gradebook.db.bak`` before the first write of a run.

Each lesson's solution is graded in the sandbox first, as a submission is: a lesson whose
solution does not grade cleanly is refused. That check is remembered in ``.flowlib/grader/``
under a key of everything grades depend on: the source and released notebooks and flowlib's code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

import flowlib
from flowlib.course import layout
from flowlib.course.grader import gradebook, roster, sandbox
from flowlib.course.grader.grade import Job, Lesson, SolutionFails, grade, reference
from flowlib.course.grader.report import Report
from flowlib.course.grader.submitted import Refusal, Submission, find_submissions
from flowlib.course.grader.surface import without_outputs


@dataclass
class Run:
    reports: list[Report] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    skipped: list[Submission] = field(default_factory=list)  # graded already

    @property
    def ok(self) -> bool:
        return not self.refused and all(r.status == "graded" for r in self.reports)


def _fingerprint(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    for path in sorted(Path(flowlib.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def load_lesson(root: Path, name: str) -> Lesson:
    """The lesson, once its solution is known to grade cleanly (checked in the sandbox once per
    version of the lesson and of flowlib; the check is remembered in ``.flowlib/grader/``)."""
    source_bytes = layout.notebook(root, name, layout.SOURCE).read_bytes()
    released_bytes = layout.notebook(root, name).read_bytes()
    checked = root / layout.STATE / "grader" / f"{name}-{_fingerprint(source_bytes, released_bytes)}.json"
    lesson = Lesson(name, json.loads(source_bytes), json.loads(released_bytes), key=checked.stem)
    if not checked.is_file():
        seconds = reference(lesson)
        checked.parent.mkdir(parents=True, exist_ok=True)
        for stale in checked.parent.glob(f"{name}-*.json"):
            stale.unlink()
        checked.write_text(json.dumps({"solution": "grades cleanly", "seconds": round(seconds, 2)}))
    return lesson


def _lesson_or_error(root: Path, name: str) -> Lesson | str:
    try:
        return load_lesson(root, name)
    except SolutionFails as error:
        return str(error)


def _check_gradebook(root: Path) -> None:
    """Refuse to write into a damaged gradebook; back it up before the run's first write."""
    db = root / layout.GRADEBOOK
    if not db.exists():
        return
    with sqlite3.connect(db) as connection:
        answer = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if answer != "ok":
        raise ValueError(f"{db} is damaged ({answer}); the last good copy is {db}.bak")
    shutil.copy2(db, db.with_name(db.name + ".bak"))


def _done(root: Path, submission: Submission, data: bytes, key: str) -> bool:
    """True when this very file was graded already by this grader (resume after an interruption)."""
    saved = root / "reports" / submission.lesson / f"{submission.student}.json"
    if not saved.is_file():
        return False
    try:
        report = Report.load(saved)
    except (ValueError, TypeError):
        return False
    return report.status == "graded" and report.sha256 == hashlib.sha256(data).hexdigest() and report.grader == key


def _results(work: list[Job], jobs: int, scheduler: str | None) -> Iterator[tuple[Job, Report]]:
    """Each job with its report, as jobs finish: in threads here, or on a Dask cluster."""
    if scheduler:
        from distributed import Client
        from distributed import as_completed as finished

        with Client(scheduler) as client:
            futures = {client.submit(grade, job, pure=False): job for job in work}
            for future in finished(futures):
                yield futures[future], _report(future, futures[future])
        return
    with ThreadPoolExecutor(jobs) as pool:  # each thread waits on its own sandboxed kernel
        futures = {pool.submit(grade, job): job for job in work}
        for future in as_completed(futures):
            yield futures[future], _report(future, futures[future])


def _report(future, job: Job) -> Report:
    try:
        return future.result()
    except Exception as error:  # a grader bug: this submission fails, the others go on
        return Report(
            job.student, job.lesson.name, status="failed", reason=f"the grader failed: {type(error).__name__}: {error}"
        )


def autograde(
    root: Path,
    lessons: Sequence[str],
    *,
    only: Sequence[str] | None = None,
    students: Sequence[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    full: bool = False,
    say: Callable[[str], None] | None = None,
) -> Run:
    """Grade every submission (or those of ``only`` lessons / ``students``) into the gradebook.

    ``jobs`` submissions are graded at once (default: the number of cores), each in a sandbox
    of its own, or on the Dask cluster at ``scheduler``; this process alone writes the
    gradebook, as each job finishes. A submission graded already (the same file, the same
    lesson and grader) is skipped unless ``force``: an interrupted run resumes where it stopped.
    ``full``: every cell of the lesson runs, not only those its graded cells need.
    """
    found, refused = find_submissions(root, lessons, students, only)
    run = Run(refused=list(refused))
    _check_gradebook(root)
    sandbox.remove_abandoned()  # what a run killed with kill -9 left in the temporary folder
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(found) or 1))
    released = gradebook.released_lessons(
        root
    )  # asked first: a lesson nbgrader has never seen is not graded for nothing
    names = sorted({s.lesson for s in found} & released)
    with ThreadPoolExecutor(jobs) as pool:  # the solutions' reference runs, once per lesson
        loaded = dict(zip(names, pool.map(lambda name: _lesson_or_error(root, name), names), strict=True))
    loaded.update({s.lesson: gradebook.not_released(s.lesson) for s in found if s.lesson not in released})
    usable = {name: lesson for name, lesson in loaded.items() if isinstance(lesson, Lesson)}
    for submission in [s for s in found if s.lesson not in usable]:
        found.remove(submission)  # the course's fault, not the learner's: graded once the solution is fixed
        run.refused.append(
            Refusal(
                submission.notebook,
                submission.student,
                submission.lesson,
                f"{submission.notebook}: not graded: {loaded[submission.lesson]}",
            )
        )
    work: list[Job] = []
    where: dict[int, Submission] = {}
    for submission in found:
        # the one place a submission is read: what its outputs claim is never stored or shown
        data, lesson = without_outputs(submission.notebook.read_bytes()), usable[submission.lesson]
        if not force and _done(root, submission, data, lesson.key):
            run.skipped.append(submission)
            continue
        job = Job(
            submission.student,
            lesson,
            data,
            submission.extra_files,
            slot=len(work) % jobs,
            threads=1 if jobs > 1 else None,
            sliced=not full,
        )
        work.append(job)
        where[id(job)] = submission
    bar = tqdm(total=len(work), unit="submission", desc="grading", disable=not work, file=sys.stderr)
    say, learners = say or bar.write, roster.names(root)
    if run.skipped:
        say(f"{len(run.skipped)} submission(s) graded already (the same file): skipped; --force regrades them")
    for job, report in _results(work, jobs, scheduler):
        submission = where[id(job)]
        report.grader, report.name = job.lesson.key, learners.get(report.student, "")
        try:
            submitted = json.loads(job.notebook)
        except ValueError:
            submitted = None
        gradebook.record(root, report, submitted, job.lesson.released, submission.timestamp)
        run.reports.append(report)
        bar.update()
        say(report.summary())
    bar.close()
    off = {p["name"]: p["detail"] for r in run.reports for p in r.protections if not p["on"]}
    for name, detail in off.items():
        say(f"WARNING: protection OFF while grading: {name}: {detail}")
    for refusal in run.refused:
        say(f"refused: {refusal.reason}")
    return run
