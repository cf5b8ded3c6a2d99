"""A lesson's page: the student notebook executed in a scratch folder, made publishable
(unanswered exercises without their errors, widgets frozen, links between lessons fixed) and
rendered with nbconvert's JupyterLab template; and the index page from the README's table."""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from flowlib.course.layout import LESSON_ID
from flowlib.course.site.sources import LessonPage, SiteError, lesson_table

EXERCISE_TAG = "raises-exception"  # the release tags answer and test cells with it, and only those
STATIC = "_static"
SITE_TITLE = "Transformers, hands on"
EXECUTE_TIMEOUT = 300  # seconds per cell, as nbgrader_config.py allows


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
        client = NotebookClient(
            nb, timeout=timeout, allow_errors=True, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        )
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
    pattern = re.compile(rf"\]\((?:\.\./)*(?:notebooks/)?(?:({LESSON_ID})/)?({LESSON_ID})\.ipynb(#[^)]*)?\)")

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
    links = "".join(
        f'<a class="{c}" href="{html.escape(h)}">{html.escape(t)}</a>'
        for h, t, c in [(h, t, "home" if i == 0 else "step") for i, (h, t) in enumerate(items)]
    )
    return f'<nav class="site-nav {cls}">{links}</nav>'


def _lesson_nav(all_lessons: list[LessonPage], position: int) -> tuple[str, str]:
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


def index_notebook(readme: str, all_lessons: list[LessonPage]):
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
