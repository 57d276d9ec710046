"""Benchmark: importing generated exports with `python -m analytics ingest`, against a pandas baseline.

For each size (session rows) it generates canonical exports with the sample
generator (reused when present), then, each in a fresh process so peak memory
is that process's own (os.wait4 rusage):
1. the first import of enrollments + sessions into an empty store (one command);
2. a second import of the same sessions file (every row unchanged);
3. a pandas baseline doing the same row checks vectorised (read as text, parse
   dates and minutes, vocabularies, duplicates, episode join), without writing.
It prints rows/s (session rows, wall clock), CPU seconds and peak RSS.

With --referrals N, also a referrals export of N rows (the generator's --full
output with --referrals N, over the episodes of the first --sessions size): its
first import into a store holding the enrollments (every admitted referral's
episode is checked against them), a second import (every row unchanged), and
DuckDB reading, casting and writing it with no checks, printed in referral
rows/s beside the sessions' figures.

Targets (2 cores): >= 1 M rows/s for the first import; <= 2 GB peak RSS at 10 M.
Nothing is asserted; figures are printed.

--assessments N times assessment scores against sessions of the same row count, A/B
in one run: generated with --full --fhir, the first N rows of sessions.csv,
assessments.csv and fhir/Observation.ndjson are each imported, in alternating
processes, into a copy of one store that holds the enrollments (target: the
assessments at the sessions' rate or better); then a re-import of the same scores.

    .venv/bin/python benchmarks/bench_ingest.py                      # 1 M
    .venv/bin/python benchmarks/bench_ingest.py --steps              # 1 M, and where the time goes
    .venv/bin/python benchmarks/bench_ingest.py --sessions 1000000 10000000 --workdir /data/bench
    .venv/bin/python benchmarks/bench_ingest.py --assessments 1000000 --rounds 3
    .venv/bin/python benchmarks/bench_ingest.py --referrals 1000000  # 1 M sessions, then 1 M referrals
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SESSIONS_PER_EPISODE = 33.9  # the generator's average (29,000 episodes -> 982,719 sessions)
ASSESSMENTS_PER_EPISODE = 5.2  # with --full (190,000 episodes -> 989,772 scores)

PANDAS_BASELINE = textwrap.dedent("""
    import sys, pandas as pd
    enrollments = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
    s = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
    s = s.apply(lambda c: c.str.strip())
    date = pd.to_datetime(s["session_date"], format="%Y-%m-%d", errors="coerce")
    scheduled = pd.to_numeric(s["scheduled_minutes"], errors="coerce")
    attended = pd.to_numeric(s["attended_minutes"], errors="coerce")
    status = s["status"].str.lower()
    bad = (
        s[["session_id", "episode_id", "session_date", "session_type", "scheduled_minutes",
           "attended_minutes", "status"]].eq("").any(axis=1)
        | date.isna() | scheduled.isna() | (scheduled <= 0) | attended.isna() | (attended < 0)
        | ~status.isin(["attended", "no_show", "patient_cancelled", "program_cancelled"])
        | ((attended > 0) & (status != "attended")) | (attended > scheduled)
    )
    dup = s["session_id"].duplicated(keep=False)
    e = enrollments.set_index("episode_id")
    admit = pd.to_datetime(s["episode_id"].map(e["admit_date"]), errors="coerce")
    discharge = pd.to_datetime(s["episode_id"].map(e["discharge_date"].replace("", None)), errors="coerce")
    outside = admit.isna() | (date < admit) | (date > discharge)
    print(int((bad | dup | outside).sum()))
""")


# The floor: DuckDB reading the same CSV, casting it to the store's types and
# writing it to a store table made by the store's own DDL (its pinned compression
# included), with no checks at all (a bad value would stop it).
# The importer's cost above it is the price of validation, rejects and line numbers.
DUCKDB_FLOOR = textwrap.dedent("""
    import sys, duckdb
    from analytics.store.schema import STORE_DDL
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("ATTACH " + repr(sys.argv[2]) + " AS store")
    con.execute(next(ddl for ddl in STORE_DDL if "store.sessions " in ddl))
    con.execute("INSERT INTO store.sessions SELECT session_id, episode_id, session_date::DATE, "
                "session_type, clinician, scheduled_minutes::INTEGER, attended_minutes::INTEGER, status, "
                "NULL, NULL FROM read_csv($p, header = true, all_varchar = true)", {"p": sys.argv[1]})
""")


# The same floor for a referrals export: the extra columns (referral_source) gathered
# into the MAP as the importer stores them.
REFERRALS_FLOOR = textwrap.dedent("""
    import sys, duckdb
    from analytics.store.schema import STORE_DDL
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("ATTACH " + repr(sys.argv[2]) + " AS store")
    con.execute(next(ddl for ddl in STORE_DDL if "store.referrals " in ddl))
    con.execute("INSERT INTO store.referrals SELECT referral_id, patient_id, site, program, "
                "first_contact_date::DATE, intake_assessment_date::DATE, outcome, episode_id, "
                "MAP(['referral_source'], [referral_source]), NULL, NULL "
                "FROM read_csv($p, header = true, all_varchar = true)", {"p": sys.argv[1]})
""")


# Where a first import's time goes: each statement the importer runs, timed in a
# child process (wall and the process's CPU across DuckDB's threads), plus the byte
# scan and the commit. Same code path as the CLI; the cursor is only wrapped.
STEPS = textwrap.dedent("""
    import contextlib, resource, sys, time
    import analytics.store as st
    from analytics.ingest import files, importer as ingest

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    steps = []

    class Timed:
        def __init__(self, cur):
            self._cur = cur
        def execute(self, sql, params=None):
            w, c = time.perf_counter(), cpu()
            self._cur.execute(sql, params) if params is not None else self._cur.execute(sql)
            steps.append((time.perf_counter() - w, cpu() - c, " ".join(sql.split())[:90]))
            return self
        def __getattr__(self, name):
            return getattr(self._cur, name)

    plain_write = st.Store.write

    @contextlib.contextmanager
    def timed_write(self, prepare=None):
        timed_prepare = None if prepare is None else (lambda cur: prepare(Timed(cur)))
        with plain_write(self, prepare=timed_prepare) as cur:
            yield Timed(cur)
            steps.append((0.0, 0.0, "-- commit follows"))
            mark = time.perf_counter(), cpu()
        steps.append((time.perf_counter() - mark[0], cpu() - mark[1], "COMMIT (and checkpoint)"))

    st.Store.write = timed_write
    plain_facts = files.byte_facts

    def timed_facts(path):
        # runs in a thread beside pass 1, so its CPU here is the whole process's
        w, c = time.perf_counter(), cpu()
        result = plain_facts(path)
        steps.append((time.perf_counter() - w, cpu() - c,
                      "byte scan thread (sha256, lines; CPU is the process's): " + str(path)))
        return result

    files.byte_facts = timed_facts
    w0, c0 = time.perf_counter(), cpu()
    ingest.import_files(st.open_store(sys.argv[1]), sys.argv[2:], memory_limit="1GB")
    total_w, total_c = time.perf_counter() - w0, cpu() - c0
    print(f"{total_w:7.2f} s wall {total_c:7.2f} s CPU  import_files in all")
    for w, c, text in sorted(steps, key=lambda s: -s[1])[:12]:
        print(f"{w:7.2f} s wall {c:7.2f} s CPU  {text}")
""")


def measured(args: list[str], env: dict | None = None) -> dict:
    """Like run_measured, with CPU and peak RSS of exactly that child (os.wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} ... failed with exit code {proc.returncode}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "stdout": out}


def generate(sessions: int, workdir: Path, seed: int, referrals: int | None = None) -> Path:
    """The generator's exports for about this many sessions (with referrals: its --full
    exports with that many referrals), written once into workdir and reused."""
    episodes = max(1, round(sessions / SESSIONS_PER_EPISODE))
    data = workdir / (f"s{sessions}" if referrals is None else f"s{sessions}_r{referrals}")
    wanted = data / ("sessions.csv" if referrals is None else "referrals.csv")
    if not wanted.exists():
        t0 = time.perf_counter()
        full = [] if referrals is None else ["--referrals", str(referrals)]
        subprocess.run([sys.executable, "-m", "sample_data.generate", "--episodes", str(episodes),
                        "--seed", str(seed), "--out", str(data), *full], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"generated {data} in {time.perf_counter() - t0:.1f} s")
    return data


def line_count(path: Path) -> int:
    """Data rows of a CSV written by the generator (one line each, after the header)."""
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b"")) - 1


def bench(sessions: int, workdir: Path, seed: int, show_steps: bool = False) -> None:
    data = generate(sessions, workdir, seed)
    enrollments, session_file = data / "enrollments.csv", data / "sessions.csv"
    rows = line_count(session_file)
    db = data / "bench.duckdb"
    for stale in (db, Path(str(db) + ".wal"), data / "fixed.duckdb", data / "fixed.duckdb.wal"):
        stale.unlink(missing_ok=True)
    ingest = [sys.executable, "-m", "analytics", "ingest", "--db", str(db), "--format", "json"]

    # the fixed cost of a command (interpreter, imports, extensions), from a header-only file
    header_only = data / "header_only.csv"
    header_only.write_text(session_file.open().readline())
    fixed = measured([sys.executable, "-m", "analytics", "ingest", "--db", str(data / "fixed.duckdb"),
                      "--format", "json", str(header_only)])
    first = measured(ingest + [str(enrollments), str(session_file)])
    counts = json.loads(first["stdout"])["files"]
    second = measured(ingest + [str(session_file)])
    again = json.loads(second["stdout"])["files"][0]
    pandas = measured([sys.executable, "-c", PANDAS_BASELINE, str(enrollments), str(session_file)])
    floor_db = data / "floor.duckdb"
    floor_db.unlink(missing_ok=True)
    floor = measured([sys.executable, "-c", DUCKDB_FLOOR, str(session_file), str(floor_db)])
    floor_db.unlink(missing_ok=True)
    steps = None
    if show_steps:
        steps_db = data / "steps.duckdb"
        for stale in (steps_db, Path(str(steps_db) + ".wal")):
            stale.unlink(missing_ok=True)
        steps = measured([sys.executable, "-c", STEPS, str(steps_db), str(enrollments), str(session_file)])
        steps_db.unlink(missing_ok=True)

    size_mb = session_file.stat().st_size / 2**20
    print(f"\n== {rows:,} session rows ({size_mb:.0f} MB CSV) + {counts[0]['rows']:,} enrollments ==")
    for label, m in (("first import (empty store)", first), ("second import (all unchanged)", second),
                     ("pandas checks only (baseline)", pandas), ("DuckDB read+cast+write, no checks", floor)):
        print(f"{label:36s} {m['wall']:7.2f} s wall  {rows / m['wall'] / 1e6:5.2f} M rows/s  "
              f"{m['cpu']:7.2f} s CPU  peak RSS {m['rss_mb']:7.0f} MB")
    net = first["wall"] - fixed["wall"]
    print(f"{'(a header-only import: fixed cost)':36s} {fixed['wall']:7.2f} s wall  {'':15s}"
          f"{fixed['cpu']:7.2f} s CPU  peak RSS {fixed['rss_mb']:7.0f} MB")
    print(f"first import without the fixed cost: {net:.2f} s wall, {rows / net / 1e6:.2f} M rows/s, "
          f"{first['cpu'] - fixed['cpu']:.2f} s CPU")
    print(f"first import / DuckDB floor: {first['wall'] / floor['wall']:.2f}x the wall time "
          f"(the floor itself: {rows / floor['wall'] / 1e6:.2f} M rows/s on this machine)")
    print(f"first import counts: {counts}")
    print(f"second import counts: {again}")
    print(f"pandas flagged {pandas['stdout'].strip()} rows; the importer rejected "
          f"{sum(f['rejected'] for f in counts)}")
    print(f"store file {db.stat().st_size / 2**20:.0f} MB")
    if steps:
        print(f"first import step by step (a separate run; peak RSS {steps['rss_mb']:.0f} MB), by CPU:")
        print(steps["stdout"].rstrip())


def first_rows(source: Path, target: Path, rows: int, header: bool) -> int:
    """Copy the first rows records of a one-record-per-line file (after its header); returns how many."""
    if not target.exists():
        with open(source, "rb") as src, open(target, "wb") as out:
            if header:
                out.write(src.readline())
            for _, line in zip(range(rows), src):
                out.write(line)
    with open(target, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b"")) - (1 if header else 0)


def bench_assessments(n: int, workdir: Path, seed: int, rounds: int) -> None:
    """Scores against sessions of the same row count, each imported into a copy of one
    enrollments-only store, in alternating processes (A/B in one run)."""
    data = workdir / f"a{n}"
    if not (data / "fhir" / "Observation.ndjson").exists():
        t0 = time.perf_counter()
        episodes = max(1, round(n * 1.02 / ASSESSMENTS_PER_EPISODE))  # a little over n scores
        subprocess.run([sys.executable, "-m", "sample_data.generate", "--episodes", str(episodes), "--seed",
                        str(seed), "--out", str(data), "--fhir"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        print(f"generated {data} in {time.perf_counter() - t0:.1f} s")
    files = {
        "sessions (CSV)": (data / "sessions.csv", data / f"sessions_{n}.csv", True),
        "assessments (CSV)": (data / "assessments.csv", data / f"assessments_{n}.csv", True),
        "assessments (FHIR ndjson)": (data / "fhir" / "Observation.ndjson", data / f"observations_{n}.ndjson", False),
    }
    rows = {label: first_rows(src, dst, n, header) for label, (src, dst, header) in files.items()}
    base = data / "enrolled.duckdb"
    for stale in (base, Path(str(base) + ".wal")):
        stale.unlink(missing_ok=True)
    measured([sys.executable, "-m", "analytics", "ingest", "--db", str(base), str(data / "enrollments.csv")])
    runs: dict[str, list[dict]] = {label: [] for label in files}
    counts: dict[str, dict] = {}
    repeat: list[dict] = []
    order = list(files)
    for r in range(rounds):
        for label in (order if r % 2 == 0 else order[::-1]):
            db = data / "ab.duckdb"
            shutil.copy(base, db)
            command = [sys.executable, "-m", "analytics", "ingest", "--db", str(db), "--format", "json",
                       str(files[label][1])]
            runs[label].append(measured(command))
            counts[label] = json.loads(runs[label][-1]["stdout"])["files"][0]
            if label == "assessments (CSV)":
                repeat.append(measured(command))  # the same scores again: every row unchanged
            db.unlink()
    print(f"\n== {n:,} rows of each kind; {rounds} rounds, alternating; the store holds "
          f"{sum(1 for _ in open(data / 'enrollments.csv')) - 1:,} enrollments ==")
    for label, found in list(runs.items()) + [("assessments (CSV), re-import", repeat)]:
        wall = statistics.median(m["wall"] for m in found)
        cpu = statistics.median(m["cpu"] for m in found)
        rss = max(m["rss_mb"] for m in found)
        n_rows = rows[label.split(",")[0]]
        walls = ", ".join(f"{m['wall']:.2f}" for m in found)
        print(f"{label:32s} median {wall:6.2f} s wall  {n_rows / wall / 1e6:5.2f} M rows/s  {cpu:6.2f} s CPU  "
              f"peak RSS {rss:5.0f} MB   (walls: {walls})")
    for label, c in counts.items():
        print(f"{label} counts: {c}")
def bench_referrals(referrals: int, sessions: int, workdir: Path, seed: int) -> None:
    """First and repeat import of a referrals export into a store holding its enrollments."""
    data = generate(sessions, workdir, seed, referrals)
    enrollments, referral_file = data / "enrollments.csv", data / "referrals.csv"
    rows = line_count(referral_file)
    db, fixed_db, floor_db = data / "bench.duckdb", data / "fixed.duckdb", data / "floor.duckdb"
    for path in (db, fixed_db, floor_db):
        for stale in (path, Path(str(path) + ".wal")):
            stale.unlink(missing_ok=True)
    ingest = [sys.executable, "-m", "analytics", "ingest", "--db", str(db), "--format", "json"]
    header_only = data / "header_only.csv"
    header_only.write_text(referral_file.open().readline())
    fixed = measured([sys.executable, "-m", "analytics", "ingest", "--db", str(fixed_db), "--format", "json",
                      str(header_only)])
    enrolled = measured(ingest + [str(enrollments)])
    first = measured(ingest + [str(referral_file)])
    counts = json.loads(first["stdout"])["files"][0]
    second = measured(ingest + [str(referral_file)])
    again = json.loads(second["stdout"])["files"][0]
    floor = measured([sys.executable, "-c", REFERRALS_FLOOR, str(referral_file), str(floor_db)])
    for path in (fixed_db, floor_db):
        path.unlink(missing_ok=True)

    size_mb = referral_file.stat().st_size / 2**20
    enrollment_rows = json.loads(enrolled["stdout"])["files"][0]["rows"]
    print(f"\n== {rows:,} referral rows ({size_mb:.0f} MB CSV) against {enrollment_rows:,} enrollments ==")
    for label, m in (("first import (enrollments in store)", first), ("second import (all unchanged)", second),
                     ("DuckDB read+cast+write, no checks", floor)):
        print(f"{label:36s} {m['wall']:7.2f} s wall  {rows / m['wall'] / 1e6:5.2f} M rows/s  "
              f"{m['cpu']:7.2f} s CPU  peak RSS {m['rss_mb']:7.0f} MB")
    net = first["wall"] - fixed["wall"]
    print(f"{'(a header-only import: fixed cost)':36s} {fixed['wall']:7.2f} s wall  {'':15s}"
          f"{fixed['cpu']:7.2f} s CPU  peak RSS {fixed['rss_mb']:7.0f} MB")
    print(f"first import without the fixed cost: {net:.2f} s wall, {rows / net / 1e6:.2f} M rows/s, "
          f"{first['cpu'] - fixed['cpu']:.2f} s CPU")
    print(f"first import / DuckDB floor: {first['wall'] / floor['wall']:.2f}x the wall time")
    print(f"(the enrollments before it, {enrollment_rows:,} rows with first_contact_date: "
          f"{enrolled['wall']:.2f} s wall)")
    print(f"first import counts: {counts}")
    print(f"second import counts: {again}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/iop-bench-ingest"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--steps", action="store_true",
                        help="also time each statement of a first import (one more run)")
    parser.add_argument("--assessments", type=int, nargs="+", default=None,
                        help="instead, time N assessment rows (CSV and FHIR) against N session rows, A/B")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds for --assessments")
    parser.add_argument("--referrals", type=int, nargs="*", default=[], metavar="N",
                        help="also import a referrals export of N rows, over the first size's episodes")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"cpus available: {len(os.sched_getaffinity(0))}; memory limit for the import: "
          f"{os.environ.get('IOP_IMPORT_MEMORY_LIMIT', '1GB (default)')}")
    if args.assessments:
        for n in args.assessments:
            bench_assessments(n, args.workdir, args.seed, args.rounds)
        return
    for n in args.sessions:
        bench(n, args.workdir, args.seed, args.steps)
    for n in args.referrals:
        bench_referrals(n, args.sessions[0], args.workdir, args.seed)


if __name__ == "__main__":
    main()
