"""A class on a real JupyterHub, for tests/test_jupyterhub.py and benchmarks/bench_hub.py.

:class:`HubClass` creates an instructor and learners as Unix users (names with a random suffix,
so runs side by side never meet), starts ``deploy/jupyterhub/start`` on free 127.0.0.1 ports in
a private folder of /tmp, and takes everything away again (processes, users, their homes,
group, the folder with the exchange) however the run ends. Learners act only as a learner can:
through the hub's REST API and their own server's APIs; the instructor runs the course's
commands as their Unix user, in their course folder.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from flowlib.course import layout

ROOT = Path(__file__).resolve().parents[1]
START = ROOT / "deploy" / "jupyterhub" / "start"
PROXY = ROOT / "deploy" / "jupyterhub" / "node_modules" / ".bin" / "configurable-http-proxy"


def missing() -> str | None:
    """What this machine lacks to run a hub (None: nothing)."""
    if os.geteuid() != 0:
        return "a hub needs root (it starts each learner's server as that learner, and the test creates Unix users)"
    for tool in ("useradd", "userdel", "runuser", "groupdel", "node"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not PROXY.exists():
        return f"configurable-http-proxy is not installed at {PROXY} (`make hub-proxy`; needs npm)"
    if not (Path(sys.prefix) / "bin" / "jupyterhub").exists():
        return "jupyterhub is not installed in this environment (`make install`)"
    packages = Path(sys.prefix) / "lib" / "python3.11" / "site-packages"
    if subprocess.run(["runuser", "-u", "nobody", "--", "test", "-r", str(packages)], capture_output=True).returncode:
        return f"the course environment's packages ({packages}) are out of other users' reach: clone the course outside a private folder such as /root"
    return None


def shared_environment(folder: Path) -> Path:
    """The course environment (this one) as every Unix user can run it, at ``folder``.

    Where this environment's Python is out of other users' reach (CI's lives under /root, mode
    0700), a virtual environment of the system's Python 3.11 that imports this one's packages,
    with its share/ and etc/ (JupyterLab's settings, the Validate extension), and each of its
    commands run by that Python. Elsewhere: this environment itself."""
    here = Path(sys.prefix)
    if subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", ""], capture_output=True).returncode == 0:
        return here
    system = shutil.which("python3.11", path="/usr/local/bin:/usr/bin")
    if system is None:
        raise RuntimeError(f"{sys.executable} cannot be run by other users and there is no system python3.11")
    subprocess.run([system, "-m", "venv", "--without-pip", str(folder)], check=True)
    (folder / "lib" / "python3.11" / "site-packages" / "course-environment.pth").write_text(
        f"import site; site.addsitedir({str(here / 'lib' / 'python3.11' / 'site-packages')!r})\n"
    )
    for name in ("share", "etc"):
        (folder / name).symlink_to(here / name)
    for script in (here / "bin").iterdir():
        target = folder / "bin" / script.name
        if not target.exists() and script.is_file() and script.read_bytes()[:2] == b"#!":
            target.write_text(f'#!/bin/sh\nexec {folder / "bin" / "python"} {script} "$@"\n')
            target.chmod(0o755)
    subprocess.run(["chmod", "-R", "a+rX", str(folder)], check=True)
    return folder


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class HubClass:
    """An instructor and ``learners`` learners on a hub of their own (a context manager)."""

    def __init__(self, learners: int):
        tag = secrets.token_hex(3)
        self.instructor = f"fi{tag}"
        self.learners = [f"fl{tag}{i:02d}" for i in range(learners)]
        self.group = f"fg{tag}"
        shared = secrets.token_urlsafe(12)  # the test authenticator's: one for learners, one for admins
        self.passwords = {**dict.fromkeys(self.learners, shared), self.instructor: secrets.token_urlsafe(32)}
        self.folder = Path(tempfile.mkdtemp(prefix="flowlib-hub-", dir="/tmp"))
        self.folder.chmod(0o755)
        self.environment = self.folder / "env"
        self.exchange = self.folder / "exchange"
        self.log = self.folder.parent / f"{self.folder.name}.log"
        self.port, *self.internal = _free_ports(4)
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens: dict[str, str] = {}
        self.process: subprocess.Popen | None = None
        self.created: list[str] = []

    @property
    def course(self) -> Path:
        """The instructor's course folder (solutions, gradebook)."""
        return Path(pwd.getpwnam(self.instructor).pw_dir) / layout.COURSE_ID

    def __enter__(self) -> HubClass:
        try:
            self.environment = shared_environment(self.environment)
            for name in [self.instructor, *self.learners]:
                subprocess.run(["useradd", "--create-home", "--user-group", name], check=True, capture_output=True)
                self.created.append(name)
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        env = {
            "PATH": os.environ["PATH"],
            "FLOWLIB_HUB_DIR": str(self.folder),
            "FLOWLIB_HUB_ENV": str(self.environment),
            "FLOWLIB_HUB_URL": self.url,
            "FLOWLIB_HUB_PORTS": ",".join(map(str, self.internal)),
            "FLOWLIB_HUB_INSTRUCTORS": self.instructor,
            "FLOWLIB_HUB_GROUP": self.group,
            "FLOWLIB_HUB_AUTH": "test",
            "FLOWLIB_HUB_TEST_PASSWORD": self.passwords[self.learners[0]],
            "FLOWLIB_HUB_TEST_ADMIN_PASSWORD": self.passwords[self.instructor],
            "FLOWLIB_HUB_LEARNERS": ",".join(self.learners),
        }
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(START)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=5).ok:
                    return
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the hub did not start:\n{self.log_tail()}")
            time.sleep(0.5)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"

    # --- as the hub's users
    def login(self, name: str) -> str:
        """Log ``name`` in through the hub's REST API (its password); their API token."""
        reply = requests.post(
            f"{self.url}/hub/api/users/{name}/tokens",
            json={"auth": {"username": name, "password": self.passwords[name]}, "note": "tests/hub_class.py"},
            timeout=30,
        )
        assert reply.status_code == 201, f"login of {name}: {reply.status_code} {reply.text}\n{self.log_tail()}"
        self.tokens[name] = reply.json()["token"]
        return self.tokens[name]

    def auth(self, name: str) -> dict[str, str]:
        """The header that makes a request ``name``'s."""
        return {"Authorization": f"token {self.tokens[name]}"}

    def hub_api(self, name: str, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}/hub/api{path}", headers=self.auth(name), timeout=60, **kwargs)

    def start_server(self, name: str) -> None:
        """Ask the hub for ``name``'s server (returns at once; :meth:`wait_server` waits)."""
        reply = self.hub_api(name, "POST", f"/users/{name}/server")
        assert reply.status_code in (201, 202), (
            f"starting {name}'s server: {reply.status_code} {reply.text}\n{self.log_tail()}"
        )

    def wait_server(self, name: str, seconds: float = 150) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            server = self.hub_api(name, "GET", f"/users/{name}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server never became ready:\n{self.log_tail()}")

    def server(self, name: str, method: str, path: str, **kwargs) -> requests.Response:
        """A request to ``name``'s own server, with their token (as their browser would)."""
        return requests.request(method, f"{self.url}/user/{name}{path}", headers=self.auth(name), timeout=300, **kwargs)

    def assignments(self, name: str, action: str, lesson: str) -> requests.Response:
        """The Assignment List's ``fetch``, ``submit`` or ``fetch_feedback`` of ``lesson``."""
        body = {"course_id": layout.COURSE_ID, "assignment_id": lesson}
        return self.server(name, "POST", f"/assignments/{action}", json=body)

    # --- as a Unix user
    def grade(self, *command: str) -> None:
        """``flowlib instructor COMMAND`` in the course, as root, as a cron job of the machine would.

        The suite's environment lives where the sandbox cannot mount it for the instructor's user
        (under /root, 0700); on a hub the shared environment lives where every user reaches it
        (deploy/jupyterhub/start). What root wrote goes back to the course's owner."""
        done = subprocess.run(
            [str(Path(sys.executable).parent / "flowlib"), "instructor", *command],
            cwd=self.course,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{' '.join(command)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        owner = self.course.stat()
        for path in [self.course, *self.course.rglob("*")]:
            os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)

    def run_as(
        self, name: str, *command: str, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        """``command`` as Unix user ``name`` (their groups), in the course environment."""
        env = {
            "PATH": f"{self.environment / 'bin'}:/usr/bin:/bin",
            "HOME": pwd.getpwnam(name).pw_dir,
            "USER": name,
            "FLOWLIB_HUB_DIR": str(self.folder),
            "JUPYTER_CONFIG_PATH": str(self.folder / "jupyter" / "instructor"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        done = subprocess.run(
            ["runuser", "-u", name, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command],
            cwd=cwd or pwd.getpwnam(name).pw_dir,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check:
            assert done.returncode == 0, (
                f"{' '.join(command)} as {name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def try_as(self, name: str, attempts: dict[str, str]) -> dict[str, str]:
        """Each attempt (Python code) as ``name``: what it raised (``"ok"`` when it worked)."""
        program = (
            "import json, os, sys\nout = {}\n"
            "for key, code in json.loads(sys.argv[1]).items():\n"
            "    try:\n        exec(code)\n        out[key] = 'ok'\n"
            "    except Exception as error:\n        out[key] = type(error).__name__\n"
            "print(json.dumps(out))\n"
        )
        done = self.run_as(name, "python", "-c", program, json.dumps(attempts))
        return json.loads(done.stdout)

    # --- taking it all away
    def __exit__(self, *exc: object) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)  # the hub stops the servers and its proxy
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
            proxy_pid = self.folder / "state" / "proxy.pid"
            if proxy_pid.is_file():  # still there only when the hub did not stop its proxy
                pid = int(proxy_pid.read_text().strip() or 0)
                cmdline = Path(f"/proc/{pid}/cmdline")
                if cmdline.exists() and b"configurable-http-proxy" in cmdline.read_bytes():
                    _kill(pid)
        finally:
            for name in self.created:
                for pid in subprocess.run(["pgrep", "-u", name], capture_output=True, text=True).stdout.split():
                    _kill(int(pid))
                subprocess.run(["userdel", "--remove", name], capture_output=True)
            subprocess.run(["groupdel", self.group], capture_output=True)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.log.unlink(missing_ok=True)


def _kill(pid: int) -> None:
    if pid > 0:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
