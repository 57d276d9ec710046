"""Keyed pseudonyms stored instead of patient ids, when an import pseudonymises, and the
store's record of whether its patient ids are pseudonyms.

A store must never hold raw EHR ids beside pseudonyms, nor pseudonyms made with two
keys: one patient would count as two, and a FHIR Observation would match no
enrollment. So the store records (meta 'patient_ids') what its patient ids are, and a
check value of the key; an import that carries patient ids (enrollments, referrals,
FHIR files) is refused when it does not fit.

>>> pseudonym(b"a long secret key", "MRN-1")
'p_...'
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Sequence

import duckdb

from analytics.ingest.files import ImportRefused, Scan
from analytics.store import get_meta, set_meta
from analytics.store.base import plain_identifier
from analytics.store.schema import KINDS

PSEUDONYMISED = "pseudonymised"
AS_EXPORTED = "as exported"
# What the check value of a key is made from: a fixed text, so it says nothing of any patient.
_KEY_CHECK_TEXT = "iop: pseudonymisation key check"


def pseudonym(key: bytes, patient_id: str) -> str:
    """The keyed pseudonym stored instead of a patient id: 'p_' + 16 hex of HMAC-SHA256.

    >>> pseudonym(b"k", "MRN-1")
    'p_...'
    """
    return "p_" + hmac.new(key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def pseudonymise(cur: duckdb.DuckDBPyConnection, key: bytes, column: str, table: str = "ingest_checked") -> None:
    """Replace every id in column of a staging table (ingest_checked by default) by its pseudonym.

    column and table are a kind's patient column from analytics.store.schema and the
    importer's own staging tables, never file text.
    """
    # DuckDB has no HMAC, so the few distinct ids are hashed here and joined back.
    import pyarrow as pa

    column, table = plain_identifier(column), plain_identifier(table)
    ids = [r[0] for r in cur.execute(
        f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()]
    mapping = pa.table({"patient_id": pa.array(ids, pa.string()),
                        "pseudonym": pa.array([pseudonym(key, i) for i in ids], pa.string())})
    cur.register("ingest_pseudonym_arrow", mapping)
    try:
        cur.execute(f"UPDATE {table} SET {column} = p.pseudonym FROM ingest_pseudonym_arrow AS p "
                    f"WHERE {table}.{column} = p.patient_id")
    finally:
        cur.unregister("ingest_pseudonym_arrow")


def key_check(key: bytes) -> str:
    """A value that tells one key from another without revealing it (HMAC of a fixed text)."""
    return hmac.new(key, _KEY_CHECK_TEXT.encode("utf-8"), hashlib.sha256).hexdigest()


def _inferred_state(cur: duckdb.DuckDBPyConnection) -> str | None:
    """What a store that has not recorded it holds (one from before it was recorded): pseudonyms
    when every stored patient id has their shape, ids as exported when any has not, else None."""
    parts = [f"SELECT {plain_identifier(k.patient_column)} AS patient_id FROM {k.name}"
             for k in KINDS.values() if k.patient_column]
    held, shaped = cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE regexp_full_match(patient_id, 'p_[0-9a-f]{16}')) FROM ("
        + " UNION ALL ".join(parts) + ")").fetchone()
    if not held:
        return None
    return PSEUDONYMISED if held == shaped else AS_EXPORTED


def check_patient_ids(cur: duckdb.DuckDBPyConnection, scans: Sequence[Scan], key: bytes | None) -> None:
    """Refuse a command whose patient ids would not match the store's, and record what they are.

    scans: the command's files that carry patient ids. Inside the command's transaction.
    """
    if not scans:
        return
    first = scans[0]
    state = get_meta(cur, "patient_ids") or _inferred_state(cur)
    stored_check = get_meta(cur, "pseudonym_key_check")
    if state == PSEUDONYMISED and key is None:
        raise ImportRefused(first.label, "the store holds pseudonymised patient ids, so this file's must be "
                            "pseudonymised with the same key: import with --pseudonymise (key in IOP_PSEUDONYM_KEY), "
                            "or configure the key for the dashboard", first.sha256)
    if state == AS_EXPORTED and key is not None:
        raise ImportRefused(first.label, "the store holds patient ids as exported (imported without "
                            "pseudonymisation), so pseudonyms would not match them: import without the key, "
                            "or into a new store", first.sha256)
    if key is not None and stored_check is not None and stored_check != key_check(key):
        raise ImportRefused(first.label, "the pseudonymisation key differs from the one the store's patient ids "
                            "were made with; use that key", first.sha256)
    set_meta(cur, "patient_ids", PSEUDONYMISED if key is not None else AS_EXPORTED)
    if key is not None:
        set_meta(cur, "pseudonym_key_check", key_check(key))
