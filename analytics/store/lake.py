"""Organisation mode: the store as a DuckLake with a PostgreSQL catalog (LakeStore).

Why this shape:
- Many sites import at once and several dashboard replicas read at once. A
  DuckLake keeps its catalog in PostgreSQL and its data in Parquet files on a
  shared path, and all the analytics SQL still runs in DuckDB unchanged.
- Imports are append-only batches. A new version of a row is appended with its
  batch id and the version it replaces gets a marker row in `store.superseded`
  (with the batch that replaced it); the read views (schema.LAKE_READ_VIEWS_DDL)
  hide marked versions. The marked versions stay in the table: they are the
  lake's history (a batch's changes, undo), kept when `maintain` expires
  snapshots, until an operator prunes them (prune_history). A removed row is
  a marker with no newer version. Appends
  never conflict in DuckLake, so two sites importing at the same moment both
  commit. The rare case of two imports writing the same id at the same moment
  is settled right after commit (settle()) and by `maintain`: the latest batch wins.
- Anything that must delete or replace goes through retry_on_conflict(), which
  reruns the whole transaction with backoff on DuckLake's transaction conflicts.
- Each read pins one snapshot (begin_read); readers hide superseded versions
  with an in-memory copy of that snapshot's markers, so queries scan no more
  lake tables than on the embedded file.
- Data is partitioned by month (session month, admission month), not by site:
  queries filter by dates far more than by one site, and one site per folder
  would make hundreds of tiny files.

Target syntax (IOP_DB or --db):
    ducklake:postgres:dbname=iop host=127.0.0.1 port=5432 user=iop
The Parquet data path comes from IOP_LAKE_DATA, else config [lake] data_path.
The password comes from PGPASSWORD or IOP_LAKE_PASSWORD (a root-level key in
Streamlit's secrets.toml becomes an environment variable), never the target.
"""
from __future__ import annotations

import os
import random
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import duckdb

from analytics.config import REPO_ROOT
from analytics.config import settings
from analytics.store import failures, macros, room, summaries
from analytics.store.base import Store, StoreError, content_sql, plain_identifier, same_values_sql
from analytics.store.check import CheckReport, read_fully
from analytics.store.extensions import load_extensions
from analytics.store.failures import Where
from analytics.store.sql_files import sql_text
from analytics.store import versions
from analytics.store.schema import (
    KINDS, LAKE_PINNED_VIEWS_DDL, LAKE_READ_VIEWS_DDL, LAKE_STORE_DDL, declared_columns, table_ddl,
)

PREFIX = "ducklake:"
T = TypeVar("T")

# Partition keys per table, from schema.KINDS (DDL takes no bound identifiers).
# Month, not site: see the module docstring.
_PARTITIONS = {
    kind.name: (f"ALTER TABLE store.{kind.name} SET PARTITIONED BY "
                f"(year({kind.partitioned_by}), month({kind.partitioned_by}))")
    for kind in KINDS.values() if kind.partitioned_by
}
# A marker hides the version (batch_id, source_line) of record_id; replaced_by is the
# batch that replaced or removed it.
SUPERSEDED_DDL = (
    "CREATE TABLE IF NOT EXISTS store.superseded "
    "(kind VARCHAR, record_id VARCHAR, batch_id BIGINT, source_line BIGINT, replaced_by BIGINT)"
)
# The batches the session summaries hold (summaries.py): a read counts the episodes any
# other batch touched from the sessions, and the rest from the summaries.
SUMMARISED_BATCHES_DDL = "CREATE TABLE IF NOT EXISTS store.summarised_batches (batch_id BIGINT)"
_LAKE_ONLY_DDL = {"superseded": SUPERSEDED_DDL, "summarised_batches": SUMMARISED_BATCHES_DDL}
_DECLARED = declared_columns(LAKE_STORE_DDL + tuple(_LAKE_ONLY_DDL.values()))
# kind -> (store table, id column); fixed identifiers from schema.KINDS, never user text.
VERSIONED = {kind.name: (f"store.{kind.name}", kind.id_column) for kind in KINDS.values()}


class LakeError(RuntimeError):
    """Raised inside this module; LakeStore turns it into a StoreError for the user."""


class LakeStore(Store):
    """A store in a DuckLake: append-only versioned batches, the catalog in PostgreSQL.

    >>> store = Store("ducklake:postgres:dbname=iop host=127.0.0.1 user=iop")
    """

    extensions = Store.extensions + ("postgres", "ducklake")
    stays_attached = True  # a catalog has no file lock to release
    needs_maintenance = True

    @classmethod
    def handles(cls, target: str) -> bool:
        return target.startswith(PREFIX)

    def _attach_catalog(self, mode: str) -> None:
        # a read-write attach creates a new lake's tables itself
        try:
            attach(self._con, self.target, read_only=(mode == "ro"))
        except LakeError as exc:
            raise StoreError(str(exc)) from None

    def where(self) -> Where:
        return where(self.target)

    def failure(self, exc: BaseException) -> StoreError | None:
        known = super().failure(exc)
        if known is not None or not isinstance(exc, duckdb.Error):
            return known
        # DuckLake reports a lost catalog in many words (a BinderException among them):
        # whether PostgreSQL still answers settles it.
        spot = self.where()
        return None if failures.reachable(spot.address) else failures.unreachable(spot)

    def journal_path(self) -> str | None:
        path = data_path()
        if path is None or "://" in path:
            return None  # object storage cannot be appended to
        return os.path.join(path, "import-log.jsonl")

    def ensure_room(self, cur: duckdb.DuckDBPyConnection, needed: int) -> None:
        path = data_path()
        if path is None or "://" in path:
            return
        free = room.free_bytes(path)
        if free is not None and free < needed:
            raise failures.no_space(Where(f"the shared store's data path {path}"), needed, free)

    def versions_sql(self, kind: str) -> str:
        declared = KINDS[kind]
        content = content_sql(declared.stored_columns, "t")
        # A version marked twice (two concurrent settles) counts once, by its first replacer.
        return (f"SELECT t.{declared.id_column} AS record_id, t.batch_id, t.source_line, x.replaced_by, "
                f"{content} AS content FROM store.main.{kind} AS t "
                f"LEFT JOIN (SELECT batch_id, source_line, min(replaced_by) AS replaced_by "
                f"FROM store.main.superseded WHERE kind = '{kind}' GROUP BY ALL) AS x "
                f"ON x.batch_id = t.batch_id AND x.source_line = t.source_line")

    def remove_rows(self, cur: duckdb.DuckDBPyConnection, kind: str, ids: str, batch_id: int) -> int:
        return remove_rows(cur, kind, ids, batch_id)

    def check(self) -> CheckReport:
        return check(self.target)

    def backup(self, out: str) -> dict:
        raise StoreError(
            "a DuckLake is backed up as a dump of its catalog database (pg_dump) plus a copy of its data "
            "path, in that order, while `maintain` is not running (docs/deploy.md, \"Recovery\")")

    def prune_history(self, cur: duckdb.DuckDBPyConnection, through_batch: int) -> int:
        return prune_history(cur, through_batch)

    def _views(self, mode: str) -> Sequence[str]:
        # The kinds' tables are latest-wins views over appended batches.
        return LAKE_PINNED_VIEWS_DDL if mode == "ro" else LAKE_READ_VIEWS_DDL

    def _unsummarised_view(self, tables: set[str]) -> str:
        return unsummarised_view_ddl(tables) or super()._unsummarised_view(tables)

    def _create_table(self, cur: duckdb.DuckDBPyConnection, table: str) -> None:
        create_table(cur, table)

    def _declared_tables(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return _DECLARED

    def _create_new_store(self) -> None:
        # Two first imports into a new lake both try; the loser retries and finds the tables.
        retrying(self._con, lambda cur: versions.migrate(cur, create_table, _DECLARED))

    def _begin_read(self, cur: duckdb.DuckDBPyConnection) -> None:
        begin_read(self._con, cur)  # one lake snapshot for the whole read

    def _end_read(self, cur: duckdb.DuckDBPyConnection) -> None:
        end_read(cur)

    def _after_commit(self) -> None:
        settle(self._con)  # see settle: concurrent writers of one id

    def data_version(self) -> str:
        with self.read() as cur:
            return snapshot_token(cur)

    def exists(self) -> bool:
        # The catalog is named on purpose; a first write creates the lake in it.
        return True

    def spill_directory(self) -> str:
        return os.path.join(tempfile.gettempdir(), "iop-import.tmp")

    def next_batch_id(self, cur: duckdb.DuckDBPyConnection) -> int:
        # Several processes import at once, so ids come from the clock.
        return new_batch_id()

    def apply_batch(self, cur: duckdb.DuckDBPyConnection, kind: str, batch_id: int,
                    source: str = "ingest_valid", bytes_per_row: float = 0.0) -> tuple[int, int]:
        def before_write(rows: int) -> None:
            if bytes_per_row:
                self.ensure_room(cur, room.needed_bytes(rows, bytes_per_row))

        return apply_batch(cur, kind, batch_id, list(KINDS[kind].stored_columns), source, before_write)

    def retrying(self, attempt_once: Callable[[], T],
                 on_retry: Callable[[int, BaseException], None] | None = None) -> T:
        return retry_on_conflict(attempt_once, on_retry)

    def maintain(self, older_than_days: int) -> dict:
        try:
            return maintain(self.target, older_than_days)
        except LakeError as exc:
            raise StoreError(str(exc)) from None


def unsummarised_view_ddl(tables: set[str]) -> str | None:
    """The view of the episodes the summaries do not hold yet (None for a lake from before them)."""
    if "summarised_batches" not in tables:
        return None
    return "CREATE OR REPLACE VIEW main.unsummarised_episodes AS " + sql_text("store/unsummarised_episodes")


# -- configuration ---------------------------------------------------------
def catalog_spec(target: str) -> str:
    """'ducklake:postgres:dbname=iop ...' -> 'postgres:dbname=iop ...' (what DuckLake attaches)."""
    if not target.startswith(PREFIX):
        raise LakeError(f"not a DuckLake target (expected {PREFIX}...)")
    spec = target[len(PREFIX):]
    if re.search(r"(^|\s)password\s*=", spec, flags=re.IGNORECASE):
        # A password on the command line ends up in shell history and process lists.
        raise LakeError(
            "the DuckLake target must not hold a password; set PGPASSWORD or IOP_LAKE_PASSWORD"
        )
    return spec


def data_path() -> str | None:
    """Where the Parquet files live: IOP_LAKE_DATA, else config [lake] data_path, else None.

    A relative config path is taken from the repository root. Always ends in '/'
    so the value matches what DuckLake stored when the lake was created.
    """
    raw = os.environ.get("IOP_LAKE_DATA") or str(settings().get("lake", {}).get("data_path", ""))
    if not raw:
        return None
    if "://" in raw:  # object storage (s3://...) is passed through as given
        return raw.rstrip("/") + "/"
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = REPO_ROOT / path
    return str(path).rstrip("/") + "/"


def catalog_address(target: str) -> str:
    """'host:port' of the lake's PostgreSQL catalog, from the target (else PGHOST/PGPORT, libpq's defaults).

    >>> catalog_address("ducklake:postgres:dbname=iop host=db.example.org port=5433 user=iop")
    'db.example.org:5433'
    """
    pairs = dict(re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", target[len(PREFIX):]))
    host = (pairs.get("host") or os.environ.get("PGHOST") or "localhost").strip("'")
    port = (pairs.get("port") or os.environ.get("PGPORT") or "5432").strip("'")
    return f"{host.split(',')[0]}:{port.split(',')[0]}"


def where(target: str) -> Where:
    """How messages name the lake: the shared store, and its catalog's host and port (never a password)."""
    return Where("the shared store", address=catalog_address(target))


def _sql_string(value: str) -> str:
    # ATTACH and CREATE SECRET take no bound parameters. The values come from
    # configuration and the environment, never from a dashboard user.
    return "'" + value.replace("'", "''") + "'"


def _redact(message: str) -> str:
    password = os.environ.get("IOP_LAKE_PASSWORD") or os.environ.get("PGPASSWORD")
    if password:
        message = message.replace(password, "***")
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", message, flags=re.IGNORECASE)


# -- attaching ---------------------------------------------------------------
def attach(con: duckdb.DuckDBPyConnection, target: str, read_only: bool) -> None:
    """ATTACH the lake as `store`; a read-write attach creates it (and its tables) if new.

    >>> attach(con, "ducklake:postgres:dbname=iop host=127.0.0.1 user=iop", read_only=True)
    """
    spec = catalog_spec(target)
    password = os.environ.get("IOP_LAKE_PASSWORD")
    if password:
        # The default (unnamed) postgres secret is merged into every postgres connection
        # string, so the password never appears in the target.
        con.execute("CREATE OR REPLACE TEMPORARY SECRET __default_postgres (TYPE postgres, PASSWORD "
                    + _sql_string(password) + ")")
    options = []
    if read_only:
        options.append("READ_ONLY")
    else:
        path = data_path()
        if path is not None:
            if "://" not in path:
                Path(path).mkdir(parents=True, exist_ok=True)
            options.append("DATA_PATH " + _sql_string(path))
    sql = "ATTACH " + _sql_string(PREFIX + spec) + " AS store"
    if options:
        sql += " (" + ", ".join(options) + ")"
    for attempt in range(MAX_ATTEMPTS):
        try:
            con.execute(sql)
            break
        except duckdb.Error as exc:
            message = str(exc)
            # Two first imports into an empty catalog race to create the lake; the
            # loser's PostgreSQL transaction fails and rolls back, and its next
            # attempt finds the lake the winner made.
            racing = "Failed to initialize DuckLake" in message and (
                "duplicate key" in message or "already exists" in message)
            lost = failures.classify(exc, where(target))
            if isinstance(lost, failures.CatalogUnreachable):
                raise lost from None
            if read_only or not racing or attempt == MAX_ATTEMPTS - 1:
                raise LakeError(_explain_attach_error(message)) from None
        time.sleep(_backoff(attempt))
    if read_only:
        # This connection's copy of the markers, per snapshot (see begin_read).
        con.execute("CREATE OR REPLACE TABLE main.lake_superseded "
                    "(snapshot BIGINT, kind VARCHAR, batch_id BIGINT, source_line BIGINT)")
        with _COPY_LOCK:
            _COPIED[id(con)] = []


def _explain_attach_error(message: str) -> str:
    if "does not exist" in message and "creating a new DuckLake is explicitly disabled" in message:
        return ("the DuckLake catalog is empty: import data first "
                "(python -m analytics ingest --db ducklake:... FILE...)")
    if "data_path is not set" in message:
        return ("a new DuckLake needs a data path for its Parquet files: "
                "set IOP_LAKE_DATA or [lake] data_path in config/iop.toml")
    if "does not match existing data path" in message:
        return ("IOP_LAKE_DATA / [lake] data_path differs from the data path this lake was "
                "created with; unset it or set it to the lake's path")
    if "password authentication failed" in message or "no password supplied" in message:
        return "PostgreSQL refused the password: set PGPASSWORD or IOP_LAKE_PASSWORD"
    return "cannot open the DuckLake catalog: " + _redact(message).splitlines()[0][:300]


def create_table(cur: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create one lake table of the current schema, partitioned by month where its kind says.

    Partition keys are set only on creation: altering a table on every attach
    would make a snapshot each time and conflict with concurrent inserts.
    """
    cur.execute(_LAKE_ONLY_DDL.get(table) or table_ddl(table, pin_compression=False))
    if table in _PARTITIONS:
        cur.execute(_PARTITIONS[table])


# -- reading ---------------------------------------------------------------------
_SNAPSHOT = "SELECT id FROM store.current_snapshot()"
_COPY_LOCK = threading.Lock()
_COPIED: dict[int, list[int]] = {}  # id(connection) -> snapshots whose markers are copied
KEEP_SNAPSHOTS = 16  # a read pinned to an older snapshot than this many commits ago is rare


def begin_read(con: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection) -> int:
    """Start cur's read transaction on one lake snapshot, with that snapshot's markers copied.

    The read-only views (schema.LAKE_PINNED_VIEWS_DDL) hide superseded versions
    using main.lake_superseded rows of the snapshot in the cursor's variable
    lake_snapshot, so every query of the read sees one consistent state; the
    variable lake_superseded_kinds lists the tables that have any.
    Returns the snapshot id.
    """
    for _ in range(MAX_ATTEMPTS):
        probe = con.cursor()
        try:
            snapshot = probe.execute(_SNAPSHOT).fetchone()[0]
        finally:
            probe.close()
        _copy_markers(con, snapshot)
        # Begun after the copy committed, so the copy is visible to this transaction.
        cur.execute("BEGIN TRANSACTION")
        if cur.execute(_SNAPSHOT).fetchone()[0] == snapshot:
            cur.execute("SET VARIABLE lake_snapshot = $s", {"s": snapshot})
            # the tables with superseded versions in this snapshot; the others are
            # read without the anti-join (see schema._LATEST_WINS_PINNED)
            cur.execute("SET VARIABLE lake_superseded_kinds = (SELECT coalesce(list(DISTINCT kind), "
                        "[]::VARCHAR[]) FROM main.lake_superseded WHERE snapshot = $s)", {"s": snapshot})
            return snapshot
        _rollback_quietly(cur)  # a commit landed in between: take the newer snapshot
    raise LakeError("the lake changed too often to start a consistent read; try again")


def end_read(cur: duckdb.DuckDBPyConnection) -> None:
    """Finish the read transaction begun by begin_read (nothing was written)."""
    _rollback_quietly(cur)


def _copy_markers(con: duckdb.DuckDBPyConnection, snapshot: int) -> None:
    with _COPY_LOCK:
        copied = _COPIED.setdefault(id(con), [])
        if snapshot in copied:
            return
        cur = con.cursor()
        try:
            cur.execute(
                "INSERT INTO main.lake_superseded SELECT $s, kind, batch_id, source_line "
                "FROM store.main.superseded AT (VERSION => $s)", {"s": snapshot})
            copied.append(snapshot)
            while len(copied) > KEEP_SNAPSHOTS:
                cur.execute("DELETE FROM main.lake_superseded WHERE snapshot = $s", {"s": copied.pop(0)})
        finally:
            cur.close()


def snapshot_token(cur: duckdb.DuckDBPyConnection) -> str:
    """The lake's current snapshot id as text; it changes with every commit anywhere."""
    return "lake:" + str(cur.execute("SELECT id FROM store.current_snapshot()").fetchone()[0])


# -- retrying writes ---------------------------------------------------------
MAX_ATTEMPTS = 8
FIRST_WAIT_SECONDS = 0.05
BACKOFF = 2.0


def is_conflict(exc: BaseException) -> bool:
    """True for DuckLake's 'another transaction changed this first' commit failures."""
    return isinstance(exc, duckdb.Error) and "conflict" in str(exc).lower()


def _backoff(attempt: int) -> float:
    # Jitter, so two writers that collided do not collide again in lockstep.
    return FIRST_WAIT_SECONDS * (BACKOFF ** attempt) * random.uniform(0.5, 1.5)


def retry_on_conflict(
    attempt_once: Callable[[], T],
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> T:
    """Call attempt_once() (one whole transaction) until it commits without a DuckLake conflict.

    The one retry loop for anything that deletes or replaces in the lake
    (appends never conflict). Bounded: after MAX_ATTEMPTS the conflict is
    raised. Waits grow by BACKOFF with jitter between attempts.
    """
    for attempt in range(MAX_ATTEMPTS):
        try:
            return attempt_once()
        except BaseException as exc:
            if not is_conflict(exc) or attempt == MAX_ATTEMPTS - 1:
                raise
            if on_retry is not None:
                on_retry(attempt + 1, exc)
        time.sleep(_backoff(attempt))
    raise AssertionError("unreachable")


def retrying_write(store, work: Callable[[duckdb.DuckDBPyConnection], T],
                   on_retry: Callable[[int, BaseException], None] | None = None) -> T:
    """work(cur) inside store.write(), the whole transaction rerun on DuckLake conflicts.

    >>> retrying_write(store, lambda cur: set_meta(cur, "contents", "imported"))
    """
    def attempt_once() -> T:
        with store.write() as cur:
            return work(cur)

    return retry_on_conflict(attempt_once, on_retry)


def retrying(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T],
             on_retry: Callable[[int, BaseException], None] | None = None) -> T:
    """work(cur) in one transaction on a connection with the lake attached, rerun on conflicts."""
    def attempt_once() -> T:
        cur = con.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                result = work(cur)
                cur.execute("COMMIT")
                return result
            except BaseException:
                _rollback_quietly(cur)
                raise
        finally:
            cur.close()

    return retry_on_conflict(attempt_once, on_retry)


def _rollback_quietly(cur: duckdb.DuckDBPyConnection) -> None:
    # A failed COMMIT has already ended the transaction; ROLLBACK then errors.
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass


# -- batches -----------------------------------------------------------------
def new_batch_id() -> int:
    """A batch id unique across concurrent writers on any machine, ordered by time.

    Microseconds since the epoch times 1000 plus 10 random bits' worth: two
    writers collide only if they start in the same microsecond and draw the
    same number. Later imports get larger ids, which is what "latest wins" means.
    """
    return time.time_ns() // 1000 * 1000 + secrets.randbelow(1000)


# Batches appended by each thread's open write transaction, settled after its COMMIT
# (Store.write commits in the thread that ran the body).
_PENDING: dict[int, set[tuple[str, int]]] = {}


def apply_batch(cur: duckdb.DuckDBPyConnection, kind: str, batch_id: int, columns: list[str],
                source: str = "ingest_valid",
                before_write: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Append a batch's new and changed rows as versions; returns (inserted, updated).

    LakeStore.apply_batch. source is the importer's relation of
    validated rows (the canonical columns plus `line`, one row per id); each row
    is compared with the visible version (main.<kind> is the latest-wins view),
    so identical rows count as unchanged and are not written again. Replaced
    versions get a marker in store.superseded. Appends only: never conflicts.
    >>> inserted, updated = apply_batch(cur, "sessions", lake.new_batch_id(), ["session_id", ...])
    """
    table, id_column = VERSIONED[kind]
    known = set(_store_columns(cur, kind))
    if not set(columns) <= known:
        raise ValueError("columns must be store columns")
    source = plain_identifier(source)
    same = same_values_sql(columns)
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE lake_changed AS
        -- rows that are new (no visible version) or differ from the visible version
        SELECT v.*, s.batch_id AS replaces, s.source_line AS replaces_line
        FROM {source} AS v LEFT JOIN {kind} AS s ON s.{id_column} = v.{id_column}
        WHERE s.{id_column} IS NULL OR NOT ({same})"""
    )
    inserted, updated, rows = cur.execute(
        f"SELECT count(DISTINCT {id_column}) FILTER (replaces IS NULL), "
        f"count(DISTINCT {id_column}) FILTER (replaces IS NOT NULL), count(*) FROM lake_changed"
    ).fetchone()
    if before_write is not None and inserted + updated:
        before_write(int(inserted + updated))
    cur.execute(
        f"INSERT INTO store.superseded (kind, record_id, batch_id, source_line, replaced_by) "
        f"SELECT DISTINCT $kind, {id_column}, replaces, replaces_line, $batch_id FROM lake_changed "
        f"WHERE replaces IS NOT NULL",
        {"kind": kind, "batch_id": batch_id},
    )
    listed = ", ".join(columns)
    # One new version per id, even where a concurrent race left two visible versions.
    once = "" if rows == inserted + updated else f" QUALIFY row_number() OVER (PARTITION BY {id_column}) = 1"
    cur.execute(
        f"INSERT INTO {table} ({listed}, batch_id, source_line) "
        f"SELECT {listed}, $batch_id, line FROM lake_changed" + once,
        {"batch_id": batch_id},
    )
    cur.execute("DROP TABLE lake_changed")
    _PENDING.setdefault(threading.get_ident(), set()).add((kind, batch_id))
    return int(inserted), int(updated)


def _store_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'store' AND table_name = $t "
        "ORDER BY column_index", {"t": table}).fetchall()]


def settle(con: duckdb.DuckDBPyConnection) -> None:
    """After a commit: hide versions that a concurrent import made stale for our batches.

    Two imports that write the same id at the same moment each mark only the
    versions they saw, so both new versions stay visible. The later committer
    sees both here and marks the older one (smaller batch id) superseded.
    Append-only, so it never conflicts; `maintain` repeats it for the whole lake.
    """
    pending = sorted(_PENDING.pop(threading.get_ident(), ()))
    for kind, batch_id in pending:
        cur = con.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            _mark_stale_versions(cur, kind, batch_id)
            cur.execute("COMMIT")
        except duckdb.Error:
            _rollback_quietly(cur)  # left for the next import or `maintain` to settle
        finally:
            cur.close()


def _mark_stale_versions(cur: duckdb.DuckDBPyConnection, kind: str, batch_id: int | None) -> int:
    """Mark every visible version but the latest of ids written by batch_id (all ids if None)."""
    table, id_column = VERSIONED[kind]
    scope = "" if batch_id is None else (
        f"SEMI JOIN (SELECT {id_column} FROM {table} WHERE batch_id = $batch_id) AS b "
        f"ON b.{id_column} = v.{id_column}"
    )
    return cur.execute(
        f"""INSERT INTO store.superseded (kind, record_id, batch_id, source_line, replaced_by)
        -- visible versions (not yet superseded) of the ids in scope, all but the newest,
        -- each replaced by the newest
        SELECT $kind, v.{id_column}, v.batch_id, v.source_line,
               max(v.batch_id) OVER (PARTITION BY v.{id_column})
        FROM main.{kind} AS v {scope}
        QUALIFY row_number() OVER (PARTITION BY v.{id_column} ORDER BY v.batch_id DESC) > 1""",
        {"kind": kind} | ({} if batch_id is None else {"batch_id": batch_id}),
    ).fetchone()[0]


def remove_rows(cur: duckdb.DuckDBPyConnection, kind: str, ids: str, batch_id: int) -> int:
    """Hide the visible versions of the ids in relation ids (column record_id), as removed by batch_id.

    LakeStore.remove_rows. Appends markers only (never conflicts); the versions
    stay in the table as history. Returns how many ids had a visible version.
    """
    _, id_column = VERSIONED[kind]
    # `{kind}` unqualified: the latest-wins view (a TEMP view of that name in a write that migrated)
    return cur.execute(
        f"""INSERT INTO store.superseded (kind, record_id, batch_id, source_line, replaced_by)
        SELECT $kind, v.{id_column}, v.batch_id, v.source_line, $batch_id FROM {kind} AS v
        WHERE v.{id_column} IN (SELECT record_id FROM {plain_identifier(ids)})""",
        {"kind": kind, "batch_id": batch_id}).fetchone()[0]


def prune_history(cur: duckdb.DuckDBPyConnection, through_batch: int) -> int:
    """Delete the versions that batches up to through_batch replaced or removed, and their markers.

    LakeStore.prune_history: the one step that deletes rows of the kinds' tables
    (an operator's `prune-history`); run it under retry_on_conflict.
    """
    pruned = 0
    for kind, (table, _) in VERSIONED.items():
        pruned += cur.execute(
            f"""DELETE FROM {table} AS t USING (
                SELECT DISTINCT batch_id, source_line FROM store.superseded
                WHERE kind = $kind AND replaced_by <= $through) AS x
            WHERE x.batch_id = t.batch_id AND x.source_line = t.source_line""",
            {"kind": kind, "through": through_batch}).fetchone()[0]
        cur.execute("DELETE FROM store.superseded WHERE kind = $kind AND replaced_by <= $through",
                    {"kind": kind, "through": through_batch})
    return pruned


# -- checking ------------------------------------------------------------------
def check(target: str) -> CheckReport:
    """Every data and delete file the catalog names exists and reads to the end; every table reads.

    A file is named by its path; the tables' rows count every version (the
    current rows and the history).
    """
    spot = where(target)
    con = duckdb.connect(":memory:")
    try:
        load_extensions(con, ("postgres", "ducklake"))
        try:
            attach(con, target, read_only=True)
        except (LakeError, StoreError) as exc:
            return CheckReport(target, False, problems=(str(exc),))
        problems: list[str] = []
        tables: dict[str, int | None] = {}
        checked = 0
        try:
            for table in _lake_tables(con):
                files = con.execute(
                    f"SELECT data_file, delete_file FROM ducklake_list_files('store', '{table}')").fetchall()
                for path in sorted({p for pair in files for p in pair if p}):
                    checked += 1
                    if "://" not in path and not os.path.exists(path):
                        problems.append(f"table {table}: the data file {path} is missing")
                        continue
                    try:
                        read_fully(con, "read_parquet(" + _sql_string(path) + ")")
                    except duckdb.Error as exc:
                        problems.append(f"table {table}: the data file {path} cannot be read "
                                        f"({type(exc).__name__})")
                try:
                    tables[table] = read_fully(con, f"store.main.{table}")
                except duckdb.Error:
                    tables[table] = None
                    if not any(p.startswith(f"table {table}:") for p in problems):
                        problems.append(f"table {table} cannot be read")
        except duckdb.Error as exc:
            lost = failures.classify(exc, spot)
            if lost is None and not failures.reachable(spot.address):
                lost = failures.unreachable(spot)
            if lost is None:
                raise
            return CheckReport(target, False, tables, (str(lost),))
    finally:
        con.close()
    return CheckReport(target, not problems, tables, tuple(problems), {"data_files": checked})


# -- maintenance -------------------------------------------------------------
def maintain(target: str, older_than_days: int) -> dict:
    """Settle versions, summarise the sessions, merge small files, expire old snapshots, delete unused
    and orphaned files.

    Runs on a connection of its own (maintenance calls cannot run inside the
    store's write transaction). Returns what was done, for the CLI to print,
    accounting for every Parquet file under a local data path: what it deleted
    (each path), and what remains, as files_on_disk = files_in_use +
    files_for_older_snapshots + orphaned_files_kept. An orphaned file is one no
    snapshot names: an import that failed (its catalog lost) left it, or an
    import still running is writing it; both kinds are deleted only once older
    than older_than_days, so never run it with 0 while imports run.

    Nothing here deletes a row: replaced versions are the history (history.py)
    and stay until prune_history. Expiring a snapshot gives up time travel to it only.
    """
    con = duckdb.connect(":memory:")
    try:
        load_extensions(con, ("postgres", "ducklake"))
        attach(con, target, read_only=True)  # an empty catalog is refused, not turned into a lake
        try:
            versions.check_readable(con, target)  # an older lake is migrated first, by `migrate`
        except StoreError as exc:
            raise LakeError(str(exc)) from None
        con.execute("DETACH store")
        attach(con, target, read_only=False)
        for ddl in LAKE_READ_VIEWS_DDL:
            con.execute(ddl)
        con.execute(unsummarised_view_ddl(versions.store_tables(con)))
        macros.define(con)
        settled = retrying(con, lambda cur: sum(_mark_stale_versions(cur, k, None) for k in VERSIONED))
        # the session summaries, counted anew from the settled rows: reads use them until
        # the next import is logged, and count from the sessions after it (summaries.py)
        retrying(con, summaries.rebuild)
        files_before = _count_files(con)
        # Compaction rewrites files that a concurrent replacing write may touch too.
        retry_on_conflict(lambda: con.execute("CALL ducklake_flush_inlined_data('store')"))
        retry_on_conflict(lambda: con.execute("CALL ducklake_merge_adjacent_files('store')"))
        cutoff = {"d": older_than_days}
        expired = con.execute(
            "SELECT count(*) FROM ducklake_expire_snapshots('store', older_than => now() - to_days($d))",
            cutoff).fetchone()[0]
        old_files = [r[0] for r in con.execute(
            "SELECT path FROM ducklake_cleanup_old_files('store', older_than => now() - to_days($d))",
            cutoff).fetchall()]
        orphans = [r[0] for r in con.execute(
            "SELECT path FROM ducklake_delete_orphaned_files('store', older_than => now() - to_days($d))",
            cutoff).fetchall()]
        done = {
            "versions_settled": int(settled),
            "data_files_before": files_before,
            "data_files_after": _count_files(con),
            "snapshots_expired": int(expired),
            "files_deleted": len(old_files) + len(orphans),
            "old_files_deleted": len(old_files),
            "orphaned_files_deleted": len(orphans),
            "deleted": sorted(old_files + orphans),
            "snapshot": snapshot_token(con),
        }
        return done | _files_remaining(con)
    except (LakeError, StoreError):
        raise
    except duckdb.Error as exc:
        lost = failures.classify(exc, where(target))
        if lost is None and not failures.reachable(where(target).address):
            lost = failures.unreachable(where(target))
        if lost is not None:
            raise lost from None
        raise LakeError("maintenance failed: " + _redact(str(exc)).splitlines()[0][:300]) from None
    finally:
        con.close()


def _files_remaining(con: duckdb.DuckDBPyConnection) -> dict:
    """The Parquet files left under a local data path, each counted in exactly one class."""
    path = con.execute("SELECT value FROM ducklake_options('store') WHERE option_name = 'data_path'").fetchone()
    root = path[0] if path else None
    in_use = {f for (f,) in con.execute(
        "SELECT data_file FROM (" + " UNION ALL ".join(
            f"SELECT data_file FROM ducklake_list_files('store', '{t}') UNION ALL "
            f"SELECT delete_file FROM ducklake_list_files('store', '{t}')" for t in _lake_tables(con))
        + ") WHERE data_file IS NOT NULL").fetchall()}
    if not root or "://" in root:
        return {"files_in_use": len(in_use)}
    on_disk = {str(p) for p in Path(root).rglob("*.parquet")}
    orphaned = {r[0] for r in con.execute(
        "SELECT path FROM ducklake_delete_orphaned_files('store', dry_run => true, cleanup_all => true)").fetchall()}
    return {
        "files_on_disk": len(on_disk),
        "files_in_use": len(in_use & on_disk),
        "files_for_older_snapshots": len(on_disk - in_use - orphaned),
        "orphaned_files_kept": len(orphaned & on_disk),
    }


def _lake_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    # Names read back from the catalog are only used if they are plain identifiers.
    return [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall()
        if re.fullmatch(r"[a-z_]+", t)]


def _count_files(con: duckdb.DuckDBPyConnection) -> int:
    return sum(
        int(con.execute("SELECT count(*) FROM ducklake_list_files('store', $t)", {"t": t}).fetchone()[0])
        for t in KINDS
    )
