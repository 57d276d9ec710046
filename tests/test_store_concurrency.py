"""The store under concurrent use: a CLI import while another process keeps reading, and a killed import.

Real processes and a real store file: the reader runs like the dashboard between
reruns (a Store held for the process's life, a read now and then), the import is
`python -m analytics ingest` in its own process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from analytics.ingest.importer import import_files
from analytics.store import Store
from analytics.store.schema import SUMMARY_TABLES
from tests.support import REPO_ROOT, run_analytics

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
SESSION_HEADER = "session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,attended_minutes,status"

READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from analytics.store import Store
    store = Store(sys.argv[1])
    stop = Path(sys.argv[2])
    while not stop.exists():
        with store.read() as cur:
            n = cur.execute("SELECT count(*) FROM sessions").fetchone()[0]
        print(json.dumps({"version": store.data_version(), "sessions": n}), flush=True)
        time.sleep(0.05)
""")


def prepared_store(tmp_path: Path) -> str:
    target = str(tmp_path / "shared.duckdb")
    store = Store(target)
    import_files(store, [FIXTURES / "base_enrollments.csv"])
    store.close()
    return target


@pytest.mark.slow
def test_cli_import_succeeds_while_another_process_reads_and_the_reader_sees_new_data(tmp_path):
    target = prepared_store(tmp_path)
    sessions = tmp_path / "sessions.csv"
    sessions.write_text(SESSION_HEADER + "\n" + "\n".join(
        f"S{i},E1,2024-01-{i + 1:02d},group,A,180,180,attended" for i in range(1, 21)) + "\n")
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, target, str(stop)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(reader.stdout.readline())  # the reader is up and has read once
        assert first["sessions"] == 0
        done = run_analytics("ingest", "--db", target, "--format", "json", str(sessions))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["files"][0]["inserted"] == 20
        deadline = time.monotonic() + 120
        while True:  # the reader's next reads show the import
            line = json.loads(reader.stdout.readline())
            if line["sessions"] == 20:
                break
            assert time.monotonic() < deadline, "the reader never saw the imported rows"
        assert line["version"] != first["version"]
    finally:
        stop.touch()
        try:
            reader.wait(timeout=60)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, reader.stderr.read()


def store_state(target: str) -> list:
    con = duckdb.connect(target, read_only=True)
    try:
        return [con.execute(f"SELECT count(*), sum(hash(t::VARCHAR)) FROM {table} AS t").fetchone()
                for table in ("enrollments", "sessions", "rejects", "import_log", "audit_log", "meta",
                              *SUMMARY_TABLES)]
    finally:
        con.close()


@pytest.mark.slow
def test_killing_an_import_midway_leaves_the_store_as_it_was(tmp_path):
    target = prepared_store(tmp_path)
    big = tmp_path / "big_sessions.csv"
    con = duckdb.connect()
    # 400 000 sessions of the one long episode E1 (admitted 2024-01-01, discharged 2024-03-31)
    con.execute(f"""COPY (SELECT 'K' || i AS session_id, 'E1' AS episode_id,
                           DATE '2024-01-01' + (i % 90)::INTEGER AS session_date, 'group' AS session_type,
                           'Clinician ' || (i % 7) AS clinician, 180 AS scheduled_minutes,
                           CASE WHEN i % 5 = 0 THEN 0 ELSE 180 END AS attended_minutes,
                           CASE WHEN i % 5 = 0 THEN 'no_show' ELSE 'attended' END AS status
                    FROM range(400000) AS r(i)) TO '{big}' (HEADER)""")
    con.close()
    before = store_state(target)
    with duckdb.connect(target, read_only=True) as con:
        before_e1 = con.execute("SELECT count(*) FROM sessions WHERE episode_id = 'E1'").fetchone()[0]

    proc = subprocess.Popen([sys.executable, "-m", "analytics", "ingest", "--db", target, str(big)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # progress lines; kill while rows are being written to the store
        if "applying to the store" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"

    assert store_state(target) == before
    # and the store still takes an import
    store = Store(target)
    result = import_files(store, [big]).files[0]
    store.close()
    assert (result.rows, result.inserted) == (400000, 400000)
    # the summaries, rolled back with the rows, now hold the import's sessions too
    con = duckdb.connect(target, read_only=True)
    try:
        assert con.execute("SELECT sum(sessions) FROM episode_session_counts WHERE episode_id = 'E1'"
                           ).fetchone()[0] == 400000 + before_e1
    finally:
        con.close()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_prepare_runs_before_the_store_is_locked_and_its_temp_tables_reach_the_transaction(tmp_path):
    # The importer's pass 1 runs in `prepare`: it must hold no lock on the store
    # (another process can write meanwhile) and its temp tables must be there,
    # whole and scannable, inside the transaction that follows.
    target = str(tmp_path / "store.duckdb")
    store = Store(target)
    with store.write() as cur:
        cur.execute("INSERT INTO store.meta VALUES ('k', 'before')")
    seen = {}

    def prepare(cur):
        seen["attached"] = cur.execute(
            "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'store'").fetchone()[0]
        # a second process writes the store while this one prepares: no lock is held
        other = subprocess.run(
            [sys.executable, "-c", "import sys; from analytics.store import Store\n"
             "with Store(sys.argv[1]).write() as c: c.execute(\"INSERT INTO store.meta VALUES ('k', 'other')\")",
             target], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        seen["other_rc"] = other.returncode
        cur.execute("CREATE TEMP TABLE staged AS SELECT range AS i FROM range(300000)")

    with store.write(prepare=prepare) as cur:
        staged = cur.execute("SELECT count(*), min(rowid), max(rowid) FROM staged").fetchone()
        cur.execute("INSERT INTO store.meta SELECT 'n', count(*)::VARCHAR FROM staged")
    assert seen == {"attached": 0, "other_rc": 0}
    assert staged == (300000, 0, 299999)
    with store.read() as cur:
        assert sorted(cur.execute("SELECT key, value FROM meta WHERE key NOT LIKE 'summaries_%'").fetchall()) == [
            ("k", "before"), ("k", "other"), ("n", "300000")]


def test_a_failure_in_prepare_leaves_the_store_untouched_and_unlocked(tmp_path):
    target = str(tmp_path / "store.duckdb")
    store = Store(target)
    with store.write() as cur:
        cur.execute("INSERT INTO store.meta VALUES ('k', 'v')")

    def prepare(cur):
        cur.execute("CREATE TEMP TABLE staged AS SELECT 1 AS i")
        raise ValueError("refused in pass 1")

    try:
        with store.write(prepare=prepare):
            raise AssertionError("the body must not run when prepare fails")
    except ValueError:
        pass
    with store.write() as cur:  # not left locked or half attached
        cur.execute("INSERT INTO store.meta VALUES ('k2', 'v2')")
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM meta WHERE key NOT LIKE 'summaries_%'").fetchone()[0] == 2
