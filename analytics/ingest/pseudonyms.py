"""Keyed pseudonyms stored instead of patient ids, when an import pseudonymises.

>>> pseudonym(b"a long secret key", "MRN-1")
'p_...'
"""
from __future__ import annotations

import hashlib
import hmac

import duckdb

from analytics.store.base import plain_identifier


def pseudonym(key: bytes, patient_id: str) -> str:
    """The keyed pseudonym stored instead of a patient id: 'p_' + 16 hex of HMAC-SHA256.

    >>> pseudonym(b"k", "MRN-1")
    'p_...'
    """
    return "p_" + hmac.new(key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def pseudonymise(cur: duckdb.DuckDBPyConnection, key: bytes, column: str) -> None:
    """Replace every id in column of the staging table ingest_checked by its pseudonym.

    column is a kind's patient column from analytics.store.schema, never file text.
    """
    # DuckDB has no HMAC, so the few distinct ids are hashed here and joined back.
    import pyarrow as pa

    column = plain_identifier(column)
    ids = [r[0] for r in cur.execute(
        f"SELECT DISTINCT {column} FROM ingest_checked WHERE {column} IS NOT NULL").fetchall()]
    table = pa.table({"patient_id": pa.array(ids, pa.string()),
                      "pseudonym": pa.array([pseudonym(key, i) for i in ids], pa.string())})
    cur.register("ingest_pseudonym_arrow", table)
    try:
        cur.execute(f"UPDATE ingest_checked SET {column} = p.pseudonym FROM ingest_pseudonym_arrow AS p "
                    f"WHERE ingest_checked.{column} = p.patient_id")
    finally:
        cur.unregister("ingest_pseudonym_arrow")
