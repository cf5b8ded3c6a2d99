"""What every seeded recipe behind a lesson's claim shares: its command line and its record.

A recipe defines ``CLAIMS``, ``QUICK``, ``measure(seed, *, bf16=False)`` and ``judge(runs)`` (the
claims interface) and ends with ``run_recipe(NAME, measure, judge, default_seeds)``:

    python recipes/NAME.py --seeds 0-7 [--out checkpoints/NAME_seeds.json]

measures every seed, prints the verdict of each claim and writes ``{"seeds": {seed: numbers},
"machine": ..., "torch": ..., "threads": ..., "seconds": ...}`` to ``checkpoints/NAME_seeds.json``,
the file the lesson's claim cell reads.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Callable

import torch

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> [0, ..., 7]; '0,3,9' -> [0, 3, 9]; '2-3,8' -> [2, 3, 8]."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def machine() -> str:
    """The CPU model as lscpu names it (the platform's processor string where lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or platform.machine()


def seeds_path(name: str) -> Path:
    return CHECKPOINTS / f"{name}_seeds.json"


def load_seeds(name: str) -> dict[int, dict[str, float]]:
    """The recorded numbers of recipe ``name``, by seed."""
    return {int(seed): numbers for seed, numbers in json.loads(seeds_path(name).read_text())["seeds"].items()}


def run_recipe(
    name: str,
    measure: Callable[..., dict[str, float]],
    judge: Callable[[dict[int, dict[str, float]]], dict[str, tuple[bool, str]]],
    default_seeds: str,
    threads: int = 1,
) -> None:
    """The command line of a seeded recipe: measure the seeds, print the verdicts, record them."""
    parser = argparse.ArgumentParser(description=f"record {name}'s numbers over seeds")
    parser.add_argument("--seeds", default=default_seeds, help=f"e.g. 0-7 or 0,3,9 (default {default_seeds})")
    parser.add_argument("--out", type=Path, default=seeds_path(name))
    args = parser.parse_args()
    torch.set_num_threads(threads)
    start, runs = time.perf_counter(), {}
    for seed in parse_seeds(args.seeds):
        runs[seed] = measure(seed)
        print(f"seed {seed}: {runs[seed]}", flush=True)
    for claim, (held, numbers) in judge(runs).items():
        print(f"{claim}: {'held' if held else 'FAILED'} ({numbers})")
    record = {
        "seeds": {str(seed): numbers for seed, numbers in runs.items()},
        "machine": machine(),
        "torch": torch.__version__,
        "threads": threads,
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out} in {record['seconds']:.0f} s")
