"""The analytics SQL files by name (one query per file in analytics/sql/), and what each binds."""
from __future__ import annotations

import re
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


@lru_cache(maxsize=None)
def sql_parameters(name: str) -> frozenset[str]:
    """The $names the query binds, for a caller that offers several queries the same values.

    DuckDB refuses a bound value the query does not name, so such a caller passes
    only these. Comments are left out: they may mention a parameter.
    >>> sorted(sql_parameters("ingest/import_log_rows"))
    ['limit']
    """
    code = re.sub(r"--[^\n]*", "", sql_text(name))
    return frozenset(re.findall(r"\$([A-Za-z_]\w*)", code))
