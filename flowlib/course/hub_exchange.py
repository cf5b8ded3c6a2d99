"""nbgrader's exchange on a shared machine, with submissions only the instructors can read.

nbgrader's own ``submit`` leaves a submission readable by everyone (files 0644, its folder
0777) and relies on nobody guessing its random name: a learner who learns the name (a shared
screen, a log line) can read it, and delete or replace its files. Here the course's exchange is
set up as ``deploy/jupyterhub/start`` makes it: ``<exchange>/<course>/inbound`` owned by the
instructors' Unix group, mode 3733 (learners may enter and write, never list; the sticky bit
keeps anyone but its owner from renaming or removing a submission folder, which nbgrader's 2733
allows to whoever learns its name; the setgid bit gives every new submission folder that group). :class:`GroupSubmit` then closes each
submission to everyone but its learner and that group: its folders 2770 (of that group). nbgrader's
``collect`` and ``flowlib instructor collect --exchange`` read it as a member of the group.

An inbound folder set up otherwise is refused before anything is copied, with a message naming
the mode and group expected and found (a submission the instructors cannot read is lost work).
Fetching or submitting a lesson that is not released, or submitting one never fetched, is told
what the exchange or the learner's folder holds instead (nbgrader says only "Assignment not
found"). Enable in nbgrader's config (deploy/jupyterhub/jupyter/learner/nbgrader_config.py does)::

    c.ExchangeFactory.submit = "flowlib.course.hub_exchange.GroupSubmit"
    c.ExchangeFactory.fetch_assignment = "flowlib.course.hub_exchange.FetchReleased"
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.submit import ExchangeSubmit

INBOUND_MODE = 0o3733  # setgid, sticky; owner rwx; group and others: write and enter, never list
FOLDER_MODE = 0o2770  # a submission's folders: its learner and the instructors' group
# A submission's files: readable, since its folders keep everyone else out. Not 0640: nbgrader
# writes timestamp.txt and submission_secret.txt after copying the notebooks has cleared the
# folder's setgid bit, so those two carry the learner's own group, not the instructors'.
FILE_MODE = 0o644


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def inbound_problem(inbound: Path, learner_gids: set[int]) -> str | None:
    """Why ``inbound`` cannot take a submission that only the instructors read (None: it can)."""
    found = inbound.stat()
    mode = stat.S_IMODE(found.st_mode)
    if mode != INBOUND_MODE or found.st_gid in learner_gids or found.st_gid == 0:
        return (
            f"the exchange folder {inbound} must be mode {INBOUND_MODE:04o} and owned by the instructors' group "
            f"(not one of yours, not root's); found mode {mode:04o}, group {_group_name(found.st_gid)!r}. "
            "Ask your instructor to run deploy/jupyterhub/start again, which sets it up"
        )
    return None


def _listing(folder: Path) -> str:
    names = (
        sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []
    )
    return ", ".join(names) or "nothing"


def not_released(assignment: str, outbound: Path) -> str:
    """The message for ``assignment`` missing from the exchange's ``outbound`` folder."""
    return (
        f"{assignment!r} is not released: expected the folder {outbound / assignment}; the course's exchange "
        f"has released {_listing(outbound)}. Check the name, or ask your instructor to release it"
    )


def close_submission(folder: Path) -> None:
    """Give ``folder`` (a submission just written) and everything in it the group-only modes."""
    for parent, folders, files in os.walk(folder):
        for name in files:
            os.chmod(os.path.join(parent, name), FILE_MODE, follow_symlinks=False)
        for name in folders:
            os.chmod(os.path.join(parent, name), FOLDER_MODE)
    os.chmod(folder, FOLDER_MODE)


class FetchReleased(ExchangeFetchAssignment):
    """nbgrader's ``fetch_assignment``, naming what is released when the lesson asked for is not."""

    def _assignment_not_found(self, src_path: str, other_path: str) -> None:
        self.fail(not_released(self.coursedir.assignment_id, Path(self.outbound_path)))


class GroupSubmit(ExchangeSubmit):
    """nbgrader's ``submit``, refusing a misconfigured inbound or an unreleased lesson, and
    closing what it wrote."""

    def _assignment_not_found(self, src_path: str, other_path: str) -> None:
        folder = Path(src_path)
        self.fail(
            f"nothing to submit: expected your copy of {folder.name!r} in {folder}; your folder {folder.parent} "
            f"holds {_listing(folder.parent)}. Fetch {folder.name!r} from the Assignment List first"
        )

    def init_release(self) -> None:
        outbound = Path(self.root) / self.coursedir.course_id / "outbound"
        if self.coursedir.course_id and not (outbound / self.coursedir.assignment_id).is_dir():
            self.fail(not_released(self.coursedir.assignment_id, outbound))
        super().init_release()

    def init_dest(self) -> None:
        super().init_dest()
        problem = inbound_problem(Path(self.inbound_path), {os.getegid(), *os.getgroups()})
        if problem:
            self.fail(problem)

    def copy_files(self) -> None:
        super().copy_files()
        close_submission(Path(self.inbound_path) / self.assignment_filename)
