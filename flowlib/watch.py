"""The watch on an exercise's answer: which of its calls are the functions it asks you to write.

Most exercises have a twin: a function of flowlib, PyTorch or Hugging Face that computes the same
answer (``flowlib.positions.sinusoidal_encoding`` for lesson 3's sinusoidal table). The answer
cell of each exercise names them in its metadata, ``flowlib.forbidden``: a bare name
(``softmax``) stands for every function whose name holds those words (``torch.softmax``,
``nn.Softmax.forward``), a dotted one (``flowlib.bpe``) or a package's (``tokenizers``) for that
function or module and all in it.

While a test runs your answer, a profile hook notes every call of one of them (by the function
actually called, so an alias or a wrapper makes no difference): that is the evidence of
delegation, and the exercise scores 0. A torch function called from C (through ``map``,
``functools.partial``, ``operator.methodcaller`` or a class's ``__call__``) makes no profile
event, so a torch function mode hands those to the same hook (:func:`torch_watch`). One rule
(:func:`matches`, :func:`profile_hook`) for the two places that watch:

* the grader's agent, in your kernel when your notebook is graded, watches everything a test's
  request runs there (:mod:`flowlib.course.grader.agent`);
* your own check (``flowlib check``, Validate) runs the test cell in your kernel or process, so it
  watches what runs on behalf of your names, never the test's own code (:func:`run_watched`):
  whatever a call the test makes of one of your names runs, with or without a frame of your code
  between (an object whose ``__call__`` is the twin), and whatever your code calls.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import inspect
import itertools
import re
import secrets
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from types import CodeType, FrameType
from typing import Any

from IPython.core.inputtransformer2 import TransformerManager

ALWAYS = ("flowlib.mistakes",)  # known-wrong answers, some of which compose a right one: no exercise may call them
TEST_FILE = f"<flowlib test {secrets.token_hex(4)}>"  # the filename a watched test cell's code runs under
# bound now: a later `sys.setprofile = ...` does not reach these; calling them is switching the watch off
SWITCHES = (sys.setprofile, sys.settrace)
_SET_PROFILE, _THREAD_SET_PROFILE = sys.setprofile, threading.setprofile


def _words(name: str) -> list[str]:
    return re.findall(r"[a-z]+", name.lower())


def matches(forbidden: Sequence[str], module: str, qualname: str) -> str:
    """The entry of ``forbidden`` that the function ``module.qualname`` is, or ''. The learner's own
    code (``__main__``), the grader's (``flowlib.course``) and the watch's are never forbidden."""
    if module in ("__main__", __name__) or module.startswith("flowlib.course"):
        return ""
    full = f"{module}.{qualname}"
    for name in forbidden:
        if full == name or full.startswith(name + ".") or module == name or module.startswith(name + "."):
            return name  # the function or module named (flowlib.bpe, tokenizers), and all in it
        if "." in name:
            continue
        wanted, called = _words(name), iter(_words(qualname))  # softmax: torch._softmax, nn.Softmax.forward
        if wanted and all(word in called for word in wanted):
            return name
    return ""


def called(event: str, frame: FrameType, arg: Any) -> tuple[str, str] | None:
    """``(module, qualname)`` of the function a profile ``event`` calls; None for other events."""
    if event == "call":
        return str(frame.f_globals.get("__name__", "") or ""), frame.f_code.co_qualname
    if event != "c_call":
        return None
    owner = getattr(arg, "__self__", None)
    module = getattr(arg, "__module__", None) or getattr(getattr(arg, "__objclass__", None), "__module__", "")
    if not module and owner is not None:
        module = getattr(owner, "__name__", "") if isinstance(owner, type(sys)) else type(owner).__module__
    return str(module or ""), str(getattr(arg, "__qualname__", getattr(arg, "__name__", "")) or "")


def shown(module: str, qualname: str) -> str:
    """How evidence names a function: ``torch._VariableFunctionsClass.softmax`` reads as ``torch.softmax``."""
    parts = qualname.split(".")
    name = parts[-1] if parts[0].startswith("_") else qualname
    return f"{module}.{name}" if module else name


def profile_hook(
    forbidden: Sequence[str], evidence: list[str], learners: Callable[[FrameType], bool] | None = None
) -> Callable[[FrameType, str, Any], None]:
    """A profile function (:func:`sys.setprofile`) that notes in ``evidence`` each call of a
    ``forbidden`` function, and each call that switches the watch off, made from a frame that
    ``learners`` says runs for the learner (every frame when None)."""
    verdicts: dict[tuple[str, str], str] = {}

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and (arg is SWITCHES[0] or arg is SWITCHES[1]):
            if learners is None or learners(frame):
                evidence.append(f"sys.{arg.__name__} (it switched off the grader's watch)")
            return
        what = called(event, frame, arg)
        if what is None or len(evidence) >= 20:
            return
        found = verdicts.get(what)
        if found is None:
            found = verdicts[what] = matches(forbidden, *what)
        caller = frame if event == "c_call" else frame.f_back
        if found and (learners is None or (caller is not None and learners(caller))) and shown(*what) not in evidence:
            evidence.append(shown(*what))

    return hook


def torch_watch(hook: Callable[[FrameType, str, Any], None] | None) -> contextlib.AbstractContextManager[Any]:
    """A context in which ``hook`` is told of each torch function called, as a ``c_call`` from its
    caller's frame, C callers included (no profile event sees those). None, or torch not loaded:
    nothing to do."""
    torch = sys.modules.get("torch")
    if hook is None or torch is None:
        return contextlib.nullcontext()
    note: Callable[[FrameType, str, Any], None] = hook

    class Watching(torch.overrides.TorchFunctionMode):  # type: ignore[name-defined]
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            note(sys._getframe(1), "c_call", func)
            return func(*args, **(kwargs or {}))

    return Watching()


# --- your own check: a test cell run here, what your names run watched ---------------------------


def learner_names(code: str, known: Mapping[str, Any]) -> list[str]:
    """The names ``code`` reads that neither it, ``known`` nor Python defines: the learner's."""
    tree = ast.parse(TransformerManager().transform_cell(code))
    bound, read = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                read.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return [n for n in dict.fromkeys(read) if n not in bound and n not in known and not hasattr(builtins, n)]


def _on_behalf(value: Callable[..., Any]) -> Callable[..., Any]:
    """``value``, called through a frame the watch knows as the learner's (an alias of a library
    function has no frame of its own)."""

    @functools.wraps(value)
    def learners(*args: Any, **kwargs: Any) -> Any:
        return value(*args, **kwargs)

    return learners


_ON_BEHALF: CodeType = _on_behalf(print).__code__


def learner_calls(code: str, names: Iterable[str]) -> frozenset[tuple[int | None, int | None]]:
    """Where ``code`` calls one of ``names``, or an attribute or item of one (``f(x)``,
    ``head.linear(x)``): each such call's end (line, column), which is where its instruction ends."""
    names, ends = set(names), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call):
            callee = node.func
            while isinstance(callee, (ast.Attribute, ast.Subscript)):
                callee = callee.value
            if isinstance(callee, ast.Name) and callee.id in names:
                ends.add((node.end_lineno, node.end_col_offset))
    return frozenset(ends)


def _calling(frame: FrameType) -> tuple[int | None, int | None]:
    """The end (line, column) of what ``frame`` runs now: for a caller, its call."""
    _, end_line, _, end_column = next(itertools.islice(frame.f_code.co_positions(), frame.f_lasti // 2, None))
    return end_line, end_column


class _Learner:
    """Which frames run for the learner: code of the learner's namespace, the stand-in of one of
    the learner's names, a method of one of the learner's objects, or whatever the test cell's
    call of one of the learner's names (at ``calls``, :func:`learner_calls`) runs; up to the test
    cell's own code (or the watch's own frame)."""

    def __init__(self, namespace: Mapping[str, Any], values: Iterable[Any], calls: frozenset[Any]) -> None:
        self.namespace, self.calls = namespace, calls
        self.objects = {id(v) for v in values}
        self.classes = tuple(v for v in values if isinstance(v, type))

    def owns(self, value: Any) -> bool:
        return id(value) in self.objects or (bool(self.classes) and isinstance(value, self.classes))

    def __call__(self, frame: FrameType | None) -> bool:
        while frame is not None:
            code = frame.f_code
            if code is run_watched.__code__:
                return False  # the watch's own frame: the test runs below it
            if code.co_filename == TEST_FILE:
                if _calling(frame) in self.calls:
                    return True  # the test calls one of the learner's names: what runs, runs for the learner
                if code.co_name == "<module>":
                    return False  # the test cell itself: whatever else it calls is the course's
            elif code is _ON_BEHALF or frame.f_globals is self.namespace:
                return True
            elif code.co_argcount and self.owns(frame.f_locals.get(code.co_varnames[0])):
                return True
            frame = frame.f_back
        return False


def run_watched(
    code: str,
    scope: dict[str, Any],
    learners: Iterable[str],
    forbidden: Sequence[str],
    evidence: list[str],
    namespace: Mapping[str, Any] | None = None,
) -> None:
    """Run the test cell ``code`` (Python, its magics already made Python) in ``scope``, noting in
    ``evidence`` what the learner's code called of ``forbidden`` (and :data:`ALWAYS`) meanwhile.
    ``learners`` are the learner's names in ``scope``,
    ``namespace`` the globals of the learner's code (``scope`` when None). The learner's names are
    ``scope``'s again afterwards. Raises what the test raises."""
    namespace = scope if namespace is None else namespace
    names = [n for n in learners if n in scope]
    values = {n: scope[n] for n in names}
    learner = _Learner(namespace, values.values(), learner_calls(code, names))
    hook = profile_hook([*forbidden, *ALWAYS], evidence, learner)
    compiled = compile(code, TEST_FILE, "exec")
    for name, value in values.items():  # a function (or an alias of one) runs through a learner's frame
        if inspect.isroutine(value) or isinstance(value, functools.partial):
            scope[name] = _on_behalf(value)
    previous = sys.getprofile()
    try:
        with torch_watch(hook):
            _SET_PROFILE(hook)
            _THREAD_SET_PROFILE(hook)  # threads the learner's code starts now
            exec(compiled, scope)
    finally:
        _SET_PROFILE(previous)
        _THREAD_SET_PROFILE(None)
        _restore(scope, values)


def _restore(scope: MutableMapping[str, Any], values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if getattr(scope.get(name), "__code__", None) is _ON_BEHALF:
            scope[name] = value
