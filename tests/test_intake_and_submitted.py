"""Collecting submissions: finding them in submitted/ (grader/submitted.py), importing LMS downloads
(grader/lms.py) and nbgrader's exchange (grader/intake.py, `flowlib instructor collect`), never
overwriting silently, and refusing bad input with a message that says why.

Fixtures are copies of the released notebooks in notebooks/; nothing in the repository is written.
"""

import json
import os
import unicodedata
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from flowlib.course import cli, layout
from flowlib.course.grader import intake, lms, roster
from flowlib.course.grader.ids import ascii_folded_id, canonical_id, format_timestamp, parse_timestamp
from flowlib.course.grader.intake import import_download, import_exchange
from flowlib.course.grader.storing import ImportReport
from flowlib.course.grader.submitted import Refusal, Submission, UnknownNameError, find_submissions
from tests.scratch import released_course

ROOT = Path(__file__).resolve().parents[1]
LESSONS = layout.lessons(ROOT)
A, B = "02_self_attention", "03_multi_head_attention_and_positions"
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
T1 = datetime(2024, 3, 2, 10, 0, tzinfo=UTC)


def notebook(lesson: str, marker: str | None = None) -> bytes:
    """The released notebook of ``lesson``; with ``marker``, a different (still valid) version."""
    data = (ROOT / "notebooks" / lesson / f"{lesson}.ipynb").read_bytes()
    if marker is None:
        return data
    nb = json.loads(data)
    nb["metadata"]["test_marker"] = marker
    return json.dumps(nb, indent=1).encode()


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return released_course(tmp_path / "course")


def put(
    root: Path, student: str, lesson: str, data: bytes, name: str | None = None, when: datetime | None = None
) -> Path:
    """Write submitted/<student>/<lesson>/<name> (and timestamp.txt when ``when`` is given)."""
    folder = root / "submitted" / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{lesson}.ipynb")
    path.write_bytes(data)
    if when:
        (folder / "timestamp.txt").write_text(format_timestamp(when))
    return path


def write(path: Path, data: bytes, when: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if when:
        os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def only_refusal(refused: list[Refusal]) -> str:
    assert len(refused) == 1, refused
    reason = refused[0].reason
    assert "expected" in reason and "found" in reason, reason
    return reason


# --- ids and timestamps -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice", "alice"),
        ("  Alice  ", "alice"),
        ("José Núñez", "josé_núñez"),
        ("Søren  Kierkegård", "søren_kierkegård"),
        ("Straße", "strasse"),
        ("o'brien+x*y", "o_brien_x_y"),
        ("jane.doe@uni.edu", "jane.doe_uni.edu"),
        # every script keeps its letters, accents and marks included
        ("李华", "李华"),  # CJK
        ("Ελένη", "ελένη"),  # Greek
        ("Иван  Петров", "иван_петров"),
        ("محمد علي", "محمد_علي"),  # Arabic
        ("مُحَمَّد", "مُحَمَّد"),  # Arabic with its vowel marks
        ("क्षमा", "क्षमा"),
        ("Đặng Thị Hoa", "đặng_thị_hoa"),  # Vietnamese
        ("ＡＢＣ１", "abc1"),  # full-width forms
    ],
)
def test_canonical_id(raw, expected):
    assert canonical_id(raw) == expected


@pytest.mark.parametrize("name", ["Đặng Thị Hoa", "Ελένη", "José Núñez", "مُحَمَّد"])
def test_one_name_typed_two_ways_is_one_id(name):
    """Precomposed or with combining marks (NFC, NFD), any case: the same learner."""
    composed, decomposed = unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)
    assert canonical_id(composed) == canonical_id(decomposed) == canonical_id(decomposed.upper())
    assert unicodedata.is_normalized("NFC", canonical_id(decomposed))


@pytest.mark.parametrize("raw", ["!!!", "   ", "+*", "🙂", "李" * 50])
def test_canonical_id_refuses_what_it_cannot_spell(raw):
    with pytest.raises(ValueError, match="id"):
        canonical_id(raw)


def test_the_old_accent_less_spelling_is_known():
    assert ascii_folded_id("Đặng Thị Hoa") == "dang_thi_hoa" and ascii_folded_id("José Núñez") == "jose_nunez"
    assert ascii_folded_id("Søren") == "soren" and ascii_folded_id("李华") == "李华"


def test_timestamps_are_nbgraders_format_and_agree_with_nbgrader():
    from nbgrader.utils import parse_utc

    text = format_timestamp(datetime(2024, 3, 1, 12, 30, 5, 123456, tzinfo=UTC))
    assert text == "2024-03-01 12:30:05.123456 UTC"
    assert parse_timestamp(text) == datetime(2024, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
    assert parse_utc(text) == parse_timestamp(text).replace(tzinfo=None)
    assert parse_timestamp("2024-03-01 13:30:05 +0100") == datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert parse_timestamp("2024-03-01T12:30:05Z") == datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_timestamp("yesterday at noon")


# --- find_submissions ---------------------------------------------------------------------


def test_a_good_submission_with_its_timestamp_and_extra_files(course):
    path = put(course, "alice", A, notebook(A), when=T0)
    (path.parent / "data.csv").write_text("x\n")
    write(path.parent / ".ipynb_checkpoints" / f"{A}-checkpoint.ipynb", b"{}")
    found, refused = find_submissions(course, LESSONS)
    assert refused == []
    assert found == [Submission("alice", A, path, path.parent, T0, ("data.csv",), ())]


def test_without_timestamp_txt_the_notebooks_mtime_is_the_time(course):
    path = put(course, "alice", A, notebook(A))
    os.utime(path, (T1.timestamp(), T1.timestamp()))
    (found,), _ = find_submissions(course, LESSONS)
    assert found.timestamp == T1


def test_an_unreadable_timestamp_falls_back_to_mtime_with_a_note(course):
    path = put(course, "alice", A, notebook(A))
    (path.parent / "timestamp.txt").write_text("not a time")
    (found,), refused = find_submissions(course, LESSONS)
    assert refused == [] and "not a timestamp" in found.notes[0]


def test_bad_input_is_refused_with_a_reason_and_never_stops_the_others(course):
    good = put(course, "good", A, notebook(A))
    put(course, "empty_file", A, b"")
    put(course, "not_json", A, b'{"cells": [')
    put(course, "not_notebook", A, b'{"hello": "world"}')
    put(course, "wrong_lesson", A, notebook(B), name=f"{A}.ipynb")
    put(course, "no_graded_cells", A, nbformat.writes(nbformat.v4.new_notebook()).encode())
    (course / "submitted" / "empty_lesson" / A).mkdir(parents=True)
    (course / "submitted" / "empty_student").mkdir(parents=True)
    put(course, "unknown_lesson", "99_nope", notebook(A), name="99_nope.ipynb")
    put(course, "no_notebook", A, b"my answers", name="answers.txt")
    put(course, "two_notebooks", A, notebook(A), name="a.ipynb")
    put(course, "two_notebooks", A, notebook(A), name="b.ipynb")
    put(course, "bad+id", A, notebook(A))
    (course / "submitted" / "stray.ipynb").write_bytes(notebook(A))
    found, refused = find_submissions(course, LESSONS)
    assert [s.notebook for s in found] == [good]
    reasons = {(r.student or r.path.name): r.reason for r in refused}
    for reason in reasons.values():
        assert "expected" in reason and "found" in reason, reason
    assert "0 bytes" in reasons["empty_file"] and "empty_file" in reasons["empty_file"]
    assert "not valid JSON" in reasons["not_json"] and "line 1" in reasons["not_json"]
    assert "not a valid notebook" in reasons["not_notebook"]
    assert f"found lesson {B}'s notebook" in reasons["wrong_lesson"]
    assert "no graded (nbgrader) cells" in reasons["no_graded_cells"]
    assert "the folder is empty" in reasons["empty_lesson"]
    assert "empty folder" in reasons["empty_student"]
    assert "'99_nope'" in reasons["unknown_lesson"] and A in reasons["unknown_lesson"]
    assert "answers.txt" in reasons["no_notebook"]
    assert "2 notebooks (a.ipynb, b.ipynb)" in reasons["two_notebooks"]
    assert "'bad+id'" in reasons["bad+id"]
    assert "expected a student folder; found a file" in reasons["stray.ipynb"]
    assert len(refused) == 12


def test_empty_or_missing_submitted_folder_is_refused_not_raised(course):
    assert "found no such folder" in only_refusal(find_submissions(course, LESSONS)[1])
    (course / "submitted").mkdir()
    assert "found an empty folder" in only_refusal(find_submissions(course, LESSONS)[1])


def test_a_renamed_notebook_is_graded_and_says_so(course):
    path = put(course, "alice", A, notebook(A), name="my homework (1).ipynb")
    (found,), refused = find_submissions(course, LESSONS)
    assert refused == [] and found.notebook == path
    assert found.notes == (f"renamed: graded my homework (1).ipynb as {A}.ipynb",)


def test_the_notebook_named_after_the_lesson_wins_over_copies(course):
    path = put(course, "alice", A, notebook(A))
    put(course, "alice", A, notebook(A), name="copy.ipynb")
    (found,), refused = find_submissions(course, LESSONS)
    assert refused == [] and found.notebook == path and found.extra_files == ("copy.ipynb",)
    assert "also holds copy.ipynb" in found.notes[0]


def test_deleted_graded_cells_are_graded_with_a_note(course):
    nb = json.loads(notebook(A))
    nb["cells"] = [
        c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != "02_softmax_tests_basic"
    ]
    put(course, "alice", A, json.dumps(nb).encode())
    (found,), refused = find_submissions(course, LESSONS)
    assert refused == [] and "02_softmax_tests_basic" in found.notes[0] and "score 0" in found.notes[0]


def test_the_same_learner_twice_keeps_the_newest(course):
    put(course, "Alice", A, notebook(A, "old"), when=T0)
    newest = put(course, " alice ", A, notebook(A, "new"), when=T1)
    put(course, "Alice", B, notebook(B), when=T0)  # another lesson: no clash
    found, refused = find_submissions(course, LESSONS)
    assert sorted((s.student, s.lesson) for s in found) == [(" alice ", A), ("Alice", B)]
    assert next(s for s in found if s.lesson == A).notebook == newest
    reason = only_refusal(refused)
    assert "'Alice'" in reason and "' alice '" in reason and "the same learner ('alice')" in reason


def test_the_same_learner_twice_at_the_same_time_keeps_the_canonical_name(course):
    put(course, "ALICE", A, notebook(A, "x"), when=T0)
    put(course, "alice", A, notebook(A, "y"), when=T0)
    (found,), refused = find_submissions(course, LESSONS)
    assert found.student == "alice" and refused[0].student == "ALICE"


def test_ids_with_spaces_or_accents_are_accepted_as_they_are_with_a_note(course):
    put(course, "Ana María", A, notebook(A))
    put(course, "王芳", A, notebook(A))
    found, refused = find_submissions(course, LESSONS)
    assert refused == [] and [s.student for s in found] == ["Ana María", "王芳"]
    assert "'ana_maría'" in found[0].notes[0]
    assert not [note for note in found[1].notes if "id" in note], "a name in its own script is its id"


def test_narrowing_to_a_student_and_a_lesson(course):
    put(course, "alice", A, notebook(A))
    put(course, "alice", B, notebook(B))
    put(course, "bob", A, notebook(A))
    found, _ = find_submissions(course, LESSONS, students=["ALICE"], only_lessons=[B])
    assert [(s.student, s.lesson) for s in found] == [("alice", B)]
    with pytest.raises(UnknownNameError, match=r"unknown student 'carol'; submitted/ holds: alice, bob"):
        find_submissions(course, LESSONS, students=["carol"])
    with pytest.raises(UnknownNameError, match=f"unknown lesson '99_nope'.*{A}"):
        find_submissions(course, LESSONS, only_lessons=["99_nope"])
    with pytest.raises(ValueError, match="no submission of 00_getting_started by bob"):
        find_submissions(course, LESSONS, students=["bob"], only_lessons=["00_getting_started"])


# --- LMS download names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "convention", "student", "lesson"),
    [
        (f"alice_{A}.ipynb", "plain", "alice", A),
        (f"Jane_Doe_{A}.ipynb", "plain", "Jane_Doe", A),
        (f"smithjane_12345_67890_{A}.ipynb", "canvas", "smithjane", A),
        (f"smithjane_LATE_12345_67890_{A}-1.ipynb", "canvas", "smithjane", A),
        ("smithjane_12345_67890_homework.ipynb", "canvas", "smithjane", None),
        (f"Jane Smith_4242_assignsubmission_file_/{A}.ipynb", "moodle", "Jane Smith", A),
        (f"download/Jane Smith_4242_assignsubmission_file_/{A} (1).ipynb", "moodle", "Jane Smith", A),
        (f"Jane Smith_4242_assignsubmission_file_{A}.ipynb", "moodle", "Jane Smith", A),
        (f"Self Attention_jsmith_attempt_2024-03-01-10-20-30_{A}.ipynb", "blackboard", "jsmith", A),
        (f"{A}_jsmith_attempt_2024-03-01-10-20-30.ipynb", "blackboard", "jsmith", A),
    ],
)
def test_lms_name_patterns(name, convention, student, lesson):
    named = lms.parse_name(name, LESSONS)
    assert (named.convention, named.student, named.lesson) == (convention, student, lesson)


def test_lms_names_carry_late_ids_and_times():
    assert lms.parse_name(f"smithjane_LATE_12345_67890_{A}.ipynb", LESSONS).late
    assert lms.parse_name(f"smithjane_12345_67890_{A}.ipynb", LESSONS).lms_id == "12345"
    board = lms.parse_name(f"HW_jsmith_attempt_2024-03-01-10-20-30_{A}.ipynb", LESSONS)
    assert board.timestamp == datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)
    assert lms.parse_name(f"{A}.ipynb", LESSONS) is None  # no student in the name
    assert lms.parse_name("homework.ipynb", LESSONS) is None


def test_every_pattern_imports_into_submitted(course, tmp_path):
    download = tmp_path / "download"
    write(download / f"alice_{A}.ipynb", notebook(A))
    write(download / f"smithjane_LATE_1_2_{B}-1.ipynb", notebook(B))
    write(download / "doejohn_3_4_homework.ipynb", notebook(A))
    write(download / f"José Núñez_77_assignsubmission_file_/{A}.ipynb", notebook(A))
    write(download / f"Kim Lee_78_assignsubmission_file_{B}.ipynb", notebook(B))
    write(download / f"王芳_79_assignsubmission_file_/{B}.ipynb", notebook(B))  # a Moodle name in its own script
    write(download / f"HW_jsmith_attempt_2024-03-01-10-20-30_{A}.ipynb", notebook(A))
    write(download / "HW_jsmith_attempt_2024-03-01-10-20-30.txt", b"Name: J Smith")
    report = import_download(download, course, LESSONS)
    assert report.ok, report.summary()
    got = {(e.student, e.lesson) for e in report.imported}
    assert got == {
        ("alice", A),
        ("smithjane", B),
        ("doejohn", A),
        ("josé_núñez", A),
        ("kim_lee", B),
        ("王芳", B),
        ("jsmith", A),
    }
    for student, lesson in got:
        folder = course / "submitted" / student / lesson
        assert sorted(p.name for p in folder.iterdir()) == [f"{lesson}.ipynb", "timestamp.txt"]
    assert (course / "submitted/jsmith" / A / "timestamp.txt").read_text() == "2024-03-01 10:20:30.000000 UTC"
    notes = {e.student: " ".join(e.notes) for e in report.imported}
    assert "late" in notes["smithjane"] and "renamed" in notes["doejohn"] and "'josé_núñez'" in notes["josé_núñez"]
    assert report.ignored == [("HW_jsmith_attempt_2024-03-01-10-20-30.txt", "not a notebook")]
    found, refused = find_submissions(course, LESSONS)
    assert refused == [] and len(found) == 7


def test_a_download_of_bad_files_refuses_each_and_imports_the_rest(course, tmp_path):
    download = tmp_path / "download"
    write(download / f"good_{A}.ipynb", notebook(A))
    write(download / f"empty_{A}.ipynb", b"")
    write(download / f"broken_{A}.ipynb", b"not json")
    write(download / f"wrong_{B}.ipynb", notebook(A))
    write(download / "who_knows.ipynb", notebook(A))
    (download / f"link_{A}.ipynb").symlink_to(ROOT / "notebooks" / A / f"{A}.ipynb")
    report = import_download(download, course, LESSONS)
    assert [e.student for e in report.imported] == ["good"]
    reasons = " | ".join(r.reason for r in report.refused)
    assert len(report.refused) == 5 and not report.ok
    for expected in (
        f"empty_{A}.ipynb: expected",
        "0 bytes",
        "not valid JSON",
        f"found lesson {A}'s notebook",
        "'who_knows.ipynb'",
        "symbolic link",
    ):
        assert expected in reasons


def test_empty_missing_and_unreadable_downloads_are_refused(course, tmp_path):
    (tmp_path / "empty").mkdir()
    assert "found no files" in only_refusal(import_download(tmp_path / "empty", course, LESSONS).refused)
    assert "found nothing there" in only_refusal(import_download(tmp_path / "missing.zip", course, LESSONS).refused)
    write(tmp_path / "fake.zip", b"this is not a zip")
    assert "BadZipFile" in only_refusal(import_download(tmp_path / "fake.zip", course, LESSONS).refused)


def test_one_notebook_file_is_a_download_too(course, tmp_path):
    report = import_download(write(tmp_path / f"alice_{A}.ipynb", notebook(A)), course, LESSONS)
    assert [(e.student, e.lesson) for e in report.imported] == [("alice", A)]


# --- zip downloads --------------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes], when=(2024, 3, 1, 10, 0, 0)) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def test_a_zip_is_read_in_place_with_non_notebooks_ignored(course, tmp_path):
    archive = make_zip(
        tmp_path / "submissions.zip",
        {
            f"Jane Smith_4242_assignsubmission_file_/{A}.ipynb": notebook(A),
            "Jane Smith_4242_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
            f"__MACOSX/Jane Smith_4242_assignsubmission_file_/._{A}.ipynb": b"\x00\x05",
            ".DS_Store": b"\x00",
        },
    )
    report = import_download(archive, course, LESSONS)
    assert report.ok and [(e.student, e.lesson) for e in report.imported] == [("jane_smith", A)]
    assert {name for name, _ in report.ignored} == {
        "Jane Smith_4242_assignsubmission_onlinetext_/onlinetext.html",
        f"__MACOSX/Jane Smith_4242_assignsubmission_file_/._{A}.ipynb",
        ".DS_Store",
    }
    assert report.imported[0].timestamp == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert not (tmp_path / "Jane Smith_4242_assignsubmission_file_").exists()  # nothing extracted


def test_zip_slip_members_are_refused_and_nothing_lands_outside(course, tmp_path):
    archive = make_zip(
        tmp_path / "evil.zip",
        {
            f"../../evil_{A}.ipynb": notebook(A),
            f"/tmp/abs_{A}.ipynb": notebook(A),
            f"..\\..\\win_{A}.ipynb": notebook(A),
            f"ok_{A}.ipynb": notebook(A),
        },
    )
    report = import_download(archive, course, LESSONS)
    assert [e.student for e in report.imported] == ["ok"]
    assert len(report.refused) == 3 and all("zip-slip" in r.reason for r in report.refused)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ok"]
    assert not list(tmp_path.parent.glob(f"evil_{A}.ipynb"))


def test_zip_bombs_stop_at_the_caps(course, tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "MAX_FILE_BYTES", 200_000)
    monkeypatch.setattr(lms, "MAX_TOTAL_BYTES", 50_000)
    bomb = b'{"cells": [], "pad": "' + b"0" * 5_000_000 + b'"}'  # deflates to a few kilobytes
    archive = make_zip(
        tmp_path / "bomb.zip", {f"bomb_{A}.ipynb": bomb, f"one_{A}.ipynb": notebook(A), f"two_{A}.ipynb": notebook(A)}
    )
    assert archive.stat().st_size < 50_000
    report = import_download(archive, course, LESSONS)
    reasons = [r.reason for r in report.refused]
    assert "a notebook of at most 200000 bytes" in reasons[0] and "found 5000024 bytes" in reasons[0]
    assert [e.student for e in report.imported] == ["one"]  # 35 kB read; the next would pass 50 kB in all
    assert "at most 50000 bytes in all" in reasons[1]


def test_a_corrupt_member_is_refused_and_the_others_read(course, tmp_path):
    archive = tmp_path / "corrupt.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        out.writestr(f"bad_{A}.ipynb", notebook(A, "flip me"))
        out.writestr(f"good_{A}.ipynb", notebook(A))
    raw = archive.read_bytes()
    archive.write_bytes(raw.replace(b"flip me", b"flip it", 1))  # stored data changes: its CRC no longer matches
    report = import_download(archive, course, LESSONS)
    assert [e.student for e in report.imported] == ["good"]
    assert "Bad CRC-32" in only_refusal(report.refused)


# --- never overwrite silently ---------------------------------------------------------------


def test_reimporting_the_same_file_is_unchanged(course, tmp_path):
    download = tmp_path / "download"
    write(download / f"alice_{A}.ipynb", notebook(A), T0)
    assert len(import_download(download, course, LESSONS).imported) == 1
    again = import_download(download, course, LESSONS)
    assert again.ok and again.imported == [] and [e.student for e in again.unchanged] == ["alice"]


def test_a_newer_file_replaces_the_old_one_which_is_kept(course, tmp_path):
    write(tmp_path / "first" / f"alice_{A}.ipynb", notebook(A, "first"), T0)
    write(tmp_path / "second" / f"alice_{A}.ipynb", notebook(A, "second"), T1)
    import_download(tmp_path / "first", course, LESSONS)
    report = import_download(tmp_path / "second", course, LESSONS)
    (entry,) = report.replaced
    assert report.ok and (entry.old_timestamp, entry.timestamp) == (T0, T1)
    assert entry.kept_at == course / "submitted_history" / "alice" / A / "20240301T100000.000000Z"
    assert (entry.kept_at / f"{A}.ipynb").read_bytes() == notebook(A, "first")
    assert (entry.kept_at / "timestamp.txt").read_text() == format_timestamp(T0)
    assert (course / "submitted/alice" / A / f"{A}.ipynb").read_bytes() == notebook(A, "second")
    assert "2024-03-01 10:00:00+00:00 -> 2024-03-02 10:00:00+00:00" in report.summary()


def test_an_older_file_is_refused_and_the_newer_one_kept(course, tmp_path):
    write(tmp_path / "new" / f"alice_{A}.ipynb", notebook(A, "new"), T1)
    write(tmp_path / "old" / f"alice_{A}.ipynb", notebook(A, "old"), T0)
    import_download(tmp_path / "new", course, LESSONS)
    report = import_download(tmp_path / "old", course, LESSONS)
    reason = only_refusal(report.refused)
    assert "expected a submission newer than" in reason and f"alice_{A}.ipynb" in reason
    assert (course / "submitted/alice" / A / f"{A}.ipynb").read_bytes() == notebook(A, "new")
    assert not (course / "submitted_history").exists()


def test_the_same_learner_twice_in_one_download(course, tmp_path):
    download = tmp_path / "download"
    write(download / f"alice_{A}.ipynb", notebook(A, "old"), T0)
    write(download / "a" / f"Alice_{A}.ipynb", notebook(A, "new"), T1)
    write(download / "b" / f"ALICE_{A}.ipynb", notebook(A, "tie"), T1)
    report = import_download(download, course, LESSONS)
    assert [e.source for e in report.imported] == [f"alice_{A}.ipynb"]
    assert [e.source for e in report.replaced] == [f"a/Alice_{A}.ipynb"]
    assert "b/ALICE" in only_refusal(report.refused)
    assert (course / "submitted/alice" / A / f"{A}.ipynb").read_bytes() == notebook(A, "new")


def test_two_learners_with_one_name_are_both_refused(course, tmp_path):
    download = tmp_path / "download"
    write(download / f"Jane Smith_1_assignsubmission_file_/{A}.ipynb", notebook(A, "one"))
    write(download / f"Jane Smith_2_assignsubmission_file_/{A}.ipynb", notebook(A, "two"))
    report = import_download(download, course, LESSONS)
    assert report.imported == [] and len(report.refused) == 2
    assert "moodle id 1, moodle id 2" in report.refused[0].reason


def test_an_import_goes_into_the_learners_existing_folder(course, tmp_path):
    put(course, "Alice", A, notebook(A, "old"), when=T0)
    write(tmp_path / "dl" / f"alice_{A}.ipynb", notebook(A, "new"), T1)
    report = import_download(tmp_path / "dl", course, LESSONS)
    assert [e.student for e in report.replaced] == ["Alice"]
    assert "existing id 'Alice'" in " ".join(report.replaced[0].notes)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["Alice"]


# --- names in any script ------------------------------------------------------------------

SCRIPTS = {  # a Moodle participant id: (the name as Moodle writes it, the id it is graded under)
    "4243": ("李华", "李华"),  # CJK
    "4244": ("Ελένη Παπαδοπούλου", "ελένη_παπαδοπούλου"),  # Greek
    "4245": ("مريم العلي", "مريم_العلي"),  # Arabic
    "4246": ("Đặng Thị Hoa", "đặng_thị_hoa"),  # Vietnamese
    "4247": ("🙂🙂", "moodle_4247"),  # no letter at all: the participant id
}


def test_a_moodle_class_in_several_scripts_is_graded_under_its_own_names(course, tmp_path):
    download = tmp_path / "download"
    for number, (name, _) in SCRIPTS.items():
        write(download / f"{name}_{number}_assignsubmission_file_/{A}.ipynb", notebook(A, number))
    report = import_download(download, course, LESSONS)
    assert report.ok, report.summary()
    assert {e.student for e in report.imported} == {student for _, student in SCRIPTS.values()}
    assert "moodle participant id as 'moodle_4247'" in report.summary()
    found, refused = find_submissions(course, LESSONS)
    assert refused == [] and {s.student for s in found} == {student for _, student in SCRIPTS.values()}
    assert not [note for s in found for note in s.notes if "canonical" in note], "every stored id is canonical"
    learners = roster.load(course)
    assert {(learners[s].name, learners[s].lms_id) for _, s in SCRIPTS.values()} == {
        (name, f"moodle id {number}") for number, (name, _) in SCRIPTS.items()
    }


def test_the_next_download_of_a_participant_keeps_its_id(course, tmp_path):
    """Moodle's participant id is stable; a learner's name may change (a transliteration fixed)."""
    write(tmp_path / "one" / f"Li Hua_4242_assignsubmission_file_/{A}.ipynb", notebook(A, "old"), T0)
    write(tmp_path / "two" / f"李华_4242_assignsubmission_file_/{A}.ipynb", notebook(A, "new"), T1)
    assert [e.student for e in import_download(tmp_path / "one", course, LESSONS).imported] == ["li_hua"]
    second = import_download(tmp_path / "two", course, LESSONS)
    assert [e.student for e in second.replaced] == ["li_hua"], second.summary()
    assert "moodle id 4242 is stored as 'li_hua'" in second.summary()
    assert roster.names(course) == {"li_hua": "李华"}


def test_a_learner_stored_before_ids_kept_their_accents_keeps_the_id_and_grades(course, tmp_path):
    """Earlier imports stored ``Đặng Thị Hoa`` as ``dang_thi_hoa``: the gradebook's student and
    the folder in submitted/ keep matching, so no grade is orphaned."""
    from flowlib.course.grader.gradebook import open_gradebook

    with open_gradebook(course) as book:
        book.update_or_create_student("dang_thi_hoa")  # graded before; submitted/ was cleared since
    put(course, "jose_nunez", B, notebook(B), when=T0)
    write(tmp_path / "dl" / f"Đặng Thị Hoa_4246_assignsubmission_file_/{A}.ipynb", notebook(A), T1)
    write(tmp_path / "dl" / f"José Núñez_77_assignsubmission_file_/{A}.ipynb", notebook(A), T1)
    report = import_download(tmp_path / "dl", course, LESSONS)
    assert sorted(e.student for e in report.imported) == ["dang_thi_hoa", "jose_nunez"], report.summary()
    assert "stored under the existing id 'dang_thi_hoa'" in report.summary()
    assert roster.names(course) == {"dang_thi_hoa": "Đặng Thị Hoa", "jose_nunez": "José Núñez"}
    found, refused = find_submissions(course, LESSONS)
    assert refused == [] and sorted((s.student, s.lesson) for s in found) == [
        ("dang_thi_hoa", A),
        ("jose_nunez", A),
        ("jose_nunez", B),
    ]


def test_the_old_spelling_never_joins_two_learners_the_roster_tells_apart(course, tmp_path):
    """``jose_nunez`` stored since the roster exists, as ``Jose Nunez``, is another learner than
    ``José Núñez`` (Moodle participant 78): each keeps their own id."""
    write(tmp_path / "one" / f"Jose Nunez_77_assignsubmission_file_/{A}.ipynb", notebook(A, "jose"), T0)
    write(tmp_path / "two" / f"José Núñez_78_assignsubmission_file_/{A}.ipynb", notebook(A, "josé"), T1)
    import_download(tmp_path / "one", course, LESSONS)
    second = import_download(tmp_path / "two", course, LESSONS)
    assert [e.student for e in second.imported] == ["josé_núñez"], second.summary()
    assert roster.names(course) == {"jose_nunez": "Jose Nunez", "josé_núñez": "José Núñez"}


# --- nbgrader's exchange --------------------------------------------------------------------


def submit(exchange: Path, student: str, lesson: str, when: datetime, data: bytes, name: str | None = None) -> Path:
    """A submission as `nbgrader submit` leaves it in the exchange."""
    folder = exchange / layout.COURSE_ID / "inbound" / f"{student}+{lesson}+{format_timestamp(when)}+Xy_9-z"
    write(folder / (name or f"{lesson}.ipynb"), data)
    (folder / "timestamp.txt").write_text(format_timestamp(when))
    (folder / "submission_secret.txt").write_text("0" * 128)
    return folder


def test_exchange_import_takes_the_newest_per_learner(course, tmp_path):
    exchange = tmp_path / "exchange"
    old = submit(exchange, "alice", A, T0, notebook(A, "old"))
    new = submit(exchange, "alice", A, T1, notebook(A, "new"))
    submit(exchange, "bob", B, T0, notebook(B), name="renamed.ipynb")
    submit(exchange, "carol", B, T0, notebook(A))  # wrong lesson
    submit(exchange, "dave", "99_nope", T0, notebook(A))
    (exchange / layout.COURSE_ID / "inbound" / "garbage").mkdir()
    report = import_exchange(exchange, layout.COURSE_ID, course, LESSONS)
    assert sorted((e.student, e.lesson) for e in report.imported) == [("alice", A), ("bob", B)]
    assert report.ignored == [(old.name, f"older than {new.name}, the newest of alice {A}")]
    folder = course / "submitted" / "alice" / A
    assert (folder / f"{A}.ipynb").read_bytes() == notebook(A, "new")
    assert (folder / "timestamp.txt").read_text() == format_timestamp(T1)
    assert (folder / "submission_secret.txt").exists()
    assert "renamed" in " ".join(next(e for e in report.imported if e.student == "bob").notes)
    assert len(report.refused) == 3 and not report.ok
    reasons = " | ".join(r.reason for r in report.refused)
    assert f"found lesson {A}'s notebook" in reasons and "'garbage'" in reasons and "dave+99_nope" in reasons
    again = import_exchange(exchange, layout.COURSE_ID, course, LESSONS)
    assert again.imported == [] and len(again.unchanged) == 2
    submit(exchange, "alice", A, datetime(2024, 3, 3, tzinfo=UTC), notebook(A, "newest"))
    later = import_exchange(exchange, layout.COURSE_ID, course, LESSONS)
    assert [(e.old_timestamp, e.student) for e in later.replaced] == [(T1, "alice")]


def test_a_missing_or_empty_exchange_is_refused(course, tmp_path):
    assert "found no such folder" in only_refusal(import_exchange(tmp_path, layout.COURSE_ID, course, LESSONS).refused)
    (tmp_path / layout.COURSE_ID / "inbound").mkdir(parents=True)
    assert "found none" in only_refusal(import_exchange(tmp_path, layout.COURSE_ID, course, LESSONS).refused)


# --- the command ------------------------------------------------------------------------------


def test_the_collect_command_exit_codes(course, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(course)
    good = tmp_path / "good"
    write(good / f"alice_{A}.ipynb", notebook(A))
    assert cli.main(["instructor", "collect", str(good)]) == 0
    assert "1 imported" in capsys.readouterr().out
    bad = make_zip(tmp_path / "bad.zip", {f"bob_{A}.ipynb": b"", f"carol_{A}.ipynb": notebook(A)})
    assert cli.main(["instructor", "collect", str(bad)]) == 3
    out = capsys.readouterr().out
    assert "1 imported" in out and "refused    bad.zip:" in out and "0 bytes" in out
    submit(tmp_path / "exchange", "dave", A, T0, notebook(A))
    assert cli.main(["instructor", "collect", "--exchange", str(tmp_path / "exchange")]) == 0
    assert cli.main(["instructor", "collect"]) == 2
    assert cli.main(["instructor", "collect", str(good), "--exchange", str(tmp_path)]) == 2
    assert "one download" in capsys.readouterr().err
    assert isinstance(intake.import_download(good, course, LESSONS), ImportReport)
