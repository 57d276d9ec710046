"""What the imports did: the import log, the rejected rows with their reasons, and
loaded sessions and referrals that a later enrollment update left in conflict with their episode.

All are store-wide (an import is not a site's), so the Data page shows them
only to roles that may see every site.

>>> with store.read() as cur:
...     rejected_rows(cur).head()
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from analytics.privacy.suppression import suppressed_by
from analytics.store import sql_text

if TYPE_CHECKING:
    import pandas as pd


@suppressed_by(nothing_to_hide="files and row counts of imports, no figures about patients")
def import_log(cur: duckdb.DuckDBPyConnection, limit: int = 500) -> pd.DataFrame:
    """The latest import log rows, newest first (file, kind, status, counts, when, who)."""
    return cur.execute(sql_text("ingest/import_log_rows"), {"limit": int(limit)}).df()


@suppressed_by(nothing_to_hide="input rows that failed a check, patient ids masked; directors only")
def rejected_rows(cur: duckdb.DuckDBPyConnection, limit: int = 10_000) -> pd.DataFrame:
    """Rejected rows, one per problem: batch_id, file, kind, line, record_id, column,
    raw_value (already masked for patient ids and free text), reason."""
    return cur.execute(sql_text("ingest/rejected_rows"), {"limit": int(limit)}).df()


def session_conflicts(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Loaded sessions dated outside their episode's current dates (after an enrollment update moved them)."""
    return cur.execute(sql_text("ingest/dq_session_conflicts")).df()


def referral_conflicts(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Loaded admitted referrals whose episode is now admitted before their first contact
    (after an enrollment update moved the admission)."""
    return cur.execute(sql_text("ingest/dq_referral_conflicts")).df()
