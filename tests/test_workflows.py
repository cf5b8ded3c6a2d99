"""The GitHub Actions workflows: CI runs what a clean clone runs, and the newest-releases job
upgrades what it says and cannot hide a failure."""

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


def test_ci_runs_the_same_command_as_a_clean_clone_on_python_311():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    assert "bash .ci/run" in [step.get("run", "").strip() for step in steps(ci)]
    python = next(step for step in steps(ci) if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"


def test_ci_caches_the_venv_on_the_pins():
    cache = next(step for step in steps(load("ci.yml")) if step.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == ".venv"
    key = cache["with"]["key"]
    assert "requirements*.txt" in key and "pyproject.toml" in key and "python-version" in key


def test_newest_upgrades_the_four_and_reports_without_hiding_failures():
    newest = load("newest.yml")
    assert "schedule" in newest["on"] and "workflow_dispatch" in newest["on"]
    script = runs(newest)
    assert "download.pytorch.org/whl/cpu torch" in script
    assert "--upgrade transformers nbgrader jupyterlab" in script
    assert "--continue-on-collection-errors" in script and "pipefail" in script
    assert "GITHUB_STEP_SUMMARY" in script and "pip list" in script
    for step in steps(newest):
        assert step.get("continue-on-error") is not True, step
    test = next(step for step in steps(newest) if "pytest" in step.get("run", ""))
    assert "|| true" not in test["run"]
