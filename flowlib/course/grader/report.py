"""The per-submission report: scores per test cell, flags, and the protections that were on.

It is what an instructor reads when a grade looks wrong, and the source of the flag columns of
the exported CSV. It names the submission by its SHA-256, so a report cannot silently be
attached to another file. Reports live in ``reports/<lesson>/<student>.json`` (never shown
to a learner).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flowlib.course.grader.roster import shown

FLAG_KINDS = (
    "tampering",
    "delegation",
    "timeout",
    "kernel died",
    "output flood",
    "edited test cell",
    "deleted test cell",
    "deleted answer cell",
    "duplicated cell",
    "extra files",
    "protection off",
)


@dataclass
class Report:
    student: str
    lesson: str
    status: str = "graded"  # graded | failed (the reason says why)
    reason: str = ""
    sha256: str = ""
    graded_at: str = ""
    seconds: float = 0.0
    mode: str = ""  # which cells ran: "sliced: ran 9 of 31 cells", or "full: " and why
    protections: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, str]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # test cells: grade_id, points, max_points, message
    written: list[dict[str, Any]] = field(default_factory=list)  # written answers: points None while a person decides
    manual: list[str] = field(default_factory=list)  # written answers waiting for a person
    grader: str = ""  # the lesson and grader version it was graded with (a resume skips only these)
    name: str = ""  # the learner's name when graded (roster.csv), "" when only the id is known

    @property
    def score(self) -> float:
        return sum(v["points"] for v in self.verdicts)

    @property
    def max_score(self) -> float:
        return sum(v["max_points"] for v in self.verdicts)

    def flag_kinds(self) -> set[str]:
        return {flag["kind"] for flag in self.flags}

    def summary(self) -> str:
        who = shown(self.student, self.name)
        if self.status != "graded":
            return f"{who} / {self.lesson}: FAILED ({self.reason})"
        flags = f"; flags: {', '.join(sorted(self.flag_kinds()))}" if self.flags else ""
        return f"{who} / {self.lesson}: {self.score:g}/{self.max_score:g}{flags}"

    def save(self, root: Path) -> Path:
        """Write ``reports/<lesson>/<student>.json`` whole or not at all."""
        target = root / "reports" / self.lesson / f"{self.student}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".json.partial")
        partial.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        os.replace(partial, target)
        return target

    @classmethod
    def load(cls, path: Path) -> "Report":
        return cls(**json.loads(path.read_text()))


def reports(root: Path) -> dict[tuple[str, str], Report]:
    """Every saved report, by ``(student, lesson)``."""
    found = {}
    for path in sorted((root / "reports").glob("*/*.json")):
        report = Report.load(path)
        found[(report.student, report.lesson)] = report
    return found
