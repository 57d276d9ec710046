"""Session metrics: attendance, no-shows, cancellations, completion and minutes.

Definitions (docs/metrics.md, "Sessions"):
- expected sessions = every scheduled session except `program_cancelled`;
- attendance rate = attended / expected; no-show rate = no_show / expected;
  patient cancellation rate = patient_cancelled / expected;
- program cancellation rate = program_cancelled / all scheduled sessions
  (the only rate whose denominator includes the program's own cancellations);
- session completion rate = attended sessions with attended minutes >= the
  configured share (0.9) of scheduled minutes / expected.

The counting runs in DuckDB, through the SQL macros that define the counts once
(session_attendance_counts, session_delivery_counts over counted_sessions; filters
and as_of already bound on the cursor); the rates are derived from the counts in
one function, `_with_rates`, for the headline figure and every breakdown alike.

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     session_rates(cur).attendance_rate
0.74
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from analytics import config
from analytics.metrics.breakdowns import WEEKDAY_ORDER, dimension_sql, with_dimension
from analytics.store import sql_text
from analytics.privacy.suppression import suppressed_by, table_spec

COUNT_COLUMNS: tuple[str, ...] = (
    "expected", "attended", "no_show", "patient_cancelled", "program_cancelled",
    "scheduled_total", "completed_sessions", "minutes_scheduled", "minutes_attended", "patients",
)  # rates_by() adds `episodes`
# rate column -> (numerator, denominator)
RATES: dict[str, tuple[str, str]] = {
    "attendance_rate": ("attended", "expected"),
    "no_show_rate": ("no_show", "expected"),
    "patient_cancellation_rate": ("patient_cancelled", "expected"),
    "program_cancellation_rate": ("program_cancelled", "scheduled_total"),
    "session_completion_rate": ("completed_sessions", "expected"),
}
# The session figures besides the person counts: each hidden when its group is small.
SESSION_MEASURES: tuple[str, ...] = (*(c for c in COUNT_COLUMNS if c != "patients"), *RATES)


@dataclass(frozen=True)
class SessionRates:
    """Counts and rates for the selected sessions; a rate is None when its denominator is 0."""

    expected: int
    attended: int
    no_show: int
    patient_cancelled: int
    program_cancelled: int
    scheduled_total: int
    completed_sessions: int
    minutes_scheduled: int  # scheduled minutes of expected sessions
    minutes_attended: int  # attended minutes of attended sessions
    patients: int  # distinct patients, for small-cell suppression
    attendance_rate: float | None
    no_show_rate: float | None
    patient_cancellation_rate: float | None
    program_cancellation_rate: float | None
    session_completion_rate: float | None


def _with_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """The counts with the rate columns added (NaN where the denominator is 0).

    The one place the session rates are defined.
    """
    out = counts.copy()
    for rate, (num, den) in RATES.items():
        den_values = out[den].astype("float64")
        out[rate] = np.where(den_values > 0, out[num] / den_values.where(den_values > 0), np.nan)
    return out


def session_params() -> dict[str, object]:
    """The parameters of every query that counts through counted_sessions() (bound, never formatted in)."""
    return {"completion_share": config.session_completion_share()}


def counts_and_rates(counts: pd.DataFrame) -> dict[str, object]:
    """The first row of a session_rates.sql or session_summary.sql result as ints, with
    the rates (None where the denominator is 0); columns outside COUNT_COLUMNS are ignored."""
    row = _with_rates(counts).iloc[0]
    values: dict[str, object] = {c: int(row[c]) for c in COUNT_COLUMNS if c in counts.columns}
    for rate in RATES:
        values[rate] = None if pd.isna(row[rate]) else float(row[rate])
    return values


@suppressed_by(table_spec(("patients",), SESSION_MEASURES))
def session_rates(cur: duckdb.DuckDBPyConnection) -> SessionRates:
    """Session counts and rates over everything the cursor's filters select."""
    counts = cur.execute(sql_text("metrics/session_rates"), session_params()).df()
    return SessionRates(**counts_and_rates(counts))


@suppressed_by(table_spec(("episodes", "patients"), SESSION_MEASURES))
def rates_by(cur: duckdb.DuckDBPyConnection, dimension: str) -> pd.DataFrame:
    """Session counts and rates per value of a breakdown dimension.

    dimension: week (ISO week start), month, weekday, session_type, clinician,
    site, program, cohort, or an extra enrollment column held by the store.
    One row per value, ordered by it; the first column is named after the dimension.
    """
    expression, params = dimension_sql(cur, dimension, level="session")
    sql = with_dimension(sql_text("metrics/session_rates_by"), expression)
    counts = cur.execute(sql, {**session_params(), **params}).df()
    out = _with_rates(counts).rename(columns={"dimension_value": dimension})
    return in_dimension_order(out, dimension)


def in_dimension_order(frame: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Weekdays Monday first (SQL sorts their names alphabetically); others as they are."""
    if dimension != "weekday" or frame.empty:
        return frame
    order = {day: i for i, day in enumerate(WEEKDAY_ORDER)}
    return frame.sort_values(dimension, key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
