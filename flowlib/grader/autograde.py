"""The coordinator: find the submissions, grade each one as an independent job, record.

It is the only writer of ``gradebook.db``. One broken submission never stops the others: it
is recorded as failed, with its reason, and every other grade of the run is kept. The
gradebook is copied to ``gradebook.db.bak`` before the first write of a run.

The reference records of each lesson's solution (what its checks report) are computed once
in the same sandbox and kept in ``.flowlib/grader/`` under a key of everything they depend
on: the source and released notebooks and flowlib's code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import flowlib
from flowlib.grader import collect, gradebook
from flowlib.grader.grade import Job, Lesson, grade, reference
from flowlib.grader.report import Report


@dataclass
class Run:
    reports: list[Report] = field(default_factory=list)
    refused: list[collect.Refusal] = field(default_factory=list)

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
    """The lesson with its reference records (computed in the sandbox, or read from the cache)."""
    source_bytes = (root / "solutions" / name / f"{name}.ipynb").read_bytes()
    released_bytes = (root / "notebooks" / name / f"{name}.ipynb").read_bytes()
    lesson = Lesson(name, json.loads(source_bytes), json.loads(released_bytes))
    cache = root / ".flowlib" / "grader" / f"{name}-{_fingerprint(source_bytes, released_bytes)}.json"
    if cache.is_file():
        records = json.loads(cache.read_text())
    else:
        records = reference(lesson)
        cache.parent.mkdir(parents=True, exist_ok=True)
        for stale in cache.parent.glob(f"{name}-*.json"):
            stale.unlink()
        cache.write_text(json.dumps(records))
    return Lesson(name, lesson.source, lesson.released, records)


def autograde(root: Path, lessons: Sequence[str], *, only: Sequence[str] | None = None,
              students: Sequence[str] | None = None, jobs: int | None = None,
              say: Callable[[str], None] = print) -> Run:
    """Grade every submission (or those of ``only`` lessons / ``students``) into the gradebook.

    ``jobs`` submissions are graded at once (default: the number of cores), each in a sandbox
    of its own; this process alone writes the gradebook, as each job finishes.
    """
    found, refused = collect.find_submissions(root, lessons, students, only)
    run = Run(refused=list(refused))
    if (root / "gradebook.db").exists():
        shutil.copy2(root / "gradebook.db", root / "gradebook.db.bak")
    loaded = {name: load_lesson(root, name) for name in sorted({s.lesson for s in found})}
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(found) or 1))
    threads = 1 if jobs > 1 else None
    work = [Job(s.student, loaded[s.lesson], s.notebook.read_bytes(), s.extra_files, slot=i % jobs, threads=threads)
            for i, s in enumerate(found)]
    with ThreadPoolExecutor(jobs) as pool:  # each job waits on its own sandboxed kernel
        pending = {pool.submit(grade, job): (job, submission) for job, submission in zip(work, found)}
        for number, done in enumerate(as_completed(pending), 1):
            job, submission = pending[done]
            report = done.result()
            try:
                submitted = json.loads(job.notebook)
            except ValueError:
                submitted = None
            gradebook.record(root, report, submitted, job.lesson.released, submission.timestamp)
            run.reports.append(report)
            say(f"[{number}/{len(work)}] {report.summary()}")
    off = {p["name"]: p["detail"] for r in run.reports for p in r.protections if not p["on"]}
    for name, detail in off.items():
        say(f"WARNING: protection OFF while grading: {name}: {detail}")
    for refusal in run.refused:
        say(f"refused: {refusal.reason}")
    return run
