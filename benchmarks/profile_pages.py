"""Profile: what each dashboard page's queries cost, one query at a time.

Runs every page under Streamlit's AppTest on an imported store, then selects a
site in the shared sidebar filter (a never-seen value, so every query runs) and
records, for each query of that run, its wall time and DuckDB's own profile of it
(the operator tree EXPLAIN ANALYZE prints): the time of its heaviest operators and
how many session rows it read. Nothing is asserted; the figures are printed.

    .venv/bin/python benchmarks/profile_pages.py --db /tmp/perf10m/store.duckdb
    .venv/bin/python benchmarks/profile_pages.py --db STORE --pages attendance qi --top 5
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAGES = ("overview", "retention", "attendance", "therapy_mix", "outcomes", "access", "qi", "data")
_PROFILED = ("SELECT", "WITH", "FROM")


def _query_names() -> list[tuple[str, str]]:
    """(text before any breakdown placeholder, name) of every analytics query, longest first."""
    from analytics.store.sql_files import SQL_DIR

    known = []
    for path in SQL_DIR.rglob("*.sql"):
        name = str(path.relative_to(SQL_DIR).with_suffix(""))
        known.append((path.read_text().split("/*dimension*/")[0], name))
    return sorted(known, key=lambda k: -len(k[0]))


def _operators(node: dict, out: dict, scanned: list) -> None:
    kind = node.get("operator_type") or ""
    if kind:
        out[kind] += float(node.get("operator_timing") or 0.0)
        table = (node.get("extra_info") or {}).get("Table", "")
        if kind == "TABLE_SCAN" and table.endswith("sessions"):
            scanned.append(int(node.get("operator_cardinality") or 0))
    for child in node.get("children", []):
        _operators(child, out, scanned)


class ProfiledCursor:
    """A cursor that records each query's wall time and DuckDB's operator profile."""

    def __init__(self, cur, log: list, function: str, names: list[tuple[str, str]]) -> None:
        self._cur, self._log, self._function, self._names = cur, log, function, names
        cur.execute("PRAGMA enable_profiling = 'no_output'")

    def execute(self, sql: str, params=None):
        t0, c0 = time.perf_counter(), time.process_time()
        result = self._cur.execute(sql, params or {})
        wall = time.perf_counter() - t0
        if sql.lstrip().split(None, 1)[0].upper() in _PROFILED or sql.lstrip().startswith("--"):
            if not sql.lstrip().upper().startswith(("SET", "PRAGMA")):
                ops: dict[str, float] = defaultdict(float)
                scanned: list[int] = []
                for child in json.loads(self._cur.get_profiling_information(format="json")).get("children", []):
                    _operators(child, ops, scanned)
                name = next((n for prefix, n in self._names if sql.startswith(prefix)), "(inline)")
                self._log.append({"function": self._function, "query": name, "wall": wall,
                                  "cpu": time.process_time() - c0, "ops": dict(ops),
                                  "session_rows": sum(scanned)})
        return result

    def __getattr__(self, attr):
        return getattr(self._cur, attr)


def profile_page(page: str, log: list) -> float:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui.context import K_SITES

    st.cache_data.clear()
    at = AppTest.from_file(str(REPO / "pages" / f"{page}.py"), default_timeout=900)
    at.run()
    sites = at.multiselect(key=K_SITES)
    sites.select(sites.options[0])
    del log[:]
    t0 = time.perf_counter()
    at.run()
    if at.exception:
        raise RuntimeError(f"{page} raised: {[e.value for e in at.exception]}")
    return time.perf_counter() - t0


def install_profiler(log: list) -> None:
    """Route every page query through ProfiledCursor (ui.data.call is the one way in)."""
    import ui.data as data
    from analytics.store.queries import bind_filters
    from ui import suppressed
    from ui.data import open_store, reads_store

    names = _query_names()

    def call(target, filters, scope, fn, *args, **kwargs):
        s = open_store(target)
        label = data.qualified_name(fn)
        if reads_store(fn):
            t0 = time.perf_counter()
            result = fn(s, filters, scope, *args, **kwargs)
            log.append({"function": label, "query": "(reads the store itself)",
                        "wall": time.perf_counter() - t0, "cpu": 0.0, "ops": {}, "session_rows": 0})
        else:
            with s.read() as cur:
                bind_filters(cur, filters, scope)
                result = fn(ProfiledCursor(cur, log, label, names), *args, **kwargs)
        return suppressed.for_scope(scope, fn, args, kwargs, result)

    data.call = call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="an imported store")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument("--top", type=int, default=8, help="queries listed per page")
    args = parser.parse_args()
    os.environ["IOP_DB"] = str(args.db)
    os.environ["IOP_ALLOW_ANONYMOUS"] = "1"
    import duckdb

    with duckdb.connect(str(args.db), read_only=True) as con:
        total_sessions = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
    log: list = []
    install_profiler(log)
    print(f"store {args.db}: {total_sessions:,} sessions; a site selected, every query new")
    for page in args.pages:
        run = profile_page(page, log)
        queries = sum(e["wall"] for e in log)
        scans = sum(e["session_rows"] for e in log) / max(total_sessions, 1)
        print(f"\n{page}: page run {run:.2f} s, {len(log)} queries {queries:.2f} s, "
              f"session rows read = {scans:.1f} x the table")
        print(f"  {'query':<44} {'wall s':>7} {'rows/table':>10}  heaviest operators (s)")
        for e in sorted(log, key=lambda e: -e["wall"])[: args.top]:
            heavy = sorted(e["ops"].items(), key=lambda kv: -kv[1])[:3]
            ops = ", ".join(f"{k.lower()} {v:.2f}" for k, v in heavy)
            print(f"  {e['query']:<44} {e['wall']:>7.3f} {e['session_rows'] / max(total_sessions, 1):>10.2f}  {ops}")
    print(f"\nload average now: {os.getloadavg()[0]:.1f} (2-core machine)")


if __name__ == "__main__":
    main()
