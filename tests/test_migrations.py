"""Schema versions: a store made by an earlier release is refused read-only, and brought up to date
by its first write or by `python -m analytics migrate`, in one transaction, keeping every figure."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.ingest.importer import import_files
from analytics.store import CURRENT_VERSION, Store, StoreOutdated
from analytics.store.versions import stored_version

REPO = Path(__file__).resolve().parent.parent
RELEASE1 = REPO / "tests" / "fixtures" / "stores" / "release1"


@pytest.fixture
def release1_store(tmp_path) -> str:
    """A copy of the store the release before schema versions wrote (schema 1)."""
    path = tmp_path / "release1.duckdb"
    with gzip.open(RELEASE1 / "release1.duckdb.gz", "rb") as src, open(path, "wb") as out:
        shutil.copyfileobj(src, out)
    return str(path)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def version_of(target: str) -> int:
    """The schema version, read through a bare connection (a Store would refuse an older one)."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH '" + target.replace("'", "''") + "' AS store (READ_ONLY)")
        return stored_version(con)
    finally:
        con.close()


def test_a_new_store_is_made_at_the_current_version(tmp_path):
    store = Store(str(tmp_path / "new.duckdb"))
    with store.write():
        pass
    with store.read() as cur:
        rows = cur.execute("SELECT version, summary FROM schema_versions").fetchall()
    assert rows == [(CURRENT_VERSION, "a new store")]
    store.close()


def test_an_older_store_is_refused_read_only_with_the_command_to_run(release1_store):
    store = Store(release1_store)
    with pytest.raises(StoreOutdated) as refused:
        with store.read():
            pass
    message = str(refused.value)
    assert f"python -m analytics migrate --db {release1_store}" in message
    assert "\n" not in message and "Traceback" not in message
    store.close()
    done = cli("metrics", "--db", release1_store)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "python -m analytics migrate --db" in done.stderr
    assert version_of(release1_store) == 1  # a reader changed nothing


def test_migrate_brings_it_up_to_date_and_keeps_every_figure(release1_store):
    done = cli("migrate", "--db", release1_store)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"schema 1 -> {CURRENT_VERSION}: ")
    assert version_of(release1_store) == CURRENT_VERSION
    for extra, expected_file in (([], "metrics.json"),
                                 (["--site", "Northgate", "--as-of", "2025-06-30"], "metrics_northgate.json")):
        now = json.loads(cli("metrics", "--db", release1_store, *extra).stdout)
        before = json.loads((RELEASE1 / expected_file).read_text())
        assert {k: now[k] for k in before} == before
    again = cli("migrate", "--db", release1_store, "--format", "json")
    assert json.loads(again.stdout) == {"from": CURRENT_VERSION, "to": CURRENT_VERSION, "applied": []}


def test_the_first_import_migrates_and_moves_first_contact_dates_out_of_the_extra_columns(release1_store):
    """Re-importing the file the older release imported leaves every row unchanged: its
    first_contact_date extra column moved into the new column."""
    store = Store(release1_store)
    result = import_files(store, [RELEASE1 / "enrollments.csv"])
    assert [(f.rows, f.inserted, f.updated, f.unchanged, f.rejected) for f in result.files] == [(60, 0, 0, 60, 0)]
    with store.read() as cur:
        dated, left_in_extra = cur.execute(
            "SELECT count(first_contact_date), count(*) FILTER (WHERE extra['first_contact_date'] IS NOT NULL) "
            "FROM enrollments").fetchone()
    assert (dated, left_in_extra) == (44, 0)  # 16 rows of the file have none
    store.close()
    assert version_of(release1_store) == CURRENT_VERSION


def test_a_failed_first_write_leaves_the_older_store_as_it_was(release1_store):
    store = Store(release1_store)
    with pytest.raises(RuntimeError, match="stop here"):
        with store.write() as cur:
            cur.execute("INSERT INTO store.meta VALUES ('k', 'v')")
            raise RuntimeError("stop here")
    store.close()
    assert version_of(release1_store) == 1
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("ATTACH '" + release1_store.replace("'", "''") + "' AS store (READ_ONLY)")
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'")
              .fetchall()}
    columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = 'store' "
                                         "AND table_name = 'enrollments'").fetchall()}
    con.close()
    assert "assessments" not in tables and "schema_versions" not in tables
    assert "first_contact_date" not in columns


@pytest.mark.lake
def test_an_older_lake_is_refused_read_only_and_migrated_by_its_first_import(lake_target, tmp_path):
    """A lake as the release before made it (no schema versions, no new tables or columns)."""
    store = Store(lake_target)
    import_files(store, [RELEASE1 / "enrollments.csv"])
    with store.write() as cur:  # back to schema 1, as the release before left a lake
        for table in ("schema_versions", "assessments", "referrals", "instruments"):
            cur.execute(f"DROP TABLE store.{table}")
        cur.execute("ALTER TABLE store.enrollments DROP COLUMN first_contact_date")
    store.close()
    reader = Store(lake_target)
    with pytest.raises(StoreOutdated, match="python -m analytics migrate --db"):
        with reader.read():
            pass
    reader.close()
    writer = Store(lake_target)
    result = import_files(writer, [RELEASE1 / "enrollments.csv"])
    # the dates were dropped with the column, so they come back as changed values
    assert [(f.rows, f.updated, f.unchanged) for f in result.files] == [(60, 44, 16)]
    writer.close()
    reader = Store(lake_target)
    with reader.read() as cur:
        assert cur.execute("SELECT count(first_contact_date) FROM enrollments").fetchone()[0] == 44
        assert cur.execute("SELECT max(version) FROM schema_versions").fetchone()[0] == CURRENT_VERSION
    reader.close()
