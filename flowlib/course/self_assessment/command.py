"""``flowlib self-assess``: rate from a terminal, show the ratings and the calibration, save the pictures."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowlib.course.self_assessment.calibration import calibrate
from flowlib.course.self_assessment.objectives import Objectives, load_objectives
from flowlib.course.self_assessment.places import course_dir, objectives_path, ratings_path
from flowlib.course.self_assessment.plots import plot_overview
from flowlib.course.self_assessment.ratings import RatingsLog, read_ratings, record


def ratings_report(log: RatingsLog, objectives: Objectives) -> str:
    """Latest rating of each objective, with how many times it was rated and its first rating."""
    lines = []
    if log.message():
        lines.append(log.message())
    if not log.events:
        return "\n".join(lines)
    history: dict[str, list[dict[str, Any]]] = {}
    for event in log.events:
        history.setdefault(str(event["objective"]), []).append(event)
    lines.append(f"Your ratings ({len(log.events)} in {log.path}):")
    for objective in objectives:
        events = history.get(objective.id)
        if not events:
            lines.append(f"  {objective.id:<24} -    (not rated)  {objective.statement}")
            continue
        last = events[-1]
        trail = " -> ".join(str(e["rating"]) for e in events[-5:])
        lines.append(
            f"  {objective.id:<24} {last['rating']}/5  ({trail}; latest {last['time']:%Y-%m-%d %H:%M})  "
            f"{objective.statement}"
        )
    known = {o.id for o in objectives}
    unknown = sorted(set(history) - known)
    if unknown:
        lines.append(f"  (ratings of objectives no longer in the course, kept but not shown: {unknown})")
    return "\n".join(lines)


def prompt_ratings(
    lesson: str,
    objectives: Objectives,
    *,
    ask: Callable[[str], str] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Ask for a 1-5 rating of each objective of ``lesson``; empty skips, ``q`` stops.

    ``ask`` and ``say`` default to :func:`input` and :func:`print`.
    """
    ask = ask or (lambda prompt: input(prompt))
    say = say or print
    say(f"Rate yourself on {lesson}: " + objectives.scale_text())
    say("Type 1-5 and Enter; Enter alone skips an objective; q quits without saving.")
    answers: dict[str, int] = {}
    for objective in objectives.for_lesson(lesson):
        while True:
            reply = ask(f"{objective.statement}\n  [{objective.id}] 1-5: ").strip().lower()
            if reply == "":
                break
            if reply in {"q", "quit"}:
                return {}
            if reply in {"1", "2", "3", "4", "5"}:
                answers[objective.id] = int(reply)
                break
            say(f"  {reply!r} is not a rating: type a whole number from 1 to 5 (or Enter to skip)")
    return answers


def main(argv: list[str] | None = None) -> int:
    """``flowlib self-assess``: show, rate, plot. Returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="flowlib self-assess",
        description="Your self-ratings of the course objectives and how they compare with your exercise scores.",
    )
    parser.add_argument(
        "--course",
        metavar="DIR",
        type=Path,
        default=None,
        help="course folder (default: $FLOWLIB_COURSE_DIR, else found from the current folder)",
    )
    parser.add_argument("--show", action="store_true", help="print your ratings and the calibration table")
    parser.add_argument("--rate", metavar="LESSON", help="rate the objectives of LESSON (e.g. 02_self_attention)")
    parser.add_argument("--plot", metavar="FILE.png", type=Path, help="save the progress and calibration pictures")
    parser.add_argument("--student", help="student id, where feedback/ or autograded/ hold several students")
    parser.add_argument("--no-tests", action="store_true", help="do not run notebooks' visible tests locally")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has already explained
        return stop.code if isinstance(stop.code, int) else 2
    if not (args.show or args.rate or args.plot):
        args.show = True

    try:
        course = args.course.expanduser().resolve() if args.course else course_dir()
        objectives = load_objectives(objectives_path(course))
        if args.rate:
            objectives.for_lesson(args.rate)
            answers = prompt_ratings(args.rate, objectives)
            if answers:
                events = record(args.rate, answers, course=course, objectives=objectives, via="cli")
                print(f"Saved {len(events)} rating(s) to {ratings_path(course)}.")
            else:
                print("Nothing saved.")
        if args.show or args.plot:
            log = read_ratings(course)
            calibration = calibrate(
                course, objectives=objectives, log=log, student=args.student, run_tests=not args.no_tests
            )
            if args.show:
                print(ratings_report(log, objectives) or f"No ratings yet in {log.path}.")
                print()
                print(calibration.table())
                print()
                print(calibration.summary())
            if args.plot:
                plot_overview(calibration, objectives).savefig(args.plot, dpi=100)
                print(f"Saved the pictures to {args.plot}.")
    except (ValueError, FileNotFoundError) as error:
        print(f"flowlib self-assess: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):
        print("\nNothing saved.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
