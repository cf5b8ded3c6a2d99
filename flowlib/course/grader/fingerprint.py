"""A piece of code's fingerprint: what stays when names, literals, comments, layout and the order
of independent lines are changed, as a set of winnowed hashes (MOSS's winnowing, Schleimer,
Wilkerson and Aiken 2003).

The code is parsed and canonicalised first:

* comments and layout are gone with the parse; docstrings (any bare string statement) are dropped;
* every name the code binds itself (variables, arguments, its functions and classes, attributes
  it assigns) becomes ``V``; an imported name becomes the dotted path it stands for
  (``F`` -> ``torch.nn.functional``); other names and attributes (``torch``, ``.shape``) stay;
* every literal becomes its kind (``1e-9``, ``1e-12`` and ``10000`` are all a number).

Each statement is then a stream of tokens (its tree read in pre-order, after the kinds of the
blocks it is in; the statements inside it are streams of their own), each token with the source
line it came from. A statement's ``K``-token windows are hashed and, of every ``W`` consecutive
hashes, the smallest is kept. No window crosses from one statement to the next, so the order of
the lines, and lines put in or taken out between them, change no other line's hashes.
"""

from __future__ import annotations

import ast
import zlib
from dataclasses import dataclass, field

K = 8  # tokens per hashed window (a short statement is one window)
W = 3  # winnowing window: a match of K + W - 1 tokens is always seen


@dataclass
class Fingerprint:
    """The winnowed hashes of one piece of code, each with the source lines it covers."""

    lines: dict[int, set[int]] = field(default_factory=dict)  # hash -> 1-based source lines

    def without(self, other: Fingerprint) -> Fingerprint:
        """These hashes less ``other``'s (the code a learner was given: the stub, the signature)."""
        return Fingerprint({h: lines for h, lines in self.lines.items() if h not in other.lines})


def _bound(tree: ast.AST) -> tuple[set[str], set[str], dict[str, str]]:
    """Names the code binds, attributes it assigns, and what its imports' names stand for."""
    names: set[str] = set()
    attributes: set[str] = set()
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            attributes.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}"
    return names - set(imported), attributes, imported


class _Reader:
    """Turns a tree into canonical tokens, each with its source line, statement by statement."""

    def __init__(self, own: set[str], attributes: set[str], imported: dict[str, str]) -> None:
        self.own, self.attributes, self.imported = own, attributes, imported

    def units(self, node: ast.stmt | ast.excepthandler, path: str) -> list[list[tuple[str, int]]]:
        """The statement's own tokens (after the kinds of the blocks it is in), then each inner
        statement's; none for a docstring or any other bare string."""
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return []
        found = [[(f"in:{path}", node.lineno), *self.tokens(node)]]
        inner = f"{path}>{type(node).__name__}"
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt | ast.excepthandler):
                found.extend(self.units(child, inner))
        return found

    def tokens(self, node: ast.AST, line: int = 0) -> list[tuple[str, int]]:
        """The node's tokens in pre-order, inner statements left out (they are units of their own)."""
        line = getattr(node, "lineno", line)
        if isinstance(node, ast.expr_context):
            return []
        if isinstance(node, ast.Name):
            word = "V" if node.id in self.own else self.imported.get(node.id, node.id)
            return [(f"Name:{word}", line)]
        if isinstance(node, ast.Constant):
            kind = "number" if type(node.value) in (int, float, complex) else type(node.value).__name__
            return [(f"Constant:{kind}", line)]
        label = type(node).__name__
        if isinstance(node, ast.Attribute):
            label += ":" + ("V" if node.attr in self.attributes else node.attr)
        elif isinstance(node, ast.keyword):
            label += ":" + ("V" if node.arg in self.own else str(node.arg))
        elif isinstance(node, ast.alias):
            label += ":" + node.name
        out = [(label, line)]
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt | ast.excepthandler):
                out.extend(self.tokens(child, line))
        return out


def statements(tree: ast.Module, context: dict[str, str] | None = None) -> list[list[tuple[str, int]]]:
    """The canonical tokens of each statement of a parsed piece of code, docstrings left out;
    ``context``: names the code uses without importing them (``{"F": "torch.nn.functional"}``)."""
    own, attributes, imported = _bound(tree)
    reader = _Reader(own, attributes, {**(context or {}), **imported})
    return [unit for statement in tree.body for unit in reader.units(statement, "")]


def winnow(units: list[list[tuple[str, int]]], k: int = K, w: int = W) -> Fingerprint:
    """The winnowed fingerprint of statements' tokens: in each statement, the smallest hash of
    every ``w`` consecutive ``k``-token windows (a statement shorter than ``k`` is one window)."""
    found = Fingerprint()
    for tokens in units:
        grams = [tokens[i : i + k] for i in range(max(1, len(tokens) - k + 1))]
        hashed = [(zlib.crc32("\x1f".join(t for t, _ in g).encode()), {line for _, line in g}) for g in grams]
        for start in range(max(1, len(hashed) - w + 1)):
            value, lines = min(hashed[start : start + w], key=lambda pair: pair[0])
            found.lines.setdefault(value, set()).update(lines)
    return found


def fingerprint(code: str, context: dict[str, str] | None = None) -> Fingerprint:
    """The fingerprint of ``code`` (a cell, IPython's magics rewritten); raises ``SyntaxError``
    (or ``ValueError``, ``RecursionError`` for hostile input) when it does not parse."""
    from flowlib.course.grader.learner_code import parse

    return winnow(statements(parse(code), context))


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """How much of the smaller fingerprint the other holds, from 0 to 1 (0 when either is empty)."""
    smaller = min(len(a.lines), len(b.lines))
    return len(a.lines.keys() & b.lines.keys()) / smaller if smaller else 0.0
