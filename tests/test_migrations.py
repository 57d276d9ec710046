"""Schema versions: a store made by an earlier release is refused read-only, and brought up to date
by its first write or by `python -m analytics migrate`, in one transaction, keeping every figure."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from analytics.ingest.importer import import_files
from analytics.store import CURRENT_VERSION, Store, StoreOutdated
from analytics.store.schema import SUMMARY_TABLES
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
        for table in ("schema_versions", "assessments", "referrals", "instruments", *SUMMARY_TABLES):
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



# -- first_contact_date kept as an extra column, on both backends ----------------------
def stored_rows(target: str, table: str):
    """A table of a store file read through a bare connection, as an Arrow table."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH '" + target.replace("'", "''") + "' AS older (READ_ONLY)")
        return con.execute(f"SELECT * FROM older.main.{table}").arrow()
    finally:
        con.close()


def make_schema1(store: Store, enrollments) -> None:
    """Turn a new store of either backend into one as the release before left it: no schema
    versions, none of schema 2's or 4's tables, no first_contact_date column, and these enrollment
    rows (an Arrow table with the release's columns: the date, if any, among the extra ones)."""
    with store.write() as cur:
        for table in ("schema_versions", "assessments", "referrals", "instruments", *SUMMARY_TABLES):
            cur.execute(f"DROP TABLE store.{table}")
        cur.execute("ALTER TABLE store.enrollments DROP COLUMN first_contact_date")
        cur.register("release1_rows", enrollments)
        cur.execute("INSERT INTO store.enrollments BY NAME SELECT * FROM release1_rows")
        cur.unregister("release1_rows")


def test_on_either_backend_the_moved_dates_make_a_reimport_of_the_same_file_change_nothing(store, release1_store):
    make_schema1(store, stored_rows(release1_store, "enrollments"))
    with pytest.raises(StoreOutdated):
        with store.read():
            pass
    result = import_files(store, [RELEASE1 / "enrollments.csv"])
    assert [(f.rows, f.inserted, f.updated, f.unchanged, f.rejected) for f in result.files] == [(60, 0, 0, 60, 0)]
    with store.read() as cur:
        dated, left_in_extra, extra_keys = cur.execute(
            "SELECT count(first_contact_date), count(*) FILTER (WHERE extra['first_contact_date'] IS NOT NULL), "
            "list_sort(list_distinct(flatten(list(map_keys(extra))))) FROM enrollments").fetchone()
        version = cur.execute("SELECT max(version) FROM schema_versions").fetchone()[0]
    assert (dated, left_in_extra, version) == (44, 0, CURRENT_VERSION)
    assert extra_keys == ["age_group", "payer", "primary_substance", "referral_source", "sex"]


def _older_row(episode_id: str, admit: str, extra: dict) -> dict:
    return {"episode_id": episode_id, "patient_id": "p-" + episode_id, "site": "North", "program": "Adult IOP",
            "admit_date": date.fromisoformat(admit), "discharge_date": None, "discharge_reason": None,
            "planned_weeks": 8, "extra": list(extra.items()), "batch_id": 1, "source_line": 2}


def test_only_dates_the_importer_would_read_alike_are_moved_and_the_rest_stay_as_they_were(store, tmp_path):
    """The migration cannot know the profile an older import used: a date in another format,
    or one the importer would reject now, stays among the extra columns (and is counted)."""
    import pyarrow as pa

    rows = [
        _older_row("e1", "2024-02-01", {"payer": "Medicaid", "first_contact_date": "2024-01-20"}),  # moved
        _older_row("e2", "2024-02-01", {"First_Contact_Date": "2024-02-01"}),  # a header of another case; same day
        _older_row("e3", "2024-02-01", {"first_contact_date": "01/20/2024", "payer": "Medicare"}),  # US date: stays
        _older_row("e4", "2024-02-01", {"first_contact_date": "2024-02-02"}),  # after admission: stays
        _older_row("e5", "2024-02-01", {"first_contact_date": "0024-01-20"}),  # a misread year: stays
        _older_row("e6", "2024-02-01", {"first_contact_date": None, "payer": "Self"}),  # empty: key goes
        _older_row("e7", "2024-02-01", {"payer": "Self"}),  # none: untouched
        _older_row("e8", "2024-02-01", {"first_contact_date": "2024-01-20", "FIRST_CONTACT_DATE": "2024-01-21"}),
    ]
    schema = pa.schema([("episode_id", pa.string()), ("patient_id", pa.string()), ("site", pa.string()),
                        ("program", pa.string()), ("admit_date", pa.date32()), ("discharge_date", pa.date32()),
                        ("discharge_reason", pa.string()), ("planned_weeks", pa.int32()),
                        ("extra", pa.map_(pa.string(), pa.string())), ("batch_id", pa.int64()),
                        ("source_line", pa.int64())])
    make_schema1(store, pa.Table.from_pylist(rows, schema=schema))
    messages = []
    assert store.bring_up_to_date(lambda fraction, message: messages.append(message)) == (1, CURRENT_VERSION)
    assert any("4 episode(s) keep first_contact_date as an extra column" in m for m in messages)
    with store.read() as cur:
        got = {r[0]: (r[1], r[2]) for r in cur.execute(
            "SELECT episode_id, strftime(first_contact_date, '%Y-%m-%d'), map_entries(extra) FROM enrollments")
            .fetchall()}

    def entries(**kv):
        return [{"key": k, "value": v} for k, v in kv.items()]

    assert got == {
        "e1": ("2024-01-20", entries(payer="Medicaid")),
        "e2": ("2024-02-01", []),
        "e3": (None, entries(first_contact_date="01/20/2024", payer="Medicare")),
        "e4": (None, entries(first_contact_date="2024-02-02")),
        "e5": (None, entries(first_contact_date="0024-01-20")),
        "e6": (None, entries(payer="Self")),
        "e7": (None, entries(payer="Self")),
        "e8": (None, [{"key": "first_contact_date", "value": "2024-01-20"},
                      {"key": "FIRST_CONTACT_DATE", "value": "2024-01-21"}]),
    }
    # the export imported again with the profile it was made for reads the US date
    profile = tmp_path / "us_dates.toml"
    profile.write_text('name = "US dates"\ndate_format = "%m/%d/%Y"\n')
    export = tmp_path / "enrollments.csv"
    export.write_text("episode_id,patient_id,site,program,admit_date,planned_weeks,first_contact_date,payer\n"
                      "e3,p-e3,North,Adult IOP,02/01/2024,8,01/20/2024,Medicare\n")
    result = import_files(store, [export], profile=profile)
    assert [(f.updated, f.rejected) for f in result.files] == [(1, 0)]
    with store.read() as cur:
        assert cur.execute("SELECT strftime(first_contact_date, '%Y-%m-%d'), map_entries(extra) FROM enrollments "
                           "WHERE episode_id = 'e3'").fetchone() == ("2024-01-20", entries(payer="Medicare"))
