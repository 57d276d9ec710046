"""The audit trail: who imported, exported, reported or viewed patient-level rows, and when.

42 CFR Part 2 asks for an accounting of disclosures, so every such act writes
one row here, inside the same transaction as the act where there is one.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from analytics.privacy.suppression import suppressed_by


def record(cur: duckdb.DuckDBPyConnection, actor: str, action: str, detail: dict) -> None:
    """Append one audit row using a write cursor (store attached read-write).

    detail holds filters, file names, hashes and counts; never patient ids.
    >>> with store.write() as cur: record(cur, "ana@example.org", "export", {"table": "attendance"})
    """
    cur.execute(
        "INSERT INTO store.audit_log (logged_at, actor, action, detail) VALUES ($at, $actor, $action, $detail)",
        {
            "at": datetime.now(timezone.utc).replace(tzinfo=None),
            "actor": actor,
            "action": action,
            "detail": json.dumps(detail, default=str, sort_keys=True),
        },
    )


@suppressed_by(nothing_to_hide="who did what and when, no figures; directors only")
def audit_rows(cur: duckdb.DuckDBPyConnection, limit: int = 500):
    """The latest audit rows, newest first, as a DataFrame (logged_at, actor, action, detail).

    For directors only (the Data page checks analytics.access.may_view_audit).
    >>> with store.read() as cur: audit_rows(cur, 100)
    """
    return cur.execute(
        "SELECT logged_at, actor, action, CAST(detail AS VARCHAR) AS detail "
        "FROM main.audit_log ORDER BY logged_at DESC LIMIT $limit",
        {"limit": int(limit)},
    ).df()
