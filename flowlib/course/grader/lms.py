"""Reading an LMS download: whose each file is, and reading it safely.

Accepted names (``.ipynb`` files; anything else is ignored and reported by the importer):

=============  ============================================================================
Moodle         ``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb`` (a folder per
               learner), or flat: ``<Full Name>_<id>_assignsubmission_file_<file>.ipynb``
Blackboard     ``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>.ipynb`` (the
               username has no ``_``; the attempt time, read as UTC, is the timestamp)
Canvas         ``<lastnamefirstname>_<userid>_<submissionid>_<file>.ipynb``, and
               ``<name>_LATE_<userid>_<submissionid>_<file>.ipynb`` (noted as late)
plain          ``<student>_<lesson>.ipynb``
=============  ============================================================================

Folders above these names (a zip's top folder) do not matter. The lesson is the one ``<file>``
names (ignoring case, Canvas's ``-1`` re-upload suffix and a `` (1)`` copy suffix), or None
when it names none (a renamed notebook: the importer tells the lesson from its graded cells).

A ``.zip`` is read in memory, never extracted: members with unsafe paths (``..``, absolute:
zip-slip) are refused, and reading stops at :data:`MAX_FILE_BYTES` per file and
:data:`MAX_TOTAL_BYTES` in all (zip bombs; sizes in headers are not trusted). Symbolic links in a
folder are not followed. Timestamps: the zip member's time (read as UTC), else the file's mtime.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from flowlib.course.grader.submitted import NOTEBOOK

MAX_FILE_BYTES = 64 << 20  # one notebook, outputs included
MAX_TOTAL_BYTES = 1 << 30  # everything read from one download or exchange

MOODLE = re.compile(r"^(?P<student>.+?)_(?P<id>\d+)_assignsubmission_file_(?P<file>.*)$")
BLACKBOARD = re.compile(
    r"^(?P<assignment>.+)_(?P<student>[^_]+)_attempt_(?P<when>\d{4}(?:-\d\d){5})(?:_(?P<file>.+))?$"
)
CANVAS = re.compile(r"^(?P<student>[^_]+)_(?:(?P<late>LATE)_)?(?P<id>\d+)_\d+_(?P<file>.+)$")
COPY_SUFFIX = re.compile(r"(-\d+| \(\d+\))$")


@dataclass(frozen=True)
class Named:
    """What a download's file name says: whose it is and which lesson it claims."""

    convention: str  # moodle, blackboard, canvas, plain
    student: str  # as the LMS wrote it
    lesson: str | None  # None: the name claims no lesson of the course
    lms_id: str | None = None
    timestamp: datetime | None = None
    late: bool = False


def lesson_named(filename: str, lessons: Sequence[str]) -> str | None:
    """The lesson a learner's file name names (``02_self_attention-1.ipynb`` -> ``02_self_attention``)."""
    stem = COPY_SUFFIX.sub("", filename.removesuffix(NOTEBOOK)).strip().casefold()
    return next((lesson for lesson in lessons if lesson.casefold() == stem), None)


def parse_name(name: str, lessons: Sequence[str]) -> Named | None:
    """Read one download path (``a/b/file.ipynb``) by the conventions above; None if none fits."""
    path = PurePosixPath(name)
    folder = MOODLE.match(path.parent.name) if path.parent.name else None
    if folder and not folder["file"]:
        return Named("moodle", folder["student"], lesson_named(path.name, lessons), folder["id"])
    stem = path.name.removesuffix(NOTEBOOK)
    if (flat := MOODLE.match(path.name)) and flat["file"]:
        return Named("moodle", flat["student"], lesson_named(flat["file"], lessons), flat["id"])
    if board := BLACKBOARD.match(stem):
        when = datetime.strptime(board["when"], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
        claimed = lesson_named(board["file"] or "", lessons) or lesson_named(board["assignment"], lessons)
        return Named("blackboard", board["student"], claimed, board["student"], when)
    if canvas := CANVAS.match(path.name):
        return Named(
            "canvas", canvas["student"], lesson_named(canvas["file"], lessons), canvas["id"], late=bool(canvas["late"])
        )
    for lesson in sorted(lessons, key=len, reverse=True):
        suffix = f"_{lesson}{NOTEBOOK}".casefold()
        if path.name.casefold().endswith(suffix) and len(path.name) > len(suffix):
            return Named("plain", path.name[: -len(suffix)], lesson)
    return None


@dataclass(frozen=True)
class Member:
    """One file of a download: its bytes (notebooks only), time, or why it was not read."""

    name: str
    data: bytes | None
    timestamp: datetime
    problem: str | None = None


def unsafe(name: str) -> bool:
    """A zip member name that would land outside the folder it is extracted to (zip-slip)."""
    posix = name.replace("\\", "/")
    return posix.startswith("/") or bool(re.match(r"^[A-Za-z]:", posix)) or ".." in PurePosixPath(posix).parts


def read_download(source: Path) -> Iterator[Member]:
    """Every file of a download folder, ``.zip`` or single notebook, read within the caps."""
    budget = [MAX_TOTAL_BYTES]

    def take(name: str, size: int, when: datetime, read) -> Member:
        if not name.endswith(NOTEBOOK):
            return Member(name, None, when)
        cap = min(MAX_FILE_BYTES, budget[0])
        what = (
            f"a notebook of at most {MAX_FILE_BYTES} bytes"
            if size > MAX_FILE_BYTES
            else f"at most {MAX_TOTAL_BYTES} bytes in all"
        )
        if size > cap:
            return Member(name, None, when, f"{name}: expected {what}; found {size} bytes, not read")
        try:
            data = read(cap + 1)  # headers can lie: never read past the cap
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as error:
            return Member(name, None, when, f"{name}: expected a readable file; found {type(error).__name__}: {error}")
        if len(data) > cap:
            return Member(
                name, None, when, f"{name}: expected at most {cap} bytes; found more (its header said {size}), not read"
            )
        budget[0] -= len(data)
        return Member(name, data, when)

    if source.is_file() and source.suffix == NOTEBOOK:
        yield take(source.name, source.stat().st_size, _mtime(source), lambda n: read_head(source, n))
    elif source.is_dir():
        for path in sorted(source.rglob("*")):
            name = path.relative_to(source).as_posix()
            if path.is_symlink():
                yield Member(
                    name, None, _mtime(source), f"{name}: expected a file; found a symbolic link (not followed)"
                )
            elif path.is_file():
                yield take(name, path.stat().st_size, _mtime(path), lambda n, p=path: read_head(p, n))
    else:
        try:
            with zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    when = datetime(*info.date_time, tzinfo=UTC)
                    if unsafe(info.filename):
                        yield Member(
                            info.filename,
                            None,
                            when,
                            f"{info.filename}: expected a path inside the archive; found one that leaves it (zip-slip), not read",
                        )
                    elif not info.is_dir():
                        yield take(
                            info.filename.replace("\\", "/"),
                            info.file_size,
                            when,
                            lambda n, i=info: _read_member(archive, i, n),
                        )
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            yield Member(
                source.name,
                None,
                _mtime(source),
                f"{source}: expected a readable .zip; found {type(error).__name__}: {error}",
            )


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def read_head(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a file."""
    with path.open("rb") as handle:
        return handle.read(limit)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with archive.open(info) as handle:
        return handle.read(limit)
