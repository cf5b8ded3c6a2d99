"""The doctor's checks of JupyterLab: ipywidgets' frontend and the course's Validate button,
installed and enabled in every configuration folder Jupyter reads (the learner's first)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from flowlib.course.doctor.check import FIX_INSTALL, Check, course_folder
from flowlib.course.doctor.packages import installed_version
from flowlib.course.layout import LEARNER_JUPYTER_CONFIG


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
    python_side = installed_version("ipywidgets")
    frontend = installed_version("jupyterlab_widgets")
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
