"""A fresh, locked-down place for one submission's kernel.

The kernel sees a course folder that looks like the learner's own (``<course>/notebooks/
<lesson>/<lesson>.ipynb`` beside ``flowlib``), but holds nothing else: no ``solutions/``, no
gradebook, no other submission. Everything is read-only except three small size-limited
scratch folders (the lesson folder, ``/tmp`` and ``$HOME``) that vanish with the sandbox.

Mechanisms, each reported as a :class:`Protection` that is on or off (and why):

* bubblewrap: new mount, PID, network, IPC and UTS namespaces; only the Python install, the
  course environment and flowlib are mounted (read-only); no network; every process of the
  sandbox dies with it (``--die-with-parent``, and PID 1 of the namespace takes them along).
* an unprivileged user (uid 61000 + slot) when the grader runs as root;
* ``setrlimit``: CPU seconds, address space, processes, file size, open files.

Where bubblewrap is missing or cannot create namespaces (macOS, some containers), the kernel
still runs, with limits only, and the missing protections say so.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import flowlib

SANDBOX_UID = 61000  # + slot: parallel jobs never share a process count
HOST_PREFIX = "flowlib-grade-"  # + the grading process's id: a sandbox's folder in the temporary folder
_PROBED: dict[str, str] = {}  # bubblewrap's answer, asked once per process
SYSTEM_BIN = "/usr/local/bin:/usr/bin:/bin"  # where bwrap is looked for after PATH (cron has none)


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Per-lesson values live in the source notebook's metadata
    (``flowlib.limits``); these defaults suit the course's lessons on a 2-core CPU."""

    cell_seconds: float = 60.0  # wall time of one cell before it is interrupted
    notebook_seconds: float = 300.0  # wall time of the whole notebook
    cpu_seconds: int = 600  # CPU time of the kernel process (all its threads)
    memory_bytes: int = 6 << 30  # address space of the kernel (torch reserves a lot)
    processes: int = 512  # processes and threads of the sandbox user
    file_bytes: int = 64 << 20  # largest file it may write
    scratch_bytes: int = 256 << 20  # size of each scratch folder
    output_bytes_cell: int = 2 << 20  # what one cell may print (its outputs are never kept)
    output_bytes_notebook: int = 8 << 20  # what the whole notebook may print
    record_bytes_cell: int = 64 << 20  # what one test cell's checks may report

    def replace(self, **changes: float) -> "Limits":
        known = {k: v for k, v in changes.items() if k in self.__dataclass_fields__}
        return Limits(**{**self.__dict__, **{k: type(getattr(self, k))(v) for k, v in known.items()}})


@dataclass(frozen=True)
class Protection:
    name: str
    on: bool
    detail: str


def bwrap_works() -> str:
    """'' when bubblewrap can make the namespaces here, else why not."""
    if "answer" not in _PROBED:
        search = os.pathsep.join(filter(None, [os.environ.get("PATH"), SYSTEM_BIN]))
        binary = _PROBED["bwrap"] = shutil.which("bwrap", path=search) or ""
        if not binary:
            _PROBED["answer"] = (
                f"expected bubblewrap (bwrap) on PATH or in {SYSTEM_BIN}; found none: `apt-get install bubblewrap`"
            )
        else:
            probe = subprocess.run(
                [binary, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
                env={"PATH": search},  # bwrap finds `true` by name
                capture_output=True,
                text=True,
            )
            _PROBED["answer"] = (
                ""
                if probe.returncode == 0
                else f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
            )
    return _PROBED["answer"]


def course_paths() -> dict[str, Path]:
    """Host paths the kernel needs, read-only: the interpreter, the environment, flowlib."""
    package = Path(flowlib.__file__).resolve().parent
    course = package.parent
    paths = {"base": Path(sys.base_prefix).resolve(), "env": Path(sys.prefix).resolve(), "flowlib": package}
    for name in ("checkpoints", "self_assessment"):
        if (course / name).is_dir():
            paths[name] = course / name
    return paths


@dataclass
class Sandbox:
    """One submission's kernel home. Use as a context manager; :meth:`command` wraps a kernel
    command line, :meth:`popen_options` gives the limits and user for ``subprocess.Popen``."""

    lesson: str
    notebook_bytes: bytes
    limits: Limits = field(default_factory=Limits)
    slot: int = 0
    threads: int | None = (
        None  # OMP/MKL threads of the kernel (None: the grader's OMP_NUM_THREADS, else the library default)
    )

    def __post_init__(self) -> None:
        # named for the grading process: a folder a killed run left says whose it was
        self.host = Path(tempfile.mkdtemp(prefix=f"{HOST_PREFIX}{os.getpid()}-"))
        self.runtime = self.host / "runtime"  # the kernel's connection file and sockets
        self.start_errors = self.host / "kernel-start.log"  # outside the sandbox's view
        self.runtime.mkdir()
        self.uid = SANDBOX_UID + self.slot if os.geteuid() == 0 else os.geteuid()
        if os.geteuid() == 0:
            os.chown(self.runtime, self.uid, self.uid)
        self.course = course_paths()["flowlib"].parent
        self.lesson_dir = self.course / "notebooks" / self.lesson
        self.home = Path("/home/learner")
        why_not = bwrap_works()
        self.isolated = not why_not
        self.protections = [
            Protection(
                "filesystem", self.isolated, "only the course environment, read-only" if self.isolated else why_not
            ),
            Protection(
                "network", self.isolated, "a network namespace of its own, with no device" if self.isolated else why_not
            ),
            Protection(
                "processes", self.isolated, "own PID namespace; all die with the sandbox" if self.isolated else why_not
            ),
            Protection(
                "user",
                os.geteuid() == 0,
                f"uid {self.uid}"
                if os.geteuid() == 0
                else "the grader is not root, so the kernel runs as your own user",
            ),
            Protection(
                "limits",
                True,
                f"{self.limits.cpu_seconds} s CPU, {self.limits.memory_bytes >> 20} MiB memory, "
                f"{self.limits.file_bytes >> 20} MiB per file",
            ),
            Protection(
                "process count",
                os.geteuid() == 0,
                f"at most {self.limits.processes} processes and threads"
                if os.geteuid() == 0
                else "not limited: without root the limit would count your own processes too",
            ),
        ]
        if not self.isolated:  # the learner's notebook still gets a folder of its own
            self.lesson_dir = self.host / "notebooks" / self.lesson
            self.home = self.host / "home"
            for folder in (self.lesson_dir, self.home):
                folder.mkdir(parents=True)
                if os.geteuid() == 0:
                    os.chown(folder, self.uid, self.uid)
            (self.lesson_dir / f"{self.lesson}.ipynb").write_bytes(self.notebook_bytes)

    # -- the kernel's view ---------------------------------------------------------------
    def inside(self, host_path: Path) -> Path:
        """Where a file of the runtime folder appears inside the sandbox."""
        if not self.isolated:
            return host_path
        return self.home / ".local/share/jupyter/runtime" / host_path.relative_to(self.runtime)

    def environment(self) -> dict[str, str]:
        env = {
            "PATH": f"{course_paths()['env'] / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "USER": "learner",
            "LOGNAME": "learner",
            "LANG": "C.UTF-8",
            "PYTHONSAFEPATH": "1",  # files beside the notebook cannot shadow modules
            "PYTHONDONTWRITEBYTECODE": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TMPDIR": "/tmp" if self.isolated else str(self.host),
            "JPY_SESSION_NAME": str(self.lesson_dir / f"{self.lesson}.ipynb"),
        }
        threads = self.threads or os.environ.get("OMP_NUM_THREADS")
        if threads:
            env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        return env

    def command(self, kernel: list[str]) -> list[str]:
        """``kernel`` (a command line) wrapped in bubblewrap, as the sandbox user."""
        if not self.isolated:
            return kernel
        size = str(self.limits.scratch_bytes)
        args = [
            _PROBED["bwrap"],
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--hostname",
            "jupyter",
            "--new-session",
            "--clearenv",
        ]
        for system in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc"):
            if Path(system).exists():
                args += (
                    ["--ro-bind", system, system]
                    if not Path(system).is_symlink()
                    else ["--symlink", os.readlink(system), system]
                )
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
        bound = list(dict.fromkeys(course_paths().values()))
        parents = sorted(
            {str(a) for path in [*bound, self.home, self.lesson_dir] for a in path.parents if str(a) != "/"}, key=len
        )
        for parent in parents:  # traversable by the sandbox user (bwrap would make them 0700)
            args += ["--perms", "0755", "--dir", parent]
        for path in bound:
            args += ["--ro-bind", str(path), str(path)]
        args += ["--perms", "1777", "--size", size, "--tmpfs", str(self.home)]
        for sub in (".local", ".local/share", ".local/share/jupyter"):
            args += ["--perms", "1777", "--dir", str(self.home / sub)]
        args += [
            "--bind",
            str(self.runtime),
            str(self.home / ".local/share/jupyter/runtime"),
            "--perms",
            "1777",
            "--size",
            size,
            "--tmpfs",
            str(self.lesson_dir),
            "--perms",
            "0644",
            "--file",
            str(self._notebook_fd),
            str(self.lesson_dir / f"{self.lesson}.ipynb"),
            "--chdir",
            str(self.lesson_dir),
        ]
        for key, value in self.environment().items():
            args += ["--setenv", key, value]
        drop = (
            ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--no-new-privs"]
            if os.geteuid() == 0
            else []
        )
        return [*args, "--", *drop, *kernel]

    def popen_options(self) -> dict:
        """``subprocess.Popen`` keyword arguments: limits, a session of its own, the notebook's fd.
        Call :meth:`command` after this (it names that fd)."""
        limits = self.limits
        spool = self.host / "submitted.ipynb"
        spool.write_bytes(self.notebook_bytes)
        self._close_files()  # a restart opens them again
        self._notebook_fd = os.open(spool, os.O_RDONLY)
        notebook_fd, as_root = self._notebook_fd, os.geteuid() == 0

        def limit() -> None:  # runs in the child, before bubblewrap; inherited by the kernel
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if as_root:  # counted for the sandbox user once setpriv has switched to it
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} if self.isolated else self.environment()
        # what bubblewrap or Python print before the kernel takes over its output: why a start
        # failed (the file's size is capped like any other the kernel writes)
        errors = os.open(self.start_errors, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._errors_fd = errors
        return {
            "preexec_fn": limit,
            "pass_fds": (notebook_fd,),
            "start_new_session": True,
            "env": env,
            "cwd": "/" if self.isolated else str(self.lesson_dir),
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,
            "stderr": errors,
        }

    def why_not_started(self) -> str:
        """The last lines the kernel's start-up printed to its error stream ('' when none)."""
        try:
            lines = self.start_errors.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " / ".join(lines[-3:])[-500:]

    def _close_files(self) -> None:
        for name in ("_notebook_fd", "_errors_fd"):
            if hasattr(self, name):
                os.close(getattr(self, name))
                delattr(self, name)

    def close(self) -> None:
        self._close_files()
        shutil.rmtree(self.host, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_abandoned(folder: Path | None = None) -> list[Path]:
    """Remove the sandbox folders of grading processes that no longer run (a run stopped with
    ``kill -9`` cannot remove its own); those of running graders stay. Returns what went."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{HOST_PREFIX}*"):
        pid = path.name.removeprefix(HOST_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user
        return True
    return True
