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

One module per idea::

    places       the course folder, the ratings file, the objectives file
    objectives   the learning objectives of every lesson and the 1-5 scale
    ratings      the append-only ratings log: record, read, latest
    form         rate() and rate_all(): sliders in a notebook, instructions elsewhere
    scores       exercise scores per grade cell, from feedback, autograded or local tests
    calibration  each objective's self-rating beside its exercise score
    plots        the progress and calibration pictures
    demo         a made-up learner, in memory, for pictures and examples
    command      ``flowlib self-assess`` (:func:`main`)
"""

from flowlib.course.self_assessment.calibration import Calibration, CalibrationRow, calibrate
from flowlib.course.self_assessment.command import main, ratings_report
from flowlib.course.self_assessment.demo import demo_session
from flowlib.course.self_assessment.form import instructions, rate, rate_all, rating_form
from flowlib.course.self_assessment.objectives import (
    Objective,
    Objectives,
    lessons_with_objectives,
    load_objectives,
    objectives_for,
)
from flowlib.course.self_assessment.places import COURSE_ENV, OBJECTIVES_ENV, course_dir, objectives_path, ratings_path
from flowlib.course.self_assessment.plots import plot_calibration, plot_overview, plot_progress
from flowlib.course.self_assessment.ratings import RatingsLog, latest_ratings, read_ratings, record
from flowlib.course.self_assessment.scores import (
    LessonScores,
    exercise_groups,
    lesson_scores,
    parse_feedback_html,
    scores_from_notebook_outputs,
)

__all__ = [
    "COURSE_ENV",
    "OBJECTIVES_ENV",
    "Objective",
    "Objectives",
    "RatingsLog",
    "course_dir",
    "ratings_path",
    "objectives_path",
    "load_objectives",
    "lessons_with_objectives",
    "objectives_for",
    "record",
    "read_ratings",
    "latest_ratings",
    "rate",
    "rate_all",
    "rating_form",
    "instructions",
    "LessonScores",
    "CalibrationRow",
    "Calibration",
    "parse_feedback_html",
    "scores_from_notebook_outputs",
    "exercise_groups",
    "lesson_scores",
    "calibrate",
    "plot_progress",
    "plot_calibration",
    "plot_overview",
    "demo_session",
    "ratings_report",
    "main",
]
