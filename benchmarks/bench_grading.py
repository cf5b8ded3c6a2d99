"""How fast a class is graded: `make bench-grading` (a benchmark, not a test).

For each lesson (or those named), builds a scratch course with a generated class of synthetic
submissions (right, half-right, wrong and unanswered answers), grades it from scratch in full
with 1 job, sliced (the default: only the cells the graded cells need) with 1 job and with N
jobs (N = the number of cores), and prints, measured in this run:

* seconds per submission, full and sliced, and submissions per minute with 1 and N jobs (it stops
  if the class's grades differ between the full and the sliced grading);
* the overhead per submission beyond the notebook's own execution: grading in full with 1 job
  (the same cells) minus the time nbclient takes to run the notebook in a plain kernel;
* against the goals: each lesson at most 10 s a submission on one core, 300 submissions of
  any lesson in 15 minutes on N cores; and how long the `flowlib` command takes to start.

    python benchmarks/bench_grading.py [--lesson 02_self_attention ...] [--learners 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flowlib.cells import cell_role, cell_source  # noqa: E402  (once the course folder is on the path)
from flowlib.course import instructor, layout  # noqa: E402  (once the course folder is on the path)

VARIANTS = ("solution", "solution", "blank", "stub-values")


def _class(root: Path, lesson: str, learners: int) -> None:
    source = json.loads((root / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    released = json.loads((root / "notebooks" / lesson / f"{lesson}.ipynb").read_text())
    for number in range(learners):
        variant = VARIANTS[number % len(VARIANTS)]
        notebook = source if variant == "solution" else json.loads(json.dumps(released))
        if variant == "stub-values":  # answers that run but are wrong
            for cell in notebook["cells"]:
                if cell_role(cell) == "answer":
                    cell["source"] = cell_source(cell).replace(
                        'raise NotImplementedError("Replace this line with your solution.")', "return 0"
                    )
        folder = root / "submitted" / f"learner{number:03d}" / lesson
        folder.mkdir(parents=True)
        (folder / f"{lesson}.ipynb").write_text(json.dumps(notebook))


def _grade(root: Path, jobs: int, full: bool = False) -> float:
    for name in ("gradebook.db", "reports", "autograded"):
        path = root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    instructor.release(root, force=True)
    started = time.perf_counter()
    instructor.autograde(root, jobs=jobs, full=full)
    return time.perf_counter() - started


def _points(root: Path) -> dict[str, list[tuple[str, float]]]:
    """Every learner's points per test cell, from the reports of the last grading."""
    return {
        path.stem: [(v["grade_id"], v["points"]) for v in json.loads(path.read_text())["verdicts"]]
        for path in sorted((root / "reports").glob("*/*.json"))
    }


def _plain_execution(root: Path, lesson: str, repeats: int = 3) -> float:
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(repeats):
        notebook = nbformat.read(root / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
        started = time.perf_counter()
        NotebookClient(
            notebook, timeout=300, allow_errors=True, resources={"metadata": {"path": str(root / "solutions" / lesson)}}
        ).execute()
        times.append(time.perf_counter() - started)
    return min(times)


def _cli_start(repeats: int = 5) -> float:
    flowlib = Path(sys.executable).parent / "flowlib"
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(flowlib), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return min(times)


@dataclass
class Measured:
    lesson: str
    full: float  # seconds per submission, 1 job, every cell
    sliced: float  # seconds per submission, 1 job, the cells the grades need
    many: float  # seconds per submission, N jobs, sliced
    plain: float  # the notebook alone in a plain kernel


def _measure(lesson: str, learners: int, cores: int) -> Measured:
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        root = Path(scratch)
        shutil.copytree(ROOT / "solutions" / lesson, root / "solutions" / lesson)
        shutil.copy2(ROOT / "nbgrader_config.py", root)
        instructor.release(root, [lesson])
        _class(root, lesson, learners)
        instructor.autograde(root, jobs=1, students=["learner000"])  # the solution's reference, computed once
        full = _grade(root, 1, full=True) / learners
        in_full = _points(root)
        sliced = _grade(root, 1) / learners
        if _points(root) != in_full:  # slicing is an optimisation, never a change of grade
            raise SystemExit(f"{lesson}: the class's grades differ sliced and in full: see {root / 'reports'}")
        many = _grade(root, cores) / learners
        plain = _plain_execution(root, lesson, repeats=1 if full > 10 else 3)
    return Measured(lesson, full, sliced, many, plain)


def _say(m: Measured, learners: int, cores: int) -> None:
    speedup = m.sliced / m.many
    print(f"grading {learners} submissions of {m.lesson} on {cores} cores")
    print(f"  in full : {60 / m.full:6.1f} submissions/min ({m.full:.2f} s each), every cell with 1 job")
    print(f"  1 job : {60 / m.sliced:6.1f} submissions/min ({m.sliced:.2f} s each), sliced")
    print(
        f"  {cores} jobs: {60 / m.many:6.1f} submissions/min ({m.many:.2f} s each); "
        f"speed-up {speedup:.2f}x, target >= {0.8 * cores:.1f}x: {'met' if speedup >= 0.8 * cores else 'NOT met'}"
    )
    overhead = m.full - m.plain
    print(
        f"  the notebook alone in a plain kernel: {m.plain:.2f} s; grading overhead per submission: "
        f"{overhead:.2f} s in full (target <= 0.5 s: {'met' if overhead <= 0.5 else 'NOT met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", action="append", help="a lesson to measure (repeatable; default: every lesson)")
    parser.add_argument("--learners", type=int, default=4)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    measured = []
    for lesson in args.lesson or layout.lessons(ROOT):
        measured.append(_measure(lesson, args.learners, cores))
        _say(measured[-1], args.learners, cores)
    if len(measured) > 1:
        print(
            f"\n{'lesson':<40}{'full s':>8}{'sliced s':>10}{'/min 1 job':>12}{f'/min {cores} jobs':>14}{'overhead s':>12}"
        )
        for m in measured:
            print(
                f"{m.lesson:<40}{m.full:8.2f}{m.sliced:10.2f}{60 / m.sliced:12.1f}{60 / m.many:14.1f}{m.full - m.plain:12.2f}"
            )
    slowest = max(measured, key=lambda m: m.sliced)
    print(
        f"goal: every lesson <= 10 s a submission on one core: slowest {slowest.lesson} {slowest.sliced:.2f} s: "
        f"{'met' if slowest.sliced <= 10 else 'NOT met'}"
    )
    worst = max(measured, key=lambda m: m.many)
    print(
        f"goal: 300 submissions of any lesson in 15 min on {cores} cores: {worst.lesson} takes "
        f"{300 * worst.many / 60:.1f} min: {'met' if 300 * worst.many <= 900 else 'NOT met'}"
    )
    print(f"`flowlib --help` starts in {_cli_start():.2f} s")


if __name__ == "__main__":
    main()
