"""The lessons as a static website: ``make site`` (``python -m flowlib.site``).

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

    python -m flowlib.site [--out build/site] [--lessons 00_getting_started ...] [--jobs 2]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

LESSON_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+$")
EXERCISE_TAG = "raises-exception"  # the release tags answer and test cells with it, and only those
MATHJAX_VERSION = "3.2.2"
# The npm registry's integrity string of mathjax-3.2.2.tgz: a fetched tarball must match it.
MATHJAX_INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
MATHJAX_FILE = "package/es5/tex-svg.js"
MATHJAX_LICENSE = "package/LICENSE"
STATIC = "_static"
SITE_TITLE = "Transformers, hands on"
EXECUTE_TIMEOUT = 300  # seconds per cell, as nbgrader_config.py allows


class SiteError(RuntimeError):
    """The site could not be built; the message says what was expected and what was found."""


@dataclass(frozen=True)
class Lesson:
    id: str  # 02_self_attention
    number: str  # 02
    title: str  # "02 · Self-attention" (the notebook's first heading)
    notebook: Path

    @property
    def page(self) -> str:
        return f"{self.id}.html"


@dataclass(frozen=True)
class LessonRow:
    number: str
    name: str
    summary: str


# ---------------------------------------------------------------------------------------------
# What goes in: the lessons and the README's lesson table
# ---------------------------------------------------------------------------------------------


def lessons(root: Path, wanted: Sequence[str] | None = None) -> list[Lesson]:
    """The student notebooks ``notebooks/NN_slug/NN_slug.ipynb``, in course order."""
    import nbformat

    folder = root / "notebooks"
    found = sorted(p.name for p in folder.iterdir() if p.is_dir() and LESSON_PATTERN.match(p.name)) if folder.is_dir() else []
    if not found:
        raise SiteError(f"no lesson folders (NN_slug) in {folder}")
    unknown = [w for w in wanted or () if w not in found]
    if unknown:
        raise SiteError(f"unknown lesson(s) {unknown}; expected some of {found}")
    result = []
    for lesson in wanted or found:
        path = folder / lesson / f"{lesson}.ipynb"
        if not path.is_file():
            raise SiteError(f"lesson folder {path.parent} has no notebook {path.name}")
        nb = nbformat.read(path, as_version=4)
        result.append(Lesson(lesson, lesson[:2], _first_heading(nb) or lesson, path))
    return result


def _first_heading(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*$", cell.source, re.M)
            if match:
                return match.group(1)
    return ""


def lesson_table(readme: str) -> tuple[str, list[LessonRow], str]:
    """Split the README at its lesson table (``| # | notebook | you will |``).

    Returns the text before the table, the rows, and the paragraph right after it.
    """
    lines = readme.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^\|\s*#\s*\|", line)), None)
    if start is None:
        raise SiteError("README.md has no lesson table (a Markdown table whose first column is '#')")
    end = start + 2  # header and separator
    rows = []
    while end < len(lines) and lines[end].startswith("|"):
        cells = [c.strip() for c in lines[end].strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d\d", cells[0]):
            rows.append(LessonRow(cells[0], cells[1], " | ".join(cells[2:])))
        end += 1
    after = []
    for line in lines[end:]:
        if line.startswith("#"):
            break
        if not line.strip() and after:
            break
        if line.strip():
            after.append(line)
    return "\n".join(lines[:start]).strip(), rows, "\n".join(after)


# ---------------------------------------------------------------------------------------------
# MathJax, vendored
# ---------------------------------------------------------------------------------------------


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def mathjax_script(cache: Path, given: Path | None = None) -> Path:
    """MathJax's ``tex-svg.js``: ``given`` (the file or the npm tarball), else the cached copy,
    else fetched once with ``npm pack mathjax@VERSION`` into ``cache``."""
    if given is not None:
        given = Path(given)
        if given.suffix == ".js":
            if not given.is_file():
                raise SiteError(f"--mathjax {given}: no such file")
            return given
        tarball = given
    else:
        unpacked = cache / f"mathjax-{MATHJAX_VERSION}" / "tex-svg.js"
        if unpacked.is_file():
            return unpacked
        tarball = cache / f"mathjax-{MATHJAX_VERSION}.tgz"
        if not tarball.is_file():
            _npm_pack(cache)
    data = Path(tarball).read_bytes()
    if _integrity(data) != MATHJAX_INTEGRITY:
        raise SiteError(f"{tarball} is not mathjax-{MATHJAX_VERSION}.tgz: its checksum differs from the pinned one")
    target = cache / f"mathjax-{MATHJAX_VERSION}"
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member, name in ((MATHJAX_FILE, "tex-svg.js"), (MATHJAX_LICENSE, "LICENSE")):
            (target / name).write_bytes(archive.extractfile(member).read())
    return target / "tex-svg.js"


def _npm_pack(cache: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError(
            "the site's math needs MathJax, fetched once with npm, and npm is not installed: install Node.js "
            f"(Debian: apt-get install npm), or pass --mathjax with mathjax-{MATHJAX_VERSION}.tgz or its es5/tex-svg.js"
        )
    cache.mkdir(parents=True, exist_ok=True)
    command = [npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--pack-destination", str(cache), "--silent"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise SiteError(f"`{' '.join(command[:3])}` did not finish in 300 s (is the npm registry reachable?)") from None
    if done.returncode != 0 or not (cache / f"mathjax-{MATHJAX_VERSION}.tgz").is_file():
        raise SiteError(
            f"`npm pack mathjax@{MATHJAX_VERSION}` failed (exit {done.returncode}); is the npm registry reachable? "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        )


# ---------------------------------------------------------------------------------------------
# Executing a lesson and making it publishable
# ---------------------------------------------------------------------------------------------


def execute(notebooks: Sequence[Path], timeout: int = EXECUTE_TIMEOUT, jobs: int = 1, log=print) -> dict[Path, object]:
    """Run student notebooks top to bottom, ``jobs`` at a time, each in a scratch copy of its
    folder; return them executed, by path.

    The kernels get a scratch course folder (ratings go nowhere real) and no widgets, so the
    self-assessment cell prints how to rate instead of showing sliders a static page cannot keep.
    """
    import asyncio

    started = time.monotonic()

    async def run_all():
        gate = asyncio.Semaphore(max(1, jobs))

        async def run(path: Path):
            async with gate:
                nb = await _execute_one(path, timeout)
                log(f"executed {path.parent.name} ({time.monotonic() - started:.0f} s)")
                return path, nb

        return dict(await asyncio.gather(*(run(Path(path)) for path in notebooks)))

    return asyncio.run(run_all())


async def _execute_one(notebook: Path, timeout: int):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="flowlib-site-") as scratch:
        course = Path(scratch) / "course"
        work = course / notebook.parent.name
        shutil.copytree(notebook.parent, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
        env = {**os.environ, **_KERNEL_ENV, "FLOWLIB_COURSE_DIR": str(course)}
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}})
        await client.async_execute(env=env)
        _replace_paths(nb, {str(course): "<course>", str(Path(scratch)): "<scratch>"})
    return nb


_KERNEL_ENV = {"FLOWLIB_NO_WIDGETS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _replace_paths(nb, replacements: dict[str, str]) -> None:
    def fix(text: str) -> str:
        for old, new in replacements.items():
            text = text.replace(old, new)
        return text

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = fix(output["text"])
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = fix(value)


def is_exercise(cell) -> bool:
    return EXERCISE_TAG in cell.get("metadata", {}).get("tags", [])


def publishable(nb, lesson: str):
    """Drop the errors of unanswered exercises; any other error is a broken lesson (raise)."""
    broken = []
    for index, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        if is_exercise(cell):
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
        else:
            broken.append(f"cell {index} ({cell.get('id', '?')}): {errors[0].get('ename')}: {errors[0].get('evalue')}")
    if broken:
        raise SiteError(f"lesson {lesson} has cells that raise outside its exercises: " + "; ".join(broken))
    return nb


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def freeze_widgets(nb) -> None:
    """Show each widget output (a training progress bar) as a static picture of its final state.

    A static page has no kernel to talk to, and the text fallback a widget leaves is its first
    state (a bar at 0%); the final state is in the notebook's widget metadata.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                picture = _widget_html(str(data[WIDGET_VIEW].get("model_id", "")), state)
                output["data"] = {"text/html": picture} if picture else {"text/plain": data.get("text/plain", "")}
    nb.metadata.pop("widgets", None)


def _widget_html(model_id: str, state: dict, depth: int = 0) -> str:
    model = state.get(model_id.removeprefix("IPY_MODEL_"))
    if model is None or depth > 20:
        return ""
    name, values = model.get("model_name", ""), model.get("state", {})
    if name in ("HBoxModel", "VBoxModel", "BoxModel"):
        parts = "".join(_widget_html(str(child), state, depth + 1) for child in values.get("children", []))
        direction = "row" if name == "HBoxModel" else "column"
        style = f"display:flex;flex-direction:{direction};gap:0.5em;align-items:center"
        return f'<div class="site-widget" style="{style}">{parts}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<span>{values.get('value', '')}</span>"
    if name == "LabelModel":
        return f"<span>{html.escape(str(values.get('value', '')))}</span>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        low, high, value = (float(values.get(k) or 0) for k in ("min", "max", "value"))
        return f'<progress value="{value - low:g}" max="{max(high - low, 0):g}"></progress>'
    return ""


def _link_lessons(nb, known: set[str]) -> None:
    """A Markdown link to another lesson's notebook points at its page instead."""
    pattern = re.compile(r"\]\((?:\.\./)*(?:notebooks/)?(?:(\d\d_[a-z0-9_]+)/)?(\d\d_[a-z0-9_]+)\.ipynb(#[^)]*)?\)")

    def fix(match: re.Match) -> str:
        lesson = match.group(2)
        return f"]({lesson}.html{match.group(3) or ''})" if lesson in known else match.group(0)

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = pattern.sub(fix, cell.source)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: 'jp-InputArea|jp-OutputArea', processHtmlClass: 'jp-RenderedMarkdown|jp-MarkdownOutput'},
  svg: {fontCache: 'global'}
};
</script>
{%- if resources.site.mathjax %}
<script defer src="{{ resources.site.static }}/mathjax/tex-svg.js"></script>
{%- endif %}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}
<style type="text/css">
nav.site-nav { display: flex; gap: 1.5em; align-items: baseline; flex-wrap: wrap; max-width: 1100px;
  margin: 0 auto; padding: 0.8em 1em; font-family: var(--jp-ui-font-family); font-size: 14px;
  border-bottom: 1px solid var(--jp-border-color2); }
nav.site-nav.bottom { border-bottom: none; border-top: 1px solid var(--jp-border-color2); margin-top: 2em; }
nav.site-nav .home { font-weight: bold; margin-right: auto; }
nav.site-nav a { color: var(--jp-content-link-color); text-decoration: none; }
main { max-width: 1100px; margin: 0 auto; }
.site-index table { border-collapse: collapse; }
.site-index td, .site-index th { text-align: left; vertical-align: top; padding: 0.35em 0.8em; }
</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.site.nav_top }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.site.nav_bottom }}
{{ super() }}
{% endblock body_footer %}
"""


def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"course-site.html.j2": _TEMPLATE})],
        template_file="course-site.html.j2",
    )
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.anchor_link_text = "¶"
    return exporter


def _nav(items: list[tuple[str, str]], cls: str) -> str:
    links = "".join(f'<a class="{c}" href="{html.escape(h)}">{html.escape(t)}</a>' for h, t, c in
                    [(h, t, "home" if i == 0 else "step") for i, (h, t) in enumerate(items)])
    return f'<nav class="site-nav {cls}">{links}</nav>'


def _lesson_nav(all_lessons: list[Lesson], position: int) -> tuple[str, str]:
    items = [("index.html", SITE_TITLE)]
    if position > 0:
        previous = all_lessons[position - 1]
        items.append((previous.page, f"← {previous.title}"))
    if position + 1 < len(all_lessons):
        following = all_lessons[position + 1]
        items.append((following.page, f"{following.title} →"))
    return _nav(items, "top"), _nav(items, "bottom")


def render(nb, title: str, nav: tuple[str, str], mathjax: bool = True) -> str:
    nb.metadata["title"] = title
    site = {"static": STATIC, "nav_top": nav[0], "nav_bottom": nav[1], "mathjax": mathjax}
    body, _ = _exporter().from_notebook_node(nb, resources={"site": site})
    return body


def index_notebook(readme: str, all_lessons: list[Lesson]):
    """The index page as a one-cell notebook: the README's opening and its lesson table, linked."""
    import nbformat

    intro, rows, after = lesson_table(readme)
    by_number = {lesson.number: lesson for lesson in all_lessons}
    missing = [lesson.id for lesson in all_lessons if lesson.number not in {row.number for row in rows}]
    if missing:
        raise SiteError(f"README.md's lesson table has no row for {missing}")
    table = ["| # | lesson | you will |", "|---|---|---|"]
    for row in rows:
        lesson = by_number.get(row.number)
        name = f"[{row.name}]({lesson.page})" if lesson else row.name
        table.append(f"| {row.number} | {name} | {row.summary} |")
    text = "\n\n".join(part for part in (intro, "\n".join(table), after) if part)
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = ["site-index"]
    return nbformat.v4.new_notebook(cells=[cell], metadata={"title": SITE_TITLE})


# ---------------------------------------------------------------------------------------------
# The whole site
# ---------------------------------------------------------------------------------------------


def build(
    root: Path,
    out: Path,
    *,
    wanted: Sequence[str] | None = None,
    run: bool | Collection[str] = True,
    mathjax: Path | bool | None = None,
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
    all_lessons = lessons(root, wanted)
    script = None if mathjax is False else mathjax_script(cache or root / "build" / "vendor", mathjax or None)
    readme = (root / "README.md").read_text(encoding="utf-8")
    index_nb = index_notebook(readme, all_lessons)  # fails early if the README's table lacks a lesson

    started = time.monotonic()
    if not isinstance(run, bool) and set(run) - {lesson.id for lesson in all_lessons}:
        raise SiteError(f"asked to execute unknown lesson(s) {sorted(set(run) - {l.id for l in all_lessons})}; "
                        f"expected some of {[lesson.id for lesson in all_lessons]}")
    running = [lesson for lesson in all_lessons if run is True or (run is not False and lesson.id in run)]
    done = execute([lesson.notebook for lesson in running], timeout, jobs, log) if running else {}
    executed = {lesson.id: done[lesson.notebook] if lesson.notebook in done else nbformat.read(lesson.notebook, as_version=4)
                for lesson in all_lessons}

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / STATIC / "mathjax").mkdir(parents=True)
    if script is not None:
        shutil.copy2(script, staging / STATIC / "mathjax" / "tex-svg.js")
        licence = script.with_name("LICENSE")
        if licence.is_file():
            shutil.copy2(licence, staging / STATIC / "mathjax" / "LICENSE")
    (staging / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ as it is

    known = {lesson.id for lesson in all_lessons}
    pages = [staging / "index.html"]
    math = script is not None
    pages[0].write_text(render(index_nb, SITE_TITLE, (_nav([("index.html", SITE_TITLE)], "top"), ""), math), encoding="utf-8")
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
    parser = argparse.ArgumentParser(prog="python -m flowlib.site", description="Build the lessons as a static site.")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent, help="the course folder")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <root>/build/site)")
    parser.add_argument("--lessons", nargs="*", default=None, help="lesson ids (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="render the notebooks as they are, without running them")
    parser.add_argument("--mathjax", type=Path, default=None, help=f"mathjax-{MATHJAX_VERSION}.tgz or its es5/tex-svg.js")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="notebooks executed at once")
    args = parser.parse_args(argv)
    try:
        build(args.root, args.out or args.root / "build" / "site", wanted=args.lessons, run=not args.no_execute,
              mathjax=args.mathjax, jobs=args.jobs)
    except SiteError as error:
        print(f"flowlib.site: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
