"""Benchmark: the dashboard server's memory with several users on a large store.

`streamlit run dashboard.py` against --db (e.g. the 100 M-session store), with the
DuckDB limits of config/iop.toml ([duckdb]; IOP_DUCKDB_* override them). --users
browser contexts of one headless Chromium each visit every page by its URL, each
with a different site in the link's shared filter (so their results are not shared
through the cache), one after another in turn, so the server holds every user's
session and cached results at the end. The server's resident memory (its process
and any children) is sampled every 0.2 s; the peak is printed with each visit's
time. Nothing is asserted.

    .venv/bin/python benchmarks/bench_server_memory.py --db /tmp/perf100m/store.duckdb
    IOP_DUCKDB_MEMORY_LIMIT=2GB .venv/bin/python benchmarks/bench_server_memory.py --db STORE --users 3
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_browser import PAGES  # noqa: E402 - after the path is set

TIMEOUT_MS = 600_000


class PeakRss:
    """Samples the resident memory of a process tree until stopped; .peak_mb is the largest seen."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process, self.peak_mb, self._stop = psutil.Process(pid), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                self.peak_mb = max(self.peak_mb, sum(p.memory_info().rss for p in procs) / 2**20)
            except Exception:  # noqa: BLE001 - a child that just ended
                pass
            time.sleep(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def sites_of(db: str, n: int) -> list[str]:
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        return [r[0] for r in con.execute("SELECT DISTINCT site FROM enrollments ORDER BY site LIMIT $n",
                                          {"n": n}).fetchall()]


def visit(page, url: str, path: str, site: str) -> float:
    """Open path with site in its link (the shared filter), wait until the run has finished; seconds."""
    from tests.browser_support import wait_for_app

    t0 = time.perf_counter()
    page.goto(f"{url}/{path}?site={site}")
    wait_for_app(page, heading=PAGES[path], timeout_ms=TIMEOUT_MS, charts=False)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.browser_support import DashboardServer, launch_chromium

    sites = sites_of(args.db, args.users)
    server = DashboardServer(args.db, env={"IOP_ALLOW_ANONYMOUS": "1"}, log_path=Path("/tmp/bench_server_memory.log"),
                             startup_timeout=300)
    server.start()
    rss = PeakRss(server.proc.pid)
    print(f"server on {args.db}; {args.users} users, sites {sites}; DuckDB limits from config/iop.toml "
          f"(IOP_DUCKDB_MEMORY_LIMIT={os.environ.get('IOP_DUCKDB_MEMORY_LIMIT', 'unset')})", flush=True)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p, args.chromium)
            pages = [browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                     for _ in range(args.users)]
            for path in PAGES:
                for user, (page, site) in enumerate(zip(pages, sites)):
                    seconds = visit(page, server.url, path, site)
                    print(f"  user {user + 1} {path:<12} {site:<12} {seconds:6.2f} s, server peak so far "
                          f"{rss.peak_mb:7.0f} MB", flush=True)
            browser.close()
    finally:
        peak = rss.stop()
        server.stop()
    print(f"peak RSS of the dashboard server: {peak:.0f} MB (target: at most 4096 MB)")
    print(f"load average now: {os.getloadavg()[0]:.1f} (2-core machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
