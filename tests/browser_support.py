"""Helpers for the real-browser tests: a dashboard server on a free port, and Chromium.

`running_dashboard(store_path)` starts `streamlit run dashboard.py` on
127.0.0.1 with IOP_DB pointing at the given store, waits until Streamlit's
health endpoint answers, and stops the server (its whole process group) after.
`DashboardServer` is the same server for a test that stops and restarts it.

`launch_chromium(playwright, chromium)` starts Debian's Chromium headless; the
path comes from the `chromium` fixture (tests/conftest.py), which skips the
test without it, except under CI=true, where it fails.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.support import REPO_ROOT, free_port

STARTUP_TIMEOUT_SECONDS = 90


def launch_chromium(playwright, chromium: str):
    """A headless Chromium browser (Debian's package at path chromium, not a Playwright download)."""
    from analytics.report.packet import CHROMIUM_ARGS

    return playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)


def is_healthy(url: str) -> bool:
    """True when the Streamlit server (or a proxy in front of it) at url answers its health check."""
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class DashboardServer:
    """`streamlit run dashboard.py` on 127.0.0.1:port with IOP_DB = store; stopped by its process group.

    >>> server = DashboardServer(store_path, env={"IOP_ALLOW_ANONYMOUS": "1"})
    >>> server.start(); server.url   # 'http://127.0.0.1:<free port>'
    >>> server.stop()

    root is the checkout served (default: this one; a benchmark compares two).
    """

    def __init__(self, store: str | Path, *, port: int | None = None, env: dict[str, str] | None = None,
                 log_path: Path | None = None, startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
                 root: Path = REPO_ROOT) -> None:
        self.store, self.port, self.root = str(store), port or free_port(), Path(root)
        self.env, self.log_path, self.startup_timeout = env or {}, log_path, startup_timeout
        self.proc: subprocess.Popen | None = None
        self.log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it is healthy (the log's tail in the error when it is not)."""
        env = {
            **os.environ,
            "IOP_DB": self.store,
            "PYTHONPATH": str(self.root),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            **self.env,
        }
        # Appended to, so a restarted server's log follows the first one's.
        self.log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while not is_healthy(self.url):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the dashboard exited with code {self.proc.returncode} before it was "
                                   f"healthy{self._log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard was not healthy within {self.startup_timeout} s{self._log_tail()}")
            time.sleep(0.3)

    def stop(self) -> None:
        """Stop the process group this server started (SIGTERM, then SIGKILL); no-op when stopped."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)
        self.proc = None
        if self.log_path:
            self.log.close()

    def _log_tail(self) -> str:
        if not self.log_path:
            return ""
        self.log.flush()
        return ":\n" + self.log_path.read_text(errors="replace")[-2000:]


@contextmanager
def running_dashboard(store_path: str | Path, *, env: dict[str, str] | None = None,
                      log_path: Path | None = None) -> Iterator[str]:
    """Start the dashboard on a free 127.0.0.1 port against store_path; yield its base URL."""
    server = DashboardServer(store_path, env=env, log_path=log_path)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


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


def choose_first_site(page) -> str:
    """Chooses the first site offered in the sidebar's sites box and closes the box; returns the site."""
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    option = page.locator('[role="option"]').filter(has_not_text="Select all").first
    site = option.inner_text().strip()
    option.click()
    page.keyboard.press("Escape")
    return site
