"""Is this machine ready for the course? ``flowlib.doctor()`` checks and says how to fix it.

Every check can fail, and a failed one says how to fix it:

    python              3.11, the version the course is tested with
    <package>           each course package installed at the version requirements.txt pins
    locked packages     every other package at the version requirements.lock pins
    cpu cores, torch threads, gpu     enough cores, torch using them, a GPU that works if there is one
    free memory, free disk            room to train the lessons' models and save notebooks
    pretrained encoder  the all-MiniLM-L6-v2 weights, on disk
    checkpoints         the small models shipped in checkpoints/, readable (not git-LFS stubs)
    widgets frontend    ipywidgets' JupyterLab extension, installed, enabled, matching ipywidgets
    Validate button     the course's Validate (server and JupyterLab)
    ratings folder      where your self-assessment ratings are written, writable

``flowlib doctor`` (``make doctor``) prints the report and exits 1 when something needs fixing.
Here is the report; the checks live beside it: ``packages`` (python, <package>, locked packages),
``machine`` (cores to disk), ``course_files`` (encoder, checkpoints, ratings folder) and
``jupyter`` (widgets, Validate), each returning a :class:`~flowlib.course.doctor.check.Check`.
"""

from __future__ import annotations

from collections.abc import Callable

from flowlib.course.doctor.check import FIX_INSTALL, Check, course_folder
from flowlib.course.doctor.course_files import _checkpoints, _pretrained, _ratings_folder
from flowlib.course.doctor.jupyter import _validate_button, _widgets
from flowlib.course.doctor.machine import _cores, _disk, _gpu, _memory, _threads
from flowlib.course.doctor.packages import REQUIRED, _locked, _python, _version, read_pins


def _guarded(check: Callable[[], Check | list[Check]], name: str) -> list[Check]:
    """A check that crashes is reported as a failed check, never a traceback."""
    try:
        result = check()
    except Exception as error:
        return [Check(name, False, f"the check itself failed: {type(error).__name__}: {error}", FIX_INSTALL)]
    return result if isinstance(result, list) else [result]


def checks() -> list[Check]:
    """Every check, in the order the report shows them."""
    pins = read_pins(course_folder() / "requirements.txt")
    steps: list[tuple[Callable[[], Check | list[Check]], str]] = [
        (_python, "python"),
        *((lambda p=p: _version(p, pins), p) for p in REQUIRED),
        (_locked, "locked packages"),
        (_cores, "cpu cores"),
        (_threads, "torch threads"),
        (_gpu, "gpu"),
        (_memory, "free memory"),
        (_disk, "free disk"),
        (_pretrained, "pretrained encoder"),
        (_checkpoints, "checkpoints"),
        (_widgets, "widgets frontend"),
        (_validate_button, "Validate button"),
        (_ratings_folder, "ratings folder"),
    ]
    return [c for step, name in steps for c in _guarded(step, name)]


def doctor(verbose: bool = True) -> list[Check]:
    """Print a report of the machine and return its checks; anything wrong comes with a fix."""
    results = checks()
    if verbose:
        width = max(len(c.name) for c in results)
        for c in results:
            mark = "ok " if c.ok else "FIX"
            print(f"[{mark}] {c.name:<{width}}  {c.found}")
            if c.fix:
                print(f"      {'':<{width}}  -> {c.fix}")
        problems = sum(not c.ok for c in results)
        print(
            "All good: you are ready for the course."
            if problems == 0
            else f"{problems} thing(s) to fix, see '->' above."
        )
    return results
