"""Reading a learner's files from nbgrader's exchange, where every learner can write.

On a shared machine each learner is a Unix user and ``nbgrader submit`` copies their files into
``inbound/<student>+<lesson>+<time>+<random>/`` as that user. The folder's name is typed by
whoever made it, so it proves nothing; the owner of the files does. Here a submission folder,
every folder below it and every file read from it must be

* no symbolic link (a link to ``solutions/`` would be graded, and its feedback shown), and
* owned by the learner the folder names: the Unix user of that name (as written, else as
  :func:`~.ids.canonical_id` spells it).

Where the machine has no Unix user of that name (one account holds the whole course, as in
tests and single-user setups), the files must all belong to the submission folder's owner,
and :func:`expected_owner` says so in a note. Files are opened without following links and
checked on the open descriptor, so swapping a file for a link after the check changes nothing.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from pathlib import Path, PurePosixPath

from flowlib.course.grader.submitted import NotAccepted


def user_name(uid: int) -> str:
    """``alice (uid 1001)``, or ``uid 1001`` when no user has it."""
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def expected_owner(folder: Path, names: tuple[str, ...]) -> tuple[int, str | None]:
    """The uid every file of the learner's ``folder`` must have, and a note when it is not a
    Unix user's of one of ``names`` (the name as the folder writes it, then its canonical form)."""
    for name in dict.fromkeys(names):
        try:
            return pwd.getpwnam(name).pw_uid, None
        except (KeyError, ValueError):
            continue
    uid = folder.lstat().st_uid
    return uid, (
        f"no Unix user named {names[0]!r} on this machine: checked instead that every file of "
        f"{folder.name} belongs to the folder's owner, {user_name(uid)}"
    )


def _target(link: Path) -> str:
    try:
        return f" (to {os.readlink(link)})"
    except OSError:  # gone again
        return ""


def _open(path: Path, flags: int, uid: int, learner: str, dir_fd: int | None = None) -> int:
    """``path`` opened without following a link, refused unless ``uid`` owns it."""
    name = path.name if dir_fd is not None else str(path)
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP or (error.errno == errno.ENOTDIR and path.is_symlink()):
            raise NotAccepted(
                f"{path}: expected a {'folder' if flags & os.O_DIRECTORY else 'file'}; "
                f"found a symbolic link{_target(path)}, not read"
            ) from None
        raise NotAccepted(f"{path}: expected a readable file; found {type(error).__name__}: {error.strerror}") from None
    found = os.fstat(fd)
    if found.st_uid != uid:
        os.close(fd)
        raise NotAccepted(
            f"{path}: expected a file of {user_name(uid)}, the learner {learner!r} the folder names; "
            f"found one owned by {user_name(found.st_uid)}, not read"
        )
    if not flags & os.O_DIRECTORY and not stat.S_ISREG(found.st_mode):
        os.close(fd)
        raise NotAccepted(
            f"{path}: expected a regular file; found something else (mode {stat.filemode(found.st_mode)}), not read"
        )
    return fd


def check_folder(folder: Path, uid: int, learner: str) -> None:
    """Refuse (:class:`NotAccepted`) a submission folder that is a link or not ``uid``'s."""
    os.close(_open(folder, os.O_RDONLY | os.O_DIRECTORY, uid, learner))


def read_owned(folder: Path, relative: str, uid: int, learner: str, limit: int) -> bytes:
    """At most ``limit`` bytes of ``folder/relative``, every step of the way checked (see above)."""
    fds = [_open(folder, os.O_RDONLY | os.O_DIRECTORY, uid, learner)]
    try:
        path, parts = folder, PurePosixPath(relative).parts
        for index, part in enumerate(parts):
            path = path / part
            last = index == len(parts) - 1
            fds.append(_open(path, os.O_RDONLY if last else os.O_RDONLY | os.O_DIRECTORY, uid, learner, dir_fd=fds[-1]))
        with os.fdopen(os.dup(fds[-1]), "rb") as handle:
            return handle.read(limit)
    finally:
        for fd in fds:
            os.close(fd)
