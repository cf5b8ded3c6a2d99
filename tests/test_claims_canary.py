"""The claims canary (recipes/claims.py): recipes found by their attributes, fresh seeds only,
held/failed per claim; and the quick version: one fresh seed of each QUICK recipe.

The full canary (every recipe, 8 fresh seeds, float32 and bf16 where native) is ``make claims``,
run weekly by .github/workflows/claims.yml.
"""

from __future__ import annotations

import inspect
import json
import random
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "recipes"))
import claims  # noqa: E402  (found once recipes/ is on the path)

TOY = """
CLAIMS = {"00.positive": "the number is positive", "00.mostly_small": "most seeds give a number below a million"}
QUICK = True
def measure(seed, *, bf16=False):
    return {"number": float(seed)}
def judge(runs):
    out = {"00.positive": (all(r["number"] > 0 for r in runs.values()), f"{len(runs)} seeds")}
    if len(runs) >= 3:
        small = sum(r["number"] < 10**6 for r in runs.values())
        out["00.mostly_small"] = (small > len(runs) / 2, f"{small}/{len(runs)} below a million")
    return out
"""


def toy_recipes(root: Path) -> Path:
    """A course folder with recipes/toy.py (the interface), recipes/no_claims.py and checkpoints/toy_seeds.json."""
    folder = root / "recipes"
    folder.mkdir()
    (root / "checkpoints").mkdir()
    (folder / "toy.py").write_text(TOY)
    (folder / "no_claims.py").write_text("QUICK = True\n")  # a recipe without CLAIMS takes no part
    (root / "checkpoints" / "toy_seeds.json").write_text(
        json.dumps({"seeds": {"5": {"number": 5.0}, "7": {"number": 7.0}}})
    )
    return folder


def test_parse_seeds():
    assert claims.parse_seeds("0-3") == [0, 1, 2, 3]
    assert claims.parse_seeds("3, 5,10-11") == [3, 5, 10, 11]


def test_fresh_seeds_are_never_recorded_ones():
    recorded = set(range(1000, 10**6, 2))
    seeds = claims.fresh_seeds(recorded, 20, random.Random(0))
    assert len(set(seeds)) == 20 and not recorded & set(seeds)


def test_the_canary_finds_recipes_by_attribute_and_reports_every_claim(tmp_path, capsys):
    folder = toy_recipes(tmp_path)
    assert [m.__name__ for m in claims.discover(folder)] == ["recipe_toy"]
    assert claims.main(["--recipes", str(folder), "-n", "4", "--no-bf16"]) == 0
    out = capsys.readouterr().out
    seeds = claims.parse_seeds(out.split("seeds ", 1)[1].split(" ", 1)[0])
    assert len(seeds) == 4 and not {5, 7} & set(seeds)  # printed, fresh
    assert "held  00.positive: the number is positive" in out and "held  00.mostly_small" in out
    assert claims.main(["--recipes", str(folder), "--quick", "--no-bf16"]) == 0
    assert "undecided  00.mostly_small" in capsys.readouterr().out  # one seed cannot say "most seeds"
    assert claims.main(["--recipes", str(folder), "--seeds", "2000000-2000002", "--no-bf16"]) == 1
    assert "FAILED  00.mostly_small" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        claims.main(["--recipes", str(folder), "--seeds", "5", "--no-bf16"])  # a recorded seed is refused


def test_every_claims_recipe_follows_the_interface():
    modules = claims.discover()
    assert modules, "no recipe in recipes/ has CLAIMS"
    for module in modules:
        name = Path(module.__file__).name
        assert module.CLAIMS and all(isinstance(k, str) and isinstance(v, str) for k, v in module.CLAIMS.items()), name
        assert isinstance(module.QUICK, bool), name
        assert inspect.signature(module.measure).parameters["bf16"].kind is inspect.Parameter.KEYWORD_ONLY, name
        path = claims.recorded_path(module)
        assert path is not None and path.is_file(), f"{name}: no recorded seeds in checkpoints/"
        record = json.loads(path.read_text())
        assert {"seeds", "machine", "torch"} <= set(record), f"{path.name}: needs seeds, machine and torch"
        assert len(record["seeds"]) >= 8 or "budget" in record, (
            f"{path.name}: fewer than 8 seeds, and no 'budget' saying why"
        )


def test_quick_claims_hold_on_a_fresh_seed(capsys):
    if not claims.discover(quick=True):
        pytest.skip("no recipe is QUICK (one seed in < ~20 s); `make claims` checks the others")
    code = claims.main(["--quick", "--no-bf16"])
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out


def test_the_weekly_workflow_runs_the_full_canary():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "claims.yml").read_text())
    assert "schedule" in workflow.get("on", workflow.get(True))
    (job,) = workflow["jobs"].values()
    run = "\n".join(step.get("run", "") for step in job["steps"])
    assert "make claims" in run and "pipefail" in run
    assert "recipes/claims.py" in (REPO / "Makefile").read_text()
