"""flowlib.doctor(): every check reports what it found, every check can fail, and a failure
comes with a fix."""

import json
import os
import sys
from pathlib import Path

import pytest

from flowlib.course import doctor as doctor_module  # the package; flowlib.doctor is its function
from flowlib.course.doctor import course_files, jupyter, machine, packages

Check = doctor_module.Check


@pytest.fixture
def threads_as_a_learner_has_them():
    """The suite's workers run one torch thread each (conftest.py); a learner's kernel has one per core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    yield
    torch.set_num_threads(threads)


def test_this_environment_is_ready(capsys, threads_as_a_learner_has_them):
    results = doctor_module.doctor()
    shown = capsys.readouterr().out
    assert all(check.ok for check in results), [c for c in results if not c.ok]
    names = {check.name for check in results}
    assert {
        "python",
        "torch",
        "nbgrader",
        "locked packages",
        "cpu cores",
        "torch threads",
        "gpu",
        "free memory",
        "free disk",
        "pretrained encoder",
        "checkpoints",
        "widgets frontend",
        "Validate button",
        "ratings folder",
    } <= names
    assert "All good" in shown


def _failed(check: Check, *in_fix: str) -> None:
    assert not check.ok, check
    assert check.fix, f"{check.name} failed without saying how to fix it"
    for text in in_fix:
        assert text in check.fix, (text, check.fix)


def test_wrong_versions_fail_against_the_pins(tmp_path):
    pins = {"torch": "2.0.0", "transformers": "3.0.0", "surely-not-a-course-package": "1.0"}
    _failed(packages._version("torch", pins), "make install")
    assert "2.13.0" in packages._version("torch", pins).found and "pins 2.0.0" in packages._version("torch", pins).found
    _failed(packages._version("transformers", pins))
    missing = packages._version("surely-not-a-course-package", pins)
    _failed(missing, "make install")
    assert missing.found == "not installed"
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==1.0.0 \\\n    --hash=sha256:00\nsix==1.17.0 \\\n    --hash=sha256:00\n")
    locked = packages._locked(lock, skip=())
    _failed(locked, "make install")
    assert "numpy" in locked.found and "six" not in locked.found
    _failed(packages._locked(tmp_path / "nothing.lock"))


def test_local_version_labels_match_their_pin():
    assert packages._same_version("2.13.0+cpu", "2.13.0")
    assert packages._same_version("2.13.0+cpu", "2.13.0+cpu")
    assert not packages._same_version("2.13.0", "2.13.0+cpu")
    assert not packages._same_version("2.0.0", "2.13.0")


def test_machine_checks_can_fail():
    _failed(packages._python((3, 10)), "3.11")
    _failed(machine._cores(1), "cores")
    _failed(machine._threads(threads=1, cores=8), "OMP_NUM_THREADS")
    assert machine._threads(threads=1, cores=1).ok
    _failed(machine._memory(available=300 * 2**20), "close other programs")
    _failed(machine._disk(Path("."), free=100 * 2**20), "free at least")


def test_unknown_free_memory_fails(monkeypatch):
    monkeypatch.setattr(machine, "_free_memory_bytes", lambda: None)
    _failed(machine._memory(), "psutil")


def test_a_gpu_that_cannot_be_used_fails(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: (_ for _ in ()).throw(RuntimeError("driver too old")))
    _failed(machine._gpu(), "CUDA_VISIBLE_DEVICES")


def test_checkpoint_problems_fail(tmp_path):
    _failed(course_files._checkpoints(tmp_path / "none"), "recipes/")
    (tmp_path / "char_gpt_pydoc.pt").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\n")
    check = course_files._checkpoints(tmp_path)
    _failed(check, "recipes/char_gpt_pydoc.py")
    assert "git lfs pull" in check.found
    (tmp_path / "char_gpt_pydoc.pt").write_bytes(b"\x00not a checkpoint")
    _failed(course_files._checkpoints(tmp_path))
    (tmp_path / "char_gpt_pydoc.pt").unlink()
    (tmp_path / "hf" / "pydoc-bert-mlm").mkdir(parents=True)
    (tmp_path / "hf" / "pydoc-bert-mlm" / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    check = course_files._checkpoints(tmp_path)
    _failed(check, "pydoc-bert-mlm")
    assert "hf/pydoc-bert-mlm/model.safetensors" in check.found


def test_the_shipped_checkpoints_are_all_checked():
    check = course_files._checkpoints()
    assert check.ok, check.found
    assert "char_gpt_pydoc.pt" in check.found and "hf/pydoc-bert-mlm/model.safetensors" in check.found
    assert "hf/pydoc-char-gpt2/model.safetensors" in check.found


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_ratings_folder_fails_as_user(tmp_path):
    folder = tmp_path / ".flowlib"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _failed(course_files._ratings_folder(folder / "ratings.jsonl"), "FLOWLIB_COURSE_DIR")
    finally:
        folder.chmod(0o700)


def test_an_unwritable_ratings_folder_fails(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the ratings folder should be")
    _failed(course_files._ratings_folder(blocker / ".flowlib" / "ratings.jsonl"), "FLOWLIB_COURSE_DIR")
    assert course_files._ratings_folder(tmp_path / ".flowlib" / "ratings.jsonl").ok


def test_extension_problems_fail(monkeypatch, tmp_path):
    monkeypatch.setattr(jupyter, "_enabled_server_extensions", lambda: {})
    _failed(jupyter._validate_button(), "make install")
    monkeypatch.setattr(jupyter, "_enabled_server_extensions", lambda: {"flowlib.course.lab_validate": True})
    monkeypatch.setattr(jupyter, "_disabled_lab_extensions", lambda: {"@flowlib/validate"})
    _failed(jupyter._validate_button(), "labextension enable")
    # the student edition disables the instructor's panels and nbgrader's own Validate button: that is fine
    monkeypatch.setattr(
        jupyter,
        "_disabled_lab_extensions",
        lambda: {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:validate-assignment"},
    )
    assert jupyter._validate_button().ok
    monkeypatch.setattr(jupyter, "_disabled_lab_extensions", lambda: {"@jupyter-widgets/jupyterlab-manager"})
    _failed(jupyter._widgets(), "labextension enable")
    monkeypatch.setattr(jupyter, "_disabled_lab_extensions", set)
    monkeypatch.setattr(jupyter, "_lab_extension_dir", lambda name: tmp_path / "missing")
    _failed(jupyter._widgets(), "make install")


def test_server_extension_settings_merge_with_the_learner_config_first(monkeypatch, tmp_path):
    low, high = tmp_path / "env", tmp_path / "learner"
    (low / "jupyter_server_config.d").mkdir(parents=True)
    (low / "jupyter_server_config.d" / "nbgrader.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": {
                        "nbgrader.server_extensions.formgrader": True,
                        "nbgrader.server_extensions.validate_assignment": True,
                    }
                }
            }
        )
    )
    high.mkdir()
    (high / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}})
    )
    monkeypatch.setattr(jupyter, "_config_dirs", lambda: [high, low])
    assert jupyter._enabled_server_extensions() == {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.validate_assignment": True,
    }


def test_a_crashing_check_is_a_failed_check_with_a_fix():
    def boom():
        raise RuntimeError("no such thing")

    (check,) = doctor_module._guarded(boom, "something")
    _failed(check, "make install")
    assert "no such thing" in check.found


def test_doctor_command_exits_1_when_something_needs_fixing(monkeypatch, capsys):
    from flowlib.course import cli

    monkeypatch.setattr(
        doctor_module, "checks", lambda: [Check("python", True, "3.11"), Check("torch", False, "2.0.0", "fix it")]
    )
    assert cli.main(["doctor"]) == 1
    shown = capsys.readouterr().out
    assert "[FIX] torch" in shown and "-> fix it" in shown and "1 thing(s) to fix" in shown
    assert sys.version_info[:2] == (3, 11)
