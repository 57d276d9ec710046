"""Weekly dose: attended hours per complete episode-week against the ASAM 2.1 target.

Definition (docs/metrics.md, "Dose"): week k of an episode covers
admit_date + 7(k-1) .. admit_date + 7k - 1 and counts once its last day is
<= min(discharge_date, as_of); its hours are the attended minutes in it / 60,
0 when nothing was attended. A week meets the dose when its hours are at or
above its program's target (config/iop.toml: 9 h, adolescent programs 6 h).

The week rules are SQL macros (analytics/sql/store/macros/: dose_episodes,
complete_weeks, complete_week_minutes, complete_episode_weeks), which the dose
queries, the monthly hours chart (qi/spc.py) and the at-risk list (qi/atrisk.py)
all read, each binding target_params(). At 10 M sessions there are over a million
episode-weeks; they are counted by minutes inside DuckDB rather than listed, and
only summaries, a half-hour histogram and percentiles come back to Python.

>>> with store.read() as cur:
...     bind_filters(cur, Filters(programs=("Adolescent IOP",)))
...     dose_summary(cur).median_weekly_hours
6.5
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics import config
from analytics.metrics.breakdowns import EPISODE_DIMENSIONS, TOTAL_EXPRESSION, dimension_sql, with_dimension
from analytics.store import sql_text
from analytics.privacy.suppression import suppressed_by, table_spec


@dataclass(frozen=True)
class DoseSummary:
    """Dose over the selected episodes; figures are None when no week is complete."""

    episode_weeks: int  # complete episode-weeks
    episodes: int  # episodes with at least one complete week
    patients: int
    median_weekly_hours: float | None
    dose_target_met_rate: float | None
    target_hours: dict[str, float]  # program -> weekly target used, for the selected programs


def target_hours(cur: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The weekly-hours target of every program among the selected episodes."""
    rows = cur.execute(
        "SELECT DISTINCT program FROM main.selected_episodes() ORDER BY program"
    ).fetchall()
    return {program: config.dose_target_hours(program) for (program,) in rows}


def target_params(targets: dict[str, float]) -> dict[str, object]:
    """The parameters of the dose macros: the targets as two parallel lists (bound,
    never formatted into SQL)."""
    return {"target_programs": list(targets), "target_hours": list(targets.values())}


def _stats(cur: duckdb.DuckDBPyConnection, group: str, by_week: bool, targets: dict[str, float],
           params: dict | None = None) -> pd.DataFrame:
    """dose_stats.sql grouped by `group`, a constant expression from analytics.metrics.breakdowns
    (with_dimension() checks it)."""
    sql = with_dimension(sql_text("metrics/dose_stats"), group)
    return cur.execute(sql, {**target_params(targets), "by_week": by_week, **(params or {})}).df()


@suppressed_by(table_spec(("episodes", "patients"), ("episode_weeks", "median_weekly_hours", "dose_target_met_rate")))
def dose_summary(cur: duckdb.DuckDBPyConnection) -> DoseSummary:
    """Complete episode-weeks, their median hours and the share meeting the target."""
    targets = target_hours(cur)
    table = _stats(cur, TOTAL_EXPRESSION, by_week=False, targets=targets)
    if table.empty:
        return DoseSummary(0, 0, 0, None, None, targets)
    row = table.iloc[0]
    return DoseSummary(
        episode_weeks=int(row["episode_weeks"]),
        episodes=int(row["episodes"]),
        patients=int(row["patients"]),
        median_weekly_hours=float(row["median_weekly_hours"]),
        dose_target_met_rate=float(row["dose_target_met_rate"]),
        target_hours=targets,
    )


STAT_COLUMNS = [
    "episode_weeks", "episodes", "patients", "met_weeks", "dose_target_met_rate",
    "median_weekly_hours", "mean_weekly_hours", "p10_hours", "p25_hours", "p75_hours",
    "p90_hours", "target_hours",
]
# Episode-weeks and hours are figures of the group's patients: hidden when it is small.
DOSE_SPEC = table_spec(("episodes", "patients"), (
    "episode_weeks", "met_weeks", "dose_target_met_rate", "median_weekly_hours", "mean_weekly_hours",
    "p10_hours", "p25_hours", "p75_hours", "p90_hours"))


@suppressed_by(table_spec(("episodes", "patients"), ("episode_weeks", "met_weeks")))
def weekly_hours_distribution(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Weekly hours per program as a half-hour histogram (one row per non-empty bin).

    Columns: program, hours_from, hours_to (bin [from, to)), target_hours, met
    (the whole bin is at or above the target), met_weeks, episode_weeks, episodes, patients.
    The episode-weeks themselves stay in DuckDB; see weekly_hours_percentiles().
    """
    return cur.execute(sql_text("metrics/dose_hours_histogram"), target_params(target_hours(cur))).df()


@suppressed_by(DOSE_SPEC)
def weekly_hours_percentiles(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per program: the dose figures (see STAT_COLUMNS), with p10..p90 of weekly hours."""
    out = _stats(cur, EPISODE_DIMENSIONS["program"], by_week=False, targets=target_hours(cur))
    return out.rename(columns={"dimension_value": "program"})[["program", *STAT_COLUMNS]]


@suppressed_by(DOSE_SPEC)
def dose_by_program_week(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Program weeks 1..12 (rows only where some week k is complete): week_number
    and the dose figures of the k-th weeks (see STAT_COLUMNS)."""
    out = _stats(cur, TOTAL_EXPRESSION, by_week=True, targets=target_hours(cur))
    return out[["week_number", *STAT_COLUMNS]]


@suppressed_by(DOSE_SPEC)
def dose_by(cur: duckdb.DuckDBPyConnection, dimension: str) -> pd.DataFrame:
    """Dose per value of an episode dimension (site, program, cohort, extra column).

    Columns: the dimension, then STAT_COLUMNS. Session-level dimensions
    (clinician, session type, weekday) do not apply: a week's hours mix sessions.
    """
    expression, params = dimension_sql(cur, dimension, level="episode")
    out = _stats(cur, expression, by_week=False, targets=target_hours(cur), params=params)
    return out.rename(columns={"dimension_value": dimension})[[dimension, *STAT_COLUMNS]]
