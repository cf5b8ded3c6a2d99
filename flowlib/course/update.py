"""``flowlib update``: a new version of the course reaches a learner without touching their work.

The way nbgitpuller does it on JupyterHub, but cell by cell. The edition's manifest
(``.flowlib-edition.json``) holds a hash of every file and of every notebook cell *as the course
shipped them*; comparing the learner's folder with it tells their edits from the course's:

* a lesson the learner does not have arrives whole; so does a file the learner deleted;
* in a notebook, matched by cell id: a cell the learner did not touch takes the new version
  (its outputs are kept when the course did not change it), a cell the learner edited stays as
  it is (and is reported when the course changed it too), a cell the learner added stays where
  it was, a new cell of the course arrives in its place, a cell the course removed goes only if
  the learner had not edited it;
* any other course file: replaced if untouched, kept (and reported) if the learner changed it;
* the learner's own files, ratings (``.flowlib/``) and checkpoints are never touched.

The new version comes from a folder (an unpacked download, a fresh clone) or, by default, from
the git remote the edition was cloned from (``git fetch``; the branch then points at the new
version, so ``git status`` shows exactly the learner's own changes).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flowlib.cells import cell_source
from flowlib.course import layout
from flowlib.course.edition import MANIFEST, EditionError, read_manifest, sha256

KEPT = Path(".flowlib") / "update"  # where the course's version of a file the learner changed is put


@dataclass
class UpdateReport:
    """What an update did, for the learner to read."""

    version: str = ""
    added: list[str] = field(default_factory=list)  # files that arrived (new lessons, restored files)
    updated: list[str] = field(default_factory=list)  # course files replaced (untouched by the learner)
    merged: list[str] = field(default_factory=list)  # notebooks merged cell by cell
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the learner's edits the course also changed (cells, files)
    new_cells: int = 0
    updated_cells: int = 0

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
        return out


def _hash_file(path: Path) -> str:
    return sha256(path.read_bytes())


def _cells_by_id(notebook: dict) -> dict[str, dict]:
    return {str(cell["id"]): cell for cell in notebook.get("cells", []) if cell.get("id")}


def merge_notebook(mine: dict, base: dict[str, str], new: dict) -> tuple[dict, list[str], int, int]:
    """Merge the course's ``new`` version of a notebook into the learner's ``mine``.

    ``base`` is ``{cell id: sha256 of source}`` of the version the learner started from.
    Returns the merged notebook, the ids of cells both sides changed (the learner's kept),
    the number of new cells and of updated cells.
    """
    new_ids = [str(cell["id"]) for cell in new["cells"] if cell.get("id")]
    in_new = set(new_ids)
    ours = _cells_by_id(mine)
    # the learner's cells that the course does not have, each after the cell it followed
    anchored: dict[str | None, list[dict]] = {}
    anchor: str | None = None
    for cell in mine.get("cells", []):
        cell_id = str(cell.get("id", "")) or None
        if cell_id in in_new:
            anchor = cell_id
            continue
        if cell_id in base and sha256(cell_source(cell)) == base[cell_id]:
            continue  # the course removed it and the learner never touched it
        anchored.setdefault(anchor, []).append(cell)
    merged, conflicts, added, updated = list(anchored.get(None, [])), [], 0, 0
    for cell in new["cells"]:
        cell_id = str(cell.get("id", ""))
        theirs_hash = sha256(cell_source(cell))
        if cell_id not in ours:
            if cell_id in base and theirs_hash == base[cell_id]:
                pass  # the learner deleted it and the course did not change it: stays deleted
            else:
                merged.append(copy.deepcopy(cell))
                added += cell_id not in base
                updated += cell_id in base
        else:
            own = ours[cell_id]
            own_hash = sha256(cell_source(own))
            if cell_id not in base or own_hash != base[cell_id]:  # the learner edited it
                kept = copy.deepcopy(own)
                if "nbgrader" in cell.get("metadata", {}):  # the course's grading data (ids, points) is the course's
                    kept.setdefault("metadata", {})["nbgrader"] = copy.deepcopy(cell["metadata"]["nbgrader"])
                merged.append(kept)
                if cell_id in base and theirs_hash != base[cell_id] and theirs_hash != own_hash:
                    conflicts.append(cell_id)
            elif theirs_hash == base[cell_id]:  # neither changed it: keep the learner's outputs
                kept = copy.deepcopy(own)
                kept["metadata"] = copy.deepcopy(cell.get("metadata", {}))
                merged.append(kept)
            else:  # only the course changed it
                merged.append(copy.deepcopy(cell))
                updated += 1
        merged.extend(anchored.get(cell_id, []))
    result = {
        **copy.deepcopy(new),
        "cells": merged,
        "metadata": {**new.get("metadata", {}), **mine.get("metadata", {})},
    }
    return result, conflicts, added, updated


def _write_json(path: Path, notebook: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def apply(folder: Path, source: Path) -> UpdateReport:
    """Bring the edition in ``source`` into the learner's ``folder``; return what was done."""
    folder, source = Path(folder).resolve(), Path(source).resolve()
    base, new = read_manifest(folder), read_manifest(source)
    report = UpdateReport(version=new.get("version", "?"))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for path, new_hash in sorted(new["files"].items()):
        target, incoming = folder / path, source / path
        base_hash = base["files"].get(path)
        if not target.exists():  # a new file, or one the learner deleted: it arrives
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(incoming, target)
            report.added.append(path)
            continue
        mine_hash = _hash_file(target)
        if mine_hash == new_hash:
            continue
        if path.endswith(".ipynb") and path in new.get("cells", {}):
            mine = json.loads(target.read_text(encoding="utf-8"))
            theirs = json.loads(incoming.read_text(encoding="utf-8"))
            if base_hash is None:  # the learner has a notebook of their own where the course now has one
                aside = target.with_name(f"{target.stem}_{stamp}{target.suffix}")
                target.rename(aside)
                shutil.copy2(incoming, target)
                report.added.append(path)
                report.kept.append(f"{path}: yours was renamed {aside.name}")
                continue
            merged, conflicts, added, updated = merge_notebook(mine, base.get("cells", {}).get(path, {}), theirs)
            _write_json(target, merged)
            report.merged.append(path)
            report.new_cells += added
            report.updated_cells += updated
            report.kept.extend(f"{path}: cell {cell_id}" for cell_id in conflicts)
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
        if path not in new["files"] and target.is_file() and _hash_file(target) == base_hash:
            target.unlink()
            report.removed.append(path)
    shutil.copy2(source / MANIFEST, folder / MANIFEST)
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
    if report.kept:
        print("your version stays; compare with the course's if you like (Validate tells you whether it still passes)")
    return 0
