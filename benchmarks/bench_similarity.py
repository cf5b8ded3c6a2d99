"""Does the similarity report flag copies and leave honest work alone? `make bench-similarity`
(a benchmark, not a test).

The course's own cases (benchmarks/similarity_cases/<exercise>/*.txt, each an answer cell as typed) are honest answers written
independently, by hand, for ten exercises of lessons 03, 05, 08 and 09: each takes its own road
(loops or vectorised, another torch call, a helper function), as different learners do. Copies are
made from them, and from flowlib's source of the exercise, by the disguises a copier uses, each
applied with its own random seed:

* every name the copy binds is renamed (the exercise's function and its parameters stay: the
  tests call them by name);
* independent statements are put in another order: a random topological order under a
  conservative reading of which statements depend on each other (any name one writes and the
  other reads or writes, in-place changes included; ``return``, ``raise`` and the like stay put);
* comments are added and the docstring reworded; numbers respelled (``10000`` as ``10000.0``,
  an epsilon ten times smaller);
* a copy of flowlib pastes the twin's body under the exercise's signature (its parameters named
  as the exercise names them) with the helpers it calls, once whole and once without its input
  checks.

For each exercise it prints, measured in this run: the baseline (the 95th percentile of honest
pairs) and the threshold the report would use; the share of honest answers flagged (leave one
out: each answer is judged against the threshold its *other* answers set); the share of copies
of a learner and of flowlib flagged. Then the time to compare all exercises of lesson 03 for a
generated class (`--learners`, default 300).

    python benchmarks/bench_similarity.py [--copies 5] [--learners 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flowlib.cells import cell_role, nbgrader_meta  # noqa: E402  (once the course folder is on the path)
from flowlib.course import layout  # noqa: E402
from flowlib.course.grader import similarity as sim  # noqa: E402
from flowlib.course.grader.fingerprint import fingerprint  # noqa: E402
from flowlib.course.grader.similarity_report import write  # noqa: E402
from flowlib.course.grader.twins import twins  # noqa: E402

CASES = ROOT / "benchmarks" / "similarity_cases"
# the flowlib function each exercise asks for (its declared twins name it, or its module)
MAIN_TWIN = {
    "03_split_heads": "split_heads",
    "03_merge_heads": "merge_heads",
    "03_sinusoidal": "sinusoidal_encoding",
    "05_sample_next": "sample_next",
    "05_mask_tokens": "mask_tokens",
    "08_most_frequent_pair": "most_frequent_pair",
    "08_merge_pair": "merge_pair",
    "09_lr_at": "warmup_cosine",
}
WORDS = "alpha beta tmp val res out data arr buf acc item elem thing part piece chunk node cur nxt total".split()
REMARKS = ["# compute it", "# step", "# as in the lecture", "# TODO tidy", "# shapes check out", "# done"]


def _kept(tree: ast.Module) -> set[str]:
    """What a copier cannot rename: the top-level functions the tests call, and their parameters."""
    kept = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            kept.add(node.name)
            kept.update(a.arg for a in node.args.args + node.args.kwonlyargs)
    return kept


def _rename(tree: ast.Module, rng: random.Random) -> None:
    kept = _kept(tree)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    new = {name: f"{rng.choice(WORDS)}_{i}" for i, name in enumerate(sorted(bound - kept))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in new:
            node.id = new[node.id]
        elif isinstance(node, ast.arg) and node.arg in new:
            node.arg = new[node.arg]
        elif isinstance(node, ast.FunctionDef) and node.name in new:
            node.name = new[node.name]


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """Names read and written (in-place changes count as writes), conservatively."""
    reads, writes = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (writes if isinstance(sub.ctx, ast.Store) else reads).add(sub.id)
        elif isinstance(sub, ast.Attribute | ast.Subscript) and isinstance(sub.ctx, ast.Store):
            base = sub.value
            while isinstance(base, ast.Attribute | ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                writes.add(base.id)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name):
            writes.add(sub.func.value.id)
        elif isinstance(sub, ast.FunctionDef):
            writes.add(sub.name)
    return reads, writes


def _shuffle(body: list[ast.stmt], rng: random.Random) -> list[ast.stmt]:
    """A random order of ``body`` that keeps every dependency (and inner blocks shuffled too)."""
    for statement in body:
        for name in ("body", "orelse"):
            inner = getattr(statement, name, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(statement, name, _shuffle(inner, rng))
    fixed = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.If, ast.While, ast.For, ast.With, ast.Try)
    uses = [_names(s) for s in body]
    before = {
        j: {
            i
            for i in range(j)
            if isinstance(body[i], fixed)
            or isinstance(body[j], fixed)
            or uses[i][1] & (uses[j][0] | uses[j][1])
            or uses[i][0] & uses[j][1]
        }
        for j in range(len(body))
    }
    placed: list[int] = []
    while len(placed) < len(body):
        ready = [j for j in range(len(body)) if j not in placed and before[j] <= set(placed)]
        placed.append(rng.choice(ready))
    return [body[j] for j in placed]


def _respell(tree: ast.Module, rng: random.Random) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 100:
            node.value = float(node.value)
        elif isinstance(node, ast.Constant) and type(node.value) is float and 0 < node.value < 1e-3:
            node.value = node.value / 10
        elif isinstance(node, ast.FunctionDef) and ast.get_docstring(node) and rng.random() < 0.5:
            node.body[0] = ast.Expr(ast.Constant("My implementation."))


def disguise(code: str, rng: random.Random) -> str:
    """``code`` as a copier hands it in: renamed, reordered, respelled, with other comments."""
    tree = ast.parse(code)
    _rename(tree, rng)
    for node in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
        node.body = _shuffle(node.body, rng)
    _respell(tree, rng)
    lines = ast.unparse(tree).splitlines()
    out = []
    for line in lines:
        if rng.random() < 0.3 and line.strip() and not line.lstrip().startswith(("def ", "@", "else", "elif")):
            out.append(line[: len(line) - len(line.lstrip())] + rng.choice(REMARKS))
        out.append(line)
    return "\n".join(out) + "\n"


def flowlib_copy(grade_id: str, stub: str, whole: bool) -> str:
    """flowlib's twin pasted under the exercise's signature, with the helpers it calls."""
    found = {t.name.rsplit(": ", 1)[1]: t for t in twins([MAIN_TWIN[grade_id]])}
    main = found[MAIN_TWIN[grade_id]]
    module = main.name.split(": ")[0].removesuffix(".py").replace("/", ".")
    helpers = {t.name.rsplit(": ", 1)[1]: t for t in twins([module])}
    twin = ast.parse(main.source).body[0]
    signature = ast.parse(stub).body[0]
    assert isinstance(twin, ast.FunctionDef) and isinstance(signature, ast.FunctionDef)
    theirs = [a.arg for a in twin.args.args]
    ours = [a.arg for a in signature.args.args]
    spare = [name for name in ours if name not in theirs]
    rename = {name: name if name in ours else spare.pop(0) for name in theirs if name in ours or spare}
    body = twin.body[1:] if ast.get_docstring(twin) else twin.body
    if not whole:  # the copier leaves out flowlib's input checks
        body = [s for s in body if not (isinstance(s, ast.If) and isinstance(s.body[0], ast.Raise))]
    signature.body = [*signature.body[:1], *body] if ast.get_docstring(signature) else body
    for node in ast.walk(signature):
        if isinstance(node, ast.Name) and node.id in rename:
            node.id = rename[node.id]
    called = {n.id for n in ast.walk(signature) if isinstance(n, ast.Name)} & (set(helpers) - {main.name})
    pasted = [helpers[name].source for name in sorted(called) if not name.startswith("_check")]
    return "\n\n".join([*pasted, ast.unparse(signature)]) + "\n"


def _lesson(grade_id: str) -> str:
    return next(name for name in layout.lessons(ROOT) if name[:2] == grade_id[:2])


def _notebooks(lesson: str) -> tuple[dict, dict]:
    source = json.loads(layout.notebook(ROOT, lesson, layout.SOURCE).read_text(encoding="utf-8"))
    return source, json.loads(layout.notebook(ROOT, lesson).read_text(encoding="utf-8"))


def measure(grade_id: str, copies: int, seed: int) -> dict[str, float]:
    """One exercise: its baseline and threshold, and how many honest answers and copies are flagged."""
    source, released = _notebooks(_lesson(grade_id))
    stub_code, declared = sim.exercises(source, released)[grade_id]
    context = sim.lesson_context(source)
    stub = fingerprint(stub_code, context)
    references = sim.flowlib_references(declared, stub)

    def answer(name: str, code: str) -> sim.Answer:
        return sim.Answer(name, code, fingerprint(code, context).without(stub))

    def judged(one: sim.Answer) -> bool:  # big enough to be compared at all
        return len(one.print.lines) >= sim.MIN_HASHES

    honest = [answer(p.stem, p.read_text()) for p in sorted((CASES / grade_id).glob("*.txt"))]
    pairs = {(a.student, b.student): sim.similarity(a.print, b.print) for a, b in combinations(honest, 2)}
    limit, baseline = sim.above_baseline(list(pairs.values()))
    honest_flagged = 0
    for one in honest:  # judged by the threshold the other honest answers set
        others = [score for (a, b), score in pairs.items() if one.student not in (a, b)]
        own_limit, _ = sim.above_baseline(others)
        mine = [score for (a, b), score in pairs.items() if one.student in (a, b)]
        honest_flagged += judged(one) and (
            max(mine) >= own_limit or sim.against_flowlib(one, references)[0] >= own_limit
        )
    rng = random.Random(seed)
    learner: list[bool | None] = []  # flagged, or None: too small to judge
    for original in honest:
        for _ in range(copies):
            copy = answer("copy", disguise(original.code, rng))
            small = not (judged(copy) and judged(original))
            learner.append(None if small else sim.similarity(copy.print, original.print) >= limit)
    from_flowlib: list[bool | None] = []
    for whole in (True, False) if grade_id in MAIN_TWIN else ():
        for _ in range(copies):
            copy = answer("copy", disguise(flowlib_copy(grade_id, stub_code, whole), rng))
            from_flowlib.append(sim.against_flowlib(copy, references)[0] >= limit if judged(copy) else None)
    return {
        "honest": len(honest),
        "baseline": baseline,
        "threshold": limit,
        "honest_flagged": honest_flagged,
        "learner": learner,
        "flowlib": from_flowlib,
    }


def _share(flags: list[bool | None]) -> str:
    """``flagged of judged (too small)`` for a list of copies."""
    judged = [f for f in flags if f is not None]
    small = len(flags) - len(judged)
    return f"{sum(judged)} of {len(judged)}" + (f" ({small} too small)" if small else "") if flags else "no twin"


def timing(lesson: str, learners: int, seed: int) -> tuple[float, sim.Result]:
    """Seconds to compare every exercise of ``lesson`` for a generated class (and write the report),
    and what it found. Each learner answers each exercise from one of the six honest cases in
    their own names (so honest answers are as alike as copies: the baselines say so); one in
    twenty copies a classmate, one in twenty flowlib."""
    rng = random.Random(seed)
    source, released = _notebooks(lesson)
    stubs = sim.exercises(source, released)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        shutil.copy(ROOT / layout.CONFIG, root / layout.CONFIG)
        for where in (layout.SOURCE, layout.RELEASED):
            shutil.copytree(ROOT / where / lesson, root / where / lesson)
        given: dict[str, list[str]] = {}
        for number in range(learners):
            notebook = json.loads(json.dumps(released))
            for cell in notebook["cells"]:
                grade_id = nbgrader_meta(cell).get("grade_id")
                cases = sorted((CASES / str(grade_id)).glob("*.txt"))
                if cell_role(cell) != "answer" or not cases:
                    continue
                roll = rng.random()
                if roll < 0.05 and given.get(grade_id):
                    code = disguise(rng.choice(given[grade_id]), rng)
                elif roll < 0.1 and grade_id in MAIN_TWIN:
                    code = disguise(flowlib_copy(grade_id, stubs[grade_id][0], rng.random() < 0.5), rng)
                else:
                    code = disguise(rng.choice(cases).read_text(), rng)
                given.setdefault(grade_id, []).append(code)
                cell["source"] = code
            folder = root / "submitted" / f"learner{number:03d}" / lesson
            folder.mkdir(parents=True)
            (folder / f"{lesson}.ipynb").write_text(json.dumps(notebook))
        start = time.perf_counter()
        result = sim.lesson_similarity(root, lesson)
        write(root, result)
        seconds = time.perf_counter() - start
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=5, help="disguised copies of each honest answer and of flowlib")
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        f"{'exercise':24} {'baseline':>8} {'flag at':>7} {'honest flagged':>15} {'copies of a learner flagged':>28} "
        f"{'copies of flowlib flagged':>26}"
    )
    honest, learner, from_flowlib = [0, 0], [], []
    for case in sorted(p.name for p in CASES.iterdir() if p.is_dir()):
        m = measure(case, args.copies, args.seed)
        honest = [honest[0] + m["honest_flagged"], honest[1] + m["honest"]]
        learner += m["learner"]
        from_flowlib += m["flowlib"]
        print(
            f"{case:24} {m['baseline']:>8.2f} {m['threshold']:>7.2f} {m['honest_flagged']:>8} of {m['honest']:<3} "
            f"{_share(m['learner']):>28} {_share(m['flowlib']):>26}"
        )
    for kind, flags in (("copies of a learner", learner), ("copies of flowlib", from_flowlib)):
        judged = [f for f in flags if f is not None]
        print(
            f"{kind}: {sum(judged) / len(judged):.1%} of {len(judged)} judged flagged "
            f"({sum(judged) / len(flags):.1%} of all {len(flags)}; the others too small to judge)"
        )
    print(f"honest answers: {honest[0] / honest[1]:.1%} of {honest[1]} flagged")
    lesson = "03_multi_head_attention_and_positions"
    seconds, result = timing(lesson, args.learners, args.seed)
    print(f"{args.learners} learners, every exercise of {lesson} compared and the report written in {seconds:.1f} s:")
    for e in result.exercises:
        baseline = "not measured" if e.baseline is None else f"baseline {e.baseline:.2f}"
        count = sum(p.exercise == e.grade_id for p in result.pairs)
        print(f"  {e.grade_id:24} {e.answers:4} answers, {baseline}, flag at {e.threshold:.2f}: {count} pairs")


if __name__ == "__main__":
    main()
