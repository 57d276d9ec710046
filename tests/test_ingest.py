"""Import semantics: values, idempotency, latest wins, order, atomicity, logs, pseudonyms, the CLI.

Each test writes its own small canonical files, so the expected values are read off the test.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from analytics.ingest.history import session_conflicts
from analytics.ingest.importer import FileResult, ImportRefused, import_files
from analytics.store import Store, get_meta

from tests.support import REPO_ROOT, run_analytics
ENROLLMENT_HEADER = "episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks,payer"
SESSION_HEADER = "session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,attended_minutes,status"


def write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join((header,) + rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(str(tmp_path / "ingest.duckdb"))
    yield s
    s.close()


ENROLLMENT_ROWS = (
    "E1,P1,North,Adult IOP,2024-01-01,2024-03-01,completed,12,Medicaid",
    "E2,P2,South,Adult IOP,2024-01-08,,,8,",
)
SESSION_ROWS = (
    "S1,E1,2024-01-02,group,Clinician A,180,180,attended",
    "S2,E1,2024-01-03,individual,Clinician B,60,45,attended",
    "S3,E2,2024-01-09,group,Clinician A,180,0,no_show",
)


@pytest.fixture
def enrollments(tmp_path) -> Path:
    return write(tmp_path / "enrollments.csv", ENROLLMENT_HEADER, *ENROLLMENT_ROWS)


@pytest.fixture
def sessions(tmp_path) -> Path:
    return write(tmp_path / "sessions.csv", SESSION_HEADER, *SESSION_ROWS)


def snapshot(store: Store) -> dict:
    """Everything an import may change, except the logs (which record each attempt)."""
    with store.read() as cur:
        tables = {t: sorted(map(str, cur.execute(f"SELECT * FROM {t}").fetchall()))
                  for t in ("enrollments", "sessions", "meta")}
        # a re-imported file's rejects replace its earlier ones: same rows, the latest batch
        tables["rejects"] = sorted(map(str, cur.execute("SELECT * EXCLUDE (batch_id) FROM rejects").fetchall()))
    return tables


def test_canonical_files_load_with_typed_values_and_extra_columns(store, enrollments, sessions):
    result = import_files(store, [enrollments, sessions], actor="ana")
    assert result.files == (
        FileResult("enrollments.csv", "enrollments", 2, 2, 0, 0, 0),
        FileResult("sessions.csv", "sessions", 3, 3, 0, 0, 0),
    )
    with store.read() as cur:
        assert cur.execute("SELECT * EXCLUDE (batch_id, first_contact_date) FROM enrollments ORDER BY episode_id").fetchall() == [
            ("E1", "P1", "North", "Adult IOP", date(2024, 1, 1), date(2024, 3, 1), "completed", 12,
             {"payer": "Medicaid"}, 2),
            ("E2", "P2", "South", "Adult IOP", date(2024, 1, 8), None, None, 8, {"payer": None}, 3),
        ]
        assert cur.execute("SELECT * EXCLUDE (batch_id) FROM sessions WHERE session_id = 'S2'").fetchall() == [
            ("S2", "E1", date(2024, 1, 3), "individual", "Clinician B", 60, 45, "attended", 3)]
        log = cur.execute("SELECT file, sha256, kind, status, rows, inserted, updated, unchanged, rejected, actor "
                          "FROM import_log ORDER BY batch_id").fetchall()
        audit = cur.execute("SELECT actor, action, detail->>'file', detail->>'sha256' FROM audit_log").fetchall()
        assert get_meta(cur, "contents") == "imported"
    sha = hashlib.sha256(sessions.read_bytes()).hexdigest()
    assert log[1] == ("sessions.csv", sha, "sessions", "loaded", 3, 3, 0, 0, 0, "ana")
    assert ("ana", "import", "sessions.csv", sha) in audit


def test_the_store_keeps_text_columns_in_their_pinned_compression(store, enrollments, sessions, tmp_path):
    # schema.Column.compression: unique ids in FSST, repeated labels in a dictionary
    # (for three rows DuckDB alone would leave both uncompressed)
    import_files(store, [enrollments, sessions])
    store.close()
    with duckdb.connect(str(tmp_path / "ingest.duckdb"), read_only=True) as con:
        methods = dict(con.execute(
            "SELECT column_name, any_value(compression) FROM pragma_storage_info('sessions') "
            "WHERE segment_type = 'VARCHAR' AND column_name IN ('session_id', 'status') GROUP BY ALL").fetchall())
    assert methods == {"session_id": "FSST", "status": "Dictionary"}


def test_second_import_of_the_same_files_changes_nothing(store, enrollments, sessions, tmp_path):
    bad = write(tmp_path / "more.csv", SESSION_HEADER, "S9,E1,2024-01-04,group,A,180,190,attended")
    import_files(store, [enrollments, sessions, bad])
    before = snapshot(store)
    again = import_files(store, [sessions, enrollments, bad])
    assert [(f.rows, f.inserted, f.updated, f.unchanged, f.rejected) for f in again.files] == [
        (2, 0, 0, 2, 0), (3, 0, 0, 3, 0), (1, 0, 0, 0, 1)]
    assert snapshot(store) == before  # rejects of an identical file are not repeated


def test_a_newer_overlapping_export_updates_by_id_and_counts_nothing_twice(store, enrollments, sessions, tmp_path):
    import_files(store, [enrollments, sessions])
    newer = write(
        tmp_path / "sessions_newer.csv", SESSION_HEADER,
        "S2,E1,2024-01-03,individual,Clinician B,60,60,attended",  # corrected minutes
        "S3,E2,2024-01-09,group,Clinician A,180,0,no_show",  # as before
        "S4,E2,2024-01-10,group,Clinician A,180,180,attended",  # new
    )
    result = import_files(store, [newer]).files[0]
    assert (result.rows, result.inserted, result.updated, result.unchanged, result.rejected) == (3, 1, 1, 1, 0)
    with store.read() as cur:
        rows = dict(cur.execute("SELECT session_id, attended_minutes FROM sessions").fetchall())
        latest_batch = cur.execute("SELECT batch_id FROM sessions WHERE session_id = 'S2'").fetchone()[0]
        unchanged_batch = cur.execute("SELECT batch_id FROM sessions WHERE session_id = 'S3'").fetchone()[0]
    assert rows == {"S1": 180, "S2": 60, "S3": 0, "S4": 180}
    assert latest_batch > unchanged_batch


def test_a_batch_applies_enrollments_before_sessions(store, enrollments, sessions):
    result = import_files(store, [sessions, enrollments])
    assert [f.kind for f in result.files] == ["enrollments", "sessions"]
    assert result.files[1].rejected == 0


def test_a_header_only_file_imports_zero_rows(store, tmp_path):
    empty = write(tmp_path / "none.csv", SESSION_HEADER)
    assert import_files(store, [empty]).files == (FileResult("none.csv", "sessions", 0, 0, 0, 0, 0),)


def test_an_explicit_kind_overrides_detection(store, tmp_path, enrollments):
    with pytest.raises(ImportRefused, match="required columns missing for sessions"):
        import_files(store, [enrollments], kind="sessions")


def test_a_refused_file_loads_nothing_of_its_command_and_is_logged(store, enrollments, sessions, tmp_path):
    import_files(store, [enrollments])
    before = snapshot(store)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportRefused) as refused:
        import_files(store, [sessions, empty])
    assert str(refused.value) == f"{empty}: the file is empty"
    assert snapshot(store) == before
    with store.read() as cur:
        assert cur.execute("SELECT file, status FROM import_log ORDER BY batch_id").fetchall() == [
            ("enrollments.csv", "loaded"), ("empty.csv", "refused")]


def test_pseudonymise_stores_keyed_hashes_and_never_the_ids(store, enrollments):
    key = b"a test key"
    import_files(store, [enrollments], pseudonymise_key=key)
    expected = {"p_" + hmac.new(key, pid, hashlib.sha256).hexdigest()[:16] for pid in (b"P1", b"P2")}
    with store.read() as cur:
        stored = {r[0] for r in cur.execute("SELECT patient_id FROM enrollments").fetchall()}
    assert stored == expected
    # the same key gives the same pseudonyms, so a re-import changes nothing
    again = import_files(store, [enrollments], pseudonymise_key=key).files[0]
    assert again.unchanged == 2


def test_session_conflicts_lists_loaded_sessions_an_enrollment_update_left_outside(store, enrollments, sessions, tmp_path):
    import_files(store, [enrollments, sessions])
    with store.read() as cur:
        assert session_conflicts(cur).empty
    moved = write(tmp_path / "enrollments_update.csv", ENROLLMENT_HEADER,
                  "E1,P1,North,Adult IOP,2024-01-03,2024-03-01,completed,12,Medicaid")
    assert import_files(store, [moved]).files[0].updated == 1
    with store.read() as cur:
        conflicts = session_conflicts(cur)
    assert conflicts[["session_id", "conflict"]].values.tolist() == [["S1", "before admission"]]


def test_progress_reports_rising_fractions_up_to_one(store, enrollments, sessions):
    seen: list[float] = []
    import_files(store, [enrollments, sessions], progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 6


def test_mark_sample_sets_contents_sample(store, enrollments):
    import_files(store, [enrollments], mark_sample=True)
    with store.read() as cur:
        assert get_meta(cur, "contents") == "sample"


# -- command line ---------------------------------------------------------------------
def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_analytics("ingest", *args, env=env, timeout=300)


def test_cli_json_output_and_exit_zero_with_rejected_rows(tmp_path, enrollments):
    sessions = write(tmp_path / "s.csv", SESSION_HEADER,
                     "S1,E1,2024-01-02,group,A,180,180,attended", "S2,E1,2024-01-03,group,A,180,10,no_show")
    db = tmp_path / "cli.duckdb"
    done = run_cli("--db", str(db), "--format", "json", str(sessions), str(enrollments))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"files": [
        {"file": "enrollments.csv", "kind": "enrollments", "rows": 2, "inserted": 2, "updated": 0,
         "unchanged": 0, "rejected": 0, "batch": 1},
        {"file": "s.csv", "kind": "sessions", "rows": 2, "inserted": 1, "updated": 0, "unchanged": 0,
         "rejected": 1, "batch": 2},
    ]}


def test_cli_refusal_is_one_line_with_nonzero_exit_and_no_traceback(tmp_path, enrollments):
    missing = write(tmp_path / "broken.csv", "session_id,episode_id,session_date", "S1,E1,2024-01-01")
    done = run_cli("--db", str(tmp_path / "cli.duckdb"), str(enrollments), str(missing))
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: {missing}: required columns missing for sessions: session_type, scheduled_minutes, "
        "attended_minutes, status"]
    assert "Traceback" not in done.stdout + done.stderr


def test_cli_pseudonymise_needs_its_key(tmp_path, enrollments):
    env = {k: v for k, v in os.environ.items() if k != "IOP_PSEUDONYM_KEY"}
    done = subprocess.run([sys.executable, "-m", "analytics", "ingest", "--db", str(tmp_path / "x.duckdb"),
                           "--pseudonymise", str(enrollments)], cwd=REPO_ROOT, capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 2
    assert "IOP_PSEUDONYM_KEY" in done.stderr and "Traceback" not in done.stderr
    ok = run_cli("--db", str(tmp_path / "x.duckdb"), "--pseudonymise", "--format", "json", str(enrollments),
                 env={"IOP_PSEUDONYM_KEY": "k"})
    assert ok.returncode == 0 and json.loads(ok.stdout)["files"][0]["inserted"] == 2
