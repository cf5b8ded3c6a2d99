"""A class of 30 on the course's JupyterHub: every learner logs in, fetches lesson 00, answers,
and submits within the same minute; the instructor collects and grades in the sandbox.

Prints the time from the hub's start to every submission graded, the peak memory of all the
class's processes together (the hub, its proxy, every server and kernel; sampled from /proc
every 0.5 s), and checks that each learner's grade is the one their answer earns (none lost,
none mixed up). Root only, like tests/test_jupyterhub.py:

    sudo .venv/bin/python benchmarks/bench_hub.py [--learners 30]
"""

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbgrader.api import Gradebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from flowlib.course import layout  # noqa: E402
from tests.hub_class import HubClass, missing  # noqa: E402
from tests.test_jupyterhub import LESSON, NOTEBOOK, _answer, _answers  # noqa: E402


def _class_memory(uids: set[int], hub_pid: int) -> int:
    """Resident bytes of every process of the class's users and of the hub's process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            uid = int(status.split("Uid:")[1].split()[0])
            group = os.getpgid(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
        if uid in uids or group == hub_pid:
            total += int(status.split("VmRSS:")[1].split()[0]) * 1024 if "VmRSS:" in status else 0
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    args = parser.parse_args()
    if missing():
        print(f"bench_hub: cannot run here: {missing()}")
        return 2
    peak, stop = [0], threading.Event()
    started = time.monotonic()
    with HubClass(args.learners) as hub:
        uids = {int(hub.run_as(n, "id", "-u").stdout) for n in [hub.instructor, *hub.learners]}

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _class_memory(uids, hub.process.pid))
                time.sleep(0.5)

        threading.Thread(target=sample, daemon=True).start()
        hub_up = time.monotonic() - started
        course = hub.course
        hub.login(hub.instructor)
        hub.run_as(hub.instructor, "flowlib", "instructor", "release", LESSON, cwd=course)
        hub.run_as(hub.instructor, "nbgrader", "release_assignment", LESSON, cwd=course)
        kinds = dict(zip(["right", "wrong", "unanswered"], _answers(hub.learners[:3]).values(), strict=True))
        answers = {name: list(kinds.values())[i % 3] for i, name in enumerate(hub.learners)}

        def learner(name: str) -> tuple[float, float]:
            """Log in, start the server, fetch, answer, submit: (fetch to submit, when submitted) in s."""
            hub.login(name)
            hub.start_server(name)
            hub.wait_server(name, seconds=600)
            begun = time.monotonic()
            assert hub.assignments(name, "fetch", LESSON).json()["success"]
            saved = hub.server(name, "GET", f"/api/contents/{NOTEBOOK}").json()["content"]
            body = {"type": "notebook", "content": _answer(saved, name, answers[name])}
            assert hub.server(name, "PUT", f"/api/contents/{NOTEBOOK}", json=body).status_code == 200
            assert hub.assignments(name, "submit", LESSON).json()["success"]
            return time.monotonic() - begun, time.monotonic() - started

        with ThreadPoolExecutor(len(hub.learners)) as pool:
            spans, submitted = zip(*pool.map(learner, hub.learners), strict=True)
        servers_up = time.monotonic() - started
        hub.run_as(hub.instructor, "flowlib", "instructor", "collect", "--exchange", str(hub.exchange), cwd=course)
        hub.grade("autograde", LESSON)
        graded = time.monotonic() - started
        stop.set()
        with Gradebook(f"sqlite:///{course / layout.GRADEBOOK}") as book:
            scores = {name: book.find_submission(LESSON, name).score for name in hub.learners}
        by_kind = {kind: {scores[n] for n in hub.learners if answers[n] == answer} for kind, answer in kinds.items()}
    one_each = all(len(s) == 1 for s in by_kind.values()) and len(scores) == args.learners
    # the same answers graded outside the hub (tests/test_jupyterhub.py): right > wrong > unanswered = 0
    grade = {kind: max(found, default=-1.0) for kind, found in by_kind.items()}
    earned = one_each and grade["right"] > grade["wrong"] > grade["unanswered"] == 0
    print(
        json.dumps(
            {
                "learners": args.learners,
                "hub_up_s": round(hub_up, 1),
                "all_submitted_s": round(servers_up, 1),
                "fetch_to_submit_s_max": round(max(spans), 1),
                "first_to_last_submission_s": round(max(submitted) - min(submitted), 1),
                "hub_start_to_all_graded_s": round(graded, 1),
                "peak_memory_gib": round(peak[0] / 2**30, 2),
                "grades_by_answer": {k: sorted(v) for k, v in by_kind.items()},
                "every_submission_graded_once_and_consistently": one_each,
                "each_grade_the_one_its_answer_earns": earned,
            },
            indent=1,
        )
    )
    return 0 if earned else 1


if __name__ == "__main__":
    sys.exit(main())
