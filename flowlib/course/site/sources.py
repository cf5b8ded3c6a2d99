"""What the site is made of: the lessons, the README's lesson table, and MathJax, vendored.

MathJax 3 (SVG output, one file with its fonts built in) comes from the npm package ``mathjax``
(version and checksum pinned below), fetched once with ``npm pack`` and cached in
``build/vendor/``, or from a ``tex-svg.js`` or package tarball you already have.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flowlib.course import layout

MATHJAX_VERSION = "3.2.2"
# The npm registry's integrity string of mathjax-3.2.2.tgz: a fetched tarball must match it.
MATHJAX_INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
MATHJAX_FILE = "package/es5/tex-svg.js"
MATHJAX_LICENSE = "package/LICENSE"


class SiteError(RuntimeError):
    """The site could not be built; the message says what was expected and what was found."""


@dataclass(frozen=True)
class LessonPage:
    """One lesson as a page of the site."""

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


def lesson_pages(root: Path, wanted: Sequence[str] | None = None) -> list[LessonPage]:
    """The student notebooks ``notebooks/NN_slug/NN_slug.ipynb``, in course order."""
    import nbformat

    folder = root / layout.RELEASED
    found = layout.lessons(root, layout.RELEASED)
    if not found:
        raise SiteError(f"no lesson folders (NN_slug) in {folder}")
    unknown = [w for w in wanted or () if w not in found]
    if unknown:
        raise SiteError(f"unknown lesson(s) {unknown}; expected some of {found}")
    result = []
    for lesson in wanted or found:
        path = layout.notebook(root, lesson)
        if not path.is_file():
            raise SiteError(f"lesson folder {path.parent} has no notebook {path.name}")
        nb = nbformat.read(path, as_version=4)
        result.append(LessonPage(lesson, lesson[:2], _first_heading(nb) or lesson, path))
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
    after: list[str] = []
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
            extracted = archive.extractfile(member)
            assert extracted is not None  # a regular file of the pinned tarball (its checksum matched)
            (target / name).write_bytes(extracted.read())
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
