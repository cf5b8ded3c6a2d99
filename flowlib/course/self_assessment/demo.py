"""A made-up learner, in memory only: for the self-assessment's pictures and examples."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flowlib.course.self_assessment.objectives import Objectives, load_objectives
from flowlib.course.self_assessment.ratings import RatingsLog


def demo_session(
    objectives: Objectives | None = None,
) -> tuple[Objectives, RatingsLog, dict[str, dict[str, tuple[float, float]]]]:
    """A made-up learner, in memory only (nothing is read or written): for pictures and examples.

    Returns objectives whose exercises are replaced by one made-up exercise each, a ratings
    log with two rounds of ratings a week apart, and scores for those exercises.
    """
    import random
    from dataclasses import replace
    from datetime import timedelta, timezone

    base = objectives or load_objectives()
    generator = random.Random(0)
    items = tuple(replace(o, exercises=(f"demo_{o.id}",)) for o in base)
    demo = Objectives(items=items, scale=base.scale, path=None)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
    events: list[dict[str, Any]] = []
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    for objective in items:
        first = generator.randint(1, 3)
        second = min(5, first + generator.randint(0, 2))
        for week, rating in ((0, first), (1, second)):
            when = start + timedelta(days=7 * week)
            events.append(
                {
                    "timestamp": when.isoformat(),
                    "time": when,
                    "lesson": objective.lesson,
                    "objective": objective.id,
                    "rating": rating,
                    "flowlib": "demo",
                }
            )
        earned = float(generator.choice([0, 1, 2, 3, 4]))
        scores.setdefault(objective.lesson, {})[f"demo_{objective.id}"] = (earned, 4.0)
    return demo, RatingsLog(path=Path("(demo learner, in memory)"), events=events), scores
