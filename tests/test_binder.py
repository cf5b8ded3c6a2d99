"""Binder: what repo2docker does with this repository, short of building the image.

repo2docker (checked by hand with ``repo2docker --no-build --debug``: it picks the conda
buildpack, installs ``environment.yml``, which installs ``requirements.lock``, then runs
``postBuild`` and starts ``jupyter notebook``) needs Docker, which this machine lacks. So this
test does the last two steps itself, in a copy of the repository and of the course environment:
``postBuild`` runs with that environment's ``python`` first on the PATH, as in the image, and
then the image's own command, ``jupyter notebook`` (run as ``python -m notebook``: the copied
scripts' first lines still name the original interpreter), must open JupyterLab on the course's
``notebooks/`` with the copy's flowlib importable.

The environment copy is made of hard links (seconds, no disk): every file ``postBuild``
writes is a new file, and the few it overwrites are replaced by copies of their own first, so
the course's ``.venv`` is never touched (the last assertion checks).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.lab_server import stop, wait_until_up
from tests.test_lab import _free_port

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
OVERWRITTEN = ("etc/jupyter", "share/jupyter/lab/settings")  # where postBuild writes over files


def _tracked_copy(target: Path) -> None:
    """The repository as a clone has it: its tracked and unignored files."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _environment_copy(target: Path) -> None:
    subprocess.run(["cp", "-al", str(VENV), str(target)], check=True)
    for folder in OVERWRITTEN:
        for path in (target / folder).rglob("*") if (target / folder).is_dir() else ():
            if path.is_file():  # its own inode, so writing it leaves .venv's file alone
                data = path.read_bytes()
                path.unlink()
                path.write_bytes(data)


@pytest.mark.skipif(VENV == Path(sys.base_prefix), reason="needs the course's virtual environment (make test)")
def test_postbuild_then_the_image_command_open_jupyterlab_on_the_course(tmp_path):
    repo, env, home = tmp_path / "repo", tmp_path / "env", tmp_path / "home"
    home.mkdir()
    _tracked_copy(repo)
    _environment_copy(env)
    environ = {
        **os.environ,
        "PATH": f"{env / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "HF_HUB_OFFLINE": "1",
    }
    environ.pop("VIRTUAL_ENV", None)
    built = subprocess.run(["bash", "postBuild"], cwd=repo, env=environ, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, f"postBuild failed:\n{built.stdout[-2000:]}\n{built.stderr[-3000:]}"

    where = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import flowlib; print(flowlib.__file__)"],
        cwd=home,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(repo), f"flowlib comes from {where}, not from the repository {repo}"
    settings = env / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert settings.read_bytes() == (ROOT / "jupyterlab" / "overrides.json").read_bytes()
    validate = env / "share" / "jupyter" / "labextensions" / "@flowlib" / "validate" / "package.json"
    assert validate.read_bytes() == (ROOT / "jupyterlab" / "validate" / "labextension" / "package.json").read_bytes(), (
        "postBuild does not install the course's Validate button"
    )

    port, token = _free_port(), secrets.token_hex(16)
    # `jupyter notebook` as `python -m notebook`: the copy's bin/ scripts still name .venv's python
    command = [
        str(env / "bin" / "python"),
        "-m",
        "notebook",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=repo, env=environ, stdout=log, stderr=subprocess.STDOUT)

        def call(path: str, timeout: float = 60):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                return reply.geturl(), reply.read().decode()

        try:
            wait_until_up(call, server, log_path)
            landed, page = call("/")
            assert urllib.parse.urlsplit(landed).path == "/lab/tree/notebooks", f"the server opened {landed}"
            assert "JupyterLab" in page
            _, listing = call("/api/contents/notebooks")
            assert "00_getting_started" in listing and "02_self_attention" in listing
        finally:
            stop(server)

    mine = subprocess.run(
        [sys.executable, "-c", "import flowlib; print(flowlib.__file__)"],
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(mine).is_relative_to(ROOT), f"the course's own environment now imports flowlib from {mine}"
    assert not (VENV / "etc" / "jupyter" / "jupyter_server_config.json").exists() or (
        "/lab/tree/notebooks" not in (VENV / "etc" / "jupyter" / "jupyter_server_config.json").read_text()
    )
