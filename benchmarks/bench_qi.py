"""Benchmark: the QI toolkit's queries and the packet on generated data, against a pandas baseline.

For each size (sessions) it reuses bench_metrics.prepare() (the sample generator
and the real importer), then in this process:
1. times, warm (one warm-up, then the median of 3): every control chart
   (spc.standard_charts), every funnel (3 measures x site/clinician), the at-risk
   list, and the whole packet (report.build_report_html, Plotly included);
2. loads the sessions into pandas (not timed) and times a pandas version of the
   monthly attendance counts and of the attendance funnel by site, checking that
   both give the same counts;
3. prints wall and CPU seconds and the peak RSS.
Nothing is asserted; figures are printed. Run it at 1 M or less on a shared
machine; the lead runs 10 M.

    .venv/bin/python benchmarks/bench_qi.py --sessions 1000000
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def pandas_month_counts(ses, as_of):
    """Monthly expected / attended / no-show counts of complete months, in pandas."""
    s = ses[ses["session_date"] <= as_of]
    month = s["session_date"].dt.to_period("M")
    out = s.assign(month=month,
                   expected=s["status"] != "program_cancelled",
                   attended=s["status"] == "attended",
                   no_show=s["status"] == "no_show").groupby("month")[["expected", "attended", "no_show"]].sum()
    complete = out.index.to_timestamp(how="end").normalize() <= as_of
    return out[complete]


def pandas_site_funnel(ses, enr, as_of):
    s = ses[ses["session_date"] <= as_of].merge(enr[["episode_id", "site", "program"]], on="episode_id")
    s = s.assign(expected=s["status"] != "program_cancelled", attended=s["status"] == "attended")
    return s.groupby(["program", "site"])[["attended", "expected"]].sum()


def measure(db: str, repeats: int) -> None:
    import pandas as pd

    from analytics.qi import atrisk
    from analytics.qi import funnel
    from analytics.report import packet as report
    from analytics.qi import spc
    from analytics.filters import Filters, Scope
    from analytics.store import Store, bind_filters

    store = Store(db)
    filters, scope = Filters(), Scope()

    def charts():
        with store.read() as cur:
            bind_filters(cur, filters, scope)
            return spc.standard_charts(cur, laney=True)

    def funnels():
        with store.read() as cur:
            bind_filters(cur, filters, scope)
            return [funnel.funnels(cur, m, u) for m in funnel.MEASURES for u in funnel.UNITS]

    def risk():
        with store.read() as cur:
            bind_filters(cur, filters, scope)
            return atrisk.at_risk_rows(cur)

    for name, fn in (("control charts (7)", charts), ("funnels (6 kinds)", funnels), ("at-risk list", risk),
                     ("packet HTML", lambda: report.build_report_html(store, filters, scope, generated_by="bench"))):
        wall, cpu = _timed(fn, repeats)
        print(f"{name:22s} wall {wall:7.3f} s  cpu {cpu:7.3f} s  peak RSS {_peak_rss_mb():7.0f} MB")

    with store.read() as cur:
        as_of = bind_filters(cur, filters, scope)
        sql_months = spc.session_counts(cur, "month")
        sql_funnel = funnel.funnel_counts(cur, "attendance_rate", "site")
        enr = cur.execute("SELECT episode_id, site, program FROM main.enrollments").df()
        ses = cur.execute("SELECT episode_id, session_date, status FROM main.sessions").df()
    ses["session_date"] = pd.to_datetime(ses["session_date"])
    as_of_ts = pd.Timestamp(as_of)
    t0 = time.perf_counter()
    pd_months = pandas_month_counts(ses, as_of_ts)
    pd_funnel = pandas_site_funnel(ses, enr, as_of_ts)
    pandas_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    with store.read() as cur:
        bind_filters(cur, filters, scope)
        spc.session_counts(cur, "month")
        funnel.funnel_counts(cur, "attendance_rate", "site")
    duck_seconds = time.perf_counter() - t0
    same_months = (sql_months[["expected", "attended", "no_show"]].to_numpy() == pd_months.to_numpy()).all()
    merged = sql_funnel.set_index(["program", "unit"])[["x", "n"]].to_numpy()
    same_funnel = (merged == pd_funnel.to_numpy()).all()
    print(f"monthly counts + site funnel: duckdb {duck_seconds:.3f} s, pandas {pandas_seconds:.3f} s "
          f"(x{pandas_seconds / duck_seconds:.1f}); same counts: months {same_months}, funnel {same_funnel}")
    print(f"peak RSS {_peak_rss_mb():.0f} MB")
    store.close()


def main(argv: list[str] | None = None) -> int:
    from benchmarks.bench_metrics import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    for n in args.sessions:
        db = prepare(n, args.workdir, args.seed)
        print(f"== {n:,} sessions ({db})")
        measure(str(db), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
