"""The checks that exercise tests call.

Every graded test cell in the course calls these instead of a bare ``assert``, so that

* a failure explains itself in the lesson's words ("your weights do not sum to 1 over the
  keys axis"), never just ``AssertionError``;
* a known classic mistake is recognised and named (pass ``mistakes=``).

Each check turns what it is given into plain data (:func:`flowlib.comparisons.plain`: numbers,
strings, lists and arrays; a learner's own objects are never trusted) and applies its rule
(:mod:`flowlib.comparisons`); a failed check raises :class:`ExerciseFailure` at once. In your
notebook the test cell runs in your kernel. When the course grades a submission, the same test
cell runs in the grader's own process: your functions are called there with the test's inputs,
their results come back as data, and these checks decide there (see
:mod:`flowlib.course.grader.testcell`). Checks never print and never write to stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flowlib import comparisons, watch
from flowlib.cells import NOT_ANSWERED, cell_role, cell_source, delegated, nbgrader_meta, undefined
from flowlib.comparisons import plain

__all__ = [
    "ExerciseFailure",
    "Delegation",
    "as_array",
    "check_close",
    "check_equal",
    "check_shape",
    "check_sums_to_one",
    "check_raises",
    "check_true",
    "check_option",
    "check_choice",
    "gradients",
    "TestResult",
    "score_notebook",
]


class ExerciseFailure(AssertionError):
    """An exercise answer is not right yet; the message says what to look at."""


class Delegation(ExerciseFailure):
    """The answer called what its exercise asks the learner to write: the exercise scores 0."""


def _check(
    kind: str,
    what: str,
    actual: Any,
    expected: Any = None,
    params: Mapping[str, Any] | None = None,
    mistakes: Mapping[str, Any] | None = None,
) -> None:
    """Apply the rule of ``kind`` to plain data; raise :class:`ExerciseFailure` with its message if wrong."""
    plain_mistakes = {name: plain(value) for name, value in (mistakes or {}).items()}
    message = comparisons.decide(kind, actual, expected, what, dict(params or {}), plain_mistakes)
    if message:
        raise ExerciseFailure(message)


def as_array(value: Any, what: str) -> np.ndarray:
    """A NumPy array or torch tensor (or a number, or a nested list of numbers) as a NumPy array.

    Raises :class:`ExerciseFailure` naming ``what`` when the value is missing or not numeric.
    """
    array, why = comparisons.to_array(plain(value), what)
    if array is None:
        raise ExerciseFailure(why)
    return array


def check_shape(actual: Any, expected_shape: Iterable[int], what: str) -> None:
    """Check that ``actual`` has exactly ``expected_shape``."""
    _check("shape", what, plain(actual), [int(n) for n in expected_shape])


def check_close(
    actual: Any,
    expected: Any,
    what: str,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    mistakes: Mapping[str, Any] | None = None,
    hint: str = "",
) -> None:
    """Check that ``actual`` equals ``expected`` to within ``atol + rtol * |expected|``.

    ``what`` names the value in the lesson's words ("attention weights"). ``mistakes`` maps a
    description of a classic mistake ("softmax over the queries axis instead of the keys
    axis") to the value that mistake would produce; when ``actual`` matches one, the failure
    message names it. ``hint`` is appended to any failure message.
    """
    params = {"atol": float(atol), "rtol": float(rtol), "hint": hint}
    _check("close", what, plain(actual), plain(expected), params, mistakes)


def check_equal(actual: Any, expected: Any, what: str, *, hint: str = "") -> None:
    """Check exact equality: integers, booleans, strings, lists, masks and token ids."""
    _check("equal", what, plain(actual), plain(expected), {"hint": hint})


def check_sums_to_one(weights: Any, axis: int, what: str, axis_name: str, *, atol: float = 1e-5) -> None:
    """Check that ``weights`` are a probability distribution along ``axis``.

    Example message: "your attention weights do not sum to 1 over the keys axis (axis -1)".
    """
    _check("sums_to_one", what, plain(weights), None, {"axis": int(axis), "axis_name": axis_name, "atol": float(atol)})


def check_raises(
    function: Callable[[], Any],
    exception: type[BaseException] | tuple[type[BaseException], ...],
    what: str,
    *,
    message_contains: Iterable[str] = (),
) -> BaseException | None:
    """Check that calling ``function()`` raises ``exception`` whose message mentions each of
    ``message_contains`` (e.g. the expected and the given size). Returns the exception."""
    kinds = exception if isinstance(exception, tuple) else (exception,)
    outcome: dict[str, Any] = {"raised": None, "matches": False, "text": ""}
    caught = None
    try:
        function()
    except Exception as error:  # noqa: BLE001  (any exception is an outcome to report)
        caught = error
        try:
            text = str(error)
        except Exception:  # noqa: BLE001  (an exception whose message itself fails)
            text = "<its message could not be read>"
        outcome = {"raised": type(error).__name__, "matches": isinstance(error, kinds), "text": text[:2000]}
    params = {"message_contains": [str(part) for part in message_contains]}
    _check("raises", what, outcome, {"types": [kind.__name__ for kind in kinds]}, params)
    return caught


def check_true(condition: Any, message: str) -> None:
    """Fail with ``message`` (written in the lesson's words) unless ``condition`` holds."""
    _check("true", str(message), plain(condition), True)


def check_option(answer: Any, options: Iterable[Any], what: str) -> None:
    """Check that a multiple-choice ``answer`` is one of ``options`` (not whether it is right)."""
    _check("option", what, plain(answer), None, {"options": list(options)})


def check_choice(answer: Any, correct: Any, options: Iterable[Any], what: str, *, why: str = "") -> None:
    """Check a multiple-choice ``answer`` against ``correct`` among ``options``.

    An answer that is not one of the options gets a message listing them; a wrong option
    gets ``why`` (a nudge, never the answer itself).
    """
    _check("choice", what, plain(answer), correct, {"options": list(options), "why": why})


def gradients(
    module: Callable[..., Any], inputs: Iterable[Any], names: Iterable[str], *, targets: Any = None
) -> dict[str, Any]:
    """Back-propagate once through ``module(*inputs)`` and return the gradient of each parameter
    named in ``names`` (dotted, as in ``state_dict``: ``"linear.weight"``), ``None`` where none
    arrived. The loss is the cross-entropy against ``targets`` when given, else the sum of the
    squared outputs. Gradients already there are cleared first.

    When the course grades a notebook, ``module`` lives in your kernel and the test in the
    grader's process: this function then runs in your kernel, where the module is.
    """
    in_kernel = getattr(type(module), "in_kernel", None)  # the grader's handle on a learner's object
    if in_kernel is not None:
        return in_kernel(module, gradients, inputs, names, targets=targets)
    import torch

    def parameter(name: str) -> Any:
        value: Any = module
        for part in name.split("."):
            value = getattr(value, part)
        return value

    for name in names:
        parameter(name).grad = None
    output = module(*inputs)
    if targets is None:
        loss = output.pow(2).sum()
    else:
        loss = torch.nn.functional.cross_entropy(output, targets)
    loss.backward()
    return {name: parameter(name).grad for name in names}


# --- scoring a notebook's exercises without a Jupyter kernel ------------------------------


@dataclass(frozen=True)
class TestResult:
    """The verdict of one graded test cell: points earned out of ``max_points``."""

    __test__ = False  # not a pytest test class, despite its name

    grade_id: str
    points: float
    max_points: float
    message: str = ""  # why it failed; empty when it passed

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


def python_source(code: str | Mapping[str, Any]) -> str:
    """A cell's code (or the cell itself) as plain Python: IPython's magics and shell escapes,
    which mean nothing outside a kernel, become blank lines (so line numbers stay)."""
    text = code if isinstance(code, str) else cell_source(code)
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines())


def _why(error: BaseException) -> str:
    if isinstance(error, NameError):
        return undefined(str(error))
    if isinstance(error, NotImplementedError):
        return NOT_ANSWERED
    return f"{type(error).__name__}: {error}"


def forbidden(cell: Mapping[str, Any]) -> list[str]:
    """What the answer ``cell``'s exercise asks the learner not to call (its ``flowlib.forbidden``)."""
    metadata = cell.get("metadata")
    declared = metadata.get("flowlib", {}).get("forbidden", []) if isinstance(metadata, Mapping) else []
    return [str(name) for name in declared] if isinstance(declared, list) else []


def score_notebook(path: str | Path, replace: Mapping[str, str] | None = None) -> dict[str, TestResult]:
    """Run a notebook's exercises in this process and score each autograded test cell, as the
    grader would.

    Executes the setup cell (id ending in ``_setup``), then every answer cell in order (the
    source of answer ``grade_id`` taken from ``replace`` when given), then each test cell in
    its own copy of that namespace, so one failing test never affects another. While a test runs,
    what the answers' code calls is watched (:mod:`flowlib.watch`): an exercise whose answer called
    one of its forbidden functions scores 0 on every test, with the grader's message. Prints
    nothing. Returns ``{grade_id: TestResult}`` in notebook order.
    """
    notebook_path = Path(path)
    try:
        cells = json.loads(notebook_path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"could not read the notebook {notebook_path}: {error}") from error
    replace = dict(replace or {})

    answers = [c for c in cells if cell_role(c) == "answer"]
    unknown = set(replace) - {nbgrader_meta(c).get("grade_id") for c in answers}
    if unknown:
        raise ValueError(f"no answer cell with grade_id {sorted(unknown)} in {notebook_path.name}")
    setup = [c for c in cells if c.get("cell_type") == "code" and str(c.get("id", "")).endswith("_setup")]

    namespace: dict[str, Any] = {"__name__": "__main__"}
    results: dict[str, TestResult] = {}
    exercise_of: dict[str, str] = {}
    evidence: dict[str, list[str]] = {}
    quiet = io.StringIO()
    previous = os.getcwd()
    try:
        os.chdir(notebook_path.parent)
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cell in setup:
                exec(compile(python_source(cell), f"{notebook_path.name}:setup", "exec"), namespace)
            known = dict(namespace)
            for cell in answers:
                grade_id = nbgrader_meta(cell).get("grade_id", "")
                try:
                    exec(
                        compile(replace.get(grade_id, python_source(cell)), f"{notebook_path.name}:{grade_id}", "exec"),
                        namespace,
                    )
                except Exception:  # an unanswered or broken answer: its tests will say so
                    pass
            rules, exercise = {str(nbgrader_meta(c).get("grade_id", "")): forbidden(c) for c in answers}, ""
            for cell in cells:
                role, info = cell_role(cell), nbgrader_meta(cell)
                exercise = str(info.get("grade_id", "")) if role == "answer" else exercise
                if role != "test":
                    continue
                grade_id, points, code = info.get("grade_id", ""), float(info.get("points", 0)), python_source(cell)
                exercise_of[grade_id] = exercise
                found = evidence.setdefault(exercise, [])
                try:
                    learners = watch.learner_names(code, known)
                    watch.run_watched(code, dict(namespace), learners, rules.get(exercise, []), found, namespace)
                    results[grade_id] = TestResult(grade_id, points, points)
                except Exception as error:
                    results[grade_id] = TestResult(grade_id, 0.0, points, _why(error))
    finally:
        os.chdir(previous)
    for grade_id, result in results.items():  # the grader's rule: a delegating exercise scores 0 on every test
        if evidence.get(exercise_of[grade_id]):
            results[grade_id] = TestResult(grade_id, 0.0, result.max_points, delegated(evidence[exercise_of[grade_id]]))
    return results


def watched_test(source: str, learners: Sequence[str], forbidden: Sequence[str]) -> None:
    """Run a test cell's ``source`` in this IPython kernel, as Validate does
    (:mod:`flowlib.course.validation`): the names ``learners`` (the learner's) watched for calls of
    ``forbidden``. Raises :class:`Delegation` with the grader's message when they call one, else
    what the test raises."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("watched_test runs a test cell in a Jupyter kernel; there is none here")
    found: list[str] = []
    try:
        watch.run_watched(shell.transform_cell(source), shell.user_ns, learners, forbidden, found)
    except Exception:
        if not found:
            raise
    if found:
        raise Delegation(delegated(found)) from None
