"""DuckLake faults made for real: PostgreSQL stopped with `pg_ctl -m immediate` during an import and
during a page read, and a data file lost from the data path.

Each test runs on a PostgreSQL cluster of its own (stopping the session's shared one would fail
other tests), and asserts the message's cause (host and port, never the password), that the
figures are unchanged, and that the next import after recovery loads everything.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analytics.ingest.importer import import_files
from analytics.store import CatalogUnreachable, Store
from analytics.store.journal import read_entries

from tests.fault_support import csv_rows, figures, generated_exports
from tests.support import app_test, run_analytics, unavailable

pytestmark = [pytest.mark.lake, pytest.mark.slow]


@pytest.fixture
def cluster(request, monkeypatch):
    """A PostgreSQL cluster of this test's own, stopped at the end (whatever state it is in)."""
    from tests.pg_cluster import PASSWORD, PgCluster, pg_bin

    if pg_bin() is None:
        unavailable("PostgreSQL is not installed (scripts/install-system-packages.sh installs it)")
    started = PgCluster.start(durable=True)  # a stop must not lose what was committed
    for key, value in started.env().items():
        monkeypatch.setenv(key, value)
    started.password = PASSWORD
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def lake(cluster, tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("IOP_LAKE_DATA", str(tmp_path / "lake_data"))
    return cluster.lake_target(cluster.create_database())


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    return generated_exports(tmp_path_factory.mktemp("exports"), 600, 5)


@pytest.fixture(scope="module")
def newer(tmp_path_factory) -> Path:
    """Another night's exports: the same episode ids with other values, and their sessions."""
    return generated_exports(tmp_path_factory.mktemp("newer"), 600, 6)


def parquet_files(data: Path) -> set[Path]:
    return set(data.rglob("*.parquet"))


def test_a_catalog_lost_during_an_import_is_named_and_maintain_deletes_exactly_what_it_left(
        cluster, lake, exports, newer, tmp_path):
    data = tmp_path / "lake_data"
    enrollments, sessions = newer / "enrollments.csv", newer / "sessions.csv"
    store = Store(lake)
    import_files(store, [exports / "enrollments.csv"])
    before, files_before = figures(lake), parquet_files(data)
    stopped = []

    def stop_while_applying(fraction: float, message: str) -> None:
        # the import's transaction is open and has written its Parquet files by now
        if "sessions.csv: applying to the store" in message and not stopped:
            cluster.stop_immediately()
            stopped.append(message)

    with pytest.raises(CatalogUnreachable) as lost:
        # the enrollments' new versions are written to Parquet before the sessions' turn
        import_files(store, [enrollments, sessions], progress=stop_while_applying)
    assert stopped
    message = str(lost.value)
    assert message.startswith(f"The shared store is unreachable (its catalog database at 127.0.0.1:{cluster.port} "
                              "does not answer)")
    assert cluster.password not in message and "password" not in message.lower()
    journal = read_entries(data / "import-log.jsonl")
    assert [(e["file"], e["status"]) for e in journal[-2:]] == [("enrollments.csv", "failed"),
                                                                 ("sessions.csv", "failed")]
    assert journal[-1]["message"] == message and journal[-1]["sha256"]
    store.close()

    cluster.start_again()
    assert figures(lake) == before
    left = parquet_files(data) - files_before
    assert left, "the failed import wrote files that no snapshot names"
    done = run_analytics("maintain", "--db", lake, "--older-than", "0", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {Path(p) for p in report["deleted"]} >= left
    assert report["orphaned_files_deleted"] >= len(left)
    on_disk = parquet_files(data)
    assert not (on_disk & left)
    assert report["files_on_disk"] == len(on_disk)
    assert report["files_on_disk"] == (report["files_in_use"] + report["files_for_older_snapshots"]
                                       + report["orphaned_files_kept"])
    assert figures(lake) == before

    again = run_analytics("ingest", "--db", lake, "--format", "json", str(enrollments), str(sessions))
    assert again.returncode == 0, again.stderr
    loaded = {f["kind"]: f for f in json.loads(again.stdout)["files"]}
    assert loaded["sessions"]["inserted"] == csv_rows(sessions)
    assert loaded["enrollments"]["inserted"] + loaded["enrollments"]["updated"] + loaded["enrollments"][
        "unchanged"] == csv_rows(enrollments)
    assert loaded["enrollments"]["rejected"] == loaded["sessions"]["rejected"] == 0
    checked = run_analytics("check", "--db", lake)
    assert checked.returncode == 0 and checked.stdout.startswith("ok: ")


def test_the_command_line_names_a_stopped_catalog_without_a_traceback(cluster, lake, exports):
    import_files(Store(lake), [exports / "enrollments.csv"])
    cluster.stop_immediately()
    for command in (["metrics"], ["ingest", str(exports / "sessions.csv")], ["check"], ["maintain"]):
        done = run_analytics(*command, "--db", lake)
        assert done.returncode != 0, command
        assert "Traceback" not in done.stdout + done.stderr
        assert f"The shared store is unreachable (its catalog database at 127.0.0.1:{cluster.port}" in (
            done.stdout + done.stderr), (command, done.stderr)
        assert cluster.password not in done.stdout + done.stderr
    cluster.start_again()
    again = run_analytics("ingest", "--db", lake, "--format", "json", str(exports / "sessions.csv"))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["files"][0]["inserted"] == csv_rows(exports / "sessions.csv")


def test_a_page_says_the_shared_store_is_unreachable_and_recovers_by_itself(cluster, lake, exports, monkeypatch):
    import_files(Store(lake), [exports / "enrollments.csv", exports / "sessions.csv"])
    monkeypatch.setenv("IOP_DB", lake)
    monkeypatch.setenv("IOP_ALLOW_ANONYMOUS", "1")  # local mode: no login to set up
    at = app_test("pages/attendance.py")
    at.run()
    assert not at.exception and not at.error
    shown = [m.value for m in at.metric]
    cluster.stop_immediately()  # the page's store stays attached to the lake: its next read meets it gone
    at.run()
    assert not at.exception
    said = " ".join(str(e.value) for e in at.error)
    assert "The shared store is unreachable" in said and f"127.0.0.1:{cluster.port}" in said
    # a visitor arriving now (not yet audited) is told the same, and nothing else
    fresh = app_test("pages/attendance.py").run()
    assert not fresh.exception and not fresh.metric
    assert [str(e.value) for e in fresh.error] == [
        f"The shared store is unreachable (its catalog database at 127.0.0.1:{cluster.port} does not answer), "
        "so nothing was read or changed; the dashboard reconnects by itself once it is back."]
    assert not [i for i in fresh.info if "sample data" in str(i.value)]
    cluster.start_again()
    at.run()
    assert not at.exception and not at.error
    assert [m.value for m in at.metric] == shown


def test_check_names_a_data_file_lost_from_the_data_path(lake, exports, tmp_path):
    import_files(Store(lake), [exports / "enrollments.csv", exports / "sessions.csv"])
    done = run_analytics("maintain", "--db", lake, "--older-than", "0")  # inlined rows out to files
    assert done.returncode == 0, done.stderr
    assert run_analytics("check", "--db", lake).returncode == 0
    victim = sorted(parquet_files(tmp_path / "lake_data"))[0]
    os.unlink(victim)
    checked = run_analytics("check", "--db", lake)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert f"the data file {victim} is missing" in checked.stdout
    backup = run_analytics("backup", "--db", lake, "--out", str(tmp_path / "x.duckdb"))
    assert backup.returncode == 2 and "pg_dump" in backup.stderr and "Recovery" in backup.stderr
