"""Shared fixtures: a fresh real DuckDB store per test, and helpers to fill it by hand.

Helpers take small hand-made rows so each test states its own data:

>>> add_enrollments(store, [("e1", "p1", "North", "Adult IOP", "2024-01-01", "2024-01-15", "completed")])
>>> add_sessions(store, [("s1", "e1", "2024-01-02", "group", "c1", 180, 180, "attended")])
>>> add_referrals(store, [("r1", "p1", "North", "Adult IOP", "2023-12-20", "2023-12-22", "admitted", "e1")])
>>> with bound(store, sites=("North",)) as cur: ...   # a read cursor with the filters bound

The services the suite starts for real come as fixtures, each tied to a marker that its tests
must carry (checked before the test runs): pg_cluster and lake_target (`lake`), chromium
(`browser`), nginx (`nginx`). Paths, runners and the sample data are in tests/support.py.

The generator's --full exports (enrollments with first_contact_date, sessions, assessments,
referrals) come written once per run (`full_exports`), and imported through the real importer
into a shared store (`full_store_path`; enrollments, sessions and referrals).
"""
from __future__ import annotations

import shutil
import signal
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import duckdb
import pytest

from analytics.filters import Filters
from analytics.store import Store, bind_filters, summaries
from tests.support import import_full_exports, unavailable, write_full_exports


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
        summaries.rebuild(cur)  # rows written straight in, not by a batch of the importer


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
        summaries.rebuild(cur)  # rows written straight in, not by a batch of the importer


def add_referrals(store: Store, rows: Iterable[Sequence]) -> None:
    """Insert referrals: (referral_id, patient_id, site, program, first_contact_date,
    intake_assessment_date, outcome, episode_id[, extra dict]). Dates as 'YYYY-MM-DD'."""
    params = []
    for i, row in enumerate(rows):
        row = list(row) + [None] * (9 - len(row))
        rid, pid, site, program, contact, intake, outcome, episode, extra = row
        extra = extra or {}
        params.append({"rid": rid, "pid": pid, "site": site, "program": program, "contact": _date(contact),
                       "intake": _date(intake), "outcome": outcome, "episode": episode,
                       "keys": list(extra.keys()), "vals": list(extra.values()), "line": i + 2})
    if not params:
        return
    with store.write() as cur:
        cur.executemany(
            """INSERT INTO store.referrals (referral_id, patient_id, site, program, first_contact_date,
                   intake_assessment_date, outcome, episode_id, extra, batch_id, source_line)
               VALUES ($rid, $pid, $site, $program, $contact, $intake, $outcome, $episode,
                   map($keys::VARCHAR[], $vals::VARCHAR[]), 0, $line)""",
            params,
        )


def set_first_contacts(store: Store, dates: dict[str, str]) -> None:
    """Set enrollments' first_contact_date: {episode_id: 'YYYY-MM-DD'}."""
    with store.write() as cur:
        cur.executemany("UPDATE store.enrollments SET first_contact_date = $d WHERE episode_id = $e",
                        [{"e": e, "d": _date(d)} for e, d in dates.items()])


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


@pytest.fixture(scope="session")
def sample_store_path(tmp_path_factory) -> str:
    """The bundled sample store, built from the committed CSVs as the dashboard builds it,
    once per run, in a tmp dir of its own.

    Shared by the app tests, which only read it; a test that writes copies it first.
    """
    from analytics.ingest.sample_store import ensure_sample_store

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    ensure_sample_store(path)
    return str(path)


@pytest.fixture(scope="session")
def full_exports(tmp_path_factory) -> Path:
    """The generator's --full exports of the sample's size and seed (400 episodes, seed 1),
    written once per run: enrollments with first_contact_date, sessions, assessments, referrals.
    Read them, never change them."""
    return write_full_exports(tmp_path_factory.mktemp("full_exports"))


@pytest.fixture(scope="session")
def full_store_path(full_exports, tmp_path_factory) -> str:
    """An embedded store of the --full exports (enrollments, sessions, referrals) imported
    through the real importer, once per run. Shared: a test that writes copies it first."""
    path = tmp_path_factory.mktemp("full_store") / "full.duckdb"
    import_full_exports(path, full_exports)
    return str(path)


@pytest.fixture(scope="session")
def store_without_scores(full_exports, tmp_path_factory) -> str:
    """An embedded store of the --full exports' enrollments and sessions only, through the real
    importer: no assessment score (a site that exports none). Shared: copy it to write."""
    path = tmp_path_factory.mktemp("no_scores") / "store.duckdb"
    import_full_exports(path, full_exports, kinds=("enrollments", "sessions"))
    return str(path)


# -- services the suite starts for real, and the marker each one's tests carry -----------
# A test that uses one of these fixtures without its marker is stopped before the service
# starts, so it cannot slip into the quick tier (-m "not lake and not browser and not nginx
# and not slow"). tests/test_markers.py shows it.
SERVICE_MARKERS = {"pg_cluster": "lake", "chromium": "browser", "nginx": "nginx"}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """An error at setup, before any fixture runs, for each service fixture used without its marker."""
    missing = [f"{fixture} needs @pytest.mark.{marker}" for fixture, marker in SERVICE_MARKERS.items()
               if fixture in item.fixturenames and item.get_closest_marker(marker) is None]
    if missing:
        pytest.fail(f"{item.nodeid}: " + "; ".join(missing), pytrace=False)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the whole test session, stopped by its PID at the end.

    Without PostgreSQL the lake tests skip locally, but FAIL when CI=true: CI must run them.
    """
    from tests.pg_cluster import PgCluster, pg_bin

    if pg_bin() is None:
        unavailable("PostgreSQL is not installed (scripts/install-system-packages.sh installs it)")
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


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's Chromium, which the browser tests and the PDF packet drive
    (never a Playwright download). Missing: skipped locally, a failure under CI=true."""
    from analytics.report.packet import CHROMIUM

    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (Debian package 'chromium'; "
                    "scripts/install-system-packages.sh installs it)")
    return CHROMIUM


@pytest.fixture(scope="session")
def nginx() -> str:
    """The path of Debian's nginx, the example proxy in front of dashboard replicas.
    Missing: skipped locally, a failure under CI=true."""
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(path).exists():
        unavailable("nginx is missing (Debian package 'nginx'; scripts/install-system-packages.sh installs it)")
    return path


@pytest.fixture
def lake_target(pg_cluster, request, tmp_path, monkeypatch) -> str:
    """A new empty DuckLake catalog (its own PostgreSQL database) with Parquet data in tmp_path.

    The password and data path go into the environment, as in a deployment, so
    CLI subprocesses started by the test inherit them.
    """
    # Also reached through getfixturevalue (the lake half of `store`), which the hook above
    # does not see: check the marker here too.
    if request.node.get_closest_marker("lake") is None:
        pytest.fail(f"{request.node.nodeid}: lake_target needs @pytest.mark.lake", pytrace=False)
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
