"""Run what the graded cells need: a lesson's plan cut to the cells its grades depend on.

Most of a lesson's time is demonstration (training runs, sweeps, figures) that no graded cell
reads. A sliced plan keeps

* every cell of the learner's (answers and cells they added) and every test cell;
* the setup cell, and every course cell an instructor marked ``"flowlib": {"graded_run": "always"}``;
* every course cell that binds or may change a name a kept cell after it reads, followed back
  through the cells it reads in turn (from each cell's ``ast``; a test cell reads, from the
  kernel, the names its setup namespace lacks: :func:`~flowlib.watch.learner_names`).

A cell "may change" a name it assigns an attribute or item of (``x.w = ...``, ``x[0] = ...``),
calls a method of (``x.train()``) or passes to a call (``train(x)``); names bound to modules are
left out of that rule (``plt.plot(...)`` changes nothing a test reads). A cell marked
``"never"`` is skipped even then. A course cell that cannot be read (a star import, a syntax
IPython alone knows) is kept.

Slicing is an optimisation, never a change of grade. Code that reaches names by string
(``globals()``, ``eval``, ``In``/``Out``...) is graded in full from the start, and a sliced run
that fails in a way a full run might not (a ``NameError``, a course cell that fails) is graded
again in full: :func:`doubtful`. Random state is the one thing names do not carry: a course cell
that draws random numbers a graded cell relies on, without a name between them, is marked
``"always"`` (``AUTHORING.md``).
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import symtable
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from IPython.core.inputtransformer2 import TransformerManager

from flowlib.course.grader.execute import CellRun
from flowlib.course.grader.screen import Plan
from flowlib.course.grader.testcell import ONE_AT_A_TIME
from flowlib.watch import learner_names

ALWAYS, NEVER = "always", "never"
# what reads a name by string, or IPython's history of inputs and outputs (different in a shorter run)
DYNAMIC_NAMES = frozenset(
    {"globals", "locals", "vars", "eval", "exec", "compile", "__import__", "__builtins__", "get_ipython"}
    | {"In", "Out", "_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh"}
)
DYNAMIC_ATTRIBUTES = frozenset({"f_globals", "f_locals", "f_back", "__globals__", "_getframe", "currentframe"})
HISTORY = re.compile(r"_i?\d+")  # _3 (the output of cell 3), _i3 (its input)
BUILTINS = frozenset(dir(builtins))
UNDEFINED = re.compile(r"name '(\w+)' is not defined")


@dataclass(frozen=True)
class Uses:
    """What one cell does with names, read from its code."""

    reads: frozenset[str] = frozenset()  # names it reads, function bodies included
    binds: frozenset[str] = frozenset()  # names it binds
    changes: frozenset[str] = frozenset()  # names whose value it may change in place
    kills: frozenset[str] = frozenset()  # names it always rebinds, without reading them first
    imports: frozenset[str] = frozenset()  # names it binds to modules
    opaque: bool = False  # it could bind anything (a star import, code ast cannot read)
    dynamic: bool = False  # it reaches names by string


def _root(node: ast.expr) -> str | None:
    """``x`` for ``x``, ``x.a.b``, ``x[0].c``; None for anything else."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


@functools.lru_cache(maxsize=4096)  # a lesson's course cells are read once, not once per submission
def uses(code: str) -> Uses:
    """The names ``code`` (a cell, IPython magics allowed) reads, binds and may change."""
    try:
        text = TransformerManager().transform_cell(code)
        with ONE_AT_A_TIME:  # CPython 3.11 parses one thread at a time (see learner_code.parse)
            tree, table = ast.parse(text), symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return Uses(opaque=True)
    reads, binds = _globals(table)
    changes: set[str] = set()
    imports: set[str] = set()
    # a name read but not bound here (`for _ in ...: total = _` reads its own `_`)
    dynamic = any(name in DYNAMIC_NAMES or HISTORY.fullmatch(name) for name in reads - binds)
    opaque = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            dynamic |= node.attr in DYNAMIC_ATTRIBUTES
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            opaque |= any(alias.name == "*" for alias in node.names)
            imports |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
            dynamic |= any(alias.name == "__main__" for alias in node.names)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete, ast.For, ast.With)):
            changes.update(r for t in _targets(node) if not isinstance(t, ast.Name) and (r := _root(t)))
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                changes.add(_root(node.func.value) or "")
            changes.update(_root(a) or "" for a in [*node.args, *(k.value for k in node.keywords)])
    return Uses(
        frozenset(reads),
        frozenset(binds),
        frozenset((changes & reads) - BUILTINS),  # a function's locals are nobody else's; float stays float
        frozenset(_always_bound(tree) - reads),
        frozenset(imports),
        opaque,
        dynamic,
    )


def _globals(table: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """The global names a cell reads and binds, in any of its scopes (function bodies included)."""
    reads: set[str] = set()
    binds: set[str] = set()
    for symbol in table.get_symbols():
        top = table.get_type() == "module"
        if symbol.is_referenced() and (top or symbol.is_global()):
            reads.add(symbol.get_name())
        if (symbol.is_assigned() or symbol.is_imported()) and (top or symbol.is_declared_global()):
            binds.add(symbol.get_name())
    for child in table.get_children():
        inner_reads, inner_binds = _globals(child)
        reads |= inner_reads
        binds |= inner_binds
    return reads, binds


def _targets(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
        found = [node.target]
    elif isinstance(node, ast.Delete):
        found = list(node.targets)
    else:  # with ... as target
        found = [item.optional_vars for item in node.items if item.optional_vars is not None]  # type: ignore[attr-defined]
    flat: list[ast.expr] = []
    while found:
        target = found.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            found.extend(target.elts)
        else:
            flat.append(target)
    return flat


def _always_bound(tree: ast.Module) -> set[str]:
    """Names the cell's top-level statements bind whatever happens (not inside an ``if``)."""
    bound: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(statement.name)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in statement.names if a.name != "*")
        elif isinstance(statement, ast.Assign) or (isinstance(statement, ast.AnnAssign) and statement.value):
            bound.update(t.id for t in _targets(statement) if isinstance(t, ast.Name))
    return bound


def choose(plan: Plan, setup: Mapping[str, Any], marks: Mapping[str, str], sliced: bool) -> tuple[Plan, str]:
    """The plan to run and the mode the report states: sliced, or full and why."""
    if not sliced:
        return plan, "full: asked for"
    reaching = [
        c.grade_id or c.cell_id for c in plan.cells if c.role in ("answer", "learner") and uses(c.source).dynamic
    ]
    if reaching:
        return plan, f"full: the learner's code reaches names by string ({', '.join(reaching)})"
    cut = slice_plan(plan, setup, marks)
    return cut, f"sliced: ran {len(cut.cells)} of {len(plan.cells)} cells"


def slice_plan(plan: Plan, setup: Mapping[str, Any], marks: Mapping[str, str]) -> Plan:
    """``plan`` with only the cells the graded cells need, in the same order.

    ``setup``: the names a test cell finds in the grader's own namespace; ``marks``: cell id ->
    ``"always"`` or ``"never"`` (the course's ``graded_run`` marks)."""
    found = [uses(c.source) for c in plan.cells]
    # names only ever bound by imports: calling their functions changes nothing a test reads
    modules = set().union(*(u.imports for u in found)) - set().union(*(u.binds - u.imports for u in found))
    live: set[str] = set()  # names a kept cell further down reads
    keep = [False] * len(plan.cells)
    for index in reversed(range(len(plan.cells))):
        cell, use = plan.cells[index], found[index]
        if cell.role == "test":  # it reads from the kernel what its setup namespace lacks
            keep[index] = True
            with ONE_AT_A_TIME:  # it parses (see uses)
                live |= set(learner_names(cell.source, setup))
            continue
        mark = marks.get(cell.cell_id, "")
        writes = use.binds | (use.changes - modules)
        if cell.role != "course":
            keep[index] = True  # the learner's cells always run
        elif mark in (ALWAYS, NEVER):
            keep[index] = mark == ALWAYS
        else:
            keep[index] = cell.cell_id.endswith("_setup") or bool(live and (use.opaque or writes & live))
        if keep[index]:
            live = (live - use.kills) | use.reads
    return replace(plan, cells=[c for c, kept in zip(plan.cells, keep, strict=True) if kept])


def doubtful(plan: Plan, ran: Plan, runs: list[CellRun]) -> str:
    """Why the verdicts of ``ran`` (a slice of ``plan``) may differ from a full run's ('' when
    they cannot): a name not found that a skipped cell binds (or a NameError that does not say
    which name), or a course cell that failed (each ran clean in the solution's full run)."""
    kept = {id(c) for c in ran.cells}
    skipped = [uses(c.source) for c in plan.cells if id(c) not in kept]
    bound = set().union(*(u.binds | u.changes for u in skipped))
    for cell, run in zip(ran.cells, runs, strict=True):
        where = cell.grade_id or cell.cell_id
        missing = set(UNDEFINED.findall(run.error))
        if missing & bound or (not missing and "NameError" in run.error):
            return f"cell {where} met a name a skipped cell might have bound"
        if cell.role == "course" and run.status != "ok":
            return f"the course's cell {where} failed ({run.status})"
    return ""
