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

import logging
import re
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager, nullcontext
from typing import Callable, ContextManager, Iterator, NoReturn, Sequence, TypeVar

import duckdb

from analytics.config import ConfigError, duckdb_settings
from analytics.store import macros, versions
from analytics.store.check import CheckReport
from analytics.store.errors import StoreError
from analytics.store.extensions import load_extensions
from analytics.store.failures import CatalogUnreachable, Where, classify, in_few_words, quietly

T = TypeVar("T")
log = logging.getLogger(__name__)


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
        try:
            # The one connection of the process: its memory and thread limits bound the whole store.
            self._con = duckdb.connect(":memory:", config=duckdb_settings())
        except ConfigError as exc:
            raise StoreError(str(exc)) from None
        # DuckDB draws a progress bar on stdout for slow statements; it would corrupt
        # CLI output (--format json). Cursors inherit the setting.
        self._con.execute("SET enable_progress_bar = false")
        load_extensions(self._con, self.extensions)
        macros.define_rules(self._con)
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._attached: str | None = None  # "ro" or "rw"
        # Set when a read met a lost catalog: the next read attaches anew.
        self._stale = False
        self._local = threading.local()  # per writing thread: unfinished_write()

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

    def _before_commit(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Last work of every write, inside its transaction (the embedded store's summaries)."""

    def _after_commit(self) -> None:
        """Runs after a write committed, still holding the writer's place."""

    @abstractmethod
    def where(self) -> Where:
        """What messages call this store, and the catalog's address where it has one."""

    def failure(self, exc: BaseException) -> StoreError | None:
        """exc as a store failure in plain words (analytics.store.failures), or None for anything else."""
        return classify(exc, self.where())

    def journal_path(self) -> str | None:
        """The plain file beside the store that every import log entry is appended to (journal.py)."""
        return None

    def ensure_room(self, cur: duckdb.DuckDBPyConnection, needed: int) -> None:
        """Refuse (StoreNoSpace) before writing when the store's disk clearly has less than needed bytes free."""

    def verify(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Read every block of the store once, so a write never adds to a damaged store (StoreDamaged)."""

    @abstractmethod
    def check(self) -> "CheckReport":
        """Read the whole store, so every checksum is verified; what is damaged, if anything (check.py)."""

    def backup(self, out: str) -> dict:
        """A consistent copy of the store in out, made while the dashboard runs; what was copied."""
        raise StoreError("this store is backed up by its own tools (docs/deploy.md, \"Recovery\")")

    @abstractmethod
    def versions_sql(self, kind: str) -> str:
        """Every version of a kind's rows, current and replaced, as one relation (history.py).

        Columns: record_id (the kind's id), batch_id and source_line (the batch that
        wrote the version, and where), replaced_by (the batch that replaced or removed
        it; NULL while it is current), content (a STRUCT of the kind's stored columns).
        """

    @abstractmethod
    def remove_rows(self, cur: duckdb.DuckDBPyConnection, kind: str, ids: str, batch_id: int) -> int:
        """Remove the current rows whose id is in relation ids (column record_id), keeping
        each in the history as replaced by batch_id; returns how many were removed.

        The one way rows leave a kind's table (a FHIR retraction: status entered-in-error;
        an undo of the batch that inserted them), so the history has one place to keep them.
        >>> removed = store.remove_rows(cur, "assessments", "ingest_fhir_retracted", batch_id)
        """

    @abstractmethod
    def prune_history(self, cur: duckdb.DuckDBPyConnection, through_batch: int) -> int:
        """Forget the versions that batches up to through_batch replaced or removed; returns how many."""

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
                    source: str = "ingest_valid", bytes_per_row: float = 0.0) -> tuple[int, int]:
        """Write a validated batch of one kind by id (the latest import wins); returns (inserted, updated).

        source is a relation of validated rows: the kind's stored columns, `idx`
        (unique per row) and `line`, one row per id. Rows identical to the stored
        version count as unchanged and are not written again. A replaced version
        is kept in the history, as replaced by batch_id. With bytes_per_row (the
        file's size per row), the rows about to be written are first checked
        against the room left on the store's disk (ensure_room, room.py).
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
            quietly(self._con.execute, "DETACH store")
            raise
        self._attached = mode

    def _define_views_and_macros(self, mode: str, tables: set[str]) -> None:
        # Views and macros bind when created, so they follow each attach (and a
        # migration). Only the first reader or a writer attaches, so no query is running.
        for ddl in self._views(mode):
            if _view_table(ddl) in tables:
                self._con.execute(ddl)
        self._con.execute(self._unsummarised_view(tables))
        macros.define(self._con)

    def _unsummarised_view(self, tables: set[str]) -> str:
        """The view of the episodes whose rows the session summaries do not hold yet.

        None on the embedded store: every write brings its summaries up to date.
        """
        return "CREATE OR REPLACE VIEW main.unsummarised_episodes AS SELECT NULL::VARCHAR AS episode_id WHERE false"

    def _detach(self) -> None:
        if self._attached is not None:
            self._con.execute("DETACH store")
            self._attached = None

    # -- reading and writing ----------------------------------------------
    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own over the store, attached read-only for as long as needed.

        A store failure (failures.py) is raised in plain words; after a lost
        catalog the next read attaches anew, so a reader recovers by itself.
        """
        with self._cond:
            while self._writing:
                self._cond.wait()
            if self._stale and self._readers == 0:
                quietly(self._detach)
                self._attached, self._stale = None, False
            if self._attached is None:
                try:
                    self._attach("ro")
                except (duckdb.Error, OSError) as exc:
                    self._raise_classified(exc)
            self._readers += 1
        cur = self._con.cursor()
        failing = False
        try:
            self._begin_read(cur)
            yield cur
        except (duckdb.Error, OSError) as exc:
            failing = True
            if isinstance(self.failure(exc), CatalogUnreachable):
                self._stale = True
            self._raise_classified(exc)
        except BaseException:
            failing = True
            raise
        finally:
            try:
                (quietly if failing else _call)(self._end_read, cur)
                cur.close()
            finally:
                with self._cond:
                    self._readers -= 1
                    if self._readers == 0 and (not self.stays_attached or self._stale):
                        if _attempt(self._detach) is not None:
                            self._attached = None  # a read changed nothing: attach anew next time
                        if self._stale:
                            self._attached, self._stale = None, False
                    self._cond.notify_all()

    def _raise_classified(self, exc: BaseException) -> NoReturn:
        """Raise exc as a store failure in plain words where it is one, else exc itself (in an except block)."""
        failure = self.failure(exc)
        if failure is None:
            raise exc
        raise failure from exc

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

        A store failure anywhere (the disk full, the file not writable, the catalog
        gone) is raised in plain words (failures.py), after the rollback; no
        clean-up step ever raises over it.
        """
        cur = self._con.cursor()
        try:
            if prepare is not None:
                prepare(cur)
            yield from self._transaction(cur)
        except (duckdb.Error, OSError) as exc:
            self._raise_classified(exc)
        finally:
            cur.close()  # its temp tables go with it

    def _transaction(self, cur: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._writer_lock():
            with self._cond:
                while self._writing or self._readers:
                    self._cond.wait()
                self._writing = True
            self._local.unfinished = None
            failing = committed = False
            restore = None
            try:
                self._attach("rw")
                mark = self._write_mark()
                cur.execute("BEGIN TRANSACTION")
                try:
                    migrated = self._migrate(cur)
                    yield cur
                    self._before_commit(cur)
                    cur.execute("COMMIT")
                except BaseException:
                    _rollback_quietly(cur)  # a failed COMMIT already ended it; keep the original error
                    try:
                        restore = self._after_failed_write(mark)
                    except Exception as exc:  # noqa: BLE001 - the write's own error is the one to raise
                        log.warning("after a failed write: %s", type(exc).__name__)
                    raise
                # Committed: from here on nothing may report the write as failed.
                committed = True
                try:
                    if migrated:
                        self._define_views_and_macros("rw", versions.store_tables(self._con))
                    self._after_commit()
                    self._checkpoint()
                except Exception as exc:  # noqa: BLE001 - kept for the caller: unfinished_write()
                    self._local.unfinished = self._unfinished(exc)
            except BaseException:
                failing = True
                raise
            finally:
                with self._cond:
                    try:
                        # Readers reattach read-only, so a file's lock is released now.
                        problem = _attempt(self._detach)
                        if problem is not None:
                            self._attached = None  # attach anew next time
                            if committed and self._local.unfinished is None:
                                self._local.unfinished = self._unfinished(problem)
                        if restore is not None:
                            quietly(restore)  # e.g. the file back to its size, once it is closed
                    finally:
                        self._writing = False
                        self._cond.notify_all()

    def unfinished_write(self) -> StoreError | None:
        """After a write that committed in this thread: why finishing it failed, else None.

        A commit is durable in the store's write-ahead log; writing it into the store
        file (a checkpoint) can still fail for want of room. The write happened, so it
        is not raised; the caller tells the user (the importer does).
        """
        return getattr(self._local, "unfinished", None)

    def _unfinished(self, exc: BaseException) -> StoreError:
        """The warning for a write that committed but could not be finished (see unfinished_write)."""
        log.warning("a committed write could not be finished: %s", type(exc).__name__)
        return StoreError(f"The change was saved, but finishing it failed ({in_few_words(self.failure(exc), exc)}); "
                          "the next write finishes it once that is fixed.")

    def _checkpoint(self) -> None:
        """Write a committed transaction into the store itself (an embedded file's checkpoint)."""

    def _write_mark(self) -> object:
        """What a failed write needs to put the store back (taken once attached, before BEGIN)."""
        return None

    def _after_failed_write(self, mark: object) -> Callable[[], None] | None:
        """Runs after a failed write's rollback, still attached; returns a step to run once detached."""
        return None

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


def _call(step: Callable[..., object], *args: object) -> None:
    step(*args)


def _attempt(step: Callable[[], object]) -> Exception | None:
    """step()'s error, returned instead of raised (None when it succeeded)."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - the caller decides what the error means
        return exc
    return None


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


def content_sql(columns: Sequence[str], alias: str = "") -> str:
    """One stored version's values packed into a struct, as the history views compare them.

    Column names come from analytics.store.schema, never from a file.
    >>> content_sql(["a", "b"], "t")
    'struct_pack(a := t.a, b := t.b)'
    """
    for name in (*columns, *([alias] if alias else [])):
        plain_identifier(name)
    prefix = f"{alias}." if alias else ""
    return "struct_pack(" + ", ".join(f"{c} := {prefix}{c}" for c in columns) + ")"


def same_values_sql(columns: Sequence[str], new: str = "v", stored: str = "s") -> str:
    """The condition that a new row and the stored one hold the same values (NULLs equal).

    Column names come from analytics.store.schema, never from a file.
    >>> same_values_sql(["a", "b"])
    'v.a IS NOT DISTINCT FROM s.a AND v.b IS NOT DISTINCT FROM s.b'
    """
    for name in (*columns, new, stored):
        plain_identifier(name)
    return " AND ".join(f"{new}.{c} IS NOT DISTINCT FROM {stored}.{c}" for c in columns)
