"""Faults made for real on the embedded store: a full disk, a file no one may write, a read-only
mount, bytes overwritten in the middle and a file cut short, another process holding the store.

Each test asserts the message's cause (one line, no traceback), that the figures are unchanged,
and that the next import after recovery loads everything. Mounts and chattr need root: CI runs
as root, and elsewhere these tests skip (tests.support.unavailable fails them under CI=true).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from analytics.ingest.importer import import_files
from analytics.store import (
    CatalogUnreachable, Store, StoreDamaged, StoreLocked, StoreNoSpace, StoreNotWritable,
)
from analytics.store import room
from analytics.store.journal import read_entries

from tests.fault_support import csv_rows, figures, generated_exports
from tests.support import REPO_ROOT, app_test, immutable, read_only_view, run_analytics, tmpfs

BLOCK = 262144


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    """Generated enrollments.csv (2,000 episodes, 250 kB) and sessions.csv (66,000 sessions, 4.5 MB)."""
    return generated_exports(tmp_path_factory.mktemp("exports"), 2000, 3)


def blocks(path: str | Path) -> tuple[int, int]:
    """(total blocks, used blocks) of a store file, as PRAGMA database_size says."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        _, _, _, total, used, *_ = con.execute("PRAGMA database_size").fetchone()
        return int(total), int(used)
    finally:
        con.close()


def last_log(path: str | Path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT file, status, message FROM import_log ORDER BY batch_id DESC LIMIT 1").fetchone()
    finally:
        con.close()


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def fill(folder: Path, leave: int) -> Path:
    """A file taking all but `leave` bytes of the free space where folder is."""
    filler = folder / "filler"
    free = room.free_bytes(str(folder))
    with open(filler, "wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        left = max(free - leave, 0)
        while left > 0:
            handle.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
    return filler


@contextmanager
def sessions_to_import_on_a_small_disk(exports: Path) -> Iterator[tuple[Path, Path, Path]]:
    """(disk, store, sessions export): a 16 MB tmpfs whose store holds the generated enrollments."""
    with tmpfs("16m") as disk:
        db = disk / "iop.duckdb"
        assert run_analytics("ingest", "--db", str(db), str(exports / "enrollments.csv")).returncode == 0
        yield disk, db, exports / "sessions.csv"


def needed(sessions: Path) -> int:
    """The free space the store's room check asks for importing this sessions export."""
    rows = csv_rows(sessions)
    return room.needed_bytes(rows, sessions.stat().st_size / rows)


@contextmanager
def another_process(code: str, says: str) -> Iterator[None]:
    """A Python process running code, from the moment it prints `says` until the block ends (it is killed then)."""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        assert process.stdout.readline().strip() == says
        yield
    finally:
        process.kill()
        process.wait()


# -- a full disk --------------------------------------------------------------------
@pytest.mark.slow
def test_a_full_disk_is_named_the_store_is_left_as_it_was_and_the_next_import_loads(exports):
    with sessions_to_import_on_a_small_disk(exports) as (disk, db, sessions):
        before, size, rows, estimate = figures(db), db.stat().st_size, csv_rows(sessions), needed(sessions)
        # Room for what the estimate asks, not for what 66,000 new sessions really take (about
        # 8 MB while the commit checkpoints): the disk fills up during the write itself.
        filler = fill(disk, estimate + estimate // 5)
        done = run_analytics("ingest", "--db", str(db), str(sessions))
        assert done.returncode == 2
        assert one_error_line(done) == (
            f"error: nothing was imported. No space left on the disk that holds the store {db}: nothing was "
            "changed. Free some space (or move the store to a larger disk) and try again.")
        assert figures(db) == before
        # the failed write's blocks are given back: the file is its old size but for the log row
        assert db.stat().st_size <= size + 4 * BLOCK
        assert last_log(db)[:2] == ("sessions.csv", "failed")
        assert "No space left" in last_log(db)[2]
        journal = read_entries(str(db) + ".imports.jsonl")
        assert (journal[-1]["file"], journal[-1]["status"]) == ("sessions.csv", "failed")
        assert journal[-1]["sha256"]
        filler.unlink()  # room again
        again = run_analytics("ingest", "--db", str(db), "--format", "json", str(sessions))
        assert again.returncode == 0, again.stderr
        assert '"inserted": %d' % rows in again.stdout


@pytest.mark.slow
def test_an_import_clearly_too_big_for_the_disk_is_refused_before_it_writes(exports):
    with sessions_to_import_on_a_small_disk(exports) as (disk, db, sessions):
        before, size, rows = figures(db), db.stat().st_size, csv_rows(sessions)
        filler = fill(disk, needed(sessions) // 2)
        done = run_analytics("ingest", "--db", str(db), str(sessions))
        assert done.returncode == 2
        line = one_error_line(done)
        assert line.startswith(f"error: nothing was imported. Not enough free space on the disk that holds the "
                               f"store {db}: this import needs about ")
        assert "Nothing was written" in line
        assert figures(db) == before
        assert db.stat().st_size <= size + 4 * BLOCK
        assert last_log(db)[1] == "failed"
        filler.unlink()
        again = run_analytics("ingest", "--db", str(db), "--format", "json", str(sessions))
        assert again.returncode == 0 and '"inserted": %d' % rows in again.stdout


@pytest.mark.slow
def test_a_failed_write_leaves_the_used_blocks_and_the_file_as_they_were(exports):
    with tmpfs("16m") as disk:
        db = disk / "iop.duckdb"
        store = Store(str(db))
        try:
            import_files(store, [exports / "enrollments.csv"])
            total, used = blocks(db)
            size = db.stat().st_size
            with pytest.raises(StoreNoSpace):
                with store.write() as cur:
                    # far more than the disk holds, written straight into the store
                    cur.execute("INSERT INTO store.sessions SELECT 'S' || i, 'E1', DATE '2024-01-01', 'group', "
                                "md5(i::VARCHAR) || md5((i + 1)::VARCHAR), 180, 180, 'attended', 0, i "
                                "FROM range(3000000) AS t(i)")
            assert blocks(db) == (total, used)
            assert db.stat().st_size == size
            # the room came back with the cut: the next import loads everything, and finishes
            result = import_files(store, [exports / "sessions.csv"])
            assert result.warning is None and result.files[0].inserted == csv_rows(exports / "sessions.csv")
        finally:
            store.close()


@pytest.mark.slow
def test_an_import_saved_but_not_yet_written_into_the_store_says_so_and_loses_nothing(exports):
    """The commit is in the write-ahead log, but the checkpoint into the store file finds the disk full:
    the import happened, so it is reported as loaded, with a warning saying what is left to do."""
    with tmpfs("11m") as disk:
        db = disk / "iop.duckdb"
        sessions = exports / "sessions.csv"
        store = Store(str(db))
        try:
            import_files(store, [exports / "enrollments.csv"])
            result = import_files(store, [sessions])
            assert result.files[0].inserted == csv_rows(sessions)
            assert result.warning == (
                f"The change was saved: it is safe in the store's write-ahead log ({db}.wal), but could not be "
                "written into the store file yet (the disk that holds the store has no room left); the next write "
                "does it once that is fixed.")
            with store.read() as cur:
                assert cur.execute("SELECT count(*) FROM sessions").fetchone()[0] == csv_rows(sessions)
                assert cur.execute("SELECT status FROM import_log ORDER BY batch_id DESC LIMIT 1").fetchone() == (
                    "loaded",)
            journal = read_entries(str(db) + ".imports.jsonl")
            assert (journal[-1]["status"], journal[-1]["message"]) == ("loaded", result.warning)
            subprocess.run(["mount", "-o", "remount,size=32m", str(disk)], check=True)
            with store.write():
                pass  # the next write checkpoints
            assert store.unfinished_write() is None
            assert not os.path.exists(f"{db}.wal")
            with store.read() as cur:
                assert cur.execute("SELECT count(*) FROM sessions").fetchone()[0] == csv_rows(sessions)
        finally:
            store.close()


# -- a store no one may write ---------------------------------------------------------
@pytest.mark.slow
def test_an_immutable_store_is_named_as_not_writable_and_still_read(exports, tmp_path):
    db = tmp_path / "iop.duckdb"
    assert run_analytics("ingest", "--db", str(db), str(exports / "enrollments.csv")).returncode == 0
    before = figures(db)
    sessions = exports / "sessions.csv"
    with immutable(db):
        done = run_analytics("ingest", "--db", str(db), str(sessions))
        assert done.returncode == 2
        line = one_error_line(done)
        assert line == (f"error: nothing was imported. The store {db} cannot be written: the system does not permit "
                        f"writing {db} (its permissions, or an immutable flag). Give the accounts that write to it "
                        "(imports, and the dashboard's audit log) write access to the store and its folder.")
        assert "try again" not in line  # only a lock is worth retrying
        assert figures(db) == before  # the dashboard and reports keep reading it
        journal = read_entries(str(db) + ".imports.jsonl")
        assert (journal[-1]["status"], journal[-1]["file"]) == ("failed", "sessions.csv")
    again = run_analytics("ingest", "--db", str(db), "--format", "json", str(sessions))
    assert again.returncode == 0 and '"inserted": %d' % csv_rows(sessions) in again.stdout


def upload_on_the_data_page(path: Path):
    """The Data page in local mode (a director) after importing path through its upload form."""
    at = app_test("pages/data.py").run()
    assert not at.exception and not at.error
    at.get("file_uploader")[0].set_value((path.name, path.read_bytes(), "text/csv"))
    at.button[[b.label for b in at.button].index("Import")].click().run()
    assert not at.exception
    return at


@pytest.mark.slow
def test_the_data_page_names_a_disk_too_full_for_an_upload_and_imports_once_there_is_room(exports, monkeypatch):
    with tmpfs("16m") as disk:
        db = disk / "iop.duckdb"
        assert run_analytics("ingest", "--db", str(db), str(exports / "enrollments.csv")).returncode == 0
        before = figures(db)
        monkeypatch.setenv("IOP_DB", str(db))
        monkeypatch.setenv("IOP_ALLOW_ANONYMOUS", "1")  # local mode: the Data page imports as a director
        sessions = exports / "sessions.csv"
        rows = csv_rows(sessions)
        filler = fill(disk, room.needed_bytes(rows, sessions.stat().st_size / rows) // 2)
        at = upload_on_the_data_page(sessions)
        said = [str(e.value) for e in at.error]
        assert len(said) == 1 and said[0].startswith(
            f"Nothing was imported. Not enough free space on the disk that holds the store {db}: this import "
            "needs about ")
        assert "Nothing was written" in said[0] and "Traceback" not in said[0]
        assert figures(db) == before
        assert last_log(db)[:2] == ("sessions.csv", "failed")
        filler.unlink()
        at = upload_on_the_data_page(sessions)
        assert not at.error and "Import finished" in " ".join(str(s.value) for s in at.success)
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == rows
        finally:
            con.close()


@pytest.mark.slow
def test_the_dashboard_names_a_store_it_cannot_write_its_audit_log_to_and_shows_no_data(exports, tmp_path,
                                                                                         monkeypatch):
    """Every visit is audited before data is shown: a store no one may write shows no data, and
    says why in the store's own words (not "try again")."""
    db = tmp_path / "iop.duckdb"
    assert run_analytics("ingest", "--db", str(db), str(exports / "enrollments.csv"),
                         str(exports / "sessions.csv")).returncode == 0
    monkeypatch.setenv("IOP_DB", str(db))
    monkeypatch.setenv("IOP_ALLOW_ANONYMOUS", "1")
    with immutable(db):
        at = app_test("pages/attendance.py").run()
        assert not at.exception and not at.metric
        assert [str(e.value) for e in at.error] == [
            f"No data is shown, because this visit cannot be recorded in the audit log. The store {db} cannot be "
            f"written: the system does not permit writing {db} (its permissions, or an immutable flag). Give the "
            "accounts that write to it (imports, and the dashboard's audit log) write access to the store and its "
            "folder."]
    at = app_test("pages/attendance.py").run()
    assert not at.exception and not at.error and at.metric


@pytest.mark.slow
def test_a_store_on_a_read_only_mount_is_named_as_such_and_still_read(exports, tmp_path):
    folder = tmp_path / "stores"
    folder.mkdir()
    db = folder / "iop.duckdb"
    assert run_analytics("ingest", "--db", str(db), str(exports / "enrollments.csv")).returncode == 0
    before = figures(db)
    sessions = exports / "sessions.csv"
    with read_only_view(folder) as view:
        ro = view / "iop.duckdb"
        done = run_analytics("ingest", "--db", str(ro), str(sessions))
        assert done.returncode == 2
        line = one_error_line(done)
        assert line.startswith(f"error: nothing was imported. The store {ro} cannot be written: ")
        assert "is on a read-only file system" in line and "try again" not in line
        assert figures(ro) == before
        metrics = run_analytics("metrics", "--db", str(ro))
        assert metrics.returncode == 0, metrics.stderr
    again = run_analytics("ingest", "--db", str(db), "--format", "json", str(sessions))
    assert again.returncode == 0 and '"inserted": %d' % csv_rows(sessions) in again.stdout


# -- damaged stores -------------------------------------------------------------------
def sessions_block_offset(path: Path, table: str = "sessions") -> int:
    """The byte offset of the middle of a block holding the table's data (text columns)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        block = con.execute("SELECT max(block_id) FROM pragma_storage_info($table) "
                            "WHERE segment_type = 'VARCHAR' AND block_id >= 0", {"table": table}).fetchone()[0]
    finally:
        con.close()
    return 3 * 4096 + int(block) * BLOCK + BLOCK // 2


@pytest.fixture
def imported(exports, tmp_path):
    """A store holding both exports, a backup of it made by `backup`, and its figures."""
    db = tmp_path / "iop.duckdb"
    done = run_analytics("ingest", "--db", str(db), str(exports / "enrollments.csv"), str(exports / "sessions.csv"))
    assert done.returncode == 0, done.stderr
    backup = tmp_path / "copy.duckdb"
    saved = run_analytics("backup", "--db", str(db), "--out", str(backup))
    assert saved.returncode == 0, saved.stderr
    return db, backup, figures(db)


def small_sessions(tmp_path: Path) -> Path:
    path = tmp_path / "more.csv"
    path.write_text("session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,"
                    "attended_minutes,status\nX1,E000001,2024-11-05,group,A,180,180,attended\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["overwritten", "cut_short"])
def test_a_damaged_store_is_named_by_every_command_and_restored_from_its_backup(imported, tmp_path, damage):
    db, backup, before = imported
    # a block every command reads: the session counts per episode (the metrics read them, not
    # every session)
    offset = sessions_block_offset(db, "episode_session_counts")
    if damage == "overwritten":
        with open(db, "r+b") as handle:
            handle.seek(offset)
            handle.write(os.urandom(4096))
        reason = "a block's checksum does not match"
    else:
        os.truncate(db, min(offset - BLOCK // 2, db.stat().st_size - BLOCK - 1000))
        reason = "the file is cut short"
    for command in (["metrics"], ["report", "--out", str(tmp_path / "packet.html")]):
        done = run_analytics(*command, "--db", str(db))
        assert done.returncode == 2
        line = one_error_line(done)
        assert line.startswith(f"error: The store {db} is damaged ({reason}")
        assert "python -m analytics check" in line and "Recovery" in line
    checked = run_analytics("check", "--db", str(db))
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert checked.stdout.startswith(f"damaged: {db}")
    if damage == "overwritten":
        assert "table episode_session_counts cannot be read" in checked.stdout
    # an import does not add to it: the whole store is read before anything is written
    more = small_sessions(tmp_path)
    refused = run_analytics("ingest", "--db", str(db), str(more))
    assert refused.returncode == 2 and f"The store {db} is damaged" in one_error_line(refused)
    journal = read_entries(str(db) + ".imports.jsonl")
    assert (journal[-1]["file"], journal[-1]["status"]) == ("more.csv", "failed")
    assert [e["file"] for e in journal if e["status"] == "loaded"] == ["enrollments.csv", "sessions.csv"]
    # recovery: restore the copy, check it, import what came after
    shutil.copyfile(backup, db)
    assert run_analytics("check", "--db", str(db)).returncode == 0
    assert figures(db) == before
    again = run_analytics("ingest", "--db", str(db), "--format", "json", str(more))
    assert again.returncode == 0 and '"inserted": 1' in again.stdout


@pytest.mark.slow
def test_the_dashboard_says_a_damaged_store_is_damaged_in_one_sentence(imported, monkeypatch):
    db, backup, _ = imported
    with open(db, "r+b") as handle:
        handle.seek(sessions_block_offset(db))
        handle.write(os.urandom(4096))
    monkeypatch.setenv("IOP_DB", str(db))
    monkeypatch.setenv("IOP_ALLOW_ANONYMOUS", "1")  # local mode: no login to set up
    at = app_test("pages/attendance.py").run()
    assert not at.exception
    said = [str(e.value) for e in [*at.error, *at.warning] if not str(e.value).startswith("Local mode")]
    assert said and all(f"The store {db} is damaged (a block's checksum does not match" in s for s in said)
    assert all(s.count(". ") <= 1 for s in said)  # one sentence (a section's name may lead it)
    assert not [i for i in at.info if "sample data" in str(i.value)]  # not mistaken for no store at all
    shutil.copyfile(backup, db)
    at = app_test("pages/attendance.py").run()
    assert not at.exception and not at.error
    assert not [w for w in at.warning if "damaged" in str(w.value)]


def test_a_file_that_is_not_a_store_is_named_as_such_and_never_written(tmp_path):
    db = tmp_path / "iop.duckdb"
    db.write_text("episode_id,site\nE1,Northgate\n")  # an export saved under the store's name
    before = db.read_bytes()
    reason = f"error: The store {db} is damaged (it is not a DuckDB store): run python -m analytics check"
    metrics = run_analytics("metrics", "--db", str(db))
    assert metrics.returncode == 2 and one_error_line(metrics).startswith(reason)
    checked = run_analytics("check", "--db", str(db))
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert checked.stdout.startswith(f"damaged: {db}") and "it is not a DuckDB store" in checked.stdout
    more = small_sessions(tmp_path)
    refused = run_analytics("ingest", "--db", str(db), str(more))
    assert refused.returncode == 2
    assert one_error_line(refused).startswith(f"error: nothing was imported. The store {db} is damaged (it is not "
                                              "a DuckDB store)")
    assert "try again" not in refused.stderr
    assert db.read_bytes() == before
    journal = read_entries(str(db) + ".imports.jsonl")
    assert [(e["file"], e["status"]) for e in journal] == [("more.csv", "failed")] and journal[0]["sha256"]


def test_backup_copies_the_store_while_a_reader_holds_it(imported, tmp_path):
    db, _, before = imported
    reader = ("import duckdb, sys, time\n"
              f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
              "con.execute('SELECT count(*) FROM sessions').fetchall()\n"
              "print('reading', flush=True)\n"
              "time.sleep(30)\n")
    with another_process(reader, says="reading"):
        out = tmp_path / "while-reading.duckdb"
        done = run_analytics("backup", "--db", str(db), "--out", str(out))
        assert done.returncode == 0, done.stderr
    assert figures(out) == before
    assert (tmp_path / "while-reading.duckdb.imports.jsonl").exists()
    assert not (tmp_path / "while-reading.duckdb.partial").exists()


# -- another process holds the store ----------------------------------------------------
def test_a_store_held_by_another_writer_says_try_again_and_nothing_else_does(imported, tmp_path):
    db, _, before = imported
    holder = ("import duckdb, time\n"
              f"con = duckdb.connect({str(db)!r})\n"
              "print('holding', flush=True)\n"
              "time.sleep(60)\n")
    with another_process(holder, says="holding"):
        more = small_sessions(tmp_path)
        done = run_analytics("ingest", "--db", str(db), str(more), env={"IOP_LOCK_TIMEOUT": "1"})
        assert done.returncode == 2
        assert one_error_line(done) == (
            f"error: nothing was imported. The store {db} is in use by another process (an import or a backup); "
            "try again when it has finished.")
    assert figures(db) == before
    again = run_analytics("ingest", "--db", str(db), "--format", "json", str(more))
    assert again.returncode == 0 and '"inserted": 1' in again.stdout


def test_store_failures_are_classified_once_with_their_cause(tmp_path):
    """The classes and sentences the commands and pages print (failures.classify)."""
    from analytics.store.failures import Where, classify

    where = Where(f"the store {tmp_path}/x.duckdb")
    assert isinstance(classify(OSError(28, "No space left on device"), where), StoreNoSpace)
    assert isinstance(classify(duckdb.IOException('Cannot open file "/x.wal": Read-only file system'), where),
                      StoreNotWritable)
    assert isinstance(classify(duckdb.IOException('Cannot open file "/x": Operation not permitted'), where),
                      StoreNotWritable)
    assert isinstance(classify(duckdb.IOException('Could not set lock on file "/x": Conflicting lock'), where),
                      StoreLocked)
    assert isinstance(classify(duckdb.IOException("Corrupt database file: computed checksum 1 does not match "
                                                  "stored checksum 2 in block at location 99"), where), StoreDamaged)
    assert classify(duckdb.BinderException("Referenced column x not found"), where) is None
    # DuckLake: a catalog that does not answer, and one that answers with a refusal (not "unreachable")
    lake = Where("the shared store", address="127.0.0.1:5432")
    refused = ('connection to server at "127.0.0.1", port 5432 failed: Connection refused\n\tIs the server '
               'running on that host and accepting TCP/IP connections?')
    assert isinstance(classify(duckdb.IOException(f"Unable to connect to Postgres at ...: {refused}"), lake),
                      CatalogUnreachable)
    for answered in ('password authentication failed for user "iop"', 'database "lake_9" does not exist'):
        message = f'Unable to connect to Postgres at ...: connection to server at "127.0.0.1", port 5432 ' \
                  f'failed: FATAL:  {answered}'
        assert classify(duckdb.IOException(message), lake) is None, answered
