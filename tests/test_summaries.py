"""The session summaries never disagree with the rows, and both read paths give the same figures.

On a generated store, through the real importer: after a first import, after a re-import
that changes an episode's admission (its program weeks move), moves a discharge before the
as-of date, moves a session into another week, moves one to another episode and changes
one's status, and after undoing that import, every summary table equals a build from the
sessions from scratch, and the metrics command's figures with the summaries are those
counted from the sessions (IOP_READ_SUMMARIES=0), view by view.
"""
from __future__ import annotations

import csv
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from analytics import config
from analytics.filters import Filters
from analytics.ingest.batches import undo_batch
from analytics.ingest.importer import import_files
from analytics.store import Store, bind_filters, summaries
from analytics.store.schema import SUMMARY_TABLES
from tests.support import run_analytics

# table -> the macro call that builds it from the sessions
FROM_SESSIONS = {
    "episode_session_counts": "main.session_counts_through(DATE '9999-12-31', $share)",
    "episode_attended_weeks": "main.attended_weeks_through(DATE '9999-12-31')",
    "episode_attended_days": "main.attended_days_through(DATE '9999-12-31')",
}
SESSIONS_ONLY = {"IOP_READ_SUMMARIES": "0"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    from sample_data.generate import main as generate

    out = tmp_path_factory.mktemp("summaries")
    generate(["--episodes", "250", "--seed", "7", "--out", str(out)])
    return out


def import_exports(target: str, exports: Path) -> None:
    """The generated enrollments and sessions imported into target, with the real importer."""
    store = Store(target)
    try:
        import_files(store, [exports / "enrollments.csv", exports / "sessions.csv"])
    finally:
        store.close()


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def disagreements(store: Store) -> dict[str, int]:
    """Per summary table, rows it holds that a build from the sessions does not, and the reverse."""
    out = {}
    with store.read() as cur:
        for table in SUMMARY_TABLES:
            params = {"share": config.session_completion_share()} if "$share" in FROM_SESSIONS[table] else {}
            built = FROM_SESSIONS[table]
            out[table] = cur.execute(
                f"SELECT (SELECT count(*) FROM (FROM main.{table} EXCEPT ALL FROM {built})) "
                f"+ (SELECT count(*) FROM (FROM {built} EXCEPT ALL FROM main.{table}))", params).fetchone()[0]
            assert cur.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0] > 0, table
    return out


def figures(db: str, view: list[str], env: dict | None = None) -> dict:
    done = run_analytics("metrics", "--format", "json", "--db", db, *view, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def views(db: str) -> dict[str, list[str]]:
    with duckdb.connect(db, read_only=True) as con:
        site, program, last = con.execute(
            "SELECT (SELECT min(site) FROM enrollments), (SELECT min(program) FROM enrollments), "
            "(SELECT max(session_date) FROM sessions)").fetchone()
    return {"whole": [], "site": ["--site", site], "program": ["--program", program],
            "last session": ["--as-of", last.isoformat()],
            "mid-data": ["--as-of", (last - timedelta(days=120)).isoformat()]}


def assert_both_paths_agree(db: str) -> dict:
    """The figures of every view, with the summaries and from the sessions; returns the whole view's."""
    for name, view in views(db).items():
        with_summaries, from_sessions = figures(db, view), figures(db, view, SESSIONS_ONLY)
        changed = {k: (with_summaries[k], from_sessions.get(k)) for k in with_summaries
                   if with_summaries[k] != from_sessions.get(k)}
        assert not changed, (name, changed)
    return figures(db, [])


def summarised_at(store: Store, as_of: date | None) -> bool:
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=as_of))
        return cur.execute("SELECT getvariable('summarised')").fetchone()[0]


def partial_at(store: Store) -> bool:
    with store.read() as cur:
        bind_filters(cur, Filters())
        return cur.execute("SELECT getvariable('summaries_partial')").fetchone()[0]


def test_summaries_follow_every_change_and_both_paths_give_the_same_figures(exports, tmp_path):
    db = str(tmp_path / "iop.duckdb")
    store = Store(db)
    try:
        import_files(store, [exports / "enrollments.csv", exports / "sessions.csv"])
        assert disagreements(store) == dict.fromkeys(SUMMARY_TABLES, 0)
        with store.read() as cur:
            last = cur.execute("SELECT max(session_date) FROM sessions").fetchone()[0]
        # the summaries are read for the default view and from the last session on, not before
        assert summarised_at(store, None) and summarised_at(store, last)
        assert not summarised_at(store, last - timedelta(days=1))
        before = assert_both_paths_agree(db)

        enrollments, sessions = read_csv(exports / "enrollments.csv"), read_csv(exports / "sessions.csv")
        attended = [s for s in sessions if s["status"] == "attended"]
        # an episode re-imported with a later admission: its sessions fall in other program weeks
        moved_admit = next(e for e in enrollments if e["discharge_date"])
        moved_admit["admit_date"] = (date.fromisoformat(moved_admit["admit_date"]) + timedelta(days=3)).isoformat()
        # a discharge moved earlier, before the as-of date
        shortened = next(e for e in enrollments if e["discharge_date"] and e is not moved_admit
                         and date.fromisoformat(e["discharge_date"]) - date.fromisoformat(e["admit_date"]) > timedelta(28))
        shortened["discharge_date"] = (date.fromisoformat(shortened["admit_date"]) + timedelta(days=20)).isoformat()
        # a session moved a week on, one moved to another episode, one no longer attended
        attended[10]["session_date"] = (date.fromisoformat(attended[10]["session_date"]) + timedelta(7)).isoformat()
        other = next(s for s in attended if s["episode_id"] != attended[20]["episode_id"])
        attended[20]["episode_id"], attended[20]["session_date"] = other["episode_id"], other["session_date"]
        attended[30]["status"], attended[30]["attended_minutes"] = "no_show", "0"
        changed = import_files(store, [write_csv(tmp_path / "enrollments.csv", enrollments),
                                       write_csv(tmp_path / "sessions.csv", sessions)])
        assert [f.updated for f in changed.files] == [2, 3]
        assert disagreements(store) == dict.fromkeys(SUMMARY_TABLES, 0)
        after = assert_both_paths_agree(db)
        assert after != before  # the edits move figures, so agreeing is not trivial

        undone = undo_batch(store, changed.files[1].batch, "tests")
        assert undone.updated == 3
        assert disagreements(store) == dict.fromkeys(SUMMARY_TABLES, 0)
        assert assert_both_paths_agree(db) != after
    finally:
        store.close()


def test_a_summary_that_disagrees_with_the_rows_shows(exports, tmp_path):
    """The comparison can fail: one summary cell off by one session changes a figure."""
    db = str(tmp_path / "iop.duckdb")
    import_exports(db, exports)
    with duckdb.connect(db) as con:
        con.execute("UPDATE episode_session_counts SET sessions = sessions + 1 WHERE rowid = "
                    "(SELECT min(rowid) FROM episode_session_counts WHERE status = 'no_show')")
    store = Store(db)
    try:
        assert disagreements(store)["episode_session_counts"] == 2
    finally:
        store.close()
    assert figures(db, [])["no_show_rate"] != figures(db, [], SESSIONS_ONLY)["no_show_rate"]


def test_a_store_from_before_the_summaries_gains_them_by_migrating(exports, tmp_path):
    db = str(tmp_path / "iop.duckdb")
    import_exports(db, exports)
    expected = figures(db, [])
    with duckdb.connect(db) as con:  # as schema 3 left it: no summary tables, no summary meta keys
        for table in SUMMARY_TABLES:
            con.execute(f"DROP TABLE {table}")
        con.execute("DELETE FROM meta WHERE key LIKE 'summaries_%'")
        con.execute("DELETE FROM schema_versions WHERE version = 4")
        con.execute("INSERT INTO schema_versions VALUES (3, now()::TIMESTAMP, 'history')")
    refused = run_analytics("metrics", "--format", "json", "--db", db)
    assert refused.returncode != 0 and "python -m analytics migrate --db" in refused.stderr
    done = run_analytics("migrate", "--db", db)
    assert done.returncode == 0, done.stderr
    assert "schema 4: summaries: episode_attended_days" in done.stdout + done.stderr
    store = Store(db)
    try:
        assert disagreements(store) == dict.fromkeys(SUMMARY_TABLES, 0)
        assert summarised_at(store, None)
    finally:
        store.close()
    assert figures(db, []) == expected


def test_another_completion_share_in_force_reads_the_sessions_until_the_next_write(exports, tmp_path):
    db = str(tmp_path / "iop.duckdb")
    store = Store(db)
    try:
        import_files(store, [exports / "enrollments.csv", exports / "sessions.csv"])
        settings = tmp_path / "iop.toml"
        settings.write_text(Path(config.DEFAULT_CONFIG).read_text().replace("completion_share = 0.9",
                                                                           "completion_share = 0.5"))
        half = {"IOP_CONFIG": str(settings)}
        assert figures(db, [], half) == figures(db, [], half | SESSIONS_ONLY)
        assert figures(db, [], half)["session_completion_rate"] != figures(db, [])["session_completion_rate"]
        with store.read() as cur:
            assert not summaries.exact_for(cur, None, 0.5) and not summaries.exact_for(cur, date(2100, 1, 1), 0.5)
            assert summaries.exact_for(cur, date(2100, 1, 1), 0.9)
    finally:
        store.close()


@pytest.mark.lake
def test_on_ducklake_maintain_summarises_and_reads_combine_them_with_later_imports(exports, lake_target, tmp_path):
    """DuckLake: no summaries before `maintain`; after it, the reads use them (same figures as an
    embedded store's); after another import, the episodes it touched are counted from the
    sessions and the rest read from the summaries, until `maintain` runs again."""
    embedded = str(tmp_path / "iop.duckdb")
    for target in (embedded, lake_target):
        import_exports(target, exports)
    lake = Store(lake_target)
    try:
        assert not summarised_at(lake, None)
        expected = figures(embedded, [])
        assert figures(lake_target, []) == expected
        lake.maintain(older_than_days=7)
        assert summarised_at(lake, None) and not partial_at(lake)
        assert disagreements(lake) == dict.fromkeys(SUMMARY_TABLES, 0)
        assert figures(lake_target, []) == expected == figures(lake_target, [], SESSIONS_ONLY)

        # another import: a later admission (its weeks move), a no-show, a session moved to
        # another episode
        enrollments, sessions = read_csv(exports / "enrollments.csv"), read_csv(exports / "sessions.csv")
        later = next(e for e in enrollments if e["discharge_date"])
        later["admit_date"] = (date.fromisoformat(later["admit_date"]) + timedelta(days=2)).isoformat()
        attended = [s for s in sessions if s["status"] == "attended"]
        attended[30]["status"], attended[30]["attended_minutes"] = "no_show", "0"
        other = next(s for s in attended if s["episode_id"] != attended[20]["episode_id"])
        attended[20]["episode_id"], attended[20]["session_date"] = other["episode_id"], other["session_date"]
        edited = [write_csv(tmp_path / "enrollments.csv", enrollments), write_csv(tmp_path / "sessions.csv", sessions)]
        for target in (embedded, lake_target):
            store = Store(target) if target == embedded else lake
            try:
                assert [f.updated for f in import_files(store, edited).files] == [1, 2]
            finally:
                if store is not lake:
                    store.close()
        assert summarised_at(lake, None) and partial_at(lake)  # summaries and sessions combined
        changed = figures(embedded, [])
        assert changed != expected and figures(lake_target, []) == changed
        assert_both_paths_agree(lake_target)
        lake.maintain(older_than_days=7)
        assert summarised_at(lake, None) and not partial_at(lake)
        assert disagreements(lake) == dict.fromkeys(SUMMARY_TABLES, 0)
        assert figures(lake_target, []) == changed
    finally:
        lake.close()
