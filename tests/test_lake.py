"""Organisation mode (analytics/lake.py): DuckLake with a real PostgreSQL catalog.

Tests that take `store` run on the embedded file and on DuckLake alike; those
that take `lake_target` are about the lake itself (a fresh catalog database in
the session's throwaway cluster, Parquet files in tmp_path).
"""
from __future__ import annotations

import json
import os
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest

from analytics.store import lake
from analytics.ingest.importer import import_files
from analytics.store.schema import ENROLLMENT_COLUMNS, LAKE_READ_VIEWS_DDL, READ_VIEWS_DDL, STORE_TABLES
from analytics.store import Store, StoreError, set_meta
from tests.csv_exports import counts, write_csv
from tests.support import run_analytics

ENROLLMENT_HEADER = "episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks"
SESSION_HEADER = ("session_id,episode_id,session_date,session_type,clinician,"
                  "scheduled_minutes,attended_minutes,status")


# -- both stores -----------------------------------------------------------------
def test_a_newer_export_updates_by_id_and_the_latest_import_wins(store, tmp_path):
    v1 = write_csv(tmp_path / "v1.csv", ENROLLMENT_HEADER, [
        "e1,p1,North,Adult IOP,2024-01-01,,,12",
        "e2,p2,North,Adult IOP,2024-01-03,,,12",
        "e3,p3,South,Adult IOP,2024-01-05,,,8",
    ])
    v2 = write_csv(tmp_path / "v2.csv", ENROLLMENT_HEADER, [
        "e1,p1,North,Adult IOP,2024-01-01,2024-03-01,completed,12",  # discharged since
        "e2,p2,North,Adult IOP,2024-01-03,,,12",                     # as before
        "e4,p4,South,Adult IOP,2024-02-01,,,8",                      # new
    ])
    assert counts(import_files(store, [v1])) == [("enrollments", 3, 0, 0, 0)]
    assert counts(import_files(store, [v2])) == [("enrollments", 1, 1, 1, 0)]
    assert counts(import_files(store, [v2])) == [("enrollments", 0, 0, 3, 0)]  # idempotent
    with store.read() as cur:
        rows = cur.execute("SELECT episode_id, discharge_reason FROM main.enrollments ORDER BY 1").fetchall()
    assert rows == [("e1", "completed"), ("e2", None), ("e3", None), ("e4", None)]
    # The older export imported again is the latest import now: e1 reads as active again.
    assert counts(import_files(store, [v1])) == [("enrollments", 0, 1, 2, 0)]
    with store.read() as cur:
        rows = cur.execute("SELECT episode_id, discharge_reason FROM main.enrollments ORDER BY 1").fetchall()
        n_sessions = cur.execute("SELECT count(*) FROM main.sessions").fetchone()[0]
    assert rows == [("e1", None), ("e2", None), ("e3", None), ("e4", None)]
    assert n_sessions == 0


def test_sessions_are_checked_against_the_current_episode_dates(store, tmp_path):
    enr1 = write_csv(tmp_path / "e1.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,2024-03-01,completed,12"])
    enr2 = write_csv(tmp_path / "e2.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,2024-01-20,dropped_out,12"])
    ses = write_csv(tmp_path / "s.csv", SESSION_HEADER, [
        "s1,e1,2024-01-10,group,c1,180,180,attended",
        "s2,e1,2024-02-10,group,c1,180,180,attended",  # after the updated discharge
    ])
    import_files(store, [enr1])
    import_files(store, [enr2])
    assert counts(import_files(store, [ses])) == [("sessions", 1, 0, 0, 1)]


# -- assessments on the lake: appended versions, latest wins, retractions -------------------------
ASSESSMENT_HEADER = "assessment_id,episode_id,assessment_date,instrument,score"


def observation_line(oid: str, status: str = "final", score: int = 12) -> str:
    return json.dumps({"resourceType": "Observation", "id": oid, "status": status,
                       "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                       "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-01-10",
                       "valueInteger": score})


@pytest.mark.lake
def test_assessments_are_appended_versions_and_a_retraction_a_marker_with_no_new_version(lake_target, tmp_path):
    store = Store(lake_target)
    enr = write_csv(tmp_path / "e.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,,,12"])
    v1 = write_csv(tmp_path / "v1.csv", ASSESSMENT_HEADER, ["a1,e1,2024-01-10,phq9,14", "a2,e1,2024-01-10,gad7,9"])
    v2 = write_csv(tmp_path / "v2.csv", ASSESSMENT_HEADER, ["a1,e1,2024-01-10,phq9,12", "a2,e1,2024-01-10,gad7,9"])
    fhir = tmp_path / "retract.ndjson"
    fhir.write_text(observation_line("a2", status="entered-in-error") + "\n")
    import_files(store, [enr, v1])
    assert counts(import_files(store, [v2])) == [("assessments", 0, 1, 1, 0)]
    assert [(f.rejected, f.removed) for f in import_files(store, [fhir]).files] == [(1, 1)]

    def versions(cur) -> list[tuple]:
        return cur.execute("SELECT assessment_id, score FROM store.main.assessments ORDER BY batch_id, 1").fetchall()

    with store.read() as cur:
        assert cur.execute("SELECT assessment_id, score FROM main.assessments").fetchall() == [("a1", 12)]
        # every version stays in the data files; the retraction wrote none
        assert versions(cur) == [("a1", 14), ("a2", 9), ("a1", 12)]
        assert sorted(r[0] for r in cur.execute(
            "SELECT record_id FROM store.main.superseded WHERE kind = 'assessments'").fetchall()) == ["a1", "a2"]
    assert store.maintain(older_than_days=0)["versions_settled"] == 0
    store.close()
    replica = Store(lake_target)
    with replica.read() as cur:  # a replica reads through its own copy of the markers
        assert cur.execute("SELECT assessment_id FROM main.assessments").fetchall() == [("a1",)]
    replica.close()


# -- the lake itself ---------------------------------------------------------------
@pytest.mark.lake
def test_views_differ_from_the_embedded_ones_only_for_the_imported_kinds():
    differing = {t for t, a, b in zip(STORE_TABLES, READ_VIEWS_DDL, LAKE_READ_VIEWS_DDL) if a != b}
    assert differing == {"sessions", "enrollments", "assessments", "referrals"}
    assert all(f"VIEW main.{t} " in ddl for t, ddl in zip(STORE_TABLES, LAKE_READ_VIEWS_DDL))


@pytest.mark.lake
def test_first_import_creates_the_lake_with_data_partitioned_by_month(lake_target, tmp_path):
    store = Store(lake_target)
    with pytest.raises(StoreError, match="catalog is empty"):
        with store.read():
            pass
    enr = write_csv(tmp_path / "enr.csv", ENROLLMENT_HEADER, [
        f"e{i},p{i},{'North' if i % 2 else 'South'},Adult IOP,2024-0{1 + i % 3}-0{1 + i % 7},,,12" for i in range(40)
    ])
    import_files(store, [enr])
    with store.read() as cur:
        files = [r[0] for r in cur.execute("SELECT data_file FROM ducklake_list_files('store', 'enrollments')").fetchall()]
        assert cur.execute("SELECT count(*) FROM main.enrollments").fetchone()[0] == 40
    data_root = os.environ["IOP_LAKE_DATA"]
    assert files and all(f.startswith(data_root) for f in files)
    months = sorted({Path(f).parent.name for f in files})
    assert months == ["month=1", "month=2", "month=3"]
    assert all(Path(f).parent.parent.name == "year=2024" for f in files)
    assert not any("North" in f or "South" in f for f in files)  # not by site
    store.close()


@pytest.mark.lake
def test_a_replica_attaches_read_only_and_sees_new_commits(lake_target, tmp_path):
    writer, replica = Store(lake_target), Store(lake_target)
    with writer.write() as cur:
        set_meta(cur, "contents", "imported")
    with replica.read() as cur:
        with pytest.raises(duckdb.Error, match="read-only"):
            cur.execute("INSERT INTO store.meta VALUES ('x', 'y')")
    before = replica.data_version()
    enr = write_csv(tmp_path / "enr.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,,,12"])
    import_files(writer, [enr])
    # The replica stays attached, yet the next read sees the new snapshot.
    assert replica.data_version() != before
    with replica.read() as cur:
        assert cur.execute("SELECT episode_id FROM main.enrollments").fetchall() == [("e1",)]
    writer.close()
    replica.close()


@pytest.mark.lake
def test_a_replica_skips_the_latest_wins_join_only_for_tables_without_superseded_versions(lake_target, tmp_path):
    # After a re-export replaced e1, enrollments have a superseded version and
    # sessions have none: the replica must still hide the old e1, and read the
    # sessions with a plain scan (the anti-join reads two more columns per row).
    writer, replica = Store(lake_target), Store(lake_target)
    v1 = write_csv(tmp_path / "v1.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,,,12",
                                                             "e2,p2,North,Adult IOP,2024-01-03,,,12"])
    v2 = write_csv(tmp_path / "v2.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,2024-03-01,completed,12"])
    ses = write_csv(tmp_path / "ses.csv", SESSION_HEADER, ["s1,e1,2024-01-02,group,C1,60,60,attended",
                                                           "s2,e2,2024-01-04,group,C1,60,0,no_show"])
    import_files(writer, [v1, ses])
    with replica.read() as cur:  # no markers at all yet: both plain
        assert cur.execute("SELECT getvariable('lake_superseded_kinds')").fetchone()[0] == []
        assert cur.execute("SELECT count(*) FROM main.enrollments").fetchone()[0] == 2
    import_files(writer, [v2])
    with replica.read() as cur:
        assert cur.execute("SELECT getvariable('lake_superseded_kinds')").fetchone()[0] == ["enrollments"]
        assert cur.execute("SELECT episode_id, discharge_reason FROM main.enrollments ORDER BY 1").fetchall() == [
            ("e1", "completed"), ("e2", None)]
        assert cur.execute("SELECT count(*) FROM main.sessions").fetchone()[0] == 2
        plans = {kind: "\n".join(r[1] for r in cur.execute(
            "EXPLAIN SELECT count(*) FROM main." + kind).fetchall()) for kind in ("sessions", "enrollments")}
    assert "ANTI" in plans["enrollments"] and "ANTI" not in plans["sessions"]
    writer.close()
    replica.close()


@pytest.mark.lake
def test_referrals_and_first_contact_dates_are_partitioned_read_by_a_replica_and_replaced_by_id(lake_target, tmp_path):
    writer, replica = Store(lake_target), Store(lake_target)
    enr = write_csv(tmp_path / "enr.csv", ENROLLMENT_HEADER + ",first_contact_date", [
        "e1,p1,North,Adult IOP,2024-02-05,,,12,2024-01-29",
        "e2,p2,South,Adult IOP,2024-03-01,,,12,",
    ])
    referral_header = "referral_id,patient_id,site,program,first_contact_date,outcome,episode_id,referral_source"
    # enough rows to be written as data files (a few are inlined into the catalog)
    v1 = write_csv(tmp_path / "r1.csv", referral_header, [
        "r1,p1,North,Adult IOP,2024-01-29,admitted,e1,Self",
        "r2,p3,North,Adult IOP,2024-02-03,pending,,Court",
        *(f"r{i},p{i},South,Adult IOP,2024-0{1 + i % 3}-1{i % 10},no_show,,Self" for i in range(3, 40)),
    ])
    v2 = write_csv(tmp_path / "r2.csv", referral_header, [
        "r2,p3,North,Adult IOP,2024-02-03,declined,,Court",  # decided since
    ])
    import_files(writer, [enr, v1])
    with replica.read() as cur:
        files = [r[0] for r in cur.execute(
            "SELECT data_file FROM ducklake_list_files('store', 'referrals')").fetchall()]
        assert cur.execute("SELECT episode_id, first_contact_date FROM main.enrollments ORDER BY 1").fetchall() == [
            ("e1", date(2024, 1, 29)), ("e2", None)]
    assert sorted({(Path(f).parent.parent.name, Path(f).parent.name) for f in files}) == [
        ("year=2024", "month=1"), ("year=2024", "month=2"), ("year=2024", "month=3")]
    assert counts(import_files(writer, [v2])) == [("referrals", 0, 1, 0, 0)]
    assert counts(import_files(writer, [enr, v2])) == [("enrollments", 0, 0, 2, 0), ("referrals", 0, 0, 1, 0)]
    with replica.read() as cur:
        assert cur.execute("SELECT getvariable('lake_superseded_kinds')").fetchone()[0] == ["referrals"]
        assert cur.execute("SELECT referral_id, outcome, extra['referral_source'] FROM main.referrals ORDER BY 1"
                           ).fetchall()[:3] == [("r1", "admitted", "Self"), ("r10", "no_show", "Self"),
                                                ("r11", "no_show", "Self")]
        assert cur.execute("SELECT count(*), count(*) FILTER (WHERE outcome = 'declined') FROM main.referrals"
                           ).fetchone() == (39, 1)
        assert cur.execute("SELECT outcome FROM main.referrals WHERE referral_id = 'r2'").fetchone()[0] == "declined"
    writer.close()
    replica.close()


@pytest.mark.lake
def test_configuration_problems_get_clear_messages_without_the_password(pg_cluster, lake_target, monkeypatch,
                                                                        tmp_path):
    with pytest.raises(StoreError, match="must not hold a password"):
        with Store(lake_target + " password=secret1").write():
            pass
    monkeypatch.delenv("IOP_LAKE_DATA")  # and config/iop.toml ships with [lake] data_path = ""
    with pytest.raises(StoreError, match="IOP_LAKE_DATA"):
        with Store(lake_target).write():
            pass
    monkeypatch.setenv("PGPASSWORD", "wrong-password-1234")
    with pytest.raises(StoreError) as refused:
        with Store(lake_target).read():
            pass
    assert "PGPASSWORD" in str(refused.value) and "wrong-password-1234" not in str(refused.value)
    # IOP_LAKE_PASSWORD (or a root-level Streamlit secret of that name) is used when set.
    monkeypatch.setenv("IOP_LAKE_PASSWORD", pg_cluster.env()["PGPASSWORD"])
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("IOP_LAKE_DATA", str(tmp_path / "data"))
    with Store(lake_target).write() as cur:
        set_meta(cur, "contents", "imported")


@pytest.mark.lake
def test_a_replacing_write_that_meets_a_concurrent_commit_is_retried(lake_target):
    """Two writers replace the same meta row; the one that commits second conflicts and reruns."""
    first, second = Store(lake_target), Store(lake_target)
    with first.write() as cur:
        set_meta(cur, "owner", "nobody")
    replaced, release = threading.Event(), threading.Event()
    retries: list[int] = []
    errors: list[BaseException] = []

    def slow_writer() -> None:
        def work(cur):
            set_meta(cur, "owner", "slow")
            replaced.set()
            release.wait(30)  # holds its transaction open until the other has committed

        try:
            lake.retrying_write(first, work, on_retry=lambda attempt, exc: retries.append(attempt))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert replaced.wait(60)
    lake.retrying_write(second, lambda cur: set_meta(cur, "owner", "fast"))
    release.set()
    thread.join(60)
    assert not errors
    assert retries == [1]  # exactly one conflict, then the rerun committed
    with second.read() as cur:
        assert cur.execute("SELECT value FROM main.meta WHERE key = 'owner'").fetchall() == [("slow",)]
    first.close()
    second.close()


@pytest.mark.lake
def test_conflicts_are_not_retried_forever(lake_target):
    store = Store(lake_target)
    calls = []

    def always_conflicts():
        calls.append(1)
        raise duckdb.TransactionException("Transaction conflict - simulated by the test")

    lake.FIRST_WAIT_SECONDS, saved = 0.001, lake.FIRST_WAIT_SECONDS
    try:
        with pytest.raises(duckdb.TransactionException):
            lake.retry_on_conflict(always_conflicts)
    finally:
        lake.FIRST_WAIT_SECONDS = saved
    assert len(calls) == lake.MAX_ATTEMPTS
    with pytest.raises(ValueError):  # anything else is not retried
        lake.retry_on_conflict(lambda: (calls.append(2), int("x")))
    assert calls.count(2) == 1
    store.close()


@pytest.mark.lake
def test_two_imports_writing_one_id_at_once_leave_the_later_batch_visible(lake_target, tmp_path):
    """Both commit (appends do not conflict); settling after commit hides the older version."""
    seed = write_csv(tmp_path / "seed.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,,,12"])
    import_files(Store(lake_target), [seed])
    columns = [c.name for c in ENROLLMENT_COLUMNS] + ["extra"]
    both_applied = threading.Barrier(2, timeout=60)
    batch_ids: dict[str, int] = {}
    errors: list[BaseException] = []

    def writer(reason: str) -> None:
        store = Store(lake_target)
        try:
            with store.write() as cur:
                cur.execute(
                    "CREATE OR REPLACE TEMP TABLE staged AS SELECT 'e1' AS episode_id, 'p1' AS patient_id, "
                    "'North' AS site, 'Adult IOP' AS program, DATE '2024-01-01' AS admit_date, "
                    "DATE '2024-02-01' AS discharge_date, $reason AS discharge_reason, 12 AS planned_weeks, "
                    "NULL::DATE AS first_contact_date, MAP([]::VARCHAR[], []::VARCHAR[]) AS extra, 2 AS line", {"reason": reason})
                batch_ids[reason] = lake.new_batch_id()
                assert lake.apply_batch(cur, "enrollments", batch_ids[reason], columns, source="staged") == (0, 1)
                both_applied.wait()  # neither has committed: each saw only the seed version
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(r,)) for r in ("completed", "dropped_out")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    latest = max(batch_ids, key=batch_ids.get)
    with Store(lake_target).read() as cur:
        visible = cur.execute("SELECT discharge_reason, batch_id FROM main.enrollments").fetchall()
        versions = cur.execute("SELECT count(*) FROM store.enrollments").fetchone()[0]
    assert visible == [(latest, batch_ids[latest])]
    assert versions == 3  # append-only: the seed and both new versions are kept


@pytest.mark.lake
def test_maintain_merges_small_files_and_expires_old_snapshots(lake_target, tmp_path):
    store = Store(lake_target)
    enr = write_csv(tmp_path / "enr.csv", ENROLLMENT_HEADER, ["e1,p1,North,Adult IOP,2024-01-01,,,12"])
    import_files(store, [enr])
    for part in range(3):  # three imports into the same month: three small files
        rows = [f"s{part}_{i},e1,2024-01-{10 + i:02d},group,c1,180,{170 + part},attended" for i in range(15)]
        import_files(store, [write_csv(tmp_path / f"s{part}.csv", SESSION_HEADER, rows)])
    with store.read() as cur:
        before = cur.execute("SELECT count(*), sum(attended_minutes) FROM main.sessions").fetchone()
    store.close()

    done = run_analytics("maintain", "--db", lake_target, "--older-than", "0", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["data_files_after"] < report["data_files_before"]
    assert report["snapshots_expired"] > 0
    assert report["files_deleted"] > 0

    store = Store(lake_target)
    with store.read() as cur:
        assert cur.execute("SELECT count(*), sum(attended_minutes) FROM main.sessions").fetchone() == before
        files = cur.execute("SELECT data_file FROM ducklake_list_files('store', 'sessions')").fetchall()
    assert len(files) == 1
    assert all(Path(f[0]).exists() for f in files)
    store.close()


def test_maintain_refuses_an_embedded_file(tmp_path):
    done = run_analytics("maintain", "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2
    assert "DuckLake" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.lake
def test_batch_ids_are_unique_and_grow_with_time():
    ids = [lake.new_batch_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids[-1] > ids[0]


@pytest.mark.lake
def test_settle_marks_only_older_versions(lake_target):
    store = Store(lake_target)
    with store.write() as cur:
        cur.execute("""INSERT INTO store.sessions (session_id, episode_id, session_date, session_type,
            scheduled_minutes, attended_minutes, status, batch_id, source_line) VALUES
            ('s1', 'e1', DATE '2024-01-02', 'group', 180, 100, 'attended', 10, 2),
            ('s1', 'e1', DATE '2024-01-02', 'group', 180, 120, 'attended', 30, 2),
            ('s1', 'e1', DATE '2024-01-02', 'group', 180, 110, 'attended', 20, 2),
            ('s2', 'e1', DATE '2024-01-03', 'group', 180, 90, 'attended', 10, 3)""")
    with store.write() as cur:
        assert lake._mark_stale_versions(cur, "sessions", None) == 2
    with store.read() as cur:
        rows = cur.execute("SELECT session_id, attended_minutes FROM main.sessions ORDER BY 1").fetchall()
    assert rows == [("s1", 120), ("s2", 90)]
    store.close()


@pytest.mark.lake
def test_first_writers_racing_on_an_empty_catalog_all_succeed(lake_target):
    """Several sites' first imports can meet on a new catalog: one creates the lake, all commit."""
    start = threading.Barrier(3, timeout=60)
    errors: list[BaseException] = []

    def first_write(n: int) -> None:
        store = Store(lake_target)
        try:
            start.wait()
            with store.write() as cur:
                cur.execute("INSERT INTO store.audit_log VALUES (now()::TIMESTAMP, $who, 'test', '{}')",
                            {"who": f"writer{n}"})
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=first_write, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    with Store(lake_target).read() as cur:
        assert cur.execute("SELECT count(*) FROM main.audit_log").fetchone()[0] == 3
        tables = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'store'").fetchone()[0]
    assert tables == len(STORE_TABLES) + 2  # and store.superseded, store.summarised_batches


@pytest.mark.lake
def test_maintain_does_not_create_a_lake_in_an_empty_catalog(lake_target):
    done = run_analytics("maintain", "--db", lake_target)
    assert done.returncode == 2 and "catalog is empty" in done.stderr
    with pytest.raises(StoreError, match="catalog is empty"):
        with Store(lake_target).read():
            pass
