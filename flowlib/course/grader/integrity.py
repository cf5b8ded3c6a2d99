"""Grader-owned checks that the learner's code left the kernel's machinery alone.

The **probe**, sent by the grader as a silent request (no history, no IPython events),
fingerprints the kernel's machinery: trace and profile hooks, import hooks, builtins, IPython's
input and AST transformers and event callbacks, torch's function and dispatch modes, and the
identity of every function of flowlib, NumPy, torch and ``torch.Tensor``. It is taken before and
after each cell the learner wrote; a difference is a flag for a person, named by what changed.
No grade depends on it: the tests run in the grader's process, so a patched kernel can only
change what the learner's own code answers.
"""

from __future__ import annotations

from typing import Any

_WATCHED = (
    "flowlib.grading",
    "flowlib.comparisons",
    "flowlib.attention",
    "flowlib.positions",
    "flowlib.blocks",
    "flowlib.models",
    "flowlib.bert",
    "flowlib.vit",
    "flowlib.lstm",
    "flowlib.generation",
    "flowlib.mistakes",
    "flowlib.data",
    "flowlib.tasks",
    "flowlib.training",
    "flowlib.precision",
    "flowlib.cells",
    "flowlib.attention_checks",
    "flowlib.fused_attention",
    "flowlib.watch",
    "numpy",
    "numpy.linalg",
    "torch",
    "torch.nn.functional",
    "torch.linalg",
    "builtins",
    "json",
    "base64",
    "IPython.display",
    "math",
    "scipy.special",
)

PROBE_CODE = """
def _flowlib_probe():
    import sys, json, hashlib, threading
    module_type = type(sys)
    def digest(namespace):  # the functions and classes a name points to (lazy submodules come and go)
        items = sorted((str(k), id(v)) for k, v in list(namespace.items())
                       if callable(v) and not isinstance(v, module_type) and k not in ("_", "__", "___"))
        return hashlib.sha256(repr(items).encode()).hexdigest()[:16]
    found = {"trace": repr(sys.gettrace()), "profile": repr(sys.getprofile()),
             "threading hooks": repr((getattr(threading, "_trace_hook", None), getattr(threading, "_profile_hook", None))),
             "import hooks": repr([type(h).__qualname__ if not isinstance(h, type) else h.__qualname__ for h in sys.meta_path]),
             "path hooks": repr([getattr(h, "__qualname__", type(h).__qualname__) for h in sys.path_hooks]),
             "excepthook and displayhook": repr((id(sys.excepthook), id(sys.displayhook)))}
    for name in WATCHED:
        module = sys.modules.get(name)
        if module is not None:
            found["module " + name] = digest(vars(module))
    torch = sys.modules.get("torch")
    if torch is not None:
        found["torch.Tensor"] = digest(vars(torch.Tensor))
        found["torch modes"] = repr((torch._C._len_torch_function_stack(), torch._C._len_torch_dispatch_stack()))
    shell = get_ipython()
    found["input transformers"] = repr([id(t) for t in shell.input_transformers_post + shell.input_transformer_manager.cleanup_transforms + shell.input_transformer_manager.line_transforms])
    found["AST transformers"] = repr([id(t) for t in shell.ast_transformers])
    found["IPython events"] = repr(sorted((k, len(v)) for k, v in shell.events.callbacks.items()))
    found["IPython hooks"] = repr((id(type(shell).run_cell), id(type(shell).run_ast_nodes), id(shell.compile)))
    return json.dumps(found)
import builtins as _flowlib_builtins
from IPython import get_ipython as _flowlib_get_ipython
# its own globals: a learner's variable named `type`, `id` or `repr` never stands in for the built-in
_flowlib_probe = _flowlib_probe.__class__(_flowlib_probe.__code__, {"__builtins__": _flowlib_builtins,
                                                                    "get_ipython": _flowlib_get_ipython})
del _flowlib_builtins, _flowlib_get_ipython
""".replace("WATCHED", repr(_WATCHED))


def probe(kernel: Any) -> dict[str, str]:
    """The kernel's fingerprint now (see :data:`PROBE_CODE`)."""
    return kernel.evaluate(PROBE_CODE, "_flowlib_probe()")


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What the cell between two probes changed, in words ('' when nothing)."""
    changed = [
        name
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name) and not (name.startswith("module ") and name not in before)
    ]  # a module imported later is fine
    return changed
