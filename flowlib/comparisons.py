"""How a check decides, on plain data: the one place a verdict's rule is written.

A test cell's check (:mod:`flowlib.grading`) first turns what it was given into *plain data*
(numbers, strings, lists, dicts and arrays of numbers, see :func:`plain`), then applies the
rule of its kind here. The learner's kernel applies it to show a message at once; the grader
applies the very same rule again, in a clean process of its own, to the plain data the test
cell reported and the reference values of the solution. Nothing here runs learner code: an
object that is not plain data is never compared, only named (``{"unsupported": "Fake"}``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np

from flowlib.cells import NOT_ANSWERED

MAX_ELEMENTS = 4_000_000  # larger values are not compared (they are not what a test checks)
_SCALARS = (bool, int, float, str, type(None))


class Unsupported(str):
    """What remains of a value that was not plain data: its type's name."""


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` as JSON-ready plain data; arrays and tensors become ``{"ndarray": ...}``.

    Only exact types are read (a subclass could lie about its contents); anything else is
    recorded as ``{"unsupported": <type name>}``.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if _depth > 20:
        return {"unsupported": "a value nested more than 20 levels deep"}
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        return value.item() if kind is not np.str_ else str(value)
    array = _exact_array(value)
    if array is not None:
        if array.size > MAX_ELEMENTS:
            return {"unsupported": f"an array of {array.size} numbers (more than {MAX_ELEMENTS})"}
        if array.dtype.kind not in "biuf":
            return {"unsupported": f"an array of dtype {array.dtype}"}
        dtype = {"b": "bool", "i": "int64", "u": "int64", "f": "float64"}[array.dtype.kind]
        data = np.array(array, dtype=dtype, order="C")
        return {
            "ndarray": {"dtype": dtype, "shape": list(data.shape), "data": base64.b64encode(data.tobytes()).decode()}
        }
    if kind in (list, tuple):
        return [plain(item, _depth + 1) for item in value]
    if kind is dict and all(type(key) in (str, int) for key in value):
        return {"dict": {str(key): plain(item, _depth + 1) for key, item in value.items()}}
    return {"unsupported": kind.__qualname__}


def _exact_array(value: Any) -> np.ndarray | None:
    if type(value) is np.ndarray:
        return value
    torch = __import__("sys").modules.get("torch")
    if torch is not None and type(value) in (torch.Tensor, torch.nn.Parameter):
        return torch.Tensor.numpy(torch.Tensor.cpu(torch.Tensor.detach(value)))
    return None


def unplain(data: Any) -> Any:
    """The inverse of :func:`plain`: arrays, lists, dicts, scalars or :class:`Unsupported`."""
    if isinstance(data, list):
        return [unplain(item) for item in data]
    if isinstance(data, dict):
        if "ndarray" in data:
            spec = data["ndarray"]
            raw = base64.b64decode(spec["data"])
            return np.frombuffer(raw, dtype=spec["dtype"]).reshape(spec["shape"]).copy()
        if "dict" in data:
            return {key: unplain(item) for key, item in data["dict"].items()}
        return Unsupported(data.get("unsupported", "an unknown value"))
    return data


def to_array(data: Any, what: str) -> tuple[np.ndarray | None, str]:
    """Plain data as a numeric array, or ``(None, message)`` saying why it is not one."""
    value = unplain(data)
    if value is None:
        return None, f"{what} is None: did your function forget to `return` its result?"
    if isinstance(value, Unsupported):
        return None, f"{what} should be numeric (an array or tensor); got {value}"
    if isinstance(value, str):
        return None, f"{what} should be numeric (an array or tensor); got a str"
    try:
        array = np.asarray(value)
    except ValueError as error:  # e.g. a ragged list
        return None, f"{what} could not be read as an array ({error})"
    if array.dtype.kind not in "biuf":
        return None, f"{what} should be numeric (an array or tensor); got a {type(value).__name__}"
    return array, ""


def _suffix(params: Mapping[str, Any]) -> str:
    return f" {params['hint']}" if params.get("hint") else ""


def _close(got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> bool:
    return got.shape == want.shape and bool(np.allclose(got.astype(float), want.astype(float), atol=atol, rtol=rtol))


def rule_close(actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]) -> str:
    got, why = to_array(actual, what)
    if got is None:
        return why
    want, why = to_array(expected, f"the expected {what}")
    if want is None:
        return why
    atol, rtol, suffix = float(params.get("atol", 1e-5)), float(params.get("rtol", 1e-4)), _suffix(params)
    if got.shape != want.shape:
        return f"{what} has shape {tuple(got.shape)}; expected {tuple(want.shape)}.{suffix}"
    if got.dtype.kind == "f" and not np.all(np.isfinite(got)) and np.all(np.isfinite(want.astype(float))):
        bad = int(np.size(got) - np.isfinite(got).sum())
        return f"{what} contains {bad} NaN or infinite value(s); expected only finite numbers.{suffix}"
    if _close(got, want, atol, rtol):
        return ""
    for name, candidate in (mistakes or {}).items():
        other, _ = to_array(candidate, name)
        if other is not None and _close(got, other, atol, rtol):
            return f"{what} is not right: it looks like {name}.{suffix}"
    diff = np.abs(got.astype(float) - want.astype(float))
    where = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.ndim else ()
    return (
        f"{what} is not right: largest difference {float(diff.max()):.3g} at index {where} "
        f"(got {float(got.astype(float)[where]):.6g}, expected {float(want.astype(float)[where]):.6g}; "
        f"tolerance {atol:g} + {rtol:g}*|expected|).{suffix}"
    )


def _numeric(data: Any) -> bool:
    return (isinstance(data, dict) and "ndarray" in data) or (
        isinstance(data, list) and bool(data) and all(_numeric(x) or type(x) in (int, float, bool) for x in data)
    )


def rule_equal(actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]) -> str:
    suffix = _suffix(params)
    if _numeric(actual) or _numeric(expected):
        got, why = to_array(actual, what)
        want, why_expected = to_array(expected, f"the expected {what}")
        if got is None or want is None:
            return why or why_expected
        if got.shape != want.shape:
            return f"{what} has shape {tuple(got.shape)}; expected {tuple(want.shape)}.{suffix}"
        if not np.array_equal(got, want):
            wrong = int((got != want).sum())
            first = tuple(int(i) for i in np.argwhere(got != want)[0])
            return (
                f"{what} differs from the expected value at {wrong} of {got.size} positions; "
                f"first at index {first}: got {got[first]!r}, expected {want[first]!r}.{suffix}"
            )
        return ""
    got, want = unplain(actual), unplain(expected)
    if isinstance(got, Unsupported):
        return f"{what} should be plain Python data (numbers, strings, lists, dicts); got {got}.{suffix}"
    if got != want:
        return f"{what} is {short(got)}; expected {short(want)}.{suffix}"
    return ""


def rule_shape(actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]) -> str:
    got, why = to_array(actual, what)
    if got is None:
        return why
    want = tuple(int(n) for n in expected)
    return "" if tuple(got.shape) == want else f"{what} has shape {tuple(got.shape)}; expected {want}"


def rule_sums_to_one(
    actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]
) -> str:
    array, why = to_array(actual, what)
    if array is None:
        return why
    array, atol, axis = array.astype(float), float(params.get("atol", 1e-5)), int(params["axis"])
    if array.ndim == 0:
        return f"{what} is a single number; expected an array with a {params['axis_name']} axis"
    if np.any(array < -atol):
        return f"{what} has negative entries (smallest {array.min():.3g}); probabilities are >= 0"
    totals = array.sum(axis=axis)
    if not np.allclose(totals, 1.0, atol=atol):
        return (
            f"your {what} do not sum to 1 over the {params['axis_name']} axis (axis {axis}); "
            f"the worst sum is off by {float(np.abs(totals - 1.0).max()):.3g}"
        )
    return ""


def rule_raises(actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]) -> str:
    names = " or ".join(expected["types"])
    if not isinstance(actual, dict) or not actual.get("raised"):
        return f"{what}: expected {names}, but nothing was raised"
    if actual.get("matches") is not True and actual["raised"] == "NotImplementedError":
        return f"{what}: {NOT_ANSWERED}"
    if actual.get("matches") is not True:
        return f"{what}: expected {names}, but it raised {actual['raised']}: {short(actual.get('text', ''), 200)}"
    missing = [part for part in params.get("message_contains", []) if part not in str(actual.get("text", ""))]
    if missing:
        return (
            f"{what}: the {actual['raised']} is right, but its message should mention "
            f"{', '.join(repr(m) for m in missing)} so the user knows what to fix; it says: {short(actual.get('text', ''), 200)}"
        )
    return ""


def rule_true(actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]) -> str:
    value = unplain(actual)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == bool:
        value = bool(value)
    return "" if value is True else what


def rule_option(actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]) -> str:
    options = list(params["options"])
    if unplain(actual) not in options or type(actual) not in (str, int):
        return f"{what}: {short(unplain(actual))} is not one of the options {options!r}"
    return ""


def rule_choice(actual: Any, expected: Any, what: str, params: Mapping[str, Any], mistakes: Mapping[str, Any]) -> str:
    message = rule_option(actual, expected, what, params, mistakes)
    if message:
        return message
    return "" if actual == expected else f"{what}: {actual!r} is not the best answer. {params.get('why', '')}".strip()


RULES = {
    "close": rule_close,
    "equal": rule_equal,
    "shape": rule_shape,
    "sums_to_one": rule_sums_to_one,
    "raises": rule_raises,
    "true": rule_true,
    "option": rule_option,
    "choice": rule_choice,
}


def decide(
    kind: str,
    actual: Any,
    expected: Any,
    what: str,
    params: Mapping[str, Any],
    mistakes: Mapping[str, Any] | None = None,
) -> str:
    """'' when the check of ``kind`` passes, else the message that says what is wrong."""
    return RULES[kind](actual, expected, what, params, mistakes or {})


def short(value: Any, limit: int = 80) -> str:
    """A value's repr, cut to ``limit`` characters (a message never echoes a long value)."""
    text = repr(value)
    return (
        text if len(text) <= limit else text[: limit - 5] + "...'" if text[:1] in "'\"" else text[: limit - 3] + "..."
    )
