"""What an import batch changed, undoing a batch, and pruning the history: for directors only.

Every row an import replaces or removes is kept with the batch that did it
(analytics.store.history). This module is how people reach that history:

- batch_changes(): the rows a batch inserted, updated (old and new values) and
  removed. Old values are patient rows as they were, including ones that have
  since moved to another site, so only a director (every site) may see them, and
  every view is written to the audit trail first (no audit row, no view).
- undo_batch(): reverses a batch in one transaction, as a new batch of its own in
  the import log (so it can be undone in turn) and in the audit trail. It is
  refused, naming them, when later batches touched the same rows or depend on
  rows the batch inserted (sessions of an episode it added, for example).
- prune_history(): an operator forgets what batches older than some days replaced;
  those batches can no longer be listed in full nor undone.

>>> changes = batch_changes(store, 7, scope, actor="dana@example.org")
>>> [(c.change, c.record_id, c.changed) for c in changes.rows][:1]
[('updated', 'E000123', ('site',))]
>>> undo_batch(store, 7, actor="dana@example.org").batch
12
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb

from analytics.filters import Scope
from analytics.ingest.importer import log_entry
from analytics.privacy import audit
from analytics.privacy.suppression import suppressed_by
from analytics.store import Store, set_meta, sql_text
from analytics.store import history
from analytics.store.journal import append_entries
from analytics.store.schema import KINDS
from analytics.store.versions import HISTORY_KEPT_AFTER

# Import log statuses whose batch wrote rows (an undo is a batch like any other).
UNDOABLE = ("loaded", "undo")
# How many rows of each change a listing shows unless asked for more (counts are always whole).
DEFAULT_LIMIT = 1000


class HistoryDenied(PermissionError):
    """The scope may not see old values (only directors do)."""


class BatchNotFound(LookupError):
    """No batch with that number, or one whose history cannot be read; str() says which."""


class UndoRefused(Exception):
    """An undo that would lose or break rows; str() says why, naming the batches in the way."""


def may_see_history(scope: Scope) -> bool:
    """Only a director who sees every site reads old values (they show where a row used to be)."""
    return scope.role == "director" and scope.allowed_sites is None


@dataclass(frozen=True)
class Change:
    """One id a batch changed: its old and new stored values (None where there is no such version)."""
    change: str  # inserted | updated | deleted
    record_id: str
    old: dict | None
    new: dict | None

    @property
    def changed(self) -> tuple[str, ...]:
        """The columns whose values differ between old and new (all of them for an insert or delete)."""
        if self.old is None or self.new is None:
            return tuple((self.old or self.new or {}).keys())
        return tuple(k for k in self.new if self.new.get(k) != self.old.get(k))


@dataclass(frozen=True)
class BatchChanges:
    """What one batch did to its kind's rows. rows lists up to `limit` ids per change."""
    batch: int
    kind: str
    file: str
    status: str
    undoes: int | None
    undone_by: int | None
    inserted: int
    updated: int
    deleted: int
    rows: tuple[Change, ...]
    limit: int

    def as_json(self) -> dict:
        return {
            "batch": self.batch, "kind": self.kind, "file": self.file, "status": self.status,
            "undoes": self.undoes, "undone_by": self.undone_by,
            "counts": {"inserted": self.inserted, "updated": self.updated, "deleted": self.deleted},
            "rows": {change: [{"id": c.record_id, "old": c.old, "new": c.new, "changed": list(c.changed)}
                              for c in self.rows if c.change == change]
                     for change in ("inserted", "updated", "deleted")},
        }


@dataclass(frozen=True)
class UndoResult:
    """The undo's own batch, the batch it reversed, and what it did."""
    batch: int
    undoes: int
    kind: str
    inserted: int  # rows the undone batch had removed, put back
    updated: int  # rows put back to their values before it
    deleted: int  # rows it had inserted, removed


@dataclass(frozen=True)
class _Entry:
    batch: int
    file: str
    kind: str | None
    status: str
    undoes: int | None
    undone_by: int | None


def _entry(cur: duckdb.DuckDBPyConnection, batch: int) -> _Entry:
    row = cur.execute(sql_text("ingest/import_log_batch"), {"batch": batch}).fetchone()
    if row is None:
        raise BatchNotFound(f"there is no batch {batch} in the import log")
    entry = _Entry(*row)
    if entry.status not in UNDOABLE or entry.kind not in KINDS:
        raise BatchNotFound(f"batch {batch} ({entry.file}) changed no rows: its import was {entry.status}")
    return entry


def _history_kept(cur: duckdb.DuckDBPyConnection, batch: int) -> None:
    kept_after = history.kept_after(cur)
    if kept_after is not None and batch <= kept_after:
        raise BatchNotFound(
            f"what batch {batch} replaced is no longer kept: the history holds batches after {kept_after} "
            "only (it was pruned, or those batches were imported before the store kept history)")


@suppressed_by(nothing_to_hide="old and new values of one batch's rows; directors only, every view audited")
def batch_changes(store: Store, batch: int, scope: Scope, actor: str, limit: int = DEFAULT_LIMIT) -> BatchChanges:
    """What batch did: ids inserted, updated (with old and new values) and removed.

    Raises HistoryDenied for anyone but a director, BatchNotFound for a batch with
    no history to show. The view is audited before anything is read.
    """
    if not may_see_history(scope):
        raise HistoryDenied("Only clinical directors see what an import changed: old values show every "
                            "site's patients as they were.")

    def record() -> None:
        with store.write() as cur:
            audit.record(cur, actor, "view_history", {"batch": batch, "limit": limit})

    store.retrying(record)  # no audit row, no view
    with store.read() as cur:
        entry = _entry(cur, batch)
        _history_kept(cur, batch)
        rows = history.changed_rows(cur, store, entry.kind, batch, limit)
    counts = {"inserted": 0, "updated": 0, "deleted": 0}
    changes = []
    for change, record_id, old, new, of_change in rows:
        counts[change] = int(of_change)
        changes.append(Change(change, record_id, _values(old), _values(new)))
    return BatchChanges(batch, entry.kind, entry.file, entry.status, entry.undoes, entry.undone_by,
                        rows=tuple(changes), limit=limit, **counts)


def _values(text: str | None) -> dict | None:
    return None if text is None else json.loads(text)


def undo_batch(store: Store, batch: int, actor: str) -> UndoResult:
    """Reverse batch in one transaction, as a new batch in the import log and the audit trail.

    Refused (UndoRefused) when batch was undone already, when its history is no
    longer kept, when later batches touched its rows, or when rows of later
    batches refer to rows it inserted; the message names them. On DuckLake it
    runs, like an import, rerun whole on a concurrent commit.
    """
    def once() -> tuple[UndoResult, dict]:
        with store.write() as cur:
            try:
                entry = _entry(cur, batch)
                _history_kept(cur, batch)
            except BatchNotFound as exc:
                raise UndoRefused(f"cannot undo batch {batch}: {exc}") from None
            if entry.undone_by is not None:
                raise UndoRefused(f"batch {batch} was undone already, by batch {entry.undone_by} "
                                  f"(undo batch {entry.undone_by} to put it back)")
            kind = entry.kind
            later, depending = history.blocking_batches(cur, store, kind, batch)
            if later:
                several = len(later) > 1
                raise UndoRefused(
                    f"cannot undo batch {batch}: later batch{'es' if several else ''} {_listed(later)} "
                    f"changed the same {kind} rows; undo {'those batches, newest first,' if several else f'batch {later[0]}'}"
                    " first")
            if depending:
                several = len(depending) > 1
                raise UndoRefused(
                    f"cannot undo batch {batch}: rows of batch{'es' if several else ''} {_listed(depending)} "
                    f"refer to {kind} rows that batch {batch} inserted; undo "
                    f"{'those batches' if several else f'batch {depending[0]}'} first")
            if history.change_counts(cur, store, kind, batch).total == 0:
                raise UndoRefused(f"batch {batch} ({entry.file}) changed no rows; there is nothing to undo")
            started = _now()
            undo_id = store.next_batch_id(cur)
            done = history.undo(cur, store, kind, batch, undo_id)
            logged = log_entry(cur, {
                "batch_id": undo_id, "file": f"undo of batch {batch}", "kind": kind,
                "status": "undo", "message": f"undoes batch {batch}", "started_at": started,
                "finished_at": _now(), "rows": done.total, "inserted": done.inserted, "updated": done.updated,
                "unchanged": 0, "rejected": 0, "deleted": done.deleted, "undoes": batch, "actor": actor})
            result = UndoResult(undo_id, batch, kind, done.inserted, done.updated, done.deleted)
            audit.record(cur, actor, "undo", {"batch": undo_id, "undoes": batch, "kind": kind, "file": entry.file,
                                              "inserted": done.inserted, "updated": done.updated,
                                              "deleted": done.deleted})
            return result, logged

    result, logged = store.retrying(once)
    append_entries(store.journal_path(), [logged])
    return result


def prune_history(store: Store, older_than_days: int, actor: str) -> dict:
    """Forget the versions that batches finished more than older_than_days ago replaced or removed.

    Those batches (and every earlier one) can then no longer be listed in full
    nor undone. Returns {"through_batch", "versions_pruned"}.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = _now() - timedelta(days=older_than_days)

    def once() -> dict:
        with store.write() as cur:
            found = cur.execute(sql_text("ingest/import_log_through"), {"cutoff": cutoff}).fetchone()
            through = found[0] if found else None
            if through is None:
                return {"through_batch": None, "versions_pruned": 0}
            pruned = store.prune_history(cur, through)
            kept_after = history.kept_after(cur)
            set_meta(cur, HISTORY_KEPT_AFTER, str(max(through, kept_after or through)))
            audit.record(cur, actor, "prune_history", {"through_batch": through, "versions_pruned": pruned,
                                                       "older_than_days": older_than_days})
            return {"through_batch": int(through), "versions_pruned": int(pruned)}

    return store.retrying(once)


def _listed(batches: list[int]) -> str:
    shown = [str(b) for b in batches[:10]]
    more = f" and {len(batches) - 10} more" if len(batches) > 10 else ""
    return ", ".join(shown) + more


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
