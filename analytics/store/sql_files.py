"""The analytics SQL files by name: one query per file in analytics/sql/.

Kept apart from analytics.store.queries so that the importer, which needs only the
text, does not import pandas (about 0.4 s of every CLI import).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@lru_cache(maxsize=None)
def sql_text(name: str) -> str:
    """The text of analytics/sql/NAME.sql (names are repo file names, never user text).

    >>> sql_text("metrics/session_rates").startswith("--")
    True
    """
    path = SQL_DIR / f"{name}.sql"
    if path.parent.parent != SQL_DIR or not path.is_file():
        raise KeyError(f"no query named {name!r}")
    return path.read_text()
