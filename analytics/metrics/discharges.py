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
import numpy as np
import pandas as pd

from analytics.store import sql_text
from analytics.metrics.retention import event_counts
from analytics.privacy.suppression import RateSpec, suppressed_by, table_spec

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
    patients: int | None  # distinct patients (None when not asked for)
    completion_rate: float | None  # completed / discharged
    median_los_days: float | None  # over discharged episodes

    def to_dict(self) -> dict:
        return asdict(self)


def _median_from_counts(times: np.ndarray, counts: np.ndarray) -> float | None:
    """The median of values given as (value, count) pairs sorted by value; an even
    total takes the mean of the two middle values. Exact for integer days."""
    total = int(counts.sum())
    if total == 0:
        return None
    upto = np.cumsum(counts)
    lower = times[np.searchsorted(upto, (total - 1) // 2 + 1)]  # value at 0-based (n-1)//2
    upper = times[np.searchsorted(upto, total // 2 + 1)]        # value at 0-based n//2
    return (float(lower) + float(upper)) / 2


def outcome_summary(
    cur: duckdb.DuckDBPyConnection, counts: pd.DataFrame | None = None, with_patients: bool = True
) -> OutcomeSummary:
    """Episode counts, completion rate and median length of stay.

    counts: retention.event_counts(cur) when the caller has it already (one scan
    serves the survival estimates and these counts). with_patients=False skips
    the distinct-patient count (for small-cell suppression) when not needed.
    """
    if counts is None:
        counts = event_counts(cur)
    counts = counts.sort_values("time")
    times = counts["time"].to_numpy()
    discharged_at = (counts["unplanned"] + counts["other"]).to_numpy(dtype="int64")
    discharged = int(discharged_at.sum())
    completed = int(counts["completed"].sum())
    patients = None
    if with_patients:
        patients = int(cur.execute(sql_text("metrics/episode_patients")).fetchone()[0])
    return OutcomeSummary(
        episodes=int(discharged + counts["censored"].sum()),
        active_episodes=int(counts["censored"].sum()),
        discharged=discharged,
        completed=completed,
        unplanned=int(counts["unplanned"].sum()),
        patients=patients,
        completion_rate=_rate(completed, discharged),
        median_los_days=_median_from_counts(times, discharged_at),
    )


@dataclass(frozen=True)
class Readmission:
    days: int
    eligible: int  # discharged at least `days` before as_of
    readmitted: int
    rate: float | None


@suppressed_by(table_spec(("eligible", "readmitted"), group=None, rates=(RateSpec("rate", "readmitted", "eligible"),)))
def readmission_rates(
    cur: duckdb.DuckDBPyConnection, windows: tuple[int, ...] = READMISSION_WINDOWS
) -> dict[int, Readmission]:
    """Readmission within each window (default 30 and 90 days), found in one query."""
    rows = cur.execute(sql_text("metrics/readmission"), {"days": [int(d) for d in windows]}).fetchall()
    return {
        int(days): Readmission(days=int(days), eligible=int(eligible), readmitted=int(readmitted),
                               rate=_rate(int(readmitted), int(eligible)))
        for days, eligible, readmitted in rows
    }


def readmission(cur: duckdb.DuckDBPyConnection, days: int) -> Readmission:
    """Readmission within `days` days of discharge (see module docstring)."""
    return readmission_rates(cur, (int(days),))[int(days)]


# The month's discharges add up to a total shown elsewhere (tiles, the monthly trend).
@suppressed_by(table_spec(("discharges",), group=None, rates=(RateSpec("share", "discharges", None),),
                          column_totals=True))
def discharge_reasons_by_month(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Discharges per discharge month and reason: month 'YYYY-MM', discharge_reason,
    discharges, share (of that month's discharges). No rows for an empty selection."""
    return cur.execute(sql_text("metrics/discharge_reasons_by_month")).df()


# n is a count of discharged episodes (their total is shown elsewhere); the statistics
# of a reason with few episodes are hidden with it.
@suppressed_by(table_spec(("n",), ("mean", "min", "q1", "median", "q3", "max", "lower_whisker", "upper_whisker"),
                          group="n", column_totals=True))
def los_by_reason(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Time in program (days) by discharge reason as box-plot statistics:
    n, mean, min, q1, median, q3, max, lower_whisker, upper_whisker (Tukey, 1.5 IQR)."""
    return cur.execute(sql_text("metrics/los_by_reason")).df()


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


@suppressed_by(table_spec(("admissions", "discharges", "previous_admissions", "previous_discharges", "active_at_end",
                           "active_at_previous_end"), group=None))
def period_counts(cur: duckdb.DuckDBPyConnection, start: date, end: date) -> PeriodCounts:
    """Counts for the overview tiles: a window and the equally long window just before it.

    >>> period_counts(cur, date(2024, 3, 1), date(2024, 3, 31))  # previous: Jan 30 .. Feb 29
    """
    if end < start:
        raise ValueError("period end is before its start")
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    row = cur.execute(sql_text("metrics/period_counts"), {
        "start": start, "end": end, "prev_start": prev_start, "prev_end": prev_end,
    }).fetchone()
    return PeriodCounts(start, end, prev_start, prev_end, *(int(v) for v in row))


def census(cur: duckdb.DuckDBPyConnection) -> int:
    """Active episodes at as_of (admitted by as_of, not discharged by it)."""
    return outcome_summary(cur, with_patients=False).active_episodes
