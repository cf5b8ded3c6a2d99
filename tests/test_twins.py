"""Every exercise declares its twins, and an answer that is its twin scores 0, in the check as in the grade.

A *twin* is a function of flowlib, PyTorch or Hugging Face that computes an exercise's answer
(``flowlib.positions.sinusoidal_encoding`` for lesson 3's table). Each answer cell of solutions/
names what its exercise may not call in its metadata ``flowlib.forbidden``, read with the rule
the grader's watch applies at run time (:func:`flowlib.watch.matches`). Three checks:

* **declared** (static, milliseconds): every answer cell has the key; every function of flowlib,
  ``torch``, ``torch.nn.functional`` or ``transformers`` with the name of one the answer defines
  is covered; and every twin of :data:`TWINS` (the audit of the course: different names, same
  answer) is covered. An exercise is either in :data:`TWINS` or in :data:`NO_TWIN` with the
  reason, so a new exercise fails here until someone has looked for its twins.
* **caught** (in process, a few seconds a lesson): for a sample of lessons, an answer replaced by
  an alias of its twin scores 0 on every test of its exercise with the grader's message
  (``flowlib check``'s path, :func:`flowlib.grading.score_notebook`), and scores full marks once
  the declaration is removed: the twin really answers the exercise, and only the watch stops it.
  The same path, with the honest solutions, must earn every point (tests/test_wrong_answers.py):
  no declaration may flag a right answer. The grader's sandboxed run of the same rule is
  tests/test_adversarial.py's.
* **not in sight** (static, milliseconds): the visible part of a test cell, which the learner reads,
  does not compute its exercise's answer with what the learner may call. What an answer and the
  visible part of its tests both call, less what the exercise forbids, is audited in
  :data:`VISIBLE_OVERLAP` with the reason it computes no answer (a hand example on constants, a
  property, a wrong variant), so a new overlap fails until someone has looked.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.inputtransformer2 import TransformerManager

import flowlib
from flowlib import watch
from flowlib.cells import HIDDEN_BLOCK, cell_role, cell_source, nbgrader_meta
from flowlib.grading import score_notebook

ROOT = Path(__file__).resolve().parents[1]

# exercise -> the objects that compute its answer under another name (the audit of the course)
TWINS: dict[str, tuple[str, ...]] = {
    "02_softmax": ("torch.softmax", "torch.nn.functional.softmax", "torch.nn.Softmax", "scipy.special.softmax"),
    "02_sdpa": ("flowlib.attention.MultiHeadAttention", "flowlib.fused_attention.fused_attention"),
    "02_causal_mask": ("torch.nn.Transformer.generate_square_subsequent_mask",),
    "03_split_heads": ("flowlib.attention.split_heads",),
    "03_merge_heads": ("flowlib.attention.merge_heads",),
    "03_sinusoidal": ("flowlib.positions.sinusoidal_encoding", "flowlib.positions.SinusoidalPositionalEncoding"),
    "04_decoder_mask": (
        "flowlib.attention.combine_masks",
        "flowlib.attention.causal_mask",
        "flowlib.attention.padding_mask",
        "torch.nn.Transformer.generate_square_subsequent_mask",
    ),
    "04_greedy_decode": ("flowlib.generation.greedy_decode", "flowlib.models.GPT.generate"),
    "05_mask_tokens": ("flowlib.data.mask_tokens", "transformers.DataCollatorForLanguageModeling"),
    "05_next_token_loss": ("transformers.loss.loss_utils.ForCausalLMLoss",),
    "05_sample_next": ("flowlib.generation.sample_next", "transformers.generation.logits_process.TopKLogitsWarper"),
    "06_mean_pool": ("flowlib.bert.mean_pool", "flowlib.finetuning.embed"),
    "06_classification_head": ("flowlib.bert.BertForSequenceClassification", "flowlib.finetuning.EncoderClassifier"),
    "07_patchify": ("torch.nn.functional.unfold", "torch.nn.Unfold"),
    "07_sequence_length": ("flowlib.vit.VisionTransformer",),
    "08_most_frequent_pair": (
        "flowlib.bpe.most_frequent_pair",
        "flowlib.bpe.pair_counts",
        "tokenizers.trainers.BpeTrainer",
        "tokenizers.Tokenizer.train_from_iterator",  # a Rust class: building its trainer makes no event, training does
    ),
    "08_merge_pair": (
        "flowlib.bpe.merge_pair",
        "flowlib.bpe.train_bpe",
        "tokenizers.trainers.BpeTrainer",
        "tokenizers.Tokenizer.train_from_iterator",
    ),
    "09_lr_at": (
        "flowlib.training.warmup_cosine",
        "torch.optim.lr_scheduler.CosineAnnealingLR",
        "transformers.optimization.get_cosine_schedule_with_warmup",
    ),
    "09_clip_by_global_norm": ("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.get_total_norm"),
    "10_attend_with_cache": (
        "flowlib.attention.KVCache",
        "flowlib.attention.causal_mask",
        "flowlib.attention.scaled_dot_product_attention",
        "flowlib.generation.LanguageModel.new_cache",
        "transformers.cache_utils.DynamicCache",
    ),
    "11_fill_mask": ("transformers.pipeline", "transformers.FillMaskPipeline"),
    "11_sentence_embeddings": (
        "sentence_transformers.SentenceTransformer",
        "flowlib.bert.mean_pool",
        "flowlib.finetuning.embed",
    ),
    "12_lora_forward": ("flowlib.lora.LoRALinear", "flowlib.lora.add_lora"),
    "12_lora_count": ("flowlib.lora.add_lora", "flowlib.lora.count_parameters"),
    "13_pipeline_shapes": (
        "flowlib.bert.BertForSequenceClassification",
        "flowlib.bert.BertEncoder",
        "transformers.BertForSequenceClassification",
    ),
    "13_token_embeddings": ("flowlib.finetuning.embed",),
    "13_sentence_embeddings": (
        "flowlib.bert.mean_pool",
        "flowlib.finetuning.embed",
        "sentence_transformers.SentenceTransformer",
    ),
    "13_my_self_attention": (
        "flowlib.attention.MultiHeadAttention",
        "flowlib.attention.scaled_dot_product_attention",
        "flowlib.fused_attention.fused_attention",
        "torch.nn.MultiheadAttention",
        "torch.nn.functional.scaled_dot_product_attention",
    ),
    "13_encoder_block_forward": ("flowlib.blocks.EncoderBlock", "torch.nn.TransformerEncoderLayer"),
}
NO_TWIN = {
    "00_similarity_scores": "a matrix-vector product: the answer is `keys @ query`, the operation itself",
    "01_steps": "counts of steps from the lesson's tables; no library computes them",
    "01_quiz": "a multiple choice",
    "02_quiz_scaling": "a multiple choice",
    "03_perm_equivariant": "a property test; the tests pass flowlib's attention in, so forbidding it would flag the test",
    "05_word_similarity": "the tests pass their own encoder in; the cosine of two vectors is the lesson's tool",
    "05_family_choice": "a multiple choice",
    "06_pipeline_order": "an ordering to recall",
    "06_when_not_choice": "a multiple choice",
    "08_quiz": "a multiple choice",
    "11_auto_class": "a multiple choice",
    "13_family": "a multiple choice",
    "13_count_wordpieces": "the exercise is calling the tokenizer it is given: `tokenizer.tokenize` is the lesson",
    "13_closer": "built on the learner's own sentence_embeddings, whose twins that exercise forbids: forbidding them "
    "here too would take the points twice",
}
# names a same-named twin is looked for in, besides flowlib's own modules
LIBRARIES = ("torch", "torch.nn", "torch.nn.functional", "transformers")
NOT_TWINS = {"flowlib.grading", "flowlib.comparisons", "flowlib.cells", "flowlib.watch", "flowlib.mistakes"}


def _answers() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell_role(cell) == "answer":
                yield str(nbgrader_meta(cell)["grade_id"]), cell


ANSWERS = dict(_answers())


def _seen_as(target: Any) -> tuple[str, str]:
    """``(module, qualname)`` of ``target`` as the watch sees it called (a class: its construction)."""
    if inspect.isclass(target):
        return target.__module__, f"{target.__qualname__}.__init__"
    target = inspect.unwrap(target)  # a decorated function (torch.no_grad) runs its own code inside
    code = getattr(target, "__code__", None)
    if code is not None:
        return str(target.__globals__.get("__name__", "")), code.co_qualname
    found = watch.called("c_call", None, target)  # type: ignore[arg-type]  # c_call reads the function only
    assert found is not None
    return found


def _resolve(dotted: str) -> Any:
    module, _, rest = dotted.partition(".")
    value: Any = importlib.import_module(module)
    for part in rest.split(".") if rest else ():
        try:
            value = getattr(value, part)
        except AttributeError:
            value = importlib.import_module(f"{value.__name__}.{part}")
    return value


def _defined(source: str) -> set[str]:
    """The functions and classes an answer cell defines at its top level."""
    return {
        node.name
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
    }


def _flowlib_namesakes(name: str) -> list[Any]:
    found = []
    for info in pkgutil.iter_modules(flowlib.__path__):
        module_name = f"flowlib.{info.name}"
        if info.ispkg or module_name in NOT_TWINS:
            continue
        module = importlib.import_module(module_name)
        for _, value in inspect.getmembers(module, lambda v: inspect.isfunction(v) or inspect.isclass(v)):
            if getattr(value, "__module__", "") != module_name:
                continue
            if value.__name__ == name:
                found.append(value)
            if inspect.isclass(value):
                found += [m for n, m in vars(value).items() if n == name and inspect.isfunction(m)]
    return found


def test_every_answer_cell_declares_its_twins():
    assert set(TWINS) | set(NO_TWIN) == set(ANSWERS), (
        "every exercise is audited: in TWINS with the functions that compute its answer, or in NO_TWIN with the "
        f"reason; new: {sorted(set(ANSWERS) - set(TWINS) - set(NO_TWIN))}, gone: {sorted(set(TWINS) | set(NO_TWIN) - set(ANSWERS))}"
    )
    undeclared = [
        g for g, c in ANSWERS.items() if not isinstance(c["metadata"].get("flowlib", {}).get("forbidden"), list)
    ]
    assert not undeclared, f"answer cells without a flowlib.forbidden list (an empty list says: no twin): {undeclared}"
    for grade_id in NO_TWIN:
        assert not TWINS.get(grade_id)


@pytest.mark.parametrize("grade_id", sorted(TWINS))
def test_every_twin_is_forbidden(grade_id):
    forbidden = ANSWERS[grade_id]["metadata"]["flowlib"]["forbidden"]
    missed = [t for t in TWINS[grade_id] if not watch.matches(forbidden, *_seen_as(_resolve(t)))]
    assert not missed, f"{grade_id}: the watch would not see a call of {missed} with flowlib.forbidden = {forbidden}"


@pytest.mark.parametrize("grade_id", sorted(ANSWERS))
def test_a_namesake_in_flowlib_torch_or_transformers_is_forbidden(grade_id):
    """A function the answer defines that flowlib or a library defines too is a twin by its name."""
    cell = ANSWERS[grade_id]
    forbidden = cell["metadata"]["flowlib"]["forbidden"]
    namesakes = []
    for name in _defined(cell_source(cell)):
        namesakes += _flowlib_namesakes(name)
        namesakes += [getattr(_resolve(lib), name) for lib in LIBRARIES if hasattr(_resolve(lib), name)]
    missed = [_seen_as(n) for n in namesakes if not watch.matches(forbidden, *_seen_as(n))]
    assert not missed, f"{grade_id} defines what these already define, and may call them: {missed}"


# an answer that is its twin, in a few words: (exercise, disguise, answer). Lesson 3's twin is a
# Python function (flowlib.positions.sinusoidal_encoding), lesson 2's a C one (torch.softmax), which
# no profile event sees when C calls it (map, functools.partial, operator.methodcaller, __call__)
TO_TENSOR = "torch.tensor(np.asarray(x, dtype=float))"
ALIASES = [
    ("03_sinusoidal", "alias", "sinusoidal_positional_encoding = positions.sinusoidal_encoding"),
    ("08_merge_pair", "functools.partial", "import functools\nmerge_pair = functools.partial(bpe.merge_pair)"),
    (
        "13_sentence_embeddings",
        "an import under another name",
        "from flowlib.bert import mean_pool as _pool\n\n"
        "def sentence_embeddings(model, tokenizer, texts):\n"
        "    batch = tokenizer(texts)\n"
        "    with torch.no_grad():\n"
        "        hidden = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state\n"
        "    return _pool(hidden, batch.attention_mask)",
    ),
    (
        "03_sinusoidal",
        "an object whose __call__ is a staticmethod of it",
        "class _Encoding:\n    __call__ = staticmethod(positions.sinusoidal_encoding)\n\n"
        "sinusoidal_positional_encoding = _Encoding()",
    ),
    (
        "03_sinusoidal",
        "an object whose __call__ is a plain class attribute",
        "import functools\n\nclass _Encoding:\n    __call__ = functools.partial(positions.sinusoidal_encoding)\n\n"
        "sinusoidal_positional_encoding = _Encoding()",
    ),
    (
        "03_sinusoidal",
        "an object whose __call__ is a property returning it",
        "class _Encoding:\n    __call__ = property(lambda self: positions.sinusoidal_encoding)\n\n"
        "sinusoidal_positional_encoding = _Encoding()",
    ),
    (
        "03_sinusoidal",
        "a class whose metaclass calls it",
        "_Meta = type('_Meta', (type,), {'__call__': staticmethod(positions.sinusoidal_encoding)})\n\n"
        "class sinusoidal_positional_encoding(metaclass=_Meta):\n    pass",
    ),
    (
        "03_sinusoidal",
        "a bound method of an object holding it",
        "import functools\nsinusoidal_positional_encoding = functools.partial(positions.sinusoidal_encoding).__call__",
    ),
    (
        "03_sinusoidal",
        "a staticmethod object",
        "sinusoidal_positional_encoding = staticmethod(positions.sinusoidal_encoding)",
    ),
    (
        "03_sinusoidal",
        "types.MethodType",
        "import types\nsinusoidal_positional_encoding = types.MethodType(lambda twin, T, d: twin(T, d), positions.sinusoidal_encoding)",
    ),
    (
        "03_sinusoidal",
        "operator.attrgetter",
        "import operator\n\nimport flowlib\n\nsinusoidal_positional_encoding = operator.attrgetter('positions.sinusoidal_encoding')(flowlib)",
    ),
    (
        "03_sinusoidal",
        "a __getattr__ returning it",
        "class _Anything:\n    def __getattr__(self, name):\n        return positions.sinusoidal_encoding\n\n"
        "sinusoidal_positional_encoding = _Anything().encoding",
    ),
    ("03_sinusoidal", "a lambda", "sinusoidal_positional_encoding = lambda T, d: positions.sinusoidal_encoding(T, d)"),
    (
        "03_sinusoidal",
        "map",
        "def sinusoidal_positional_encoding(T, d):\n    return next(map(positions.sinusoidal_encoding, [T], [d]))",
    ),
    (
        "03_sinusoidal",
        "functools.reduce",
        "import functools\n\ndef sinusoidal_positional_encoding(T, d):\n"
        "    return functools.reduce(lambda twin, args: twin(*args), [(T, d)], positions.sinusoidal_encoding)",
    ),
    (
        "03_sinusoidal",
        "a list",
        "_twins = [positions.sinusoidal_encoding]\n\ndef sinusoidal_positional_encoding(T, d):\n    return _twins[0](T, d)",
    ),
    (
        "02_softmax",
        "C: an object whose __call__ is a staticmethod of it",
        "class _Softmax:\n    __call__ = staticmethod(torch.softmax)\n\n"
        f"def softmax(x, axis=-1):\n    return _Softmax()({TO_TENSOR}, axis).numpy()",
    ),
    (
        "02_softmax",
        "C: map",
        f"def softmax(x, axis=-1):\n    return next(map(torch.softmax, [{TO_TENSOR}], [axis])).numpy()",
    ),
    (
        "02_softmax",
        "C: functools.partial",
        f"import functools\n\ndef softmax(x, axis=-1):\n    return functools.partial(torch.softmax, dim=axis)({TO_TENSOR}).numpy()",
    ),
    (
        "02_softmax",
        "C: operator.methodcaller",
        f"import operator\n\ndef softmax(x, axis=-1):\n    return operator.methodcaller('softmax', axis)({TO_TENSOR}).numpy()",
    ),
]


def _solution(grade_id: str) -> Path:
    (path,) = sorted((ROOT / "solutions").glob(f"{grade_id[:2]}_*/{grade_id[:2]}_*.ipynb"))
    return path


@pytest.mark.parametrize(("grade_id", "how", "answer"), ALIASES, ids=[f"{a[0]}: {a[1]}" for a in ALIASES])
def test_an_answer_that_is_its_twin_scores_0_with_the_graders_message(grade_id, how, answer, tmp_path):
    path = _solution(grade_id)
    results = score_notebook(path, replace={grade_id: answer})
    mine = {g: r for g, r in results.items() if _exercise_of(path, g) == grade_id}
    assert mine and all(r.points == 0 for r in mine.values()), {g: r.message for g, r in mine.items()}
    for result in mine.values():
        assert result.message.startswith("no points for this exercise: your answer called "), result.message
        assert "it scores 0 when graded" in result.message
    others = {g: r.message for g, r in results.items() if g not in mine and not r.passed}
    assert not others, f"the other exercises lost points: {others}"

    # without its declaration the twin passes every test: it is a twin, and only the watch stops it
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell_role(cell) == "answer" and nbgrader_meta(cell)["grade_id"] == grade_id:
            cell["metadata"]["flowlib"]["forbidden"] = []
    undeclared = tmp_path / path.name  # the setup cells find the course's files from flowlib's own path
    undeclared.write_text(json.dumps(notebook), encoding="utf-8")
    free = score_notebook(undeclared, replace={grade_id: answer})
    assert all(free[g].passed for g in mine), {g: free[g].message for g in mine}


def _exercise_of(path: Path, grade_id: str) -> str:
    exercise = ""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        role, info = cell_role(cell), nbgrader_meta(cell)
        exercise = str(info.get("grade_id")) if role == "answer" else exercise
        if role == "test" and info.get("grade_id") == grade_id:
            return exercise
    return ""


# calls that read, convert or loop, never compute an answer: left out of the overlap below
PLUMBING = {"len", "zip", "enumerate", "range", "isinstance", "bool", "int", "float", "list", "dict", "print", "items",
            "item", "tolist", "numpy", "size", "no_grad", "eval"}  # fmt: skip
# exercise -> (what its answer and the visible part of its tests both call, undeclared; why the visible
# tests still do not compute the answer a learner could paste)
VISIBLE_OVERLAP: dict[str, tuple[tuple[str, ...], str]] = {
    "02_softmax": (("exp", "sum"), "a hand example: exp and sum of the literal scores [1, 2, 3]"),
    "02_sdpa": (
        ("softmax", "sqrt"),
        "expected from flowlib's attention, a declared twin; softmax and sqrt build the scores-masked-to-0 variant",
    ),
    "03_merge_heads": (
        ("reshape",),
        "a property: merging flowlib's split gives the input back; reshape builds variants",
    ),
    "03_sinusoidal": (
        ("arange", "cos", "sin"),
        "expected from positions.sinusoidal_encoding, a declared twin, and wrong tables from it; the calls build "
        "only the angles-multiplied variant",
    ),
    "04_decoder_mask": (
        ("ones", "tril"),
        "the expected masks are literal; ones and tril build wrong variants from the pieces, never causal & real keys",
    ),
    "04_greedy_decode": (
        ("all", "decode", "encode", "full", "src_mask"),
        "the test's stand-in model defines the methods the answer calls; the expected outputs are literal",
    ),
    "05_mask_tokens": (("clone", "randint"), "property checks (labels, special tokens, rates); the calls build inputs"),
    "05_sample_next": (
        ("softmax",),
        "the expected frequencies are the softmax of a constant row: a distribution, not the samples the answer draws",
    ),
    "05_word_similarity": (
        ("lower",),
        "the stand-in encoder lower-cases its tokens; the expected cosine is written by hand (24 / 25)",
    ),
    "06_mean_pool": (("sum",), "the expected means are literal; sum builds wrong variants on the constants"),
    "07_patchify": (
        ("reshape",),
        "the expected patches are literal; reshape builds the input grid and flattens the conv's weight",
    ),
    "09_lr_at": (("cos",), "hand formulas on constants for single steps, 0.1 + 0.9 * 0.5 * (1 + cos(pi * 99 / 100))"),
    "10_attend_with_cache": (
        ("cat",),
        "cat joins the outputs of a chunked run; the expected value is one causal pass over all the queries, "
        "which a cache does not keep",
    ),
    "11_fill_mask": (
        ("topk",),
        "expected from the fill-mask pipeline, a declared twin; topk builds the raw-logits variant",
    ),
    "11_sentence_embeddings": (
        ("normalize",),
        "expected from SentenceTransformer, a declared twin; normalize builds wrong variants (padding, [CLS])",
    ),
    "12_lora_forward": (
        ("randn", "zeros"),
        "expected from flowlib's LoRALinear, a declared twin, or base(x) at B = 0; the calls build inputs and variants",
    ),
    "13_sentence_embeddings": (
        ("model", "sum"),
        "expected from mean_pool, a declared twin, of the model's hidden states; sum finds [SEP] for a variant",
    ),
    "13_my_self_attention": (
        ("in_proj", "out_proj", "reshape", "split", "sqrt"),
        "expected from flowlib's MultiHeadAttention, a declared twin; its layers build the wrong variants",
    ),
    "13_encoder_block_forward": (
        ("attn", "ff"),
        "expected from flowlib's EncoderBlock, a declared twin; its sub-layers build the no-residual variant",
    ),
}


def _imported(source: str) -> dict[str, str]:
    """Each name an ``import`` of ``source`` binds -> the dotted name it stands for (``F`` ->
    ``torch.nn.functional``)."""
    names = {}
    for node in ast.parse(TransformerManager().transform_cell(source)).body:  # a setup cell's %matplotlib
        for alias in node.names if isinstance(node, (ast.Import, ast.ImportFrom)) else ():
            bound = alias.asname or alias.name.partition(".")[0]
            if isinstance(node, ast.ImportFrom):
                names[bound] = f"{node.module}.{alias.name}"
            else:
                names[bound] = alias.name if alias.asname else bound
    return names


def _calls(tree: ast.Module, imported: dict[str, str]) -> dict[str, set[str]]:
    """The name of each function or method the code calls -> the modules it is called from, as far as
    the code says (``F.softmax``: ``torch.nn.functional``; ``bert.mean_pool``: ``flowlib.bert``; a method
    of a value, ``x.sum()``: ``""``)."""
    calls: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        chain, func = [], node.func if isinstance(node, ast.Call) else None
        while isinstance(func, ast.Attribute):
            chain.insert(0, func.attr)
            func = func.value
        if isinstance(func, ast.Name):
            dotted = ".".join([imported.get(func.id, func.id), *chain])
        elif chain:
            dotted = f".{chain[-1]}"  # a method of what an expression computed: (...).sum()
        else:
            continue  # not a call, or a call of what a call returned
        module, _, name = dotted.rpartition(".")
        calls.setdefault(name, set()).add(module)
    return calls


def _visible_overlap() -> dict[str, list[str]]:
    """exercise -> the names called both by its answer and by the visible part of one of its tests,
    leaving out plumbing and each call its flowlib.forbidden covers (calling a declared twin scores 0)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        imported: dict[str, str] = {}
        for cell in cells:
            if cell_role(cell) != "answer" and "import" in cell_source(cell):  # an answer's imports are the learner's
                imported |= _imported(cell_source(cell))
        answer: set[str] = set()
        for cell in cells:
            if cell_role(cell) == "answer":
                exercise, answer = (
                    str(nbgrader_meta(cell)["grade_id"]),
                    set(_calls(ast.parse(cell_source(cell)), imported)) - PLUMBING,
                )
            elif cell_role(cell) == "test":
                forbidden = ANSWERS[exercise]["metadata"]["flowlib"]["forbidden"]
                visible = _calls(ast.parse(HIDDEN_BLOCK.sub("", cell_source(cell))), imported)
                found.setdefault(exercise, set()).update(
                    name
                    for name in answer & set(visible)
                    if not all(watch.matches(forbidden, m, name) for m in visible[name])
                )
    return {exercise: sorted(names) for exercise, names in found.items() if names}


def test_no_visible_test_computes_its_exercises_answer():
    """The visible part of a test cell is the learner's to read: code there that computes the expected
    value, with what the learner may call, is an answer to paste. What the visible tests call that the
    answer calls too is listed in VISIBLE_OVERLAP with the reason it does not compute the answer (a
    hand example on constants, a property); a new overlap fails until someone has looked."""
    found = _visible_overlap()
    audited = {exercise: list(names) for exercise, (names, _) in VISIBLE_OVERLAP.items()}
    changed = {e: found.get(e, []) for e in set(found) | set(audited) if found.get(e) != audited.get(e)}
    assert not changed, (
        "the visible tests of these exercises call what their answer calls (undeclared in flowlib.forbidden): "
        f"check they do not compute the answer, and list them in VISIBLE_OVERLAP with the reason: {changed}"
    )
