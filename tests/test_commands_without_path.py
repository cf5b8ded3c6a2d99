"""Every instructor command run the way cron or `make` runs it: by its absolute path
(`/.../.venv/bin/flowlib`), with nothing of the course's environment on PATH, in a fresh course
with no gradebook, for a class whose names are in several scripts. And what a command needs is
checked before it works: a refusal comes at once, naming what was expected and found.

One lesson (00), two learners: about 25 s on 2 cores.
"""

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowlib.course import cli, instructor, layout
from flowlib.course.grader import sandbox
from tests.test_class_grading import RIGHT, _notebook

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_getting_started"
FLOWLIB = Path(sys.executable).parent / "flowlib"  # the console script, as .venv/bin/flowlib
CLASS = {"4243": ("李华", RIGHT, 2.0), "4246": ("Đặng Thị Hoa", "", 0.0)}  # Moodle id: name, answer, score


def fresh_course(root: Path) -> Path:
    """A course folder as an instructor starts one: the lesson's source and the config, nothing else."""
    shutil.copytree(ROOT / layout.SOURCE / LESSON, root / layout.SOURCE / LESSON)
    shutil.copy2(ROOT / layout.CONFIG, root / layout.CONFIG)
    return root


def flowlib(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    """``flowlib instructor ARGS`` by absolute path, PATH holding only the system's folders."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(
        [str(FLOWLIB), "instructor", *args], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_release_collect_autograde_feedback_export_by_absolute_path(tmp_path):
    assert FLOWLIB.is_file() and str(FLOWLIB.parent) not in "/usr/bin:/bin"
    root, home = fresh_course(tmp_path / "course"), tmp_path / "home"
    home.mkdir()
    assert not (root / layout.GRADEBOOK).exists()

    def ok(*args: str) -> str:
        result = flowlib(root, home, *args)
        said = result.stdout + result.stderr
        assert result.returncode == 0 and "Traceback" not in said, f"flowlib instructor {' '.join(args)}:\n{said}"
        return said

    ok("release", LESSON)
    assert (root / layout.GRADEBOOK).is_file()
    released = json.loads(layout.notebook(root, LESSON).read_text())
    download = tmp_path / "moodle"
    for number, (name, answer, _) in CLASS.items():
        folder = download / f"{name}_{number}_assignsubmission_file_"
        folder.mkdir(parents=True)
        (folder / f"{LESSON}.ipynb").write_text(json.dumps(_notebook(released, answer)), encoding="utf-8")
    ok("collect", str(download))
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["đặng_thị_hoa", "李华"]

    graded = ok("autograde", "--jobs", "1", LESSON, "--student", "李华", "--student", "Đặng Thị Hoa")  # any order
    assert f"李华 / {LESSON}: 2/2" in graded and f"Đặng Thị Hoa (đặng_thị_hoa) / {LESSON}: 0/2" in graded, graded
    assert "protection OFF" not in graded and "WARNING" not in graded, graded

    ok("feedback", LESSON)
    assert list((root / "feedback" / "李华" / LESSON).glob("*.html"))
    assert list((root / "feedback" / "đặng_thị_hoa" / LESSON).glob("*.html"))

    ok("export", "--to", "out/grades.csv")
    with (root / "out" / "grades.csv").open(encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    names = {name: score for name, _, score in CLASS.values()}
    assert {row["name"]: float(row["score"]) for row in rows.values()} == names
    assert rows["đặng_thị_hoa"]["name"] == "Đặng Thị Hoa" and rows["李华"]["status"] == "graded"


def test_autograde_without_a_gradebook_says_so_at_once(tmp_path):
    root, home = fresh_course(tmp_path / "course"), tmp_path / "home"
    home.mkdir()
    start = time.monotonic()
    result = flowlib(root, home, "autograde", LESSON)
    seconds = time.monotonic() - start
    said = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in said, said
    assert f"expected nbgrader's gradebook at {root / layout.GRADEBOOK}; found none: release the lessons" in said
    assert not (root / layout.GRADEBOOK).exists(), "the refusal made a gradebook"
    assert seconds < 5, f"the refusal took {seconds:.1f} s"  # 0.1 s here; generous for a busy machine


@pytest.mark.parametrize("step", [["release"], ["collect", "download"], ["autograde"], ["export"]])
def test_a_course_folder_this_user_cannot_write_is_refused_before_any_work(tmp_path, monkeypatch, capsys, step):
    """Tests run as root here, where file modes do not refuse anything: the check asks
    ``os.access``, which is what is replaced, for the course folder only."""
    root = fresh_course(tmp_path / "course")
    (root / layout.GRADEBOOK).touch()
    real = instructor.os.access
    monkeypatch.setattr(instructor.os, "access", lambda path, mode: Path(path) != root and real(path, mode))
    monkeypatch.chdir(root)
    ran = []
    monkeypatch.setattr(instructor, "nbgrader", lambda *args: ran.append(args))
    assert cli.main(["instructor", *step]) == 2
    said = capsys.readouterr().err
    assert (
        f"expected a course folder this user (uid {instructor.os.getuid()}) can write; found {root} read-only" in said
    )
    assert not ran and not (root / "submitted").exists() and not (root / "notebooks").exists()


def test_bubblewrap_is_found_with_nothing_on_path(monkeypatch):
    if not any((Path(folder) / "bwrap").is_file() for folder in sandbox.SYSTEM_BIN.split(":")):
        pytest.skip(f"no bubblewrap in {sandbox.SYSTEM_BIN}")
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(sandbox, "_PROBED", {})
    assert sandbox.bwrap_works() == "" and Path(sandbox._PROBED["bwrap"]).is_absolute()


def test_autograde_warns_of_a_missing_bubblewrap_before_it_grades(tmp_path, monkeypatch, capsys):
    root = fresh_course(tmp_path / "course")
    instructor.release(root, [LESSON])
    missing = f"expected bubblewrap (bwrap) on PATH or in {sandbox.SYSTEM_BIN}; found none"
    monkeypatch.setattr(sandbox, "_PROBED", {"answer": missing, "bwrap": ""})
    instructor._ready_to_grade(root, [LESSON])
    assert capsys.readouterr().err == f"WARNING: submissions will run without the sandbox's protections: {missing}\n"
