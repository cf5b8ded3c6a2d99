"""``flowlib update``: a new version of the course reaches a learner without touching their work.

The way nbgitpuller does it on JupyterHub, but cell by cell. The edition's manifest
(``.flowlib-edition.json``) holds a hash of every file and of every notebook cell *as the course
shipped them*; comparing the learner's folder with it tells their edits from the course's:

* a lesson the learner does not have arrives whole; so does a file the learner deleted (the
  report says so);
* a notebook is merged cell by cell (:mod:`flowlib.course.merge`): cells the learner did not
  touch take the new version, cells they edited stay (the course's new version in a marked cell
  below when the course changed them too), cells they deleted stay deleted (the report shows
  the course's new text when the course changed them);
* a lesson the learner renamed or copied is recognised by its cell ids (:func:`find_copies`) and
  merged the same way; a renamed one is not brought back under its old name;
* any other course file: replaced if untouched, kept if the learner changed it (the course's
  version beside it, under ``.flowlib/update/``, and the report names it);
* the learner's own files, ratings (``.flowlib/``) and checkpoints are never touched; every
  notebook is written whole to a new file that then replaces the old one;
* the report is printed, and kept in ``.flowlib/update/<time>/report.txt`` when it holds
  something to act on (kept edits, deleted cells the course changed, files that got no update).

The new version comes from a folder (an unpacked download, a fresh clone) or, by default, from
the git remote the edition was cloned from (``git fetch``; the branch then points at the new
version, so ``git status`` shows exactly the learner's own changes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flowlib.course import layout
from flowlib.course.edition import MANIFEST, EditionError, read_manifest, sha256
from flowlib.course.merge import merge_notebook

KEPT = Path(".flowlib") / "update"  # where the course's version of a file the learner changed is put
COPY_SHARE = 0.5  # a notebook of the learner's holding this share of a lesson's cell ids is a copy of it
RELOAD = (
    "A notebook open in JupyterLab still shows what it held before the update: reload it "
    "(File > Reload Notebook from Disk) before you save it again."
)


@dataclass
class UpdateReport:
    """What an update did, for the learner to read."""

    version: str = ""
    added: list[str] = field(default_factory=list)  # files that arrived (new lessons, restored files)
    updated: list[str] = field(default_factory=list)  # course files replaced (untouched by the learner)
    merged: list[str] = field(default_factory=list)  # notebooks merged cell by cell
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the learner's edits the course also changed (cells, files)
    deleted: list[tuple[str, str, str]] = field(default_factory=list)  # (notebook, cell id, the course's new text)
    notes: list[str] = field(default_factory=list)  # files that got no update or came back, and why
    new_cells: int = 0
    updated_cells: int = 0
    saved: str = ""  # where this report is kept, when it has something to read later

    def lines(self) -> list[str]:
        out = [f"updated to course version {self.version}"]
        for title, items in (
            ("new", self.added),
            ("updated", self.updated),
            ("merged cell by cell", self.merged),
            ("removed (you had not changed them)", self.removed),
        ):
            if items:
                out.append(f"{title}: {', '.join(items)}")
        out.append(
            f"{self.new_cells} new cell(s) arrived, {self.updated_cells} cell(s) you had not touched were updated"
        )
        if self.kept:
            out.append("kept your version where the course changed something you had edited:")
            out.extend(f"  {item}" for item in self.kept)
        if self.deleted:
            out.append("cells you had deleted stay deleted; the course changed them, and this is their new text:")
            for notebook, cell_id, text in self.deleted:
                out.append(f"  {notebook}, cell {cell_id}:")
                out.extend(f"    | {line}" for line in text.splitlines() or [""])
        out.extend(self.notes)
        if self.merged:
            out.append(RELOAD)
        if self.saved:
            out.append(f"(this report is kept in {self.saved})")
        return out


def _hash_file(path: Path) -> str:
    return sha256(path.read_bytes())


def _read_notebook(path: Path) -> dict | None:
    """The notebook's JSON, or ``None`` when it is not a readable notebook."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return notebook if isinstance(notebook, dict) and isinstance(notebook.get("cells"), list) else None


def _notebooks_of(folder: Path) -> Iterator[Path]:
    """The notebooks under ``folder``, hidden folders (``.venv``, ``.git``, checkpoints) left out."""
    for here, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith(".") and name != "__pycache__")
        yield from (Path(here) / name for name in sorted(files) if name.endswith(".ipynb"))


def find_copies(folder: Path, base: dict, course_files: set[str]) -> dict[str, list[str]]:
    """The learner's renamed or copied lessons: ``{course notebook: [learner's notebooks]}``.

    A notebook that is not a course file is a copy of the shipped notebook whose cell ids it
    shares most, when it holds at least :data:`COPY_SHARE` of them."""
    shipped = {path: set(cells) for path, cells in base.get("cells", {}).items() if cells}
    copies: dict[str, list[str]] = {}
    for path in _notebooks_of(folder):
        relative = path.relative_to(folder).as_posix()
        notebook = None if relative in course_files else _read_notebook(path)
        if notebook is None:
            continue
        ids = {str(cell["id"]) for cell in notebook["cells"] if isinstance(cell, dict) and cell.get("id")}
        share, original = max(((len(ids & cells) / len(cells), p) for p, cells in shipped.items()), default=(0.0, ""))
        if share >= COPY_SHARE:
            copies.setdefault(original, []).append(relative)
    return copies


def _write_json(path: Path, notebook: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def _merge_into(folder: Path, relative: str, base: dict[str, str], new: dict, report: UpdateReport, label: str) -> None:
    """Merge the course's ``new`` notebook into the learner's ``relative`` one; record it in ``report``."""
    mine = _read_notebook(folder / relative)
    if mine is None:
        report.notes.append(
            f"{relative} got no update: it is not a notebook JupyterLab can read (not valid JSON). "
            "Repair it, or move it away and run the update again to get the course's version."
        )
        return
    merged = merge_notebook(mine, base, new, report.version)
    if merged.notebook != mine:
        _write_json(folder / relative, merged.notebook)
        report.merged.append(label)
    report.new_cells += merged.new_cells
    report.updated_cells += merged.updated_cells
    report.kept.extend(
        f"{relative}: cell {cell_id} (the course's new version is in the cell marked 'Course update' below it)"
        for cell_id in merged.kept
    )
    report.deleted.extend((relative, cell_id, text) for cell_id, text in merged.deleted)


def apply(folder: Path, source: Path) -> UpdateReport:
    """Bring the edition in ``source`` into the learner's ``folder``; return what was done."""
    folder, source = Path(folder).resolve(), Path(source).resolve()
    base, new = read_manifest(folder), read_manifest(source)
    report = UpdateReport(version=new.get("version", "?"))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    copies = find_copies(folder, base, set(base["files"]) | set(new["files"]))
    for path, new_hash in sorted(new["files"].items()):
        target, incoming = folder / path, source / path
        base_hash = base["files"].get(path)
        is_notebook = path.endswith(".ipynb") and path in new.get("cells", {})
        theirs = json.loads(incoming.read_text(encoding="utf-8")) if is_notebook else {}
        shipped = base.get("cells", {}).get(path, {})
        for copied in copies.get(path, []):
            _merge_into(folder, copied, shipped, theirs, report, f"{copied} (your copy of {path})")
        if not target.exists():
            if copies.get(path):
                report.notes.append(
                    f"{path} was not brought back: you renamed it to {', '.join(copies[path])}, which got "
                    "the update. Move your copy away if you want the course's file back."
                )
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(incoming, target)
            report.added.append(path)
            if base_hash is not None and is_notebook:
                report.notes.append(
                    f"{path} arrived again: you had deleted it, or renamed it and kept under "
                    f"{COPY_SHARE:.0%} of its cells, so your copy is not recognised as one and got no update."
                )
            continue
        mine_hash = _hash_file(target)
        if mine_hash == new_hash:
            continue
        if is_notebook:
            if base_hash is None:  # the learner has a notebook of their own where the course now has one
                aside = target.with_name(f"{target.stem}_{stamp}{target.suffix}")
                target.rename(aside)
                shutil.copy2(incoming, target)
                report.added.append(path)
                report.kept.append(f"{path}: yours was renamed {aside.name}")
                continue
            _merge_into(folder, path, shipped, theirs, report, path)
        elif mine_hash == base_hash:
            shutil.copy2(incoming, target)
            report.updated.append(path)
        else:  # the learner changed a course file: keep theirs, put the course's beside, out of the way
            aside = folder / KEPT / stamp / path
            aside.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(incoming, aside)
            report.kept.append(f"{path}: the course's new version is in {aside.relative_to(folder)}")
    for path, base_hash in sorted(base["files"].items()):
        target = folder / path
        if path in new["files"]:
            continue
        if target.is_file() and _hash_file(target) == base_hash:
            target.unlink()
            report.removed.append(path)
        report.notes.extend(
            f"{copied} got no update: it is your copy of {path}, which the course removed"
            for copied in copies.get(path, [])
        )
    shutil.copy2(source / MANIFEST, folder / MANIFEST)
    if report.kept or report.deleted or report.notes:  # something to read later too
        saved = folder / KEPT / stamp / "report.txt"
        saved.parent.mkdir(parents=True, exist_ok=True)
        report.saved = saved.relative_to(folder).as_posix()
        saved.write_text("\n".join(report.lines()) + "\n", encoding="utf-8")
    return report


# --- where the new version comes from --------------------------------------------------------


def _git(folder: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise EditionError(f"`git {' '.join(args)}` failed: {result.stderr.strip()[-1000:]}")
    return result.stdout.strip()


def from_git(folder: Path) -> UpdateReport:
    """Fetch the course's new version from the git remote and merge it in."""
    if not (folder / ".git").exists():
        raise EditionError(
            f"{folder} is not a git clone of the course; give the new edition's folder: flowlib update FOLDER"
        )
    _git(folder, "fetch", "--quiet", "origin")
    try:
        target = _git(folder, "rev-parse", "@{upstream}")
    except EditionError:
        target = _git(folder, "rev-parse", "FETCH_HEAD")
    with tempfile.TemporaryDirectory(prefix="flowlib-update-") as tmp:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", target], cwd=folder, capture_output=True, timeout=300
        )
        if archive.returncode != 0:
            raise EditionError(f"`git archive {target}` failed: {archive.stderr.decode(errors='replace')[-1000:]}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        report = apply(folder, Path(tmp))
    head = _git(folder, "rev-parse", "HEAD")
    ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", head, target], cwd=folder, capture_output=True)
    if ancestor.returncode == 0:  # fast-forward the branch; the work tree already holds the merge
        _git(folder, "update-ref", "-m", "flowlib update", "HEAD", target)
        _git(folder, "read-tree", "HEAD")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="flowlib update",
        description=(
            "Bring in the course's new version: new lessons and every cell you did not touch arrive; "
            "every cell you edited stays as it is."
        ),
    )
    parser.add_argument(
        "source", nargs="?", help="a folder holding the new edition (default: git fetch from where you cloned it)"
    )
    args = parser.parse_args(argv)
    folder = layout.course_root()
    try:
        report = apply(folder, Path(args.source)) if args.source else from_git(folder)
    except EditionError as error:
        print(f"flowlib update: {error}")
        return 2
    print("\n".join(report.lines()))
    return 0
