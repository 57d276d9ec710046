"""Weekly dose: attended hours per complete episode-week against the ASAM 2.1 target.

Definition (docs/metrics.md, "Dose"): week k of an episode covers
admit_date + 7(k-1) .. admit_date + 7k - 1 and counts once its last day is
<= min(discharge_date, as_of); its hours are the attended minutes in it / 60,
0 when nothing was attended. A week meets the dose when its hours are at or
above its program's target (config/iop.toml: 9 h, adolescent programs 6 h).

The week rules live in analytics/sql/episode_weeks.sql, the head of a CTE
chain that each dose query continues (spc.py and atrisk.py continue it too,
through _run()). At 10 M sessions there are about 3 M episode-weeks; they are
counted by minutes inside DuckDB rather than listed, and only summaries, a
half-hour histogram and percentiles come back to Python.

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


def _target_params(targets: dict[str, float]) -> dict[str, object]:
    # Bound as two parallel lists (see episode_weeks.sql), never formatted into SQL.
    return {"target_programs": list(targets), "target_hours": list(targets.values())}


def _episode_weeks_sql(query: str, group: str) -> str:
    """episode_weeks.sql (grouped by the SQL expression `group`) followed by the named query.

    Every piece is repository text: the query names are fixed here and the group
    is a constant expression from analytics.metrics.breakdowns (with_dimension() checks it).
    """
    head = with_dimension(sql_text("metrics/episode_weeks"), group)
    return head + sql_text(query)


def _run(cur: duckdb.DuckDBPyConnection, query: str, group: str, targets: dict[str, float],
         params: dict | None = None) -> pd.DataFrame:
    """Run sql/QUERY.sql after episode_weeks.sql, grouped by `group`, with the targets bound.

    QUERY may use the CTEs `episodes` (ep, episode_id, patient_id, admit_date,
    target_minutes, grp, complete_weeks), `week_minutes` (ep, week_number, minutes:
    complete weeks with attended sessions only), `week_counts` (grp,
    target_minutes, week_number, minutes, weeks: every complete week, counted) and
    `complete_week_rows` (ep, patient_id, grp, admit_date, target_minutes,
    week_number, minutes: every complete week, one row each).
    """
    text = _episode_weeks_sql(query, group)
    return cur.execute(text, {**_target_params(targets), **(params or {})}).df()


def _stats(cur: duckdb.DuckDBPyConnection, group: str, by_week: bool,
           params: dict | None = None) -> pd.DataFrame:
    targets = target_hours(cur)
    return _run(cur, "metrics/dose_stats", group, targets, {"by_week": by_week, **(params or {})})


@suppressed_by(table_spec(("episodes", "patients"), ("episode_weeks", "median_weekly_hours", "dose_target_met_rate")))
def dose_summary(cur: duckdb.DuckDBPyConnection) -> DoseSummary:
    """Complete episode-weeks, their median hours and the share meeting the target."""
    targets = target_hours(cur)
    table = _run(cur, "metrics/dose_stats", TOTAL_EXPRESSION, targets, {"by_week": False})
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
    return _run(cur, "metrics/dose_hours_histogram", EPISODE_DIMENSIONS["program"], target_hours(cur))


@suppressed_by(DOSE_SPEC)
def weekly_hours_percentiles(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per program: the dose figures (see STAT_COLUMNS), with p10..p90 of weekly hours."""
    out = _stats(cur, EPISODE_DIMENSIONS["program"], by_week=False)
    return out.rename(columns={"dimension_value": "program"})[["program", *STAT_COLUMNS]]


@suppressed_by(DOSE_SPEC)
def dose_by_program_week(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Program weeks 1..12 (rows only where some week k is complete): week_number
    and the dose figures of the k-th weeks (see STAT_COLUMNS)."""
    out = _stats(cur, TOTAL_EXPRESSION, by_week=True)
    return out[["week_number", *STAT_COLUMNS]]


@suppressed_by(DOSE_SPEC)
def dose_by(cur: duckdb.DuckDBPyConnection, dimension: str) -> pd.DataFrame:
    """Dose per value of an episode dimension (site, program, cohort, extra column).

    Columns: the dimension, then STAT_COLUMNS. Session-level dimensions
    (clinician, session type, weekday) do not apply: a week's hours mix sessions.
    """
    expression, params = dimension_sql(cur, dimension, level="episode")
    out = _stats(cur, expression, by_week=False, params=params)
    return out.rename(columns={"dimension_value": dimension})[[dimension, *STAT_COLUMNS]]
