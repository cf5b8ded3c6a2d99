"""How long each student notebook takes from a fresh kernel, alone on the machine, against the 60 s budget.

The test suite reports notebook times too, but there two workers share the machine. Here the
notebooks run one after another, nothing else of the course running, each as a learner's
"Restart and run all" does it: a new kernel, every cell in order, an unanswered exercise's error
allowed (nbval's lax mode, as in the suite). Prints seconds and seconds / budget per notebook.

    .venv/bin/python benchmarks/bench_notebooks.py [--only 05 12] [--budget 60]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from flowlib.course.validation import lesson_notebooks

ROOT = Path(__file__).resolve().parents[1]


def notebooks(only: list[str]) -> list[Path]:
    found = lesson_notebooks(ROOT) + [ROOT / "self_assessment" / "self_assessment.ipynb"]
    return [p for p in found if not only or any(p.name.startswith(prefix) for prefix in only)]


def run(path: Path) -> float:
    """Seconds to start a kernel in the notebook's folder and run every cell; the file is not written."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="notebook name prefixes, e.g. 05 12")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per notebook")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU cores; budget {args.budget:.0f} s per notebook")
    paths = notebooks(args.only)
    width = max(len(str(p.relative_to(ROOT))) for p in paths)
    print(f"{'notebook':<{width}} {'seconds':>8} {'/ budget':>9}")
    total = 0.0
    for path in paths:
        seconds = run(path)
        total += seconds
        flag = "  OVER BUDGET" if seconds > args.budget else ""
        print(f"{str(path.relative_to(ROOT)):<{width}} {seconds:8.1f} {seconds / args.budget:9.2f}{flag}", flush=True)
    print(f"{'all':<{width}} {total:8.1f}")


if __name__ == "__main__":
    main()
