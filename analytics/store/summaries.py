"""The session summaries: a few rows per episode that the page queries read instead of the sessions.

Three tables (schema.SUMMARY_DDL). Each is one macro's cells, one per session,
summed per key; the reads fall back to the cells themselves, which every reader sums
(or ORs, or counts distinct ids), so both paths count with one definition:

- episode_session_counts (session_rows_through, summed): per episode, type and status;
- episode_attended_weeks (attended_week_rows_through): per episode, program week and type;
- episode_attended_days (attended_day_rows_through): per episode, the attended days as bits.

Why they cannot disagree with the rows: the embedded store brings them up to date
inside every write's own transaction (refresh(), called just before COMMIT), for
exactly the episodes whose sessions or enrollment the write changed, found from
the batch ids (a row a batch wrote carries its batch_id; a row it replaced or
removed is in the history table with replaced_by = that batch). A failed or killed
write rolls them back with the rows. The completion share they were counted at is
kept in the store's meta table; a different share in force rebuilds them whole.

When the reads use them (exact_for(), set as the cursor variable `summarised` by
queries.bind_filters): the store holds current summaries counted at the share in
force and the view's as-of date is on or after the store's last session. A view as
of an earlier date counts from the sessions instead (same figures, the cost of a
scan). On DuckLake concurrent imports commit independently, so a summary written by
one could miss another's rows: `maintain` (and the migration) count the summaries and
record the batches they hold (summarised_batches); a read counts the episodes any later
batch touched (the view unsummarised_episodes) from the sessions and the rest from the
summaries (the cursor variable `summaries_partial`), until the next `maintain`.

>>> with store.write() as cur: ...      # refresh() runs before the commit
>>> exact_for(cur, date(2026, 3, 31), 0.9)
False
"""
from __future__ import annotations

from datetime import date
from typing import Callable

import duckdb

from analytics import config
from analytics.store.meta import get_meta, set_meta
from analytics.store.schema import SUMMARY_TABLES

# The meta keys: the last batch the summaries include, the completion share they were
# counted at, and the latest session date they hold.
THROUGH_BATCH = "summaries_through_batch"
COMPLETION_SHARE = "summaries_completion_share"
LAST_SESSION = "summaries_last_session"

END_OF_TIME = date(9999, 12, 31)

# table -> the INSERT that fills it from the sessions (refresh() adds a WHERE for the
# episodes it rebuilds); identifiers are fixed here, values bound.
_FILL: dict[str, str] = {
    "episode_session_counts":
        "INSERT INTO store.main.episode_session_counts "
        "SELECT * FROM main.session_counts_through($through, $share)",
    "episode_attended_weeks":
        "INSERT INTO store.main.episode_attended_weeks SELECT * FROM main.attended_weeks_through($through)",
    "episode_attended_days":
        "INSERT INTO store.main.episode_attended_days SELECT * FROM main.attended_days_through($through)",
}
assert tuple(_FILL) == SUMMARY_TABLES

# The episodes a batch after $through touched: rows it wrote, and rows it replaced or
# removed (kept in the history with the batch that replaced them).
_TOUCHED = """CREATE OR REPLACE TEMP TABLE summary_episodes AS
SELECT episode_id FROM store.main.sessions WHERE batch_id > $through
UNION SELECT episode_id FROM store.main.sessions_history WHERE replaced_by > $through
UNION SELECT episode_id FROM store.main.enrollments WHERE batch_id > $through
UNION SELECT episode_id FROM store.main.enrollments_history WHERE replaced_by > $through"""


def holds_summaries(cur: duckdb.DuckDBPyConnection) -> bool:
    """True for a store that keeps summaries (the embedded store at schema 4 or later)."""
    return get_meta(cur, COMPLETION_SHARE) is not None


def exact_for(cur: duckdb.DuckDBPyConnection, as_of: date | None, share: float) -> bool:
    """Whether the summaries hold exactly what a view as of as_of counts at completion share `share`."""
    kept_share, last = get_meta(cur, COMPLETION_SHARE), get_meta(cur, LAST_SESSION)
    if kept_share is None or as_of is None or float(kept_share) != float(share):
        return False
    return last == "" or as_of >= date.fromisoformat(last)


def partial(cur: duckdb.DuckDBPyConnection) -> bool:
    """DuckLake: whether a batch was logged that the summaries do not hold (an import since `maintain`).

    The reads then count the episodes it touched (the view unsummarised_episodes) from the
    sessions, and the others from the summaries. Always False on the embedded store.
    """
    if not _is_lake(cur):
        return False
    return cur.execute("SELECT count(*) > 0 FROM (SELECT batch_id FROM main.import_log "
                       "EXCEPT SELECT batch_id FROM store.main.summarised_batches)").fetchone()[0]


def rebuild(cur: duckdb.DuckDBPyConnection, progress: Callable[[float, str], None] | None = None) -> None:
    """Build every summary anew from the sessions, in cur's write transaction.

    Rows written into the embedded store other than by a batch (an import or an
    undo) are summarised only by this. On DuckLake (run by `maintain` and the
    migration) it also records the batches it holds (summarised_batches): the reads
    count what later batches touched from the sessions.
    """
    report = progress or (lambda fraction, message: None)
    share = config.session_completion_share()
    for i, table in enumerate(SUMMARY_TABLES):
        report(i / len(SUMMARY_TABLES), f"summaries: {table}")
        cur.execute(f"DELETE FROM store.main.{table}")
        cur.execute(_FILL[table], _params(table, share))
    _record(cur, share)
    report(1.0, "summaries: done")


def refresh(cur: duckdb.DuckDBPyConnection) -> int:
    """Bring the summaries up to date with the batches written since they were; in cur's transaction.

    Returns how many episodes were summarised anew (0 when no batch changed rows, -1
    when every summary was built anew: a new store, or another completion share in force).
    """
    if not holds_summaries(cur):
        rebuild(cur)  # a new store: its first write builds them
        return -1
    share = config.session_completion_share()
    if float(get_meta(cur, COMPLETION_SHARE)) != share:
        rebuild(cur)
        return -1
    through = int(get_meta(cur, THROUGH_BATCH) or -1)
    latest = _latest_batch(cur)
    if latest is None or latest <= through:
        return 0
    cur.execute(_TOUCHED, {"through": through})
    episodes = cur.execute("SELECT count(*) FROM summary_episodes").fetchone()[0]
    if episodes and episodes * 2 >= cur.execute("SELECT count(*) FROM store.main.enrollments").fetchone()[0]:
        cur.execute("DROP TABLE summary_episodes")
        rebuild(cur)  # most episodes (a first import): counting everything is cheaper than picking them
        return int(episodes)
    if episodes:
        for table in SUMMARY_TABLES:
            cur.execute(f"DELETE FROM store.main.{table} WHERE episode_id IN (SELECT episode_id FROM summary_episodes)")
            cur.execute(_FILL[table] + " WHERE episode_id IN (SELECT episode_id FROM summary_episodes)",
                        _params(table, share))
    cur.execute("DROP TABLE summary_episodes")
    if episodes:
        # only then: a write that changed no episode leaves the store's meta as it was
        _record(cur, share, latest)
    return int(episodes)


def _is_lake(cur: duckdb.DuckDBPyConnection) -> bool:
    # only a DuckLake store has the table of superseded versions
    return cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'store' "
                       "AND table_name = 'superseded'").fetchone()[0] > 0


def _params(table: str, share: float) -> dict:
    return {"through": END_OF_TIME, "share": share} if table == "episode_session_counts" else {"through": END_OF_TIME}


def _latest_batch(cur: duckdb.DuckDBPyConnection) -> int | None:
    # every batch (import, undo) that changes rows is logged in the same transaction
    return cur.execute("SELECT max(batch_id) FROM store.main.import_log").fetchone()[0]


def _record(cur: duckdb.DuckDBPyConnection, share: float, through: int | None = None) -> None:
    through = _latest_batch(cur) if through is None else through
    last = cur.execute("SELECT max(session_date) FROM main.sessions").fetchone()[0]
    set_meta(cur, COMPLETION_SHARE, repr(float(share)))
    set_meta(cur, THROUGH_BATCH, str(-1 if through is None else through))
    set_meta(cur, LAST_SESSION, "" if last is None else last.isoformat())
    if _is_lake(cur):
        cur.execute("DELETE FROM store.main.summarised_batches")
        cur.execute("INSERT INTO store.main.summarised_batches SELECT DISTINCT batch_id FROM main.import_log")
