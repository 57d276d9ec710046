"""Opening the store: one DuckDB connection per process, the store attached only while in use.

Why this shape:
- DuckDB lets one process write a database file at a time, and even a
  read-only attachment takes a lock that blocks a writer. The dashboard must
  not stop a CLI import, so the file is attached only while a read is under
  way and detached when the last reader leaves. Writers in another process
  retry until the readers of a rerun are done.
- The process connection is in-memory. The store is ATTACHed as `store`, and
  views in the in-memory catalog (`main.sessions`, ...) point into it, so the
  analytics SQL names tables plainly and runs unchanged on a file or on DuckLake.
- Each reader gets its own cursor, so simultaneous sessions do not queue
  behind one connection; filter values are set as per-cursor variables.
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from analytics.config import REPO_ROOT
from analytics.store import macros
from analytics.store.extensions import load_extensions
from analytics.store.schema import LAKE_PINNED_VIEWS_DDL, LAKE_READ_VIEWS_DDL, READ_VIEWS_DDL, STORE_DDL

SAMPLE_STORE_PATH = REPO_ROOT / "sample_data" / "sample.duckdb"
LOCK_TIMEOUT_SECONDS = float(os.environ.get("IOP_LOCK_TIMEOUT", "120"))


class StoreError(RuntimeError):
    """A store problem with a message fit to show a user (no data values in it)."""


def default_target() -> str:
    """The store named by IOP_DB, else the bundled sample store."""
    return os.environ.get("IOP_DB") or str(SAMPLE_STORE_PATH)


def is_lake_target(target: str) -> bool:
    return target.startswith("ducklake:")


def _sql_string(value: str) -> str:
    # ATTACH takes no bound parameters, so the path is quoted here. It comes from
    # configuration (IOP_DB / --db), never from a dashboard user.
    return "'" + value.replace("'", "''") + "'"


class Store:
    """A store target and this process's one connection to it.

    >>> store = Store("/tmp/iop.duckdb")
    >>> with store.write() as cur: ...          # one transaction, store created if new
    >>> with store.read() as cur: cur.execute("SELECT count(*) FROM sessions").fetchall()
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.is_lake = is_lake_target(target)
        self._con = duckdb.connect(":memory:")
        # DuckDB draws a progress bar on stdout for slow statements; it would corrupt
        # CLI output (--format json). Cursors inherit the setting.
        self._con.execute("SET enable_progress_bar = false")
        # `encodings` (about 330 MB of ICU tables in memory) is loaded by the importer
        # only for a profile that needs it (analytics.ingest.importer).
        extensions = ("excel",) + (("postgres", "ducklake") if self.is_lake else ())
        load_extensions(self._con, extensions)
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._attached: str | None = None  # "ro" or "rw"

    # -- attachment -----------------------------------------------------
    def _attach(self, mode: str) -> None:
        if self._attached == mode:
            return
        self._detach()
        if self.is_lake:
            from analytics.store import lake

            try:
                lake.attach(self._con, self.target, read_only=(mode == "ro"))
            except lake.LakeError as exc:
                raise StoreError(str(exc)) from None
        else:
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
        if mode == "rw" and not self.is_lake:  # lake.attach creates a new lake's tables itself
            for ddl in STORE_DDL:
                self._con.execute(ddl)
        # Views and macros bind when created, so they follow each attach. Only
        # the first reader or a writer attaches, so no query is running now.
        # On DuckLake, sessions and enrollments are latest-wins views over appended batches.
        if self.is_lake:
            views = LAKE_PINNED_VIEWS_DDL if mode == "ro" else LAKE_READ_VIEWS_DDL
        else:
            views = READ_VIEWS_DDL
        for ddl in views:
            self._con.execute(ddl)
        macros.define(self._con)
        self._attached = mode

    def _detach(self) -> None:
        if self._attached is not None:
            self._con.execute("DETACH store")
            self._attached = None

    # -- public ---------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own over the store, attached read-only for as long as needed."""
        with self._cond:
            while self._writing:
                self._cond.wait()
            if self._attached is None:
                self._attach("ro")
            self._readers += 1
        cur = self._con.cursor()
        try:
            if self.is_lake:
                from analytics.store import lake

                lake.begin_read(self._con, cur)  # one lake snapshot for the whole read
            yield cur
        finally:
            if self.is_lake:
                lake.end_read(cur)
            cur.close()
            with self._cond:
                self._readers -= 1
                # A DuckLake catalog has no file lock to release, so it stays attached.
                if self._readers == 0 and not self.is_lake:
                    self._detach()
                self._cond.notify_all()

    @contextmanager
    def write(self, prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None
              ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction; committed on success, rolled back on any error.

        Writers in different processes queue on a lock file beside the store, so
        two imports never race for DuckDB's own lock.

        prepare, if given, runs first on the same cursor, before the store is
        locked and outside the transaction. It is for work that only makes temp
        tables (an import's pass 1 over its files): it then holds no lock, and
        DuckDB scans those tables on all threads later, which it does not do for
        tables made inside an open transaction. A failure in it ends the write
        with nothing begun.
        """
        cur = self._con.cursor()
        try:
            if prepare is not None:
                prepare(cur)
            yield from self._transaction(cur)
        finally:
            cur.close()  # its temp tables go with it

    def _transaction(self, cur: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        lock_file = None
        if not self.is_lake:
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)
            lock_file = open(self.target + ".lock", "a+")
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            with self._cond:
                while self._writing or self._readers:
                    self._cond.wait()
                self._writing = True
            try:
                self._attach("rw")
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield cur
                    cur.execute("COMMIT")
                except BaseException:
                    try:
                        cur.execute("ROLLBACK")
                    except duckdb.Error:
                        pass  # a failed COMMIT already ended it; keep the original error
                    raise
                if self.is_lake:
                    from analytics.store import lake

                    lake.settle(self._con)  # see lake.settle: concurrent writers of one id
            finally:
                with self._cond:
                    # Readers reattach read-only, so a file's lock is released now.
                    self._detach()
                    self._writing = False
                    self._cond.notify_all()
        finally:
            if lock_file is not None:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
                lock_file.close()

    def data_version(self) -> str:
        """A token that changes whenever the store's data changes; cache keys use it.

        For a file it is read from the file system, so it takes no lock.
        """
        if self.is_lake:
            with self.read() as cur:
                from analytics.store import lake

                return lake.snapshot_token(cur)
        parts = []
        for suffix in ("", ".wal"):
            try:
                st = os.stat(self.target + suffix)
                parts.append(f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}")
            except FileNotFoundError:
                parts.append("-")
        return "|".join(parts)

    def close(self) -> None:
        with self._cond:
            self._detach()
            self._con.close()


_STORES: dict[str, Store] = {}
_STORES_LOCK = threading.Lock()


def open_store(target: str | None = None) -> Store:
    """This process's Store for a target (IOP_DB or the sample store by default)."""
    target = target or default_target()
    if not is_lake_target(target):
        target = str(Path(target).resolve())
    with _STORES_LOCK:
        if target not in _STORES:
            _STORES[target] = Store(target)
        return _STORES[target]


def get_meta(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """A value from the store's meta table (e.g. 'contents': 'sample' or 'imported')."""
    row = cur.execute("SELECT value FROM main.meta WHERE key = $key", {"key": key}).fetchone()
    return row[0] if row else None


def set_meta(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Set a meta value with a write cursor."""
    if get_meta(cur, key) == value:
        return  # unchanged: no delete, so concurrent DuckLake imports do not conflict here
    cur.execute("DELETE FROM store.meta WHERE key = $key", {"key": key})
    cur.execute("INSERT INTO store.meta VALUES ($key, $value)", {"key": key, "value": value})
