"""Run a screened plan: the learner's and the course's cells in a sandboxed kernel, each test
cell in the grader's own process against that kernel, a restart when the kernel dies, and every
process gone at the end."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowlib.cells import delegated
from flowlib.course.grader import integrity
from flowlib.course.grader.execute import MAX_RESTARTS, CellRun, Kernel, KernelLost
from flowlib.course.grader.remote import AGENT, Channel, ChannelError
from flowlib.course.grader.sandbox import Limits, Sandbox
from flowlib.course.grader.screen import Flag, Plan, PlanCell
from flowlib.course.grader.testcell import run_test


@dataclass
class Execution:
    """The runs of a plan's cells (same order) and what happened around them."""

    runs: list[CellRun]
    flags: list[Flag] = field(default_factory=list)
    seconds: float = 0.0


START_ATTEMPTS = 3


@dataclass(frozen=True)
class Tests:
    """What the grader needs to run a lesson's test cells in its own process."""

    namespace: Mapping[str, Any]  # the setup cell's names, built in this process
    forbidden: Mapping[str, Sequence[str]]  # answer grade id -> what the exercise may not call


def run_plan(plan: Plan, sandbox: Sandbox, limits: Limits, tests: Tests) -> Execution:
    """Run ``plan`` cell by cell. Raises :class:`KernelLost` when no kernel starts in
    :data:`START_ATTEMPTS` tries: the grader's trouble, never a score of the learner's."""
    started = time.monotonic()
    result = Execution([CellRun(status="skipped", error="not run") for _ in plan.cells])
    deadline = started + limits.notebook_seconds
    kernel = Kernel(sandbox)
    for attempt in range(START_ATTEMPTS):  # a start can fail on a loaded machine: wait, try again
        try:
            _start(kernel)
            break
        except KernelLost:
            if attempt == START_ATTEMPTS - 1:
                raise
            time.sleep(2.0 * (attempt + 1))
    try:
        _loop(plan, kernel, limits, deadline, tests, result)
    except KernelLost as error:
        result.flags.append(Flag("kernel died", "", f"grading stopped: {error}"))
    finally:
        kernel.stop()  # kills bubblewrap's whole session: nothing the submission started survives
        result.seconds = time.monotonic() - started
    return result


def _start(kernel: Kernel) -> None:
    """A fresh kernel with the grader's agent in it."""
    kernel.start()
    kernel.evaluate(AGENT, repr(json.dumps("ok")))


def _test(cell: PlanCell, kernel: Kernel, limits: Limits, deadline: float, tests: Tests) -> tuple[CellRun, list[str]]:
    """Run one test cell here, its requests in the kernel; the run and the evidence of delegation."""
    started = time.monotonic()
    stop_at = min(deadline, started + limits.cell_seconds)

    def send(code: str, token: str) -> list[dict[str, Any]]:
        run = kernel.run(code, limits, token=token, store_history=False, deadline=stop_at)
        if run.status in ("died", "timeout", "flood"):
            raise ChannelError(run.error)
        return run.records

    channel = Channel(send, tests.forbidden.get(cell.exercise, ()))
    outcome = run_test(cell.source, cell.grade_id, tests.namespace, channel.resolve)
    status = "ok" if outcome.passed else ("died" if not kernel.alive() else "error")
    run = CellRun(status=status, error=outcome.message, seconds=time.monotonic() - started)
    return run, channel.evidence


def _loop(plan: Plan, kernel: Kernel, limits: Limits, deadline: float, tests: Tests, result: Execution) -> None:
    fingerprint: dict[str, str] | None = None  # probed before each learner's cell
    restarts, printed = 0, 0
    for index, cell in enumerate(plan.cells):
        name = cell.grade_id or cell.cell_id
        if time.monotonic() > deadline:
            result.runs[index] = CellRun(
                status="skipped", error=f"the notebook ran past its time limit ({limits.notebook_seconds:g} s)"
            )
            continue
        learners = cell.role != "course"
        if learners and fingerprint is None:
            fingerprint = integrity.probe(kernel)
        # what the learner's own cells may still print, all together (course and test cells print little)
        left = (
            max(0, limits.output_bytes_notebook - printed)
            if cell.role in ("answer", "learner")
            else limits.output_bytes_cell
        )
        cell_limits = limits.replace(
            cell_seconds=cell.seconds or limits.cell_seconds, output_bytes_cell=min(limits.output_bytes_cell, left)
        )
        if cell.role == "test":
            run, evidence = _test(cell, kernel, cell_limits, deadline, tests)
            if evidence:
                result.flags.append(Flag("delegation", cell.exercise, delegated(evidence)))
        else:
            run = kernel.run(cell.source, cell_limits, deadline=deadline)
        result.runs[index] = run
        printed += run.printed if cell.role in ("answer", "learner") else 0
        if not kernel.alive():
            restarts += 1
            result.flags.append(Flag("timeout" if run.status == "timeout" else "kernel died", name, run.error))
            if restarts > MAX_RESTARTS:
                raise KernelLost(f"the kernel died {restarts} times")
            _start(kernel)
            _replay(plan, index, kernel, limits, result)
            fingerprint = None
            continue
        if run.status == "timeout":
            result.flags.append(Flag("timeout", name, run.error))
        if run.status == "flood":
            result.flags.append(Flag("output flood", name, run.error))
        if not learners:
            fingerprint = None  # course code may import and set things up: take a new baseline
            continue
        assert fingerprint is not None  # probed above: this is a learner's cell
        after = integrity.probe(kernel)
        changed = integrity.changes(fingerprint, after)
        if changed:
            result.flags.append(Flag("tampering", name, "changed " + ", ".join(changed)))
        fingerprint = after


def _replay(plan: Plan, failed: int, kernel: Kernel, limits: Limits, result: Execution) -> None:
    """Bring a fresh kernel back to where the failed cell started, without the failed cell."""
    for index in range(failed):
        cell, before = plan.cells[index], result.runs[index]
        if cell.role == "test" or before.status in ("died", "timeout", "skipped"):
            continue
        again = kernel.run(cell.source, limits.replace(cell_seconds=cell.seconds or limits.cell_seconds))
        if not kernel.alive():
            raise KernelLost("the kernel died again while the cells before the failed one were re-run")
        if again.status == "timeout":
            raise KernelLost("a cell timed out while the cells before the failed one were re-run")
