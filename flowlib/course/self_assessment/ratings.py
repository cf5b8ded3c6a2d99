"""The learner's ratings: append-only JSON lines in ``<course>/.flowlib/ratings.jsonl``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flowlib.course.self_assessment.objectives import Objectives, load_objectives
from flowlib.course.self_assessment.places import ratings_path


def _version() -> str:
    try:
        from flowlib import __version__

        return str(__version__)
    except Exception:  # pragma: no cover - only when flowlib is half-imported
        return "unknown"


def _is_rating(value: Any) -> bool:
    """A whole number from 1 to 5 (``True`` is not a rating)."""
    return not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= 5


def _check_rating(objective: str, value: Any) -> int:
    if not _is_rating(value):
        raise ValueError(
            f"the rating for {objective!r} must be a whole number from 1 to 5; got {value!r} ({type(value).__name__})"
        )
    return int(value)


def _validate(lesson: str, ratings: Mapping[str, Any], objectives: Objectives) -> dict[str, int]:
    valid = {o.id for o in objectives.for_lesson(lesson)}  # raises for an unknown lesson
    if not isinstance(ratings, Mapping) or not ratings:
        raise ValueError(
            f"give the ratings as a dict {{objective id: 1..5}}, e.g. {{{sorted(valid)[0]!r}: 4}}; got {ratings!r}"
        )
    unknown = [key for key in ratings if key not in valid]
    if unknown:
        raise ValueError(f"unknown objective id(s) {unknown} for lesson {lesson!r}; expected some of {sorted(valid)}")
    return {key: _check_rating(key, value) for key, value in ratings.items()}


def record(
    lesson: str,
    ratings: Mapping[str, int],
    *,
    course: Path | str | None = None,
    objectives: Objectives | None = None,
    when: datetime | None = None,
    via: str = "python",
) -> list[dict[str, Any]]:
    """Append one rating per objective to ``<course>/.flowlib/ratings.jsonl``; return the events.

    Everything is validated before anything is written: an unknown lesson or objective id, or
    a rating that is not a whole number from 1 to 5, raises ``ValueError`` and writes nothing.
    Earlier ratings are never changed; the latest rating of an objective is the one that counts
    in summaries, the earlier ones draw the progress picture.
    """
    objectives = objectives or load_objectives()
    checked = _validate(lesson, ratings, objectives)
    stamp = (when or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
    events = [
        {"timestamp": stamp, "lesson": lesson, "objective": key, "rating": value, "flowlib": _version(), "via": via}
        for key, value in checked.items()
    ]
    path = ratings_path(course)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(event, sort_keys=False) + "\n" for event in events)
    # A file whose last line lost its newline (a crash, a hand edit) must not swallow the new
    # line: start on a fresh line. The existing bytes are never touched.
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as existing:
            existing.seek(-1, os.SEEK_END)
            if existing.read(1) != b"\n":
                text = "\n" + text
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return events


@dataclass
class RatingsLog:
    """What :func:`read_ratings` found: the good events, in file order, and the problems."""

    path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    exists: bool = True

    def message(self) -> str:
        """A sentence or two for the learner: no ratings yet, or which lines were skipped."""
        if not self.exists:
            return f'No ratings yet: {self.path} does not exist. Rate a lesson with rate("NN_slug") to start it.'
        lines = []
        if not self.events and not self.problems:
            lines.append(f"No ratings yet: {self.path} is empty.")
        if self.problems:
            lines.append(
                f"{len(self.problems)} line(s) of {self.path} could not be read and are skipped "
                f"(the file is left as it is; the other {len(self.events)} rating(s) are used):"
            )
            lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)


def _parse_line(number: int, line: str) -> tuple[dict[str, Any] | None, str]:
    try:
        event = json.loads(line)
    except json.JSONDecodeError as error:
        return None, f"line {number}: not valid JSON ({error.msg}): {line[:80]!r}"
    if not isinstance(event, dict):
        return None, f"line {number}: expected a JSON object, got {type(event).__name__}: {line[:80]!r}"
    missing = [k for k in ("timestamp", "lesson", "objective", "rating") if k not in event]
    if missing:
        return None, f"line {number}: missing field(s) {missing}: {line[:80]!r}"
    rating = event["rating"]
    if not _is_rating(rating):
        return None, f"line {number}: rating {rating!r} is not a whole number from 1 to 5"
    try:
        when = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
    except ValueError:
        return None, f"line {number}: timestamp {event['timestamp']!r} is not an ISO 8601 time"
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return {**event, "time": when}, ""


def read_ratings(course: Path | str | None = None, *, path: Path | str | None = None) -> RatingsLog:
    """Every readable rating event of the ratings file, in file order (oldest first).

    Never raises for a missing or damaged file and never changes it: a missing file gives an
    empty log with ``exists=False``; unreadable lines are listed in ``problems`` (with their
    line numbers) and skipped. Each event gains ``time``, its timestamp as a ``datetime``.
    """
    file = Path(path) if path is not None else ratings_path(course)
    log = RatingsLog(path=file)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        log.exists = False
        return log
    except OSError as error:
        log.problems.append(f"the file could not be read: {error}")
        return log
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        try:
            line = line_bytes.decode("utf-8").strip()
        except UnicodeDecodeError:
            log.problems.append(f"line {number}: not UTF-8 text: {line_bytes[:40]!r}")
            continue
        if not line:
            continue
        event, problem = _parse_line(number, line)
        if event is None:
            log.problems.append(problem)
        else:
            log.events.append(event)
    return log


def latest_ratings(log: RatingsLog, objectives: Objectives | None = None) -> dict[str, dict[str, Any]]:
    """``{objective id: its latest event}``: the last line in the file wins.

    With ``objectives``, a rating given under an objective's old id (before its lesson was
    renumbered, see ``renamed`` in objectives.json) counts for the objective's id now.
    """
    renamed = objectives.renamed if objectives is not None else {}
    latest: dict[str, dict[str, Any]] = {}
    for event in log.events:
        objective = str(event["objective"])
        latest[renamed.get(objective, objective)] = event
    return latest
