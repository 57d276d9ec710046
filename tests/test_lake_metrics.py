"""The same imports give the same figures on an embedded file and on DuckLake.

Both stores get the committed sample exports and then a newer sessions export
that changes some rows (so the lake's latest-wins views are exercised), all
through the real `python -m analytics ingest`; `python -m analytics metrics`
must then print identical JSON, whole and filtered.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.support import SAMPLE_DIR, run_analytics

pytestmark = [pytest.mark.lake, pytest.mark.slow]


def cli(*args: str) -> subprocess.CompletedProcess:
    done = run_analytics(*args)
    assert done.returncode == 0, done.stderr
    return done


def _newer_sessions_export(path: Path) -> int:
    """A later export: every 7th attended session became a no-show; returns rows changed."""
    con = duckdb.connect()
    con.execute("CREATE TABLE s AS SELECT * FROM read_csv($p, all_varchar = true)", {"p": str(SAMPLE_DIR / "sessions.csv")})
    changed = con.execute(
        "UPDATE s SET status = 'no_show', attended_minutes = '0' "
        "WHERE status = 'attended' AND hash(session_id) % 7 = 0").fetchone()[0]
    con.execute("COPY s TO '" + str(path) + "' (HEADER)")
    return changed


def test_metrics_are_identical_on_the_embedded_file_and_on_ducklake(lake_target, tmp_path):
    newer = tmp_path / "sessions_newer.csv"
    changed = _newer_sessions_export(newer)
    assert changed > 100
    stores = {"embedded": str(tmp_path / "org.duckdb"), "lake": lake_target}
    for db in stores.values():
        first = json.loads(cli("ingest", "--db", db, "--format", "json",
                               str(SAMPLE_DIR / "enrollments.csv"), str(SAMPLE_DIR / "sessions.csv")).stdout)
        second = json.loads(cli("ingest", "--db", db, "--format", "json", str(newer)).stdout)
        assert second["files"][0]["updated"] == changed
        assert first["files"][1]["inserted"] == second["files"][0]["rows"]

    sites = sorted({line.split(",")[2] for line in (SAMPLE_DIR / "enrollments.csv").read_text().splitlines()[1:]})
    variants = [[], ["--site", sites[0]], ["--as-of", "2025-06-30", "--program", "Adult IOP"]]
    for extra in variants:
        outputs = {name: cli("metrics", "--db", db, "--format", "json", *extra).stdout for name, db in stores.items()}
        assert outputs["embedded"] == outputs["lake"], extra
        figures = json.loads(outputs["lake"])
        assert figures  # something was computed, not two empty answers
