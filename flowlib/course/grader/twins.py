"""flowlib's own code for what an exercise asks: the source of its twins, read with ``ast``.

An exercise names its twins in the source notebook (the answer cell's ``flowlib.forbidden``):
a flowlib module (``flowlib.bpe``: every function and class in it), a dotted name in flowlib
(``flowlib.attention.split_heads``), or a bare name (``split_heads``: every function, class or
method of that name anywhere in flowlib). Names outside flowlib (``torch.nn.functional.unfold``)
have no source here. flowlib is read, never imported; the course's machinery
(``flowlib/course/``) is not a twin of anything.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import flowlib
from flowlib.course.grader.learner_code import aliases

PACKAGE = Path(flowlib.__file__).parent


@dataclass(frozen=True)
class Twin:
    """One flowlib function or class: where it is, its source, and the module's import names."""

    name: str  # e.g. flowlib/attention.py: split_heads
    source: str
    context: tuple[tuple[str, str], ...]  # the module's imports: (("F", "torch.nn.functional"), ...)


@cache
def _definitions() -> tuple[tuple[str, str, Twin], ...]:
    """Every function, class and method of flowlib's modules: (module path, its name, the twin)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        if relative.parts[1] == "course":
            continue
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        module = ".".join(relative.with_suffix("").parts)
        context = tuple(sorted(aliases(text).items()))
        for node in tree.body:
            inner = node.body if isinstance(node, ast.ClassDef) else []
            for defined in [node, *inner]:
                if isinstance(defined, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    source = textwrap.dedent(ast.get_source_segment(text, defined, padded=True) or "")
                    label = (
                        f"{node.name}.{defined.name}"
                        if isinstance(node, ast.ClassDef) and defined is not node
                        else defined.name
                    )
                    twin = Twin(f"{relative.as_posix()}: {label}", source, context)
                    found.append((module, defined.name, twin))
    return tuple(found)


def twins(names: list[str]) -> list[Twin]:
    """flowlib's source for an exercise's declared twins (``flowlib.forbidden``), and the
    functions of their module they call (a copy pastes those too), each once."""
    chosen: dict[str, Twin] = {}
    for name in names:
        for module, defined, twin in _definitions():
            if (
                name == module  # a whole flowlib module
                or name == f"{module}.{defined}"  # one of its names
                or ("." not in name and name == defined)  # a bare name, anywhere in flowlib
            ):
                chosen.setdefault(twin.name, twin)
                called = {n.id for n in ast.walk(ast.parse(twin.source)) if isinstance(n, ast.Name)}
                for other_module, other, helper in _definitions():
                    if other_module == module and other in called and "." not in helper.name.rsplit(": ", 1)[1]:
                        chosen.setdefault(helper.name, helper)
    return list(chosen.values())
