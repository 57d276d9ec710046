"""Organisation mode under load: two sites import at the same moment while a third process reads.

Real processes (the `python -m analytics ingest` CLI), a real PostgreSQL catalog.
The reader checks every snapshot it sees: each site group's import is one
transaction, so its enrollments and sessions are either wholly there or not at all.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from analytics.store import Store

from tests.support import REPO_ROOT
pytestmark = [pytest.mark.lake, pytest.mark.slow]

# Sites of the generated data, split into two organisations' worth of exports.
GROUPS = {"a": ("Hillcrest", "Lakeview", "Pinewood"), "b": ("Northgate", "Riverside")}

READER = r"""
import json, sys, time
from pathlib import Path
from analytics.store import Store
target, groups, out, stop = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
store = Store(target)
with out.open("w") as fh:
    while not stop.exists():
        with store.read() as cur:
            # one statement: one snapshot of the lake
            row = cur.execute('''
                SELECT
                    (SELECT id FROM store.current_snapshot()),
                    (SELECT count(*) FROM main.enrollments WHERE list_contains($a, site)),
                    (SELECT count(*) FROM main.sessions JOIN main.enrollments USING (episode_id)
                      WHERE list_contains($a, site)),
                    (SELECT count(*) FROM main.enrollments WHERE list_contains($b, site)),
                    (SELECT count(*) FROM main.sessions JOIN main.enrollments USING (episode_id)
                      WHERE list_contains($b, site)),
                    (SELECT count(*) FROM main.sessions)''', {"a": groups["a"], "b": groups["b"]}).fetchone()
        fh.write(json.dumps(row) + "\n")
        fh.flush()
        time.sleep(0.05)
store.close()
"""


def _split_by_site(source: Path, out: Path) -> dict[str, dict[str, tuple[Path, int]]]:
    """Each group's enrollments and sessions CSV (text copied as is) with their row counts."""
    con = duckdb.connect()
    files: dict[str, dict[str, tuple[Path, int]]] = {}
    for group, sites in GROUPS.items():
        files[group] = {}
        enr = out / f"{group}_enrollments.csv"
        ses = out / f"{group}_sessions.csv"
        con.execute(
            "CREATE OR REPLACE TABLE e AS SELECT * FROM read_csv($p, all_varchar = true) "
            "WHERE list_contains($sites, site)", {"p": str(source / "enrollments.csv"), "sites": list(sites)})
        con.execute(
            "CREATE OR REPLACE TABLE s AS SELECT * FROM read_csv($p, all_varchar = true) "
            "WHERE episode_id IN (SELECT episode_id FROM e)", {"p": str(source / "sessions.csv")})
        con.execute("COPY e TO '" + str(enr) + "' (HEADER)")
        con.execute("COPY s TO '" + str(ses) + "' (HEADER)")
        files[group]["enrollments"] = (enr, con.execute("SELECT count(*) FROM e").fetchone()[0])
        files[group]["sessions"] = (ses, con.execute("SELECT count(*) FROM s").fetchone()[0])
    return files


def test_two_sites_import_at_once_and_a_reader_sees_only_whole_batches(lake_target, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run([sys.executable, "-m", "sample_data.generate", "--episodes", "1500", "--seed", "7",
                    "--out", str(tmp_path / "gen")], check=True, env=env, cwd=REPO_ROOT, capture_output=True)
    files = _split_by_site(tmp_path / "gen", tmp_path)
    expected = {g: (files[g]["enrollments"][1], files[g]["sessions"][1]) for g in GROUPS}
    assert all(e > 0 and s > 0 for e, s in expected.values())

    with Store(lake_target).write():
        pass  # the lake exists before the race, as in an organisation's steady state

    stop = tmp_path / "stop"
    observed = tmp_path / "observed.jsonl"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, lake_target, json.dumps(GROUPS), str(observed), str(stop)],
        env=env, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
    )
    importers = {}
    try:
        while not observed.exists() or not observed.read_text():
            assert reader.poll() is None, reader.stderr.read()
            time.sleep(0.1)
        for group in GROUPS:
            importers[group] = subprocess.Popen(
                [sys.executable, "-m", "analytics", "ingest", "--db", lake_target, "--format", "json",
                 str(files[group]["enrollments"][0]), str(files[group]["sessions"][0])],
                env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        results = {g: p.communicate(timeout=900) + (p.returncode,) for g, p in importers.items()}
        time.sleep(0.5)  # the reader takes a last look at the finished state
    finally:
        stop.touch()
        reader.wait(timeout=120)
        for p in importers.values():
            if p.poll() is None:
                p.kill()

    # Both imports succeeded, and each loaded its whole export.
    for group, (out, err, code) in results.items():
        assert code == 0, err
        by_kind = {f["kind"]: f for f in json.loads(out)["files"]}
        assert by_kind["enrollments"]["inserted"] == expected[group][0]
        assert by_kind["sessions"]["inserted"] == expected[group][1]
        assert by_kind["sessions"]["rejected"] == 0

    # The reader only ever saw each group's import wholly or not at all.
    assert reader.returncode == 0, reader.stderr.read()
    rows = [json.loads(line) for line in observed.read_text().splitlines()]
    assert len(rows) >= 3
    for snapshot, enr_a, ses_a, enr_b, ses_b, total in rows:
        assert (enr_a, ses_a) in {(0, 0), expected["a"]}, (snapshot, enr_a, ses_a)
        assert (enr_b, ses_b) in {(0, 0), expected["b"]}, (snapshot, enr_b, ses_b)
        assert total == ses_a + ses_b
    assert rows[0][1:5] == [0, 0, 0, 0]
    assert rows[-1][1:5] == [*expected["a"], *expected["b"]]

    # Afterwards every row is there exactly once.
    store = Store(lake_target)
    with store.read() as cur:
        for kind, id_col in (("enrollments", "episode_id"), ("sessions", "session_id")):
            n, distinct = cur.execute(f"SELECT count(*), count(DISTINCT {id_col}) FROM main.{kind}").fetchone()
            assert n == distinct == sum(files[g][kind][1] for g in GROUPS)
        batches = cur.execute("SELECT count(DISTINCT batch_id) FROM main.import_log WHERE status = 'loaded'").fetchone()[0]
    assert batches == 4  # two files per import, each its own batch id
    store.close()
