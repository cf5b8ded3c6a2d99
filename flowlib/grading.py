"""The checks that exercise tests call.

Every graded test cell in the course calls these instead of a bare ``assert``, so that

* a failure explains itself in the lesson's words ("your weights do not sum to 1 over the
  keys axis"), never just ``AssertionError``;
* a known classic mistake is recognised and named (pass ``mistakes=``);
* the way a verdict is decided can change in one place.

A failed check raises :class:`ExerciseFailure` (an ``AssertionError``, so nbgrader counts
the test cell as failed). Checks never print and never write to stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ExerciseFailure",
    "as_array",
    "check_close",
    "check_equal",
    "check_shape",
    "check_sums_to_one",
    "check_raises",
    "check_true",
    "check_choice",
    "TestResult",
    "score_notebook",
]


class ExerciseFailure(AssertionError):
    """An exercise answer is not right yet; the message says what to look at."""


def _fail(message: str) -> None:
    raise ExerciseFailure(message)


def as_array(value: Any, what: str) -> np.ndarray:
    """Turn a NumPy array, torch tensor, number or nested list into a float64/int/bool array.

    Raises :class:`ExerciseFailure` naming ``what`` when the value is missing or not numeric.
    """
    if value is None:
        _fail(f"{what} is None: did your function forget to `return` its result?")
    if hasattr(value, "detach"):  # a torch tensor, on any device
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as error:  # e.g. a ragged list
        _fail(f"{what} could not be read as an array ({error}); got a {type(value).__name__}")
    if array.dtype == object:
        _fail(f"{what} should be numeric (an array or tensor); got a {type(value).__name__}")
    return array


def check_shape(actual: Any, expected_shape: Iterable[int], what: str) -> None:
    """Check that ``actual`` has exactly ``expected_shape``."""
    shape = tuple(as_array(actual, what).shape)
    expected = tuple(int(n) for n in expected_shape)
    if shape != expected:
        _fail(f"{what} has shape {shape}; expected {expected}")


def _matches(actual: np.ndarray, candidate: Any, atol: float, rtol: float) -> bool:
    other = np.asarray(candidate.detach().cpu().numpy() if hasattr(candidate, "detach") else candidate)
    return other.shape == actual.shape and bool(
        np.allclose(actual.astype(float), other.astype(float), atol=atol, rtol=rtol, equal_nan=False)
    )


def _named_mistake(actual: np.ndarray, mistakes: Mapping[str, Any] | None, atol: float, rtol: float) -> str:
    """The name of the first known mistake whose result ``actual`` reproduces, or ''."""
    for name, candidate in (mistakes or {}).items():
        if _matches(actual, candidate, atol, rtol):
            return name
    return ""


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
    got = as_array(actual, what)
    want = as_array(expected, f"the expected {what}")
    suffix = f" {hint}" if hint else ""
    if got.shape != want.shape:
        _fail(f"{what} has shape {tuple(got.shape)}; expected {tuple(want.shape)}.{suffix}")
    if got.dtype.kind in "fc" and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        bad = int(np.size(got) - np.isfinite(got).sum())
        _fail(f"{what} contains {bad} NaN or infinite value(s); expected only finite numbers.{suffix}")
    if np.allclose(got.astype(float), want.astype(float), atol=atol, rtol=rtol):
        return
    mistake = _named_mistake(got, mistakes, atol, rtol)
    if mistake:
        _fail(f"{what} is not right: it looks like {mistake}.{suffix}")
    diff = np.abs(got.astype(float) - want.astype(float))
    where = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.ndim else ()
    _fail(
        f"{what} is not right: largest difference {float(diff.max()):.3g} at index {where} "
        f"(got {float(got.astype(float)[where]):.6g}, expected {float(want.astype(float)[where]):.6g}; "
        f"tolerance {atol:g} + {rtol:g}*|expected|).{suffix}"
    )


def check_equal(actual: Any, expected: Any, what: str, *, hint: str = "") -> None:
    """Check exact equality: integers, booleans, strings, lists, masks and token ids."""
    suffix = f" {hint}" if hint else ""
    numeric = hasattr(expected, "shape") or hasattr(actual, "shape")
    if numeric:
        got, want = as_array(actual, what), as_array(expected, f"the expected {what}")
        if got.shape != want.shape:
            _fail(f"{what} has shape {tuple(got.shape)}; expected {tuple(want.shape)}.{suffix}")
        if not np.array_equal(got, want):
            wrong = int((got != want).sum())
            first = tuple(int(i) for i in np.argwhere(got != want)[0])
            _fail(
                f"{what} differs from the expected value at {wrong} of {got.size} positions; "
                f"first at index {first}: got {got[first]!r}, expected {want[first]!r}.{suffix}"
            )
        return
    if actual != expected:
        _fail(f"{what} is {actual!r}; expected {expected!r}.{suffix}")


def check_sums_to_one(weights: Any, axis: int, what: str, axis_name: str, *, atol: float = 1e-5) -> None:
    """Check that ``weights`` are a probability distribution along ``axis``.

    Example message: "your attention weights do not sum to 1 over the keys axis (axis -1)".
    """
    array = as_array(weights, what).astype(float)
    if array.ndim == 0:
        _fail(f"{what} is a single number; expected an array with a {axis_name} axis")
    if np.any(array < -atol):
        _fail(f"{what} has negative entries (smallest {array.min():.3g}); probabilities are >= 0")
    totals = array.sum(axis=axis)
    if not np.allclose(totals, 1.0, atol=atol):
        worst = float(np.abs(totals - 1.0).max())
        _fail(
            f"your {what} do not sum to 1 over the {axis_name} axis (axis {axis}); "
            f"the worst sum is off by {worst:.3g}"
        )


def check_raises(
    function: Callable[[], Any],
    exception: type[BaseException] | tuple[type[BaseException], ...],
    what: str,
    *,
    message_contains: Iterable[str] = (),
) -> BaseException:
    """Check that calling ``function()`` raises ``exception`` whose message mentions each of
    ``message_contains`` (e.g. the expected and the given size). Returns the exception."""
    names = exception.__name__ if isinstance(exception, type) else " or ".join(e.__name__ for e in exception)
    try:
        function()
    except exception as error:
        text = str(error)
        missing = [part for part in message_contains if str(part) not in text]
        if missing:
            _fail(
                f"{what}: the {type(error).__name__} is right, but its message should mention "
                f"{', '.join(repr(str(m)) for m in missing)} so the user knows what to fix; it says: {text!r}"
            )
        return error
    except Exception as error:  # the wrong kind of error
        _fail(f"{what}: expected {names}, but it raised {type(error).__name__}: {error}")
    _fail(f"{what}: expected {names}, but nothing was raised")
    raise AssertionError("unreachable")  # for type checkers


def check_true(condition: Any, message: str) -> None:
    """Fail with ``message`` (written in the lesson's words) unless ``condition`` holds."""
    if not bool(condition):
        _fail(message)


def check_choice(answer: Any, correct: Any, options: Iterable[Any], what: str, *, why: str = "") -> None:
    """Check a multiple-choice ``answer`` against ``correct`` among ``options``.

    An answer that is not one of the options gets a message listing them; a wrong option
    gets ``why`` (a nudge, never the answer itself).
    """
    choices = list(options)
    if answer not in choices:
        _fail(f"{what}: {answer!r} is not one of the options {choices!r}")
    if answer != correct:
        _fail(f"{what}: {answer!r} is not the best answer. {why}".strip())


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


def _code(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    # IPython magics and shell escapes mean nothing outside a kernel.
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))


def _why(error: BaseException) -> str:
    if isinstance(error, NameError):
        return f"{error}: answer and run the exercise cell above this test first"
    if isinstance(error, NotImplementedError):
        return "the exercise is not answered yet (the answer cell still raises NotImplementedError)"
    return f"{type(error).__name__}: {error}"


def score_notebook(path: str | Path, replace: Mapping[str, str] | None = None) -> dict[str, TestResult]:
    """Run a notebook's exercises in this process and score each autograded test cell.

    Executes the setup cell (id ending in ``_setup``), then every answer cell in order (the
    source of answer ``grade_id`` taken from ``replace`` when given), then each test cell in
    its own copy of that namespace, so one failing test never affects another. Prints
    nothing. Returns ``{grade_id: TestResult}`` in notebook order.
    """
    notebook_path = Path(path)
    try:
        cells = json.loads(notebook_path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"could not read the notebook {notebook_path}: {error}") from error
    replace = dict(replace or {})

    def meta(cell: Mapping[str, Any]) -> Mapping[str, Any]:
        return cell.get("metadata", {}).get("nbgrader", {})

    code_cells = [c for c in cells if c.get("cell_type") == "code"]
    answers = [c for c in code_cells if meta(c).get("solution")]
    unknown = set(replace) - {meta(c).get("grade_id") for c in answers}
    if unknown:
        raise ValueError(f"no answer cell with grade_id {sorted(unknown)} in {notebook_path.name}")
    setup = [c for c in code_cells if str(c.get("id", "")).endswith("_setup")]

    namespace: dict[str, Any] = {"__name__": "__main__"}
    results: dict[str, TestResult] = {}
    quiet = io.StringIO()
    previous = os.getcwd()
    try:
        os.chdir(notebook_path.parent)
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cell in setup:
                exec(compile(_code(cell), f"{notebook_path.name}:setup", "exec"), namespace)
            for cell in answers:
                grade_id = meta(cell).get("grade_id", "")
                try:
                    exec(compile(replace.get(grade_id, _code(cell)), f"{notebook_path.name}:{grade_id}", "exec"), namespace)
                except Exception:  # an unanswered or broken answer: its tests will say so
                    pass
            for cell in code_cells:
                info = meta(cell)
                if not info.get("grade") or info.get("solution"):
                    continue
                grade_id, points = info.get("grade_id", ""), float(info.get("points", 0))
                try:
                    exec(compile(_code(cell), f"{notebook_path.name}:{grade_id}", "exec"), dict(namespace))
                    results[grade_id] = TestResult(grade_id, points, points)
                except Exception as error:
                    results[grade_id] = TestResult(grade_id, 0.0, points, _why(error))
    finally:
        os.chdir(previous)
    return results
