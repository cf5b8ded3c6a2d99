"""Run a notebook cell by cell in a sandboxed kernel, within time and output limits.

The grader talks to the kernel over Jupyter's own protocol (IPC sockets in the sandbox's
runtime folder), the way JupyterLab would. What comes back from each cell is kept as data:
its status (ok, error, timeout, died, flood), the error's name and message, and what the
grader's agent answered to a request. Nothing the learner printed is kept: no output of a
graded run ever reaches a learner.

A cell that runs past its time is interrupted; a kernel that ignores the interrupt, or dies
(``exit()``, a crash, out of memory), is restarted and the cells before the failed one are
run again, so the questions that do not depend on the failed cell are still graded.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient

from flowlib.course.grader.remote import RECORD_MIME
from flowlib.course.grader.sandbox import Limits, Sandbox, course_paths

MAX_RESTARTS = 3
HEX_REPR = re.compile(r"'(?:[0-9a-f]{2})*'")


@dataclass
class CellRun:
    """What one cell did in the kernel."""

    status: str = "ok"  # ok | error | timeout | died | flood | skipped
    error: str = ""  # "Name: message" of an error, or why the cell did not run
    records: list[dict[str, Any]] = field(default_factory=list)  # what the grader's agent answered
    printed: int = 0  # bytes of output (the records aside)
    seconds: float = 0.0


class KernelLost(RuntimeError):
    """The kernel died or stopped answering."""


class Kernel:
    """One sandboxed ipykernel that can be restarted."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.process: subprocess.Popen | None = None
        self.client: BlockingKernelClient | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        self.stop()
        self.starts += 1
        name = f"kernel-{secrets.token_hex(6)}"
        key = secrets.token_hex(16)
        ports = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
        info = {**ports, "transport": "ipc", "signature_scheme": "hmac-sha256", "key": key, "kernel_name": "python3"}
        host_file = self.sandbox.runtime / f"{name}.json"
        host_file.write_text(json.dumps({**info, "ip": str(self.sandbox.runtime / name)}))
        inside = self.sandbox.inside(self.sandbox.runtime / f"{name}-inside.json")
        (self.sandbox.runtime / f"{name}-inside.json").write_text(
            json.dumps({**info, "ip": str(self.sandbox.inside(self.sandbox.runtime / name))})
        )
        python = str(course_paths()["env"] / "bin" / "python")  # the course environment's interpreter
        options = self.sandbox.popen_options()
        command = self.sandbox.command([python, "-m", "ipykernel_launcher", "-f", str(inside)])
        self.process = subprocess.Popen(command, **options)
        self.client = BlockingKernelClient()
        self.client.load_connection_file(str(host_file))
        self.client.start_channels(hb=False)
        stop_at = time.monotonic() + timeout
        while time.monotonic() < stop_at and self.alive():  # ask until the kernel answers
            self.client.kernel_info()
            try:
                while True:
                    if self.client.get_shell_msg(timeout=0.5)["msg_type"] == "kernel_info_reply":
                        return  # start-up's IOPub messages are left unread: each run reads only its own
            except queue.Empty:
                continue
        code = self.process.poll() if self.process is not None else None
        self.stop()
        ended = f"it exited with code {code}" if code is not None else f"no answer in {timeout:g} s"
        why = self.sandbox.why_not_started()
        raise KernelLost(f"the kernel did not start ({ended}{': ' + why if why else ''})")

    def _connected(self) -> BlockingKernelClient:
        """The started kernel's client (:meth:`start` made it; :meth:`stop` drops it)."""
        assert self.client is not None
        return self.client

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # the whole session: bwrap and all it started
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
            self.process = None

    def _send(
        self, code: str, *, silent: bool = False, store_history: bool = True, user_expressions: dict | None = None
    ) -> str:
        client = self._connected()
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history and not silent,
            "user_expressions": user_expressions or {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        message = client.session.msg("execute_request", content)
        client.shell_channel.send(message)
        return message["header"]["msg_id"]

    def _interrupt(self) -> None:
        client = self._connected()
        client.control_channel.send(client.session.msg("interrupt_request", {}))

    def run(
        self,
        code: str,
        limits: Limits,
        *,
        token: str | None = None,
        store_history: bool = True,
        deadline: float | None = None,
    ) -> CellRun:
        """Execute one cell; collect its status, error and (with ``token``) the agent's answers."""
        started = time.monotonic()
        run = CellRun()
        msg_id = self._send(code, store_history=store_history)
        client = self._connected()
        stop_at = started + limits.cell_seconds
        if deadline is not None:
            stop_at = min(stop_at, deadline)
        interrupted_at = None
        kept, recorded, idle, reply = 0, 0, False, None
        while not (idle and reply is not None):
            if not self.alive():
                run.status, run.error = "died", "the kernel died (exit(), a crash or running out of memory)"
                break
            now = time.monotonic()
            if now > stop_at and interrupted_at is None:
                interrupted_at = now
                self._interrupt()
            if interrupted_at is not None and now > interrupted_at + 3.0:
                run.status, run.error = (
                    "timeout",
                    f"the cell ran past its time limit ({limits.cell_seconds:g} s) and ignored the interrupt",
                )
                self.stop()
                break
            if reply is None:
                try:  # once the kernel is idle only the reply is missing: wait on it, not on IOPub
                    answer = client.get_shell_msg(timeout=0.05 if idle else 0)
                    if answer["parent_header"].get("msg_id") == msg_id:
                        reply = answer["content"]
                except queue.Empty:
                    pass
            if idle:
                continue
            try:
                message = client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "error":
                run.status = "error"
                run.error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"[:2000]
            elif kind in ("stream", "display_data", "execute_result", "update_display_data"):
                if run.status == "flood":  # the rest is dropped unread; the kernel keeps its time to flush
                    continue
                record = content.get("data", {}).get(RECORD_MIME) if kind == "display_data" else None
                size = len(json.dumps(content.get("data", content.get("text", ""))))
                if record is not None:
                    recorded += size
                else:
                    kept += size
                if kept > limits.output_bytes_cell or recorded > limits.record_bytes_cell:
                    # not interrupted (the signal could land in the grader's next request): a cell that
                    # prints for ever still meets its time limit
                    run.status, run.error = "flood", f"the cell printed more than {limits.output_bytes_cell >> 10} KiB"
                    continue
                if token and isinstance(record, dict) and record.get("token") == token:
                    run.records.append(record)
        if interrupted_at is not None and run.status in ("ok", "error"):
            run.status = "timeout"
            run.error = f"the cell ran past its time limit ({stop_at - started:.0f} s) and was interrupted"
        run.seconds, run.printed = time.monotonic() - started, kept
        return run

    def evaluate(self, code: str, expression: str, timeout: float = 10.0) -> Any:
        """Run grader code silently (no history, no events) and return ``expression``'s value
        (a JSON string it produced), or raise :class:`KernelLost`.

        The value comes back as hex digits, read without parsing Python: CPython 3.11's parser
        keeps its recursion count per process (gh-106905), and a parse here, beside another
        grading thread's, could fail with SystemError."""
        msg_id = self._send(code, silent=True, user_expressions={"value": f"({expression}).encode().hex()"})
        client = self._connected()
        stop_at = time.monotonic() + timeout
        while time.monotonic() < stop_at:
            if not self.alive():
                raise KernelLost("the kernel died")
            try:
                answer = client.get_shell_msg(timeout=0.05)
            except queue.Empty:
                continue
            if answer["parent_header"].get("msg_id") != msg_id:
                continue
            value = answer["content"].get("user_expressions", {}).get("value", {})
            if value.get("status") != "ok":
                raise KernelLost(f"grader code failed in the kernel: {value.get('ename')}: {value.get('evalue')}")
            shown = value["data"]["text/plain"]  # the hex string's repr: '7b22...'
            if not HEX_REPR.fullmatch(shown):
                raise KernelLost(f"the kernel answered the grader with {shown[:80]!r}, not hex digits")
            return json.loads(bytes.fromhex(shown[1:-1]).decode())
        raise KernelLost("the kernel did not answer the grader")
