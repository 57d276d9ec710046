"""The history of the store's rows: what a batch inserted, updated and removed, and putting it back.

Every version of a row that an import replaced or removed is kept with the batch
that did it (replaced_by): in the embedded store's history tables, and on a
DuckLake as the superseded versions that stay in the kind's own table. Each
backend shows them as one relation (Store.versions_sql); this module defines it
as the temp view history_versions and runs the queries of analytics/sql/store/
over it, so everything here is the same for every kind and both backends.

Undoing batch N is itself a batch U written through the store's interface:
rows N inserted are removed (Store.remove_rows, kept in the history as removed
by U), and rows N replaced or removed are written again (Store.apply_batch, which
keeps N's versions as replaced by U). Undoing U puts N's rows back the same way.

History holds patient rows as they were; who may read it is the caller's
business (analytics.ingest.batches: directors only, every view audited).

>>> with store.read() as cur:
...     counts = change_counts(cur, store, "enrollments", 7)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from analytics.store.meta import get_meta
from analytics.store.schema import KINDS, references_to
from analytics.store.sql_files import sql_text
from analytics.store.versions import HISTORY_KEPT_AFTER

if TYPE_CHECKING:
    from analytics.store.base import Store


@dataclass(frozen=True)
class ChangeCounts:
    inserted: int
    updated: int
    deleted: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.deleted


def define_versions(cur: duckdb.DuckDBPyConnection, store: "Store", kind: str) -> None:
    """Make temp views history_versions (every version of kind) and history_references
    (the ids other kinds' current rows name, with the batch of the naming row) on cur."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    cur.execute("CREATE OR REPLACE TEMP VIEW history_versions AS " + store.versions_sql(kind))
    # Unqualified kind names: the latest-wins views, also in a write that just migrated.
    naming = [f"SELECT {column} AS record_id, batch_id FROM {other}" for other, column in references_to(kind)]
    cur.execute("CREATE OR REPLACE TEMP VIEW history_references AS "
                + (" UNION ALL ".join(naming) or "SELECT NULL::VARCHAR AS record_id, NULL::BIGINT AS batch_id LIMIT 0"))


def kept_after(cur: duckdb.DuckDBPyConnection) -> int | None:
    """The last batch whose replaced rows the history lacks (pruned, or imported before it was kept)."""
    value = get_meta(cur, HISTORY_KEPT_AFTER)
    return int(value) if value is not None else None


def change_counts(cur: duckdb.DuckDBPyConnection, store: "Store", kind: str, batch: int) -> ChangeCounts:
    """How many ids batch inserted, updated and removed in kind."""
    define_versions(cur, store, kind)
    return ChangeCounts(*cur.execute(sql_text("store/batch_change_counts"), {"batch": batch}).fetchone())


def changed_rows(cur: duckdb.DuckDBPyConnection, store: "Store", kind: str, batch: int,
                 limit: int) -> list[tuple[str, str, str | None, str | None, int]]:
    """(change, record_id, old JSON, new JSON, rows of that change) for up to limit ids per change."""
    define_versions(cur, store, kind)
    return cur.execute(sql_text("store/batch_changes"), {"batch": batch, "limit": limit}).fetchall()


def blocking_batches(cur: duckdb.DuckDBPyConnection, store: "Store", kind: str,
                     batch: int) -> tuple[list[int], list[int]]:
    """(later batches that touched batch's rows, batches whose rows depend on ids batch inserted)."""
    define_versions(cur, store, kind)
    later = [r[0] for r in cur.execute(sql_text("store/batch_later_batches"), {"batch": batch}).fetchall()]
    depending = [r[0] for r in cur.execute(sql_text("store/batch_dependent_batches"), {"batch": batch}).fetchall()]
    return later, depending


def undo(cur: duckdb.DuckDBPyConnection, store: "Store", kind: str, batch: int, undo_batch: int) -> ChangeCounts:
    """Reverse batch's changes to kind as batch undo_batch, in cur's write transaction.

    Returns what undo_batch did: rows inserted (put back after batch removed
    them), updated (back to their values before batch) and deleted (rows batch
    inserted). The caller checks blocking_batches first.
    """
    define_versions(cur, store, kind)
    # Both sets are taken before anything changes: the views read the live tables.
    cur.execute("CREATE OR REPLACE TEMP TABLE history_undo_removed AS " + sql_text("store/batch_inserted_ids"),
                {"batch": batch})
    cur.execute("CREATE OR REPLACE TEMP TABLE history_undo_restored AS " + sql_text("store/batch_replaced_rows"),
                {"batch": batch})
    deleted = store.remove_rows(cur, kind, "history_undo_removed", undo_batch)
    inserted, updated = store.apply_batch(cur, kind, undo_batch, source="history_undo_restored")
    # (on a failure the rollback takes these away with everything else)
    cur.execute("DROP TABLE history_undo_removed")
    cur.execute("DROP TABLE history_undo_restored")
    return ChangeCounts(int(inserted), int(updated), int(deleted))
