"""Read the learner's own code (answer cells and added cells), never run it, for:

* **delegation**: calling what the exercise asks the learner to write (declared per exercise in
  the source notebook: the answer cell's metadata ``flowlib.forbidden``);
* **tampering**: code that reaches into the machinery tests rely on (patching a library or a
  check, rebinding a name the tests use, interpreter hooks, reflection, reading the notebook's
  history, objects that lie about equality or about being an array).

The tables below are the words that give it away; :func:`read_code` reads one cell with them.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Iterable

from IPython.core.inputtransformer2 import TransformerManager

REFLECTION = set(
    "__import__ eval exec compile globals locals vars getattr setattr delattr open breakpoint input"
    " get_ipython In Out _ih _oh _i _ii _iii __builtins__".split()
)
MODULES = set(
    "ctypes gc inspect importlib builtins threading _thread multiprocessing subprocess concurrent signal socket"
    " pickle marshal types dis traceback linecache IPython ipykernel atexit resource shutil tempfile glob io"
    " pathlib codecs unittest".split()
)
# modules of MODULES a learner imports in good faith (Markdown, display): their risky parts are in RISKY
SAFE_MODULES = {"IPython.display"}
# `import sys` or `import os` is honest (print to sys.stderr, os.path.join); these parts of them are not
RISKY = {
    "sys": set(
        "settrace setprofile _getframe _current_frames modules meta_path path_hooks path_importer_cache"
        " addaudithook excepthook displayhook stdin __stdout__ __stderr__".split()
    ),
    "os": set(
        "system popen fork forkpty kill killpg _exit environ getenv putenv execv execve execl execlp execvp spawnv"
        " spawnl posix_spawn remove unlink rmdir rename replace chmod chown symlink link listdir scandir walk chdir"
        " open write truncate dup2 setsid setuid setgid nice getcwd".split()
    ),
    "IPython.display": {"publish_display_data", "update_display"},
}
# read, never assigned: print(np.__version__), type(x).__name__, x.__class__.__name__
SAFE_DUNDERS = set(
    "__init__ __call__ __name__ __doc__ __len__ __getitem__ __iter__ __repr__ __str__ __version__ __class__"
    " __qualname__ __module__".split()
)
LYING = set(
    "__eq__ __ne__ __bool__ __array__ __array_ufunc__ __array_function__ __torch_function__ __float__ __int__"
    " __index__ __hash__ __instancecheck__ __getattr__ __getattribute__ __class_getitem__".split()
)


def parse(code: str) -> ast.Module:
    """``code`` (IPython's magics rewritten) as a tree. CPython 3.11 keeps ``ast.parse``'s recursion
    count per process, not per thread (gh-106905): two grading threads parsing at once raise
    SystemError. So every parse of the grader takes the lock its test cells run under (and
    ``Kernel.evaluate`` reads its answers without parsing)."""
    from flowlib.course.grader.testcell import ONE_AT_A_TIME  # the grader's one lock for parsing

    with ONE_AT_A_TIME:
        return ast.parse(TransformerManager().transform_cell(code))


def aliases(setup_source: str) -> dict[str, str]:
    """Names bound by import statements, as dotted module paths: ``{"F": "torch.nn.functional"}``."""
    names: dict[str, str] = {}
    try:
        tree = parse(setup_source)
    except SyntaxError:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: dict[str, str]) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(names.get(node.id, node.id))
        return ".".join(reversed(parts))
    return ".".join(reversed(parts))


def _words(name: str) -> list[str]:
    """The words a name spells, lower case: ``_safe_softmax`` and ``Softmax2d`` hold ``softmax``."""
    return re.findall(r"[a-z]+", name.lower())


def spells(attr: str, name: str) -> bool:
    """Whether ``attr`` spells the forbidden ``name``, maybe with words around it (``torch._softmax``,
    ``torch.special.softmax``, ``nn.Softmax``, ``_scaled_dot_product_flash_attention``)."""
    want, got = _words(name), iter(_words(attr))
    return bool(want) and all(word in got for word in want)  # in order, other words between allowed


def _own(tree: ast.AST) -> set[str]:
    """Names the code binds itself (arguments, loop variables, assignments, definitions): a learner's
    ``input`` argument or ``_i`` loop variable is theirs. A binding whose value reads a reflective name
    (``for eval in [eval]``) makes nothing the learner's own."""

    def clean(node: ast.AST | None) -> bool:
        return node is None or not any(isinstance(n, ast.Name) and n.id in REFLECTION for n in ast.walk(node))

    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            own.add(node.name)
        bound = {
            ast.For: ("target", "iter"),
            ast.comprehension: ("target", "iter"),
            ast.Assign: ("targets", "value"),
            ast.AnnAssign: ("target", "value"),
            ast.withitem: ("optional_vars", "context_expr"),
        }.get(type(node))
        if bound and clean(getattr(node, bound[1])):
            targets = getattr(node, bound[0])
            for target in targets if isinstance(targets, list) else [targets]:
                if target is not None:  # `with lock:` binds nothing
                    own.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return own


def read_code(
    code: str, setup: dict[str, str], forbidden: list[str], imported: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """``[(kind, detail)]`` of what learner ``code`` does that it should not (see the module doc).

    ``imported``: the names the course's own cells import (``{"pipeline": "transformers.pipeline"}``),
    so that a bare call of a forbidden function the lesson imported is seen for what it is.
    """
    try:
        tree = parse(code)
    except SyntaxError:
        return []
    typed = unicodedata.normalize("NFKC", code)  # what Python reads: full-width letters spell names too
    names = {**setup, **aliases(code)}
    resolve = {**(imported or {}), **names}
    found: list[tuple[str, str]] = []
    own = _own(tree)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    dotted = [name for name in forbidden if "." in name]

    def banned(path: str, attr: str) -> bool:
        return any(spells(attr, name) for name in forbidden if "." not in name) or any(
            path == name or path.startswith(name + ".") for name in dotted
        )

    def safe_import(node: ast.Import | ast.ImportFrom, module: str) -> bool:
        return module in SAFE_MODULES or (
            isinstance(node, ast.ImportFrom) and module == "IPython" and {a.name for a in node.names} <= {"display"}
        )

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in MODULES and not safe_import(node, module):
                    found.append(("tampering", f"imports {module}, which an exercise answer has no use for"))
            for alias in node.names:
                if isinstance(node, ast.ImportFrom) and alias.name in RISKY.get(node.module or "", ()):
                    found.append(
                        ("tampering", f"imports {node.module}.{alias.name}, which an exercise answer has no use for")
                    )
                bound = alias.asname or alias.name.split(".")[0]
                target = f"{node.module}.{alias.name}" if isinstance(node, ast.ImportFrom) else alias.name
                if bound in setup and setup[bound] != target:
                    found.append(("tampering", f"rebinds {bound}, which the tests use"))
                if banned(target, alias.name.rsplit(".", 1)[-1]):
                    found.append(("delegation", f"imports {target}, which this exercise asks you to write yourself"))
        elif isinstance(node, ast.Name) and node.id in REFLECTION and node.id in typed and node.id not in own:
            found.append(
                ("tampering", f"uses {node.id}, which an exercise answer has no use for")
            )  # (not a magic's rewrite)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and (node.attr not in SAFE_DUNDERS or not isinstance(node.ctx, ast.Load)):
                found.append(("tampering", f"reaches into {node.attr}"))
            path = _dotted(node, names)
            if node.attr in RISKY.get(path.rsplit(".", 1)[0], ()):
                found.append(("tampering", f"uses {path}, which an exercise answer has no use for"))
            resolved = _dotted(node, resolve)
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            theirs = node.attr in defined and not (isinstance(root, ast.Name) and root.id in resolve)  # self.softmax
            if banned(resolved, node.attr) and not theirs:
                found.append(("delegation", f"calls {resolved}, which this exercise asks you to write yourself"))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for stored in targets:
                for part in ast.walk(stored):
                    if isinstance(part, ast.Attribute):
                        root = part
                        while isinstance(root, ast.Attribute):
                            root = root.value
                        if isinstance(root, ast.Name) and root.id in names:
                            found.append(
                                ("tampering", f"changes {_dotted(part, names)}, part of a library the tests use")
                            )
        elif isinstance(node, ast.FunctionDef) and node.name in LYING:
            found.append(("tampering", f"defines {node.name}, which lets an object lie about its value"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in forbidden:
            found.append(("delegation", f"names {node.value!r}, which this exercise asks you to write yourself"))
    declared = [
        name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names
    ]  # global np, inside a function
    for name in [*_module_level_stores(tree.body), *declared]:
        if name in setup:
            found.append(("tampering", f"rebinds {name}, which the tests use"))
    found += [
        ("delegation", f"calls {target}, which this exercise asks you to write yourself")
        for target in _bare_imported_uses(tree, resolve)
        if banned(target, target.rsplit(".", 1)[-1])
    ]
    return list(dict.fromkeys(found))


def _bare_imported_uses(tree: ast.AST, resolve: dict[str, str]) -> list[str]:
    """What the bare names the code reads but never binds itself resolve to (``pipeline`` ->
    ``transformers.pipeline``); a name the code assigns, defines or takes as an argument is its own."""
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    own |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    own |= {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in (*n.posonlyargs, *n.args, *n.kwonlyargs)
    }
    roots = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}  # judged as attribute paths
    return [
        resolve[n.id]
        for n in ast.walk(tree)
        if isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Load)
        and id(n) not in roots
        and n.id in resolve
        and n.id not in own
    ]


def names_bound(sources: Iterable[str]) -> set[str]:
    """The names these cells bind at their top level (what later cells see as theirs)."""
    bound: set[str] = set()
    for source in sources:
        try:
            bound.update(_module_level_stores(parse(source).body))
        except SyntaxError:
            continue
    return bound


def _module_level_stores(body: list[ast.stmt]) -> list[str]:
    """Names a cell assigns at its top level (not inside a function or class)."""
    stored = []
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.append(statement.name)
            continue
        for node in ast.walk(statement):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                break
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                stored.append(node.id)
    return stored
