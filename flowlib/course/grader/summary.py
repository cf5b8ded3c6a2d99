"""What an instructor reads after a run: totals per learner, and per lesson which tests fail most.

``summary(root, stem)`` writes, beside the grades CSV:

* ``<stem>_tests.csv``: one row per learner, lesson and test cell (points, passed, the message);
* ``<stem>_learners.csv``: per learner, the total over every lesson and how many are graded,
  pending, failed or not submitted;
* ``<stem>_pass_rates.csv`` and ``<stem>_pass_rates.png``: per lesson, the fraction of graded
  learners passing each test cell, the hardest first.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from flowlib.course.grader.report import reports
from flowlib.course.grader.surface import spreadsheet_safe


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """``rows`` as a quoted CSV at ``path``, written whole or not at all. No text cell starts a
    spreadsheet formula (:func:`~.surface.spreadsheet_safe`): learner text lands in several."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, quoting=csv.QUOTE_NONNUMERIC, restval="")
        writer.writeheader()
        writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in rows)
    os.replace(partial, path)


def pass_rates(root: Path) -> dict[str, list[tuple[str, float, int]]]:
    """``{lesson: [(grade_id, fraction passing, learners graded), ...]}``, the hardest first."""
    passed: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for report in reports(root).values():
        if report.status == "graded":
            for verdict in report.verdicts:
                passed[(report.lesson, verdict["grade_id"])].append(not verdict["message"])
    table: dict[str, list[tuple[str, float, int]]] = defaultdict(list)
    for (lesson, grade_id), results in sorted(passed.items()):
        table[lesson].append((grade_id, sum(results) / len(results), len(results)))
    return {lesson: sorted(rows, key=lambda row: row[1]) for lesson, rows in table.items()}


def _picture(rates: dict[str, list[tuple[str, float, int]]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(lesson, grade_id, rate) for lesson, tests in sorted(rates.items()) for grade_id, rate, _ in tests]
    height = max(2.5, 0.28 * len(rows) + 1)
    figure, axis = plt.subplots(figsize=(8, height))
    labels = [grade_id for _, grade_id, _ in rows]
    axis.barh(range(len(rows)), [rate for *_, rate in rows], color=plt.cm.viridis([rate for *_, rate in rows]))
    axis.set_yticks(range(len(rows)), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_xlabel("fraction of graded learners passing")
    axis.set_title("Which tests fail most (per lesson, hardest first)")
    figure.tight_layout()
    figure.savefig(target, dpi=120)
    plt.close(figure)


def summary(root: Path, grades: list[dict[str, Any]], stem: Path) -> list[Path]:
    """Write the three tables and the picture next to ``stem`` (the grades CSV without .csv)."""
    found = reports(root)
    tests = [
        {
            "student_id": r.student,
            "lesson": r.lesson,
            "grade_id": v["grade_id"],
            "points": v["points"],
            "max_points": v["max_points"],
            "passed": int(not v["message"]),
            "message": v["message"],
        }
        for r in found.values()
        if r.status == "graded"
        for v in r.verdicts
    ]
    per_learner: dict[str, dict[str, Any]] = {}
    for row in grades:
        learner = per_learner.setdefault(
            row["student_id"],
            {
                "student_id": row["student_id"],
                "score": 0.0,
                "max_score": 0.0,
                "graded": 0,
                "pending": 0,
                "failed": 0,
                "not submitted": 0,
            },
        )
        learner["max_score"] += float(row["max_score"] or 0)
        learner["score"] += float(row["score"] or 0)
        learner[row["status"]] += 1
    rates = pass_rates(root)
    rate_rows = [
        {"lesson": lesson, "grade_id": g, "fraction_passing": round(rate, 4), "learners": n}
        for lesson, rows in sorted(rates.items())
        for g, rate, n in rows
    ]
    paths = [Path(f"{stem}_tests.csv"), Path(f"{stem}_learners.csv"), Path(f"{stem}_pass_rates.csv")]
    write_csv(paths[0], ["student_id", "lesson", "grade_id", "points", "max_points", "passed", "message"], tests)
    write_csv(
        paths[1],
        ["student_id", "score", "max_score", "graded", "pending", "failed", "not submitted"],
        list(per_learner.values()),
    )
    write_csv(paths[2], ["lesson", "grade_id", "fraction_passing", "learners"], rate_rows)
    if rate_rows:
        _picture(rates, Path(f"{stem}_pass_rates.png"))
        paths.append(Path(f"{stem}_pass_rates.png"))
    return paths
