"""Discharge outcomes: completion, length of stay, readmission, reasons over time, census.

Definitions (docs/metrics.md, "Outcomes"):
- completion rate = completed / discharged episodes;
- median length of stay = median of discharge_date - admit_date (days) over
  discharged episodes; an even count takes the mean of the two middle values;
- readmission within N days = discharged episodes followed by another episode
  of the same patient admitted within N days of discharge / discharged
  episodes whose discharge was at least N days before as_of.

All counting runs in DuckDB over selected_episodes() on a cursor whose filters
are bound (queries.bind_filters). Rates are None when the denominator is 0.

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     outcome_summary(cur).completion_rate
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from analytics.queries import sql_text

READMISSION_WINDOWS: tuple[int, ...] = (30, 90)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class OutcomeSummary:
    """Headline outcome counts and rates for the selected episodes."""

    episodes: int
    active_episodes: int
    discharged: int
    completed: int
    unplanned: int
    patients: int
    completion_rate: float | None  # completed / discharged
    median_los_days: float | None  # over discharged episodes

    def to_dict(self) -> dict:
        return asdict(self)


def outcome_summary(cur: duckdb.DuckDBPyConnection) -> OutcomeSummary:
    """Episode counts, completion rate and median length of stay."""
    row = cur.execute(sql_text("outcome_counts")).fetchone()
    episodes, active, discharged, completed, unplanned, median_los, patients = row
    return OutcomeSummary(
        episodes=int(episodes), active_episodes=int(active), discharged=int(discharged),
        completed=int(completed), unplanned=int(unplanned), patients=int(patients),
        completion_rate=_rate(int(completed), int(discharged)),
        median_los_days=None if median_los is None else float(median_los),
    )


@dataclass(frozen=True)
class Readmission:
    days: int
    eligible: int  # discharged at least `days` before as_of
    readmitted: int
    rate: float | None


def readmission(cur: duckdb.DuckDBPyConnection, days: int) -> Readmission:
    """Readmission within `days` days of discharge (see module docstring)."""
    eligible, readmitted = cur.execute(sql_text("readmission"), {"days": int(days)}).fetchone()
    return Readmission(days=int(days), eligible=int(eligible), readmitted=int(readmitted),
                       rate=_rate(int(readmitted), int(eligible)))


def readmission_rates(cur: duckdb.DuckDBPyConnection) -> dict[int, Readmission]:
    """Readmission within 30 and within 90 days."""
    return {days: readmission(cur, days) for days in READMISSION_WINDOWS}


def discharge_reasons_by_month(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Discharges per discharge month and reason: month 'YYYY-MM', discharge_reason,
    discharges, share (of that month's discharges). No rows for an empty selection."""
    return cur.execute(sql_text("discharge_reasons_by_month")).df()


def los_by_reason(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Time in program (days) by discharge reason as box-plot statistics:
    n, mean, min, q1, median, q3, max, lower_whisker, upper_whisker (Tukey, 1.5 IQR)."""
    return cur.execute(sql_text("los_by_reason")).df()


@dataclass(frozen=True)
class PeriodCounts:
    """Admissions and discharges in [start, end] and in the previous window of the same length."""

    start: date
    end: date
    previous_start: date
    previous_end: date
    admissions: int
    discharges: int
    previous_admissions: int
    previous_discharges: int
    active_at_end: int
    active_at_previous_end: int


def period_counts(cur: duckdb.DuckDBPyConnection, start: date, end: date) -> PeriodCounts:
    """Counts for the overview tiles: a window and the equally long window just before it.

    >>> period_counts(cur, date(2024, 3, 1), date(2024, 3, 31))  # previous: Jan 30 .. Feb 29
    """
    if end < start:
        raise ValueError("period end is before its start")
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    row = cur.execute(sql_text("period_counts"), {
        "start": start, "end": end, "prev_start": prev_start, "prev_end": prev_end,
    }).fetchone()
    return PeriodCounts(start, end, prev_start, prev_end, *(int(v) for v in row))


def census(cur: duckdb.DuckDBPyConnection) -> int:
    """Active episodes at as_of (admitted by as_of, not discharged by it)."""
    return outcome_summary(cur).active_episodes
