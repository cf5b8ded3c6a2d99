"""Self-assessment: the course's learning objectives, the learner's ratings, and a calibration.

Every lesson ends with::

    from flowlib.course.self_assessment import rate
    rate("02_self_attention")

which shows one 1-5 slider per objective of that lesson and a *Save* button. Nothing is
written until *Save* is clicked. Where widgets are not available (plain Python, a terminal,
an automated run), ``rate`` prints how to rate instead, with :func:`record`::

    from flowlib.course.self_assessment import record
    record("02_self_attention", {"02.self-attention": 4, "02.scaled-dot-product": 3})

Where ratings live
    ``<course>/.flowlib/ratings.jsonl``: JSON lines, one rating per line, appended and never
    rewritten (see :func:`course_dir` for how ``<course>`` is found). A line that cannot be
    read is reported with the file and line number; the other lines are still used and the
    file is left exactly as it is.

The progress picture and the calibration (self-rating beside exercise scores) are in
:mod:`flowlib.course.calibration`; ``flowlib self-assess`` (:func:`main`) is the command line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "Objective",
    "Objectives",
    "RatingsLog",
    "course_dir",
    "ratings_path",
    "objectives_path",
    "load_objectives",
    "lessons",
    "objectives_for",
    "record",
    "read_ratings",
    "latest_ratings",
    "rate",
    "rate_all",
    "rating_form",
    "instructions",
    "main",
]

COURSE_ENV = "FLOWLIB_COURSE_DIR"
OBJECTIVES_ENV = "FLOWLIB_OBJECTIVES"
RATINGS_FILE = Path(".flowlib") / "ratings.jsonl"
LESSON_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+$")
SCALE_DEFAULT = {
    "1": "I cannot do this yet",
    "2": "I have seen it",
    "3": "I can do it with notes",
    "4": "I can do it alone",
    "5": "I could teach it",
}
_REPO_OBJECTIVES = Path(__file__).resolve().parents[2] / "self_assessment" / "objectives.json"


# ---------------------------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """One learning objective: what the learner rates, where it is taught, what evidences it."""

    id: str
    lesson: str
    statement: str
    sections: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()


@dataclass(frozen=True)
class Objectives:
    """All objectives of the course, in course order, and the 1-5 scale's wording."""

    items: tuple[Objective, ...]
    scale: Mapping[str, str]
    path: Path | None = None
    renamed: Mapping[str, str] = field(default_factory=dict)
    """Old objective id -> its id now (a lesson renumbered keeps the ratings given to it)."""

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def by_id(self) -> dict[str, Objective]:
        return {o.id: o for o in self.items}

    def lessons(self) -> list[str]:
        return list(dict.fromkeys(o.lesson for o in self.items))

    def for_lesson(self, lesson: str) -> list[Objective]:
        found = [o for o in self.items if o.lesson == lesson]
        if not found:
            raise ValueError(f"unknown lesson {lesson!r}; expected one of {self.lessons()}")
        return found


def course_dir(start: Path | str | None = None) -> Path:
    """The learner's course folder, where ``.flowlib/ratings.jsonl`` lives.

    1. ``$FLOWLIB_COURSE_DIR`` when set;
    2. else the first of ``start`` (default: the current folder) and its parents that holds
       ``nbgrader_config.py`` or a ``.flowlib`` folder;
    3. else the parent of ``start`` when ``start`` is a lesson folder (``NN_slug``), as
       nbgrader's ``fetch_assignment`` lays lessons out;
    4. else ``start`` itself.
    """
    env = os.environ.get(COURSE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    here = Path(start if start is not None else os.getcwd()).expanduser().resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() or (folder / ".flowlib").is_dir():
            return folder
    if LESSON_PATTERN.match(here.name):
        return here.parent
    return here


def ratings_path(course: Path | str | None = None) -> Path:
    """``<course>/.flowlib/ratings.jsonl`` (``course`` defaults to :func:`course_dir`)."""
    return (Path(course).expanduser().resolve() if course is not None else course_dir()) / RATINGS_FILE


def objectives_path(course: Path | str | None = None) -> Path:
    """Where the objectives data file is read from.

    ``$FLOWLIB_OBJECTIVES`` if set, else ``<course>/self_assessment/objectives.json`` if it
    exists, else the copy next to this package (the course repository).
    """
    env = os.environ.get(OBJECTIVES_ENV)
    if env:
        return Path(env).expanduser()
    try:
        candidate = (Path(course) if course is not None else course_dir()) / "self_assessment" / "objectives.json"
        if candidate.is_file():
            return candidate
    except OSError:
        pass
    return _REPO_OBJECTIVES


def load_objectives(path: Path | str | None = None) -> Objectives:
    """Read the objectives data file (default: :func:`objectives_path`)."""
    source = Path(path) if path is not None else objectives_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the course objectives file {source} does not exist; set {OBJECTIVES_ENV} to its path"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"the course objectives file {source} is not valid JSON: {error}") from None
    items = []
    for entry in data.get("objectives", []):
        items.append(
            Objective(
                id=str(entry["id"]),
                lesson=str(entry["lesson"]),
                statement=str(entry["statement"]),
                sections=tuple(str(s) for s in entry.get("sections", []) or []),
                exercises=tuple(str(e) for e in entry.get("exercises", []) or []),
            )
        )
    scale = {str(k): str(v) for k, v in (data.get("scale") or SCALE_DEFAULT).items()}
    renamed = {str(k): str(v) for k, v in (data.get("renamed") or {}).items()}
    return Objectives(items=tuple(items), scale=scale, path=source, renamed=renamed)


def lessons(objectives: Objectives | None = None) -> list[str]:
    """Lesson ids that have objectives, in course order."""
    return (objectives or load_objectives()).lessons()


def objectives_for(lesson: str, objectives: Objectives | None = None) -> list[Objective]:
    """The objectives of one lesson; ``ValueError`` listing the lessons if it is unknown."""
    return (objectives or load_objectives()).for_lesson(lesson)


# ---------------------------------------------------------------------------------------------
# Ratings: append-only JSON lines
# ---------------------------------------------------------------------------------------------


def _version() -> str:
    try:
        from flowlib import __version__

        return str(__version__)
    except Exception:  # pragma: no cover - only when flowlib is half-imported
        return "unknown"


def _check_rating(objective: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
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
            return f"No ratings yet: {self.path} does not exist. Rate a lesson with rate(\"NN_slug\") to start it."
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
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
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


# ---------------------------------------------------------------------------------------------
# rate(): sliders in a notebook, instructions elsewhere
# ---------------------------------------------------------------------------------------------


def _example_call(lesson: str, items: Sequence[Objective]) -> str:
    example = ", ".join(f'"{o.id}": {4 if i == 0 else 3}' for i, o in enumerate(items))
    return f'record("{lesson}", {{{example}}})'


def instructions(lesson: str, objectives: Objectives | None = None, course: Path | str | None = None) -> str:
    """How to rate ``lesson`` without widgets: the objectives, the scale and a ``record`` call."""
    objectives = objectives or load_objectives()
    items = objectives.for_lesson(lesson)
    scale = ", ".join(f"{k} = {v}" for k, v in sorted(objectives.scale.items()))
    width = max(len(o.id) for o in items)
    lines = [f"Self-assessment for {lesson}: rate each objective from 1 to 5 ({scale})."]
    lines += [f"  {o.id:<{width}}  {o.statement}" for o in items]
    lines += [
        "Sliders need ipywidgets in JupyterLab; here, rate from plain Python:",
        "  from flowlib.course.self_assessment import record",
        f"  {_example_call(lesson, items)}",
        f"or from a terminal: flowlib self-assess --rate {lesson}",
        f"Ratings are appended (never overwritten) to {ratings_path(course)}.",
    ]
    return "\n".join(lines)


class RatingForm:
    """The sliders, Save button and status line of one or more lessons (see :func:`rating_form`)."""

    def __init__(
        self,
        lesson: str | Sequence[str],
        *,
        course: Path | str | None = None,
        objectives: Objectives | None = None,
    ):
        import ipywidgets as widgets

        self.lessons = [lesson] if isinstance(lesson, str) else list(lesson)
        self.course = course
        self.objectives = objectives or load_objectives()
        self.items = [o for name in self.lessons for o in self.objectives.for_lesson(name)]
        log = read_ratings(course)
        previous = latest_ratings(log, self.objectives)
        scale = self.objectives.scale
        self.sliders: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}
        rows = []
        last_lesson = None
        for objective in self.items:
            if len(self.lessons) > 1 and objective.lesson != last_lesson:
                rows.append(widgets.HTML(value=f"<h4>{_escape(objective.lesson)}</h4>"))
                last_lesson = objective.lesson
            start = int(previous[objective.id]["rating"]) if objective.id in previous else 3
            slider = widgets.IntSlider(
                value=start, min=1, max=5, step=1, continuous_update=True, readout=True,
                description="", layout=widgets.Layout(width="220px"),
            )
            label = widgets.Label(value=scale.get(str(start), ""))
            slider.observe(lambda change, lab=label: setattr(lab, "value", scale.get(str(change["new"]), "")), "value")
            statement = widgets.HTML(value=f"<b>{objective.id}</b> &mdash; {_escape(objective.statement)}")
            rows.append(widgets.VBox([statement, widgets.HBox([slider, label])]))
            self.sliders[objective.id] = slider
            self.labels[objective.id] = label
        self.save_button = widgets.Button(description="Save", button_style="primary", icon="check",
                                          tooltip="Append these ratings to your ratings file")
        hint = "from your last ratings" if previous.keys() & self.sliders.keys() else "at 3"
        warning = f"<br><span style='color:#b00'>{_escape(log.message())}</span>" if log.problems else ""
        self.status = widgets.HTML(
            value=f"Not saved yet (sliders start {hint}). Move them, then click <b>Save</b>; "
            f"ratings are appended to <code>{_escape(str(ratings_path(course)))}</code>.{warning}"
        )
        self.save_button.on_click(lambda _button: self.save())
        title = self.lessons[0] if len(self.lessons) == 1 else "all lessons"
        header = widgets.HTML(
            value=f"<h3>Self-assessment: {_escape(title)}</h3>"
            + "1 = " + _escape(scale.get("1", "")) + " &hellip; 5 = " + _escape(scale.get("5", ""))
        )
        self.box = widgets.VBox([header, *rows, widgets.HBox([self.save_button]), self.status])

    def values(self) -> dict[str, int]:
        return {key: int(slider.value) for key, slider in self.sliders.items()}

    def save(self) -> list[dict[str, Any]]:
        """Append the sliders' values (what *Save* does); the status line says what happened."""
        by_lesson: dict[str, dict[str, int]] = {}
        values = self.values()
        for objective in self.items:
            by_lesson.setdefault(objective.lesson, {})[objective.id] = values[objective.id]
        events: list[dict[str, Any]] = []
        try:
            for name, ratings in by_lesson.items():
                events += record(name, ratings, course=self.course, objectives=self.objectives, via="widget")
        except Exception as error:  # shown to the learner, never lost in a log
            self.status.value = f"<span style='color:#b00'>Not saved: {_escape(str(error))}</span>"
            return events
        stamp = events[0]["timestamp"] if events else ""
        self.status.value = (
            f"Saved {len(events)} rating(s) at {stamp} to <code>{_escape(str(ratings_path(self.course)))}</code>. "
            "Rate again any time: earlier ratings are kept."
        )
        return events

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def rating_form(
    lesson: str | Sequence[str], *, course: Path | str | None = None, objectives: Objectives | None = None
) -> RatingForm:
    """Build (not display) the rating widgets of one lesson or several; needs ipywidgets."""
    return RatingForm(lesson, course=course, objectives=objectives)


def _show(lessons_to_rate: list[str], objectives: Objectives, course: Path | str | None, widgets: bool | None) -> None:
    from flowlib.viz import widgets_available  # here: viz loads matplotlib and torch

    use_widgets = widgets_available() if widgets is None else widgets
    if use_widgets:
        try:
            form = rating_form(lessons_to_rate, course=course, objectives=objectives)
        except ImportError:
            pass
        else:
            from IPython.display import display

            display(form.box)
            return
    log = read_ratings(course)
    if log.problems:
        print(log.message())
    for name in lessons_to_rate:
        print(instructions(name, objectives, course))


def rate(lesson: str, *, course: Path | str | None = None, widgets: bool | None = None) -> None:
    """Rate yourself 1-5 on each objective of ``lesson``.

    In JupyterLab: one slider per objective, a *Save* button and a status line; nothing is
    written until *Save* is clicked. Elsewhere (no ipywidgets, plain Python, a test run):
    prints the objectives and the :func:`record` call to rate them. Writes nothing itself.
    ``widgets`` forces (``True``) or prevents (``False``) the sliders.
    """
    objectives = load_objectives()
    objectives.for_lesson(lesson)  # an unknown lesson is the author's mistake: say so
    _show([lesson], objectives, course, widgets)


def rate_all(*, course: Path | str | None = None, widgets: bool | None = None) -> None:
    """:func:`rate` for every objective of the course, in one form with one *Save* button."""
    objectives = load_objectives()
    _show(objectives.lessons(), objectives, course, widgets)


def main(argv: list[str] | None = None) -> int:
    """``flowlib self-assess``: see :func:`flowlib.course.calibration.main`."""
    from flowlib.course.calibration import main as _main

    return _main(argv)
