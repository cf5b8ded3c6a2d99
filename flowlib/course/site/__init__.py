"""The lessons as a static website: ``make site`` (``python -m flowlib.course.site``).

Every student notebook in ``notebooks/`` (the solution-free version a learner gets) is executed
top to bottom in a scratch folder, then rendered to one HTML page with nbconvert's JupyterLab
template; the lesson table of ``README.md`` becomes the index page, each row a link to its
lesson. Nothing under ``solutions/`` is read.

What a page shows
    every cell and its outputs, figures embedded in the page. An unanswered exercise is shown
    as the learner gets it (the stub and its tests) without the error it raises before it is
    solved; any other cell that raises stops the build, naming the lesson and the cell. The
    self-assessment cell shows how to rate from Python (the sliders need JupyterLab).

Math, offline
    MathJax 3 (SVG output, one file with its fonts built in) is copied into the site under
    ``_static/``, so a page typesets its math with no network. The file comes from the npm
    package ``mathjax`` (version and checksum pinned below), fetched once with ``npm pack`` and
    cached in ``build/vendor/``; ``--mathjax FILE`` uses a ``tex-svg.js`` or package tarball
    you already have.

    python -m flowlib.course.site [--out build/site] [--lessons 00_getting_started ...] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal

from flowlib.course import layout
from flowlib.course.site.pages import (
    EXECUTE_TIMEOUT,
    SITE_TITLE,
    STATIC,
    _lesson_nav,
    _link_lessons,
    _nav,
    execute,
    freeze_widgets,
    index_notebook,
    publishable,
    render,
)
from flowlib.course.site.sources import (
    MATHJAX_VERSION,
    LessonPage,
    SiteError,
    lesson_pages,
    lesson_table,
    mathjax_script,
)

__all__ = ["LessonPage", "SiteError", "build", "lesson_pages", "lesson_table", "main", "mathjax_script"]


def build(
    root: Path,
    out: Path,
    *,
    wanted: Sequence[str] | None = None,
    run: bool | Collection[str] = True,
    mathjax: Path | Literal[False] | None = None,
    cache: Path | None = None,
    jobs: int = 1,
    timeout: int = EXECUTE_TIMEOUT,
    log=print,
) -> list[Path]:
    """Build the site into ``out`` (replaced); return the pages written, index first.

    ``run``: execute every notebook (``True``), none (``False``: rendered as they are), or
    only the lessons whose ids it holds.
    ``mathjax``: the MathJax file or tarball to use (default: cached, else fetched with npm);
    ``False`` builds without it (the math then shows as TeX source: for tests only).
    """
    import nbformat

    root, out = Path(root).resolve(), Path(out).resolve()
    all_lessons = lesson_pages(root, wanted)
    script = None if mathjax is False else mathjax_script(cache or root / "build" / "vendor", mathjax)
    readme = (root / "README.md").read_text(encoding="utf-8")
    index_nb = index_notebook(readme, all_lessons)  # fails early if the README's table lacks a lesson

    started = time.monotonic()
    known = {lesson.id for lesson in all_lessons}
    if not isinstance(run, bool) and set(run) - known:
        raise SiteError(
            f"asked to execute unknown lesson(s) {sorted(set(run) - known)}; "
            f"expected some of {[lesson.id for lesson in all_lessons]}"
        )
    running = [lesson for lesson in all_lessons if run is True or (run is not False and lesson.id in run)]
    done = execute([lesson.notebook for lesson in running], timeout, jobs, log) if running else {}
    executed = {
        lesson.id: done[lesson.notebook] if lesson.notebook in done else nbformat.read(lesson.notebook, as_version=4)
        for lesson in all_lessons
    }

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / STATIC / "mathjax").mkdir(parents=True)
    if script is not None:
        shutil.copy2(script, staging / STATIC / "mathjax" / "tex-svg.js")
        licence = script.with_name("LICENSE")
        if licence.is_file():
            shutil.copy2(licence, staging / STATIC / "mathjax" / "LICENSE")
    (staging / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ as it is

    pages = [staging / "index.html"]
    math = script is not None
    pages[0].write_text(
        render(index_nb, SITE_TITLE, (_nav([("index.html", SITE_TITLE)], "top"), ""), math), encoding="utf-8"
    )
    for position, lesson in enumerate(all_lessons):
        nb = publishable(executed[lesson.id], lesson.id)
        freeze_widgets(nb)
        _link_lessons(nb, known)
        page = staging / lesson.page
        page.write_text(render(nb, lesson.title, _lesson_nav(all_lessons, position), math), encoding="utf-8")
        pages.append(page)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    log(f"site: {len(pages)} pages in {out} ({time.monotonic() - started:.0f} s)")
    return [out / page.name for page in pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flowlib.course.site", description="Build the lessons as a static site."
    )
    parser.add_argument("--root", type=Path, default=layout.INSTALLED, help="the course folder")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <root>/build/site)")
    parser.add_argument("--lessons", nargs="*", default=None, help="lesson ids (default: all)")
    parser.add_argument(
        "--no-execute", action="store_true", help="render the notebooks as they are, without running them"
    )
    parser.add_argument(
        "--mathjax", type=Path, default=None, help=f"mathjax-{MATHJAX_VERSION}.tgz or its es5/tex-svg.js"
    )
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="notebooks executed at once")
    args = parser.parse_args(argv)
    try:
        build(
            args.root,
            args.out or args.root / "build" / "site",
            wanted=args.lessons,
            run=not args.no_execute,
            mathjax=args.mathjax,
            jobs=args.jobs,
        )
    except SiteError as error:
        print(f"flowlib.course.site: {error}", file=sys.stderr)
        return 2
    return 0
