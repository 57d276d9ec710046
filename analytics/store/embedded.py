"""The embedded store: one DuckDB file, attached only while in use.

Why this shape:
- DuckDB lets one process write a database file at a time, and even a
  read-only attachment takes a lock that blocks a writer. The dashboard must
  not stop a CLI import, so the file is attached only while a read is under
  way and detached when the last reader leaves. Writers in another process
  retry until the readers of a rerun are done.
- Writers in different processes queue on a lock file beside the store, so
  two imports never race for DuckDB's own lock.
- A batch is upserted: a changed row is deleted and inserted anew, so the
  table holds one row per id. The version it replaces (or that a removal
  takes out) goes to the kind's history table first, with the batch that
  replaced it, so a batch can be listed and undone (history.py).
- A write that fails (a full disk) is rolled back, and the file is cut back to
  the size it had: DuckDB leaves the blocks it wrote for the failed transaction
  at the end of the file, free but still taking the disk's room.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import duckdb

from analytics.store import failures, room, summaries
from analytics.store.base import Store, StoreError, content_sql, plain_identifier, same_values_sql
from analytics.store.check import CheckReport, read_fully
from analytics.store.failures import StoreLocked, Where
from analytics.store.schema import (
    KINDS, READ_VIEWS_DDL, STORE_DDL, declared_columns, history_table, table_ddl,
)
from analytics.store.versions import store_tables

LOCK_TIMEOUT_SECONDS = float(os.environ.get("IOP_LOCK_TIMEOUT", "120"))
_DECLARED = declared_columns(STORE_DDL)
# A DuckDB file: its main header and two database headers, then the blocks.
_FILE_HEADERS_BYTES = 3 * 4096


def _sql_string(value: str) -> str:
    # ATTACH takes no bound parameters, so the path is quoted here. It comes from
    # configuration (IOP_DB / --db), never from a dashboard user.
    return "'" + value.replace("'", "''") + "'"


class EmbeddedStore(Store):
    """A store in one DuckDB file (any target that is not 'ducklake:...')."""

    @classmethod
    def handles(cls, target: str) -> bool:
        return not target.startswith("ducklake:")

    @classmethod
    def canonical_target(cls, target: str) -> str:
        return str(Path(target).resolve())

    def _attach_catalog(self, mode: str) -> None:
        if mode == "ro" and not Path(self.target).exists():
            raise StoreError(
                f"No store at {self.target}. Import data first: "
                "python -m analytics ingest --db PATH FILE..."
            )
        attach_file(self._con, self.target, "store", read_only=(mode == "ro"), where=self.where())

    def _views(self, mode: str) -> Sequence[str]:
        return READ_VIEWS_DDL

    def _create_table(self, cur: duckdb.DuckDBPyConnection, table: str) -> None:
        cur.execute(table_ddl(table, pin_compression=True))

    def _declared_tables(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return _DECLARED

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        with open(self.target + ".lock", "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def where(self) -> Where:
        return Where(f"the store {self.target}")

    def journal_path(self) -> str | None:
        return self.target + ".imports.jsonl"

    def ensure_room(self, cur: duckdb.DuckDBPyConnection, needed: int) -> None:
        # Free blocks inside the file are reused before the file grows.
        block_size, free_blocks = cur.execute(
            "SELECT block_size, free_blocks FROM pragma_database_size() WHERE database_name = 'store'").fetchone()
        on_disk = room.free_bytes(str(Path(self.target).parent))
        if on_disk is None:
            return
        free = on_disk + int(block_size) * int(free_blocks)
        if free < needed:
            raise failures.no_space(self.where(), needed, free)

    def verify(self, cur: duckdb.DuckDBPyConnection) -> None:
        # Table names come from schema.py, never from the file.
        for table in sorted(set(_DECLARED) & store_tables(cur)):
            try:
                read_fully(cur, f"store.main.{table}")
            except duckdb.Error as exc:
                failure = self.failure(exc)
                if failure is None:
                    raise
                raise type(failure)(f"{failure} (Found reading table {table}.)") from exc

    def check(self) -> CheckReport:
        where = self.where()
        if not Path(self.target).exists():
            return CheckReport(self.target, False, problems=(f"There is no store at {self.target}.",))
        con = duckdb.connect(":memory:")
        try:
            try:
                attach_file(con, self.target, "store", read_only=True, where=where)
            except (StoreError, duckdb.Error) as exc:
                return CheckReport(self.target, False, problems=(str(exc),))
            tables: dict[str, int | None] = {}
            problems = []
            for table in _plain_tables(con):
                try:
                    tables[table] = read_fully(con, f"store.main.{table}")
                except duckdb.Error as exc:
                    tables[table] = None
                    failure = failures.classify(exc, where)
                    problems.append(f"table {table} cannot be read: "
                                    + (str(failure) if failure else f"{type(exc).__name__}"))
            block_size, total, free = con.execute(
                "SELECT block_size, total_blocks, free_blocks FROM pragma_database_size() "
                "WHERE database_name = 'store'").fetchone()
        finally:
            con.close()
        journal = self.journal_path()
        details = {"blocks": int(total), "free_blocks": int(free), "block_size": int(block_size),
                   "journal": journal if journal and os.path.exists(journal) else None}
        return CheckReport(self.target, not problems, tables, tuple(problems), details)

    def backup(self, out: str) -> dict:
        """A consistent copy of the store in the file out (and of its journal beside it).

        Made while the dashboard runs: the store is attached read-only, as the
        dashboard does, and imports wait for the copy on the writers' lock. The copy
        is written under a temporary name, checked, and only then named out, so a
        file called out is always a whole store.
        """
        target = Path(self.target)
        out_path = Path(out).resolve()
        if out_path == target:
            raise StoreError("the backup must be another file than the store itself")
        if not target.exists():
            raise StoreError(f"There is no store at {self.target}.")
        partial = out_path.with_name(out_path.name + ".partial")
        for leftover in (partial, Path(str(partial) + ".wal")):
            leftover.unlink(missing_ok=True)
        copy_where = Where(f"the backup {out_path}")
        try:
            with self._writer_lock():
                con = duckdb.connect(":memory:")
                try:
                    attach_file(con, self.target, "store", read_only=True, where=self.where())
                    try:
                        con.execute("ATTACH " + _sql_string(str(partial)) + " AS copy")
                        con.execute("COPY FROM DATABASE store TO copy")
                        con.execute("DETACH copy")  # a checkpoint: the copy is one whole file now
                    except (duckdb.Error, OSError) as exc:
                        raise (failures.classify(exc, copy_where) or exc) from exc
                finally:
                    con.close()
            report = EmbeddedStore(str(partial)).check()
            if not report.ok:
                raise StoreError("the copy did not read back whole: " + "; ".join(report.problems))
            os.replace(partial, out_path)
        except BaseException:
            failures.quietly(partial.unlink, True)
            raise
        journal = self.journal_path()
        if journal and os.path.exists(journal):
            shutil.copyfile(journal, str(out_path) + ".imports.jsonl")
        return {"store": self.target, "backup": str(out_path), "bytes": out_path.stat().st_size,
                "tables": report.tables}

    def _before_commit(self, cur: duckdb.DuckDBPyConnection) -> None:
        # in the write's own transaction, so the summaries commit or roll back with the rows
        summaries.refresh(cur)

    def _checkpoint(self) -> None:
        # Here, not in DETACH: a checkpoint that fails (a full disk) is then reported as an
        # unfinished write while the store is still attached, not as a failed commit.
        self._con.execute("CHECKPOINT store")

    def _unfinished(self, exc: BaseException) -> StoreError:
        super()._unfinished(exc)  # logged there
        return StoreError(
            f"The change was saved: it is safe in the store's write-ahead log ({self.target}.wal), but could not "
            f"be written into the store file yet ({failures.in_few_words(self.failure(exc), exc)}); "
            "the next write does it once that is fixed.")

    def _write_mark(self) -> object:
        return os.stat(self.target).st_size

    def _after_failed_write(self, mark: object):
        return lambda: _cut_back(self.target, int(mark))

    def data_version(self) -> str:
        """Read from the file system (the file and its WAL), so it takes no lock."""
        parts = []
        for suffix in ("", ".wal"):
            try:
                st = os.stat(self.target + suffix)
                parts.append(f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}")
            except FileNotFoundError:
                parts.append("-")
        return "|".join(parts)

    def exists(self) -> bool:
        return Path(self.target).exists()

    def spill_directory(self) -> str:
        return self.target + ".tmp"  # beside the store, on the disk that holds it

    def next_batch_id(self, cur: duckdb.DuckDBPyConnection) -> int:
        # One writer at a time (the lock file), so the next number is free.
        return cur.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM store.import_log").fetchone()[0]

    def apply_batch(self, cur: duckdb.DuckDBPyConnection, kind: str, batch_id: int,
                    source: str = "ingest_valid", bytes_per_row: float = 0.0) -> tuple[int, int]:
        # Identifiers below come only from schema.py's fixed lists, never from the file.
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        table = f"store.{kind}"
        id_col = KINDS[kind].id_column
        columns = KINDS[kind].stored_columns
        source = plain_identifier(source)
        same = same_values_sql(columns)
        insert = (f"INSERT INTO {table} ({', '.join(columns)}, batch_id, source_line) "
                  f"SELECT {', '.join('v.' + c for c in columns)}, $batch_id, v.line FROM {source} AS v")
        if not cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
            # an empty table (a first import): every valid row is new, and nothing to compare
            if bytes_per_row:
                rows = cur.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
                self.ensure_room(cur, room.needed_bytes(rows, bytes_per_row))
            return cur.execute(insert, {"batch_id": batch_id}).fetchone()[0], 0
        # One join with the store sorts the valid rows: new ids, and ids whose stored row
        # differs (it goes, the new one comes in); identical rows are left alone. A join
        # for the changed ids and then an anti-join for the new ones was most of the CPU
        # that re-importing an unchanged export cost.
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE batch_changes AS "
            f"SELECT v.idx, v.{id_col}, s.{id_col} IS NOT NULL AS replaces "
            f"FROM {source} AS v LEFT JOIN {table} AS s ON s.{id_col} = v.{id_col} "
            f"WHERE s.{id_col} IS NULL OR NOT ({same})"
        )
        changes, updated = cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE replaces) FROM batch_changes").fetchone()
        if bytes_per_row and changes:
            # each changed row is written, and the version it replaces kept in the history
            self.ensure_room(cur, room.needed_bytes(changes + updated, bytes_per_row))
        if updated:
            cur.execute(f"CREATE OR REPLACE TEMP VIEW batch_replaced AS "
                        f"SELECT {id_col} AS record_id FROM batch_changes WHERE replaces")
            self._keep_in_history(cur, kind, "batch_replaced", batch_id)
            cur.execute(f"DELETE FROM {table} WHERE {id_col} IN "
                        f"(SELECT {id_col} FROM batch_changes WHERE replaces)")
            cur.execute("DROP VIEW batch_replaced")
        written = 0
        if changes:
            written = cur.execute(insert + " WHERE v.idx IN (SELECT idx FROM batch_changes)",
                                  {"batch_id": batch_id}).fetchone()[0]
        cur.execute("DROP TABLE batch_changes")
        return written - updated, updated

    def _keep_in_history(self, cur: duckdb.DuckDBPyConnection, kind: str, ids: str, batch_id: int) -> int:
        """Copy the current rows whose id is in relation ids (column record_id) into the history."""
        listed = ", ".join((*KINDS[kind].stored_columns, "batch_id", "source_line"))
        return cur.execute(
            f"INSERT INTO store.{history_table(kind)} ({listed}, replaced_by) "
            f"SELECT {listed}, $batch_id FROM store.{kind} "
            f"WHERE {KINDS[kind].id_column} IN (SELECT record_id FROM {plain_identifier(ids)})",
            {"batch_id": batch_id}).fetchone()[0]

    def remove_rows(self, cur: duckdb.DuckDBPyConnection, kind: str, ids: str, batch_id: int) -> int:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        kept = self._keep_in_history(cur, kind, ids, batch_id)
        removed = cur.execute(
            f"DELETE FROM store.{kind} WHERE {KINDS[kind].id_column} IN "
            f"(SELECT record_id FROM {plain_identifier(ids)})").fetchone()[0]
        if kept != removed:
            raise RuntimeError("rows removed and rows kept in the history differ")
        return removed

    def versions_sql(self, kind: str) -> str:
        declared = KINDS[kind]
        content = content_sql(declared.stored_columns)
        return (f"SELECT {declared.id_column} AS record_id, batch_id, source_line, NULL::BIGINT AS replaced_by, "
                f"{content} AS content FROM store.main.{kind} "
                f"UNION ALL SELECT {declared.id_column}, batch_id, source_line, replaced_by, {content} "
                f"FROM store.main.{history_table(kind)}")

    def prune_history(self, cur: duckdb.DuckDBPyConnection, through_batch: int) -> int:
        return sum(cur.execute(f"DELETE FROM store.{history_table(kind)} WHERE replaced_by <= $b",
                               {"b": through_batch}).fetchone()[0] for kind in KINDS)


def _plain_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The attached store's tables whose names are plain identifiers (any other would be skipped)."""
    return sorted(t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall()
        if re.fullmatch(r"[a-z_][a-z0-9_]*", t))


def attach_file(con: duckdb.DuckDBPyConnection, path: str, name: str, read_only: bool, where: Where) -> None:
    """ATTACH the DuckDB file at path as name, waiting out another process's short hold on it.

    Another process holds the file lock (a dashboard mid-rerun, an import, a backup);
    those holds are short, so they are waited out, up to IOP_LOCK_TIMEOUT seconds.
    Anything else (no permission, a damaged file) will not go away by waiting and is
    raised at once, in plain words (failures.py).
    """
    option = " (READ_ONLY)" if read_only else ""
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            con.execute("ATTACH " + _sql_string(path) + " AS " + plain_identifier(name) + option)
            return
        except duckdb.Error as exc:
            failure = failures.classify(exc, where)
            if not isinstance(failure, StoreLocked) or time.monotonic() > deadline:
                raise (failure or exc) from exc
            time.sleep(0.05)


def _cut_back(path: str, size: int) -> None:
    """Cut the store file back to its size before a failed write (never below what its header uses).

    The rollback freed the blocks the failed transaction wrote, but they stay at the
    end of the file; after a full disk they fill it, and the next small import would
    fail too. Runs detached and under the writer's lock, so no writer uses the file.
    The blocks in use are read from the file's own header, through a fresh read-only
    attach: a checkpoint that did complete may have grown the store, and that is kept.
    Nothing is cut while a WAL holds a commit not yet checkpointed.
    """
    wal = path + ".wal"
    if os.path.exists(wal) and os.path.getsize(wal) > 0:
        return
    if os.path.getsize(path) <= size:
        return
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH " + _sql_string(path) + " AS failed_write (READ_ONLY)")
        block_size, total_blocks = con.execute(
            "SELECT block_size, total_blocks FROM pragma_database_size() "
            "WHERE database_name = 'failed_write'").fetchone()
    finally:
        con.close()
    os.truncate(path, max(size, _FILE_HEADERS_BYTES + int(block_size) * int(total_blocks)))
