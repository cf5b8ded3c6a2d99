"""Self-assessment: a learner's session simulated end to end, and the objectives file itself.

Everything writes under pytest's tmp_path; nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import matplotlib
import pytest

from flowlib.course import self_assessment as sa
from tests.scratch import nbgrader_cell

matplotlib.use("Agg")  # before any figure: the calibration plots draw off screen

REPO = Path(__file__).resolve().parent.parent
OBJECTIVES_FILE = REPO / "self_assessment" / "objectives.json"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def course(tmp_path, monkeypatch):
    """An empty learner course folder, made the current folder and $FLOWLIB_COURSE_DIR."""
    folder = tmp_path / "course"
    folder.mkdir()
    monkeypatch.setenv(sa.COURSE_ENV, str(folder))
    monkeypatch.delenv(sa.OBJECTIVES_ENV, raising=False)
    monkeypatch.setenv("FLOWLIB_NO_WIDGETS", "")
    monkeypatch.chdir(folder)
    return folder


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


# A small course of our own, so calibration answers are known by construction.
SMALL = {
    "version": 1,
    "scale": {
        "1": "I cannot do this yet",
        "2": "I have seen it",
        "3": "I can do it with notes",
        "4": "I can do it alone",
        "5": "I could teach it",
    },
    "objectives": [
        {
            "id": "01.over",
            "lesson": "01_alpha",
            "statement": "I can do A",
            "sections": ["2. Doing A"],
            "exercises": ["01_a_tests"],
        },
        {
            "id": "01.under",
            "lesson": "01_alpha",
            "statement": "I can do B",
            "sections": ["3. Doing B", "4. More B"],
            "exercises": ["01_b"],
        },  # an answer cell: its evidence is the test cells after it
        {
            "id": "01.right",
            "lesson": "01_alpha",
            "statement": "I can do C",
            "sections": [],
            "exercises": ["01_c_tests"],
        },
        {"id": "02.talk", "lesson": "02_beta", "statement": "I can explain D", "sections": ["1. D"], "exercises": []},
        {
            "id": "02.slight",
            "lesson": "02_beta",
            "statement": "I can do E",
            "sections": ["2. E"],
            "exercises": ["02_e_tests"],
        },
    ],
}


@pytest.fixture
def small(tmp_path, course, monkeypatch):
    path = tmp_path / "objectives.json"
    path.write_text(json.dumps(SMALL), encoding="utf-8")
    monkeypatch.setenv(sa.OBJECTIVES_ENV, str(path))
    return sa.load_objectives(path)


def write_lesson_notebook(path: Path, *, b_right: bool) -> Path:
    """01_alpha: exercise a (1 point), b (two tests: 1 + 2 points), c (1 point)."""
    cells = [
        nbgrader_cell("markdown", "# 01 Alpha\n## 2. Doing A"),
        {**nbgrader_cell("code", "import math"), "id": "01_setup"},
        nbgrader_cell("code", "def a():\n    return 1", grade_id="01_a", solution=True),
        nbgrader_cell("code", "assert a() == 2", grade_id="01_a_tests", grade=True, points=1),
        nbgrader_cell("code", "def b(x):\n    return " + ("2 * x" if b_right else "x"), grade_id="01_b", solution=True),
        nbgrader_cell("code", "assert b(0) == 0", grade_id="01_b_tests_zero", grade=True, points=1),
        nbgrader_cell("code", "assert b(2) == 4", grade_id="01_b_tests_two", grade=True, points=2),
        nbgrader_cell("code", "def c():\n    return 3", grade_id="01_c", solution=True),
        nbgrader_cell("code", "assert c() == 3", grade_id="01_c_tests", grade=True, points=1),
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


# An excerpt of a real nbgrader 0.9.6 feedback page (generate_feedback on a tiny course).
FEEDBACK_HTML = """
<div class="panel panel-default">
<div class="panel-heading">
<h4>01_alpha (Score: 3.0 / 5.0)</h4>
<div id="toc">
<ol>
<li><a href="#01_a_tests">Test cell</a> (Score: 1.0 / 1.0)</li>
<li><a href="#01_b_tests_zero">Test cell</a> (Score: 1.0 / 1.0)</li>
<li><a href="#comment-01_b">Comment</a></li>
</ol>
</div></div>
<div class="prompt input_prompt">In [4]:</div><div class="panel panel-primary nbgrader_cell">
<a name="01_b_tests_two"></a><div class="panel-heading"><span class="nbgrader-label">Grade cell: <code>01_b_tests_two</code></span>
<span class="pull-right">
      Score: 0.0 / 2.0 <a href="#top">(Top)</a>
</span></div>
<a name="01_c_tests"></a><div class="panel-heading"><span class="nbgrader-label">Grade cell: <code>01_c_tests</code></span>
<span class="pull-right">
      Score: 1.0 / 1.0 <a href="#top">(Top)</a>
</span></div>
"""


# ---------------------------------------------------------------------------------------------
# Where ratings live
# ---------------------------------------------------------------------------------------------


def test_course_folder_is_found_from_env_markers_or_lesson_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(sa.COURSE_ENV, raising=False)
    root = tmp_path / "c"
    (root / "notebooks" / "02_self_attention").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("")
    assert sa.course_dir(root / "notebooks" / "02_self_attention") == root.resolve()
    fetched = tmp_path / "home" / "transformers-course"
    (fetched / "02_self_attention").mkdir(parents=True)
    assert sa.course_dir(fetched / "02_self_attention") == fetched.resolve()  # nbgrader fetch layout
    (fetched / ".flowlib").mkdir()
    (fetched / "02_self_attention" / "sub").mkdir()
    assert sa.course_dir(fetched / "02_self_attention" / "sub") == fetched.resolve()
    plain = tmp_path / "plain"
    plain.mkdir()
    assert sa.course_dir(plain) == plain.resolve()
    monkeypatch.setenv(sa.COURSE_ENV, str(tmp_path / "elsewhere"))
    assert sa.course_dir(plain) == (tmp_path / "elsewhere").resolve()
    assert sa.ratings_path() == (tmp_path / "elsewhere" / ".flowlib" / "ratings.jsonl").resolve()


# ---------------------------------------------------------------------------------------------
# rate(): what every lesson's last cell calls
# ---------------------------------------------------------------------------------------------


def test_rate_without_widgets_prints_how_to_rate_and_writes_nothing(course, capsys):
    sa.rate("02_self_attention")
    out = capsys.readouterr().out
    assert "02.self-attention" in out and "I can explain self-attention in simple terms" in out
    assert 'record("02_self_attention", {' in out and "flowlib self-assess --rate 02_self_attention" in out
    assert files_under(course) == []


def test_rate_with_widgets_writes_only_when_save_is_clicked(course, capsys):
    sa.rate("02_self_attention", widgets=True)  # displays the form (as text outside a notebook)
    assert files_under(course) == []
    form = sa.rating_form("02_self_attention")
    lesson_ids = {o.id for o in sa.objectives_for("02_self_attention")}
    assert set(form.sliders) == lesson_ids and "02.self-attention" in lesson_ids
    assert all(s.min == 1 and s.max == 5 and s.value == 3 for s in form.sliders.values())
    assert "Not saved yet" in form.status.value
    form.sliders["02.self-attention"].value = 5
    assert form.labels["02.self-attention"].value == "I could teach it"
    assert files_under(course) == []
    form.save_button.click()
    assert f"Saved {len(lesson_ids)} rating(s)" in form.status.value
    log = sa.read_ratings()
    assert {e["objective"]: e["rating"] for e in log.events} == {**dict.fromkeys(lesson_ids, 3), "02.self-attention": 5}
    assert sa.rating_form("02_self_attention").sliders["02.self-attention"].value == 5  # starts from the last


def test_rate_all_has_one_slider_per_objective(course):
    form = sa.rating_form(sa.lessons_with_objectives())
    assert list(form.sliders) == [o.id for o in sa.load_objectives()]


def test_rate_unknown_lesson_names_the_valid_ones(course):
    with pytest.raises(ValueError, match="unknown lesson '99_nope'.*02_self_attention"):
        sa.rate("99_nope")


def test_rate_in_a_kernel_writes_nothing_and_raises_nothing(tmp_path):
    """What nbval and nbgrader do: execute the lesson's last cell in a real kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    lesson = tmp_path / "course" / "02_self_attention"
    lesson.mkdir(parents=True)
    code = 'from flowlib.course.self_assessment import rate\nrate("02_self_attention")'
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    env_before = os.environ.pop(sa.COURSE_ENV, None)
    try:
        nbclient.NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(lesson)}}).execute()
    finally:
        if env_before is not None:
            os.environ[sa.COURSE_ENV] = env_before
    outputs = notebook.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert files_under(tmp_path / "course") == [lesson]


# ---------------------------------------------------------------------------------------------
# record() and read_ratings(): the learner's file
# ---------------------------------------------------------------------------------------------


def test_ratings_entered_twice_are_both_kept_and_the_latest_wins(course):
    sa.record("02_self_attention", {"02.self-attention": 2, "02.scaled-dot-product": 1}, when=T0)
    first = sa.ratings_path().read_bytes()
    sa.record("02_self_attention", {"02.self-attention": 4}, when=T0 + timedelta(days=3))
    assert sa.ratings_path().read_bytes().startswith(first)  # appended, never rewritten
    log = sa.read_ratings()
    assert not log.problems and log.exists
    assert [(e["objective"], e["rating"]) for e in log.events] == [
        ("02.self-attention", 2),
        ("02.scaled-dot-product", 1),
        ("02.self-attention", 4),
    ]
    latest = sa.latest_ratings(log)
    assert latest["02.self-attention"]["rating"] == 4 and latest["02.scaled-dot-product"]["rating"] == 1
    line = json.loads(sa.ratings_path().read_text().splitlines()[0])
    assert line["timestamp"] == "2025-03-01T09:00:00+00:00"
    assert set(line) >= {"timestamp", "lesson", "objective", "rating", "flowlib"}
    assert line["lesson"] == "02_self_attention"


@pytest.mark.parametrize(
    ("lesson", "ratings", "message"),
    [
        ("99_nope", {"x": 3}, r"unknown lesson '99_nope'; expected one of \[.*'02_self_attention'"),
        ("02_self_attention", {"02.attention": 3}, r"unknown objective id\(s\) \['02.attention'\].*02.self-attention"),
        ("02_self_attention", {"01.rnn-vs-transformer": 3}, r"for lesson '02_self_attention'"),
        ("02_self_attention", {"02.self-attention": 0}, r"from 1 to 5; got 0 \(int\)"),
        ("02_self_attention", {"02.self-attention": 6}, r"got 6"),
        ("02_self_attention", {"02.self-attention": 3.5}, r"got 3.5 \(float\)"),
        ("02_self_attention", {"02.self-attention": "4"}, r"got '4' \(str\)"),
        ("02_self_attention", {"02.self-attention": True}, r"got True \(bool\)"),
        ("02_self_attention", {}, r"give the ratings as a dict"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(course, lesson, ratings, message):
    with pytest.raises(ValueError, match=message):
        sa.record(lesson, ratings)
    assert files_under(course) == []


def test_a_bad_rating_among_good_ones_writes_none_of_them(course):
    with pytest.raises(ValueError):
        sa.record("02_self_attention", {"02.self-attention": 4, "02.scaled-dot-product": 9})
    assert not sa.ratings_path().exists()


def test_missing_file_says_no_ratings_yet(course, capsys):
    log = sa.read_ratings()
    assert not log.exists and log.events == [] and log.problems == []
    assert "No ratings yet" in log.message() and str(sa.ratings_path()) in log.message()
    assert sa.main(["--show", "--no-tests"]) == 0
    assert "No ratings yet" in capsys.readouterr().out
    assert files_under(course) == []


def test_corrupt_file_is_reported_used_and_left_untouched(course, capsys):
    sa.record("02_self_attention", {"02.self-attention": 2}, when=T0)
    path = sa.ratings_path()
    with open(path, "ab") as handle:  # a hand edit, a bad rating, binary junk and a torn last line
        handle.write(b"this is not json\n")
        handle.write(
            b'{"timestamp": "2025-03-02T09:00:00+00:00", "lesson": "02_self_attention", '
            b'"objective": "02.self-attention", "rating": 7}\n'
        )
        handle.write(b"\xff\xfe\n")
        handle.write(b'{"timestamp": "2025-03-03T09:00:00+00:00", "lesson": "02_self_att')
    damaged = path.read_bytes()

    log = sa.read_ratings()
    assert [e["rating"] for e in log.events] == [2]
    assert len(log.problems) == 4
    message = log.message()
    assert str(path) in message and "line 2" in message and "line 3" in message
    assert "line 4" in message and "line 5" in message and "rating 7" in message
    assert "left as it is" in message
    assert sa.main(["--show", "--no-tests"]) == 0
    shown = capsys.readouterr().out
    assert "could not be read" in shown and "02.self-attention" in shown and "2/5" in shown
    sa.rate("02_self_attention")  # the lesson cell warns too
    assert "line 2" in capsys.readouterr().out
    assert path.read_bytes() == damaged  # reading and showing never "repair" the file

    sa.record("02_self_attention", {"02.self-attention": 5}, when=T0 + timedelta(days=5))
    assert path.read_bytes().startswith(damaged)  # nothing lost; the new line starts on its own
    log = sa.read_ratings()
    assert [e["rating"] for e in log.events] == [2, 5] and len(log.problems) == 4
    assert sa.latest_ratings(log)["02.self-attention"]["rating"] == 5


def test_an_unreadable_ratings_path_is_a_message_not_a_crash(course):
    sa.ratings_path().mkdir(parents=True)  # a folder where the file should be
    log = sa.read_ratings()
    assert log.events == [] and "could not be read" in log.message()


# ---------------------------------------------------------------------------------------------
# Scores: nbgrader feedback, autograded notebooks, local tests
# ---------------------------------------------------------------------------------------------


def test_feedback_html_is_parsed_per_grade_cell():
    scores = sa.parse_feedback_html(FEEDBACK_HTML)
    assert scores == {
        "01_a_tests": (1.0, 1.0),
        "01_b_tests_zero": (1.0, 1.0),
        "01_b_tests_two": (0.0, 2.0),
        "01_c_tests": (1.0, 1.0),
    }
    assert sa.parse_feedback_html("<html>not a feedback page</html>") == {}


def test_autograded_notebook_scores_follow_error_outputs(tmp_path):
    path = write_lesson_notebook(tmp_path / "nb.ipynb", b_right=False)
    notebook = json.loads(path.read_text())
    notebook["cells"][3]["outputs"] = [
        {"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}
    ]
    assert sa.scores_from_notebook_outputs(notebook) == {
        "01_a_tests": (0.0, 1.0),
        "01_b_tests_zero": (1.0, 1.0),
        "01_b_tests_two": (2.0, 2.0),
        "01_c_tests": (1.0, 1.0),
    }
    assert sa.exercise_groups(notebook)["01_b"] == ["01_b_tests_zero", "01_b_tests_two"]


def test_missing_feedback_folder_falls_back_to_running_the_visible_tests(small, course):
    write_lesson_notebook(course / "01_alpha" / "01_alpha.ipynb", b_right=True)
    scores = sa.lesson_scores("01_alpha", course)  # the real flowlib.grading.score_notebook
    assert scores.source == "local tests"
    assert scores.scores == {
        "01_a_tests": (0.0, 1.0),
        "01_b_tests_zero": (1.0, 1.0),
        "01_b_tests_two": (2.0, 2.0),
        "01_c_tests": (1.0, 1.0),
    }
    (course / "01_alpha" / "feedback").mkdir()  # fetched nothing yet: still local
    assert sa.lesson_scores("01_alpha", course).source == "local tests"
    page = course / "01_alpha" / "feedback" / "2025-03-01 10:00:00.000000 UTC" / "01_alpha.html"
    page.parent.mkdir()
    page.write_text(FEEDBACK_HTML)
    from_feedback = sa.lesson_scores("01_alpha", course)
    assert from_feedback.source == "feedback" and from_feedback.path == page
    assert from_feedback.scores["01_b_tests_two"] == (0.0, 2.0)
    assert sa.lesson_scores("02_beta", course).source == "none"  # no notebook, no feedback
    assert "no feedback" in sa.lesson_scores("02_beta", course).note


def test_instructor_layouts_and_a_damaged_feedback_page(small, tmp_path):
    root = tmp_path / "instructor"
    page = root / "feedback" / "s1" / "01_alpha" / "01_alpha.html"
    page.parent.mkdir(parents=True)
    page.write_text(FEEDBACK_HTML)
    assert sa.lesson_scores("01_alpha", root).source == "feedback"
    (root / "feedback" / "s2" / "01_alpha").mkdir(parents=True)
    (root / "feedback" / "s2" / "01_alpha" / "01_alpha.html").write_text("<html>garbled</html>")
    several = sa.lesson_scores("01_alpha", root, run_tests=False)
    assert several.source == "none" and "2 students" in several.note
    assert sa.lesson_scores("01_alpha", root, student="s1").source == "feedback"
    graded = root / "autograded" / "s2" / "01_alpha" / "01_alpha.ipynb"
    write_lesson_notebook(graded, b_right=True)
    assert sa.lesson_scores("01_alpha", root, student="s2").source == "autograded"


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


def session(course: Path) -> None:
    """The learner rates twice; the second time they feel sure about A, unsure about B."""
    sa.record("01_alpha", {"01.over": 3, "01.under": 3, "01.right": 3}, when=T0)
    sa.record("02_beta", {"02.talk": 2, "02.slight": 2}, when=T0)
    sa.record("01_alpha", {"01.over": 5, "01.under": 1, "01.right": 5}, when=T0 + timedelta(days=2))
    sa.record("02_beta", {"02.talk": 4, "02.slight": 3}, when=T0 + timedelta(days=2))


def test_calibration_calls_out_the_objectives_that_disagree_most(small, course):
    session(course)
    write_lesson_notebook(course / "01_alpha" / "01_alpha.ipynb", b_right=True)
    scores = {"02_beta": {"02_e_tests": (1.0, 2.0)}}
    calibration = sa.calibrate(course, scores={"01_alpha": sa.lesson_scores("01_alpha", course), **scores})
    rows = {row.objective.id: row for row in calibration.rows}
    # 01.over: rated 5 (1.0), a() is wrong: 0/1 -> gap +1.0
    assert (rows["01.over"].rating, rows["01.over"].score, rows["01.over"].verdict) == (5, 0.0, "over-confident")
    # 01.under: rated 1 (0.0), both tests of answer cell 01_b pass: 3/3 -> gap -1.0
    assert (rows["01.under"].points, rows["01.under"].max_points) == (3.0, 3.0)
    assert rows["01.under"].verdict == "under-confident"
    # 01.right: rated 5, 1/1; 02.slight: rated 3 (0.5), 1/2: about right; 02.talk: no exercises
    assert rows["01.right"].verdict == "about right" and rows["02.slight"].gap == 0.0
    assert rows["02.talk"].verdict == "no evidence" and rows["02.talk"].score is None
    worst = calibration.disagreements()
    assert [row.objective.id for row in worst] == ["01.over", "01.under"]
    summary = calibration.summary()
    assert "01.over (over-confident" in summary and "Revisit: 2. Doing A" in summary
    assert "01.under (under-confident" in summary and "Revisit: 3. Doing B; 4. More B" in summary
    assert "01.right" not in summary
    table = calibration.table()
    assert re.search(r"01.over\s+5/5\s+0%\s+over-confident", table)
    assert re.search(r"02.talk\s+4/5\s+-\s+no evidence\s+no exercises listed", table)


def test_calibration_ranks_by_size_of_disagreement_and_respects_top(small, course):
    sa.record("01_alpha", {"01.over": 4, "01.under": 2, "01.right": 1})
    scores = {"01_alpha": {"01_a_tests": (0.0, 1.0), "01_b_tests_zero": (1.0, 1.0), "01_c_tests": (1.0, 1.0)}}
    calibration = sa.calibrate(course, scores=scores)
    # gaps: over 0.75 - 0 = +0.75; under 0.25 - 1 = -0.75; right 0 - 1 = -1.0
    assert [r.objective.id for r in calibration.disagreements()] == ["01.right", "01.over", "01.under"]
    assert [r.objective.id for r in calibration.disagreements(top=1)] == ["01.right"]
    assert calibration.rows[2].revisit == ["lesson 01_alpha"]  # no sections listed: the lesson


def test_calibration_runs_no_tests_for_lessons_not_rated(small, course):
    write_lesson_notebook(course / "01_alpha" / "01_alpha.ipynb", b_right=True)
    calls = []
    calibration = sa.calibrate(course, scorer=lambda path: calls.append(path) or {})
    assert calls == [] and all(row.verdict == "not rated" for row in calibration.rows)
    assert "Nothing to compare yet" in calibration.summary()


# ---------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------


def test_progress_and_calibration_plots_render(small, course, tmp_path):
    session(course)
    calibration = sa.calibrate(
        course, scores={"01_alpha": {"01_a_tests": (0.0, 1.0), "01_b_tests_zero": (1.0, 1.0), "01_c_tests": (1.0, 1.0)}}
    )
    progress = sa.plot_progress(calibration.log, small)
    ax = progress.axes[0]
    assert ax.get_title() == "Self-ratings per objective over time"
    assert ax.get_xlabel() == "day of rating (UTC)" and ax.get_ylabel() == "objective"
    assert [t.get_text() for t in ax.get_yticklabels()] == [o.id for o in small]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2025-03-01", "2025-03-03"]
    grid = ax.images[0].get_array()
    assert grid.tolist() == [[3, 5], [3, 1], [3, 5], [2, 4], [2, 3]]  # both rounds kept, one column each
    assert progress.axes[1].get_ylabel() == "self-rating (1-5)"  # the colour bar
    picture = sa.plot_calibration(calibration)
    ax = picture.axes[0]
    assert ax.get_title() == "Calibration: self-rating vs exercise score"
    assert "score" in ax.get_xlabel() and "self-rating" in ax.get_ylabel()
    assert len(ax.collections[-1].get_offsets()) == 3  # the three objectives with evidence
    labels = {t.get_text() for t in ax.texts}
    assert {"01.over", "01.under"} <= labels and "01.right" not in labels
    out = tmp_path / "overview.png"
    sa.plot_overview(calibration, small).savefig(out)
    assert out.stat().st_size > 10_000


def test_plots_render_with_no_ratings(small, course):
    calibration = sa.calibrate(course)
    texts = [t.get_text() for t in sa.plot_progress(calibration.log, small).axes[0].texts]
    assert "no ratings yet" in texts
    assert any("nothing to compare" in t.get_text() for t in sa.plot_calibration(calibration).axes[0].texts)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def test_command_line_rate_show_plot(small, course, tmp_path, monkeypatch, capsys):
    replies = iter(["9", "4", "", "q?", "2"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(replies))
    assert sa.main(["--rate", "01_alpha", "--course", str(course)]) == 0
    out = capsys.readouterr().out
    assert "'9' is not a rating" in out and "Saved 2 rating(s)" in out
    assert {e["objective"]: e["rating"] for e in sa.read_ratings(course).events} == {"01.over": 4, "01.right": 2}
    assert sa.read_ratings(course).events[0]["via"] == "cli"

    write_lesson_notebook(course / "01_alpha" / "01_alpha.ipynb", b_right=False)
    assert sa.main(["--show", "--plot", str(tmp_path / "me.png")]) == 0
    out = capsys.readouterr().out
    assert "Your ratings (2 in" in out and "01.over" in out and "(not rated)" in out
    assert re.search(r"01.over\s+4/5\s+0%\s+over-confident\s+0/1 points from local tests", out)
    assert (tmp_path / "me.png").stat().st_size > 10_000

    monkeypatch.setattr("builtins.input", lambda prompt="": "q")
    assert sa.main(["--rate", "01_alpha"]) == 0 and "Nothing saved" in capsys.readouterr().out
    assert sa.main(["--rate", "99_nope"]) == 2 and "unknown lesson" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The objectives file itself
# ---------------------------------------------------------------------------------------------

DATA = json.loads(OBJECTIVES_FILE.read_text(encoding="utf-8"))
LESSONS = list(dict.fromkeys(o["lesson"] for o in DATA["objectives"]))


def test_objectives_file_is_well_formed():
    assert set(DATA["scale"]) == {"1", "2", "3", "4", "5"}
    ids = [o["id"] for o in DATA["objectives"]]
    assert len(ids) == len(set(ids)), f"duplicate objective ids: {sorted({i for i in ids if ids.count(i) > 1})}"
    for objective in DATA["objectives"]:
        assert set(objective) >= {"id", "lesson", "statement", "sections", "exercises"}, objective
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", objective["lesson"]), objective["lesson"]
        assert objective["id"].startswith(objective["lesson"][:2] + "."), objective["id"]
        assert objective["statement"].startswith("I can "), objective["statement"]
        assert isinstance(objective["sections"], list) and isinstance(objective["exercises"], list)
    assert len(sa.load_objectives(OBJECTIVES_FILE)) == len(ids)


def _solution(lesson: str) -> dict:
    folder = REPO / "solutions" / lesson
    if not folder.is_dir():
        pytest.fail(f"objectives.json names lesson {lesson}, but solutions/{lesson}/{lesson}.ipynb does not exist")
    return json.loads((folder / f"{lesson}.ipynb").read_text(encoding="utf-8"))


def _headings(notebook: dict) -> set[str]:
    found = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for line in source.splitlines():
            if line.startswith("#"):
                text = line.lstrip("#").strip()
                found |= {text, re.sub(r"^\d+\.\s*", "", text)}  # "1. Queries..." or "Queries..."
    return found


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_has_a_solution_notebook(lesson):
    _solution(lesson)
    assert (REPO / "solutions" / lesson / f"{lesson}.ipynb").is_file()


@pytest.mark.parametrize("lesson", LESSONS)
def test_listed_exercises_and_sections_exist_in_the_lesson(lesson):
    """Checks what is listed: passes while a lesson's lists are still empty."""
    notebook = _solution(lesson)
    grade_ids = {
        c["metadata"]["nbgrader"]["grade_id"]
        for c in notebook["cells"]
        if "grade_id" in c.get("metadata", {}).get("nbgrader", {})
    }
    headings = _headings(notebook)
    for objective in (o for o in DATA["objectives"] if o["lesson"] == lesson):
        unknown = [e for e in objective["exercises"] if e not in grade_ids]
        assert not unknown, (
            f"{objective['id']}: no grade_id {unknown} in solutions/{lesson}; it has {sorted(grade_ids)}"
        )
        missing = [s for s in objective["sections"] if s not in headings]
        assert not missing, f"{objective['id']}: no heading {missing} in solutions/{lesson}; it has {sorted(headings)}"


def test_self_assessment_notebook_runs_on_a_fresh_machine_and_writes_nothing(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    fresh = tmp_path / "fresh-course"
    fresh.mkdir()
    monkeypatch.setenv(sa.COURSE_ENV, str(fresh))
    folder = REPO / "self_assessment"
    before = sorted(p.name for p in folder.iterdir())
    notebook = nbformat.read(folder / "self_assessment.ipynb", as_version=4)
    assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"), "commit it without outputs"
    assert not any("nbgrader" in c.metadata for c in notebook.cells), "a plain notebook, not an nbgrader one"
    nbclient.NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(folder)}}).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "No ratings yet" in text and "Where your confidence and your results disagree most" in text
    assert sum("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", [])) == 1
    assert list(fresh.iterdir()) == [] and sorted(p.name for p in folder.iterdir()) == before


def test_command_line_returns_exit_codes_instead_of_exiting(course, capsys):
    assert sa.main(["--help"]) == 0 and "--rate LESSON" in capsys.readouterr().out
    assert sa.main(["--bogus"]) == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_a_rating_given_before_its_lesson_was_renumbered_still_counts(course):
    """The capstone was lesson 08 before lessons 08-12 arrived; its ratings are not lost."""
    path = sa.ratings_path()
    path.parent.mkdir(parents=True)
    path.write_text(
        '{"timestamp": "2026-11-01T09:00:00+00:00", "lesson": "08_exercises", '
        '"objective": "08.pipeline", "rating": 3}\n'
    )
    objectives = sa.load_objectives()
    assert objectives.renamed["08.pipeline"] == "13.pipeline"
    assert "13.pipeline" in objectives.by_id()
    latest = sa.latest_ratings(sa.read_ratings(), objectives)
    assert latest["13.pipeline"]["rating"] == 3
    assert set(objectives.renamed.values()) <= set(objectives.by_id())
