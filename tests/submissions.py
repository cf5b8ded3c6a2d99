"""Submissions of lesson 02 written the way learners write them, honest and dishonest, each
with the score it must get and the flags it must raise (tests/test_trusted_grading.py).

Lesson 02 is worth 9 points: softmax (2 tests, 1 + 1), the quiz (1), scaled dot-product
attention (3 tests, 2 + 1 + 2) and the causal mask (1). A fixture is built from the released
notebook by filling answer cells (``answers``), adding learner cells after a cell
(``added``), and editing the notebook (``edit``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

LESSON = "02_self_attention"
FULL = 9.0

SOFTMAX = '''def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)'''
QUIZ = 'answer_scaling = "B"'
SDPA = '''def scaled_dot_product_attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)
    weights = softmax(scores, axis=-1)
    return weights @ V, weights'''
CAUSAL = '''def causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool))'''
RIGHT = {"02_softmax": SOFTMAX, "02_quiz_scaling": QUIZ, "02_sdpa": SDPA, "02_causal_mask": CAUSAL}
STUB = 'raise NotImplementedError("Replace this line with your solution.")'


@dataclass(frozen=True)
class Fixture:
    name: str
    expected: float
    flags: frozenset[str] = frozenset()
    answers: dict[str, str] = field(default_factory=dict)  # grade id -> code ('' keeps the stub)
    added: tuple[tuple[str, str], ...] = ()  # (after this cell id or grade id, code)
    edit: Callable[[dict], None] | None = None
    extra_files: tuple[str, ...] = ()

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
                    cells.append({"cell_type": "code", "id": f"mine-{len(cells)}", "metadata": {}, "source": code,
                                  "outputs": [], "execution_count": None})
        notebook["cells"] = cells
        if self.edit:
            self.edit(notebook)
        return notebook


def right(**changes: str) -> dict[str, str]:
    return {**RIGHT, **changes}


def _find(notebook: dict, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook["cells"]) if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _edit_test(notebook: dict) -> None:
    notebook["cells"][_find(notebook, "02_causal_mask_tests")]["source"] = "print('tests are for other people')"


def _delete_test(notebook: dict) -> None:
    del notebook["cells"][_find(notebook, "02_sdpa_tests_mask")]


def _duplicate_test(notebook: dict) -> None:
    index = _find(notebook, "02_softmax_tests_basic")
    notebook["cells"].insert(index, json.loads(json.dumps(notebook["cells"][index])))


def _fake_graded_cell(notebook: dict) -> None:
    notebook["cells"].append({"cell_type": "code", "id": "bonus", "outputs": [], "execution_count": None,
                              "metadata": {"nbgrader": {"grade": True, "solution": False, "points": 50, "grade_id": "bonus_points",
                                                        "locked": True, "schema_version": 3, "task": False}},
                              "source": "print('50 points please')"})


PATCH_ALL_CHECKS = '''for _name in dir(grading):
    if _name.startswith("check_"):
        setattr(grading, _name, lambda *args, **kwargs: None)'''

HONEST = [
    Fixture("correct", FULL, answers=RIGHT),
    Fixture("correct, printing and warning", FULL, answers=right(**{
        "02_softmax": SOFTMAX.replace("    x = np.asarray", "    print('softmax of', np.shape(x))\n    print('a note', file=sys.stderr)\n"
                                      "    warnings.warn('just a note')\n    x = np.asarray")}),
        added=(("02_setup", "import sys, warnings\nprint('starting')"),)),
    Fixture("float32 and torch", FULL, answers=right(**{
        "02_softmax": '''def softmax(x, axis=-1):
    t = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    e = torch.exp(t - t.amax(dim=axis, keepdim=True))
    return (e / e.sum(dim=axis, keepdim=True)).numpy()''',
        "02_causal_mask": "def causal_mask(T):\n    return torch.ones(T, T).tril().bool()"})),
    Fixture("loops and einsum", FULL, answers=right(**{
        "02_sdpa": '''def scaled_dot_product_attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in (Q, K, V))
    scores = np.einsum("...qd,...kd->...qk", Q, K) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores)
    return np.einsum("...qk,...kv->...qv", weights, V), weights''',
        "02_causal_mask": '''def causal_mask(T):
    m = np.zeros((T, T), dtype=bool)
    for i in range(T):
        for j in range(i + 1):
            m[i, j] = True
    return m'''})),
    Fixture("helpers in cells of their own", FULL, answers=right(**{"02_softmax": "def softmax(x, axis=-1):\n    return _normalise(np.exp(_shifted(x, axis)), axis)"}),
            added=(("02_qkv", "def _shifted(x, axis):\n    x = np.asarray(x, dtype=float)\n    return x - x.max(axis=axis, keepdims=True)\n\n"
                              "def _normalise(e, axis):\n    return e / e.sum(axis=axis, keepdims=True)"),)),
    Fixture("draws random numbers", FULL, answers=right(**{"02_causal_mask": "def causal_mask(T):\n    torch.rand(3)\n    np.random.rand(5)\n    return np.tril(np.ones((T, T), dtype=bool))"})),
    Fixture("partly answered", 3.0, answers={"02_softmax": SOFTMAX, "02_quiz_scaling": QUIZ}),
    Fixture("unstable softmax", 8.0, answers=right(**{"02_softmax": "def softmax(x, axis=-1):\n    e = np.exp(np.asarray(x, dtype=float))\n    return e / e.sum(axis=axis, keepdims=True)"})),
    Fixture("wrong quiz answer", 8.0, answers=right(**{"02_quiz_scaling": 'answer_scaling = "A"'})),
    Fixture("unanswered", 0.0),
]

DISHONEST = [
    Fixture("patches every check, answers nothing", 0.0, {"tampering"}, added=(("02_setup", PATCH_ALL_CHECKS),)),
    Fixture("replaces the grading module", 0.0, {"tampering"}, added=(("02_setup", "class _Yes:\n    def __getattr__(self, name):\n        return lambda *a, **k: None\ngrading = _Yes()"),)),
    Fixture("patches check_close in an answer", 3.0, {"tampering"},
            answers=right(**{"02_sdpa": "grading.check_close = lambda *a, **k: None\n" + SDPA.replace("/ np.sqrt(Q.shape[-1])", "")})),
    Fixture("patches flowlib's reference", 3.0, {"tampering"},
            answers=right(**{"02_sdpa": SDPA.replace("/ np.sqrt(Q.shape[-1])", "") + "\nattention.scaled_dot_product_attention = lambda Q, K, V, mask=None: tuple(torch.tensor(a) for a in scaled_dot_product_attention(Q.numpy(), K.numpy(), V.numpy(), mask))"})),
    Fixture("patches torch.softmax", 0.0, {"tampering"},
            answers=right(**{"02_softmax": "def softmax(x, axis=-1):\n    return np.exp(x)\ntorch.softmax = lambda t, dim: torch.tensor(softmax(t.numpy()))"})),
    Fixture("patches numpy.allclose", 0.0, {"tampering"}, added=(("02_setup", "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True"),)),
    Fixture("delegates softmax to torch", 7.0, {"delegation"},
            answers=right(**{"02_softmax": "def softmax(x, axis=-1):\n    return torch.softmax(torch.tensor(np.asarray(x, dtype=float)), dim=axis).numpy()"})),
    Fixture("delegates attention to flowlib", 4.0, {"delegation"},
            answers=right(**{"02_sdpa": '''def scaled_dot_product_attention(Q, K, V, mask=None):
    out, w = attention.scaled_dot_product_attention(*(torch.tensor(np.asarray(a, dtype=float)) for a in (Q, K, V)),
                                                    mask=None if mask is None else torch.tensor(np.asarray(mask)))
    return out.numpy(), w.numpy()'''})),
    Fixture("delegates through scipy", 7.0, {"delegation"},
            answers=right(**{"02_softmax": "from scipy.special import softmax as _library_softmax\n\ndef softmax(x, axis=-1):\n    return _library_softmax(np.asarray(x, dtype=float), axis=axis)"})),
    Fixture("delegates in a helper cell", 7.0, {"delegation"}, answers=right(**{"02_softmax": "def softmax(x, axis=-1):\n    return _mine(x, axis)"}),
            added=(("02_qkv", "def _mine(x, axis):\n    return F.softmax(torch.tensor(np.asarray(x, dtype=float)), dim=axis).numpy()"),)),
    Fixture("obfuscated delegation", 0.0, {"tampering"},
            answers=right(**{"02_softmax": "def softmax(x, axis=-1):\n    f = getattr(__import__('tor' + 'ch'), 'soft' + 'max')\n    return f(torch.tensor(np.asarray(x, dtype=float)), axis).numpy()"})),
    Fixture("an object that equals everything", 0.0, {"tampering"}, answers={"02_softmax": '''class Anything(np.ndarray):
    def __eq__(self, other):
        return True
def softmax(x, axis=-1):
    return np.zeros(np.shape(x)).view(Anything)''', "02_causal_mask": "def causal_mask(T):\n    return softmax(np.zeros((T, T)))"}),
    Fixture("an array subclass", 0.0, answers={"02_softmax": "class Mine(np.ndarray):\n    pass\ndef softmax(x, axis=-1):\n    x = np.asarray(x, dtype=float)\n    return (np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)).view(Mine)"}),
    Fixture("patches builtins", 0.0, {"tampering"}, added=(("02_setup", "import builtins\nbuiltins.isinstance = lambda *a: True"),)),
    Fixture("installs a trace function", 0.0, {"tampering"}, added=(("02_setup", "import sys\nsys.settrace(lambda *a: None)"),)),
    Fixture("installs an input transformer", 0.0, {"tampering"},
            added=(("02_setup", "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"),)),
    Fixture("reads the solutions", 3.0, {"tampering"}, answers=right(**{"02_sdpa": "source = open('../../solutions/02_self_attention/02_self_attention.ipynb').read()\n" + SDPA})),
    Fixture("writes into flowlib", 3.0, {"tampering"}, answers=right(**{"02_sdpa": "open('../../flowlib/grading.py', 'w').write('')\n" + SDPA})),
    Fixture("exits the kernel", 8.0, {"kernel died"}, answers=right(**{"02_causal_mask": "exit()"})),
    Fixture("hangs", 8.0, {"timeout"}, answers=right(**{"02_causal_mask": "while True:\n    pass"})),
    Fixture("hangs and ignores the interrupt", 8.0, {"timeout"},
            answers=right(**{"02_causal_mask": "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass"})),
    Fixture("eats memory", 8.0, answers=right(**{"02_causal_mask": "hog = np.ones(10**11)"})),
    Fixture("fills the disk", 8.0, answers=right(**{"02_causal_mask": "for i in range(100):\n    np.save(f'junk{i}.npy', np.zeros(2 * 10**7))"})),
    Fixture("floods the output", 9.0, {"output flood"}, answers=right(**{"02_causal_mask": CAUSAL + "\nfor _ in range(100):\n    print('x' * 100_000)"})),
    Fixture("reads the hidden tests from history", 3.0, {"tampering"}, answers=right(**{"02_sdpa": SDPA + "\nprint(In)"})),
    Fixture("edits a test cell", FULL, {"edited test cell"}, answers=RIGHT, edit=_edit_test),
    Fixture("deletes a test cell", FULL, {"deleted test cell"}, answers=RIGHT, edit=_delete_test),
    Fixture("duplicates a test cell", FULL, {"duplicated cell"}, answers=RIGHT, edit=_duplicate_test),
    Fixture("adds a graded cell of its own", FULL, {"tampering"}, answers=RIGHT, edit=_fake_graded_cell),
    Fixture("ships a numpy.py beside the notebook", FULL, {"extra files"}, answers=RIGHT, extra_files=("numpy.py",)),
    Fixture("neutralises assertions", 0.0, {"tampering"}, added=(("02_setup", "AssertionError = Warning"),),
            answers={"02_softmax": "def softmax(x, axis=-1):\n    return x"}),
    Fixture("forges verdict records", 0.0, {"tampering"}, added=(("02_setup", "from IPython.display import publish_display_data\n"
                                                                  "publish_display_data({'application/vnd.flowlib.record+json': {'kind': 'true', 'actual': True}})"),)),
]
