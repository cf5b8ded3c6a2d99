"""``rate()``: one slider per objective in a notebook and a *Save* button; instructions elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowlib.course.self_assessment.objectives import Objective, Objectives, load_objectives
from flowlib.course.self_assessment.places import ratings_path
from flowlib.course.self_assessment.ratings import latest_ratings, read_ratings, record


def _example_call(lesson: str, items: Sequence[Objective]) -> str:
    example = ", ".join(f'"{o.id}": {4 if i == 0 else 3}' for i, o in enumerate(items))
    return f'record("{lesson}", {{{example}}})'


def instructions(lesson: str, objectives: Objectives | None = None, course: Path | str | None = None) -> str:
    """How to rate ``lesson`` without widgets: the objectives, the scale and a ``record`` call."""
    objectives = objectives or load_objectives()
    items = objectives.for_lesson(lesson)
    width = max(len(o.id) for o in items)
    lines = [f"Self-assessment for {lesson}: rate each objective from 1 to 5 ({objectives.scale_text()})."]
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
        self, lesson: str | Sequence[str], *, course: Path | str | None = None, objectives: Objectives | None = None
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
                value=start,
                min=1,
                max=5,
                step=1,
                continuous_update=True,
                readout=True,
                description="",
                layout=widgets.Layout(width="220px"),
            )
            label = widgets.Label(value=scale.get(str(start), ""))
            slider.observe(lambda change, lab=label: setattr(lab, "value", scale.get(str(change["new"]), "")), "value")
            statement = widgets.HTML(value=f"<b>{objective.id}</b> &mdash; {_escape(objective.statement)}")
            rows.append(widgets.VBox([statement, widgets.HBox([slider, label])]))
            self.sliders[objective.id] = slider
            self.labels[objective.id] = label
        self.save_button = widgets.Button(
            description="Save",
            button_style="primary",
            icon="check",
            tooltip="Append these ratings to your ratings file",
        )
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
            + "1 = "
            + _escape(scale.get("1", ""))
            + " &hellip; 5 = "
            + _escape(scale.get("5", ""))
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
