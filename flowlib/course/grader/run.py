"""Run a screened plan in a sandboxed kernel: every cell, with the probe and canary around
the learner's cells, a restart when the kernel dies, and every process gone at the end."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from flowlib.course.grader import integrity
from flowlib.course.grader.execute import MAX_RESTARTS, CellRun, Kernel, KernelLost
from flowlib.course.grader.sandbox import Limits, Sandbox
from flowlib.course.grader.screen import Flag, Plan


@dataclass
class Execution:
    """The runs of a plan's cells (same order) and what happened around them."""

    runs: list[CellRun]
    flags: list[Flag] = field(default_factory=list)
    tampered_from: int | None = None  # the first cell after which the machinery was not intact
    seconds: float = 0.0


def execute(plan: Plan, sandbox: Sandbox, limits: Limits, *, full: bool = False) -> Execution:
    """Run ``plan`` cell by cell. ``full`` asks the checks for everything (the reference run)."""
    started = time.monotonic()
    result = Execution([CellRun(status="skipped", error="not run") for _ in plan.cells])
    deadline = started + limits.notebook_seconds
    kernel = Kernel(sandbox)
    try:
        kernel.start()
        _loop(plan, kernel, limits, deadline, full, result)
    except KernelLost as error:
        result.flags.append(Flag("kernel died", "", f"grading stopped: {error}"))
    finally:
        kernel.stop()  # kills bubblewrap's whole session: nothing the submission started survives
        result.seconds = time.monotonic() - started
    return result


def _tampered(result: Execution, index: int, cell: str, detail: str) -> None:
    result.flags.append(Flag("tampering", cell, detail))
    if result.tampered_from is None:
        result.tampered_from = index


def _loop(plan: Plan, kernel: Kernel, limits: Limits, deadline: float, full: bool, result: Execution) -> None:
    fingerprint: dict | None = None
    restarts, printed = 0, 0
    for index, cell in enumerate(plan.cells):
        name = cell.grade_id or cell.cell_id
        if time.monotonic() > deadline:
            result.runs[index] = CellRun(status="skipped", error=f"the notebook ran past its time limit ({limits.notebook_seconds:g} s)")
            continue
        learners = cell.role != "course"
        if learners and fingerprint is None:
            fingerprint = integrity.probe(kernel)
        # what the learner's own cells may still print, all together (course and test cells print little)
        left = max(0, limits.output_bytes_notebook - printed) if cell.role in ("answer", "learner") else limits.output_bytes_cell
        cell_limits = limits.replace(cell_seconds=cell.seconds or limits.cell_seconds,
                                     output_bytes_cell=min(limits.output_bytes_cell, left))
        token = secrets.token_hex(8) if cell.role == "test" else None
        run = kernel.run(cell.source, cell_limits, token=token, full=full, deadline=deadline)
        result.runs[index] = run
        printed += run.printed if cell.role in ("answer", "learner") else 0
        if run.forged:
            _tampered(result, index, name, f"{run.forged} verdict record(s) the grader did not ask for")
        if not kernel.alive():
            restarts += 1
            kind = "timeout" if run.status == "timeout" else "kernel died"
            result.flags.append(Flag(kind, name, run.error))
            if restarts > MAX_RESTARTS:
                raise KernelLost(f"the kernel died {restarts} times")
            kernel.start()
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
        after = integrity.probe(kernel)
        changed = integrity.changes(fingerprint, after)
        if changed:
            _tampered(result, index, name, "changed " + ", ".join(changed))
        fingerprint = after
        if cell.role == "test":
            code, want = integrity.canary()
            check = kernel.run(code, limits, token=secrets.token_hex(8), store_history=False)
            if check.forged or not integrity.canary_faithful(check.records, want):
                _tampered(result, index, name, "the grader's canary checks were not reported faithfully")


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
