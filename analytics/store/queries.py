"""Running the named queries in analytics/sql/ with bound filters.

One query per .sql file, named after what it returns. Values are always bound
($name parameters or per-cursor variables), never formatted into the text.
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import duckdb

from analytics import config
from analytics.filters import EVERYTHING, Filters, Scope, filter_variables
from analytics.store import summaries
from analytics.store.sql_files import sql_text

if TYPE_CHECKING:  # DuckDB imports pandas itself for .df(); an import never needs it
    import pandas as pd


# SET VARIABLE takes a bound value; the variable names themselves are fixed here.
_SET_VARIABLE = {
    "as_of": "SET VARIABLE as_of = $v::DATE",
    "admitted_from": "SET VARIABLE admitted_from = $v::DATE",
    "admitted_to": "SET VARIABLE admitted_to = $v::DATE",
    "sites": "SET VARIABLE sites = $v::VARCHAR[]",
    "programs": "SET VARIABLE programs = $v::VARCHAR[]",
    "extra_columns": "SET VARIABLE extra_columns = $v::VARCHAR[]",
    "extra_pairs": "SET VARIABLE extra_pairs = $v::VARCHAR[]",
    "allowed_sites": "SET VARIABLE allowed_sites = $v::VARCHAR[]",
    "extra_unheld": "SET VARIABLE extra_unheld = $v::BOOLEAN",
    "summarised": "SET VARIABLE summarised = $v::BOOLEAN",
    "summaries_partial": "SET VARIABLE summaries_partial = $v::BOOLEAN",
}


def default_as_of(cur: duckdb.DuckDBPyConnection) -> date | None:
    """The store's data cutoff: the latest admit, session or discharge date anywhere.

    Computed over the whole store, so every filtered view shares one cutoff.
    """
    return cur.execute(sql_text("store/default_as_of")).fetchone()[0]


def enrollment_columns_held(cur: duckdb.DuckDBPyConnection, filters: Filters) -> frozenset[str]:
    """The filtered extra columns some enrollment holds (read from the whole store, so
    whether a column selects episodes does not depend on who asks)."""
    wanted = sorted({col for col, _ in filters.extra})
    rows = cur.execute(sql_text("store/enrollment_columns_held"), {"columns": wanted}).fetchall()
    return frozenset(r[0] for r in rows)


def bind_filters(
    cur: duckdb.DuckDBPyConnection, filters: Filters, scope: Scope = EVERYTHING
) -> date | None:
    """Set the cursor's filter variables; returns the as_of in force (None for an empty store)."""
    as_of = filters.as_of or default_as_of(cur)
    if as_of is None:
        as_of = date(1900, 1, 1)  # empty store: selects nothing
        effective = None
    else:
        effective = as_of
    held = enrollment_columns_held(cur, filters) if filters.extra else None
    for name, value in filter_variables(filters, scope, as_of, held).items():
        cur.execute(_SET_VARIABLE[name], {"v": value})
    # the summaries are read where they hold exactly this view, else the sessions (summaries.py)
    summarised = config.read_summaries() and summaries.exact_for(cur, effective, config.session_completion_share())
    cur.execute(_SET_VARIABLE["summarised"], {"v": summarised})
    cur.execute(_SET_VARIABLE["summaries_partial"], {"v": summarised and summaries.partial(cur)})
    return effective


def fetch_df(cur: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> pd.DataFrame:
    """Run sql/NAME.sql on a cursor whose filters are bound; the whole result as a DataFrame."""
    return cur.execute(sql_text(name), params or {}).df()
