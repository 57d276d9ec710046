"""The store's schema version, and bringing an older store up to date.

A store records the version of its tables in its table schema_versions, one
row per version it was brought to (when, and what changed). A store made before
versions were recorded has tables but no such table: it is version 1. A new
store is made at the current version.

Why migrations run inside the write's own transaction: the first write to an
older store (an import, an audit row, or `python -m analytics migrate`) brings
it up to date and then does its own work, and a failure anywhere rolls both
back, so a store is never left half migrated, nor migrated without the write
that asked for it. A read-only open (the dashboard, a replica) never changes a
store: it refuses an older one with one sentence saying what to run.

Each migration is structural catch-up (tables and columns the current schema
declares but the store lacks, created from schema.py) followed by the data steps
of its version. Steps are idempotent, so a version's steps can be rerun safely.

>>> with store.write() as cur: ...   # an older store is migrated first, in this transaction
$ python -m analytics migrate --db iop.duckdb
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb

from analytics.store.errors import StoreError

Progress = Callable[[float, str], None]
# The version of the tables the code reads and writes.
CURRENT_VERSION = 4
# A store with tables but no version recorded was made before versions were kept.
UNRECORDED_VERSION = 1


class StoreOutdated(StoreError):
    """A store made by an earlier version, opened where it may not be changed."""


class StoreTooNew(StoreError):
    """A store made by a later version of the dashboard than this one."""


@dataclass(frozen=True)
class MigrationContext:
    """What a migration's data steps need: the write cursor's backend facts and a progress line."""
    cur: duckdb.DuckDBPyConnection
    create_table: Callable[[duckdb.DuckDBPyConnection, str], None]  # the backend's DDL for one table
    progress: Progress


@dataclass(frozen=True)
class Migration:
    version: int  # the version a store has after it
    summary: str  # one line, printed by `migrate`
    steps: Callable[[MigrationContext], None] = lambda ctx: None


# The extra key an older import kept first_contact_date under: the importer now reads any
# header that matches first_contact_date whatever its case and spaces (ingest/profiles.py).
_FIRST_CONTACT_KEYS = ("list_filter(map_keys(extra), "
                       "k -> lower(regexp_replace(trim(k), '\\s+', ' ', 'g')) = 'first_contact_date')")

# Each value moves into the column, and its key leaves the extra columns, when the importer
# would now read the same text into the same date with the canonical profile. Every version
# of a row is updated alike (DuckLake keeps replaced versions), so a version is named by
# (episode_id, batch_id, source_line), unique in a store.
_MOVE_FIRST_CONTACT_DATES = f"""
UPDATE store.enrollments
SET first_contact_date = moved.first_contact_date,
    extra = moved.extra
FROM (
    WITH keyed AS (
        -- a row with two such keys would be refused now, so it is left alone
        SELECT episode_id, batch_id, source_line, admit_date, extra, {_FIRST_CONTACT_KEYS} AS keys
        FROM store.enrollments
        WHERE first_contact_date IS NULL
          AND cardinality(extra) > 0
    ),
    read AS (
        -- the value as the canonical profile reads a date (ISO, try_cast as in
        -- sql/ingest/ingest_enrollments_rows.sql), or NULL for an empty value
        SELECT *, extra[keys[1]] AS raw, try_cast(extra[keys[1]] AS DATE) AS parsed
        FROM keyed
        WHERE len(keys) = 1
    ),
    accepted AS (
        -- an empty value, or a date the importer accepts: a year from 1900 to 2099, not
        -- after admission. A date in a profile's own format (US dates, say) cannot be read
        -- without that profile, which the store does not keep: it stays for the next import.
        SELECT *
        FROM read
        WHERE raw IS NULL
           OR (parsed BETWEEN DATE '1900-01-01' AND DATE '2099-12-31' AND parsed <= admit_date)
    )
    SELECT
        episode_id, batch_id, source_line,
        parsed AS first_contact_date,
        map_from_entries(list_filter(map_entries(extra), e -> e.key <> keys[1])) AS extra
    FROM accepted
) AS moved
WHERE enrollments.episode_id = moved.episode_id
  AND enrollments.batch_id IS NOT DISTINCT FROM moved.batch_id
  AND enrollments.source_line IS NOT DISTINCT FROM moved.source_line
"""

# Episodes still holding one after the move, once each (DuckLake keeps replaced versions).
_FIRST_CONTACT_DATES_LEFT = (
    f"SELECT count(DISTINCT episode_id) FROM store.enrollments WHERE len({_FIRST_CONTACT_KEYS}) > 0")


def _move_first_contact_dates(ctx: MigrationContext) -> None:
    """Enrollments imported before first_contact_date was a column kept it as an extra column.

    A value moves into the column (and its key leaves the extra columns) when the
    importer would now read it into the same date with the canonical profile, so
    re-importing the same file leaves the row unchanged. A date in a profile's own
    format cannot be read without that profile, which the store does not keep, and a
    value the importer would now reject must not enter the column: both stay, the
    migration says how many episodes hold one, and the next import of the export
    (with its profile) reads the dates it accepts.
    """
    ctx.cur.execute(_MOVE_FIRST_CONTACT_DATES)
    left = ctx.cur.execute(_FIRST_CONTACT_DATES_LEFT).fetchone()[0]
    if left:
        ctx.progress(0.5, f"schema 2: {left} episode(s) keep first_contact_date as an extra column "
                          "(not an ISO date, or after admission); import their enrollments export "
                          "again, with its profile, to read the dates")


# The meta key holding the last batch whose replaced rows the history lacks (history.py).
HISTORY_KEPT_AFTER = "history_kept_after"


def _start_history(ctx: MigrationContext) -> None:
    """Keep replaced and removed rows from now on, and say from which batch that holds.

    On the embedded store the history tables start empty (the catch-up made them):
    what earlier imports replaced was never kept, so the history is marked complete
    only for batches after the latest one logged. A DuckLake kept every version
    already; its markers of replaced versions learn which batch replaced them (the
    id's next version), so every earlier batch can be listed and undone.
    """
    cur = ctx.cur
    if "superseded" in store_tables(cur):
        from analytics.store.schema import KINDS  # the kinds' fixed identifiers, never file text

        for kind in KINDS.values():
            cur.execute(
                f"""UPDATE store.main.superseded AS x SET replaced_by = (
                    -- the next version of the same id: the batch that replaced this one
                    SELECT min(t.batch_id) FROM store.main.{kind.name} AS t
                    WHERE t.{kind.id_column} = x.record_id AND t.batch_id > x.batch_id)
                WHERE x.kind = $kind AND x.replaced_by IS NULL""", {"kind": kind.name})
        return
    latest = cur.execute("SELECT max(batch_id) FROM store.main.import_log").fetchone()[0]
    if latest is not None:
        cur.execute("DELETE FROM store.main.meta WHERE key = $key", {"key": HISTORY_KEPT_AFTER})
        cur.execute("INSERT INTO store.main.meta VALUES ($key, $value)",
                    {"key": HISTORY_KEPT_AFTER, "value": str(latest)})


def _build_summaries(ctx: MigrationContext) -> None:
    """Summarise every episode's sessions (summaries.py), with progress."""
    from analytics.store import summaries  # imported here: it is the one migration that needs it

    summaries.rebuild(ctx.cur, lambda fraction, message: ctx.progress(0.5 + fraction / 2, f"schema 4: {message}"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "assessments, referrals and instrument definitions; enrollments gain first_contact_date",
              _move_first_contact_dates),
    Migration(3, "history: rows an import replaces or removes are kept with the batch that did it, "
                 "so a batch's changes can be listed and undone", _start_history),
    Migration(4, "session summaries: counts per episode, type and status, attended minutes per program week, "
                 "attended days; the pages read them instead of every session", _build_summaries),
)
assert MIGRATIONS[-1].version == CURRENT_VERSION


def stored_version(cur: duckdb.DuckDBPyConnection) -> int:
    """The schema version of the attached store; 0 for a store with no tables yet."""
    tables = store_tables(cur)
    if "meta" not in tables:
        return 0
    if "schema_versions" not in tables:
        return UNRECORDED_VERSION
    return cur.execute("SELECT coalesce(max(version), $v) FROM store.main.schema_versions",
                       {"v": UNRECORDED_VERSION}).fetchone()[0]


def store_tables(cur: duckdb.DuckDBPyConnection) -> set[str]:
    """The names of the attached store's tables."""
    return {r[0] for r in cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall()}


def check_readable(cur: duckdb.DuckDBPyConnection, target: str) -> None:
    """Refuse, in one sentence saying what to do, a store this code cannot read as it is."""
    version = stored_version(cur)
    if version == 0:
        raise StoreError(f"The store {target} holds no tables yet. Import data first: "
                         "python -m analytics ingest --db PATH FILE...")
    if version < CURRENT_VERSION:
        raise StoreOutdated(
            f"The store {target} was made by an earlier version of the dashboard (schema {version}; "
            f"this version reads schema {CURRENT_VERSION}): bring it up to date with "
            f"python -m analytics migrate --db {_shell_word(target)}")
    if version > CURRENT_VERSION:
        raise StoreTooNew(
            f"The store {target} was made by a later version of the dashboard (schema {version}; "
            f"this version reads up to {CURRENT_VERSION}): update the dashboard to read it.")


def _shell_word(text: str) -> str:
    return text if all(c.isalnum() or c in "/._-:=" for c in text) else "'" + text.replace("'", "'\\''") + "'"


def migrate(cur: duckdb.DuckDBPyConnection, create_table: Callable[[duckdb.DuckDBPyConnection, str], None],
            declared: dict[str, tuple[tuple[str, str], ...]], progress: Progress | None = None) -> list[Migration]:
    """Bring the store attached read-write to CURRENT_VERSION inside cur's open transaction.

    declared: every table the current schema has, with its (column, type) pairs.
    Returns the migrations applied (none for a current store). A new store (no
    tables) is created at the current version.
    """
    report = progress or (lambda fraction, message: None)
    version = stored_version(cur)
    if version == CURRENT_VERSION:
        return []
    if version > CURRENT_VERSION:
        raise StoreTooNew(f"the store was made by a later version of the dashboard (schema {version}; "
                          f"this version writes schema {CURRENT_VERSION}): update the dashboard first")
    pending = [m for m in MIGRATIONS if m.version > version] if version else []
    _catch_up_structure(cur, create_table, declared)
    ctx = MigrationContext(cur, create_table, report)
    for i, migration in enumerate(pending):
        report(i / max(len(pending), 1), f"schema {migration.version}: {migration.summary}")
        migration.steps(ctx)
    cur.execute("INSERT INTO store.schema_versions VALUES ($v, now()::TIMESTAMP, $summary)",
                {"v": CURRENT_VERSION, "summary": "; ".join(m.summary for m in pending) or "a new store"})
    report(1.0, f"schema {CURRENT_VERSION}")
    return pending


def _catch_up_structure(cur: duckdb.DuckDBPyConnection, create_table: Callable[[duckdb.DuckDBPyConnection, str], None],
                        declared: dict[str, tuple[tuple[str, str], ...]]) -> None:
    """Create the declared tables the store lacks, and add the declared columns its tables lack."""
    existing = store_tables(cur)
    for table, columns in declared.items():
        if table not in existing:
            create_table(cur, table)
            continue
        have = {r[0] for r in cur.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'store' AND table_name = $t",
            {"t": table}).fetchall()}
        for name, type_ in columns:
            if name not in have:
                # identifiers and types come from schema.py, never from a file
                cur.execute(f"ALTER TABLE store.{table} ADD COLUMN {name} {type_}")
