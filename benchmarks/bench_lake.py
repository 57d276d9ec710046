"""Benchmark: organisation mode (DuckLake, PostgreSQL catalog) against the embedded file.

For each size (sessions) it generates data with the sample generator (reused
when present), splits it into two site groups, and in fresh processes:
1. imports everything into an embedded file and into a new lake (one importer each);
2. times analytics.metrics.summary warm on both (one warm-up call, then the
   median of 3) and prints lake / embedded;
3. imports each site group alone into a new lake (one importer), then groups A
   and B at the same moment into another new lake (two processes), and prints
   each concurrent importer's rows/s as a share of its lone rows/s.
A pandas baseline of the same metrics runs in the embedded measurement's
process (benchmarks/pandas_baseline.py, the tables loaded into pandas).
Every process prints its peak RSS.

Targets: lake metrics within 2x the embedded time; each of two concurrent
importers at >= 70% of one importer's rows/s. Nothing is asserted.

PostgreSQL: a throwaway cluster (tests/pg_cluster.py), one database per lake.

    .venv/bin/python benchmarks/bench_lake.py --sessions 1000000
    .venv/bin/python benchmarks/bench_lake.py --sessions 1000000 10000000 --workdir /data/bench
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SESSIONS_PER_EPISODE = 33.9  # the generator's average (see bench_metrics.py)
GROUPS = {"a": ("Hillcrest", "Lakeview", "Pinewood"), "b": ("Northgate", "Riverside")}

IMPORTER = r"""
import json, resource, sys, time
from analytics.ingest.importer import import_files
from analytics.store import Store
target, files = sys.argv[1], sys.argv[2:]
store = Store(target)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)  # all of DuckDB's threads
    return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu()
result = import_files(store, files)
seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
rows = sum(f.rows for f in result.files)
print(json.dumps({"rows": rows, "seconds": seconds, "cpu_s": cpu_s, "started": t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

METRICS = r"""
import json, resource, statistics, sys, time
from analytics.metrics.summary import summary
from analytics.store import Store
store = Store(sys.argv[1])
summary(store)  # warm-up: attach, extension load, file cache
times, cpu = [], []
for _ in range(3):
    t0, c0 = time.perf_counter(), time.process_time()
    summary(store)
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
out = {"median_s": statistics.median(times), "min_s": min(times), "cpu_median_s": statistics.median(cpu),
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if sys.argv[2:] == ["pandas"]:
    # the pandas baseline of the same definitions, on the same tables (loading not timed)
    from benchmarks.pandas_baseline import load_frames, pandas_summary
    frames = load_frames(store)
    pandas_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        pandas_summary(*frames)
        pandas_times.append(time.perf_counter() - t0)
    out["pandas_median_s"] = statistics.median(pandas_times)
print(json.dumps(out))
"""


def _run_json(code: str, *args: str, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _generate(sessions: int, workdir: Path, seed: int) -> Path:
    episodes = max(1, round(sessions / SESSIONS_PER_EPISODE))
    data = workdir / f"s{sessions}"
    if not (data / "sessions.csv").exists():
        subprocess.run([sys.executable, "-m", "sample_data.generate", "--episodes", str(episodes),
                        "--seed", str(seed), "--out", str(data)], cwd=REPO, check=True)
    return data


def _split(data: Path) -> dict[str, list[str]]:
    """Each site group's enrollments and sessions CSV (text as generated), made once."""
    import duckdb

    files = {}
    con = duckdb.connect()
    for group, sites in GROUPS.items():
        enr, ses = data / f"{group}_enrollments.csv", data / f"{group}_sessions.csv"
        if not ses.exists():
            con.execute("CREATE OR REPLACE TABLE e AS SELECT * FROM read_csv($p, all_varchar = true) "
                        "WHERE list_contains($s, site)", {"p": str(data / "enrollments.csv"), "s": list(sites)})
            con.execute("COPY (SELECT s.* FROM read_csv($p, all_varchar = true) AS s "
                        "SEMI JOIN e USING (episode_id)) TO '" + str(ses) + "' (HEADER)",
                        {"p": str(data / "sessions.csv")})
            con.execute("COPY e TO '" + str(enr) + "' (HEADER)")
        files[group] = [str(enr), str(ses)]
    return files


class Catalogs:
    """New empty catalog databases, each a database in one throwaway PostgreSQL cluster."""

    def __init__(self) -> None:
        from tests.pg_cluster import PgCluster

        self.cluster = PgCluster.start()
        os.environ.update(self.cluster.env())

    def new_target(self) -> str:
        return self.cluster.lake_target(self.cluster.create_database())

    def close(self) -> None:
        self.cluster.stop()


def _fresh(path: Path) -> str:
    """An empty data folder for a new lake (files of an earlier run are removed)."""
    shutil.rmtree(path, ignore_errors=True)
    return str(path)


def bench(sessions: int, workdir: Path, seed: int, catalogs: Catalogs) -> dict:
    data = _generate(sessions, workdir, seed)
    groups = _split(data)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out: dict = {"sessions": sessions}
    whole = [str(data / "enrollments.csv"), str(data / "sessions.csv")]

    # 1. one importer, everything: embedded file and lake
    db = data / "bench_embedded.duckdb"
    for leftover in (db, Path(str(db) + ".wal"), Path(str(db) + ".lock")):
        leftover.unlink(missing_ok=True)
    out["import_embedded"] = _run_json(IMPORTER, str(db), *whole, env=env)
    lake_whole = catalogs.new_target()
    env_lake = {**env, "IOP_LAKE_DATA": _fresh(data / "lake_whole")}
    out["import_lake"] = _run_json(IMPORTER, lake_whole, *whole, env=env_lake)

    # 2. the full metrics, warm, in fresh processes
    out["metrics_embedded"] = _run_json(METRICS, str(db), "pandas", env=env)
    out["metrics_lake"] = _run_json(METRICS, lake_whole, env=env_lake)
    out["metrics_lake_over_embedded"] = out["metrics_lake"]["median_s"] / out["metrics_embedded"]["median_s"]

    # 3. each group imported alone (a new lake each), then A and B at the same moment
    out["lone_importers"] = {}
    for g in GROUPS:
        lone = catalogs.new_target()
        with_data = {**env, "IOP_LAKE_DATA": _fresh(data / f"lake_lone_{g}")}
        subprocess.run([sys.executable, "-c", "import sys; from analytics.store import Store\n"
                        "with Store(sys.argv[1]).write(): pass", lone], cwd=REPO, env=with_data, check=True)
        out["lone_importers"][g] = _run_json(IMPORTER, lone, *groups[g], env=with_data)
    together = catalogs.new_target()
    with_data = {**env, "IOP_LAKE_DATA": _fresh(data / "lake_together")}
    subprocess.run([sys.executable, "-c", "import sys; from analytics.store import Store\n"
                    "with Store(sys.argv[1]).write(): pass", together], cwd=REPO, env=with_data, check=True)
    procs = {g: subprocess.Popen([sys.executable, "-c", IMPORTER, together, *groups[g]], cwd=REPO,
                                 env=with_data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for g in GROUPS}
    concurrent = {}
    for g, p in procs.items():
        stdout, stderr = p.communicate()
        if p.returncode != 0:
            raise SystemExit(stderr[-3000:])
        concurrent[g] = json.loads(stdout.strip().splitlines()[-1])
    out["concurrent_importers"] = concurrent
    # What the machine allows: run together, importers that each keep `cores` busy
    # alone share the CPUs, so each can reach at most CPUs / (sum of their cores)
    # of its lone rate (1 when they fit side by side). The catalog's own CPU, in
    # PostgreSQL, comes on top.
    busy = sum(r["cpu_s"] / r["seconds"] for r in out["lone_importers"].values())
    out["cpus"] = len(os.sched_getaffinity(0))
    out["lone_cores_busy"] = busy
    out["cpu_bound_share"] = min(1.0, out["cpus"] / busy)
    out["concurrent_share_of_lone_rate"] = {
        g: (r["rows"] / r["seconds"]) / (out["lone_importers"][g]["rows"] / out["lone_importers"][g]["seconds"])
        for g, r in concurrent.items()
    }
    return out


def _print(result: dict) -> None:
    n = result["sessions"]
    print(f"\n== {n:,} sessions ==")
    for key in ("import_embedded", "import_lake"):
        r = result[key]
        print(f"{key:<18} {r['rows']:>11,} rows in {r['seconds']:7.2f} s = {r['rows'] / r['seconds']:>10,.0f} rows/s"
              f"  peak {r['peak_rss_mb']:,.0f} MB")
    for key in ("metrics_embedded", "metrics_lake"):
        r = result[key]
        print(f"{key:<18} median {r['median_s']:.3f} s (min {r['min_s']:.3f}, CPU {r['cpu_median_s']:.3f})"
              f"  peak {r['peak_rss_mb']:,.0f} MB")
    ratio = result["metrics_lake_over_embedded"]
    print(f"lake / embedded    {ratio:.2f}x  (target <= 2x: {'met' if ratio <= 2 else 'NOT met'})")
    print(f"pandas baseline    median {result['metrics_embedded']['pandas_median_s']:.3f} s (same metrics, frames in memory)")
    for g, r in result["lone_importers"].items():
        print(f"lone importer ({g})  {r['rows']:>11,} rows in {r['seconds']:7.2f} s = "
              f"{r['rows'] / r['seconds']:>10,.0f} rows/s  ({r['cpu_s'] / r['seconds']:.2f} cores busy)")
    print(f"the two lone importers keep {result['lone_cores_busy']:.2f} cores busy between them on "
          f"{result['cpus']} CPUs: at most {result['cpu_bound_share']:.0%} of lone rate each when run together")
    for g, r in result["concurrent_importers"].items():
        share = result["concurrent_share_of_lone_rate"][g]
        print(f"concurrent ({g})     {r['rows']:>11,} rows in {r['seconds']:7.2f} s = "
              f"{r['rows'] / r['seconds']:>10,.0f} rows/s = {share:.0%} of lone"
              f"  (target >= 70%: {'met' if share >= 0.7 else 'NOT met'})  peak {r['peak_rss_mb']:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/iop-bench"))  # as bench_metrics.py
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # A plain `kill` still stops the throwaway PostgreSQL cluster (finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    catalogs = Catalogs()
    try:
        for sessions in args.sessions:
            t0 = time.perf_counter()
            result = bench(sessions, args.workdir, args.seed, catalogs)
            _print(result)
            print(f"(size done in {time.perf_counter() - t0:.0f} s)")
            if args.json:
                print(json.dumps(result, default=str))
    finally:
        catalogs.close()


if __name__ == "__main__":
    main()
