"""The similarity report (flowlib/course/grader/similarity.py): disguised copies of a classmate or
of flowlib are flagged, honest answers are not, hostile notebooks never stop the report, and the
report an instructor reads escapes learner code. How well it does on the course's own cases is
measured by benchmarks/bench_similarity.py."""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from flowlib.cells import cell_role, cell_source, nbgrader_meta
from flowlib.course import cli, instructor, layout
from flowlib.course.grader import similarity as sim
from flowlib.course.grader.fingerprint import fingerprint, similarity
from flowlib.course.grader.similarity_report import similar_to

REPO = Path(__file__).resolve().parents[1]
LESSON = "03_multi_head_attention_and_positions"

HONEST = '''def split_heads(x, n_heads):
    """(batch, time, d_model) -> (batch, n_heads, time, d_model // n_heads)."""
    batch, time, d_model = x.shape
    assert d_model % n_heads == 0, "d_model must divide into heads"
    head_dim = d_model // n_heads
    x = x.view(batch, time, n_heads, head_dim)
    return x.permute(0, 2, 1, 3)
'''
# HONEST as a classmate hands it in: other names, another docstring and comments, the independent
# lines in another order, other spellings of the numbers, another layout
DISGUISED = '''def split_heads(x, n_heads):
    """Split the model dimension into heads."""
    # size of one head
    B, T, C = x.shape

    hd = C // n_heads   # per head
    assert C % n_heads == 0, 'heads must divide the width'
    x = x.view(B, T,
               n_heads, hd)
    return x.permute(0, 2, 1, 3)  # (B, heads, T, hd)
'''
OTHER = '''def split_heads(x, n_heads):
    """(batch, time, d_model) -> (batch, n_heads, time, d_model // n_heads)."""
    d = x.size(-1) // n_heads
    heads = [x[:, :, h * d:(h + 1) * d] for h in range(n_heads)]
    return torch.stack(heads, 1)
'''
THIRD = '''def split_heads(x, n_heads):
    """(batch, time, d_model) -> (batch, n_heads, time, d_model // n_heads)."""
    B, T, C = x.shape
    out = torch.empty(B, n_heads, T, C // n_heads, dtype=x.dtype)
    for i in range(n_heads):
        out[:, i] = x[..., i * (C // n_heads):(i + 1) * (C // n_heads)]
    return out
'''
# flowlib.attention.split_heads pasted, its names changed and its checks reworded
FROM_FLOWLIB = '''def split_heads(x, n_heads):
    """(batch, time, d_model) -> (batch, n_heads, time, d_model // n_heads)."""
    if x.dim() != 3:
        raise ValueError("expected 3 dims </pre><script>alert('x')</script>")
    b, t, width = x.shape
    if width % n_heads != 0:
        raise ValueError(f"cannot split {width} into {n_heads}")
    return x.view(b, t, n_heads, width // n_heads).transpose(1, 2)
'''


def test_renaming_reordering_comments_and_literals_do_not_hide_a_copy() -> None:
    assert similarity(fingerprint(HONEST), fingerprint(DISGUISED)) == 1.0
    assert similarity(fingerprint(HONEST), fingerprint(OTHER)) < sim.FLOOR
    assert similarity(fingerprint(OTHER), fingerprint(THIRD)) < sim.FLOOR


def test_an_unparsable_answer_raises_syntax_error_for_the_caller_to_note() -> None:
    with pytest.raises(SyntaxError):
        fingerprint("def split_heads(x, n_heads:\n    return x\n")


def _course(tmp_path: Path) -> Path:
    """A course folder with lesson 03's source and released notebooks."""
    shutil.copy(REPO / layout.CONFIG, tmp_path / layout.CONFIG)
    for where in (layout.SOURCE, layout.RELEASED):
        shutil.copytree(REPO / where / LESSON, tmp_path / where / LESSON)
    return tmp_path


def _submit(root: Path, student: str, answers: dict[str, str], raw: str | None = None) -> None:
    released = json.loads(layout.notebook(root, LESSON).read_text())
    for cell in released["cells"]:
        if cell_role(cell) == "answer" and nbgrader_meta(cell)["grade_id"] in answers:
            cell["source"] = answers[nbgrader_meta(cell)["grade_id"]]
    folder = root / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_text(raw if raw is not None else json.dumps(released))


def test_the_report_flags_copies_of_a_classmate_and_of_flowlib_and_escapes_code(tmp_path: Path) -> None:
    root = _course(tmp_path)
    _submit(root, "alice", {"03_split_heads": HONEST})
    _submit(root, "bob", {"03_split_heads": DISGUISED})
    _submit(root, "carol", {"03_split_heads": FROM_FLOWLIB})
    _submit(root, "dave", {"03_split_heads": OTHER})
    _submit(root, "erin", {"03_split_heads": THIRD})
    _submit(root, "frank", {"03_split_heads": "def split_heads(x, n_heads:\n    return x\n"})
    _submit(root, "grace", {}, raw="{ this is not a notebook")
    _submit(root, "heidi", {"03_split_heads": "((((" * 5000 + "x" + "))))" * 5000})

    written = instructor.similarity(root, [LESSON])

    assert written == [root / "reports" / "similarity" / f"{LESSON}.html"]
    result = sim.lesson_similarity(root, LESSON)
    flagged = {(p.first.student, p.second.student) for p in result.pairs}
    assert flagged == {("alice", "bob"), ("carol", "flowlib/attention.py: split_heads")}
    split = next(e for e in result.exercises if e.grade_id == "03_split_heads")
    assert split.baseline is None and split.threshold == sim.FLOOR  # 5 answers: too few to measure
    assert any("frank" in note and "does not parse" in note for note in result.notes)
    assert any("grace" in note for note in result.notes)
    assert any("heidi" in note for note in result.notes)
    page = written[0].read_text()
    assert "<script>alert" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
    assert '<span class="match">' in page and "no score was changed" in page
    alike = similar_to(root)
    assert alike[("bob", LESSON)] == "alice (03_split_heads, 1.0)"
    assert alike[("alice", LESSON)] == "bob (03_split_heads, 1.0)"
    assert alike[("carol", LESSON)].startswith("flowlib/attention.py: split_heads (03_split_heads, 0.")
    assert ("dave", LESSON) not in alike and ("erin", LESSON) not in alike


def test_where_honest_answers_are_all_alike_nothing_is_flagged() -> None:
    """Twelve learners hand in the same short answer, as honest learners do for a one-line
    exercise: the baseline is 1.0, so the threshold is above any score and no pair is listed."""
    source = json.loads(layout.notebook(REPO, LESSON, layout.SOURCE).read_text())
    released = json.loads(layout.notebook(REPO, LESSON).read_text())
    same = {f"learner{i:02d}": {"03_split_heads": HONEST} for i in range(12)}
    result = sim.compare(LESSON, source, released, same)
    split = next(e for e in result.exercises if e.grade_id == "03_split_heads")
    assert split.answers == 12 and split.baseline == 1.0 and split.threshold > 1
    assert result.pairs == []


def test_the_command_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    root = _course(tmp_path)
    _submit(root, "alice", {"03_split_heads": HONEST})
    monkeypatch.chdir(root)
    assert cli.main(["instructor", "similarity", LESSON]) == 0
    assert f"similarity report: {root / 'reports' / 'similarity' / LESSON}.html" in capsys.readouterr().out
    assert "No pair is above" in (root / "reports" / "similarity" / f"{LESSON}.html").read_text()


def test_every_graded_fixture_of_lesson_02_is_read_without_stopping_the_report(tmp_path: Path) -> None:
    """The notebooks the grader's own tests hand in (tests/submissions.py: tampering, duplicated and
    deleted cells, floods, cells without ids...) all go through the report."""
    from tests.submissions import LESSON as LESSON_02
    from tests.submissions import every_fixture, student

    shutil.copy(REPO / layout.CONFIG, tmp_path / layout.CONFIG)
    for where in (layout.SOURCE, layout.RELEASED):
        shutil.copytree(REPO / where / LESSON_02, tmp_path / where / LESSON_02)
    released = json.loads(layout.notebook(tmp_path, LESSON_02).read_text())
    fixtures = every_fixture()
    for fixture in fixtures:
        folder = tmp_path / "submitted" / student(fixture) / LESSON_02
        folder.mkdir(parents=True)
        (folder / f"{LESSON_02}.ipynb").write_text(json.dumps(fixture.notebook(released)))
    result = sim.lesson_similarity(tmp_path, LESSON_02)
    softmax = next(e for e in result.exercises if e.grade_id == "02_softmax")
    assert softmax.answers > len(fixtures) // 2 and not result.notes
    assert instructor.similarity(tmp_path, [LESSON_02])[0].is_file()


def _defined(grade_id: str, code: str) -> Callable:
    """The exercise's function as ``code`` (an answer cell) defines it, run with the names the
    lessons' setup cells import."""
    import math
    from collections import Counter

    import numpy as np
    import torch
    import torch.nn.functional as F

    names: dict = {"torch": torch, "np": np, "math": math, "F": F, "Counter": Counter}
    exec(code, names)  # the course's own files: the benchmark's cases and the solutions
    return names[_STUBS[grade_id].name]


def _same(expected: object, got: object) -> bool:
    import torch

    if isinstance(expected, tuple | list) and expected and not isinstance(expected[0], str):
        return len(expected) == len(got) and all(_same(e, g) for e, g in zip(expected, got, strict=True))
    if isinstance(expected, torch.Tensor):
        return torch.allclose(expected.double(), torch.as_tensor(got).double(), atol=1e-5)
    if isinstance(expected, float):
        return abs(expected - float(got)) < 1e-9
    return expected == got


_STUBS: dict[str, ast.FunctionDef] = {}


def test_the_benchmarks_honest_cases_are_right_answers() -> None:
    """benchmarks/similarity_cases holds honest *and right* answers: each gives the solution's
    results (sampling and masking exactly, from generators seeded alike)."""
    import torch

    torch.manual_seed(0)
    words = {("l", "o", "w"): 5, ("l", "o", "w", "e", "r"): 2, ("n", "e", "w"): 6, ("a", "a", "a"): 3}
    x3, x4, x6, logits, ids = (
        torch.randn(2, 5, 12),
        torch.randn(2, 3, 5, 4),
        torch.randn(2, 4, 6),
        torch.randn(4, 10),
        torch.randint(5, 30, (4, 16)),
    )
    linear, grads = torch.nn.Linear(6, 6), [torch.randn(3, 4), torch.randn(5)]
    calls: dict[str, Callable[[], list[tuple]]] = {  # fresh arguments for each call (a generator is used up)
        "03_split_heads": lambda: [(x3, 3), (x3, 4)],
        "03_merge_heads": lambda: [(x4,)],
        "03_sinusoidal": lambda: [(7, 8)],
        "03_perm_equivariant": lambda: [(linear, x6, [2, 0, 3, 1]), (lambda t: t.cumsum(1), x6, [2, 0, 3, 1])],
        "05_sample_next": lambda: [(logits, 0), (logits, 0.5, 1)],
        "05_mask_tokens": lambda: [(ids, 1, 30, (5, 6), 0.3, torch.Generator().manual_seed(1))],
        "08_most_frequent_pair": lambda: [(words,), ({},)],
        "08_merge_pair": lambda: [(words, ("l", "o")), (words, ("a", "a"))],
        "09_lr_at": lambda: [(step, 100, 10, 3e-4) for step in (0, 5, 9, 10, 50, 99, 100, 150)],
        "09_clip_by_global_norm": lambda: [(grads, 1.0), (grads, 100.0)],
    }
    cases = REPO / "benchmarks" / "similarity_cases"
    assert sorted(calls) == sorted(p.name for p in cases.iterdir())
    for grade_id, arguments in calls.items():
        lesson = next(n for n in layout.lessons(REPO) if n[:2] == grade_id[:2])
        source = json.loads(layout.notebook(REPO, lesson, layout.SOURCE).read_text())
        cell = next(cell_source(c) for c in source["cells"] if nbgrader_meta(c).get("grade_id") == grade_id)
        _STUBS[grade_id] = next(n for n in ast.parse(cell).body if isinstance(n, ast.FunctionDef))
        solution = _defined(grade_id, cell)
        for case in sorted(cases.glob(f"{grade_id}/*.txt")):
            answer = _defined(grade_id, case.read_text())
            for expected_args, args in zip(arguments(), arguments(), strict=True):
                assert _same(solution(*expected_args), answer(*args)), f"{case.relative_to(REPO)}: {args!r:.80}"
