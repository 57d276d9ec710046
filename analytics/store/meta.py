"""The store's meta table: a few facts about its contents, by key.

>>> with store.write() as cur: set_meta(cur, "contents", "imported")
>>> with store.read() as cur: get_meta(cur, "contents")
'imported'
"""
from __future__ import annotations

import duckdb


def get_meta(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """A value from the store's meta table (e.g. 'contents': 'sample' or 'imported')."""
    row = cur.execute("SELECT value FROM main.meta WHERE key = $key", {"key": key}).fetchone()
    return row[0] if row else None


def set_meta(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Set a meta value with a write cursor."""
    if get_meta(cur, key) == value:
        return  # unchanged: no delete, so concurrent DuckLake imports do not conflict here
    cur.execute("DELETE FROM store.meta WHERE key = $key", {"key": key})
    cur.execute("INSERT INTO store.meta VALUES ($key, $value)", {"key": key, "value": value})
