"""Benchmark: how long each dashboard page takes to finish a run, under Streamlit's AppTest.

On generated data (python -m sample_data.generate, imported with the real
importer; the store is shared with bench_metrics.py's work directory), for each page:
1. cold: the first run with empty st.cache_data (the Store stays open, as in a
   running server after its first visitor);
2. filter change, new value: a site is selected in the shared sidebar filter and
   the page reruns; its results are not cached yet, so this is the query time;
3. filter change, cached: the filter is cleared and set again, so every result
   comes from st.cache_data (what a user clicking back and forth sees);
and, for scale, the pandas baseline of the headline metrics on the same data.

Targets, 2 cores: <= 1 s per page after a filter change with a warm
cache, <= 3 s cold. Nothing is asserted; figures and peak memory are printed.
Each run is timed in wall-clock seconds and in CPU seconds of this process (all
threads, DuckDB's included), which move less with the load of a shared machine.

    .venv/bin/python benchmarks/bench_pages.py --sessions 1000000
    .venv/bin/python benchmarks/bench_pages.py --db /tmp/golden/gen1m.duckdb   # a store already imported
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAGES = ("overview", "retention", "attendance", "therapy_mix", "outcomes", "access", "qi", "data")
TIMEOUT = 900
# Above this many sessions the pandas baseline is left out: it holds every row in memory.
PANDAS_MAX_SESSIONS = 20_000_000


FLOOR_SQL = ("SELECT e.site, s.status, count(*) FROM sessions AS s JOIN enrollments AS e USING (episode_id) "
             "GROUP BY ALL")


def floor_seconds(db: str, runs: int = 3) -> float:
    """DuckDB's own floor: the best of `runs` bare scans of all sessions joined to their
    episodes, grouped by site and status (what any page needs at least once)."""
    import duckdb

    best = float("inf")
    with duckdb.connect(db, read_only=True) as con:
        for _ in range(runs):
            t0 = time.perf_counter()
            con.execute(FLOOR_SQL).fetchall()
            best = min(best, time.perf_counter() - t0)
    return best


def _session_count(db: str) -> int:
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        return con.execute("SELECT count(*) FROM sessions").fetchone()[0]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_run(at) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one page run."""
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    elapsed = time.perf_counter() - t0, time.process_time() - c0
    if at.exception:
        raise RuntimeError(f"page raised: {[e.value for e in at.exception]}")
    failed = [w.value for w in at.warning if "could not be computed" in w.value]
    if failed:
        raise RuntimeError(f"a section failed: {failed}")
    return elapsed


def bench_page(page: str) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui.context import K_SITES

    st.cache_data.clear()
    at = AppTest.from_file(str(REPO / "pages" / f"{page}.py"), default_timeout=TIMEOUT)
    cold = _timed_run(at)
    charts = len(at.get("plotly_chart"))
    sites = at.multiselect(key=K_SITES)
    site = sites.options[0]
    sites.select(site)
    changed = _timed_run(at)
    at.multiselect(key=K_SITES).unselect(site)
    back = _timed_run(at)
    at.multiselect(key=K_SITES).select(site)
    cached = _timed_run(at)
    return {"page": page, "charts": charts, "cold": cold, "changed": changed, "back": back, "cached": cached}


def pandas_reference(db: str) -> float:
    """Seconds for the pandas baseline of the headline metrics (data already in memory)."""
    from analytics.store import Store
    from benchmarks.pandas_baseline import load_frames, pandas_summary

    store = Store(db)
    frames = load_frames(store)
    store.close()
    t0 = time.perf_counter()
    pandas_summary(*frames)
    return time.perf_counter() - t0


def _print_totals(label: str, rows: list[dict]) -> None:
    for i, what in ((0, "wall"), (1, "CPU")):
        print(f"{label}, {what}: worst cold {max(r['cold'][i] for r in rows):.2f} s; worst filter change "
              f"{max(r['changed'][i] for r in rows):.2f} s; worst cached rerun "
              f"{max(max(r['back'][i], r['cached'][i]) for r in rows):.2f} s; all pages cold "
              f"{sum(r['cold'][i] for r in rows):.2f} s, after a filter change {sum(r['changed'][i] for r in rows):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/iop-bench"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument("--db", type=Path, default=None, help="an imported store to use instead of generating one")
    parser.add_argument("--ab", action="store_true",
                        help="run each page with the session summaries and counted from the sessions "
                             "(IOP_READ_SUMMARIES=0), alternating which goes first")
    parser.add_argument("--skip-pandas", action="store_true",
                        help="leave out the pandas baseline (it holds every row in memory; skipped anyway "
                             f"above {PANDAS_MAX_SESSIONS:,} sessions)")
    args = parser.parse_args()
    if args.db is not None:
        db = args.db
    else:
        from benchmarks.bench_metrics import prepare

        args.workdir.mkdir(parents=True, exist_ok=True)
        db = prepare(args.sessions, args.workdir, args.seed)
    os.environ["IOP_DB"] = str(db)
    # The generated store holds imported (non-sample) data; local mode shows it only with this opt-in.
    os.environ["IOP_ALLOW_ANONYMOUS"] = "1"

    # read before the pages open the store
    floor, sessions = floor_seconds(str(db)), _session_count(str(db))
    print(f"\nfloor (bare scan of all sessions joined to episodes, by site and status): {floor:.3f} s")
    print(f"pages on {db}, seconds per page run, wall (CPU):")
    print(f"{'page':<12} {'path':<10} {'charts':>6} {'cold':>13} {'filter':>13} {'back':>13} {'cached':>13}"
          f" {'filter/floor':>12}")
    paths = (("summaries", None), ("sessions", "0")) if args.ab else (("default", None),)
    rows = []
    for i, page in enumerate(args.pages):
        for label, setting in (paths if i % 2 == 0 else tuple(reversed(paths))):
            if setting is None:
                os.environ.pop("IOP_READ_SUMMARIES", None)
            else:
                os.environ["IOP_READ_SUMMARIES"] = setting
            r = bench_page(page) | {"path": label}
            rows.append(r)
            print(f"{r['page']:<12} {label:<10} {r['charts']:>6} "
                  + " ".join(f"{r[k][0]:>6.2f} ({r[k][1]:>4.2f})" for k in ("cold", "changed", "back", "cached"))
                  + f" {r['changed'][0] / floor:>12.1f}", flush=True)
    os.environ.pop("IOP_READ_SUMMARIES", None)
    print("\ncold: first run, empty result cache; filter: a site selected (new queries); "
          "back: filter cleared (cached); cached: the site again (cached).")
    print("targets: <= 3 s cold, <= 1 s after a filter change with a warm cache.")
    for label in dict.fromkeys(r["path"] for r in rows):
        _print_totals(label, [r for r in rows if r["path"] == label])
    print(f"peak RSS of this process: {_peak_rss_mb():.0f} MB")
    if args.skip_pandas or sessions > PANDAS_MAX_SESSIONS:
        print(f"pandas baseline skipped ({sessions:,} sessions)")
    else:
        try:
            print(f"pandas baseline of the headline metrics alone (in memory, for scale): "
                  f"{pandas_reference(str(db)):.2f} s")
        except Exception as exc:  # noqa: BLE001 - the reference is optional
            print(f"pandas baseline unavailable: {type(exc).__name__}")
    print(f"load average now: {os.getloadavg()[0]:.1f} (2-core machine)")


if __name__ == "__main__":
    main()
