"""The similarity report an instructor reads: ``reports/similarity/<lesson>.html`` (each exercise's
baseline and threshold, the pairs above it with their code side by side, the matching lines
marked) and ``reports/similarity/<lesson>.csv`` (the same pairs, one a row, which the grades CSV's
``similar_to`` column reads). Learner code is escaped: it is shown, never interpreted.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

from flowlib.course.grader.similarity import Pair, Result
from flowlib.course.grader.summary import write_csv

FOLDER = Path("reports") / "similarity"
COLUMNS = ["lesson", "exercise", "student", "similar_to", "score", "threshold", "baseline", "flowlib"]

STYLE = """body{font-family:sans-serif;margin:2em;max-width:90em}
table.code{border-collapse:collapse;width:100%;table-layout:fixed}
table.code td{vertical-align:top;width:50%;padding:0 .5em}
pre{font-size:85%;margin:0;white-space:pre-wrap}
.match{background:#ffe08a}
.n{color:#999;user-select:none}
.pair{border-top:1px solid #ccc;margin-top:1.5em}"""


def _code(text: str, marked: set[int]) -> str:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        shown = f'<span class="n">{number:3d}</span> {html.escape(line)}'
        rows.append(f'<span class="match">{shown}</span>' if number in marked else shown)
    return "<pre>" + "\n".join(rows) + "</pre>"


def _pair(pair: Pair) -> str:
    left, right = pair.lines()
    other = "flowlib's source" if pair.twin else "another learner"
    return (
        f'<div class="pair"><h3>{html.escape(pair.first.student)} and {html.escape(pair.second.student)}'
        f" ({other}): {pair.score:.2f}</h3>"
        f'<table class="code"><tr><th>{html.escape(pair.first.student)}</th><th>{html.escape(pair.second.student)}</th></tr>'
        f"<tr><td>{_code(pair.first.code, left)}</td><td>{_code(pair.second.code, right)}</td></tr></table></div>"
    )


def page(result: Result) -> str:
    """The report as one HTML page."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Similarity: {html.escape(result.lesson)}</title>",
        f"<style>{STYLE}</style></head><body><h1>Similarity: {html.escape(result.lesson)}</h1>",
        "<p>Each exercise's code answers, names, literals, comments, layout and the order of independent lines "
        "set aside, compared with every other learner's and with flowlib's source of the exercise. "
        "A pair is listed when it is more alike than honest answers to that exercise are (its baseline: the "
        "95th percentile over all pairs of learners, plus a margin). This is a flag for a person to judge: "
        "no score was changed. Similar code is not proof of copying; read the pair.</p>",
        "<table><tr><th>exercise</th><th>answers compared</th><th>baseline</th><th>flagged at</th>"
        "<th>flowlib twins</th><th>pairs</th></tr>",
    ]
    for exercise in result.exercises:
        baseline = f"{exercise.baseline:.2f}" if exercise.baseline is not None else "too few answers to measure"
        limit = f"{exercise.threshold:.2f}" if exercise.threshold <= 1 else "never (honest answers are this alike)"
        count = sum(p.exercise == exercise.grade_id for p in result.pairs)
        parts.append(
            f"<tr><td>{html.escape(exercise.grade_id)}</td><td>{exercise.answers}</td><td>{baseline}</td>"
            f"<td>{limit}</td><td>{html.escape(', '.join(exercise.twins) or 'none declared')}</td><td>{count}</td></tr>"
        )
    parts.append("</table>")
    for exercise in result.exercises:
        pairs = [p for p in result.pairs if p.exercise == exercise.grade_id]
        if pairs:
            parts.append(f"<h2>{html.escape(exercise.grade_id)}: {len(pairs)} pair(s)</h2>")
            parts.extend(_pair(p) for p in pairs)
    if result.notes:
        parts.append("<h2>Not compared</h2><ul>")
        parts.extend(f"<li>{html.escape(note)}</li>" for note in result.notes)
        parts.append("</ul>")
    if not result.pairs:
        parts.append("<p>No pair is above its exercise's threshold.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(root: Path, result: Result) -> Path:
    """Write the lesson's HTML report and its CSV of pairs; return the HTML's path."""
    folder = root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    limits = {e.grade_id: e for e in result.exercises}
    rows = [
        {
            "lesson": result.lesson,
            "exercise": p.exercise,
            "student": p.first.student,
            "similar_to": p.second.student,
            "score": round(p.score, 3),
            "threshold": round(limits[p.exercise].threshold, 3),
            "baseline": "" if limits[p.exercise].baseline is None else round(limits[p.exercise].baseline or 0, 3),
            "flowlib": int(p.twin),
        }
        for p in result.pairs
    ]
    write_csv(folder / f"{result.lesson}.csv", COLUMNS, rows)
    target = folder / f"{result.lesson}.html"
    partial = target.with_name(target.name + ".partial")
    partial.write_text(page(result), encoding="utf-8")
    partial.replace(target)
    return target


def similar_to(root: Path) -> dict[tuple[str, str], str]:
    """``{(student, lesson): "other (exercise, 0.93); ..."}`` from every lesson's CSV of pairs."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted((root / FOLDER).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                said = f"({row['exercise']}, {row['score']})"
                found.setdefault((row["student"], row["lesson"]), []).append(f"{row['similar_to']} {said}")
                if row["flowlib"] != "1":
                    found.setdefault((row["similar_to"], row["lesson"]), []).append(f"{row['student']} {said}")
    return {key: "; ".join(values) for key, values in found.items()}
