"""``flowlib`` on the command line: the course's own commands.

flowlib lab [JUPYTER OPTION ...]    open the course in JupyterLab (what `make lab` runs),
                                    e.g. `flowlib lab --port 8899 --no-browser`
flowlib doctor                      is this machine ready for the course?
flowlib self-assess --show          your ratings and how they compare with your scores
flowlib check [LESSON ...]          your machine, then your answers (visible tests), points per exercise
flowlib update [FOLDER]             the course's new version; every cell you edited stays as it is
flowlib instructor release [LESSON ...]     regenerate notebooks/ from solutions/
flowlib instructor collect FOLDER_OR_ZIP    import an LMS download into submitted/
flowlib instructor collect --exchange DIR   import from nbgrader's exchange
flowlib instructor autograde [LESSON ...]   grade submitted/<student>/<lesson>/
flowlib instructor similarity [LESSON ...] compare code answers: reports/similarity/<lesson>.html
flowlib instructor feedback [LESSON ...]    HTML feedback into feedback/
flowlib instructor export [--to grades.csv] all grades as CSV
flowlib instructor student-edition OUT [--exchange DIR]   what learners get (no answer key)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flowlib.course import instructor, layout

LAB_USAGE = """usage: flowlib lab [JUPYTER OPTION ...]

Open the course in JupyterLab, rooted at the course folder and opening on notebooks/.
Every option is passed on to `jupyter lab` (see `jupyter lab --help-all`), for example:

    flowlib lab --port 8899 --no-browser
    make lab ARGS="--port 8899 --no-browser"
"""


def lab_command(root: Path, *extra: str) -> list[str]:
    """The command that serves the course: JupyterLab rooted at the course folder (so nbgrader
    finds its configuration and the self-assessment), opening on ``notebooks/``; ``extra`` are
    Jupyter's own options (they come last, so they win)."""
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        f"--ServerApp.root_dir={root}",
        "--LabApp.default_url=/lab/tree/notebooks",
        *extra,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        command.append("--allow-root")  # JupyterLab refuses root without it
    return command


def lab_env(root: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment JupyterLab runs in. In the student edition, its learner-only Jupyter
    settings (``.jupyter-config/``: Validate only, no Formgrader) come first on Jupyter's path."""
    env = dict(os.environ if environ is None else environ)
    learner = Path(root) / layout.LEARNER_JUPYTER_CONFIG
    if learner.is_dir():
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(learner), env.get("JUPYTER_CONFIG_PATH")]))
    return env


def lab_main(argv: list[str]) -> int:
    """``flowlib lab [JUPYTER OPTION ...]``: every option goes to ``jupyter lab`` unchanged."""
    if argv[:1] in (["-h"], ["--help"]):
        print(LAB_USAGE, end="")
        return 0
    root = layout.course_root()
    os.chdir(root)  # nbgrader's Validate reads nbgrader_config.py from the server's folder
    command = lab_command(root, *argv)
    os.execve(command[0], command, lab_env(root))
    return 0  # not reached


def _doctor(args: argparse.Namespace) -> int:
    from flowlib.course.doctor import doctor

    return 0 if all(check.ok for check in doctor()) else 1


def _instructor(args: argparse.Namespace) -> int:
    root = layout.course_root()
    if args.step == "release":
        done = instructor.release(root, args.lessons, force=args.force)
        print(f"released {len(done)} lesson(s) into notebooks/: {', '.join(done)}")
    elif args.step == "collect":
        report = instructor.collect(root, args.lessons, args.exchange, args.course)
        print(report.summary())
        return 0 if report.ok else 3
    elif args.step == "autograde":
        run = instructor.autograde(
            root,
            args.lessons,
            args.student,
            jobs=args.jobs,
            scheduler=args.scheduler,
            force=args.force,
            full=args.full,
        )
        graded = sum(r.status == "graded" for r in run.reports)
        print(f"graded {graded} submission(s); {len(run.reports) - graded} failed; {len(run.refused)} refused")
        return 0 if run.ok else 3
    elif args.step == "similarity":
        written = instructor.similarity(root, args.lessons)
        print("\n".join(f"similarity report: {path}" for path in written) or "no submissions to compare")
    elif args.step == "feedback":
        done = instructor.feedback(root, args.lessons)
        print(f"feedback written to feedback/ for: {', '.join(done)}")
    elif args.step == "export":
        print(f"grades exported to {instructor.export(root, Path(args.to))}")
    elif args.step == "student-edition":
        from flowlib.course import edition

        if len(args.lessons) != 1:
            raise instructor.InstructorError("usage: flowlib instructor student-edition OUT [--exchange DIR]")
        try:
            out = edition.build(root, Path(args.lessons[0]), exchange=args.exchange)
        except edition.EditionError as error:
            raise instructor.InstructorError(str(error)) from error
        print(edition.summary(out))
    return 0


def _instructor_options() -> argparse.ArgumentParser:
    """The options of ``flowlib instructor`` (a parent parser: the subcommand's help and its parsing share them)."""
    teach = argparse.ArgumentParser(add_help=False)
    teach.add_argument(
        "step", choices=["release", "collect", "autograde", "similarity", "feedback", "export", "student-edition"]
    )
    teach.add_argument(
        "lessons", nargs="*", help="lesson ids such as 02_self_attention (default: all); for `collect`: the download"
    )
    teach.add_argument("--exchange", help="`collect` from nbgrader's exchange folder (e.g. /srv/nbgrader/exchange)")
    teach.add_argument(
        "--course", default=layout.COURSE_ID, help=f"course id in the exchange (default: {layout.COURSE_ID})"
    )
    teach.add_argument("--to", default="grades.csv", help="CSV file for `export` (default: grades.csv)")
    teach.add_argument(
        "--force",
        action="store_true",
        help="`release` even over edited student notebooks (copied to backups/<timestamp>/ first); "
        "`autograde` even what was graded already",
    )
    teach.add_argument("--student", action="append", help="`autograde` only this learner (repeatable)")
    teach.add_argument(
        "--jobs", type=int, help="`autograde` this many submissions at once (default: the number of cores)"
    )
    teach.add_argument("--scheduler", help="`autograde` on the Dask cluster at this address (e.g. tcp://10.0.0.5:8786)")
    teach.add_argument(
        "--full",
        action="store_true",
        help="`autograde` running every cell of each lesson, not only those its graded cells need "
        "(with --force: regrade what was graded sliced)",
    )
    teach.set_defaults(run=_instructor)
    return teach


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="flowlib", description="The transformers course's commands.")
    commands = top.add_subparsers(dest="command", required=True)

    # `lab` passes every option on to `jupyter lab` (lab_main); listed here for --help.
    commands.add_parser("lab", help="open the course in JupyterLab (options go to `jupyter lab`)", add_help=False)

    commands.add_parser("doctor", help="check this machine").set_defaults(run=_doctor)

    # `self-assess` has its own options (flowlib.course.self_assessment.main); listed here for --help.
    commands.add_parser("self-assess", help="rate yourself; see ratings and calibration (try --help)", add_help=False)
    commands.add_parser(
        "check", help="your machine, then your answers: points per exercise (try --help)", add_help=False
    )
    commands.add_parser(
        "update", help="bring in the course's new version; your edited cells stay (try --help)", add_help=False
    )

    commands.add_parser("instructor", parents=[_instructor_options()], help="release, autograde, feedback, export")
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["lab"]:  # a CourseError (InstructorError is one) ends a command with its message
        try:
            return lab_main(argv[1:])
        except layout.CourseError as error:
            print(f"flowlib: {error}", file=sys.stderr)
            return 2
    if argv[:1] == ["self-assess"]:
        from flowlib.course import self_assessment

        return self_assessment.main(argv[1:])
    if argv[:1] in (["check"], ["update"]):  # the learner's commands (student edition), with their own options
        try:
            if argv[0] == "check":
                from flowlib.course.validation import main as check

                return check(argv[1:])
            from flowlib.course.update import main as update

            return update(argv[1:])
        except layout.CourseError as error:
            print(f"flowlib: {error}", file=sys.stderr)
            return 2
    if argv[:1] == ["instructor"]:  # options before or after the lessons: `autograde --student S LESSON`
        instructor_parser = argparse.ArgumentParser(prog="flowlib instructor", parents=[_instructor_options()])
        args = instructor_parser.parse_intermixed_args(argv[1:])
    else:
        args = parser().parse_args(argv)
    try:
        return args.run(args)
    except layout.CourseError as error:
        print(f"flowlib: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
