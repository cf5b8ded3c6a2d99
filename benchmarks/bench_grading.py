"""How fast a class is graded: `make bench-grading` (a benchmark, not a test).

Builds a scratch course with a generated class of synthetic submissions of one lesson (right,
half-right, wrong and unanswered answers), grades it from scratch with 1 job and with N jobs
(N = the number of cores), and prints, measured in this run:

* submissions per minute for 1 and N jobs, and N jobs' speed-up against the target 0.8 x N;
* the overhead per submission beyond the notebook's own execution: grading time with 1 job
  minus the time nbclient takes to run the same notebook in a plain kernel (no sandbox);
* how long the `flowlib` command takes to start (target: under 1 s, with the overhead).

    python benchmarks/bench_grading.py [--lesson 00_getting_started] [--learners 12]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flowlib.cells import cell_role, cell_source  # noqa: E402  (once the course folder is on the path)
from flowlib.course import instructor  # noqa: E402  (once the course folder is on the path)

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


def _grade(root: Path, jobs: int) -> float:
    for name in ("gradebook.db", "reports", "autograded"):
        path = root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    instructor.release(root, force=True)
    started = time.perf_counter()
    instructor.autograde(root, jobs=jobs)
    return time.perf_counter() - started


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="00_getting_started")
    parser.add_argument("--learners", type=int, default=12)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        root = Path(scratch)
        shutil.copytree(ROOT / "solutions" / args.lesson, root / "solutions" / args.lesson)
        shutil.copy2(ROOT / "nbgrader_config.py", root)
        instructor.release(root, [args.lesson])
        _class(root, args.lesson, args.learners)
        instructor.autograde(root, jobs=1, students=["learner000"])  # the solution's reference, computed once
        one = _grade(root, 1)
        many = _grade(root, cores)
        plain = _plain_execution(root, args.lesson)
    per_one, per_many = one / args.learners, many / args.learners
    speedup = one / many
    print(f"grading {args.learners} submissions of {args.lesson} on {cores} cores")
    print(f"  1 job : {60 / per_one:6.1f} submissions/min ({per_one:.2f} s each)")
    print(
        f"  {cores} jobs: {60 / per_many:6.1f} submissions/min ({per_many:.2f} s each); "
        f"speed-up {speedup:.2f}x, target >= {0.8 * cores:.1f}x: {'met' if speedup >= 0.8 * cores else 'NOT met'}"
    )
    print(
        f"  the notebook alone in a plain kernel: {plain:.2f} s; grading overhead per submission: "
        f"{per_one - plain:.2f} s (target <= 1 s: {'met' if per_one - plain <= 1 else 'NOT met'})"
    )
    print(f"  `flowlib --help` starts in {_cli_start():.2f} s")


if __name__ == "__main__":
    main()
