"""The claims canary: re-run every recipe behind a lesson's claim on fresh seeds, and say what held.

    python recipes/claims.py                 # every recipe with CLAIMS, 8 fresh seeds each (make claims)
    python recipes/claims.py --quick         # the QUICK recipes, one fresh seed each (what make test runs)
    python recipes/claims.py --only recall_seeds --seeds 123456,654321   # repeat a run's seeds

A recipe takes part by having, at module level, ``CLAIMS`` (claim id -> the claim as the lesson
states it), ``QUICK`` (one seed in under ~20 s on one core), ``measure(seed, *, bf16=False)`` (one
seed's numbers) and ``judge(runs)`` (claim id -> (held, the numbers that decided it)); nothing here
names a recipe. A judge leaves out a claim that the seeds it got cannot decide (e.g. "on most
seeds" from one seed): it is printed as undecided, not as held. Fresh seeds are drawn at random,
never one recorded in the recipe's ``checkpoints/<NAME>_seeds.json`` (``NAME``: the recipe's, else
its file name), and printed, so a failure can be repeated with ``--seeds``. Each recipe runs in float32, and again
with bf16 autocast where the device computes bf16 natively. The exit status is 1 when a claim
failed in float32 (the precision the lessons use); bf16 verdicts are reported beside them.

What the recipes share to record their seeds (command line, JSON) is ``recipes/seeded.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from flowlib.precision import native_bf16
from flowlib.training import default_device

RECIPES = Path(__file__).resolve().parent
sys.path.insert(0, str(RECIPES))
from seeded import machine, parse_seeds  # noqa: E402  (the recipes' shared module, importable once its folder is on the path)

INTERFACE = ("CLAIMS", "QUICK", "measure", "judge")


def recorded_path(module: ModuleType) -> Path | None:
    """The recipe's checkpoint JSON, in the ``checkpoints/`` folder beside ``recipes/``:
    ``<NAME>_seeds.json`` for the recipe's ``NAME``, else ``<file name>_seeds.json`` or ``<file name>.json``."""
    path = Path(module.__file__)
    checkpoints, name = path.parent.parent / "checkpoints", getattr(module, "NAME", None)
    if name:
        return checkpoints / f"{name}_seeds.json"
    return next(
        (p for p in (checkpoints / f"{path.stem}_seeds.json", checkpoints / f"{path.stem}.json") if p.is_file()), None
    )


def recorded_seeds(module: ModuleType) -> set[int]:
    path = recorded_path(module)
    if path is None or not path.is_file():
        return set()
    return {int(seed) for seed in json.loads(path.read_text()).get("seeds", {})}


def fresh_seeds(recorded: set[int], n: int, rng: random.Random) -> list[int]:
    """``n`` distinct seeds in [1000, 10**6) that were never recorded."""
    seeds: list[int] = []
    while len(seeds) < n:
        seed = rng.randrange(1000, 10**6)
        if seed not in recorded and seed not in seeds:
            seeds.append(seed)
    return seeds


def discover(folder: Path = RECIPES, quick: bool = False, only: list[str] | None = None) -> list[ModuleType]:
    """Every recipe in ``folder`` with the claims interface (``QUICK`` ones only when ``quick``)."""
    modules = []
    for path in sorted(folder.glob("*.py")):
        if path.stem == "claims" or (only and path.stem not in only) or "CLAIMS" not in path.read_text():
            continue
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))  # the recipes import their shared seeded.py
        spec = importlib.util.spec_from_file_location(f"recipe_{path.stem}", path)
        assert spec is not None and spec.loader is not None  # a .py file always gets a spec with a loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if all(hasattr(module, name) for name in INTERFACE) and (module.QUICK or not quick):
            modules.append(module)
    return modules


@dataclass
class Verdict:
    recipe: str
    precision: str
    seeds: list[int]
    claims: dict[str, tuple[bool, str] | None]  # None: the recipe's judge could not decide it on these seeds
    seconds: float


def check(module: ModuleType, seeds: list[int], bf16: bool = False) -> Verdict:
    """Measure every seed, judge the claims, return the verdict (claims the judge left out: None)."""
    start = time.perf_counter()
    runs = {seed: module.measure(seed, bf16=bf16) for seed in seeds}
    judged = module.judge(runs)
    claims = {claim: judged.get(claim) for claim in module.CLAIMS}
    return Verdict(
        Path(module.__file__).stem, "bf16" if bf16 else "float32", seeds, claims, time.perf_counter() - start
    )


def show(verdict: Verdict, texts: dict[str, str]) -> None:
    print(
        f"\n{verdict.recipe} [{verdict.precision}], seeds {','.join(map(str, verdict.seeds))} ({verdict.seconds:.0f} s)"
    )
    for claim, result in verdict.claims.items():
        mark, numbers = (
            ("undecided", f"not decidable on {len(verdict.seeds)} seed(s)")
            if result is None
            else ("held" if result[0] else "FAILED", result[1])
        )
        print(f"  {mark:>9}  {claim}: {texts[claim]}\n  {'':>9}  {numbers}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="QUICK recipes only, one fresh seed each")
    parser.add_argument("-n", type=int, default=None, help="fresh seeds per recipe (default 8; 1 with --quick)")
    parser.add_argument(
        "--seeds", help="these seeds instead of fresh ones (e.g. to repeat a failure); recorded ones are refused"
    )
    parser.add_argument("--only", nargs="*", help="recipe names (file stems) to run")
    parser.add_argument("--no-bf16", action="store_true", help="float32 only, even where bf16 is native")
    parser.add_argument("--recipes", type=Path, default=RECIPES, help=argparse.SUPPRESS)  # the tests' toy recipes
    args = parser.parse_args(argv)
    n = args.n or (1 if args.quick else 8)
    rng = random.Random()  # fresh each run, on purpose: the seeds are printed to repeat it
    device = default_device()
    bf16 = native_bf16(device) and not args.no_bf16
    modules = discover(args.recipes, quick=args.quick, only=args.only)
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    print(
        f"claims canary on {machine()}{gpu}, torch {torch.__version__}, device {device}; "
        f"{len(modules)} recipe(s); precisions: float32{' and bf16 (native here)' if bf16 else ''}"
    )
    failed = []
    for module in modules:
        recorded = recorded_seeds(module)
        seeds = parse_seeds(args.seeds) if args.seeds else fresh_seeds(recorded, n, rng)
        if recorded & set(seeds):
            parser.error(
                f"{module.__name__}: seeds {sorted(recorded & set(seeds))} are recorded ones; a canary needs fresh seeds"
            )
        for precision in [False, True] if bf16 else [False]:
            verdict = check(module, seeds, bf16=precision)
            show(verdict, module.CLAIMS)
            if not precision:
                failed += [claim for claim, result in verdict.claims.items() if result is not None and not result[0]]
    print(f"\n{'FAILED in float32: ' + ', '.join(failed) if failed else 'every decided claim held in float32'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
