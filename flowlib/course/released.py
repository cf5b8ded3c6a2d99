"""What the last release made, so that no release overwrites a learner's work.

nbgrader's ``generate_assignment --force`` deletes ``notebooks/<lesson>/`` and writes it anew.
Before it does, :func:`changes` lists every file there that the previous release did not make
exactly as it is now: an edited lesson, a learner's own notebook beside it. A file counts as
released when its bytes are

* the ones recorded here at the last release (``.flowlib/released.json``: a sha256 per file), or
* the ones committed in git (``HEAD``), for a fresh clone that has not released yet.

JupyterLab's ``.ipynb_checkpoints/`` copies are not learner work of their own; they go with the
folder (and into the backup when there is one).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MANIFEST = Path(".flowlib") / "released.json"
BACKUPS = Path("backups")
CHECKPOINTS = ".ipynb_checkpoints"


@dataclass(frozen=True)
class Change:
    """A file the release would overwrite or delete, and why it is not the released one."""

    path: str  # relative to the course folder, e.g. notebooks/02_self_attention/02_self_attention.ipynb
    lesson: str
    why: str


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _committed(root: Path, folder: str) -> dict[str, str]:
    """``{path: git blob id}`` of the files committed under ``folder`` (empty outside git)."""
    try:
        listing = subprocess.run(
            ["git", "ls-tree", "-r", "HEAD", "--", folder], cwd=root, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if listing.returncode != 0:
        return {}
    committed = {}
    for line in listing.stdout.splitlines():
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            committed[path] = parts[2]
    return committed


def _recorded(root: Path) -> dict[str, str]:
    try:
        return dict(json.loads((root / MANIFEST).read_text()).get("files", {}))
    except (OSError, ValueError, AttributeError):
        return {}


def lesson_files(root: Path, lesson: str) -> list[Path]:
    """Every file under ``notebooks/<lesson>/`` except JupyterLab's checkpoints."""
    folder = root / "notebooks" / lesson
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and CHECKPOINTS not in p.relative_to(folder).parts)


def changes(root: Path, lessons: Sequence[str]) -> list[Change]:
    """The files of these lessons' student folders that the last release did not make as they are."""
    root = Path(root)
    recorded, committed = _recorded(root), _committed(root, "notebooks")
    found = []
    for lesson in lessons:
        for file in lesson_files(root, lesson):
            path = file.relative_to(root).as_posix()
            if recorded.get(path) == sha256(file):
                continue
            if path in committed and committed[path] == _git_blob(file.read_bytes()):
                continue
            if path in recorded or path in committed:
                why = "edited since it was released (it differs from what the release wrote)"
            else:
                why = "not made by the release (your own file in a lesson folder)"
            found.append(Change(path, lesson, why))
    return found


def refusal(found: Sequence[Change]) -> str:
    listed = "\n".join(f"  {c.path}: {c.why}" for c in found)
    return (
        f"the release would overwrite or delete {len(found)} file(s) that someone changed, so it did nothing:\n"
        f"{listed}\n"
        "Nothing was touched. To release anyway, run `flowlib instructor release --force` (or "
        "`make release FORCE=1`): it first copies each of those lesson folders into backups/<timestamp>/."
    )


def backup(root: Path, lessons: Sequence[str], stamp: str | None = None) -> Path:
    """Copy ``notebooks/<lesson>/`` (checkpoints included) of each lesson into ``backups/<stamp>/``."""
    stamp = stamp or datetime.now().strftime("%Y%m%d-%H%M%S")
    target = Path(root) / BACKUPS / stamp
    for lesson in lessons:
        source = Path(root) / "notebooks" / lesson
        if source.is_dir():
            shutil.copytree(source, target / "notebooks" / lesson, dirs_exist_ok=True)
    return target


def record(root: Path, lessons: Sequence[str]) -> Path:
    """Remember what the release just wrote for these lessons (sha256 per file)."""
    root = Path(root)
    manifest = root / MANIFEST
    files = _recorded(root)
    for lesson in lessons:
        prefix = f"notebooks/{lesson}/"
        files = {path: digest for path, digest in files.items() if not path.startswith(prefix)}
        files.update({file.relative_to(root).as_posix(): sha256(file) for file in lesson_files(root, lesson)})
    manifest.parent.mkdir(parents=True, exist_ok=True)
    partial = manifest.with_name(manifest.name + ".partial")
    partial.write_text(json.dumps({"files": dict(sorted(files.items()))}, indent=1) + "\n")
    partial.replace(manifest)
    return manifest
