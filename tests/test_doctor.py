"""flowlib.doctor(): every check reports what it found, and anything wrong comes with a fix."""

import importlib

# `flowlib.doctor` is also the function lesson 00 calls; fetch the module itself.
doctor_module = importlib.import_module("flowlib.doctor")


def test_this_environment_is_ready(capsys):
    results = doctor_module.doctor()
    shown = capsys.readouterr().out
    assert all(check.ok for check in results), [c for c in results if not c.ok]
    names = {check.name for check in results}
    assert {"python", "torch", "nbgrader", "gpu", "torch threads", "pretrained encoder", "nbgrader extension"} <= names
    assert "All good" in shown


def test_a_problem_comes_with_a_fix(capsys, monkeypatch):
    monkeypatch.setattr(doctor_module, "REQUIRED", ("torch", "surely-not-a-course-package"))
    monkeypatch.setattr(doctor_module, "_enabled_server_extensions", lambda: {})
    results = {check.name: check for check in doctor_module.doctor()}
    shown = capsys.readouterr().out
    missing = results["surely-not-a-course-package"]
    assert not missing.ok and missing.found == "not installed" and "make lab" in missing.fix
    extension = results["nbgrader extension"]
    assert not extension.ok and "jupyter server extension enable" in extension.fix
    assert "[FIX] surely-not-a-course-package" in shown and "2 thing(s) to fix" in shown
