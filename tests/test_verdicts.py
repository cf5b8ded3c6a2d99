"""Where points are decided, fed plain data: the verdict rules, the channel's parser, and a test
cell run in this process against answers handed in by a stand-in for the kernel. Milliseconds."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from flowlib.cells import NOT_ANSWERED
from flowlib.course.grader import remote, testcell
from flowlib.course.grader.execute import CellRun
from flowlib.course.grader.screen import Flag, PlanCell
from flowlib.course.grader.verdicts import decide_cell, redact, verdicts

SETUP = "%matplotlib inline\nimport numpy as np\nimport torch\nfrom flowlib import grading\n"
TEST = """got = double(np.array([1.0, 2.0]))
grading.check_close(got, [2.0, 4.0], "double([1, 2])")
### BEGIN HIDDEN TESTS
secret_input = np.array([3.0])
grading.check_close(double(secret_input), [6.0], "double([3])")
### END HIDDEN TESTS
"""


def _test(grade_id="t1", exercise="ex", points=2.0):
    return PlanCell(TEST, "test", grade_id, grade_id, points, exercise)


def test_a_passed_test_earns_its_points_and_a_failed_one_its_reason():
    cells = [_test("t1"), _test("t2", points=1.0)]
    runs = [CellRun(), CellRun(status="error", error="double([1, 2]) is not right")]
    found = verdicts(cells, runs, [], [])
    assert [(v.points, v.message) for v in found] == [(2.0, ""), (0.0, "double([1, 2]) is not right")]


def test_only_evidence_of_delegation_costs_points_a_suspicion_does_not():
    cells, runs = [_test()], [CellRun()]
    assert verdicts(cells, runs, [Flag("possible delegation", "ex", "calls torch.softmax")], [])[0].points == 2.0
    assert verdicts(cells, runs, [Flag("tampering", "ex", "changed module numpy")], [])[0].points == 2.0
    zero = verdicts(cells, runs, [Flag("delegation", "ex", "called torch.softmax while the tests ran it")], [])[0]
    assert zero.points == 0.0 and "called torch.softmax" in zero.message


def test_a_cell_that_did_not_finish_says_so():
    assert decide_cell(CellRun(status="timeout", error="")) == "the test did not finish (timeout)"
    assert decide_cell(CellRun(status="died", error="the kernel died")) == "the kernel died"


def test_redact_removes_hidden_text_from_messages():
    hidden = ["grading.check_close(double(secret_input), [6.0])"]
    assert "[hidden test]" in redact("it failed at grading.check_close(double(secret_input), [6.0])", hidden)


def _fetch(answers):
    def fetch(name):
        if name not in answers:
            raise NameError(name)
        return answers[name]

    return fetch


def test_a_test_cell_runs_here_against_the_learners_answers():
    namespace = testcell.setup_namespace(SETUP, Path.cwd())
    assert testcell.run_test(TEST, "t", namespace, _fetch({"double": lambda x: 2 * x})).passed
    wrong = testcell.run_test(TEST, "t", namespace, _fetch({"double": lambda x: x + 1}))
    assert not wrong.passed and wrong.message.startswith("double([1, 2]) is not right")


def test_messages_for_unanswered_missing_and_failing_code():
    namespace = testcell.setup_namespace(SETUP, Path.cwd())

    def stub(x):
        raise NotImplementedError

    assert testcell.run_test(TEST, "t", namespace, _fetch({"double": stub})).message == NOT_ANSWERED
    assert "name 'double' is not defined" in testcell.run_test(TEST, "t", namespace, _fetch({})).message

    def fails_on_hidden_input(x):
        if x.shape == (1,):
            raise ValueError("secret_input was [3.0]")
        return 2 * x

    message = testcell.run_test(TEST, "t", namespace, _fetch({"double": fails_on_hidden_input})).message
    assert "ValueError" in message and "secret" not in message  # a hidden test's error shows its type only

    def fails_visibly(x):
        raise ValueError("shapes do not match")

    assert (
        testcell.run_test(TEST, "t", namespace, _fetch({"double": fails_visibly})).message
        == "ValueError: shapes do not match"
    )


def test_the_learners_names_are_what_the_test_reads_and_nothing_defines():
    namespace = testcell.setup_namespace(SETUP, Path.cwd())
    code = "import math\nx = softmax(np.zeros(2))\nfor i in range(2):\n    pass\ntry:\n    f(lambda t: t)\nexcept ValueError as error:\n    print(error, answer)"
    assert testcell.learner_names(code, namespace) == ["softmax", "f", "answer"]
    assert testcell.hidden_lines(TEST) == {3, 4, 5, 6}


class _Channel:
    pass


def _ndarray(values, dtype="<f8"):
    data = np.asarray(values, dtype=dtype)
    return {
        "t": "nd",
        "dtype": data.dtype.str,
        "shape": list(data.shape),
        "b64": base64.b64encode(data.tobytes()).decode(),
    }


def test_the_channel_rebuilds_plain_data_from_bytes():
    channel = _Channel()
    assert remote.decode({"t": "tuple", "v": [1, "a", None, {"t": "float", "v": "nan"}]}, channel)[:3] == (1, "a", None)
    array = remote.decode(_ndarray([[1.0, 2.0]]), channel)
    assert type(array) is np.ndarray and array.tolist() == [[1.0, 2.0]]
    tensor = torch.tensor([1.5, -2.0], requires_grad=True)
    item = {
        "t": "tensor",
        "dtype": "float32",
        "shape": [2],
        "requires_grad": True,
        "b64": base64.b64encode(tensor.detach().numpy().tobytes()).decode(),
    }
    back = remote.decode(item, channel)
    assert type(back) is torch.Tensor and back.requires_grad and back.tolist() == [1.5, -2.0]
    assert remote.decode({"t": "dict", "v": [[{"t": "tuple", "v": ["a", "b"]}, 3]]}, channel) == {("a", "b"): 3}
    ref = remote.decode(
        {"t": "ref", "id": 7, "mro": [["torch.nn.modules.linear", "Linear"], ["builtins", "object"]]}, channel
    )
    assert isinstance(ref, torch.nn.Linear) and type(ref) is remote.Remote  # isinstance asks the trusted class


@pytest.mark.parametrize(
    "item",
    [
        {"t": "nd", "dtype": "|O", "shape": [1], "b64": ""},  # objects: never unpickled
        {"t": "nd", "dtype": "<f8", "shape": [3], "b64": base64.b64encode(b"12345678").decode()},  # too few bytes
        {"t": "pickle", "v": "gASV"},
        ["a bare list"],
    ],
)
def test_the_channel_refuses_what_it_does_not_know(item):
    with pytest.raises((remote.ChannelError, ValueError)):
        remote.decode(item, _Channel())


def test_a_reference_to_a_class_the_grader_does_not_trust_is_just_a_handle():
    ref = remote.decode(
        {"t": "ref", "id": 1, "mro": [["__main__", "Liar"], ["evil", "ndarray"], ["builtins", "object"]]}, _Channel()
    )
    assert ref.__class__ is remote.Remote and not isinstance(ref, np.ndarray)


def test_the_learners_exception_comes_back_as_the_nearest_builtin():
    error = remote.rebuild_exception(
        {
            "type": "ShapeError",
            "message": "bad d_model",
            "mro": [["__main__", "ShapeError"], ["builtins", "ValueError"], ["builtins", "Exception"]],
        }
    )
    assert type(error) is ValueError and str(error) == "bad d_model"
    odd = remote.rebuild_exception(
        {"type": "Odd", "message": "x", "mro": [["__main__", "Odd"], ["builtins", "Exception"]]}
    )
    assert isinstance(odd, remote.LearnerError) and str(odd) == "Odd: x"


def test_a_request_goes_out_pickled_and_the_reply_comes_back_parsed():
    sent = []

    def send(code, token):
        sent.append(code)
        reply = {"value": _ndarray([4.0]), "evidence": ["torch.softmax"]}
        return [{"token": token, "reply": json.dumps(reply)}]

    channel = remote.Channel(send, forbidden=("softmax",))
    assert channel.request("call", None, np.array([2.0])).tolist() == [4.0]
    assert sent[0].startswith("__flowlib_agent__(") and channel.evidence == ["torch.softmax"]


def _cell(kind, grade_id, text, points=2.0, solution=True, grade=True):
    return {
        "cell_type": kind,
        "id": grade_id,
        "source": text,
        "metadata": {"nbgrader": {"grade_id": grade_id, "grade": grade, "solution": solution, "points": points}},
    }


def test_a_written_answer_left_as_released_scores_0_and_any_other_waits_for_a_person():
    from flowlib.course.grader.verdicts import BLANK, WAITS, unreadable, written

    source = {
        "cells": [
            _cell("markdown", "w1", "The answer."),
            _cell("markdown", "w2", "The other answer."),
            _cell("code", "t1", "check()", solution=False),
        ]
    }
    released = {"cells": [_cell("markdown", "w1", "YOUR ANSWER HERE"), _cell("markdown", "w2", "YOUR ANSWER HERE")]}
    answers = {"w1": _cell("markdown", "w1", "YOUR ANSWER HERE\n"), "w2": _cell("markdown", "w2", "Attention is all.")}
    found = {v.grade_id: (v.points, v.message) for v in written(source, released, answers)}
    assert found == {"w1": (0.0, BLANK), "w2": (None, WAITS)}
    assert [v.points for v in written(source, released, {})] == [0.0, 0.0]  # deleted: as unanswered
    failed = unreadable(source, "not a notebook", "test") + unreadable(source, "not a notebook", "manual")
    assert sorted((v.grade_id, v.points, v.message) for v in failed) == [
        ("t1", 0.0, "not a notebook"),
        ("w1", 0.0, "not a notebook"),
        ("w2", 0.0, "not a notebook"),
    ]
