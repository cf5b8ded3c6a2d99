"""Headless Chromium for the end-to-end tests: Debian's binaries, a driver that downloads nothing.

Selenium is given both paths (``/usr/bin/chromium``, ``/usr/bin/chromedriver``), so Selenium
Manager, which would otherwise fetch a browser and a driver of its own, never runs. Where the
two are missing the tests that need them are skipped with the reason, except in CI as root
with apt-get, where `.ci/run` installs them and a missing browser is a broken set-up.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Debian's packages; FLOWLIB_CHROMIUM / FLOWLIB_CHROMEDRIVER name another Chromium-based browser
# and its matching driver (a CI runner's preinstalled Chrome, say). Nothing is ever downloaded.
CHROMIUM = Path(os.environ.get("FLOWLIB_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("FLOWLIB_CHROMEDRIVER", "/usr/bin/chromedriver"))
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "browser"  # screenshots (build/ is ignored by git)
WINDOW = (1400, 1000)
# Chromium as root in a container, offline: no sandbox (it needs user namespaces), no GPU, no
# shared-memory limits, and none of the calls home a fresh profile makes.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)


def require_chromium() -> None:
    """Skip (or, in CI where it can be installed, fail) when headless Chromium is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if not missing:
        return
    reason = (
        f"headless Chromium is not installed here ({', '.join(missing)} missing); "
        "Debian's `chromium` and `chromium-driver` packages provide them (`.ci/run` installs them as root)"
    )
    can_install = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
    if os.environ.get("CI") and can_install:
        pytest.fail(f"{reason}, but this CI run could have installed them")
    pytest.skip(reason)


@contextmanager
def chromium(profile: Path | None = None) -> Iterator:
    """A headless Chromium driven by Debian's chromedriver, with a fresh profile; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile or tempfile.mkdtemp(prefix='chromium-profile-')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:
    """The browser console's errors since the last call: ``console.error``, uncaught exceptions,
    and resources that failed to load."""
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 120, every: float = 0.25):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as error:  # the page may be between two states
            value, last_error = None, error
        if value:
            return value
        time.sleep(every)
    detail = f" (last error: {last_error!r})" if last_error else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def nbgrader_instructor_ui(driver) -> list[str]:
    """What of nbgrader's instructor tools JupyterLab shows: its Nbgrader menu, the Create
    Assignment side panel, Formgrader, the course and assignment lists."""
    return driver.execute_script(
        """
        const found = [];
        for (const item of document.querySelectorAll('.lm-MenuBar-item'))
            if (/nbgrader/i.test(item.textContent)) found.push('menu: ' + item.textContent.trim());
        for (const tab of document.querySelectorAll('.lm-TabBar-tab'))
            if (/create assignment|formgrader|nbgrader/i.test(tab.textContent + ' ' + (tab.title || '')))
                found.push('tab: ' + (tab.title || tab.textContent).trim());
        for (const widget of document.querySelectorAll(
            '#nbgrader-create_assignemnt, .nbgrader-CreateAssignmentWidget, #formgrader, .nbgrader-mainarea-widget'))
            found.push('panel: #' + widget.id);
        return found;"""
    )
