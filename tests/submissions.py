"""Submissions of lesson 02 written the way learners write them, honest and dishonest, each
with the score it must get and the flags it must raise (tests/test_trusted_grading.py; the
attacks aimed at the grader's design are in tests/test_adversarial.py).

Lesson 02 is worth 9 points: softmax (2 tests, 1 + 1), the quiz (1), scaled dot-product
attention (3 tests, 2 + 1 + 2) and the causal mask (1). A fixture is built from the released
notebook by filling answer cells (``answers``), adding learner cells after a cell
(``added``), and editing the notebook (``edit``).

Each test cell runs in the grader's own process and calls the learner's functions in the
sandboxed kernel through a channel (flowlib/course/grader/testcell.py, remote.py, agent.py), so
a submission earns exactly what its answers earn: patching the kernel changes only what the
learner's own code returns. An exercise scores 0 for delegation only when the run caught its
answer calling a forbidden function; what a reading of the code suspects, and what the probe
sees changed, are flags for a person ("possible delegation", "tampering"), never a zero.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

LESSON = "02_self_attention"
FULL = 9.0

SOFTMAX = """def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)"""
QUIZ = 'answer_scaling = "B"'
SDPA = """def scaled_dot_product_attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)
    weights = softmax(scores, axis=-1)
    return weights @ V, weights"""
CAUSAL = """def causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool))"""
RIGHT = {"02_softmax": SOFTMAX, "02_quiz_scaling": QUIZ, "02_sdpa": SDPA, "02_causal_mask": CAUSAL}
STUB = 'raise NotImplementedError("Replace this line with your solution.")'


@dataclass(frozen=True)
class Fixture:
    name: str
    expected: float
    flags: frozenset[str] = frozenset()  # flags it must raise
    answers: dict[str, str] = field(default_factory=dict)  # grade id -> code ('' keeps the stub)
    added: tuple[tuple[str, str], ...] = ()  # (after this cell id or grade id, code)
    edit: Callable[[dict], None] | None = None
    extra_files: tuple[str, ...] = ()
    may_flag: frozenset[str] = frozenset()  # flags an honest submission may raise for a person to look at
    hole: str = ""  # a known hole of the grader: the test is an expected failure, with this reason

    def notebook(self, released: dict) -> dict:
        notebook = json.loads(json.dumps(released))
        cells = []
        for cell in notebook["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in self.answers and self.answers[grade_id]:
                cell["source"] = self.answers[grade_id]
            cells.append(cell)
            for anchor, code in self.added:
                if anchor in (grade_id, cell.get("id")):
                    cells.append(
                        {
                            "cell_type": "code",
                            "id": f"mine-{len(cells)}",
                            "metadata": {},
                            "source": code,
                            "outputs": [],
                            "execution_count": None,
                        }
                    )
        notebook["cells"] = cells
        if self.edit:
            self.edit(notebook)
        return notebook


def right(**changes: str) -> dict[str, str]:
    return {**RIGHT, **changes}


def _find(notebook: dict, grade_id: str) -> int:
    return next(
        i
        for i, c in enumerate(notebook["cells"])
        if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id or c.get("id") == grade_id
    )


def _code(source: str, cell_id: str = "") -> dict:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
    return {**cell, "id": cell_id} if cell_id else cell


def _edit_test(notebook: dict) -> None:
    notebook["cells"][_find(notebook, "02_causal_mask_tests")]["source"] = "print('tests are for other people')"


def _delete_test(notebook: dict) -> None:
    del notebook["cells"][_find(notebook, "02_sdpa_tests_mask")]


def _duplicate_test(notebook: dict) -> None:
    index = _find(notebook, "02_softmax_tests_basic")
    notebook["cells"].insert(index, json.loads(json.dumps(notebook["cells"][index])))


def _fake_graded_cell(notebook: dict) -> None:
    notebook["cells"].append(
        {
            "cell_type": "code",
            "id": "bonus",
            "outputs": [],
            "execution_count": None,
            "metadata": {
                "nbgrader": {
                    "grade": True,
                    "solution": False,
                    "points": 50,
                    "grade_id": "bonus_points",
                    "locked": True,
                    "schema_version": 3,
                    "task": False,
                }
            },
            "source": "print('50 points please')",
        }
    )


PATCH_ALL_CHECKS = """for _name in dir(grading):
    if _name.startswith("check_"):
        setattr(grading, _name, lambda *args, **kwargs: None)"""

HONEST = [
    Fixture("correct", FULL, answers=RIGHT),
    Fixture(
        "correct, printing and warning",
        FULL,
        answers=right(
            **{
                "02_softmax": SOFTMAX.replace(
                    "    x = np.asarray",
                    "    print('softmax of', np.shape(x))\n    print('a note', file=sys.stderr)\n"
                    "    warnings.warn('just a note')\n    x = np.asarray",
                )
            }
        ),
        added=(("02_setup", "import sys, warnings\nprint('starting')"),),
    ),
    Fixture(
        "float32 and torch",
        FULL,
        answers=right(
            **{
                "02_softmax": """def softmax(x, axis=-1):
    t = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    e = torch.exp(t - t.amax(dim=axis, keepdim=True))
    return (e / e.sum(dim=axis, keepdim=True)).numpy()""",
                "02_causal_mask": "def causal_mask(T):\n    return torch.ones(T, T).tril().bool()",
            }
        ),
    ),
    Fixture(
        "loops and einsum",
        FULL,
        answers=right(
            **{
                "02_sdpa": """def scaled_dot_product_attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in (Q, K, V))
    scores = np.einsum("...qd,...kd->...qk", Q, K) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores)
    return np.einsum("...qk,...kv->...qv", weights, V), weights""",
                "02_causal_mask": """def causal_mask(T):
    m = np.zeros((T, T), dtype=bool)
    for i in range(T):
        for j in range(i + 1):
            m[i, j] = True
    return m""",
            }
        ),
    ),
    Fixture(
        "helpers in cells of their own",
        FULL,
        answers=right(
            **{"02_softmax": "def softmax(x, axis=-1):\n    return _normalise(np.exp(_shifted(x, axis)), axis)"}
        ),
        added=(
            (
                "02_qkv",
                "def _shifted(x, axis):\n    x = np.asarray(x, dtype=float)\n    return x - x.max(axis=axis, keepdims=True)\n\n"
                "def _normalise(e, axis):\n    return e / e.sum(axis=axis, keepdims=True)",
            ),
        ),
    ),
    Fixture(
        "draws random numbers",
        FULL,
        answers=right(
            **{
                "02_causal_mask": "def causal_mask(T):\n    torch.rand(3)\n    np.random.rand(5)\n    return np.tril(np.ones((T, T), dtype=bool))"
            }
        ),
    ),
    Fixture("partly answered", 3.0, answers={"02_softmax": SOFTMAX, "02_quiz_scaling": QUIZ}),
    Fixture(
        "unstable softmax",
        8.0,
        answers=right(
            **{
                "02_softmax": "def softmax(x, axis=-1):\n    e = np.exp(np.asarray(x, dtype=float))\n    return e / e.sum(axis=axis, keepdims=True)"
            }
        ),
    ),
    Fixture("wrong quiz answer", 8.0, answers=right(**{"02_quiz_scaling": 'answer_scaling = "A"'})),
    Fixture("unanswered", 0.0),
]

# Attacks on the earlier design (tests in the learner's kernel). The tests no longer run there, so
# most of these now earn what their answers earn, and their tampering is a flag, never a zero:
# "patches check_close in an answer" keeps the 1 point of its causal mask that the old
# "tampering zeroes every later cell" rule took away, and "reads the hidden tests from history"
# earns 9, since the kernel never holds a line of a test.
SDPA_UNSCALED = SDPA.replace("/ np.sqrt(Q.shape[-1])", "")
DISHONEST = [
    Fixture("patches every check, answers nothing", 0.0, {"tampering"}, added=(("02_setup", PATCH_ALL_CHECKS),)),
    Fixture(
        "replaces the grading module",
        0.0,
        {"tampering"},
        added=(
            (
                "02_setup",
                "class _Yes:\n    def __getattr__(self, name):\n        return lambda *a, **k: None\ngrading = _Yes()",
            ),
        ),
    ),
    # softmax 2 + quiz 1 + causal mask 1: its attention is unscaled, whatever check_close does in the kernel
    Fixture(
        "patches check_close in an answer",
        4.0,
        {"tampering"},
        answers=right(**{"02_sdpa": "grading.check_close = lambda *a, **k: None\n" + SDPA_UNSCALED}),
    ),
    # the tests' reference is the grader's own flowlib: the kernel's copy is the learner's business
    Fixture(
        "patches flowlib's reference",
        4.0,
        {"tampering"},
        answers=right(
            **{
                "02_sdpa": SDPA_UNSCALED
                + "\nattention.scaled_dot_product_attention = lambda Q, K, V, mask=None: tuple(torch.tensor(a) for a in scaled_dot_product_attention(Q.numpy(), K.numpy(), V.numpy(), mask))"
            }
        ),
    ),
    # its softmax is exp(x), and its attention uses it: quiz 1 + causal mask 1
    Fixture(
        "patches torch.softmax",
        2.0,
        {"tampering"},
        answers=right(
            **{
                "02_softmax": "def softmax(x, axis=-1):\n    return np.exp(x)\ntorch.softmax = lambda t, dim: torch.tensor(softmax(t.numpy()))"
            }
        ),
    ),
    Fixture(
        "patches numpy.allclose",
        0.0,
        {"tampering"},
        added=(("02_setup", "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True"),),
    ),
    Fixture(
        "delegates softmax to torch",
        7.0,
        {"delegation"},
        answers=right(
            **{
                "02_softmax": "def softmax(x, axis=-1):\n    return torch.softmax(torch.tensor(np.asarray(x, dtype=float)), dim=axis).numpy()"
            }
        ),
    ),
    Fixture(
        "delegates attention to flowlib",
        4.0,
        {"delegation"},
        answers=right(
            **{
                "02_sdpa": """def scaled_dot_product_attention(Q, K, V, mask=None):
    out, w = attention.scaled_dot_product_attention(*(torch.tensor(np.asarray(a, dtype=float)) for a in (Q, K, V)),
                                                    mask=None if mask is None else torch.tensor(np.asarray(mask)))
    return out.numpy(), w.numpy()"""
            }
        ),
    ),
    Fixture(
        "delegates through scipy",
        7.0,
        {"delegation"},
        answers=right(
            **{
                "02_softmax": "from scipy.special import softmax as _library_softmax\n\ndef softmax(x, axis=-1):\n    return _library_softmax(np.asarray(x, dtype=float), axis=axis)"
            }
        ),
    ),
    Fixture(
        "delegates in a helper cell",
        7.0,
        {"delegation"},
        answers=right(**{"02_softmax": "def softmax(x, axis=-1):\n    return _mine(x, axis)"}),
        added=(
            (
                "02_qkv",
                "def _mine(x, axis):\n    return F.softmax(torch.tensor(np.asarray(x, dtype=float)), dim=axis).numpy()",
            ),
        ),
    ),
    # the run sees torch.softmax called however it was looked up: softmax 0, the rest earned
    Fixture(
        "obfuscated delegation",
        7.0,
        {"delegation", "tampering"},
        answers=right(
            **{
                "02_softmax": "def softmax(x, axis=-1):\n    f = getattr(__import__('tor' + 'ch'), 'soft' + 'max')\n    return f(torch.tensor(np.asarray(x, dtype=float)), axis).numpy()"
            }
        ),
    ),
    Fixture(
        "an object that equals everything",
        0.0,
        {"tampering"},
        answers={
            "02_softmax": """class Anything(np.ndarray):
    def __eq__(self, other):
        return True
def softmax(x, axis=-1):
    return np.zeros(np.shape(x)).view(Anything)""",
            "02_causal_mask": "def causal_mask(T):\n    return softmax(np.zeros((T, T)))",
        },
    ),
    # its values are read as plain bytes: the unstable softmax passes the 2 x 3 example, not the large logits
    Fixture(
        "an array subclass",
        1.0,
        answers={
            "02_softmax": "class Mine(np.ndarray):\n    pass\ndef softmax(x, axis=-1):\n    x = np.asarray(x, dtype=float)\n    return (np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)).view(Mine)"
        },
    ),
    Fixture(
        "patches builtins",
        0.0,
        {"tampering"},
        added=(("02_setup", "import builtins\nbuiltins.isinstance = lambda *a: True"),),
    ),
    Fixture(
        "installs a trace function",
        0.0,
        {"tampering"},
        added=(("02_setup", "import sys\nsys.settrace(lambda *a: None)"),),
    ),
    Fixture(
        "installs an input transformer",
        0.0,
        {"tampering"},
        added=(("02_setup", "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"),),
    ),
    # the sandbox has no solutions and a read-only flowlib: the answer cell fails before it defines
    # its function, so attention scores 0 and the rest is earned
    Fixture(
        "reads the solutions",
        4.0,
        {"tampering"},
        answers=right(
            **{"02_sdpa": "source = open('../../solutions/02_self_attention/02_self_attention.ipynb').read()\n" + SDPA}
        ),
    ),
    Fixture(
        "writes into flowlib",
        4.0,
        {"tampering"},
        answers=right(**{"02_sdpa": "open('../../flowlib/grading.py', 'w').write('')\n" + SDPA}),
    ),
    # ipykernel's exit() need not end the kernel; either way the causal mask is never defined
    Fixture("exits the kernel", 8.0, answers=right(**{"02_causal_mask": "exit()"})),
    Fixture("kills the kernel", 8.0, {"kernel died"}, answers=right(**{"02_causal_mask": "import os\nos._exit(1)"})),
    Fixture("hangs", 8.0, {"timeout"}, answers=right(**{"02_causal_mask": "while True:\n    pass"})),
    Fixture(
        "hangs and ignores the interrupt",
        8.0,
        {"timeout"},
        answers=right(
            **{
                "02_causal_mask": "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass"
            }
        ),
    ),
    Fixture("eats memory", 8.0, answers=right(**{"02_causal_mask": "hog = np.ones(10**11)"})),
    Fixture(
        "fills the disk",
        8.0,
        answers=right(**{"02_causal_mask": "for i in range(100):\n    np.save(f'junk{i}.npy', np.zeros(2 * 10**7))"}),
    ),
    Fixture(
        "floods the output",
        9.0,
        {"output flood"},
        answers=right(**{"02_causal_mask": CAUSAL + "\nfor _ in range(100):\n    print('x' * 100_000)"}),
    ),
    # the kernel's history holds the learner's cells and the course's, never a test: full marks, flagged
    Fixture(
        "reads the hidden tests from history", FULL, {"tampering"}, answers=right(**{"02_sdpa": SDPA + "\nprint(In)"})
    ),
    Fixture("edits a test cell", FULL, {"edited test cell"}, answers=RIGHT, edit=_edit_test),
    Fixture("deletes a test cell", FULL, {"deleted test cell"}, answers=RIGHT, edit=_delete_test),
    Fixture("duplicates a test cell", FULL, {"duplicated cell"}, answers=RIGHT, edit=_duplicate_test),
    Fixture("adds a graded cell of its own", FULL, {"tampering"}, answers=RIGHT, edit=_fake_graded_cell),
    Fixture("ships a numpy.py beside the notebook", FULL, {"extra files"}, answers=RIGHT, extra_files=("numpy.py",)),
    # the tests' AssertionError is the grader's: its softmax returns x and fails as it should
    Fixture(
        "neutralises assertions",
        0.0,
        answers={"02_softmax": "def softmax(x, axis=-1):\n    return x"},
        added=(("02_setup", "AssertionError = Warning"),),
    ),
    Fixture(
        "forges verdict records",
        0.0,
        {"tampering"},
        added=(
            (
                "02_setup",
                "from IPython.display import publish_display_data\n"
                "publish_display_data({'application/vnd.flowlib.record+json': {'kind': 'true', 'actual': True}})",
            ),
        ),
    ),
]


# --- honest oddities: what learners write in good faith; every one earns what its answers earn ---


def _no_ids(notebook: dict) -> None:
    """Saved by an older Jupyter (nbformat 4.4): no cell has an id."""
    notebook["nbformat_minor"] = 4
    for cell in notebook["cells"]:
        cell.pop("id", None)


def _helper_above_title(notebook: dict) -> None:
    notebook["cells"].insert(
        0,
        _code(
            "def _shift(x, axis):\n    x = np.asarray(x, dtype=float)\n    return x - x.max(axis=axis, keepdims=True)",
            "helper-top",
        ),
    )


def _no_ids_with_helper(notebook: dict) -> None:
    notebook["cells"].insert(
        _find(notebook, "02_softmax"),
        _code("def _normalise(e, axis):\n    return e / e.sum(axis=axis, keepdims=True)", "helper"),
    )
    _no_ids(notebook)


def _with_outputs(notebook: dict) -> None:
    for count, cell in enumerate(c for c in notebook["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = count + 1
        cell["outputs"] = [
            {"output_type": "stream", "name": "stdout", "text": "Tests passed.\n"},
            {
                "output_type": "execute_result",
                "execution_count": count + 1,
                "metadata": {},
                "data": {"text/plain": "array([0.09, 0.24, 0.67])"},
            },
        ]


def _blank_cells(notebook: dict) -> None:
    for anchor in ("02_setup", "02_softmax", "02_sdpa_tests_mask", "02_next_md"):
        index = _find(notebook, anchor) + 1
        notebook["cells"][index:index] = [
            _code("", f"blank-{anchor}"),
            _code("\n\n", f"blank2-{anchor}"),
            {"cell_type": "markdown", "id": f"blank-md-{anchor}", "metadata": {}, "source": ""},
        ]


def _markdown_notes(notebook: dict) -> None:
    for anchor in ("02_title", "02_softmax", "02_causal_mask_tests"):
        index = _find(notebook, anchor) + 1
        notebook["cells"].insert(
            index,
            {
                "cell_type": "markdown",
                "id": f"note-{anchor}",
                "metadata": {},
                "source": "**My note:** $\\mathrm{softmax}(x)_i = e^{x_i} / \\sum_j e^{x_j}$, see <b>above</b>.",
            },
        )


def _reordered(notebook: dict) -> None:
    """The causal-mask answer moved up beside the attention answer, the rating cell to the top,
    and a scratch cell to the very end."""
    cells = notebook["cells"]
    causal = cells.pop(_find(notebook, "02_causal_mask"))
    cells.insert(_find(notebook, "02_sdpa") + 1, causal)
    cells.insert(0, cells.pop(_find(notebook, "02_rate")))
    cells.append(_code("print(causal_mask(3))", "scratch-end"))


def _answer_twice(notebook: dict) -> None:
    """The softmax answer cell copied into a scratch cell and run again after its tests."""
    index = _find(notebook, "02_softmax_tests_large_logits") + 1
    notebook["cells"].insert(index, _code(SOFTMAX, "again"))


CLASS_HELPER = '''class ScaledAttention:
    """Attention as a module-like class: forward(self, input) as in PyTorch."""

    def __init__(self, mask=None):
        self.mask = mask

    def softmax(self, s):
        return softmax(s, axis=-1)

    def forward(self, input):
        Q, K, V = (np.asarray(a, dtype=float) for a in input)
        scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
        if self.mask is not None:
            scores = np.where(np.asarray(self.mask, dtype=bool), scores, -np.inf)
        weights = self.softmax(scores)
        return weights @ V, weights

    __call__ = forward'''

HONEST_ODDITIES = [
    Fixture(
        "prints numpy's version", FULL, answers=RIGHT, added=(("02_setup", "print(np.__version__, torch.__version__)"),)
    ),
    Fixture(
        "imports Markdown from IPython.display",
        FULL,
        answers=RIGHT,
        added=(
            (
                "02_softmax_md",
                "from IPython.display import Markdown, display\ndisplay(Markdown('**softmax** is next'))",
            ),
        ),
    ),
    Fixture(
        "loop variables named _i and _k",
        FULL,
        answers=right(
            **{
                "02_causal_mask": """def causal_mask(T):
    m = np.zeros((T, T), dtype=bool)
    for _i in range(T):
        for _k in range(_i + 1):
            m[_i, _k] = True
    return m"""
            }
        ),
    ),
    Fixture(
        "a helper cell above the title",
        FULL,
        answers=right(
            **{
                "02_softmax": "def softmax(x, axis=-1):\n    e = np.exp(_shift(x, axis))\n    return e / e.sum(axis=axis, keepdims=True)"
            }
        ),
        edit=_helper_above_title,
    ),
    Fixture(
        "saved without cell ids, with a helper cell",
        FULL,
        answers=right(
            **{
                "02_softmax": SOFTMAX.replace(
                    "return e / e.sum(axis=axis, keepdims=True)", "return _normalise(e, axis)"
                )
            }
        ),
        edit=_no_ids_with_helper,
    ),
    Fixture("saved as nbformat 4.4 (no cell ids)", FULL, answers=RIGHT, edit=_no_ids),
    Fixture(
        "forward(self, input) in a class-based helper",
        FULL,
        added=(("02_masks_plot", CLASS_HELPER),),
        answers=right(
            **{
                "02_sdpa": "def scaled_dot_product_attention(Q, K, V, mask=None):\n    return ScaledAttention(mask)((Q, K, V))"
            }
        ),
    ),
    Fixture(
        "a class with its own softmax method in the answer cell",
        FULL,
        answers=right(
            **{
                "02_sdpa": CLASS_HELPER
                + "\n\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n    return ScaledAttention(mask).forward((Q, K, V))"
            }
        ),
    ),
    Fixture(
        "its own softmax, redefined in a helper cell, used by its attention",
        FULL,
        answers=RIGHT,
        added=(
            (
                "02_masks",
                "def softmax(x, axis=-1):\n    x = np.asarray(x, dtype=np.float64)\n    z = x - np.max(x, axis=axis, keepdims=True)\n"
                "    return np.exp(z) / np.sum(np.exp(z), axis=axis, keepdims=True)",
            ),
        ),
    ),
    Fixture(
        "its own attention used inside its causal mask",
        FULL,
        answers=right(
            **{
                "02_causal_mask": """def causal_mask(T):
    mask = np.tril(np.ones((T, T), dtype=bool))
    _, w = scaled_dot_product_attention(np.ones((T, 2)), np.ones((T, 2)), np.ones((T, 1)), mask=mask)
    assert np.allclose(w.sum(-1), 1)   # my own check that every row still attends somewhere
    return mask"""
            }
        ),
    ),
    Fixture(
        "a scratch cell that tried torch.softmax",
        FULL,
        answers=RIGHT,
        may_flag=frozenset({"possible delegation"}),
        added=(("02_softmax_naive", "print(torch.softmax(torch.tensor(big), dim=-1))"),),
    ),
    Fixture(
        "prints inside every answer",
        FULL,
        answers={
            k: f"print('answering {k}')\n"
            + v.replace("\n    return", "\n    print('returning from', " + repr(k) + ")\n    return")
            for k, v in RIGHT.items()
        },
    ),
    Fixture(
        "imports sys and os.path",
        FULL,
        answers=RIGHT,
        added=(
            (
                "02_setup",
                "import sys, os.path\nprint(sys.version_info[:2], os.path.join('notes', 'a.txt'), file=sys.stderr)",
            ),
        ),
    ),
    Fixture(
        "imports math, itertools and functools",
        FULL,
        answers=right(
            **{
                "02_causal_mask": """import itertools, functools, math

@functools.lru_cache(maxsize=None)
def _pairs(T):
    return tuple((i, j) for i, j in itertools.product(range(T), repeat=2) if j <= i)

def causal_mask(T):
    m = np.zeros((T, T), dtype=bool)
    for i, j in _pairs(T):
        m[i, j] = True
    assert math.isclose(m.sum(), T * (T + 1) / 2)
    return m"""
            }
        ),
    ),
    Fixture(
        "typing and dataclasses",
        FULL,
        answers=right(
            **{
                "02_sdpa": """from dataclasses import dataclass
from typing import Optional, Tuple

@dataclass(frozen=True)
class Shapes:
    queries: int
    keys: int

def scaled_dot_product_attention(Q, K, V, mask: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    shapes = Shapes(Q.shape[-2], K.shape[-2])
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    assert scores.shape[-2:] == (shapes.queries, shapes.keys)
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)
    weights = softmax(scores, axis=-1)
    return weights @ V, weights"""
            }
        ),
    ),
    Fixture(
        "type hints and docstrings",
        FULL,
        answers=right(
            **{
                "02_softmax": '''def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Stable softmax.

    Args:
        x: scores, any shape.
        axis: the axis that sums to one.
    Returns:
        An array of x's shape.
    """
    x = np.asarray(x, dtype=float)
    e: np.ndarray = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)'''
            }
        ),
    ),
    Fixture(
        "lambdas",
        FULL,
        answers=right(
            **{
                "02_softmax": "_shift = lambda x, axis: x - x.max(axis=axis, keepdims=True)\n"
                "softmax = lambda x, axis=-1: (lambda e: e / e.sum(axis=axis, keepdims=True))(np.exp(_shift(np.asarray(x, dtype=float), axis)))",
                "02_causal_mask": "causal_mask = lambda T: np.tril(np.ones((T, T), dtype=bool))",
            }
        ),
    ),
    Fixture(
        "recursion",
        FULL,
        answers=right(
            **{
                "02_causal_mask": """def causal_mask(T):
    if T == 1:
        return np.ones((1, 1), dtype=bool)
    smaller = causal_mask(T - 1)
    top = np.concatenate([smaller, np.zeros((T - 1, 1), dtype=bool)], axis=1)
    return np.concatenate([top, np.ones((1, T), dtype=bool)], axis=0)"""
            }
        ),
    ),
    Fixture(
        "generators",
        FULL,
        answers=right(
            **{
                "02_causal_mask": """def _rows(T):
    for i in range(T):
        yield [j <= i for j in range(T)]

def causal_mask(T):
    return np.array(list(_rows(T)), dtype=bool)"""
            }
        ),
    ),
    Fixture(
        "numpy imported again as numpy_",
        FULL,
        answers=right(
            **{
                "02_softmax": SOFTMAX.replace("np.", "numpy_.").replace(
                    "def softmax", "import numpy as numpy_\n\ndef softmax"
                )
            }
        ),
    ),
    Fixture(
        "a class for softmax",
        FULL,
        answers=right(
            **{
                "02_softmax": '''class Softmax:
    """softmax as an object, like torch.nn modules."""

    def __init__(self, axis=-1):
        self.axis = axis

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def __repr__(self):
        return f"Softmax(axis={self.axis})"

def softmax(x, axis=-1):
    return Softmax(axis)(x)'''
            }
        ),
    ),
    Fixture(
        "global constants",
        FULL,
        answers=right(
            **{
                "02_sdpa": "NEG_INF = -1e30\nSCALE_POWER = 0.5\n"
                + SDPA.replace("np.sqrt(Q.shape[-1])", "Q.shape[-1] ** SCALE_POWER").replace("-np.inf)", "NEG_INF)")
            }
        ),
    ),
    Fixture("an answer cell run twice", FULL, answers=RIGHT, edit=_answer_twice),
    Fixture("cells reordered", FULL, answers=RIGHT, edit=_reordered),
    Fixture("markdown notes added", FULL, answers=RIGHT, edit=_markdown_notes),
    Fixture("saved with outputs and execution counts", FULL, answers=RIGHT, edit=_with_outputs),
    Fixture("extra blank cells", FULL, answers=RIGHT, edit=_blank_cells),
    Fixture(
        "%time and %%timeit in scratch cells",
        FULL,
        answers=RIGHT,
        added=(
            ("02_softmax_tests_large_logits", "%time p = softmax(np.zeros((3, 4)))"),
            ("02_softmax_tests_basic", "%%timeit -n 2 -r 1\nsoftmax(np.ones((8, 8)))"),
        ),
    ),
    Fixture(
        "warnings",
        FULL,
        answers=right(
            **{
                "02_sdpa": "import warnings\n"
                + SDPA.replace(
                    "    weights = softmax",
                    "    if mask is None:\n        warnings.warn('no mask: every key is visible', UserWarning)\n    weights = softmax",
                )
            }
        ),
    ),
    Fixture(
        "writes a small file with numpy",
        FULL,
        answers=RIGHT,
        added=(("02_steps", "np.savetxt('my_weights.txt', weights)\nprint(np.loadtxt('my_weights.txt').shape)"),),
    ),
    # open() can also read what it should not: a person may look, no point is lost
    Fixture(
        "writes a small file with open()",
        FULL,
        answers=RIGHT,
        may_flag=frozenset({"tampering"}),
        added=(("02_steps", "with open('notes.txt', 'w') as f:\n    f.write('softmax rows sum to one')"),),
    ),
    Fixture(
        "reads the system time",
        FULL,
        answers=RIGHT,
        added=(
            ("02_setup", "import time, datetime\nstarted = time.time()\nprint(datetime.datetime.now().isoformat())"),
            ("02_causal_mask_tests", "print(f'{time.time() - started:.1f} s')"),
        ),
    ),
    Fixture(
        "random numbers without seeds in scratch cells",
        FULL,
        answers=RIGHT,
        added=(
            ("02_qkv", "import random\nprint(np.random.rand(3), torch.randn(2), random.random())"),
            ("02_softmax", "r = np.random.randn(4, 5)\nprint(softmax(r).sum(-1))"),
        ),
    ),
    Fixture(
        "answers in float32",
        FULL,
        answers=right(
            **{
                "02_softmax": SOFTMAX.replace("dtype=float", "dtype=np.float32"),
                "02_sdpa": SDPA.replace("dtype=float) for", "dtype=np.float32) for").replace(
                    "np.sqrt(Q.shape[-1])", "np.float32(np.sqrt(Q.shape[-1]))"
                ),
            }
        ),
    ),
    Fixture(
        "answers as torch tensors",
        FULL,
        answers=right(
            **{
                "02_sdpa": """def scaled_dot_product_attention(Q, K, V, mask=None):
    Q, K, V = (torch.as_tensor(np.asarray(a, dtype=float)) for a in (Q, K, V))
    scores = Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(~torch.as_tensor(np.asarray(mask, dtype=bool)), float("-inf"))
    e = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    weights = e / e.sum(dim=-1, keepdim=True)
    return weights @ V, weights""",
                "02_causal_mask": "def causal_mask(T):\n    return torch.tril(torch.ones(T, T, dtype=torch.bool))",
            }
        ),
    ),
    Fixture(
        "an ndarray subclass of the right values",
        FULL,
        answers=right(
            **{
                "02_softmax": '''class Probabilities(np.ndarray):
    """Rows that sum to one."""

def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).view(Probabilities)'''
            }
        ),
    ),
    Fixture(
        "raises ValueError for bad input",
        FULL,
        answers=right(
            **{
                "02_softmax": SOFTMAX.replace(
                    "    x = np.asarray(x, dtype=float)\n",
                    "    x = np.asarray(x, dtype=float)\n    if x.ndim == 0:\n"
                    "        raise ValueError('softmax needs at least one axis')\n",
                ),
                "02_sdpa": SDPA.replace(
                    "    scores =",
                    "    if Q.shape[-1] != K.shape[-1]:\n        raise ValueError(f'queries of size {Q.shape[-1]} and keys of size {K.shape[-1]}')\n    scores =",
                    1,
                ),
            }
        ),
    ),
    Fixture(
        "Greek letters and type names in prints",
        FULL,
        answers=right(
            **{
                "02_softmax": """def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    μ = x.max(axis=axis, keepdims=True)   # σ(x) = exp(x - μ) / Σ exp(x - μ)
    e = np.exp(x - μ)
    σ = e / e.sum(axis=axis, keepdims=True)
    return σ"""
            }
        ),
        added=(
            (
                "02_softmax_tests_basic",
                "p = softmax(np.zeros(3))\nprint(type(p).__name__, p.__class__.__name__, softmax.__name__)",
            ),
        ),
    ),
    Fixture(
        "a plot in a scratch cell",
        FULL,
        answers=RIGHT,
        added=(
            (
                "02_softmax_tests_large_logits",
                "xs = np.linspace(-3, 3, 7)\nplt.plot(xs, softmax(xs))\nplt.title('my softmax')\nplt.show()",
            ),
        ),
    ),
    Fixture(
        "a global statement in a helper",
        FULL,
        answers=right(
            **{
                "02_sdpa": "EPS = 0.0\n\ndef set_eps(value):\n    global EPS\n    EPS = value\n\nset_eps(0.0)\n"
                + SDPA.replace("np.sqrt(Q.shape[-1])", "(np.sqrt(Q.shape[-1]) + EPS)")
            }
        ),
    ),
    Fixture(
        "variables named id, type and list",
        FULL,
        answers=RIGHT,
        added=(
            (
                "02_qkv",
                "type = 'self-attention'\nlist = ['The', 'cat']\nfor id, word in enumerate(tokens):\n    print(id, word)\nprint(type, list)",
            ),
        ),
    ),
    Fixture(
        "try/except around its own code",
        FULL,
        answers=right(
            **{
                "02_softmax": """def softmax(x, axis=-1):
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"softmax needs numbers: {error}") from error
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)"""
            }
        ),
    ),
]


# --- one grading run for every fixture of lesson 02 (tests/test_trusted_grading.py, tests/test_adversarial.py) ---

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
_RUNS: dict[str, Path] = {}


def every_fixture() -> list[Fixture]:
    from tests.test_adversarial import ADVERSARIAL  # the attacks on this design live beside their tests

    return HONEST + DISHONEST + HONEST_ODDITIES + ADVERSARIAL


def student(fixture: Fixture) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fixture.name.lower()).strip("-")


def graded_course(tmp_path_factory: Any) -> Path:
    """A scratch course with every fixture submitted, autograded, fed back and exported: once per
    process, however many test modules ask (each submission is one student)."""
    if "root" not in _RUNS:
        from flowlib.course import instructor
        from tests.scratch import scratch_course

        fixtures = every_fixture()
        assert len({student(f) for f in fixtures}) == len(fixtures), "two fixtures share a name"
        root = scratch_course(tmp_path_factory.mktemp("class"), LESSON)
        released = json.loads((root / "notebooks" / LESSON / f"{LESSON}.ipynb").read_text())
        for fixture in fixtures:
            folder = root / "submitted" / student(fixture) / LESSON
            folder.mkdir(parents=True)
            (folder / f"{LESSON}.ipynb").write_text(json.dumps(fixture.notebook(released)))
            for name in fixture.extra_files:
                (folder / name).write_text("def allclose(*a, **k):\n    return True\n")
        run = instructor.autograde(root)
        assert not run.refused, run.refused
        instructor.feedback(root)
        instructor.export(root, Path("grades.csv"))
        _RUNS["root"] = root
    return _RUNS["root"]


def hidden_lines(root: Path) -> list[str]:
    """The lesson's hidden-test lines long enough to be telling (more than 15 characters)."""
    source = json.loads((root / "solutions" / LESSON / f"{LESSON}.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in source["cells"])
    return [line.strip() for block in HIDDEN.findall(text) for line in block.splitlines() if len(line.strip()) > 15]


def forms(line: str) -> list[str]:
    """``line`` as it could appear in a learner's file: as is, JSON- or HTML-escaped, reversed,
    in hex, and in base64 at each of the three byte alignments (the groups wholly inside it)."""
    found = [
        line,
        json.dumps(line)[1:-1],
        html.escape(line),
        html.escape(line, quote=False),
        line[::-1],
        html.escape(line[::-1]),
        line.encode().hex(),
    ]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + line.encode()).decode()
        found += [encoded[4:-4], encoded[4:-4].replace("+", "-").replace("/", "_")]
    return [form for form in dict.fromkeys(found) if len(form) >= 12]


def learner_files(root: Path) -> list[Path]:
    """What a learner gets back: the autograded notebooks and the feedback pages."""
    return [*root.glob("autograded/*/*/*.ipynb"), *root.glob("feedback/*/*/*.html")]
