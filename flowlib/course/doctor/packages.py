"""The doctor's checks of the Python environment: Python 3.11, each course package at its pin in
requirements.txt, every other package at its pin in requirements.lock."""

from __future__ import annotations

import importlib.metadata
import platform
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from flowlib.course.doctor.check import FIX_INSTALL, Check, course_folder

# The packages every lesson needs; each must match its pin in requirements.txt.
REQUIRED = (
    "torch",
    "numpy",
    "matplotlib",
    "transformers",
    "tokenizers",
    "jupyterlab",
    "nbgrader",
    "ipywidgets",
    "tqdm",
)
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """``{package: version}`` of the ``name==version`` lines of a requirements or lock file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pins = {}
    for line in lines:
        match = PIN.match(line.split("#", 1)[0].strip())
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _same_version(installed: str, pinned: str) -> bool:
    """``2.13.0+cpu`` satisfies a pin of ``2.13.0`` and of ``2.13.0+cpu``."""
    return installed == pinned or ("+" not in pinned and installed.split("+")[0] == pinned)


def _version(package: str, pins: dict[str, str] | None = None) -> Check:
    pins = read_pins(course_folder() / "requirements.txt") if pins is None else pins
    found = installed_version(package)
    want = pins.get(_canonical(package))
    if found is None:
        return Check(package, False, "not installed", FIX_INSTALL)
    if want is not None and not _same_version(found, want):
        return Check(package, False, f"{found}, but the course pins {want}", FIX_INSTALL)
    return Check(package, True, found if want is not None else f"{found} (no pin found to compare with)")


def _locked(lock: Path | None = None, skip: Iterable[str] = REQUIRED) -> Check:
    """Every package of requirements.lock (beyond the ones reported one by one) at its pin."""
    lock = course_folder() / "requirements.lock" if lock is None else lock
    pins = read_pins(lock)
    if not pins:
        return Check(
            "locked packages",
            False,
            f"no pins in {lock}",
            "get the course folder again (git pull): requirements.lock is missing",
        )
    skipped = {_canonical(p) for p in skip}
    wrong = []
    for name, want in sorted(pins.items()):
        if name in skipped:
            continue
        found = installed_version(name)
        if found is None or not _same_version(found, want):
            wrong.append(f"{name} {found or 'missing'} (pinned {want})")
    if wrong:
        shown = ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
        return Check("locked packages", False, f"{len(wrong)} differ from {lock.name}: {shown}", FIX_INSTALL)
    return Check("locked packages", True, f"{len(pins) - len(skipped & set(pins))} more, all as {lock.name} pins them")


def _python(version: tuple[int, int] | None = None) -> Check:
    ok = (version or sys.version_info[:2]) == (3, 11)
    found = platform.python_version() if version is None else ".".join(map(str, version))
    return Check(
        "python",
        ok,
        found,
        ""
        if ok
        else "the course is tested on Python 3.11; create the environment with python3.11 (`make clean-venv install`)",
    )
