"""Benchmark: the metrics summary on generated data against a pandas baseline.

For each size (sessions), it generates data with the sample generator (`--full`, so
with assessment scores; or reuses it), imports it into a store, then in a fresh process:
1. times analytics.metrics.summary warm (one warm-up call, then the median of 3),
   and reports the peak RSS of that process up to then;
2. A/B in the same process: the summary with and without the clinical outcome
   measures, alternating, so the measures' cost is read under the same load;
3. loads the same tables into pandas (not timed) and times the vectorised pandas
   implementations of the same definitions (benchmarks/pandas_baseline.py for the
   headline figures, benchmarks/pandas_measures.py for the measures);
4. checks that both give the same figures, and prints the speed ratio;
5. times the summary with and without its access figures, alternating (A/B), and the
   pandas implementation of the access figures (benchmarks/pandas_intake.py), checked
   figure by figure too;
and finally times the whole `python -m analytics metrics` command as a process.

Targets at 10 M sessions, 2 cores: summary <= 1.5 s warm, >= 10x faster than
pandas, <= 2 GB peak; with ~1.5 M assessments the measures add <= 0.2 s to the
warm summary; with 1 M referrals (--referrals 1000000) the access figures add at most
0.3 s to it. Nothing is asserted; figures are printed.

    .venv/bin/python benchmarks/bench_metrics.py --sessions 1000000
    .venv/bin/python benchmarks/bench_metrics.py --sessions 1000000 10000000 --workdir /data/bench
    .venv/bin/python benchmarks/bench_metrics.py --sessions 10000000 --referrals 1000000
    .venv/bin/python benchmarks/bench_metrics.py --db /tmp/perf10m/store.duckdb   # an imported store

On a shared machine the wall times move with the load; the CPU times (all threads of
the process, time.process_time) move less, so both are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SESSIONS_PER_EPISODE = 33.9  # what the generator produces on average (measured: 29,000 -> 982,719)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def prepare(sessions: int, workdir: Path, seed: int, referrals: int | None = None) -> Path:
    """Generate (python -m sample_data.generate --full) and import one size; reused when present.

    referrals: the number of referral rows (--referrals); None: the generator's default
    of about 1.6 per episode.
    """
    episodes = max(1, round(sessions / SESSIONS_PER_EPISODE))
    data = workdir / (f"s{sessions}-full" + (f"-r{referrals}" if referrals else ""))
    db = data / "store.duckdb"
    if db.exists() and (data / "imported.ok").exists() and (data / "assessments.csv").exists() \
            and (data / "referrals.csv").exists():
        print(f"reusing {db}")
        return db
    if not (data / "assessments.csv").exists() or not (data / "referrals.csv").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sample_data.generate", "--episodes", str(episodes),
                        "--seed", str(seed), "--out", str(data), "--full",
                        *(["--referrals", str(referrals)] if referrals else [])], cwd=REPO, check=True)
        print(f"generated {episodes} episodes in {time.perf_counter() - t0:.1f} s")
    for leftover in (db, Path(str(db) + ".wal")):
        leftover.unlink(missing_ok=True)
    from analytics.ingest.importer import import_files
    from analytics.store import Store

    t0 = time.perf_counter()
    store = Store(str(db))
    result = import_files(store, [data / "enrollments.csv", data / "sessions.csv", data / "assessments.csv",
                                  data / "referrals.csv"])
    store.close()
    print(f"imported {[(f.kind, f.inserted, f.rejected) for f in result.files]} "
          f"in {time.perf_counter() - t0:.1f} s")
    (data / "imported.ok").write_text("ok\n")
    return db


def summary_ab(store, repeats: int) -> dict:
    """The summary without the measures (A: the code before them) and with them (B),
    alternating in one process: (wall, CPU) medians of each and their difference."""
    from analytics.metrics import measures
    from analytics.metrics import summary as metrics

    real = measures.measures
    variants = {"A": lambda cur, instruments=None, **kwargs: {}, "B": real}
    runs: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    try:
        for _ in range(max(repeats, 1)):
            for label, fn in variants.items():
                measures.measures = fn
                t0, c0 = time.perf_counter(), time.process_time()
                metrics.summary(store)
                runs[label].append((time.perf_counter() - t0, time.process_time() - c0))
    finally:
        measures.measures = real
    out = {}
    for label, r in runs.items():
        out[label] = (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
    out["added"] = (out["B"][0] - out["A"][0], out["B"][1] - out["A"][1])
    return out


def measure(db: str, repeats: int) -> dict:
    """Run in a fresh process: the summary warm, then the pandas baseline; returns figures."""
    from analytics.metrics import summary as metrics
    from analytics.store import Store
    from benchmarks.pandas_baseline import load_frames, pandas_summary

    store = Store(db)
    with store.read() as cur:
        sessions, episodes = cur.execute(
            "SELECT (SELECT count(*) FROM main.sessions), (SELECT count(*) FROM main.enrollments)"
        ).fetchone()
    metrics.summary(store)  # warm-up: attach, macro definitions, file cache
    times, cpu_times = [], []
    for _ in range(max(repeats, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        sql_result = metrics.summary(store).to_dict()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)  # all threads: robust on a busy machine
    summary_rss = _peak_rss_mb()
    parts = _part_seconds(store)
    ab = summary_ab(store, repeats)
    access_ab = _access_ab(store, repeats)

    enr, ses = load_frames(store)
    pandas_times, pandas_cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        pd_result = pandas_summary(enr, ses)
        pandas_times.append(time.perf_counter() - t0)
        pandas_cpu.append(time.process_time() - c0)
    measured, pandas_measure_times, pandas_measure_cpu = _pandas_measures(store, repeats)
    mismatches = _compare({k: v for k, v in sql_result.items() if k not in ("measures", "access")}, pd_result)
    mismatches += _compare(sql_result["measures"], measured, prefix="measures.")
    access_pandas = _access_pandas(store, sql_result["access"], repeats)
    mismatches += access_pandas.pop("mismatches")
    return {
        "assessments": _count(store, "assessments"),
        "ab": ab,
        "pandas_measures_median": statistics.median(pandas_measure_times),
        "pandas_measures_cpu_median": statistics.median(pandas_measure_cpu),
        "sessions": sessions, "episodes": episodes,
        "summary_seconds": times, "summary_median": statistics.median(times),
        "summary_cpu_median": statistics.median(cpu_times), "parts": parts,
        "summary_peak_rss_mb": summary_rss,
        "pandas_seconds": pandas_times, "pandas_median": statistics.median(pandas_times),
        "pandas_cpu_median": statistics.median(pandas_cpu),
        "process_peak_rss_mb": _peak_rss_mb(),
        "mismatches": mismatches,
        "access_ab": access_ab, "access_pandas": access_pandas,
    }


def _count(store, table: str) -> int:
    with store.read() as cur:
        return cur.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]  # a fixed table name


def _pandas_measures(store, repeats: int) -> tuple[dict, list[float], list[float]]:
    """benchmarks/pandas_measures.py on the tables in memory (loading not timed): its
    figures, wall and CPU seconds per run."""
    from analytics.store.instruments import instruments_in_force
    from benchmarks.pandas_measures import Instrument, load_measure_frames, pandas_measures

    enrollments, sessions, assessments = load_measure_frames(store)
    with store.read() as cur:
        instruments = [Instrument(i.name, i.label, i.min_score, i.max_score,
                                  "better" if i.higher_is_better else "worse", i.every_days, i.caseness,
                                  i.reliable_change, i.remission_below, i.response_drop, i.programs)
                       for i in instruments_in_force(cur)]
    times, cpu = [], []
    result: dict = {}
    for _ in range(max(repeats, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        result = pandas_measures(enrollments, assessments, instruments, sessions=sessions)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return result, times, cpu


def _access_ab(store, repeats: int) -> dict:
    """The summary with its access figures (A) and without them (B), alternating in one
    process, so both see the same machine; the difference is what the access figures add."""
    from analytics.metrics import intake
    from analytics.metrics import summary as metrics

    class _NoAccess:
        def to_dict(self) -> dict:
            return {}

    real = intake.access_summary
    times: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
    try:
        for _ in range(max(repeats, 1) + 2):
            for label, fn in (("with", real), ("without", lambda cur, **kw: _NoAccess())):
                intake.access_summary = fn
                t0, c0 = time.perf_counter(), time.process_time()
                metrics.summary(store)
                times[label].append((time.perf_counter() - t0, time.process_time() - c0))
    finally:
        intake.access_summary = real
    out = {}
    for label, runs in times.items():
        out[label] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
    with store.read() as cur:
        out["referrals"] = cur.execute("SELECT count(*) FROM main.referrals").fetchone()[0]
    return out


def _access_pandas(store, sql_access: dict, repeats: int) -> dict:
    """The access figures in pandas (benchmarks/pandas_intake.py, data in memory): time and agreement."""
    from benchmarks.pandas_intake import load_access_frames, pandas_access

    frames = load_access_frames(store)
    walls, cpus = [], []
    for _ in range(max(repeats, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        result = pandas_access(*frames)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"median": statistics.median(walls), "cpu_median": statistics.median(cpus),
            "mismatches": _compare(sql_access, result, prefix="access.")}


def _part_seconds(store) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each analytics call the summary makes, inside one read,
    and of the single-purpose session_rates / therapy_mix for comparison (the summary
    takes both from one pass, metrics._session_figures)."""
    from analytics.metrics import dose
    from analytics.metrics import measures
    from analytics.metrics import intake
    from analytics.metrics import summary as metrics
    from analytics.metrics import mix
    from analytics.metrics import discharges
    from analytics.metrics import retention
    from analytics.metrics import sessions
    from analytics.filters import Filters
    from analytics.store import bind_filters

    out = {}
    with store.read() as cur:
        bind_filters(cur, Filters())
        calls = {
            "retention.event_counts (outcomes + survival)": lambda: retention.event_counts(cur),
            "discharges.readmission_rates": lambda: discharges.readmission_rates(cur),
            "metrics._session_figures (rates + mix, one pass)": lambda: metrics._session_figures(cur),
            "dose.dose_summary": lambda: dose.dose_summary(cur),
            "measures.measures (clinical outcomes)": lambda: measures.measures(cur, with_patients=False),
            "intake.episode_figures (access: episodes)": lambda: intake.episode_figures(cur, patients=False),
            "intake.referral_figures (access: referrals)": lambda: intake.referral_figures(cur, patients=False),
            "(alone) sessions.session_rates, with patients": lambda: sessions.session_rates(cur),
            "(alone) mix.therapy_mix": lambda: mix.therapy_mix(cur),
        }
        for name, call in calls.items():
            t0, c0 = time.perf_counter(), time.process_time()
            call()
            out[name] = (time.perf_counter() - t0, time.process_time() - c0)
    return out


def _compare(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for key, expected in b.items():
        got = a.get(key)
        if isinstance(expected, dict):
            if not isinstance(got, dict) or set(got) != set(expected):
                out.append(f"{prefix}{key}: keys differ")
            else:
                out += _compare(got, expected, prefix=f"{prefix}{key}.")
        elif isinstance(expected, list):  # by_week: [{"week", "n", "mean"}, ...]
            if not isinstance(got, list) or len(got) != len(expected):
                out.append(f"{prefix}{key}: lengths differ")
            else:
                for i, (g, e) in enumerate(zip(got, expected)):
                    out += _compare(g, e, prefix=f"{prefix}{key}[{i}].")
        elif expected is None or got is None or isinstance(expected, str):
            if got != expected:
                out.append(f"{prefix}{key}: {got!r} != {expected!r}")
        elif abs(float(got) - float(expected)) > 1e-9 * max(1.0, abs(float(expected))):
            out.append(f"{prefix}{key}: {got!r} != {expected!r}")
    return out


def cli_seconds(db: Path) -> tuple[float, float, int, str]:
    """Wall and CPU (user + system) seconds of one `python -m analytics metrics` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "analytics", "metrics", "--db", str(db),
                           "--format", "json"], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = proc.stderr.strip().splitlines()
    return wall, cpu, proc.returncode, lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/iop-bench"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--referrals", type=int, default=None,
                        help="referral rows to generate (default: about 1.6 per episode)")
    parser.add_argument("--db", type=Path, nargs="+",
                        help="measure these imported stores instead of generating --sessions")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: DB path, run in a child
    args = parser.parse_args(argv)

    if args.measure:
        print(json.dumps(measure(args.measure, args.repeats)))
        return 0

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"cpus: {os.cpu_count()}  python: {sys.version.split()[0]}")
    targets = [(str(db), db) for db in args.db] if args.db else \
        [(f"{size:,} sessions", None) for size in args.sessions]
    for (label, given), size in zip(targets, args.sessions if not args.db else [0] * len(targets)):
        print(f"\n== {label} ==")
        db = given if given else prepare(size, args.workdir, args.seed, args.referrals)
        child = subprocess.run([sys.executable, __file__, "--measure", str(db), "--repeats",
                                str(args.repeats)], cwd=REPO, capture_output=True, text=True)
        if child.returncode != 0:
            print(child.stderr)
            return 1
        r = json.loads(child.stdout.strip().splitlines()[-1])
        ratio = r["pandas_median"] / r["summary_median"] if r["summary_median"] else float("nan")
        print(f"store: {r['episodes']:,} episodes, {r['sessions']:,} sessions, {r['assessments']:,} assessments")
        print(f"metrics.summary warm: median {r['summary_median']:.3f} s  "
              f"(runs: {', '.join(f'{t:.3f}' for t in r['summary_seconds'])}; "
              f"CPU median {r['summary_cpu_median']:.3f} s)  target <= 1.5 s at 10 M")
        for name, (wall, cpu) in r["parts"].items():
            print(f"    {name:48s} wall {wall:.3f} s  CPU {cpu:.3f} s")
        ab = r["ab"]
        print(f"A/B in one process, medians: summary without the measures wall {ab['A'][0]:.3f} s CPU "
              f"{ab['A'][1]:.3f} s; with them wall {ab['B'][0]:.3f} s CPU {ab['B'][1]:.3f} s; "
              f"the measures add wall {ab['added'][0]:+.3f} s, CPU {ab['added'][1]:+.3f} s  target <= 0.2 s")
        print(f"peak RSS after the summary runs: {r['summary_peak_rss_mb']:.0f} MB  target <= 2048 MB")
        ab = r["access_ab"]
        print(f"access figures A/B ({ab['referrals']:,} referrals), summary median with {ab['with'][0]:.3f} s "
              f"(CPU {ab['with'][1]:.3f}), without {ab['without'][0]:.3f} s (CPU {ab['without'][1]:.3f}): "
              f"they add {ab['with'][0] - ab['without'][0]:.3f} s (CPU {ab['with'][1] - ab['without'][1]:.3f})  "
              "target <= 0.3 s at 10 M sessions and 1 M referrals")
        ap = r["access_pandas"]
        print(f"access figures in pandas (data in memory): median {ap['median']:.3f} s (CPU {ap['cpu_median']:.3f})")
        print(f"pandas baseline (data in memory): median {r['pandas_median']:.3f} s  "
              f"(runs: {', '.join(f'{t:.3f}' for t in r['pandas_seconds'])}; "
              f"CPU median {r['pandas_cpu_median']:.3f} s); "
              f"process peak RSS with the frames loaded: {r['process_peak_rss_mb']:.0f} MB")
        print(f"pandas measures (data in memory): median {r['pandas_measures_median']:.3f} s "
              f"(CPU {r['pandas_measures_cpu_median']:.3f} s); SQL measures alone: "
              f"{r['parts']['measures.measures (clinical outcomes)'][0]:.3f} s")
        cpu_ratio = r["pandas_cpu_median"] / r["summary_cpu_median"] if r["summary_cpu_median"] else float("nan")
        print(f"speed ratio pandas / summary: {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU  target >= 10x")
        if r["mismatches"]:
            print("DISAGREEMENT between the SQL and pandas implementations:")
            for line in r["mismatches"]:
                print("  " + line)
        else:
            print("SQL and pandas implementations agree on every figure")
        seconds, cpu, code, last = cli_seconds(db)
        status = "ok" if code == 0 else f"exit {code}: {last}"
        print(f"whole process `python -m analytics metrics`: {seconds:.2f} s, CPU {cpu:.2f} s ({status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
