"""Shared by the tests that start JupyterLab: wait for it to answer, stop it cleanly."""

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def wait_until_up(call: Callable, server: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    """Poll ``/api/status`` until the server answers; fail with its log if it dies or never does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            call("/api/status", timeout=5)
            return
        except OSError as error:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(f"JupyterLab did not start: {log.read_text()[-3000:]}") from error
            time.sleep(0.5)


def stop(server: subprocess.Popen) -> None:
    """SIGTERM, as a learner's Ctrl-C would; kill it if it does not exit in 30 s."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
