"""`flowlib`'s command line: what the README documents parses as it says."""

import pytest

from flowlib.course import cli, instructor


@pytest.mark.parametrize(
    "argv",
    [
        ["instructor", "autograde", "--student", "S", "02_self_attention"],  # the README's order
        ["instructor", "autograde", "02_self_attention", "--student", "S"],
    ],
)
def test_autograde_takes_options_before_or_after_the_lessons(argv, monkeypatch, capsys):
    asked = {}

    class Run:
        reports, refused, ok = [], [], True

    def autograde(root, lessons, students, **options):
        asked.update(lessons=lessons, students=students, **options)
        return Run()

    monkeypatch.setattr(instructor, "autograde", autograde)
    assert cli.main(argv) == 0
    assert asked["lessons"] == ["02_self_attention"] and asked["students"] == ["S"]
    assert "graded 0 submission(s)" in capsys.readouterr().out


def test_an_unknown_instructor_option_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["instructor", "autograde", "--nonsense"])
    assert stopped.value.code == 2
    assert "unrecognized arguments: --nonsense" in capsys.readouterr().err
