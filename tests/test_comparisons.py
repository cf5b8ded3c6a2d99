"""Every rule of :mod:`flowlib.comparisons`, fed plain data: what passes, what fails and what the
message says. No kernel, no notebook: these run in milliseconds."""

import numpy as np
import pytest

from flowlib.comparisons import RULES, decide, plain


def _array(values):
    return plain(np.asarray(values, dtype=float))


def test_every_rule_is_covered_here():
    assert set(RULES) == {"close", "equal", "shape", "sums_to_one", "raises", "true", "option", "choice"}


def test_close_passes_within_tolerance_and_names_the_worst_difference():
    assert decide("close", _array([1.0, 2.0]), _array([1.0, 2.0 + 1e-7]), "w", {}) == ""
    message = decide("close", _array([1.0, 2.5]), _array([1.0, 2.0]), "w", {"atol": 1e-5, "rtol": 1e-4})
    assert message.startswith("w is not right: largest difference 0.5 at index (1,)")


def test_close_names_a_known_mistake_shape_and_non_finite_values():
    mistakes = {"the scores were not scaled": _array([3.0, 4.0])}
    assert "it looks like the scores were not scaled" in decide(
        "close", _array([3.0, 4.0]), _array([1.0, 2.0]), "w", {}, mistakes
    )
    assert "has shape (3,); expected (2,)" in decide("close", _array([1, 2, 3]), _array([1, 2]), "w", {})
    assert "NaN or infinite" in decide("close", _array([np.nan, 1.0]), _array([0.0, 1.0]), "w", {})
    assert decide("close", {"unsupported": "Liar"}, _array([1.0]), "w", {}) != ""


def test_close_appends_the_hint():
    assert decide("close", _array([0.0]), _array([1.0]), "w", {"hint": "Subtract the max."}).endswith(
        "Subtract the max."
    )


def test_equal_on_arrays_and_plain_values():
    assert decide("equal", _array([1, 2]), _array([1, 2]), "ids", {}) == ""
    assert "differs from the expected value at 1 of 2 positions" in decide(
        "equal", _array([1, 3]), _array([1, 2]), "ids", {}
    )
    assert decide("equal", "abc", "abc", "s", {}) == ""
    assert decide("equal", "abd", "abc", "s", {}) == "s is 'abd'; expected 'abc'."
    assert "plain Python data" in decide("equal", {"unsupported": "Liar"}, 3, "count", {})


def test_shape_and_sums_to_one():
    assert decide("shape", _array(np.zeros((2, 3))), [2, 3], "w", {}) == ""
    assert decide("shape", _array(np.zeros((3, 2))), [2, 3], "w", {}) == "w has shape (3, 2); expected (2, 3)"
    params = {"axis": -1, "axis_name": "keys"}
    assert decide("sums_to_one", _array([[0.5, 0.5]]), None, "weights", params) == ""
    assert "do not sum to 1 over the keys axis" in decide("sums_to_one", _array([[0.5, 0.6]]), None, "weights", params)
    assert "negative entries" in decide("sums_to_one", _array([[1.5, -0.5]]), None, "weights", params)


@pytest.mark.parametrize(
    "outcome, fragment",
    [
        ({"raised": None}, "nothing was raised"),
        ({"raised": "NotImplementedError", "matches": False, "text": ""}, "not answered yet"),
        ({"raised": "TypeError", "matches": False, "text": "bad"}, "but it raised TypeError: 'bad'"),
        ({"raised": "ValueError", "matches": True, "text": "d_model 10"}, "should mention '4'"),
    ],
)
def test_raises_says_what_happened(outcome, fragment):
    message = decide("raises", outcome, {"types": ["ValueError"]}, "split", {"message_contains": ["10", "4"]})
    assert fragment in message


def test_raises_passes_with_the_right_type_and_words():
    outcome = {"raised": "ValueError", "matches": True, "text": "d_model=10 is not divisible by 4 heads"}
    assert decide("raises", outcome, {"types": ["ValueError"]}, "split", {"message_contains": ["10", "4"]}) == ""


def test_true_option_and_choice():
    assert decide("true", True, True, "the message", {}) == ""
    assert decide("true", False, True, "the message", {}) == "the message"
    assert decide("true", plain(np.bool_(True)), True, "m", {}) == ""
    assert decide("option", "B", None, "quiz", {"options": ["A", "B"]}) == ""
    assert "is not one of the options" in decide("option", "E", None, "quiz", {"options": ["A", "B"]})
    assert decide("choice", "B", "B", "quiz", {"options": ["A", "B"], "why": "Look again."}) == ""
    assert (
        decide("choice", "A", "B", "quiz", {"options": ["A", "B"], "why": "Look again."})
        == "quiz: 'A' is not the best answer. Look again."
    )
