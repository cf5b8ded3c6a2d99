"""The similarity report (flowlib/course/grader/similarity.py): disguised copies of a classmate or
of flowlib are flagged, honest answers are not, hostile notebooks never stop the report, and the
report an instructor reads escapes learner code. How well it does on the course's own cases is
measured by benchmarks/bench_similarity.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flowlib.cells import cell_role, nbgrader_meta
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
