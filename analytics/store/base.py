"""The store interface: one DuckDB connection per process, readers and writers, batches.

Store holds what every backend shares: the process's in-memory connection, the
bookkeeping that lets many readers in at once and a writer only alone, the
transaction of a write, and the views and macros that follow each attach. A
backend (embedded.EmbeddedStore, lake.LakeStore) says how its catalog is
attached, what a read pins, how writers of other processes are kept apart, and
how a validated batch is written.

Why this shape:
- The process connection is in-memory. The store is ATTACHed as `store`, and
  views in the in-memory catalog (`main.sessions`, ...) point into it, so the
  analytics SQL names tables plainly and runs unchanged on either backend.
- Each reader gets its own cursor, so simultaneous sessions do not queue
  behind one connection; filter values are set as per-cursor variables.
"""
from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager, nullcontext
from typing import Callable, ContextManager, Iterator, Sequence, TypeVar

import duckdb

from analytics.store import macros
from analytics.store.extensions import load_extensions

T = TypeVar("T")


class StoreError(RuntimeError):
    """A store problem with a message fit to show a user (no data values in it)."""


class Store(ABC):
    """A store target and this process's one connection to it.

    Store(target) is the backend for the target (a DuckDB file, or a
    'ducklake:' catalog), with a connection of its own; open_store(target)
    gives the process's shared one.

    >>> store = Store("/tmp/iop.duckdb")
    >>> with store.write() as cur: ...          # one transaction, store created if new
    >>> with store.read() as cur: cur.execute("SELECT count(*) FROM sessions").fetchall()
    """

    # DuckDB extensions the connection loads. `encodings` (about 330 MB of ICU tables
    # in memory) is loaded by the importer only for a profile that needs it.
    extensions: tuple[str, ...] = ("excel",)
    # Keep the catalog attached when the last reader leaves (nothing to release).
    stays_attached: bool = False
    # Whether `maintain` has work to do on this backend.
    needs_maintenance: bool = False

    _backends: list[type[Store]] = []

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        Store._backends.append(cls)

    @classmethod
    def backend_for(cls, target: str) -> type[Store]:
        """The backend class that opens target."""
        matching = [b for b in Store._backends if b.handles(target)]
        if len(matching) != 1:
            raise StoreError(f"no single store backend for {target!r}")
        return matching[0]

    def __new__(cls, target: str, *args, **kwargs):
        if cls is Store:
            cls = Store.backend_for(target)
        return super().__new__(cls)

    def __init__(self, target: str) -> None:
        self.target = target
        self._con = duckdb.connect(":memory:")
        # DuckDB draws a progress bar on stdout for slow statements; it would corrupt
        # CLI output (--format json). Cursors inherit the setting.
        self._con.execute("SET enable_progress_bar = false")
        load_extensions(self._con, self.extensions)
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._attached: str | None = None  # "ro" or "rw"

    # -- what a backend provides --------------------------------------------
    @classmethod
    @abstractmethod
    def handles(cls, target: str) -> bool:
        """Whether target names a store of this backend."""

    @classmethod
    def canonical_target(cls, target: str) -> str:
        """The one spelling of target that open_store keys its stores on."""
        return target

    @abstractmethod
    def _attach_catalog(self, mode: str) -> None:
        """ATTACH the store as `store`, read-only ("ro") or read-write ("rw", creating its tables)."""

    @abstractmethod
    def _views(self, mode: str) -> Sequence[str]:
        """The DDL of the main.* views over the attached store, for mode."""

    def _begin_read(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Prepare a reader's cursor before it is handed out."""

    def _end_read(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Finish a reader's cursor (also after a failed _begin_read)."""

    def _writer_lock(self) -> ContextManager:
        """Held around a write transaction, to queue writers of other processes."""
        return nullcontext()

    def _after_commit(self) -> None:
        """Runs after a write committed, still holding the writer's place."""

    @abstractmethod
    def data_version(self) -> str:
        """A token that changes whenever the store's data changes; cache keys use it."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether there is a store to write to without creating one first."""

    @abstractmethod
    def spill_directory(self) -> str:
        """Where DuckDB spills to disk when an import's memory is capped."""

    @abstractmethod
    def next_batch_id(self, cur: duckdb.DuckDBPyConnection) -> int:
        """A new batch id for one imported file, inside the write transaction of cur."""

    @abstractmethod
    def apply_batch(self, cur: duckdb.DuckDBPyConnection, kind: str, batch_id: int,
                    source: str = "ingest_valid") -> tuple[int, int]:
        """Write a validated batch of one kind by id (the latest import wins); returns (inserted, updated).

        source is a relation of validated rows: the kind's stored columns, `idx`
        (unique per row) and `line`, one row per id. Rows identical to the stored
        version count as unchanged and are not written again.
        >>> inserted, updated = store.apply_batch(cur, "sessions", store.next_batch_id(cur))
        """

    def retrying(self, attempt_once: Callable[[], T],
                 on_retry: Callable[[int, BaseException], None] | None = None) -> T:
        """attempt_once() (one whole transaction), rerun while it meets a concurrent commit.

        Only DuckLake has such conflicts; this backend runs it once.
        """
        return attempt_once()

    def maintain(self, older_than_days: int) -> dict:
        """Housekeeping for the backend; returns what was done (nothing here)."""
        return {}

    # -- attachment -----------------------------------------------------
    def _attach(self, mode: str) -> None:
        if self._attached == mode:
            return
        self._detach()
        self._attach_catalog(mode)
        # Views and macros bind when created, so they follow each attach. Only
        # the first reader or a writer attaches, so no query is running now.
        for ddl in self._views(mode):
            self._con.execute(ddl)
        macros.define(self._con)
        self._attached = mode

    def _detach(self) -> None:
        if self._attached is not None:
            self._con.execute("DETACH store")
            self._attached = None

    # -- reading and writing ----------------------------------------------
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
            self._begin_read(cur)
            yield cur
        finally:
            self._end_read(cur)
            cur.close()
            with self._cond:
                self._readers -= 1
                if self._readers == 0 and not self.stays_attached:
                    self._detach()
                self._cond.notify_all()

    @contextmanager
    def write(self, prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None
              ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction; committed on success, rolled back on any error.

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
        with self._writer_lock():
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
                self._after_commit()
            finally:
                with self._cond:
                    # Readers reattach read-only, so a file's lock is released now.
                    self._detach()
                    self._writing = False
                    self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._detach()
            self._con.close()


def plain_identifier(name: str) -> str:
    """name, if it is a plain lower-case identifier fit to write into SQL; else ValueError."""
    if not re.fullmatch(r"[a-z_]+", name):
        raise ValueError("column and relation names must be plain identifiers")
    return name


def same_values_sql(columns: Sequence[str], new: str = "v", stored: str = "s") -> str:
    """The condition that a new row and the stored one hold the same values (NULLs equal).

    Column names come from analytics.store.schema, never from a file.
    >>> same_values_sql(["a", "b"])
    'v.a IS NOT DISTINCT FROM s.a AND v.b IS NOT DISTINCT FROM s.b'
    """
    for name in (*columns, new, stored):
        plain_identifier(name)
    return " AND ".join(f"{new}.{c} IS NOT DISTINCT FROM {stored}.{c}" for c in columns)
