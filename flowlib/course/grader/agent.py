# mypy: check-untyped-defs=False
# (this text runs in the learner's kernel, untyped on purpose: annotations there would be evaluated
# in the kernel and need imports of their own; mypy checks only its few module-level lines)
"""The grader's agent inside the learner's kernel: it calls what a test asks and sends back data.

This file is never imported by the grader: its text is sent into the sandboxed kernel once per
kernel start (:func:`flowlib.course.grader.remote.install`). A test cell runs in the grader's own
process; each time it touches a name of the learner's (``softmax(x)``, ``head.linear``), the
grader sends one request here and receives the answer as plain data:

* a request is a pickle made by the grader (the inputs the test built, the operation, the grad
  mode, torch's random state and the exercise's forbidden names);
* the reply is JSON the grader parses itself: numbers, strings, lists, dicts, arrays and tensors
  as raw bytes with their dtype and shape; any other object stays here and goes back as a
  numbered reference; an exception as its type and message.

While the learner's code runs, a profile hook notes every call of a function the exercise asks
the learner not to use (by the function object actually called, so an alias, a class such as
``nn.Softmax`` or a Unicode look-alike makes no difference), and a torch function mode each torch
function called from C (``map(torch.softmax, ...)``): that is the evidence of delegation. The
rule is :func:`flowlib.watch.profile_hook`'s and :func:`~flowlib.watch.torch_watch`'s, imported
once when the agent starts; the learner's own check uses them too.

The learner's code can replace all of this. It then decides what the grader receives, which is
what answering is: it never sees an expected value or a line of a test.
"""


def _flowlib_agent():  # one closure, so the kernel's namespace gains one name
    import base64
    import io
    import json
    import pickle
    import sys
    import threading

    from flowlib.watch import profile_hook, torch_watch  # the rule the learner's own check uses too

    objects = {}
    evidence = []
    # bound now, at the kernel's start: a learner's later `sys.setprofile = ...` does not reach these
    setprofile, thread_setprofile = sys.setprofile, threading.setprofile

    def reference(value):
        objects[id(value)] = value
        mro = [[getattr(c, "__module__", "") or "", getattr(c, "__qualname__", "") or ""] for c in type(value).__mro__]
        return {"t": "ref", "id": id(value), "mro": mro, "callable": callable(value)}

    def array(kind, data, dtype, shape, **extra):
        return {"t": kind, "dtype": dtype, "shape": list(shape), "b64": base64.b64encode(data).decode(), **extra}

    def encode(value, depth=0):
        numpy = sys.modules.get("numpy")
        torch = sys.modules.get("torch")
        if depth > 40:
            return reference(value)
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            return value if value == value and abs(value) != float("inf") else {"t": "float", "v": repr(value)}
        if type(value) in (list, tuple):
            return {"t": type(value).__name__, "v": [encode(item, depth + 1) for item in value]}
        if type(value) is dict:
            return {"t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
        if numpy is not None and isinstance(value, numpy.generic) and value.dtype.kind in "biufc":
            return array("npscalar", value.tobytes(), value.dtype.str, ())
        if numpy is not None and isinstance(value, numpy.ndarray) and value.dtype.kind in "biufc":
            return array("nd", numpy.ascontiguousarray(value).tobytes(), value.dtype.str, value.shape)
        if (
            torch is not None
            and isinstance(value, torch.Tensor)
            and value.layout == torch.strided
            and not value.is_complex()
        ):
            flat = value.detach().cpu().contiguous()
            name = str(flat.dtype).replace("torch.", "")
            raw = flat.view(torch.int16) if flat.dtype == torch.bfloat16 else flat
            return array(
                "tensor",
                raw.numpy().tobytes(),
                name,
                flat.shape,
                requires_grad=bool(value.requires_grad),
                parameter=isinstance(value, torch.nn.Parameter),
            )
        return reference(value)

    pretrained = {}

    def persistent(pid):
        if pid[0] == "ref":
            return objects[pid[1]]
        if pid not in pretrained:  # ("pretrained", module, class, folder): loaded here once
            kind = getattr(__import__(pid[1], fromlist=["_"]), pid[2])
            pretrained[pid] = kind.from_pretrained(pid[3])
        return pretrained[pid]

    def loads(text):
        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid):
                return persistent(pid)

        return Unpickler(io.BytesIO(base64.b64decode(text))).load()

    def perform(op, target, args, kwargs):
        if op == "resolve":
            namespace = get_ipython().user_ns  # noqa: F821  # the kernel's own, in the globals given below
            if target not in namespace:
                raise NameError(f"name {target!r} is not defined")
            return namespace[target]
        if op == "import":
            module, _, name = target.partition(":")
            value = __import__(module, fromlist=["_"])
            for part in name.split("."):
                value = getattr(value, part)
            return value(*args, **kwargs)
        if op == "call":
            return target(*args, **kwargs)
        if op == "getattr":
            return getattr(target, args[0])
        if op == "setattr":
            return setattr(target, args[0], args[1])
        if op == "getitem":
            return target[args[0]]
        if op == "len":
            return len(target)
        if op == "list":
            return list(target)
        if op == "bool":
            return bool(target)
        raise ValueError(f"unknown request {op!r}")

    def serve(text, token):
        request = loads(text)
        torch = sys.modules.get("torch")
        if torch is not None and request.get("rng") is not None:
            torch.set_rng_state(request["rng"])
        evidence.clear()
        if torch is None:
            grad = _Nothing()
        else:
            grad = torch.enable_grad() if request.get("grad", True) else torch.no_grad()
        # every call counts but the agent's own switching the watch off (serve's setprofile(None))
        hook = profile_hook(request.get("forbidden", ()), evidence, lambda frame: frame.f_code is not serve.__code__)
        watching = hook if request.get("forbidden") else None
        try:
            with grad, torch_watch(watching):  # torch's functions called from C too
                setprofile(watching)
                thread_setprofile(watching)  # threads the learner's code starts now (not older ones)
                try:
                    value = perform(
                        request["op"], request.get("target"), request.get("args", ()), request.get("kwargs", {})
                    )
                finally:
                    setprofile(None)
                    thread_setprofile(None)
            reply = {"value": encode(value)}
        except Exception as error:  # the learner's exception is an answer too
            try:
                message = str(error)[:2000]
            except Exception:  # a str() that raises: the message is left empty
                message = ""
            names = [[c.__module__, c.__qualname__] for c in type(error).__mro__]
            reply = {"raised": {"type": type(error).__name__, "mro": names, "message": message}}
        reply["evidence"] = list(evidence)
        if torch is not None:
            reply["rng"] = base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()
        from IPython.display import publish_display_data

        publish_display_data({request["mime"]: {"token": token, "reply": json.dumps(reply)}})

    class _Nothing:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    return serve


# its own globals: a learner's variable named `type`, `id` or `list` never stands in for the built-in
__flowlib_agent__ = _flowlib_agent.__class__(
    _flowlib_agent.__code__,
    {  # type: ignore[misc]  # FunctionType, unimported in the kernel
        "__builtins__": __import__("builtins"),
        "get_ipython": __import__("IPython").get_ipython,
    },
)()
del _flowlib_agent
