"""Course-wide pytest hooks: the longest test files start first, and each notebook's time is reported.

``make test`` runs the suite on three pytest-xdist workers (the Makefile's ``JOBS``), a file
per worker at a time (``--dist loadfile``: a module's fixtures are built once). xdist hands the
files out in collection order, so the few files that take minutes are collected first: otherwise one of them
starting last keeps the run going on one core while the others idle.

Every figure a notebook draws under nbval is checked where it is drawn (``tests/figure_check.py``):
the kernel nbval starts runs ``tests/figure_startup.py`` (``PYTHONSTARTUP``), which checks each
rendered figure and writes what it finds to a file; the cell that drew a figure with problems fails
with them. The notebooks run once, as they would anyway.

The budget is 60 s per notebook on 2 CPU cores. It is reported, not asserted: a timed test
would fail on a busy machine for the wrong reason, and here each notebook shares the machine
with the other workers, one thread each (``make bench-notebooks`` times them alone). nbval's runs (the student
notebooks and the self-assessment) are timed by pytest; the solutions run in the grading round
trip, whose tests hand their times over as a ``notebook_seconds`` property.
"""

import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

BUDGET_S = 60.0
# Files that take minutes, longest first (measured in `make test`'s --durations table).
LONGEST_FIRST = (
    "tests/test_grading_roundtrip.py",
    "tests/test_trusted_grading.py",
    "tests/test_class_grading.py",
    "tests/test_slicing.py",
    "tests/test_browser.py",
    "tests/test_site.py",
    "tests/test_browser_learner.py",
    "notebooks/12_fine_tuning/",
    "notebooks/01_why_transformers/",
    "notebooks/05_variants_bert_gpt_t5/",
)
# Files that share one expensive fixture made once per process: each runs on the worker of the
# first, so the fixture is made once (tests/submissions.graded_course grades every fixture
# submission of lesson 02 in the sandbox, about 15 minutes of one worker).
SAME_WORKER = {"tests/test_adversarial.py": "tests/test_trusted_grading.py"}
_seconds: dict[str, float] = defaultdict(float)
FIGURE_STARTUP = Path(__file__).resolve().parent / "tests" / "figure_startup.py"
_figure_reports = tempfile.TemporaryDirectory(prefix="flowlib-figures-")


@pytest.hookimpl(optionalhook=True)  # xdist's hook: without xdist (-p no:xdist) there is nothing to schedule
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with the files of :data:`SAME_WORKER` scheduled as one."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFixtures(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return SAME_WORKER.get(scope, scope)

    return SharedFixtures(config, log)


def pytest_configure(config):
    """On an xdist worker, one thread: two workers with two threads each on two cores thrash
    (lesson 12 took 126 s instead of 35 s). Kernels, and the grader's sandboxes, inherit it."""
    if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)


def _rank(nodeid: str) -> int:
    return next((i for i, prefix in enumerate(LONGEST_FIRST) if nodeid.startswith(prefix)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: the order within a file is kept


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration
    for name, value in report.user_properties:
        if name == "notebook_seconds" and report.when == "call":
            _seconds.update(value)


def pytest_terminal_summary(terminalreporter, config):
    if not _seconds:
        return
    workers = getattr(config.option, "numprocesses", None) or 1
    shared = f"; {workers} test workers share the machine" if workers > 1 else ""
    terminalreporter.section(f"notebook execution time (budget {BUDGET_S:.0f} s each{shared})")
    for path, seconds in sorted(_seconds.items()):
        flag = "  OVER BUDGET" if seconds > BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:6.1f} s  {path}{flag}")


def _figure_report(item) -> Path | None:
    """The file where the kernel of an nbval notebook records its figures' problems (None: not a notebook cell)."""
    if not item.nodeid.split("::", 1)[0].endswith(".ipynb"):
        return None
    name = item.nodeid.split("::", 1)[0].replace("/", "__")
    return Path(_figure_reports.name) / f"{name}.jsonl"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """nbval starts a notebook's kernel while its first cell is set up: start it with the figure check."""
    report = _figure_report(item)
    if report is None:
        return (yield)
    saved = {name: os.environ.get(name) for name in ("PYTHONSTARTUP", "FLOWLIB_FIGURE_REPORT")}
    os.environ.update(PYTHONSTARTUP=str(FIGURE_STARTUP), FLOWLIB_FIGURE_REPORT=str(report))
    try:
        return (yield)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A cell that drew a figure with problems fails with them (after the cell itself has passed)."""
    report = _figure_report(item)
    read = report.stat().st_size if report is not None and report.exists() else 0
    result = yield
    if report is None:
        return result
    if not report.exists():
        raise AssertionError(f"the figure check did not start in this notebook's kernel ({FIGURE_STARTUP})")
    with report.open(encoding="utf-8") as lines:
        lines.seek(read)
        found = [problem for record in map(json.loads, lines) for problem in record["problems"]]
    if found:
        raise AssertionError("this cell drew figures that do not read:\n" + "\n".join(found))
    return result
