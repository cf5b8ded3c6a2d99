"""Grader-owned checks that the learner's code left the kernel's machinery alone.

Two kinds, both sent by the grader as silent requests (no history, no IPython events):

* the **probe** fingerprints what a test relies on: trace and profile hooks, import hooks,
  builtins, IPython's input and AST transformers and event callbacks, torch's function and
  dispatch modes, and the identity of every function of flowlib, NumPy, torch and
  ``torch.Tensor``. It is taken before and after each cell the learner wrote and each test
  cell; a difference is tampering, named by what changed.
* the **canary** calls the checks with values the grader chose at random, known to be wrong,
  and the grader verifies that the records which come back carry exactly those values. A
  patched check, recorder or display machinery that reports anything else is caught.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import numpy as np

from flowlib.comparisons import plain, unplain

_WATCHED = ("flowlib.grading", "flowlib.comparisons", "flowlib.attention", "flowlib.positions", "flowlib.blocks",
            "flowlib.models", "flowlib.bert", "flowlib.vit", "flowlib.lstm", "flowlib.generation", "flowlib.mistakes",
            "flowlib.data", "flowlib.tasks", "flowlib.training",
            "numpy", "numpy.linalg", "torch", "torch.nn.functional", "torch.linalg", "builtins", "json", "base64",
            "IPython.display", "math", "scipy.special")

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
""".replace("WATCHED", repr(_WATCHED))


def probe(kernel: Any) -> dict[str, str]:
    """The kernel's fingerprint now (see :data:`PROBE_CODE`)."""
    return kernel.evaluate(PROBE_CODE, "_flowlib_probe()")


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What the cell between two probes changed, in words ('' when nothing)."""
    changed = [name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)
               and not (name.startswith("module ") and name not in before)]  # a module imported later is fine
    return changed


def canary() -> tuple[str, list[dict[str, Any]]]:
    """Code calling the checks with wrong values, and the records a faithful kernel reports."""
    rng = np.random.default_rng(secrets.randbits(32))
    actual, expected = rng.normal(size=(2, 3)).round(3), rng.normal(size=(2, 3)).round(3)
    left, right = int(rng.integers(0, 50)), int(rng.integers(51, 100))
    what = f"value {secrets.token_hex(3)}"
    code = (
        "def _flowlib_canary():\n"
        "    import numpy\n"
        "    from flowlib import grading\n"
        f"    for call in (lambda: grading.check_close(numpy.array({actual.tolist()}), numpy.array({expected.tolist()}), {what!r}),\n"
        f"                 lambda: grading.check_equal({left}, {right}, {what!r}),\n"
        f"                 lambda: grading.check_true({left} > {right}, {what!r})):\n"
        "        try:\n"
        "            call()\n"
        "        except AssertionError:\n"
        "            pass\n"
        "_flowlib_canary()\n"
        "del _flowlib_canary\n"
    )
    want = [{"kind": "close", "actual": plain(actual)}, {"kind": "equal", "actual": left}, {"kind": "true", "actual": False}]
    return code, want


def canary_faithful(records: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    """True when the kernel reported exactly the canary's wrong values, each as a failure."""
    if len(records) != len(want):
        return False
    for got, expected in zip(records, want):
        if got.get("kind") != expected["kind"] or not got.get("message"):
            return False
        if json.dumps(_normal(got.get("actual"))) != json.dumps(_normal(expected["actual"])):
            return False
    return True


def _normal(data: Any) -> Any:
    value = unplain(data)
    return value.tolist() if isinstance(value, np.ndarray) else value
