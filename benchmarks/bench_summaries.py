"""Benchmark: the metrics summary with the session summaries and counted from the sessions, A/B.

On an imported store (schema 4), in one process: metrics.summary() warm (one call
first), then --repeats calls of each path alternating (IOP_READ_SUMMARIES=0 turns
the summaries off for the next bind), so a load that comes and goes affects both
alike; then the whole `python -m analytics metrics` process once per path. Prints
the median wall and CPU seconds (all threads) per path, and DuckDB's floor (all
sessions joined to their episodes, by site and status) of the same store. Nothing
is asserted.

    .venv/bin/python benchmarks/bench_summaries.py --db /tmp/perf10m/v4.duckdb --repeats 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_pages import floor_seconds  # noqa: E402 - after the path is set

PATHS = (("summaries", None), ("sessions", "0"))


def _use(setting: str | None) -> None:
    if setting is None:
        os.environ.pop("IOP_READ_SUMMARIES", None)
    else:
        os.environ["IOP_READ_SUMMARIES"] = setting


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    floor = floor_seconds(args.db)
    from analytics.metrics.summary import summary
    from analytics.store import Store

    store = Store(args.db)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in PATHS}
    try:
        for label, setting in PATHS:  # warm-up of each path
            _use(setting)
            summary(store)
        for i in range(args.repeats):
            for label, setting in (PATHS if i % 2 == 0 else tuple(reversed(PATHS))):
                _use(setting)
                t0, c0 = time.perf_counter(), time.process_time()
                summary(store)
                times[label].append((time.perf_counter() - t0, time.process_time() - c0))
    finally:
        _use(None)
        store.close()
    print(f"store {args.db}; floor {floor:.3f} s")
    for label, setting in PATHS:
        wall = statistics.median(t[0] for t in times[label])
        cpu = statistics.median(t[1] for t in times[label])
        env = {**os.environ, "PYTHONPATH": str(REPO)} | ({"IOP_READ_SUMMARIES": setting} if setting else {})
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "analytics", "metrics", "--db", args.db, "--format", "json"],
                              cwd=REPO, env=env, capture_output=True, text=True)
        process = time.perf_counter() - t0
        status = "" if done.returncode == 0 else f" (exit {done.returncode})"
        print(f"{label:<10} summary warm, median of {args.repeats}: {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"({wall / floor:.1f}x floor); whole metrics process {process:.2f} s ({process / floor:.1f}x floor)"
              f"{status}")
    print(f"load average now: {os.getloadavg()[0]:.1f} (2-core machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
