"""Breakdown dimensions: the fixed SQL expressions a metric may be grouped by.

A breakdown is the one place where an identifier in a query varies. It is safe
because the expression spliced into a query is always one of the constant
strings below, looked up by name in a dict; text a user typed is only ever a
dict key (rejected when unknown) or a bound value. An extra enrollment column
(payer, referral source, ...) is read as `extra[$dimension_column]`, where the
column name is a bound parameter, and only after it is checked against the
keys the store actually holds.

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     expression, params = dimension_sql(cur, "payer")
...     sql = with_dimension(sql_text("metrics/mix_by"), expression)
...     cur.execute(sql, params).df()
"""
from __future__ import annotations

import duckdb

from analytics.filters import Filters
from analytics.privacy.suppression import suppressed_by

# Over selected_episodes() columns (also present in selected_sessions()).
EPISODE_DIMENSIONS: dict[str, str] = {
    "site": "site",
    "program": "program",
    # admission-month cohort, 'YYYY-MM' so it sorts as text
    "cohort": "strftime(admit_date, '%Y-%m')",
}
# Over selected_sessions() columns only.
SESSION_ONLY_DIMENSIONS: dict[str, str] = {
    "clinician": "clinician",
    "session_type": "session_type",
    "weekday": "dayname(session_date)",
    # ISO week start (Monday), as a DATE
    "week": "CAST(date_trunc('week', session_date) AS DATE)",
    "month": "strftime(session_date, '%Y-%m')",
}
SESSION_DIMENSIONS: dict[str, str] = {**EPISODE_DIMENSIONS, **SESSION_ONLY_DIMENSIONS}
# Over selected_referrals() columns: the referral's own site (its program splits the
# funnel plots), then any extra referral column (referral source, ...).
REFERRAL_DIMENSIONS: dict[str, str] = {"site": "site"}
WEEKDAY_ORDER: tuple[str, ...] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)
# The bound parameter that names the extra column; queries never see the name as text.
EXTRA_EXPRESSION = "extra[$dimension_column]"
EXTRA_PARAMETER = "dimension_column"
# The "no breakdown" expression: one group holding every row, so one query
# template serves the headline figure and its breakdowns alike.
TOTAL_EXPRESSION = "'all'"
# The placeholder a breakdown query template carries where the dimension goes.
PLACEHOLDER = "/*dimension*/"


class UnknownColumnError(ValueError):
    """A filter or breakdown names a column the store does not hold.

    The message names the column and the known ones (column names are not patient data).
    """


def extra_columns(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The extra enrollment column names the store holds, sorted.

    Read from the whole store (not the filtered view), so the list is the same
    on every page.
    """
    rows = cur.execute(
        "SELECT DISTINCT unnest(map_keys(extra)) AS k FROM main.enrollments ORDER BY k"
    ).fetchall()
    return [r[0] for r in rows if r[0] is not None]


def referral_columns(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The extra referral column names the store holds, sorted (read from the whole store)."""
    rows = cur.execute(
        "SELECT DISTINCT unnest(map_keys(extra)) AS k FROM main.referrals ORDER BY k"
    ).fetchall()
    return [r[0] for r in rows if r[0] is not None]


@suppressed_by(nothing_to_hide="the names of the breakdown dimensions")
def referral_dimensions(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Every dimension a referral figure may be broken down by: its site, then its extra columns."""
    return list(REFERRAL_DIMENSIONS) + [c for c in referral_columns(cur) if c not in REFERRAL_DIMENSIONS]


def referral_dimension_sql(cur: duckdb.DuckDBPyConnection, dimension: str) -> tuple[str, dict[str, str]]:
    """(SQL expression, bound parameters) for a referral breakdown; UnknownColumnError otherwise.

    >>> referral_dimension_sql(cur, "referral_source")
    ('extra[$dimension_column]', {'dimension_column': 'referral_source'})
    """
    return _dimension_expression(dimension, REFERRAL_DIMENSIONS, referral_columns(cur), "referral breakdown")


@suppressed_by(nothing_to_hide="the names of the breakdown dimensions")
def dimensions(cur: duckdb.DuckDBPyConnection, level: str = "episode") -> list[str]:
    """Every dimension name valid at a level ("episode" or "session"), fixed ones first."""
    fixed = EPISODE_DIMENSIONS if level == "episode" else SESSION_DIMENSIONS
    return list(fixed) + [c for c in extra_columns(cur) if c not in fixed]


def dimension_sql(
    cur: duckdb.DuckDBPyConnection, dimension: str, level: str = "episode"
) -> tuple[str, dict[str, str]]:
    """(SQL expression, bound parameters) for a breakdown dimension.

    level "episode" allows site, program, cohort and extra columns; "session"
    adds clinician, session_type, weekday, week and month. Raises
    UnknownColumnError for anything else.

    >>> dimension_sql(cur, "cohort")
    ("strftime(admit_date, '%Y-%m')", {})
    >>> dimension_sql(cur, "payer")
    ('extra[$dimension_column]', {'dimension_column': 'payer'})
    """
    if level not in ("episode", "session"):
        raise ValueError(f"level must be 'episode' or 'session', not {level!r}")
    fixed = EPISODE_DIMENSIONS if level == "episode" else SESSION_DIMENSIONS
    if dimension in fixed:
        return fixed[dimension], {}
    return _dimension_expression(dimension, fixed, extra_columns(cur), "breakdown")


def _dimension_expression(dimension: str, fixed: dict[str, str], known: list[str],
                          what: str) -> tuple[str, dict[str, str]]:
    """A fixed dimension's expression, else an extra column's (bound as a parameter),
    else UnknownColumnError naming what is known."""
    if dimension in fixed:
        return fixed[dimension], {}
    if dimension in known:
        return EXTRA_EXPRESSION, {EXTRA_PARAMETER: dimension}
    raise UnknownColumnError(f"unknown {what} {dimension!r}; known: {', '.join(list(fixed) + known)}")


def with_dimension(template: str, expression: str) -> str:
    """A query template with its `/*dimension*/` placeholder(s) replaced by a dimension expression.

    The expression must be one of this module's constants (as returned by
    dimension_sql()); anything else is refused, so user text can never reach
    the SQL through here. The funnel plots' units (qi.funnel.UNITS: site,
    clinician) go through here too: one way for an identifier into a query.
    """
    allowed = (
        set(EPISODE_DIMENSIONS.values()) | set(SESSION_DIMENSIONS.values()) | set(REFERRAL_DIMENSIONS.values())
        | {EXTRA_EXPRESSION, TOTAL_EXPRESSION}
    )
    if expression not in allowed:
        raise ValueError("not a breakdown expression from analytics.metrics.breakdowns")
    if PLACEHOLDER not in template:
        raise ValueError("query template has no /*dimension*/ placeholder")
    return template.replace(PLACEHOLDER, expression)


def filter_columns(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns a COLUMN=VALUE filter may name: extra columns held by enrollments or
    referrals (a column only referrals hold selects no episode, but is not an error)."""
    return sorted(set(extra_columns(cur)) | set(referral_columns(cur)))


def check_filter_columns(cur: duckdb.DuckDBPyConnection, filters: Filters) -> None:
    """Raise UnknownColumnError when a COLUMN=VALUE filter names a column neither the
    enrollments nor the referrals hold. A column only referrals hold is valid: it selects
    referrals by their own value and no episode (docs/metrics.md, "Breakdowns and filters")."""
    wanted = sorted({col for col, _ in filters.extra})
    if not wanted:
        return
    known = filter_columns(cur)
    for col in wanted:
        if col not in known:
            raise UnknownColumnError(
                f"unknown filter column {col!r}; known columns: {', '.join(known) or '(none)'}"
            )
