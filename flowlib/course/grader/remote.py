"""The grader's end of the channel to the learner's kernel: requests out, plain data back.

A test cell runs in the grader's process (:mod:`flowlib.course.grader.testcell`). The learner's
names in it are :class:`Remote` objects: calling one, reading its attributes or iterating over it
sends one request to the agent in the kernel (:mod:`flowlib.course.grader.agent`), with the inputs
the test built here, pickled. What comes back is JSON that :func:`decode` parses itself, with a
closed list of types (numbers, strings, lists, tuples, dicts, NumPy arrays and torch tensors
rebuilt from their raw bytes, exceptions by type): never a pickle, never the learner's objects.
Any other object stays in the kernel and comes back as another :class:`Remote`.
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np

RECORD_MIME = "application/vnd.flowlib.record+json"
AGENT = Path(__file__).with_name("agent.py").read_text(encoding="utf-8")
TRUSTED = ("builtins", "numpy", "torch", "flowlib", "transformers", "collections", "tokenizers")
NUMBERS = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"}
TENSORS = {
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
    "bfloat16",
}  # numpy knows all but bf16


class ChannelError(RuntimeError):
    """The kernel did not answer a request (it died, timed out, or sent something unreadable)."""


class LearnerError(Exception):
    """An exception of a type the grader does not know, raised by the learner's code."""


class Remote:
    """An object that lives in the learner's kernel; every use of it is a request."""

    __slots__ = ("_channel", "_id", "_mro")

    def __init__(self, channel: "Channel", ident: int, mro: list[tuple[str, str]]) -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_id", ident)
        object.__setattr__(self, "_mro", mro)

    @property  # type: ignore[misc]  # read-only on purpose: isinstance() asks __class__, the nearest class the grader trusts
    def __class__(self) -> type:
        for module, qualname in self._mro:  # names the kernel sent: only looked up, never imported
            found: Any = sys.modules.get(module) if module.split(".")[0] in TRUSTED else None
            for part in qualname.split(".") if found is not None else ():
                found = getattr(found, part, None)
            if isinstance(found, type) and found is not object:
                return found
        return Remote

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._channel.request("getattr", self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._channel.request("setattr", self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.request("call", self, *args, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._channel.request("getitem", self, key)

    def __len__(self) -> int:
        return int(self._channel.request("len", self))

    def __iter__(self) -> Any:
        return iter(self._channel.request("list", self))

    def __bool__(self) -> bool:
        return bool(self._channel.request("bool", self))

    def in_kernel(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the course's ``function`` in the kernel, with this object among its arguments
        (for what must run where the object lives: a backward pass through the learner's module)."""
        return self._channel.request("import", f"{function.__module__}:{function.__qualname__}", self, *args, **kwargs)

    def __repr__(self) -> str:
        module, qualname = self._mro[0] if self._mro else ("", "object")
        return f"<your {qualname} object>" if module == "__main__" else f"<a {module}.{qualname} object>"


class _Pickler(cloudpickle.Pickler):
    """Pickles the test's inputs for the kernel. A :class:`Remote` goes as its number; a Hugging
    Face model or tokenizer loaded from a folder goes as that folder (the kernel loads it once)."""

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is Remote:
            return ("ref", object.__getattribute__(obj, "_id"))
        kind, folder = type(obj), getattr(obj, "name_or_path", None)
        if kind.__module__.startswith("transformers.") and isinstance(folder, str) and folder and os.path.isdir(folder):
            return ("pretrained", kind.__module__, kind.__qualname__, folder)
        return None


def encode_request(request: dict[str, Any]) -> str:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(request)
    return base64.b64encode(buffer.getvalue()).decode()


def _array(item: dict[str, Any], allowed: set[str]) -> tuple[bytes, str, tuple[int, ...]]:
    dtype, shape = str(item["dtype"]), tuple(int(n) for n in item["shape"])
    if dtype.lstrip("<>|=") not in allowed or any(n < 0 for n in shape):
        raise ChannelError(f"an array of dtype {dtype!r} and shape {shape}")
    return base64.b64decode(item["b64"], validate=True), dtype, shape


def decode(item: Any, channel: "Channel", depth: int = 0) -> Any:
    """One reply value, rebuilt from plain JSON by the grader (raises :class:`ChannelError`)."""
    if depth > 60:
        raise ChannelError("a value nested too deeply")
    if item is None or type(item) in (bool, int, float, str):
        return item
    if type(item) is not dict:
        raise ChannelError(f"an unknown value of type {type(item).__name__}")
    kind = item.get("t")
    if kind in ("list", "tuple"):
        values = [decode(v, channel, depth + 1) for v in item["v"]]
        return values if kind == "list" else tuple(values)
    if kind == "dict":
        return {decode(k, channel, depth + 1): decode(v, channel, depth + 1) for k, v in item["v"]}
    if kind == "float":
        return float(str(item["v"]))
    if kind in ("nd", "npscalar"):
        data, dtype, shape = _array(item, NUMBERS)
        array = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
        return array[()] if kind == "npscalar" else array
    if kind == "tensor":
        import torch

        data, dtype, shape = _array(item, TENSORS)
        raw = np.frombuffer(data, dtype=np.int16 if dtype == "bfloat16" else np.dtype(dtype)).reshape(shape).copy()
        tensor = torch.from_numpy(raw)
        tensor = tensor.view(torch.bfloat16) if dtype == "bfloat16" else tensor
        if item.get("parameter"):
            return torch.nn.Parameter(tensor, requires_grad=bool(item.get("requires_grad")))
        return tensor.requires_grad_(True) if item.get("requires_grad") and tensor.is_floating_point() else tensor
    if kind == "ref":
        mro = [(str(m), str(q)) for m, q in item.get("mro", [])]
        return Remote(channel, int(item["id"]), mro)
    raise ChannelError(f"an unknown value kind {kind!r}")


def rebuild_exception(raised: dict[str, Any]) -> Exception:
    """The learner's exception as one the test can catch: the nearest built-in type in its
    class hierarchy (a ``ShapeError(ValueError)`` is a ``ValueError``), with its message."""
    message = str(raised.get("message", ""))[:2000]
    for module, qualname in raised.get("mro", []):
        kind = getattr(builtins, str(qualname), None) if module == "builtins" else None
        if isinstance(kind, type) and issubclass(kind, Exception) and kind is not Exception:
            try:
                return kind(message)
            except TypeError:  # a built-in exception that needs other arguments
                break
    return LearnerError(f"{raised.get('type', 'Exception')}: {message}")


class Channel:
    """Requests to one kernel's agent, for one test cell.

    ``send(code, token)`` runs ``code`` in the kernel and returns the records it published with
    ``token`` (raising :class:`ChannelError` when the kernel died or ran out of time);
    ``forbidden`` are the exercise's names whose calls are noted as evidence.
    """

    def __init__(self, send: Callable[[str, str], list[dict[str, Any]]], forbidden: Sequence[str] = ()) -> None:
        self.send = send
        self.forbidden = tuple(forbidden)
        self.evidence: list[str] = []

    def request(self, op: str, target: Any, *args: Any, **kwargs: Any) -> Any:
        import torch

        payload = {
            "op": op,
            "target": target,
            "args": args,
            "kwargs": kwargs,
            "grad": torch.is_grad_enabled(),
            "mime": RECORD_MIME,
            "rng": torch.get_rng_state(),
            "forbidden": self.forbidden if op in ("call", "import") else (),
        }
        token = secrets.token_hex(8)
        records = self.send(f"__flowlib_agent__({encode_request(payload)!r}, {token!r})", token)
        replies = [r["reply"] for r in records if isinstance(r, dict) and isinstance(r.get("reply"), str)]
        if not replies:
            raise ChannelError("the kernel sent no answer")
        try:
            reply = json.loads(replies[-1])
        except (ValueError, RecursionError) as error:
            raise ChannelError(f"the kernel's answer is not readable ({type(error).__name__})") from None
        if not isinstance(reply, dict):
            raise ChannelError("the kernel's answer is not readable")
        self.evidence += [str(e)[:200] for e in reply.get("evidence", [])][:20]
        state = reply.get("rng")
        if isinstance(state, str):
            raw = base64.b64decode(state)
            if len(raw) == torch.get_rng_state().numel():
                torch.set_rng_state(torch.frombuffer(bytearray(raw), dtype=torch.uint8))
        if isinstance(reply.get("raised"), dict):
            raise rebuild_exception(reply["raised"])
        try:
            return decode(reply.get("value"), self)
        except (KeyError, TypeError, ValueError, RecursionError) as error:
            raise ChannelError(f"the kernel's answer is not readable ({type(error).__name__})") from None

    def resolve(self, name: str) -> Any:
        """The value of the learner's ``name`` in the kernel (data, or a :class:`Remote`)."""
        return self.request("resolve", name)
