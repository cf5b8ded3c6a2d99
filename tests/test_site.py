"""The lessons as a static site (``make site``, :mod:`flowlib.course.site`), built here from scratch.

The site is built once for this module, as ``make site`` builds it, into a scratch folder, with
the student notebooks of EXECUTED run (nbval runs every one of them already; these three show
every kind of output: the doctor's table, math and heatmaps, the pretrained encoder and the
attention explorer's static picture) and the others rendered as they are. Checked: every lesson
has its page and the index links to it; no internal link, anchor, image, script or stylesheet is
broken, and nothing is loaded from the network; no solution or hidden test of ``solutions/``
shows anywhere; the executed pages carry their outputs and figures and no error; and, in
headless Chromium, the math is typeset offline and the figures are drawn. MathJax comes from the npm package cache in ``build/vendor/`` (what
``make site`` fetched) or is fetched once; where it cannot be had, only the math check is
skipped, with the reason.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from flowlib.course import site

ROOT = Path(__file__).resolve().parents[1]
FIGURE_CALL = re.compile(r"\bplt\.show\(\)|\bviz\.plot_\w+\(")
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
EXECUTED = ("00_getting_started", "02_self_attention", "05_variants_bert_gpt_t5")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME")


class Page(HTMLParser):
    """What a page links to, the ids it defines, and its visible text."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.links: list[tuple[str, str]] = []  # (tag.attribute, url)
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.images = 0
        self._skip = 0
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for attribute in ("href", "src"):
            if attrs.get(attribute) is not None and tag in ("a", "img", "script", "link", "iframe", "source"):
                self.links.append((f"{tag}.{attribute}", attrs[attribute]))
        if tag == "img" and (attrs.get("src") or "").startswith("data:image/"):
            self.images += 1
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site, built as `make site` builds it; and why math cannot be checked, if it cannot."""
    out = tmp_path_factory.mktemp("site") / "site"
    cache = ROOT / "build" / "vendor"  # what `make site` fetched; ignored by git
    try:
        site.mathjax_script(cache)
        no_math = ""
    except site.SiteError as error:
        no_math = f"MathJax could not be had here, so math is not checked: {error}"
    readme = (ROOT / "README.md").read_text()  # as the build reads it
    started = time.monotonic()
    pages = site.build(
        ROOT, out, run=EXECUTED, cache=cache, mathjax=False if no_math else None, jobs=2, log=lambda *_: None
    )
    print(f"site built in {time.monotonic() - started:.0f} s")
    return out, pages, no_math, readme


@pytest.fixture(scope="module")
def parsed(built):
    _, pages, _, _ = built
    return {page.name: Page(page) for page in pages}


def test_every_lesson_has_a_page_linked_from_the_index(built, parsed):
    out, _, _, readme = built
    lessons = site.lesson_pages(ROOT)
    for lesson in lessons:
        page = parsed.get(lesson.page)
        assert page is not None, f"no page for lesson {lesson.id} in {out}"
        assert lesson.title in page.visible, f"{lesson.page} does not show its title {lesson.title!r}"
    index = parsed["index.html"]
    linked = {url for kind, url in index.links if kind == "a.href"}
    assert {lesson.page for lesson in lessons} <= linked, f"the index links to {sorted(linked)}"
    _, rows, _ = site.lesson_table(readme)
    for row in rows:
        assert row.name in index.visible and row.summary.replace("`", "") in index.visible.replace("`", ""), (
            f"the index does not show README's row {row}"
        )


def test_no_broken_internal_link_and_nothing_from_the_network(built, parsed):
    out, _, _, _ = built
    broken, remote = [], []
    for name, page in parsed.items():
        for kind, url in page.links:
            parts = urlsplit(url)
            if parts.scheme in ("data", "mailto"):
                continue
            if parts.scheme or url.startswith("//"):
                if kind != "a.href":  # a plain link out is fine; loading anything is not
                    remote.append(f"{name}: {kind} {url}")
                continue
            target = (out / unquote(parts.path)).resolve() if parts.path else page.path
            if out.resolve() not in (target, *target.parents) or not target.is_file():
                broken.append(f"{name}: {kind} {url} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target.name].ids if target.name in parsed else Page(target).ids
                if parts.fragment not in ids and unquote(parts.fragment) not in ids:  # as browsers match
                    broken.append(f"{name}: {kind} {url} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)
    assert not remote, "pages load from the network:\n" + "\n".join(remote)


def _secret_lines(lesson: str) -> set[str]:
    """Lines of the instructor's solutions and hidden tests that the student version lacks."""
    solution = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    student = json.loads((ROOT / "notebooks" / lesson / f"{lesson}.ipynb").read_text())
    public = "\n".join("".join(cell["source"]) for cell in student["cells"])
    secret = set()
    for cell in solution["cells"]:
        for _, body in REGION.findall("".join(cell["source"])):
            secret |= {line.strip() for line in body.splitlines() if len(line.strip()) >= 12}
    return {line for line in secret if line not in public}


def test_no_solution_or_hidden_test_text(parsed):
    if not (ROOT / "solutions").is_dir():
        pytest.skip("no solutions/ here (the student edition): nothing to hide")
    leaks = []
    for lesson in site.lesson_pages(ROOT):
        text = parsed[lesson.page].visible
        leaks += [f"{lesson.page}: {marker}" for marker in MARKERS if marker in text]
        leaks += [f"{lesson.page}: {line[:100]}" for line in sorted(_secret_lines(lesson.id)) if line in text]
    assert not leaks, "solution or hidden-test text on the site:\n" + "\n".join(leaks)


def test_pages_show_outputs_and_figures_and_no_error(parsed):
    for lesson in site.lesson_pages(ROOT, EXECUTED):
        student = json.loads(lesson.notebook.read_text())
        drawing = [
            c.get("id")
            for c in student["cells"]
            if c["cell_type"] == "code"
            and FIGURE_CALL.search("".join(c["source"]))
            and "raises-exception" not in c["metadata"].get("tags", [])
        ]
        page = parsed[lesson.page]
        assert page.images >= len(drawing), (
            f"{lesson.page} shows {page.images} figure(s); its cells {drawing} draw at least {len(drawing)}"
        )
        assert "Traceback (most recent call last)" not in page.visible, f"{lesson.page} shows a traceback"


def _markdown(page: Path) -> list:
    import nbformat

    notebook = ROOT / "notebooks" / page.stem / f"{page.stem}.ipynb"
    if not notebook.is_file():
        return []
    return [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"]


def test_math_typesets_offline_and_figures_draw_in_the_browser(built, tmp_path):
    from tests.browser_helpers import artifact, chromium, console_errors, require_chromium, wait_for

    _, pages, no_math, _ = built
    if no_math:
        pytest.skip(no_math)
    require_chromium()
    with chromium(tmp_path / "profile") as driver:
        for page in pages:
            driver.get(page.as_uri())
            wait_for(lambda: driver.execute_script("return document.readyState") == "complete", f"{page.name} to load")
            wait_for(
                lambda: driver.execute_script(
                    "return !!(window.MathJax && MathJax.startup && MathJax.startup.promise);"
                ),
                f"MathJax to start on {page.name}",
                timeout=60,
            )
            driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "MathJax.startup.promise.then(() => done(true), e => done(String(e)));"
            )
            left = driver.execute_script(
                "return [...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => e.innerText)"
                ".filter(t => /\\$[^$\\s][^$]*\\$/.test(t)).map(t => t.slice(0, 120));"
            )
            assert not left, f"{page.name}: math left as TeX source: {left[:3]}"
            if "$" in "".join(c.source for c in _markdown(page)):
                assert driver.execute_script("return document.querySelectorAll('mjx-container').length;"), (
                    f"{page.name}: its lesson has math, MathJax typeset none of it"
                )
            broken = driver.execute_script(
                "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length;"
            )
            assert broken == 0, f"{page.name}: {broken} figure(s) not drawn"
            errors = console_errors(driver)
            assert not errors, f"{page.name}: JavaScript errors: {errors}"
            if page.name in ("index.html", "02_self_attention.html"):
                driver.save_screenshot(str(artifact(f"site_{page.stem}.png")))
            if page.name == "02_self_attention.html" and driver.execute_script("return document.images.length;"):
                driver.execute_script("document.images[0].scrollIntoView({block: 'center'});")
                driver.save_screenshot(str(artifact(f"site_{page.stem}_figure.png")))
