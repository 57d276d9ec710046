"""Shared fixtures: a fresh real DuckDB store per test, and helpers to fill it by hand.

Helpers take small hand-made rows so each test states its own data:

>>> add_enrollments(store, [("e1", "p1", "North", "Adult IOP", "2024-01-01", "2024-01-15", "completed")])
>>> add_sessions(store, [("s1", "e1", "2024-01-02", "group", "c1", 180, 180, "attended")])
>>> with bound(store, sites=("North",)) as cur: ...   # a read cursor with the filters bound
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from datetime import date
from typing import Iterable, Iterator, Sequence

import duckdb
import pytest

from analytics.filters import Filters
from analytics.store import Store, bind_filters


@contextmanager
def bound(store: Store, **filters) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read cursor on store with Filters(**filters) bound, as the analytics modules expect."""
    with store.read() as cur:
        bind_filters(cur, Filters(**filters))
        yield cur


def _date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def add_enrollments(store: Store, rows: Iterable[Sequence]) -> None:
    """Insert enrollments: (episode_id, patient_id, site, program, admit_date,
    discharge_date, discharge_reason[, planned_weeks[, extra dict]]). Dates as 'YYYY-MM-DD'."""
    params = []
    for i, row in enumerate(rows):
        row = list(row) + [None] * (9 - len(row))
        eid, pid, site, program, admit, dis, reason, planned, extra = row
        extra = extra or {}
        params.append({
            "eid": eid, "pid": pid, "site": site, "program": program,
            "admit": _date(admit), "dis": _date(dis), "reason": reason, "planned": planned,
            "keys": list(extra.keys()), "vals": list(extra.values()), "line": i + 2,
        })
    if not params:
        return
    with store.write() as cur:
        cur.executemany(
            """INSERT INTO store.enrollments (episode_id, patient_id, site, program, admit_date, discharge_date,
                   discharge_reason, planned_weeks, extra, batch_id, source_line)
               VALUES ($eid, $pid, $site, $program, $admit, $dis,
                   $reason, $planned, map($keys::VARCHAR[], $vals::VARCHAR[]), 0, $line)""",
            params,
        )


def add_sessions(store: Store, rows: Iterable[Sequence]) -> None:
    """Insert sessions: (session_id, episode_id, session_date, session_type, clinician,
    scheduled_minutes, attended_minutes, status)."""
    params = [
        {"sid": sid, "eid": eid, "d": _date(d), "t": t, "c": c, "sm": sm, "am": am, "st": st,
         "line": i + 2}
        for i, (sid, eid, d, t, c, sm, am, st) in enumerate(rows)
    ]
    if not params:
        return
    with store.write() as cur:
        cur.executemany(
            "INSERT INTO store.sessions VALUES ($sid, $eid, $d, $t, $c, $sm, $am, $st, 0, $line)",
            params,
        )


@pytest.fixture
def store_file(tmp_path) -> Store:
    """A fresh, empty embedded store file in tmp_path (tables created), closed after the test.

    For the few tests about the file itself (locks, paths); everything else uses `store`.
    """
    s = Store(str(tmp_path / "test.duckdb"))
    with s.write():
        pass  # creates the tables
    yield s
    s.close()


# -- organisation mode: DuckLake with a PostgreSQL catalog (analytics/lake.py) --------------
@pytest.fixture(scope="session")
def sample_store_path(tmp_path_factory) -> str:
    """The sample store built from the committed CSVs, once per run, in a tmp dir of its own.

    Shared by the app tests, which only read it; a test that imports copies it first.
    """
    from analytics.ingest.sample_store import ensure_sample_store

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    ensure_sample_store(path)
    return str(path)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the whole test session, stopped by its PID at the end.

    Without PostgreSQL the lake tests skip locally, but FAIL when CI=true: CI must run them.
    """
    from tests.pg_cluster import PgCluster, pg_bin

    if pg_bin() is None:
        message = "PostgreSQL is not installed (scripts/install-system-packages.sh installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    cluster = PgCluster.start()

    # A test run stopped with SIGTERM (a timeout, CI cancelling) still stops the cluster:
    # pytest treats KeyboardInterrupt as "stop now, run the teardowns".
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield cluster
    finally:
        signal.signal(signal.SIGTERM, previous)
        cluster.stop()


@pytest.fixture
def lake_target(pg_cluster, tmp_path, monkeypatch) -> str:
    """A new empty DuckLake catalog (its own PostgreSQL database) with Parquet data in tmp_path.

    The password and data path go into the environment, as in a deployment, so
    CLI subprocesses started by the test inherit them.
    """
    for key, value in pg_cluster.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IOP_LAKE_DATA", str(tmp_path / "lake_data"))
    return pg_cluster.lake_target(pg_cluster.create_database())


@pytest.fixture(params=["embedded", pytest.param("lake", marks=pytest.mark.lake)])
def store(request, tmp_path) -> Store:
    """A fresh, empty store, once as an embedded file and once as a DuckLake: the
    analytics suite runs unchanged on both (tables created, closed after the test)."""
    if request.param == "lake":
        s = Store(request.getfixturevalue("lake_target"))
    else:
        s = Store(str(tmp_path / "test.duckdb"))
    with s.write():
        pass  # creates the tables (and, on DuckLake, the lake)
    yield s
    s.close()
