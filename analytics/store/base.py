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

from analytics.store import macros, versions
from analytics.store.errors import StoreError
from analytics.store.extensions import load_extensions

T = TypeVar("T")


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
        macros.define_rules(self._con)
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

    @abstractmethod
    def _create_table(self, cur: duckdb.DuckDBPyConnection, table: str) -> None:
        """Create one store table of the current schema (in cur's transaction)."""

    @abstractmethod
    def _declared_tables(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Every table of the current schema on this backend, with its (column, type) pairs."""

    def _create_new_store(self) -> None:
        """Make every table of a store that has none, at the current schema version, in one transaction."""
        cur = self._con.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                versions.migrate(cur, self._create_table, self._declared_tables())
                cur.execute("COMMIT")
            except BaseException:
                _rollback_quietly(cur)
                raise
        finally:
            cur.close()

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

    @abstractmethod
    def remove_rows(self, cur: duckdb.DuckDBPyConnection, kind: str, ids: str, batch_id: int) -> int:
        """Take the stored rows of a kind whose ids are in relation ids (column record_id) out of
        the store's view; returns how many ids had a row.

        The one way rows leave a kind's table (a FHIR retraction: status entered-in-error),
        so that what keeps a record of removed rows has one place to do it. batch_id is the
        import that removes them.
        >>> removed = store.remove_rows(cur, "assessments", "ingest_fhir_retracted", batch_id)
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
        try:
            if mode == "ro":
                # a reader never changes a store: an older one is refused with what to run
                versions.check_readable(self._con, self.target)
            elif versions.stored_version(self._con) == 0:
                self._create_new_store()
            # An older store opened for writing is migrated inside the write's own
            # transaction (_transaction); until then only its existing tables have views.
            self._define_views_and_macros(mode, versions.store_tables(self._con))
        except BaseException:
            self._con.execute("DETACH store")
            raise
        self._attached = mode

    def _define_views_and_macros(self, mode: str, tables: set[str]) -> None:
        # Views and macros bind when created, so they follow each attach (and a
        # migration). Only the first reader or a writer attaches, so no query is running.
        for ddl in self._views(mode):
            if _view_table(ddl) in tables:
                self._con.execute(ddl)
        macros.define(self._con)

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
                    migrated = self._migrate(cur)
                    yield cur
                    cur.execute("COMMIT")
                except BaseException:
                    _rollback_quietly(cur)  # a failed COMMIT already ended it; keep the original error
                    raise
                if migrated:
                    self._define_views_and_macros("rw", versions.store_tables(self._con))
                self._after_commit()
            finally:
                with self._cond:
                    # Readers reattach read-only, so a file's lock is released now.
                    self._detach()
                    self._writing = False
                    self._cond.notify_all()

    def _migrate(self, cur: duckdb.DuckDBPyConnection) -> bool:
        """Bring an older store up to date in cur's transaction; whether anything was done.

        The process's main.* views cannot change inside a transaction that writes the
        store (DuckDB writes one database per transaction), so the writer's cursor
        reads the migrated tables through TEMP views of the same names, which shadow
        them; every view is rebuilt after the commit.
        """
        before = versions.stored_version(cur)
        if before == versions.CURRENT_VERSION:
            return False
        applied = versions.migrate(cur, self._create_table, self._declared_tables(), self.migration_progress)
        self.last_migration = (before, tuple(m.summary for m in applied))
        tables = versions.store_tables(cur)
        for ddl in self._views("rw"):
            if _view_table(ddl) in tables:
                cur.execute(ddl.replace("CREATE OR REPLACE VIEW main.", "CREATE OR REPLACE TEMP VIEW ", 1))
        return True

    # Called with (fraction, message) while a migration runs; the migrate command prints it.
    migration_progress: Callable[[float, str], None] | None = None
    # (version before, summaries of the migrations applied) of this process's last migration
    last_migration: tuple[int, tuple[str, ...]] | None = None

    def bring_up_to_date(self, progress: Callable[[float, str], None] | None = None) -> tuple[int, int]:
        """Migrate the store to the current schema (a write that changes nothing else).

        Returns (version before, version after); equal when it was current already.
        >>> open_store("iop.duckdb").bring_up_to_date()
        (1, 2)
        """
        self.migration_progress, self.last_migration = progress, None

        def once() -> int:
            with self.write() as cur:
                return versions.stored_version(cur)

        try:
            after = self.retrying(once)
        finally:
            self.migration_progress = None
        before = self.last_migration[0] if self.last_migration else after
        return before, after

    def close(self) -> None:
        with self._cond:
            self._detach()
            self._con.close()


def _view_table(ddl: str) -> str:
    """The table a 'CREATE OR REPLACE VIEW main.<table> AS ...' statement is named after."""
    return ddl.split("VIEW main.", 1)[1].split()[0]


def _rollback_quietly(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # a failed COMMIT has already ended the transaction


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
