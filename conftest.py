"""Course-wide pytest hooks: report how long each notebook takes to execute.

The budget is 60 s per notebook on 2 CPU cores. It is reported, not asserted: a timed test
would fail on a busy machine for the wrong reason. nbval's runs (the student notebooks and the
self-assessment) are timed by pytest; the solutions run in the grading round trip, whose tests
hand their times over as a ``notebook_seconds`` property.
"""

from collections import defaultdict

BUDGET_S = 60.0
_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration
    for name, value in report.user_properties:
        if name == "notebook_seconds" and report.when == "call":
            _seconds.update(value)


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    terminalreporter.section(f"notebook execution time (budget {BUDGET_S:.0f} s each)")
    for path, seconds in sorted(_seconds.items()):
        flag = "  OVER BUDGET" if seconds > BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:6.1f} s  {path}{flag}")
