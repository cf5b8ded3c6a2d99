"""Run a test cell in the grader's own process: the learner's kernel computes, the grader judges.

The test cell is the course's code (from the source notebook, hidden tests included). It runs
here, in a namespace built from the lesson's setup cell, the way it runs in the learner's
notebook; only the names of the learner's answers are different: each one is fetched from the
kernel when the cell starts, as plain data or as a :class:`~flowlib.course.grader.remote.Remote`.
So the inputs are built here, the expected values and known mistakes are computed here, every
check decides here, and the kernel sees only the inputs of each call.

A failure's message is the check's own (the course's words), or for an error the exception's
type and message; inside the hidden tests, the type only.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowlib.cells import HIDDEN_BLOCK, NOT_ANSWERED, undefined
from flowlib.course.grader.remote import ChannelError, LearnerError
from flowlib.grading import ExerciseFailure, python_source
from flowlib.watch import learner_names

# one test cell at a time in this process: torch's random state and its thread count are process-wide
ONE_AT_A_TIME = threading.Lock()
_SETUPS: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class Outcome:
    passed: bool
    message: str = ""  # why it failed, in words a learner may read
    kernel_failed: bool = False  # the kernel died or ran out of time during the cell


def setup_namespace(setup_code: str, folder: Path) -> dict[str, Any]:
    """The lesson's setup cell run once in this process (its magics dropped), in the lesson's
    ``folder`` as in the notebook, as a namespace. Raises what the setup raises."""
    with ONE_AT_A_TIME:
        if setup_code not in _SETUPS:
            namespace: dict[str, Any] = {"__name__": "flowlib.course.grader.test"}
            with (
                contextlib.chdir(folder if folder.is_dir() else Path.cwd()),
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                exec(compile(python_source(setup_code), "<setup>", "exec"), namespace)
            _SETUPS[setup_code] = namespace
        return _SETUPS[setup_code]


def hidden_lines(code: str) -> set[int]:
    """Line numbers (1-based) of ``code`` inside its hidden-test blocks."""
    lines: set[int] = set()
    for block in HIDDEN_BLOCK.finditer(code):
        first = code.count("\n", 0, block.start()) + 1
        lines.update(range(first, code.count("\n", 0, block.end()) + 2))
    return lines


def _failed_line(error: BaseException, filename: str) -> int:
    line, trace = 0, error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def explain(error: BaseException, hidden: bool, learners: list[str]) -> str:
    """A failed test's message. Inside hidden tests an error shows its type, not its text."""
    if isinstance(error, ExerciseFailure):
        return str(error)
    if isinstance(error, NotImplementedError):
        return NOT_ANSWERED
    if isinstance(error, NameError) and getattr(error, "name", None) in learners:
        return undefined(f"name {error.name!r} is not defined")
    if isinstance(error, ChannelError):
        return f"the kernel did not answer the test: {error}"
    kind = str(error).split(":", 1)[0] if isinstance(error, LearnerError) else type(error).__name__
    if hidden:
        return f"a hidden test of this exercise failed: your code raised {kind} (hidden tests show no more)"
    return str(error) if isinstance(error, LearnerError) else f"{kind}: {error}"


def run_test(code: str, name: str, namespace: Mapping[str, Any], fetch: Callable[[str], Any]) -> Outcome:
    """Run the test cell ``code`` against the learner's names, each one fetched by ``fetch``."""
    filename = f"<test {name}>"
    with ONE_AT_A_TIME:
        scope = dict(namespace)
        learners = learner_names(code, scope)
        try:
            for learner in learners:
                try:
                    scope[learner] = fetch(learner)
                except NameError:
                    pass  # the test meets it as a NameError, with its usual message
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                exec(compile(python_source(code), filename, "exec"), scope)
        except ChannelError as error:
            return Outcome(False, explain(error, False, learners), kernel_failed=True)
        except Exception as error:  # every failure of a test is a verdict
            return Outcome(False, explain(error, _failed_line(error, filename) in hidden_lines(code), learners))
    return Outcome(True)
