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
  table holds one row per id.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import duckdb

from analytics.store.base import Store, StoreError, plain_identifier, same_values_sql
from analytics.store.schema import KINDS, READ_VIEWS_DDL, STORE_DDL, declared_columns, table_ddl

LOCK_TIMEOUT_SECONDS = float(os.environ.get("IOP_LOCK_TIMEOUT", "120"))
_DECLARED = declared_columns(STORE_DDL)


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
        option = " (READ_ONLY)" if mode == "ro" else ""
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                self._con.execute("ATTACH " + _sql_string(self.target) + " AS store" + option)
                break
            except duckdb.IOException as exc:
                # Another process holds the file lock (a dashboard mid-rerun or
                # another import). Those holds are short; wait them out.
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise StoreError(
                        f"The store {self.target} is busy in another process; try again."
                    ) from exc
                time.sleep(0.05)

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
                    source: str = "ingest_valid") -> tuple[int, int]:
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
        if updated:
            cur.execute(f"DELETE FROM {table} WHERE {id_col} IN "
                        f"(SELECT {id_col} FROM batch_changes WHERE replaces)")
        written = 0
        if changes:
            written = cur.execute(insert + " WHERE v.idx IN (SELECT idx FROM batch_changes)",
                                  {"batch_id": batch_id}).fetchone()[0]
        cur.execute("DROP TABLE batch_changes")
        return written - updated, updated

    def remove_rows(self, cur: duckdb.DuckDBPyConnection, kind: str, ids: str, batch_id: int) -> int:
        # one row per id in this table, so the rows deleted are the ids removed
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        id_col = KINDS[kind].id_column
        return cur.execute(f"DELETE FROM store.{kind} WHERE {id_col} IN "
                           f"(SELECT record_id FROM {plain_identifier(ids)})").fetchone()[0]
