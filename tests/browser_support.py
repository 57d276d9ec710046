"""Helpers for the real-browser tests: a dashboard server on a free port, and Chromium.

`running_dashboard(store_path)` starts `streamlit run dashboard.py` on
127.0.0.1 with IOP_DB pointing at the given store, waits until Streamlit's
health endpoint answers, and stops the server (its whole process group) after.

`launch_chromium(playwright)` starts Debian's /usr/bin/chromium headless. When
it is missing the test is skipped, except under CI=true, where it fails: CI
must run the browser tests.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
STARTUP_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_chromium() -> str:
    """The Chromium path; skip without it, but fail under CI=true (CI must run these tests)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing (Debian package 'chromium'; scripts/install-system-packages.sh installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def launch_chromium(playwright):
    """A headless Chromium browser (Debian's package, not a Playwright download)."""
    path = require_chromium()
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_dashboard(store_path: str | Path, *, env: dict[str, str] | None = None,
                      log_path: Path | None = None) -> Iterator[str]:
    """Start the dashboard on a free 127.0.0.1 port against store_path; yield its base URL."""
    port = free_port()
    server_env = {
        **os.environ,
        "IOP_DB": str(store_path),
        "PYTHONPATH": str(REPO_ROOT),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **(env or {}),
    }
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=REPO_ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"the dashboard exited with code {proc.returncode} before it was healthy")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard was not healthy within {STARTUP_TIMEOUT_SECONDS} s")
            time.sleep(0.3)
        yield url
    finally:
        # Only the process group this helper started.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        if log_path:
            log.close()


def wait_for_app(page, *, heading: str | None = None, timeout_ms: int = 90_000, charts: bool = True) -> None:
    """Wait until the script run has finished: heading shown, status widget gone, charts drawn."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    if heading is not None:
        page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=timeout_ms)
    # The status widget ("Running...") is shown while the script runs.
    idle = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    page.wait_for_function(idle, timeout=timeout_ms)
    if charts:
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout_ms)
    # Skeletons are placeholders for elements still to come.
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_function(idle, timeout=timeout_ms)


def full_page_screenshot(page, path: Path, width: int = 1400) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so the
    viewport is stretched to the content's height first."""
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stAppViewContainer'].map(id => "
        "(document.querySelector(`[data-testid=\"${id}\"]`) || {scrollHeight: 0}).scrollHeight))"
    )
    page.set_viewport_size({"width": width, "height": max(800, min(int(height) + 40, 12_000))})
    page.wait_for_timeout(700)  # Plotly redraws to the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": 900})
