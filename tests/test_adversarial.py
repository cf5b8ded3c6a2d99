"""Attacks written against the grader's design (issue 20): tests run in the grader's process,
the learner's functions are called in the sandboxed kernel through a channel, and an exercise
scores 0 for delegation only on the run's evidence (flowlib/course/grader/agent.py).

Each submission of lesson 02 (9 points, see tests/submissions.py) gets exactly what the honest
part of its answers earns, never more: forging the channel, rebinding the names the tests use,
patches that last one cell or one call, hooks installed while the kernel is re-run after a
crash, objects that lie about what they are, delegation in disguise, and hidden text smuggled
out through an exception. They are graded in the same `flowlib instructor autograde` run as the
other fixtures (tests.submissions.graded_course). A case marked ``hole`` is a known hole of the
grader, kept as a strict expected failure whose reason says what would close it.
"""

import json

import pytest

from flowlib.course.grader import sandbox as sandbox_module
from flowlib.course.grader.report import reports
from tests.submissions import (
    LESSON,
    QUIZ,
    SDPA,
    SDPA_UNSCALED,
    Fixture,
    forms,
    graded_course,
    hidden_lines,
    learner_files,
    right,
    student,
)

_WHY_NOT = sandbox_module.bwrap_works()
pytestmark = pytest.mark.skipif(
    bool(_WHY_NOT),
    reason=f"the grading sandbox is off here ({_WHY_NOT}): these fixtures would run hostile code with your own rights",
)

MIME = "application/vnd.flowlib.record+json"
TORCH_SOFTMAX = "torch.softmax(torch.tensor(np.asarray(x, dtype=float)), dim=axis).numpy()"
WRONG_SOFTMAX = "def softmax(x, axis=-1):\n    x = np.asarray(x, dtype=float)\n    return np.exp(x) / np.exp(x).sum()"  # over every entry


def delegating(body: str, *, before: str = "") -> dict[str, str]:
    """Right answers, with a softmax whose result comes from ``body`` (an expression of x and axis)."""
    return right(**{"02_softmax": f"{before}def softmax(x, axis=-1):\n    return {body}"})


# Finds the token of the request being served, from inside the learner's function.
LIVE_TOKEN = (
    '''import sys, json
import IPython.display as _display

def _live_token():
    frame = sys._getframe(1)
    while frame is not None:
        if isinstance(frame.f_locals.get("token"), str):
            return frame.f_locals["token"]
        frame = frame.f_back
    return ""

def _forge(value):
    """Publish a reply of my own with the live token, and drop the agent's real one."""
    real = _display.publish_display_data
    real({"%s": {"token": _live_token(), "reply": json.dumps({"value": value, "evidence": []})}})
    def drop_once(*args, **kwargs):
        _display.publish_display_data = real
    _display.publish_display_data = drop_once
'''
    % MIME
)

LYING_ARRAY = '''class ndarray:
    """Says it is numpy's ndarray; equals everything; converts to anything."""
    __module__ = "numpy"
    __qualname__ = "ndarray"

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.dtype = np.dtype(float)

    def __eq__(self, other):
        return True

    def __array__(self, *args, **kwargs):
        return np.full(self.shape, 1 / self.shape[-1])

    def __len__(self):
        return self.shape[0]
'''

# torch's functions called from C make no profile event: the torch function mode sees them; one submission
# for three disguises, each its own exercise's (test_each_disguise_of_the_batch_is_caught_in_its_exercise)
FROM_C = Fixture(
    "delegates from C and through an object whose __call__ is the twin",
    1.0,
    {"delegation"},
    answers=right(
        **{
            "02_softmax": """import functools

class _Softmax:
    __call__ = staticmethod(torch.softmax)   # torch's own, called from C

def softmax(x, axis=-1):
    return _Softmax()(torch.tensor(np.asarray(x, dtype=float)), axis).numpy()""",
            "02_sdpa": SDPA.replace(
                "    return weights @ V, weights",
                "    attend = functools.partial(F.scaled_dot_product_attention,\n"
                "                               attn_mask=None if mask is None else torch.tensor(np.asarray(mask, dtype=bool)))\n"
                "    out = next(map(attend, *([torch.tensor(a)] for a in (Q, K, V))))\n"
                "    return out.numpy(), weights",
            ),
            "02_causal_mask": "class _Mask:\n    __call__ = staticmethod(mistakes.causal_mask_inverted)\n\ncausal_mask = _Mask()",
        }
    ),
)

ADVERSARIAL = [
    # --- forging the channel: whatever is forged is an output, which is what answering is ---
    Fixture(
        "publishes fake agent replies",
        0.0,
        {"tampering"},
        added=(
            (
                "02_setup",
                f"""import json
from IPython.display import publish_display_data
for token in ['0' * 16, '', None]:
    publish_display_data({{'{MIME}': {{'token': token, 'reply': json.dumps({{'value': True}})}}}})""",
            ),
        ),
    ),
    # its softmax is right inside its attention, and hands the grader a forged lying reference: 2 + 1 + 5... minus softmax's 2
    Fixture(
        "forges replies with the live token",
        7.0,
        {"tampering"},
        answers=right(
            **{
                "02_softmax": LIVE_TOKEN
                + """
def softmax(x, axis=-1):
    if sys._getframe(1).f_code.co_name == "perform":   # called by the grader, not by my attention
        _forge({"t": "ref", "id": 1, "mro": [["numpy", "ndarray"]], "callable": False})
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)"""
            }
        ),
    ),
    Fixture(
        "forges a reply of arrays of the wrong dtype",
        7.0,
        {"tampering"},
        answers=right(
            **{
                "02_softmax": LIVE_TOKEN
                + """
def softmax(x, axis=-1):
    if sys._getframe(1).f_code.co_name == "perform":
        _forge({"t": "nd", "dtype": "|O", "shape": [2, 3], "b64": ""})
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)"""
            }
        ),
    ),
    # every request is answered True: no answer reaches the grader, so nothing is earned
    Fixture(
        "replaces the grader's agent with one that says yes",
        0.0,
        {"tampering"},
        added=(
            (
                "02_setup",
                f'''import json
from IPython.display import publish_display_data

def __flowlib_agent__(text, token):
    publish_display_data({{"{MIME}": {{"token": token, "reply": json.dumps({{"value": True}})}}}})''',
            ),
        ),
    ),
    Fixture(
        "prints JSON that looks like a reply",
        2.0,
        answers=right(
            **{
                "02_softmax": WRONG_SOFTMAX.replace(
                    "    x = np.asarray",
                    f"    print(json.dumps({{'{MIME}': {{'token': 'x', 'reply': '{{}}'}}}}))\n    x = np.asarray",
                ),
                "02_sdpa": "",
            }
        ),
        added=(("02_setup", "import json"),),
    ),
    # --- rebinding the names the tests use, in the kernel: the tests run elsewhere ---
    Fixture(
        "rebinds grading, np and tuple with global",
        2.0,
        answers=right(**{"02_softmax": WRONG_SOFTMAX}),
        added=(
            (
                "02_setup",
                """
def _rebind():
    global grading, np, tuple, AssertionError
    real = np

    class Lenient:
        def __getattr__(self, name):
            return (lambda *a, **k: True) if name in ("allclose", "array_equal", "isclose") else getattr(real, name)

    class Yes:
        def __getattr__(self, name):
            return lambda *a, **k: None

    grading, np, tuple, AssertionError = Yes(), Lenient(), (lambda *a: ()), Warning

_rebind()""",
            ),
        ),
    ),
    # --- patches that last one cell, or one call ---
    Fixture(
        "patches checks only while its answer runs",
        4.0,
        {"tampering"},
        answers=right(
            **{
                "02_sdpa": SDPA_UNSCALED.replace(
                    "def scaled_dot_product_attention(Q, K, V, mask=None):\n",
                    """def scaled_dot_product_attention(Q, K, V, mask=None):
    saved = grading.check_close, grading.check_sums_to_one, np.allclose, torch.allclose
    grading.check_close = grading.check_sums_to_one = np.allclose = torch.allclose = lambda *a, **k: True
    try:
        return _unscaled(Q, K, V, mask)
    finally:
        grading.check_close, grading.check_sums_to_one, np.allclose, torch.allclose = saved

def _unscaled(Q, K, V, mask=None):
""",
                )
            }
        ),
    ),
    Fixture(
        "patches the checks for one cell",
        4.0,
        {"tampering"},
        answers=right(
            **{
                "02_sdpa": (
                    "_saved = grading.check_close\ngrading.check_close = lambda *a, **k: None\n"
                    + SDPA_UNSCALED
                    + "\ngrading.check_close = _saved"
                )
            }
        ),
    ),
    # --- hooks installed while the cells before a crash are re-run (that replay is not probed) ---
    Fixture(
        "installs a hook during the restart replay",
        7.0,
        {"kernel died"},
        answers=delegating(TORCH_SOFTMAX),
        added=(
            (
                "02_setup",
                """import os, sys
if os.path.exists("ran-once"):                      # only in the replay after the crash below
    _setprofile = sys.setprofile
    sys.setprofile = lambda hook: _setprofile(None)""",
            ),
            (
                "02_qkv",
                'import os\nif not os.path.exists("ran-once"):\n    open("ran-once", "w").close()\n    os._exit(1)',
            ),
        ),
    ),
    # --- objects that lie about what they are ---
    Fixture(
        "returns an object whose __module__ says numpy",
        1.0,
        {"tampering"},
        answers={
            "02_softmax": LYING_ARRAY + "\ndef softmax(x, axis=-1):\n    return ndarray(np.shape(x))",
            "02_quiz_scaling": QUIZ,
            "02_causal_mask": "def causal_mask(T):\n    return ndarray((T, T))",
        },
    ),
    Fixture(
        "returns an object whose __class__ says ndarray",
        1.0,
        {"tampering"},
        answers={
            "02_quiz_scaling": QUIZ,
            "02_softmax": """class Liar:
    def __init__(self, x):
        self.x = np.asarray(x, dtype=float)

    @property
    def __class__(self):
        return np.ndarray

    def __eq__(self, other):
        return True

    def __array__(self, *args, **kwargs):
        return self.x            # the input, not its softmax

def softmax(x, axis=-1):
    return Liar(x)""",
        },
    ),
    Fixture(
        "returns a tensor subclass with __torch_function__",
        1.0,
        {"tampering"},
        answers={
            "02_quiz_scaling": QUIZ,
            "02_softmax": """class Agreeable(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ in ("allclose", "equal", "__eq__", "isclose"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def softmax(x, axis=-1):
    return torch.zeros(np.shape(x), dtype=torch.float64).as_subclass(Agreeable)""",
        },
    ),
    # --- delegation in disguise: the run sees the forbidden function called, however it was reached ---
    Fixture(
        "delegates through torch.nn.Softmax()",
        7.0,
        {"delegation"},
        answers=delegating("torch.nn.Softmax(dim=axis)(torch.tensor(np.asarray(x, dtype=float))).numpy()"),
    ),
    Fixture(
        "delegates inside a %%capture cell magic",
        7.0,
        {"delegation"},
        answers=right(**{"02_softmax": f"%%capture\ndef softmax(x, axis=-1):\n    return {TORCH_SOFTMAX}"}),
    ),
    Fixture(
        "delegates through a cell magic of its own",
        7.0,
        {"delegation"},
        answers=right(**{"02_softmax": f"%%quietly\ndef softmax(x, axis=-1):\n    return {TORCH_SOFTMAX}"}),
        added=(
            (
                "02_setup",
                """from IPython.core.magic import register_cell_magic

@register_cell_magic
def quietly(line, cell):
    get_ipython().run_cell(cell)""",
            ),
        ),
    ),
    Fixture(
        "delegates through full-width letters spelling exec",
        7.0,
        {"delegation", "tampering"},
        answers=right(
            **{"02_softmax": f"\uff45\uff58\uff45\uff43('def softmax(x, axis=-1):\\n    return {TORCH_SOFTMAX}')"}
        ),
    ),
    Fixture(
        "delegates through exec found by unicodedata normalisation",
        7.0,
        {"delegation", "tampering"},
        answers=right(
            **{
                "02_softmax": "import builtins, unicodedata\n_run = getattr(builtins, unicodedata.normalize('NFKC', '\uff45\uff58\uff45\uff43'))\n"
                f"_run('def softmax(x, axis=-1):\\n    return {TORCH_SOFTMAX}')"
            }
        ),
    ),
    Fixture(
        "delegates through a default argument",
        7.0,
        {"delegation"},
        answers=right(
            **{
                "02_softmax": "def softmax(x, axis=-1, _f=torch.softmax):\n    return _f(torch.tensor(np.asarray(x, dtype=float)), dim=axis).numpy()"
            }
        ),
    ),
    Fixture(
        "delegates through scipy.special.log_softmax",
        7.0,
        {"delegation"},
        answers=delegating(
            "np.exp(special.log_softmax(np.asarray(x, dtype=float), axis=axis))", before="from scipy import special\n\n"
        ),
    ),
    Fixture(
        "delegates through getattr(F, 'soft' + 'max')",
        7.0,
        {"delegation"},
        answers=delegating("getattr(F, 'soft' + 'max')(torch.tensor(np.asarray(x, dtype=float)), dim=axis).numpy()"),
    ),
    Fixture(
        "delegates attention to F.scaled_dot_product_attention",
        4.0,
        {"delegation"},
        answers=right(
            **{
                "02_sdpa": SDPA.replace(
                    "    return weights @ V, weights",
                    "    out = F.scaled_dot_product_attention(*(torch.tensor(a) for a in (Q, K, V)),\n"
                    "                                         attn_mask=None if mask is None else torch.tensor(np.asarray(mask, dtype=bool)))\n"
                    "    return out.numpy(), weights",
                )
            }
        ),
    ),
    Fixture(
        "delegates through torch._softmax",
        7.0,
        {"delegation"},
        answers=delegating("torch._softmax(torch.tensor(np.asarray(x, dtype=float)), axis, False).numpy()"),
    ),
    Fixture(
        "delegates through torch.special.softmax",
        7.0,
        {"delegation"},
        answers=delegating("torch.special.softmax(torch.tensor(np.asarray(x, dtype=float)), axis).numpy()"),
    ),
    Fixture(
        "delegates through torch.ops.aten._softmax",
        7.0,
        {"delegation"},
        answers=delegating("torch.ops.aten._softmax(torch.tensor(np.asarray(x, dtype=float)), axis, False).numpy()"),
    ),
    Fixture(
        "delegates the causal mask to flowlib.mistakes",
        8.0,
        {"delegation"},
        answers=right(
            **{"02_causal_mask": "def causal_mask(T):\n    return mistakes.causal_mask_inverted(T).T.numpy()"}
        ),
    ),
    Fixture(
        "delegates attention to flowlib.mistakes",
        4.0,
        {"delegation"},
        answers=right(
            **{
                "02_sdpa": """def scaled_dot_product_attention(Q, K, V, mask=None):
    q, k, v = (torch.tensor(np.asarray(a, dtype=float)) for a in (Q, K, V))
    if mask is None:
        out, w = mistakes.ignores_mask(q, k, v)
    else:
        out, w = mistakes.inverted_mask(q, k, v, ~torch.tensor(np.asarray(mask, dtype=bool)))
    return out.numpy(), w.numpy()"""
            }
        ),
    ),
    FROM_C,
    Fixture(
        "delegates through operator.methodcaller",
        7.0,
        {"delegation"},
        answers=delegating(
            "operator.methodcaller('softmax', axis)(torch.tensor(np.asarray(x, dtype=float))).numpy()",
            before="import operator\n\n",
        ),
    ),
    Fixture(
        "delegates in another thread",
        7.0,
        {"delegation"},
        answers=delegating(
            f"ThreadPoolExecutor(1).submit(lambda: {TORCH_SOFTMAX}).result()",
            before="from concurrent.futures import ThreadPoolExecutor\n\n",
        ),
    ),
    # switching the grader's watch off is evidence against every exercise whose tests ran that code: softmax and
    # the attention that calls it (2 + 5 points); the quiz and the causal mask keep theirs
    Fixture(
        "unhooks the profiler for its call",
        2.0,
        {"delegation"},
        answers=right(
            **{
                "02_softmax": f"""import sys

def softmax(x, axis=-1):
    hook = sys.getprofile()
    sys.setprofile(None)
    try:
        return {TORCH_SOFTMAX}
    finally:
        sys.setprofile(hook)"""
            }
        ),
    ),
    Fixture(
        "wraps the grader's agent to hide its delegation",
        7.0,
        {"delegation"},
        answers=delegating(TORCH_SOFTMAX),
        added=(
            (
                "02_setup",
                """import sys
_setprofile = sys.setprofile

def _quiet(text, token, _agent=__flowlib_agent__):
    sys.setprofile = lambda hook: _setprofile(None)
    try:
        _agent(text, token)
    finally:
        sys.setprofile = _setprofile

__flowlib_agent__ = _quiet""",
            ),
        ),
    ),
    # --- hidden text smuggled out: everything the kernel can see, in every encoding, in its error message ---
    Fixture(
        "raises everything it can see, reversed and in base64",
        2.0,
        {"tampering"},
        answers=right(
            **{
                "02_softmax": """import base64, inspect, sys

def softmax(x, axis=-1):
    seen = [repr(x)]
    frame = sys._getframe(1)
    while frame is not None:
        seen.append(repr(frame.f_locals)[:3000])
        try:
            seen.append(inspect.getsource(frame))
        except (OSError, TypeError):
            pass
        frame = frame.f_back
    seen += [str(get_ipython().user_ns.get("_ih", "")), str(sys.modules.get("__main__"))]
    text = "\\n".join(seen)
    raise ValueError(text[::-1][:600] + " | " + base64.b64encode(text.encode()).decode()[:1200])""",
                "02_sdpa": "",
            }
        ),
    ),
    # its attention remembers the hidden tests' inputs and sends them back, encoded, in the error of
    # the next visible test (batched inputs): values the kernel was given, never a line of a test
    Fixture(
        "replays hidden-test inputs in a visible test's error",
        8.0,
        answers=right(
            **{
                "02_sdpa": "import base64\n_seen = []\n\n"
                + SDPA.replace(
                    "    Q, K, V = (np",
                    """    _seen.append(np.asarray(Q).round(3).tolist())
    if np.shape(Q) == (2, 3, 4, 8):   # the visible batched test
        raise ValueError(base64.b64encode(repr(_seen[:-1]).encode()).decode()[:900] + repr(_seen[:-1])[::-1][:300])
    Q, K, V = (np""",
                )
            }
        ),
    ),
    Fixture(
        "an error message that is a script",
        7.0,
        answers=right(
            **{
                "02_softmax": "def softmax(x, axis=-1):\n    raise ValueError('<script>alert(\"from an error\")</script><img src=x onerror=alert(1)>')",
                "02_sdpa": SDPA.replace(
                    "weights = softmax(scores, axis=-1)",
                    "e = np.exp(scores - scores.max(-1, keepdims=True))\n    weights = e / e.sum(-1, keepdims=True)",
                ),
            }
        ),
    ),
]


def _typed_outputs(notebook: dict) -> None:
    """Outputs typed into the file: a script and a fake 'Tests passed.' on every code cell."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 1
            cell["outputs"] = [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/html": "<script>alert('typed into the file')</script>", "text/plain": "typed"},
                },
                {"output_type": "stream", "name": "stdout", "text": "Tests passed. <script>alert('stream')</script>\n"},
            ]


ADVERSARIAL.append(Fixture("outputs typed into the submitted file", 0.0, edit=_typed_outputs))
SCRIPTS = (
    "<script>alert('typed into the file')",
    "<script>alert('stream')",
    '<script>alert("from an error")',
    "<img src=x onerror",
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return graded_course(tmp_path_factory)


def _param(fixture: Fixture):
    marks = [pytest.mark.xfail(strict=True, reason=fixture.hole)] if fixture.hole else []
    return pytest.param(fixture, id=fixture.name, marks=marks)


@pytest.mark.parametrize("fixture", [_param(f) for f in ADVERSARIAL])
def test_an_attack_earns_only_what_its_answers_earn(graded, fixture):
    report = reports(graded)[(student(fixture), LESSON)]
    raised = report.flag_kinds() - {"protection off"}
    said = f"{fixture.name} ({report.status}{': ' + report.reason if report.reason else ''})"
    assert report.score == fixture.expected, (
        f"{said}: scored {report.score}, expected {fixture.expected}: {report.verdicts}"
    )
    assert fixture.flags <= raised, f"{said}: flags {raised}, expected at least {set(fixture.flags)}: {report.flags}"


def test_each_disguise_of_the_batch_is_caught_in_its_exercise(graded):
    report = reports(graded)[(student(FROM_C), LESSON)]
    caught = {flag["cell"]: flag["detail"] for flag in report.flags if flag["kind"] == "delegation"}
    for exercise, twin in (
        ("02_softmax", "torch.softmax"),
        ("02_sdpa", "scaled_dot_product_attention"),
        ("02_causal_mask", "flowlib.mistakes.causal_mask_inverted"),
    ):
        assert twin in caught.get(exercise, ""), f"{exercise}: {twin} not caught: {caught}"


def test_no_hidden_test_line_reaches_a_learner_in_any_form(graded):
    hidden = hidden_lines(graded)
    assert len(hidden) > 20
    files = learner_files(graded)
    assert {p.parent.parent.name for p in files} >= {student(f) for f in ADVERSARIAL}
    for path in files:
        text = path.read_text()
        leaked = [(line, form) for line in hidden for form in forms(line) if form in text]
        assert not leaked, f"{path.relative_to(graded)} shows a hidden-test line: {leaked[:1]}"
        assert "BEGIN HIDDEN TESTS" not in text and "SNETS NEDDIH" not in text


def test_no_script_the_learner_typed_reaches_feedback(graded):
    """Outputs typed into the file are dropped from every file; an error message is shown as text."""
    for name, kinds in (
        ("outputs typed into the submitted file", (".ipynb", ".html")),
        ("an error message that is a script", (".html",)),
    ):
        for path in learner_files(graded):
            if (
                path.parent.parent.name != student(next(f for f in ADVERSARIAL if f.name == name))
                or path.suffix not in kinds
            ):
                continue
            text = path.read_text()
            found = [script for script in SCRIPTS if script in text or json.dumps(script)[1:-1] in text]
            assert not found, f"{path.relative_to(graded)} keeps what the learner typed: {found}"


def test_the_smuggler_gets_an_error_type_not_its_text_in_hidden_tests(graded):
    report = reports(graded)[(student(next(f for f in ADVERSARIAL if f.name.startswith("raises everything"))), LESSON)]
    messages = {v["grade_id"]: v["message"] for v in report.verdicts}
    assert (
        "hidden tests show no more" in messages["02_softmax_tests_large_logits"]
        or "ValueError" in messages["02_softmax_tests_large_logits"]
    )
    assert all(len(m) <= 600 for m in messages.values())
