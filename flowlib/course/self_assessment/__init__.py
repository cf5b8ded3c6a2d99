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

The progress picture and the calibration (self-rating beside exercise scores) are in
:mod:`flowlib.course.calibration`; ``flowlib self-assess`` (:func:`main`) is the command line.
"""

from flowlib.course.self_assessment.form import instructions, rate, rate_all, rating_form
from flowlib.course.self_assessment.objectives import Objective, Objectives, lessons, load_objectives, objectives_for
from flowlib.course.self_assessment.places import COURSE_ENV, OBJECTIVES_ENV, course_dir, objectives_path, ratings_path
from flowlib.course.self_assessment.ratings import RatingsLog, latest_ratings, read_ratings, record

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


def main(argv: list[str] | None = None) -> int:
    """``flowlib self-assess``: see :func:`flowlib.course.calibration.main`."""
    from flowlib.course.calibration import main as _main

    return _main(argv)
