"""History and undo: every replaced or removed row is kept with its batch, a batch's changes
can be listed (directors only, audited) and undone, and an undo is itself a batch.

Tests taking `store` run on the embedded file and on DuckLake alike.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics.filters import Filters, Scope
from analytics.ingest.batches import (
    BatchNotFound, HistoryDenied, UndoRefused, batch_changes, prune_history, undo_batch,
)
from analytics.ingest.importer import import_files
from analytics.metrics.summary import summary
from analytics.store import Store
from analytics.store.journal import read_entries

from tests.support import AUTH, REPO_ROOT, app_test, run_analytics

ENROLLMENT_HEADER = "episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks"
SESSION_HEADER = "session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,attended_minutes,status"
DIRECTOR = Scope(actor="dana@example.org", role="director")
NORTHGATE_LEAD = Scope(allowed_sites=("Northgate",), actor="sam@example.org", role="site_lead")


def write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join((header,) + rows) + "\n", encoding="utf-8")
    return path


def figures(store: Store) -> dict:
    return summary(store, Filters()).to_dict()


def rows(store: Store, table: str) -> list[tuple]:
    with store.read() as cur:
        return sorted(cur.execute(f"SELECT * EXCLUDE (batch_id, source_line) FROM {table}").fetchall(), key=str)


@pytest.fixture
def moved(store, tmp_path):
    """E1 imported at Northgate, then moved to Hillcrest by a second export that also adds E3.

    Returns (first batch, second batch, figures after the first import)."""
    first = write(tmp_path / "e1.csv", ENROLLMENT_HEADER,
                  "E1,P1,Northgate,Adult IOP,2024-01-01,2024-03-01,completed,12",
                  "E2,P2,Northgate,Adult IOP,2024-01-02,,,12")
    second = write(tmp_path / "e2.csv", ENROLLMENT_HEADER,
                   "E1,P1,Hillcrest,Adult IOP,2024-01-01,2024-03-01,completed,12",
                   "E2,P2,Northgate,Adult IOP,2024-01-02,,,12",
                   "E3,P3,Northgate,Adult IOP,2024-01-03,,,12")
    b1 = import_files(store, [first]).files[0].batch
    after_first = (figures(store), rows(store, "enrollments"))
    b2 = import_files(store, [second]).files[0].batch
    return b1, b2, after_first


def test_ingest_reports_each_files_batch_as_in_the_import_log(store, tmp_path):
    enr = write(tmp_path / "e.csv", ENROLLMENT_HEADER, "E1,P1,North,Adult IOP,2024-01-01,,,12")
    ses = write(tmp_path / "s.csv", SESSION_HEADER, "S1,E1,2024-01-02,group,A,180,180,attended")
    done = run_analytics("ingest", "--db", store.target, "--format", "json", str(ses), str(enr))
    assert done.returncode == 0, done.stderr
    reported = [(f["file"], f["batch"]) for f in json.loads(done.stdout)["files"]]
    with store.read() as cur:
        logged = cur.execute("SELECT file, batch_id FROM import_log ORDER BY batch_id").fetchall()
        stored = cur.execute("SELECT DISTINCT batch_id FROM sessions").fetchall()
    assert reported == logged == [("e.csv", logged[0][1]), ("s.csv", logged[1][1])]
    assert stored == [(logged[1][1],)]


def test_a_moved_episode_keeps_its_old_site_and_the_batch_lists_old_and_new_values(store, moved):
    b1, b2, _ = moved
    done = batch_changes(store, b2, DIRECTOR, actor="dana@example.org")
    assert (done.kind, done.file, done.inserted, done.updated, done.deleted) == ("enrollments", "e2.csv", 1, 1, 0)
    updated = [c for c in done.rows if c.change == "updated"]
    assert [(c.record_id, c.changed, c.old["site"], c.new["site"]) for c in updated] == [
        ("E1", ("site",), "Northgate", "Hillcrest")]
    assert [(c.record_id, c.old, c.new["site"]) for c in done.rows if c.change == "inserted"] == [
        ("E3", None, "Northgate")]
    with store.read() as cur:
        audited = cur.execute("SELECT actor, detail->>'batch' FROM audit_log WHERE action = 'view_history'").fetchall()
    assert audited == [("dana@example.org", str(b2))]


def test_only_directors_see_old_values(store, moved):
    b1, b2, _ = moved
    for scope in (NORTHGATE_LEAD, Scope(suppressed_only=True, patient_level=False, role="analyst")):
        with pytest.raises(HistoryDenied):
            batch_changes(store, b2, scope, actor=scope.actor)
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM audit_log WHERE action = 'view_history'").fetchone()[0] == 0


def test_undo_of_an_update_and_an_insert_puts_every_row_back_and_is_itself_undoable(store, moved):
    b1, b2, (figures_first, rows_first) = moved
    figures_second, rows_second = figures(store), rows(store, "enrollments")
    undone = undo_batch(store, b2, actor="dana@example.org")
    assert (undone.undoes, undone.kind, undone.inserted, undone.updated, undone.deleted) == (
        b2, "enrollments", 0, 1, 1)
    assert rows(store, "enrollments") == rows_first
    assert figures(store) == figures_first
    with store.read() as cur:
        log = cur.execute("SELECT status, undoes, updated, deleted FROM import_log WHERE batch_id = $b",
                          {"b": undone.batch}).fetchall()
        audit = cur.execute("SELECT detail->>'undoes' FROM audit_log WHERE action = 'undo'").fetchall()
    assert log == [("undo", b2, 1, 1)] and audit == [(str(b2),)]
    # what the undo did is a batch's changes like any other
    listed = batch_changes(store, undone.batch, DIRECTOR, actor="dana@example.org")
    assert (listed.undoes, listed.inserted, listed.updated, listed.deleted) == (b2, 0, 1, 1)
    assert batch_changes(store, b2, DIRECTOR, actor="dana@example.org").undone_by == undone.batch
    with pytest.raises(UndoRefused, match=f"batch {b2} was undone already, by batch {undone.batch}"):
        undo_batch(store, b2, actor="dana@example.org")
    redone = undo_batch(store, undone.batch, actor="dana@example.org")
    assert (redone.inserted, redone.updated, redone.deleted) == (1, 1, 0)
    assert rows(store, "enrollments") == rows_second
    assert figures(store) == figures_second


def test_undo_is_refused_naming_later_batches_that_touched_or_depend_on_its_rows(store, moved, tmp_path):
    b1, b2, _ = moved
    sessions = write(tmp_path / "s.csv", SESSION_HEADER, "S1,E3,2024-01-04,group,A,180,180,attended")
    b3 = import_files(store, [sessions]).files[0].batch
    before = (figures(store), rows(store, "enrollments"), rows(store, "sessions"))
    # a session of E3, which batch b2 inserted, was imported later
    with pytest.raises(UndoRefused) as refused:
        undo_batch(store, b2, actor="dana@example.org")
    assert str(refused.value) == (f"cannot undo batch {b2}: rows of batch {b3} refer to enrollments rows that "
                                  f"batch {b2} inserted; undo batch {b3} first")
    # b2 changed E1 and E2 after b1 (E1's site): b1 cannot be undone past it
    with pytest.raises(UndoRefused, match=f"later batch {b2} changed the same enrollments rows; undo batch {b2}"):
        undo_batch(store, b1, actor="dana@example.org")
    assert (figures(store), rows(store, "enrollments"), rows(store, "sessions")) == before
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM import_log WHERE status = 'undo'").fetchone()[0] == 0
    # newest first, then it goes
    undo_batch(store, b3, actor="dana@example.org")
    undo_batch(store, b2, actor="dana@example.org")
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM main.sessions").fetchone()[0] == 0
        assert cur.execute("SELECT site FROM main.enrollments WHERE episode_id = 'E1'").fetchone() == ("Northgate",)


def test_the_command_line_lists_changes_and_undoes_and_says_why_it_refuses(store, moved, tmp_path):
    b1, b2, _ = moved
    listed = run_analytics("changes", "--db", store.target, "--batch", str(b2), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    changes = json.loads(listed.stdout)
    assert changes["counts"] == {"inserted": 1, "updated": 1, "deleted": 0}
    assert changes["rows"]["updated"][0]["old"]["site"] == "Northgate"
    assert changes["rows"]["updated"][0]["new"]["site"] == "Hillcrest"
    text = run_analytics("changes", "--db", store.target, "--batch", str(b2))
    assert "updated E1: site Northgate -> Hillcrest" in text.stdout
    refused = run_analytics("undo", "--db", store.target, "--batch", str(b1))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"error: cannot undo batch {b1}: later batch {b2}")
    done = run_analytics("undo", "--db", store.target, "--batch", str(b2), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deleted"] == 1
    missing = run_analytics("changes", "--db", store.target, "--batch", "12345")
    assert missing.returncode == 1 and "there is no batch 12345" in missing.stderr


def test_history_is_kept_until_pruned_and_pruned_batches_cannot_be_undone(store, moved):
    b1, b2, _ = moved
    if store.needs_maintenance:  # DuckLake: expiring every snapshot keeps the history
        done = run_analytics("maintain", "--db", store.target, "--older-than", "0", "--format", "json")
        assert done.returncode == 0, done.stderr
    assert batch_changes(store, b2, DIRECTOR, actor="dana@example.org").updated == 1
    pruned = prune_history(store, 0, actor="ops")
    assert pruned["through_batch"] == b2 and pruned["versions_pruned"] == 1
    with pytest.raises(BatchNotFound, match=f"what batch {b2} replaced is no longer kept"):
        batch_changes(store, b2, DIRECTOR, actor="dana@example.org")
    with pytest.raises(UndoRefused, match="no longer kept"):
        undo_batch(store, b2, actor="dana@example.org")
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM audit_log WHERE action = 'prune_history'").fetchone()[0] == 1
        assert cur.execute("SELECT site FROM main.enrollments WHERE episode_id = 'E1'").fetchone() == ("Hillcrest",)


def test_rows_removed_by_a_batch_are_kept_and_an_undo_restores_them(store, moved):
    b1, b2, _ = moved
    before = rows(store, "enrollments")
    with store.write() as cur:
        cur.execute("CREATE TEMP TABLE gone AS SELECT 'E2' AS record_id")
        batch = store.next_batch_id(cur)
        assert store.remove_rows(cur, "enrollments", "gone", batch) == 1
        cur.execute("INSERT INTO store.import_log (batch_id, file, kind, status) "
                    "VALUES ($b, 'retraction', 'enrollments', 'loaded')", {"b": batch})
    assert [r[0] for r in rows(store, "enrollments")] == ["E1", "E3"]
    removed = batch_changes(store, batch, DIRECTOR, actor="dana@example.org")
    assert (removed.deleted, [c.old["site"] for c in removed.rows]) == (1, ["Northgate"])
    undo_batch(store, batch, actor="dana@example.org")
    assert rows(store, "enrollments") == before


def test_an_embedded_store_from_before_history_refuses_to_list_its_old_batches(tmp_path):
    import gzip
    import shutil

    path = tmp_path / "release1.duckdb"
    with gzip.open(REPO_ROOT / "tests/fixtures/stores/release1/release1.duckdb.gz") as src, open(path, "wb") as out:
        shutil.copyfileobj(src, out)
    assert run_analytics("migrate", "--db", str(path)).returncode == 0
    store = Store(str(path))
    try:
        with store.read() as cur:
            old = cur.execute("SELECT max(batch_id) FROM import_log").fetchone()[0]
        with pytest.raises(BatchNotFound, match="imported before the store kept history"):
            batch_changes(store, old, DIRECTOR, actor="dana@example.org")
    finally:
        store.close()


def test_undo_is_in_the_import_journal(tmp_path):
    store = Store(str(tmp_path / "j.duckdb"))
    try:
        enr = write(tmp_path / "e.csv", ENROLLMENT_HEADER, "E1,P1,North,Adult IOP,2024-01-01,,,12")
        batch = import_files(store, [enr]).files[0].batch
        undone = undo_batch(store, batch, actor="dana@example.org")
    finally:
        store.close()
    entries = read_entries(str(tmp_path / "j.duckdb") + ".imports.jsonl")
    assert [(e["batch_id"], e["status"], e["undoes"]) for e in entries] == [
        (batch, "loaded", None), (undone.batch, "undo", batch)]
    assert entries[0]["sha256"] and entries[0]["file"] == "e.csv"


# -- the Data page -------------------------------------------------------------------
@pytest.fixture
def page_store(tmp_path, monkeypatch):
    path = tmp_path / "page.duckdb"
    store = Store(str(path))
    first = write(tmp_path / "e1.csv", ENROLLMENT_HEADER, "E1,P1,Northgate,Adult IOP,2024-01-01,,,12")
    second = write(tmp_path / "e2.csv", ENROLLMENT_HEADER, "E1,P1,Hillcrest,Adult IOP,2024-01-01,,,12")
    import_files(store, [first])
    batch = import_files(store, [second]).files[0].batch
    store.close()
    roles = tmp_path / "roles.toml"
    roles.write_text('[users."dana@example.org"]\nrole = "director"\n'
                     '[users."sam@example.org"]\nrole = "site_lead"\nsites = ["Northgate"]\n')
    monkeypatch.setenv("IOP_DB", str(path))
    monkeypatch.setenv("IOP_ROLES_FILE", str(roles))
    return str(path), batch


def _texts(at) -> str:
    return " ".join(str(e.value) for e in [*at.text, *at.info, *at.success, *at.error, *at.warning])


def test_the_data_page_lists_a_batch_for_a_director_and_undoes_it(page_store):
    path, batch = page_store
    at = app_test("pages/data.py", email="dana@example.org").run()
    assert not at.exception
    at.selectbox(key="data_history_batch").set_value(batch)
    at.button(key="data_history_show").click().run()
    assert not at.exception
    assert f"Batch {batch}: 0 inserted, 1 updated, 0 deleted" in _texts(at)
    shown = at.dataframe[[i for i, d in enumerate(at.dataframe) if "old" in d.value.columns][0]].value
    assert shown.to_dict("records") == [{"id": "E1", "column": "site", "old": "Northgate", "new": "Hillcrest"}]
    at.checkbox(key="data_undo_sure").check()
    at.button[[b.label for b in at.button].index("Undo")].click().run()
    assert not at.exception
    assert f"Batch {batch} was undone by batch" in _texts(at)
    store = Store(path)
    try:
        with store.read() as cur:
            assert cur.execute("SELECT site FROM enrollments").fetchall() == [("Northgate",)]
            actions = [r[0] for r in cur.execute("SELECT action FROM audit_log ORDER BY logged_at").fetchall()]
    finally:
        store.close()
    assert "view_history" in actions and actions[-1] == "undo"


def test_the_data_page_shows_no_history_to_a_site_lead(page_store):
    at = app_test("pages/data.py", email="sam@example.org").run()
    assert not at.exception
    assert "shown to clinical directors" in _texts(at)
    assert not [s for s in at.selectbox if s.key == "data_history_batch"]
    assert "Hillcrest" not in _texts(at) and AUTH  # the moved episode leaves no trace for Northgate's lead
