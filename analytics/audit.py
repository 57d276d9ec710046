"""The audit trail: who imported, exported, reported or viewed patient-level rows, and when.

42 CFR Part 2 asks for an accounting of disclosures, so every such act writes
one row here, inside the same transaction as the act where there is one.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb


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
